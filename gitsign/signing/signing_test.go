package signing

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/server/servertest"
)

// TestAgentCredentialReplaced: a login to the agent (another terminal, a
// refresh) between fetching its credential and signing with it replaces
// the key the credential signs with; Sign fetches the new one instead of
// failing a rebase partway.
func TestAgentCredentialReplaced(t *testing.T) {
	stack := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "wxs")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "run", "agent.sock")
	ln, err := agent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- (&agent.Agent{}).Serve(serveCtx, ln) }()
	defer func() { stop(); <-done }()
	c, err := agent.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	login := func() {
		t.Helper()
		if _, err := c.Login(ctx, agent.LoginRequest{Token: stack.Token(t, "alice@example.com"), CAURL: stack.URL, KeyType: "ecdsa-p256"}); err != nil {
			t.Fatal(err)
		}
	}
	login()
	old, err := c.CredentialFrom(ctx, stack.URL)
	if err != nil {
		t.Fatal(err)
	}
	login() // replaces the key old signs with
	fetched := 0
	s := &Signer{
		Credentials: CredentialsFunc(func(ctx context.Context) (*credential.Credential, error) {
			fetched++
			if fetched == 1 {
				return old, nil
			}
			return c.CredentialFrom(ctx, stack.URL)
		}),
		Log: &tlogclient.Client{BaseURL: stack.URL},
	}
	payload := []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter A <alice@example.com> 1 +0000\n\nm\n")
	signed, err := s.Sign(ctx, payload)
	if err != nil {
		t.Fatalf("Sign with the agent's credential replaced: %v", err)
	}
	if fetched != 2 || bytes.Equal(signed.Certificate.Raw, old.Certificate.Raw) {
		t.Errorf("fetched the credential %d times; signed with the old certificate: %v", fetched, bytes.Equal(signed.Certificate.Raw, old.Certificate.Raw))
	}
	root, err := trust.LoadRoot(stack.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&gitsign.Verifier{Root: root}).Verify(payload, signed.PEM, ""); err != nil {
		t.Errorf("the signature does not verify: %v", err)
	}

}

// TestLogTooLate: a log that has not answered by the time the certificate
// expires is not waited for (its entry would not verify); the error says
// that, and to sign again, rather than blaming the trusted root.
func TestLogTooLate(t *testing.T) {
	t.Parallel()
	stack := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a measurement
	defer cancel()
	target, _ := url.Parse(stack.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var held atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			held.Add(1)
			io.Copy(io.Discard, r.Body) // so that the server sees the client hang up
			<-r.Context().Done()        // a log that never answers
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cred, err := credential.LoginWithToken(ctx, &fulcioclient.Client{BaseURL: stack.URL}, stack.Token(t, "alice@example.com"), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	// The signer's clock says the certificate has a little over the
	// signing margin left: the log is given that long.
	ahead := time.Until(cred.Certificate.NotAfter) - 16*time.Second
	s := &Signer{
		Credentials: CredentialsFunc(func(context.Context) (*credential.Credential, error) { return cred, nil }),
		Log:         &tlogclient.Client{BaseURL: srv.URL},
		Now:         func() time.Time { return time.Now().Add(ahead) },
	}
	_, err = s.Sign(ctx, []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter A <alice@example.com> 1 +0000\n\nm\n"))
	if !errors.Is(err, errLogTooLate) || !strings.Contains(err.Error(), "sign again") || ctx.Err() != nil || held.Load() != 1 {
		t.Errorf("a log answering after the certificate expired: %v (uploads held: %d; hang guard: %v)", err, held.Load(), ctx.Err())
	}
}
