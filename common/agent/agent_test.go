package agent

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/server/servertest"
)

const signingCertPath = "/api/v2/signingCert"

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shortDir is a private directory with a path short enough for a unix socket.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "wxa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// startAgent serves a on a fresh socket until the test ends.
func startAgent(t *testing.T, a *Agent) string {
	t.Helper()
	path := filepath.Join(shortDir(t), "run", "agent.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("socket left behind: %v", err)
		}
	})
	return path
}

func dial(t *testing.T, path string) *Client {
	t.Helper()
	c, err := Dial(ctxTimeout(t), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestLoginSign(t *testing.T) {
	stack := servertest.Start(t)
	path := startAgent(t, &Agent{})
	c := dial(t, path)
	ctx := ctxTimeout(t)

	if _, err := c.Credential(ctx); !errors.Is(err, ErrNoCredential) {
		t.Fatalf("before login: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil || st.LoggedIn || st.PID != os.Getpid() {
		t.Fatalf("status before login: %+v, %v", st, err)
	}

	for i, kt := range []keys.Type{keys.ECDSAP256, keys.Ed25519, keys.RSA2048} {
		t.Run(string(kt), func(t *testing.T) {
			st, err := c.Login(ctx, LoginRequest{Token: stack.Token(t, "alice@example.com"), CAURL: stack.URL, KeyType: string(kt)})
			if err != nil {
				t.Fatal(err)
			}
			if !st.LoggedIn || st.Identity != "alice@example.com" || st.Issuer != stack.Issuer() || st.KeyType != string(kt) {
				t.Errorf("status %+v", st)
			}
			if r := st.Remaining(time.Now()); r < 5*time.Minute || r > 11*time.Minute {
				t.Errorf("remaining %v", r)
			}
			cred, err := c.Credential(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := cred.Signer.(*remoteSigner); !ok {
				t.Fatalf("signer %T", cred.Signer)
			}
			if len(cred.Chain) == 0 {
				t.Error("no issuing chain")
			}
			// Digests, as sign.Signer.Digest signs them, and whole messages (DSSE).
			for n := range 3 {
				h, _ := keys.Hash(cred.Signer.Public())
				d := h.New()
				d.Write([]byte{byte(n)})
				digest := d.Sum(nil)
				sig, err := keys.SignDigest(cred.Signer, digest)
				if err != nil {
					t.Fatal(err)
				}
				if err := keys.VerifyDigest(cred.Certificate.PublicKey, h, digest, sig); err != nil {
					t.Errorf("digest signature: %v", err)
				}
			}
			msg := []byte("DSSEv1 28 application/vnd.in-toto+json 2 {}")
			sig, err := keys.SignMessage(cred.Signer, msg)
			if err != nil {
				t.Fatal(err)
			}
			if err := keys.VerifyMessage(cred.Certificate.PublicKey, msg, sig); err != nil {
				t.Errorf("message signature: %v", err)
			}
			if _, ok := cred.Signer.Public().(*rsa.PublicKey); ok {
				d := sha256.Sum256(msg)
				sig, err := cred.Signer.Sign(nil, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
				if err != nil {
					t.Fatal(err)
				}
				if err := rsa.VerifyPSS(cred.Certificate.PublicKey.(*rsa.PublicKey), crypto.SHA256, d[:], sig, nil); err != nil {
					t.Errorf("PSS: %v", err)
				}
			}
			if got := stack.Requests("POST", signingCertPath); got != i+1 {
				t.Errorf("%d certificate requests after %d logins", got, i+1)
			}
		})
	}

	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Credential(ctx); !errors.Is(err, ErrNoCredential) || !strings.Contains(err.Error(), "waxseal login") {
		t.Errorf("after logout: %v", err)
	}
}

func TestLoginRefused(t *testing.T) {
	stack := servertest.Start(t)
	other := servertest.Start(t) // its issuer is not trusted by stack's CA
	c := dial(t, startAgent(t, &Agent{}))
	ctx := ctxTimeout(t)
	for _, tc := range []struct {
		name string
		lr   LoginRequest
		want string
	}{
		{"untrusted issuer", LoginRequest{Token: other.Token(t, "mallory@example.com"), CAURL: stack.URL}, other.Issuer()},
		{"not a token", LoginRequest{Token: "nope", CAURL: stack.URL}, "not a JWT"},
		{"no CA", LoginRequest{Token: stack.Token(t, "a@example.com")}, "without a CA URL"},
		{"bad key type", LoginRequest{Token: stack.Token(t, "a@example.com"), CAURL: stack.URL, KeyType: "dsa"}, "unknown key type"},
		{"bad refresh", LoginRequest{Token: stack.Token(t, "a@example.com"), CAURL: stack.URL, Refresh: &oidc.Spec{Provider: "browser"}}, "cannot refresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Login(ctx, tc.lr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if st, _ := c.Status(ctx); st.LoggedIn {
		t.Errorf("logged in after refusals: %+v", st)
	}
}

// clock is a test clock running offset ahead of real time.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) set(d time.Duration) { c.offset.Store(int64(d)) }

func TestExpiry(t *testing.T) {
	stack := servertest.Start(t)
	ctx := ctxTimeout(t)

	t.Run("no refresh", func(t *testing.T) {
		var clk clock
		ag := &Agent{Now: clk.now}
		c := dial(t, startAgent(t, ag))
		st, err := c.Login(ctx, LoginRequest{Token: stack.Token(t, "bob@example.com"), CAURL: stack.URL})
		if err != nil {
			t.Fatal(err)
		}
		cred, err := c.Credential(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clk.set(time.Until(st.NotAfter)) // the certificate expires now
		if st, _ := c.Status(ctx); st.LoggedIn || !st.Expired {
			t.Errorf("status after expiry: %+v", st)
		}
		// The key is forgotten at expiry (Serve looks every
		// forgetInterval), not when next asked for; the login's status
		// stays, to say it ran out.
		ag.forgetExpired()
		ag.mu.Lock()
		s := ag.sessionFor(stack.URL)
		forgotten := s != nil && s.cred.Signer == nil
		ag.mu.Unlock()
		if !forgotten {
			t.Error("the key is still held after its certificate expired")
		}
		if st, _ := c.Status(ctx); st.LoggedIn || !st.Expired || st.Identity != "bob@example.com" {
			t.Errorf("status after the key was forgotten: %+v", st)
		}
		_, err = keys.SignDigest(cred.Signer, make([]byte, 32))
		if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "run 'waxseal login'") || !strings.Contains(err.Error(), "bob@example.com") {
			t.Errorf("sign after expiry: %v", err)
		}
		if _, err := c.Credential(ctx); !errors.Is(err, ErrNoCredential) {
			t.Errorf("credential after expiry: %v", err)
		}
	})

	t.Run("refresh from token file", func(t *testing.T) {
		var clk clock
		a := &Agent{Now: clk.now}
		var logins atomic.Int32
		c := dial(t, startAgent(t, a))
		file := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(file, []byte(stack.Token(t, "carol@example.com")), 0o600); err != nil {
			t.Fatal(err)
		}
		spec := &oidc.Spec{Provider: oidc.ProviderFile, File: file}
		before := stack.Requests("POST", signingCertPath)
		st, err := c.Login(ctx, LoginRequest{Token: stack.Token(t, "carol@example.com"), CAURL: stack.URL, Refresh: spec})
		if err != nil {
			t.Fatal(err)
		}
		if st.Refresh != "file" {
			t.Errorf("status %+v", st)
		}
		old, err := c.Credential(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The CA issues for real time: the refresh brings the clock back, so that the
		// new certificate is valid at the agent's now.
		a.mu.Lock()
		a.Login = func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
			logins.Add(1)
			clk.set(0)
			return (&Agent{}).loginFunc()(ctx, caURL, token, kt)
		}
		a.mu.Unlock()
		clk.set(time.Until(st.NotAfter) + time.Minute)
		cred, err := c.Credential(ctx) // refreshes
		if err != nil {
			t.Fatal(err)
		}
		if cred.Certificate.Equal(old.Certificate) {
			t.Error("the certificate was not renewed")
		}
		if n := stack.Requests("POST", signingCertPath) - before; logins.Load() != 1 || n != 2 {
			t.Errorf("%d refresh logins, %d certificate requests", logins.Load(), n)
		}
		if _, err := keys.SignDigest(old.Signer, make([]byte, 32)); !errors.Is(err, ErrChanged) {
			t.Errorf("signing with the replaced credential: %v", err)
		}
		digest := sha256.Sum256([]byte("x"))
		sig, err := keys.SignDigest(cred.Signer, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.VerifyDigest(cred.Certificate.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			t.Error(err)
		}

		// The token file went stale too: the refresh fails, clearly.
		a.mu.Lock()
		a.Login = nil
		a.mu.Unlock()
		os.WriteFile(file, []byte("stale"), 0o600)
		clk.set(time.Until(cred.Certificate.NotAfter) + time.Minute)
		_, err = c.Credential(ctx)
		if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "refreshing it failed") || !strings.Contains(err.Error(), "waxseal login") {
			t.Errorf("failed refresh: %v", err)
		}
	})
}

func TestSocketPermissions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files owned by another user")
	}
	path := startAgent(t, &Agent{})
	dir := filepath.Dir(path)
	ctx := ctxTimeout(t)
	restore := func() {
		os.Chown(dir, 0, 0)
		os.Chown(path, 0, 0)
		os.Chmod(dir, 0o700)
		os.Chmod(path, 0o600)
	}
	for _, tc := range []struct {
		name  string
		setup func()
	}{
		{"socket group-readable", func() { os.Chmod(path, 0o660) }},
		{"socket world-writable", func() { os.Chmod(path, 0o666) }},
		{"socket owned by another user", func() { os.Chown(path, 65534, 65534) }},
		{"directory world-readable", func() { os.Chmod(dir, 0o755) }},
		{"directory owned by another user", func() { os.Chown(dir, 65534, 65534) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer restore()
			tc.setup()
			if _, err := Dial(ctx, path); !errors.Is(err, ErrInsecure) {
				t.Errorf("Dial: %v, want ErrInsecure", err)
			}
		})
	}
	dial(t, path).Close() // restored: accepted

	// Not a socket at all.
	file := filepath.Join(dir, "file.sock")
	os.WriteFile(file, nil, 0o600)
	if _, err := Dial(ctx, file); !errors.Is(err, ErrInsecure) {
		t.Errorf("regular file: %v", err)
	}
	// Listen refuses a directory it does not own, and a live agent's socket.
	foreign := filepath.Join(shortDir(t), "foreign")
	os.Mkdir(foreign, 0o700)
	os.Chown(foreign, 65534, 65534)
	if _, err := Listen(filepath.Join(foreign, "agent.sock")); !errors.Is(err, ErrInsecure) {
		t.Errorf("Listen in a foreign directory: %v", err)
	}
	if _, err := Listen(path); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("Listen on a live socket: %v", err)
	}
	// Missing socket: not running.
	if _, err := Dial(ctx, filepath.Join(dir, "none.sock")); !errors.Is(err, ErrNotRunning) {
		t.Errorf("missing socket: %v", err)
	}
}

// recorder keeps every byte that crosses a connection.
type recorder struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	r.buf.Write(b[:n])
	r.mu.Unlock()
	return n, err
}

func (r *recorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	r.buf.Write(b)
	r.mu.Unlock()
	return r.Conn.Write(b)
}

// encodings lists the forms in which a private key's bytes could leak.
func encodings(t *testing.T, key crypto.Signer) map[string][]byte {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var raw []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		raw, err = k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
	case ed25519.PrivateKey:
		raw = k.Seed()
	case *rsa.PrivateKey:
		raw = k.Primes[0].Bytes()
	}
	out := map[string][]byte{"raw": raw, "pkcs8": der}
	var sec1 []byte
	if k, ok := key.(*ecdsa.PrivateKey); ok {
		sec1, _ = x509.MarshalECPrivateKey(k)
		out["sec1"] = sec1
	}
	for name, b := range map[string][]byte{"raw": raw, "pkcs8": der, "sec1": sec1} {
		if b == nil {
			continue
		}
		// Any 16-byte window would do; the middle of the encodings is enough to
		// catch base64 at any alignment.
		out[name+" base64"] = []byte(base64.StdEncoding.EncodeToString(b))[4:36]
		out[name+" base64url"] = []byte(base64.RawURLEncoding.EncodeToString(b))[4:36]
		out[name+" hex"] = []byte(hex.EncodeToString(b))
	}
	out["pem"] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	return out
}

// TestNoKeyMaterialLeaves runs a login and signatures through a recorded connection,
// then looks for the private key's bytes in the traffic and in every file under the
// user's data, config, cache, state and runtime directories.
func TestNoKeyMaterialLeaves(t *testing.T) {
	stack := servertest.Start(t)
	home := shortDir(t)
	dirs := map[string]string{"HOME": home}
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		d := filepath.Join(home, strings.ToLower(strings.TrimPrefix(v, "XDG_")))
		os.MkdirAll(d, 0o700)
		dirs[v] = d
		t.Setenv(v, d)
	}
	t.Setenv("HOME", home)
	t.Setenv(SocketEnv, "")
	tmp := filepath.Join(home, "tmp")
	os.Mkdir(tmp, 0o700)
	t.Setenv("TMPDIR", tmp)

	a := &Agent{}
	path := SocketPath()
	if path != filepath.Join(dirs["XDG_RUNTIME_DIR"], "waxseal", "agent.sock") {
		t.Fatalf("socket path %s", path)
	}
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Dir(path)); fi.Mode().Perm() != 0o700 {
		t.Errorf("socket directory mode %04o", fi.Mode().Perm())
	}
	if fi, _ := os.Lstat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %04o", fi.Mode().Perm())
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	for _, kt := range []keys.Type{keys.ECDSAP256, keys.Ed25519} {
		c, err := Dial(ctxTimeout(t), "")
		if err != nil {
			t.Fatal(err)
		}
		rec := &recorder{Conn: c.conn}
		c.conn = rec
		if _, err := c.Login(ctxTimeout(t), LoginRequest{Token: stack.Token(t, "dana@example.com"), CAURL: stack.URL, KeyType: string(kt)}); err != nil {
			t.Fatal(err)
		}
		cred, err := c.Credential(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			d := sha256.Sum256([]byte{byte(i)})
			if kt == keys.Ed25519 {
				_, err = keys.SignMessage(cred.Signer, d[:])
			} else {
				_, err = keys.SignDigest(cred.Signer, d[:])
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Status(ctxTimeout(t)); err != nil {
			t.Fatal(err)
		}
		a.mu.Lock()
		key := a.sessions[a.latest].cred.Signer
		a.mu.Unlock()
		secrets := encodings(t, key)

		rec.mu.Lock()
		traffic := rec.buf.Bytes()
		rec.mu.Unlock()
		if len(traffic) < 1000 {
			t.Fatalf("only %d bytes recorded", len(traffic))
		}
		for name, s := range secrets {
			if bytes.Contains(traffic, s) {
				t.Errorf("%s: the key's %s encoding crossed the socket", kt, name)
			}
		}
		hits, files := scan(t, home, secrets)
		for _, h := range hits {
			t.Errorf("%s: %s", kt, h)
		}
		// The scan finds a key that was written down (a control for the scan itself).
		planted := filepath.Join(shortDir(t), "leak")
		os.WriteFile(planted, append([]byte("x"), secrets["pem"]...), 0o600)
		if hits, _ := scan(t, filepath.Dir(planted), secrets); len(hits) == 0 {
			t.Error("the scan missed a planted PEM key")
		}
		t.Logf("%s: %d bytes of traffic and %d files checked", kt, len(traffic), files)
		c.Close()
	}
}

// scan reports the files under root that contain one of secrets.
func scan(t *testing.T, root string, secrets map[string][]byte) (hits []string, files int) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return nil
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		for name, s := range secrets {
			if bytes.Contains(b, s) {
				hits = append(hits, "the key's "+name+" encoding is in "+p)
			}
		}
		return nil
	})
	return hits, files
}

