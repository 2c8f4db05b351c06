package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/oidc"
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

// TestFailedLoginClosesAgentConnection: a login that finds a running agent
// without a credential for this instance, and nothing else to sign with,
// fails, and closes its connection to the agent, however often the signer
// asks again.
func TestFailedLoginClosesAgentConnection(t *testing.T) {
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skipf("counting open descriptors: %v", err)
		}
		return len(ents)
	}
	stack := servertest.Start(t)
	t.Setenv(agent.SocketEnv, startAgent(t))
	ctx := context.Background()
	t.Setenv(oidc.EnvVar, "")

	e := &env{gpg.Env{Stderr: io.Discard, Getenv: os.Getenv}}
	ep := &endpoints{CA: stack.SigningConfig(t).CAURL} // no issuer: no interactive login
	ca := &fulcioclient.Client{BaseURL: ep.CA}
	// A connection dropped unclosed is closed by the collector some time
	// later: none runs meanwhile, so that only Close can close it.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	before := fds()
	for range 3 {
		_, err := e.login(ctx, &gpg.Config{}, ep, ca, nil)
		if err == nil {
			t.Fatal("a login with an empty agent and no token succeeded")
		}
		// The agent is running: what it lacks is said, not to start one.
		if !strings.Contains(err.Error(), "agent: running, but not logged in to "+ep.CA) {
			t.Errorf("login error %q does not say the running agent is not logged in", err)
		}
	}
	// The agent closes its end when gitsign closes its own.
	for deadline := time.Now().Add(time.Minute); fds() > before; time.Sleep(10 * time.Millisecond) { // a hang guard, not a measurement
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors open after three failed logins, %d before: agent connections left open", fds(), before)
		}
	}
}
