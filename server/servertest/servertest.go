// Package servertest runs the embedded stack on a loopback port for tests:
// the real server, real HTTP, real keys in a temporary directory, and the
// development OIDC issuer for identities.
package servertest

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/server"
)

// Stack is a running server.
type Stack struct {
	URL               string
	Dir               string
	Server            *server.Server
	TrustedRootPath   string
	SigningConfigPath string
	Root              *trust.Root

	mu       sync.Mutex
	requests map[string]int // "METHOD /path" -> count
}

// Requests counts the requests the server answered for method and path,
// e.g. Requests("POST", "/api/v2/signingCert").
func (s *Stack) Requests(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[method+" "+path]
}

// Options tune Start.
type Options struct {
	// Dir reuses a data directory (to test restarts); default t.TempDir().
	Dir string
}

// Start starts a stack with the dev OIDC issuer; it stops when the test ends.
func Start(t testing.TB) *Stack { return StartWith(t, Options{}) }

// StartWith is Start with options.
func StartWith(t testing.TB, opts Options) *Stack {
	t.Helper()
	dir := opts.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	srv, err := server.New(context.Background(), server.Config{Dir: filepath.Join(dir, "data"), URL: url, DevOIDC: true})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	s := &Stack{URL: url, Dir: dir, Server: srv,
		TrustedRootPath:   filepath.Join(dir, "trusted_root.json"),
		SigningConfigPath: filepath.Join(dir, "signing_config.json"),
		requests:          map[string]int{},
	}
	inner := srv.Handler()
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.Method+" "+r.URL.Path]++
		s.mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	hs := &http.Server{Handler: count, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	if err := os.WriteFile(s.TrustedRootPath, srv.TrustedRoot(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.SigningConfigPath, srv.SigningConfig(), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.Root, err = trust.ParseRoot(srv.TrustedRoot()); err != nil {
		t.Fatal(err)
	}
	return s
}

// SigningConfig is the stack's signing config, parsed: its CA, log and
// issuer URLs.
func (s *Stack) SigningConfig(t testing.TB) *trust.SigningConfig {
	t.Helper()
	data, err := os.ReadFile(s.SigningConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := trust.ParseSigningConfig(data, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Issuer is the dev OIDC issuer's URL (email identities).
func (s *Stack) Issuer() string { return s.URL + "/oidc" }

// Token logs in as email through the dev issuer's authorization-code flow.
func (s *Stack) Token(t testing.TB, email string) string {
	t.Helper()
	tok, err := oidc.DevLogin(context.Background(), s.Issuer(), email)
	if err != nil {
		t.Fatalf("dev login as %s: %v", email, err)
	}
	return tok
}
