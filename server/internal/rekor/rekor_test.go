package rekor

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
)

const testTree = 1193050959916656506

func testKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signer makes hashedrekord entries signed by a short-lived certificate
// for an email identity, like a keyless client.
type signer struct {
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newSigner(t testing.TB, email string) *signer {
	k := testKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{}, NotBefore: time.Now(), NotAfter: time.Now().Add(10 * time.Minute),
		EmailAddresses: []string{email}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return &signer{key: k, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (s *signer) entry(t testing.TB, artifact string) ([]byte, [32]byte) {
	d := sha256.Sum256([]byte(artifact))
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	p, err := tlog.NewHashedRekord("sha256", d[:], sig, s.certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return p, d
}

func openLog(t testing.TB, dir string, key crypto.Signer) (*Log, *tlogclient.Client) {
	l, err := Open(context.Background(), Config{Dir: dir, Signer: key, Hostname: "log.test", TreeID: testTree})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(func() {
		srv.Close()
		l.Close()
	})
	return l, &tlogclient.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
}

func logs(l *Log) map[string]crypto.PublicKey {
	return map[string]crypto.PublicKey{hex.EncodeToString(l.LogID()): l.PublicKey()}
}

func verifyEntry(t testing.TB, l *Log, v tlog.LogEntryValue) {
	t.Helper()
	tle, err := tlog.ToTLE(v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.VerifyTLE(tle, logs(l), tlog.VerifyOptions{RequireInclusionProof: true}); err != nil {
		t.Fatalf("entry %d does not verify: %v", v.LogIndex, err)
	}
}

func TestAPI(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := testKey(t)
	l, c := openLog(t, dir, key)
	alice := newSigner(t, "alice@example.com")

	var ids []string
	var digests [][32]byte
	for i := range 5 {
		p, d := alice.entry(t, fmt.Sprint("artifact ", i))
		id, v, existed, err := c.Upload(ctx, p)
		if err != nil || existed {
			t.Fatalf("upload %d: %v %v", i, err, existed)
		}
		if v.LogIndex != int64(i) || len(id) != 80 {
			t.Fatalf("upload %d: index %d id %q", i, v.LogIndex, id)
		}
		verifyEntry(t, l, v)
		ids, digests = append(ids, id), append(digests, d)
	}

	// Duplicate: 409 with the existing entry.
	p, _ := alice.entry(t, "artifact 2") // a fresh ECDSA signature: a different entry
	if _, v, existed, err := c.Upload(ctx, p); err != nil || existed || v.LogIndex != 5 {
		t.Fatalf("re-signed artifact: %v %v %d", err, existed, v.LogIndex)
	}
	id2, v2, _ := c.GetByIndex(ctx, 2)
	e2, _ := tlog.ParseBody(v2.Body)
	dupProposed, _ := tlog.NewHashedRekord("sha256", e2.Digest, e2.Signature, alice.certPEM)
	id, v, existed, err := c.Upload(ctx, dupProposed)
	if err != nil || !existed || id != id2 || v.LogIndex != 2 {
		t.Fatalf("duplicate: %v existed=%v id=%s index=%d", err, existed, id, v.LogIndex)
	}

	// By UUID and by entry ID.
	for _, q := range []string{ids[3], ids[3][16:]} {
		id, v, err := c.GetByUUID(ctx, q)
		if err != nil || id != ids[3] || v.LogIndex != 3 {
			t.Fatalf("get %s: %v %s %d", q, err, id, v.LogIndex)
		}
		verifyEntry(t, l, v)
	}
	// Retrieve.
	got, err := c.Retrieve(ctx, tlog.RetrieveQuery{EntryUUIDs: []string{ids[0]}, LogIndexes: []int64{1, 99}, Entries: [][]byte{dupProposed}})
	if err != nil || len(got) != 3 {
		t.Fatalf("retrieve: %v, %d entries", err, len(got))
	}
	// Search.
	for _, q := range []tlog.SearchQuery{
		{Hash: "sha256:" + hex.EncodeToString(digests[4][:])},
		{Hash: hex.EncodeToString(digests[4][:])},
		{Email: "Alice@example.com"},
		{PublicKey: &tlog.SearchPublicKey{Format: "x509", Content: alice.certPEM}},
	} {
		res, err := c.Search(ctx, q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		if !contains(res, ids[4]) {
			t.Errorf("search %+v: %d results lack entry 4", q, len(res))
		}
	}
	if res, err := c.Search(ctx, tlog.SearchQuery{Email: "bob@example.com"}); err != nil || len(res) != 0 {
		t.Errorf("search for nobody: %v %v", res, err)
	}

	// Log info, consistency between every pair of sizes.
	info, err := c.LogInfo(ctx)
	if err != nil || info.TreeSize != 6 {
		t.Fatalf("log info: %v %+v", err, info)
	}
	if _, size, root, err := tlog.VerifyCheckpoint(l.PublicKey(), []byte(info.SignedTreeHead)); err != nil || size != 6 || hex.EncodeToString(root) != info.RootHash {
		t.Fatalf("log checkpoint: %v", err)
	}
	roots := map[int64][]byte{}
	for s := int64(1); s <= 6; s++ {
		p, err := c.ConsistencyProof(ctx, 1, s)
		if err != nil {
			t.Fatal(err)
		}
		roots[s], _ = hex.DecodeString(p.RootHash)
	}
	for a := int64(1); a <= 6; a++ {
		for b := a; b <= 6; b++ {
			p, err := c.ConsistencyProof(ctx, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.VerifyConsistency(uint64(a), uint64(b), unhex(t, p.Hashes), roots[a], roots[b]); err != nil {
				t.Errorf("consistency %d -> %d: %v", a, b, err)
			}
		}
	}
	pk, err := c.PublicKey(ctx)
	if err != nil || !strings.Contains(string(pk), "PUBLIC KEY") {
		t.Errorf("public key: %v %q", err, pk)
	}

	// Reopen from disk: everything still there, same integration times.
	l.Close()
	l2, c2 := openLog(t, dir, key)
	for i, want := range ids {
		_, v, err := c2.GetByUUID(ctx, want)
		if err != nil || v.LogIndex != int64(i) {
			t.Fatalf("after reopen, %s: %v", want, err)
		}
		verifyEntry(t, l2, v)
	}
	if _, v, existed, err := c2.Upload(ctx, dupProposed); err != nil || !existed || v.LogIndex != 2 {
		t.Fatalf("duplicate after reopen: %v %v", err, existed)
	}
}

func TestBadRequests(t *testing.T) {
	_, c := openLog(t, t.TempDir(), testKey(t))
	alice := newSigner(t, "alice@example.com")
	good, _ := alice.entry(t, "x")
	wrongSig := bytes.Replace(good, []byte(`"content":"ME`), []byte(`"content":"MF`), 1)
	other := newSigner(t, "mallory@example.com")
	p2, _ := other.entry(t, "x")
	swapped := bytes.Replace(p2, []byte(other.certB64()), []byte(alice.certB64()), 1)
	for _, tc := range []struct {
		name, method, path, ctype, body string
		want                            int
	}{
		{"not json", "POST", "/api/v1/log/entries", "application/json", "{", 400},
		{"unknown kind", "POST", "/api/v1/log/entries", "application/json", `{"apiVersion":"0.0.1","kind":"rekord","spec":{}}`, 400},
		{"empty", "POST", "/api/v1/log/entries", "application/json", `{}`, 400},
		{"bad signature", "POST", "/api/v1/log/entries", "application/json", string(wrongSig), 400},
		{"wrong key", "POST", "/api/v1/log/entries", "application/json", string(swapped), 400},
		{"content type", "POST", "/api/v1/log/entries", "text/plain", string(good), 415},
		{"too large", "POST", "/api/v1/log/entries", "application/json", strings.Repeat(" ", tlog.MaxProposedSize+1), 413},
		{"bad index", "GET", "/api/v1/log/entries?logIndex=-1", "", "", 400},
		{"missing index", "GET", "/api/v1/log/entries?logIndex=7", "", "", 404},
		{"bad uuid", "GET", "/api/v1/log/entries/xyz", "", "", 400},
		{"unknown uuid", "GET", "/api/v1/log/entries/" + strings.Repeat("ab", 32), "", "", 404},
		{"proof beyond", "GET", "/api/v1/log/proof?firstSize=1&lastSize=9", "", "", 400},
		{"proof garbage", "GET", "/api/v1/log/proof?lastSize=x", "", "", 400},
		{"search empty", "POST", "/api/v1/index/retrieve", "application/json", `{}`, 400},
		{"search bad hash", "POST", "/api/v1/index/retrieve", "application/json", `{"hash":"sha256:zz"}`, 400},
		{"retrieve too many", "POST", "/api/v1/log/entries/retrieve", "application/json", `{"logIndexes":[1,2,3,4,5,6,7,8,9,10,11]}`, 422},
		{"no endpoint", "GET", "/api/v1/nope", "", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, c.BaseURL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := c.HTTPClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("got %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	_, _, _, err := c.Upload(context.Background(), wrongSig)
	var ae *tlogclient.APIError
	if !errors.As(err, &ae) || ae.Code != 400 || !strings.Contains(ae.Message, "signature") {
		t.Errorf("client error %v lacks the server's message", err)
	}
}

func (s *signer) certB64() string {
	p, _ := tlog.NewHashedRekord("sha256", make([]byte, 32), []byte{1}, s.certPEM)
	_ = p
	return b64(s.certPEM)
}

func TestConcurrentAppends(t *testing.T) {
	l, c := openLog(t, t.TempDir(), testKey(t))
	s := newSigner(t, "ci@example.com")
	var wg sync.WaitGroup
	seen := sync.Map{}
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				p, _ := s.entry(t, fmt.Sprint(g, "/", i))
				_, v, _, err := c.Upload(context.Background(), p)
				if err != nil {
					t.Error(err)
					return
				}
				if _, dup := seen.LoadOrStore(v.LogIndex, true); dup {
					t.Errorf("index %d given twice", v.LogIndex)
				}
				verifyEntry(t, l, v)
			}
		}()
	}
	wg.Wait()
}

func contains(s []string, x string) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func unhex(t testing.TB, hs []string) [][]byte {
	var out [][]byte
	for _, h := range hs {
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

var _ = url.PathEscape

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
