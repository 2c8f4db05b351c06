package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign/gpg"
	"github.com/waxseal/waxseal/server/servertest"
)

// TestSigningConfigCache checks that gitsign.server's signing config is
// fetched once per signingConfigTTL, not once per signature.
func TestSigningConfigCache(t *testing.T) {
	stack := servertest.Start(t)
	root, sc := trustDocs(t, stack)
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case trust.TrustedRootPath:
			w.Write(root)
		case trust.SigningConfigPath:
			fetches.Add(1)
			w.Write(sc)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cacheDir := t.TempDir()
	e := &env{gpg.Env{Getenv: func(k string) string {
		if k == "XDG_CACHE_HOME" {
			return cacheDir
		}
		return ""
	}}}
	ctx := context.Background()
	for range 3 {
		got, err := e.serverSigningConfig(ctx, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if got.CAURL == "" || got.RekorURL == "" {
			t.Fatalf("signing config without CA or log: %+v", got)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 3 signatures, want 1", n)
	}
	// Expired: fetched again.
	old := time.Now().Add(-signingConfigTTL - time.Second)
	if err := os.Chtimes(signingConfigCache(srv.URL, e.Getenv), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := e.serverSigningConfig(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches after the cache expired, want 2", n)
	}
	// A cache that does not parse is ignored.
	os.WriteFile(signingConfigCache(srv.URL, e.Getenv), []byte("{"), 0o600)
	if _, err := e.serverSigningConfig(ctx, srv.URL); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 3 {
		t.Errorf("%d fetches after a corrupt cache, want 3", n)
	}
}
