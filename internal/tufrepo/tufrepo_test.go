package tufrepo

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"
)

// TestSigstoreGoFetchesTarget has sigstore-go's TUF client, over HTTP,
// fetch a target from a repository Write made; and refuse it once the
// target's bytes are changed on the server.
func TestSigstoreGoFetchesTarget(t *testing.T) {
	dir := t.TempDir()
	want := []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`)
	rootJSON, err := Write(dir, map[string][]byte{"trusted_root.json": want}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)

	fetch := func() ([]byte, error) {
		opts := tuf.DefaultOptions()
		opts.RepositoryBaseURL, opts.Root, opts.CachePath = srv.URL, rootJSON, t.TempDir()
		c, err := tuf.New(opts)
		if err != nil {
			return nil, err
		}
		return c.GetTarget("trusted_root.json")
	}
	got, err := fetch()
	if err != nil {
		t.Fatalf("sigstore-go TUF client: %v", err)
	}
	if string(got) != string(want) {
		t.Fatalf("target = %q, want %q", got, want)
	}

	files, _ := filepath.Glob(filepath.Join(dir, "targets", "*.trusted_root.json"))
	if len(files) != 1 {
		t.Fatalf("targets: %v", files)
	}
	if err := os.WriteFile(files[0], append(want, ' '), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := fetch(); err == nil {
		t.Fatalf("a changed target was accepted: %q", got)
	}
}