func TestMalformedMessages(t *testing.T) {
	path := startAgent(t, &Agent{})
	for _, tc := range []struct {
		name string
		msg  []byte
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, MaxMessage+1)},
		{"not JSON", append(binary.BigEndian.AppendUint32(nil, 3), "abc"...)},
		{"truncated", append(binary.BigEndian.AppendUint32(nil, 100), "{}"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(tc.msg)
			if cw, ok := c.(*net.UnixConn); ok && tc.name == "truncated" {
				cw.CloseWrite()
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Errorf("read %d, %v; want the agent to hang up", n, err)
			}
		})
	}
	// Unknown operations and bad sign requests get an error, and the connection lives on.
	c := dial(t, path)
	ctx := ctxTimeout(t)
	for _, req := range []*request{{Op: "dance"}, {Op: "sign", Data: []byte{1}}} {
		if _, err := c.call(ctx, req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
	if _, err := c.Status(ctx); err != nil {
		t.Error(err)
	}
}

func FuzzReadMessage(f *testing.F) {
	var b bytes.Buffer
	writeMessage(&b, &request{Op: "sign", Hash: "SHA-256", Data: make([]byte, 32)})
	f.Add(b.Bytes())
	f.Add([]byte{0, 0, 0, 2, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req request
		if readMessage(bytes.NewReader(data), &req) != nil {
			return
		}
		var out bytes.Buffer
		if err := writeMessage(&out, &req); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSessionsPerCA: logins to two instances are both kept, each signing
// with its own CA's certificate; a second login to one replaces only that
// one; logout drops both; past maxSessions the oldest login goes.
func TestSessionsPerCA(t *testing.T) {
	one, two := servertest.Start(t), servertest.Start(t)
	a := &Agent{}
	c := dial(t, startAgent(t, a))
	ctx := ctxTimeout(t)
	for _, l := range []struct {
		stack *servertest.Stack
		email string
	}{{one, "alice@example.com"}, {two, "alice@corp.example"}} {
		if _, err := c.Login(ctx, LoginRequest{Token: l.stack.Token(t, l.email), CAURL: l.stack.URL}); err != nil {
			t.Fatal(err)
		}
	}
	latest, all, err := c.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || latest.CAURL != two.URL || latest.Identity != "alice@corp.example" {
		t.Fatalf("latest %+v, all %+v", latest, all)
	}
	for _, tc := range []struct {
		stack *servertest.Stack
		email string
	}{{one, "alice@example.com"}, {two, "alice@corp.example"}} {
		cred, err := c.CredentialFrom(ctx, tc.stack.URL+"/") // a trailing slash names the same CA
		if err != nil {
			t.Fatal(err)
		}
		if got := cred.Certificate.EmailAddresses; len(got) != 1 || got[0] != tc.email {
			t.Errorf("credential from %s is for %v, want %s", tc.stack.URL, got, tc.email)
		}
		// Issued by that instance's CA, as its trusted root names it.
		root, err := trust.LoadRoot(tc.stack.TrustedRootPath)
		if err != nil {
			t.Fatal(err)
		}
		ca := root.CAs[0].Chain
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(ca[len(ca)-1])
		for _, c := range ca[:len(ca)-1] {
			inter.AddCert(c)
		}
		if _, err := cred.Certificate.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			t.Errorf("certificate from %s: %v", tc.stack.URL, err)
		}
		digest := sha256.Sum256([]byte(tc.email))
		sig, err := keys.SignDigest(cred.Signer, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		if err := keys.VerifyDigest(cred.Certificate.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
			t.Errorf("signature through the %s session: %v", tc.stack.URL, err)
		}
	}
	if _, err := c.CredentialFrom(ctx, "http://127.0.0.1:1"); !errors.Is(err, ErrNoCredential) {
		t.Errorf("credential from a CA never logged in to: %v", err)
	}

	// A second login to the first instance replaces that credential only.
	oldOne, _ := c.CredentialFrom(ctx, one.URL)
	oldTwo, _ := c.CredentialFrom(ctx, two.URL)
	if _, err := c.Login(ctx, LoginRequest{Token: one.Token(t, "alice@example.com"), CAURL: one.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.SignDigest(oldOne.Signer, make([]byte, 32)); !errors.Is(err, ErrChanged) {
		t.Errorf("signing with the replaced credential: %v", err)
	}
	if _, err := keys.SignDigest(oldTwo.Signer, make([]byte, 32)); err != nil {
		t.Errorf("the other instance's credential stopped signing: %v", err)
	}

	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if _, all, _ := c.Sessions(ctx); len(all) != 0 {
		t.Errorf("after logout: %+v", all)
	}

	// Past maxSessions, the oldest goes. The CA URLs differ by path; the
	// credentials come from the first instance.
	a.mu.Lock()
	a.Login = func(ctx context.Context, caURL, token string, kt keys.Type) (*credential.Credential, error) {
		return (&Agent{}).loginFunc()(ctx, one.URL, token, kt)
	}
	a.mu.Unlock()
	for i := range maxSessions + 1 {
		if _, err := c.Login(ctx, LoginRequest{Token: one.Token(t, "alice@example.com"), CAURL: fmt.Sprintf("%s/ca%d", one.URL, i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, all, _ := c.Sessions(ctx); len(all) != maxSessions {
		t.Errorf("%d sessions, want %d", len(all), maxSessions)
	}
	if _, err := c.CredentialFrom(ctx, one.URL+"/ca0"); !errors.Is(err, ErrNoCredential) {
		t.Errorf("the oldest login was kept: %v", err)
	}
	if _, err := c.CredentialFrom(ctx, one.URL+"/ca1"); err != nil {
		t.Errorf("the second oldest login was dropped: %v", err)
	}
}

// TestSocketPathFallback: without XDG_RUNTIME_DIR the socket is in a
// private TMPDIR (macOS's), else in the user's own cache directory, not in
// the shared temporary directory where another user could make its
// directory first; a cache directory too deep for a socket's path, or
// another user's (root's agent run with a user's HOME), falls back to it.
func TestSocketPathFallback(t *testing.T) {
	home := t.TempDir()
	t.Setenv(SocketEnv, "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", "")
	shared := filepath.Join(home, "shared-tmp")
	if err := os.Mkdir(shared, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(shared, 0o1777) // as /tmp is
	t.Setenv("TMPDIR", shared)
	inShared := filepath.Join(shared, "waxseal-"+strconv.Itoa(os.Geteuid()), "agent.sock")

	name := "agent.sock"
	if id := machineID(); id != "" {
		name = "agent-" + id + ".sock"
	}
	want := filepath.Join(home, ".cache", "waxseal", "agent", name)
	if runtime.GOOS == "darwin" {
		want = filepath.Join(home, "Library", "Caches", "waxseal", "agent", name)
	}
	if len(want) >= 100 {
		t.Fatalf("the test's home %s is too deep for a socket path", home)
	}
	if got := SocketPath(); got != want {
		t.Errorf("SocketPath = %s, want %s", got, want)
	}
	// A private TMPDIR, as macOS gives each user.
	private := filepath.Join(home, "private-tmp")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", private)
	if got, want := SocketPath(), filepath.Join(private, "waxseal-"+strconv.Itoa(os.Geteuid()), "agent.sock"); got != want {
		t.Errorf("SocketPath with a private TMPDIR = %s, want %s", got, want)
	}
	t.Setenv("TMPDIR", shared)
	// Too deep a cache directory.
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, strings.Repeat("d", 100)))
	if runtime.GOOS != "darwin" {
		if got := SocketPath(); got != inShared {
			t.Errorf("SocketPath with a deep cache directory = %s, want %s", got, inShared)
		}
	}
	// Another user's cache directory.
	if os.Geteuid() == 0 && runtime.GOOS != "darwin" {
		theirs := filepath.Join(home, "theirs")
		if err := os.Mkdir(theirs, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(theirs, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		t.Setenv("XDG_CACHE_HOME", filepath.Join(theirs, "cache"))
		if got := SocketPath(); got != inShared {
			t.Errorf("SocketPath with another user's cache directory = %s, want %s", got, inShared)
		}
	}
}

// TestClientAfterTimeout: a call that times out before the agent answers
// leaves the connection out of step (the late answer would be read as the
// next call's); the client refuses to use it again rather than mix them up.
func TestClientAfterTimeout(t *testing.T) {
	dir := shortDir(t)
	path := filepath.Join(dir, "run", "agent.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// An agent that answers late: after the first call gave up.
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for {
			var req request
			if err := readMessage(c, &req); err != nil {
				return
			}
			time.Sleep(300 * time.Millisecond)
			writeMessage(c, &response{Status: &Status{Identity: req.Op}})
		}
	}()
	c := dial(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := c.Status(ctx); err == nil {
		t.Fatal("Status answered before the agent did")
	}
	time.Sleep(400 * time.Millisecond) // the late answer is on its way
	if st, err := c.Status(ctxTimeout(t)); err == nil || !strings.Contains(err.Error(), "unusable after an earlier failure") {
		t.Errorf("Status after a timeout = %+v, %v; want the connection refused", st, err)
	}
}

// TestServeEndsWhenItsListenerDoes: Serve returns when accepting fails
// for good (its listener closed under it), rather than wait for ever on
// the goroutines it started.
func TestServeEndsWhenItsListenerDoes(t *testing.T) {
	ln, err := Listen(filepath.Join(shortDir(t), "run", "agent.sock"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- (&Agent{}).Serve(context.Background(), ln) }()
	time.Sleep(50 * time.Millisecond) // let it accept
	ln.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Serve returned no error for a listener closed under it")
		}
	case <-time.After(30 * time.Second): // a hang guard, not a measurement
		t.Fatal("Serve did not return after its listener was closed")
	}
}

// TestClientAfterNothingSent: a call that fails before anything is sent
// (its context already cancelled, a message too large to send) leaves the
// connection usable.
func TestClientAfterNothingSent(t *testing.T) {
	c := dial(t, startAgent(t, &Agent{}))
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Status(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Status with a cancelled context: %v", err)
	}
	if _, err := c.call(ctxTimeout(t), &request{Op: "sign", Data: make([]byte, MaxMessage)}); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("an oversized request: %v", err)
	}
	if _, err := c.Status(ctxTimeout(t)); err != nil {
		t.Errorf("Status after calls that sent nothing: %v", err)
	}
}

// TestSocketPrivateFromTheStart: a client that dials while the agent is
// starting never finds its socket open to others, as `waxseal agent` did
// when its first look came between the agent's bind and its chmod (and then
// gave up on the agent it had started).
func TestSocketPrivateFromTheStart(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no socket modes")
	}
	dir := shortDir(t)
	for i := range 200 {
		path := filepath.Join(dir, "run", strconv.Itoa(i), "agent.sock")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		seen := make(chan error, 1)
		stop := make(chan struct{})
		go func() {
			// As the starter polls: every look until one connects.
			for {
				select {
				case <-stop:
					seen <- nil
					return
				default:
				}
				runtime.Gosched()
				c, err := Dial(context.Background(), path)
				if err == nil {
					c.Close()
					seen <- nil
					return
				}
				if errors.Is(err, ErrInsecure) {
					seen <- err
					return
				}
			}
		}()
		ln, err := Listen(path)
		if err != nil {
			close(stop)
			t.Fatal(err)
		}
		go func() {
			if c, err := ln.Accept(); err == nil {
				c.Close()
			}
		}()
		err = <-seen
		ln.Close()
		if err != nil {
			t.Fatalf("start %d: a client found the new socket not private: %v", i, err)
		}
	}
}
