package tufrepo

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// served serves a changing set of files over HTTP.
type served struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (s *served) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	b, ok := s.files[strings.TrimPrefix(r.URL.Path, "/")]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

func (s *served) set(files map[string][]byte) {
	s.mu.Lock()
	s.files = files
	s.mu.Unlock()
}

// TestSigstoreGoFetchesTargets has sigstore-go's TUF client, over HTTP,
// fetch targets from the repository; take a new version of them, with a
// client that has the old one cached; and refuse a target whose bytes
// changed on the server, and metadata signed by another key.
func TestSigstoreGoFetchesTargets(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rootJSON, err := NewRoot(key, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	v1 := []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	files, err := Files(key, rootJSON, map[string][]byte{"trusted_root.json": v1, "signing_config.v0.2.json": []byte("{}")}, 1, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := &served{files: files}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	cache := t.TempDir()
	fetch := func(cache string) (string, error) {
		opts := tuf.DefaultOptions()
		opts.RepositoryBaseURL, opts.Root, opts.CachePath = hs.URL, rootJSON, cache
		c, err := tuf.New(opts)
		if err != nil {
			return "", err
		}
		b, err := c.GetTarget("trusted_root.json")
		return string(b), err
	}
	if got, err := fetch(cache); err != nil || got != string(v1) {
		t.Fatalf("sigstore-go TUF client: %q, %v", got, err)
	}

	v2 := append([]byte(nil), v1...)
	v2 = append(v2[:len(v2)-1], `,"x":1}`...)
	files, err = Files(key, rootJSON, map[string][]byte{"trusted_root.json": v2}, 2, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv.set(files)
	if got, err := fetch(cache); err != nil || got != string(v2) {
		t.Fatalf("after a new version, with the old one cached: %q, %v", got, err)
	}

	for path := range files {
		if strings.HasPrefix(path, "targets/") {
			changed := map[string][]byte{}
			for p, b := range files {
				changed[p] = b
			}
			changed[path] = append([]byte(nil), v1...)
			srv.set(changed)
		}
	}
	if got, err := fetch(t.TempDir()); err == nil {
		t.Fatalf("a changed target was accepted: %q", got)
	}

	// Metadata signed by another key: Files refuses to make it, and a
	// client refuses it.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if _, err := Files(other, rootJSON, map[string][]byte{"trusted_root.json": v1}, 3, time.Now().Add(time.Hour)); err == nil {
		t.Error("Files signed with a key the root does not name")
	}
	otherRoot, _ := NewRoot(other, time.Now().Add(time.Hour))
	forged, err := Files(other, otherRoot, map[string][]byte{"trusted_root.json": v1}, 3, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	forged[RootFile] = rootJSON
	srv.set(forged)
	if got, err := fetch(t.TempDir()); err == nil {
		t.Fatalf("metadata signed by a key the root does not name was accepted: %q", got)
	}
}

// TestExpiresFormat: every expiry is written as the TUF specification
// writes it, which is what python-tuf parses: no fractions of a second.
func TestExpiresFormat(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	when := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.FixedZone("x", 3600))
	root, err := NewRoot(key, when)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Files(key, root, map[string][]byte{"trusted_root.json": []byte("{}")}, 1, when)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RootFile, "1.targets.json", "1.snapshot.json", "timestamp.json"} {
		var m struct {
			Signed struct{ Expires string } `json:"signed"`
		}
		if err := json.Unmarshal(files[name], &m); err != nil {
			t.Fatal(err)
		}
		if m.Signed.Expires != "2030-01-02T02:04:05Z" {
			t.Errorf("%s expires %q, want 2030-01-02T02:04:05Z", name, m.Signed.Expires)
		}
	}
}
