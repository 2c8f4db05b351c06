package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
	"github.com/waxseal/waxseal/internal/clierr"
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
		_, err := e.login(ctx, &front.Config{}, ep, ca, nil)
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

// TestLoginErrorsNameTheirSetting: a token source forced with
// gitsign.tokenProvider that cannot give a token is named as gitsign's
// setting (not a flag gitsign lacks), with advice to give it what it lacks
// or unset it; a forced agent that is not running is said; an agent logged
// in elsewhere says where.
func TestLoginErrorsNameTheirSetting(t *testing.T) {
	stack, other := servertest.Start(t), servertest.Start(t)
	t.Setenv(oidc.EnvVar, "")
	t.Setenv("CI", "")
	t.Setenv(agent.SocketEnv, filepath.Join(t.TempDir(), "none", "agent.sock"))
	e := &env{gpg.Env{Stderr: io.Discard, Getenv: os.Getenv}}
	ep := &endpoints{CA: stack.SigningConfig(t).CAURL}
	ca := &fulcioclient.Client{BaseURL: ep.CA}
	ctx := context.Background()
	login := func(provider string) (string, string) {
		t.Helper()
		_, err := e.login(ctx, &front.Config{TokenProvider: provider}, ep, ca, nil)
		if err == nil {
			t.Fatalf("tokenProvider %q: a login with nothing to log in with succeeded", provider)
		}
		var b strings.Builder
		clierr.Report(&b, "gitsign", err, "")
		_, hint, _ := strings.Cut(b.String(), "gitsign: hint: ")
		return err.Error(), hint
	}
	for _, tc := range []struct{ provider, err, hint string }{
		{"env", "gitsign.tokenProvider env: SIGSTORE_ID_TOKEN is not set", "unset it"},
		{"github-actions", "gitsign.tokenProvider github-actions: ACTIONS_ID_TOKEN_REQUEST_URL", "unset it"},
		{"browser", "gitsign.tokenProvider browser: no OIDC issuer (gitsign.issuer", "unset it"},
		{"agent", "agent: no waxseal agent is running", "run 'waxseal agent' and 'waxseal login'"},
		// Only what gitsign can use is offered.
		{"bogus", `gitsign.tokenProvider "bogus": no such token source`, "use one of env, github-actions, gitlab, buildkite, agent, browser, device, or unset"},
		{"FILE", `gitsign.tokenProvider "FILE" needs a token, file or command that gitsign has no setting for`, "SIGSTORE_ID_TOKEN"},
	} {
		msg, hint := login(tc.provider)
		if !strings.Contains(msg, tc.err) || strings.Contains(msg, "--oidc") || !strings.Contains(hint, tc.hint) {
			t.Errorf("tokenProvider %s: %q (hint %q), want %q (hint with %q)", tc.provider, msg, hint, tc.err, tc.hint)
		}
	}

	sock := startAgent(t)
	t.Setenv(agent.SocketEnv, sock)
	c, err := agent.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	otherCA := other.SigningConfig(t).CAURL
	if _, err := c.Login(ctx, agent.LoginRequest{Token: other.Token(t, "a@example.com"), CAURL: otherCA}); err != nil {
		t.Fatal(err)
	}
	if msg, hint := login("agent"); !strings.Contains(msg, "running, but not logged in to "+ep.CA+"; it is logged in to "+otherCA+" only") ||
		!strings.Contains(hint, "log the running agent in with 'waxseal login'") {
		t.Errorf("an agent logged in to another instance: %q (hint %q)", msg, hint)
	}
}
