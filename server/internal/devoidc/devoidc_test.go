package devoidc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// start serves a Provider on a loopback port under /oidc, mounted with
// http.StripPrefix as the server does (or directly when strip is false).
func start(t *testing.T, cfg Config, strip bool) (*Provider, *httptest.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = "http://" + ln.Addr().String() + "/oidc"
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	if strip {
		mux.Handle("/oidc/", http.StripPrefix("/oidc", p.Handler()))
	} else {
		mux.Handle("/oidc/", p.Handler())
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return p, srv
}

// browser is an HTTP client that does not follow redirects, so tests see each 302.
func browser() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type flow struct {
	cfg      oauth2.Config
	verifier string
	state    string
	nonce    string
	authURL  string
}

func newFlow(t *testing.T, ctx context.Context, issuer string) (*oidc.Provider, *flow) {
	t.Helper()
	op, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		t.Fatalf("go-oidc discovery: %v", err)
	}
	f := &flow{
		cfg: oauth2.Config{
			ClientID:    "sigstore",
			Endpoint:    op.Endpoint(),
			RedirectURL: "http://127.0.0.1:41234/auth/callback",
			Scopes:      []string{oidc.ScopeOpenID, "email"},
		},
		verifier: oauth2.GenerateVerifier(),
		state:    "state-" + randomToken(),
		nonce:    "nonce-" + randomToken(),
	}
	// Public client: client_id in the body. (Auto-detection would retry a failed
	// request with the other style, and the retry would see a spent code.)
	f.cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	f.authURL = f.cfg.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	return op, f
}

// login drives the login page like a browser and returns the redirect it was sent to.
func login(t *testing.T, authURL, email string) *url.URL {
	t.Helper()
	resp, err := browser().Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `name="email"`) {
		t.Fatalf("authorize page: %s\n%s", resp.Status, body)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("email", email)
	form.Set("action", "login")
	u.RawQuery = ""
	resp, err = browser().PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("login POST: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func retrieveErr(t *testing.T, err error) string {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want *oauth2.RetrieveError, got %v", err)
	}
	if re.Response.StatusCode != 400 && re.Response.StatusCode != 401 {
		t.Errorf("status %d, want 400", re.Response.StatusCode)
	}
	return re.ErrorCode
}

func TestCodeFlowPKCE(t *testing.T) {
	for _, strip := range []bool{true, false} {
		t.Run(map[bool]string{true: "StripPrefix", false: "direct"}[strip], func(t *testing.T) {
			ctx := context.Background()
			p, _ := start(t, Config{}, strip)
			op, f := newFlow(t, ctx, p.Issuer())
			loc := login(t, f.authURL, "alice@example.com")
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != f.cfg.RedirectURL {
				t.Fatalf("redirected to %s, want %s", got, f.cfg.RedirectURL)
			}
			if got := loc.Query().Get("state"); got != f.state {
				t.Fatalf("state %q, want %q", got, f.state)
			}
			tok, err := f.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc rejects our token: %v", err)
			}
			if idt.Nonce != f.nonce {
				t.Errorf("nonce %q, want %q", idt.Nonce, f.nonce)
			}
			var c struct {
				Email    string `json:"email"`
				Verified bool   `json:"email_verified"`
			}
			if err := idt.Claims(&c); err != nil {
				t.Fatal(err)
			}
			if c.Email != "alice@example.com" || !c.Verified || idt.Subject != "alice@example.com" {
				t.Errorf("claims %+v sub %q", c, idt.Subject)
			}
			if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token response %+v", tok)
			}

			// Replay: the code is single-use.
			_, err = f.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
			if code := retrieveErr(t, err); code != "invalid_grant" {
				t.Errorf("replay: error %q, want invalid_grant", code)
			}
		})
	}
}

func TestTokenRejections(t *testing.T) {
	ctx := context.Background()
	p, _ := start(t, Config{}, true)
	_, f := newFlow(t, ctx, p.Issuer())

	code := func() string { return login(t, f.authURL, "bob@example.com").Query().Get("code") }

	// PKCE verifier mismatch; and the failed attempt spends the code.
	c := code()
	_, err := f.cfg.Exchange(ctx, c, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if got := retrieveErr(t, err); got != "invalid_grant" {
		t.Errorf("wrong verifier: %q", got)
	}
	_, err = f.cfg.Exchange(ctx, c, oauth2.VerifierOption(f.verifier))
	if got := retrieveErr(t, err); got != "invalid_grant" {
		t.Errorf("code after failed attempt: %q", got)
	}
	// No verifier at all.
	_, err = f.cfg.Exchange(ctx, code())
	if got := retrieveErr(t, err); got != "invalid_request" {
		t.Errorf("missing verifier: %q", got)
	}
	// redirect_uri differs from the authorization request.
	other := f.cfg
	other.RedirectURL = "http://127.0.0.1:41235/auth/callback"
	_, err = other.Exchange(ctx, code(), oauth2.VerifierOption(f.verifier))
	if got := retrieveErr(t, err); got != "invalid_grant" {
		t.Errorf("redirect_uri mismatch: %q", got)
	}
	// Unknown client.
	other = f.cfg
	other.ClientID = "mallory"
	_, err = other.Exchange(ctx, code(), oauth2.VerifierOption(f.verifier))
	if got := retrieveErr(t, err); got != "invalid_client" {
		t.Errorf("unknown client: %q", got)
	}
	// Unsupported grant.
	resp, err := http.PostForm(p.Issuer()+"/token", url.Values{"grant_type": {"password"}, "client_id": {"sigstore"}})
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]string
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 400 || e["error"] != "unsupported_grant_type" || e["error_description"] == "" {
		t.Errorf("password grant: %d %v", resp.StatusCode, e)
	}
}

func TestAuthorizeRejections(t *testing.T) {
	ctx := context.Background()
	p, _ := start(t, Config{}, true)
	_, f := newFlow(t, ctx, p.Issuer())
	good, _ := url.Parse(f.authURL)

	for _, tc := range []struct {
		name      string
		edit      func(url.Values)
		wantError string // "" means an error page, no redirect
	}{
		{"non-loopback redirect", func(v url.Values) { v.Set("redirect_uri", "http://evil.example/cb") }, ""},
		{"https loopback redirect", func(v url.Values) { v.Set("redirect_uri", "https://127.0.0.1:1/cb") }, ""},
		{"unknown client", func(v url.Values) { v.Set("client_id", "other") }, ""},
		{"no PKCE", func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") }, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no openid scope", func(v url.Values) { v.Set("scope", "email") }, "invalid_scope"},
		{"token response type", func(v url.Values) { v.Set("response_type", "token") }, "unsupported_response_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := *good
			q := u.Query()
			tc.edit(q)
			u.RawQuery = q.Encode()
			resp, err := browser().Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.wantError == "" {
				if resp.StatusCode != 400 {
					t.Fatalf("status %s, want 400 error page", resp.Status)
				}
				return
			}
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %s, want 302", resp.Status)
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if loc.Query().Get("error") != tc.wantError || loc.Query().Get("state") != f.state {
				t.Errorf("redirect %s, want error %s and the state", loc, tc.wantError)
			}
		})
	}

	// [::1] and localhost with any port are accepted.
	for _, ru := range []string{"http://[::1]:9/cb", "http://localhost:65000/auth/callback"} {
		q := good.Query()
		q.Set("redirect_uri", ru)
		u := *good
		u.RawQuery = q.Encode()
		resp, err := browser().Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %s", ru, resp.Status)
		}
	}

	// The user cancels: access_denied to the client.
	form := good.Query()
	form.Set("action", "deny")
	u := *good
	u.RawQuery = ""
	resp, err := browser().PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") != "access_denied" {
		t.Errorf("deny: %s %s", resp.Status, loc)
	}
	// A login without a proper email address.
	form.Set("action", "login")
	form.Set("email", "Alice <alice@example.com>")
	resp, err = browser().PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad email: %s", resp.Status)
	}
}

func TestAudienceForOtherClient(t *testing.T) {
	ctx := context.Background()
	p, _ := start(t, Config{ClientIDs: []string{"sigstore", "waxseal"}}, true)
	op, f := newFlow(t, ctx, p.Issuer())
	f.cfg.ClientID = "waxseal"
	f.authURL = f.cfg.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))
	loc := login(t, f.authURL, "carol@example.com")
	tok, err := f.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	for _, aud := range []string{"waxseal", "sigstore"} {
		if _, err := op.Verifier(&oidc.Config{ClientID: aud}).Verify(ctx, raw); err != nil {
			t.Errorf("audience %s: %v", aud, err)
		}
	}
}

func TestExpiredTokenRejected(t *testing.T) {
	ctx := context.Background()
	past := time.Now().Add(-2 * time.Hour)
	p, _ := start(t, Config{Now: func() time.Time { return past }, TokenTTL: time.Hour}, true)
	op, f := newFlow(t, ctx, p.Issuer())
	loc := login(t, f.authURL, "alice@example.com")
	tok, err := f.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	_, err = op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw)
	var te *oidc.TokenExpiredError
	if !errors.As(err, &te) {
		t.Fatalf("want TokenExpiredError, got %v", err)
	}
}

func TestExpiredCode(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	p, _ := start(t, Config{Now: clock}, true)
	_, f := newFlow(t, ctx, p.Issuer())
	loc := login(t, f.authURL, "alice@example.com")
	mu.Lock()
	now = now.Add(authCodeTTL + time.Second)
	mu.Unlock()
	_, err := f.cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(f.verifier))
	if got := retrieveErr(t, err); got != "invalid_grant" {
		t.Errorf("expired code: %q", got)
	}
}

func postJSON(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return resp.StatusCode, m
}

func decide(t *testing.T, p *Provider, userCode, email, action string) int {
	t.Helper()
	resp, err := http.PostForm(p.Issuer()+"/device", url.Values{"user_code": {userCode}, "email": {email}, "action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDeviceFlow(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p, _ := start(t, Config{Now: clock, DeviceInterval: 5 * time.Second}, true)
	op, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatal(err)
	}

	newDevice := func() map[string]any {
		status, da := postJSON(t, p.Issuer()+"/device/code", url.Values{"client_id": {"sigstore"}, "scope": {"openid email"}})
		if status != 200 {
			t.Fatalf("device/code: %d %v", status, da)
		}
		return da
	}
	poll := func(dc string) (int, map[string]any) {
		return postJSON(t, p.Issuer()+"/token", url.Values{"client_id": {"sigstore"}, "grant_type": {grantDeviceCode}, "device_code": {dc}})
	}

	t.Run("approved", func(t *testing.T) {
		da := newDevice()
		dc, uc := da["device_code"].(string), da["user_code"].(string)
		if da["verification_uri"] != p.Issuer()+"/device" || !strings.Contains(da["verification_uri_complete"].(string), "user_code=") ||
			da["interval"] != 5.0 || da["expires_in"] != 600.0 {
			t.Errorf("device authorization response %v", da)
		}
		if _, e := poll(dc); e["error"] != "authorization_pending" {
			t.Errorf("first poll: %v", e)
		}
		if _, e := poll(dc); e["error"] != "slow_down" {
			t.Errorf("immediate second poll: %v", e)
		}
		advance(5 * time.Second)
		// The user types the code in lower case with a space.
		resp, err := http.Get(da["verification_uri_complete"].(string))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("device page: %v %v", err, resp)
		}
		resp.Body.Close()
		if s := decide(t, p, strings.ToLower(strings.Replace(uc, "-", " ", 1)), "dave@example.com", "approve"); s != 200 {
			t.Fatalf("approve: %d", s)
		}
		status, tok := poll(dc)
		if status != 200 {
			t.Fatalf("poll after approval: %d %v", status, tok)
		}
		idt, err := op.Verifier(&oidc.Config{ClientID: "sigstore", Now: clock}).Verify(ctx, tok["id_token"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if idt.Subject != "dave@example.com" {
			t.Errorf("sub %q", idt.Subject)
		}
		advance(5 * time.Second)
		if status, e := poll(dc); status != 400 || e["error"] != "invalid_grant" {
			t.Errorf("device code reused: %d %v", status, e)
		}
		if s := decide(t, p, uc, "dave@example.com", "approve"); s != 400 {
			t.Errorf("user code reused: %d", s)
		}
	})

	t.Run("denied", func(t *testing.T) {
		da := newDevice()
		if s := decide(t, p, da["user_code"].(string), "", "deny"); s != 200 {
			t.Fatalf("deny: %d", s)
		}
		if _, e := poll(da["device_code"].(string)); e["error"] != "access_denied" {
			t.Errorf("poll after denial: %v", e)
		}
	})

	t.Run("expired", func(t *testing.T) {
		da := newDevice()
		advance(deviceCodeTTL + time.Second)
		if _, e := poll(da["device_code"].(string)); e["error"] != "expired_token" {
			t.Errorf("poll after expiry: %v", e)
		}
		if s := decide(t, p, da["user_code"].(string), "x@example.com", "approve"); s != 400 {
			t.Errorf("approving an expired code: %d", s)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		if _, e := poll("nope"); e["error"] != "invalid_grant" {
			t.Errorf("unknown device code: %v", e)
		}
		if s := decide(t, p, "BCDF-GHJK", "x@example.com", "approve"); s != 400 {
			t.Errorf("unknown user code: %d", s)
		}
	})
}

func actionsToken(t *testing.T, u, bearer string) (int, string) {
	t.Helper()
	if bearer == "" {
		return actionsTokenAuth(t, u, "")
	}
	return actionsTokenAuth(t, u, "Bearer "+bearer)
}

// actionsTokenAuth asks for a token with the whole Authorization header.
func actionsTokenAuth(t *testing.T, u, authorization string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Value string }
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v.Value
}

func TestActionsToken(t *testing.T) {
	ctx := context.Background()
	p, _ := start(t, Config{}, true)
	op, err := oidc.NewProvider(ctx, p.ActionsIssuer())
	if err != nil {
		t.Fatalf("actions issuer discovery: %v", err)
	}
	// GitHub's request URL already carries a query.
	status, raw := actionsToken(t, p.Issuer()+"/actions/token?api-version=2.0&audience=sigstore", DefaultWorkloadToken)
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	idt.Claims(&c)
	if idt.Subject != "repo:waxseal/demo:ref:refs/heads/main" {
		t.Errorf("sub %q", idt.Subject)
	}
	for _, k := range []string{"job_workflow_ref", "repository", "repository_owner", "repository_id", "repository_owner_id",
		"repository_visibility", "workflow", "workflow_ref", "workflow_sha", "job_workflow_sha", "ref", "sha",
		"event_name", "run_id", "run_attempt", "runner_environment"} {
		if s, _ := c[k].(string); s == "" {
			t.Errorf("claim %s missing", k)
		}
	}
	if _, ok := c["email"]; ok {
		t.Error("workload token has an email claim")
	}

	// Audience is the caller's choice; default is Config.Audience.
	_, raw = actionsToken(t, p.Issuer()+"/actions/token?audience=other", DefaultWorkloadToken)
	if _, err := op.Verifier(&oidc.Config{ClientID: "other"}).Verify(ctx, raw); err != nil {
		t.Errorf("audience=other: %v", err)
	}
	_, raw = actionsToken(t, p.Issuer()+"/actions/token", DefaultWorkloadToken)
	if _, err := op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw); err != nil {
		t.Errorf("default audience: %v", err)
	}
	// The email issuer does not accept workload tokens.
	eop, _ := oidc.NewProvider(ctx, p.Issuer())
	if _, err := eop.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw); err == nil {
		t.Error("email issuer accepted a workload token")
	}

	for _, bearer := range []string{"", "wrong", DefaultWorkloadToken + "x"} {
		if status, v := actionsToken(t, p.Issuer()+"/actions/token", bearer); status != 401 || v != "" {
			t.Errorf("bearer %q: %d %q", bearer, status, v)
		}
	}

	// The scheme is case-insensitive: cosign's GitHub provider sends
	// "bearer". Another scheme, or none, is refused.
	for auth, want := range map[string]int{
		"bearer " + DefaultWorkloadToken: 200,
		"BEARER " + DefaultWorkloadToken: 200,
		"Basic " + DefaultWorkloadToken:  401,
		DefaultWorkloadToken:             401,
		"Bearer":                         401,
	} {
		if status, v := actionsTokenAuth(t, p.Issuer()+"/actions/token?api-version=2.0&audience=sigstore", auth); status != want || (want == 200) != (v != "") {
			t.Errorf("Authorization %q: %d %q, want %d", auth, status, v, want)
		}
	}
}

func TestLoadWorkloads(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.json")
	os.WriteFile(path, []byte(`{"tok1": {"repository": "acme/app", "ref": "refs/tags/v1", "repository_id": "7"}}`), 0o644)
	m, err := LoadWorkloads(path)
	if err != nil {
		t.Fatal(err)
	}
	if m["tok1"].Repository != "acme/app" || m["tok1"].RepositoryID != "7" {
		t.Errorf("%+v", m)
	}
	ctx := context.Background()
	p, _ := start(t, Config{Workloads: m}, true)
	_, raw := actionsToken(t, p.Issuer()+"/actions/token", "tok1")
	op, _ := oidc.NewProvider(ctx, p.ActionsIssuer())
	idt, err := op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "repo:acme/app:ref:refs/tags/v1" {
		t.Errorf("sub %q", idt.Subject)
	}
	if status, _ := actionsToken(t, p.Issuer()+"/actions/token", DefaultWorkloadToken); status != 401 {
		t.Errorf("default workload still served with a custom config: %d", status)
	}

	for _, bad := range []string{`{"t": {"repositry": "typo", "ref": "r"}}`, `{"t": {}}`, `[]`} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := LoadWorkloads(path); err == nil {
			t.Errorf("LoadWorkloads accepted %s", bad)
		}
	}
}

func TestKeyPersisted(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p1, _ := start(t, Config{Dir: dir}, true)
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	_, raw := actionsToken(t, p1.Issuer()+"/actions/token", DefaultWorkloadToken)

	// A restarted provider (new port, same key) verifies tokens from the first one.
	p2, err := New(Config{Issuer: p1.Issuer(), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if p1.keyID != p2.keyID || !p1.key.Equal(p2.key) {
		t.Fatal("key not reused across restart")
	}
	if _, err := New(Config{Issuer: p1.Issuer()}); err != nil {
		t.Fatal(err)
	}
	op, _ := oidc.NewProvider(ctx, p1.ActionsIssuer())
	if _, err := op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw); err != nil {
		t.Fatal(err)
	}

	os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600)
	if _, err := New(Config{Issuer: p1.Issuer(), Dir: dir}); err == nil {
		t.Error("New accepted a corrupt key file")
	}
}

func TestConfigAndBanner(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:8080", "ftp://x/oidc", "http://x/oidc?a=b"} {
		if _, err := New(Config{Issuer: bad}); err == nil {
			t.Errorf("New accepted issuer %q", bad)
		}
	}
	p, err := New(Config{Issuer: "http://127.0.0.1:8080/oidc/"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer() != "http://127.0.0.1:8080/oidc" {
		t.Errorf("issuer %q", p.Issuer())
	}
	b := p.Banner()
	if !strings.Contains(b, "development OIDC issuer enabled") || !strings.Contains(b, "never expose this") || strings.Contains(b, "\n") {
		t.Errorf("banner %q", b)
	}
	// Paths outside the provider are not served.
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/oidcx/keys", nil))
	if rec.Code != 404 {
		t.Errorf("/oidcx/keys: %d", rec.Code)
	}
}

// TestOutOfBandCode: with the out-of-band redirect_uri, the login page
// shows the code for the user to paste, and the code redeems, with PKCE,
// for the same redirect_uri only. A bad request is shown, not redirected.
func TestOutOfBandCode(t *testing.T) {
	ctx := context.Background()
	p, _ := start(t, Config{}, true)
	op, f := newFlow(t, ctx, p.Issuer())
	f.cfg.RedirectURL = OOBRedirect
	f.authURL = f.cfg.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier))

	u, _ := url.Parse(f.authURL)
	form := u.Query()
	form.Set("email", "olive@example.com")
	u.RawQuery = ""
	resp, err := browser().PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<code id="code">([^<]+)</code>`).FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("login POST: %s, no code shown:\n%s", resp.Status, page)
	}
	code := string(m[1])

	other := f.cfg
	other.RedirectURL = "http://127.0.0.1:41234/auth/callback"
	if _, err := other.Exchange(ctx, code, oauth2.VerifierOption(f.verifier)); retrieveErr(t, err) != "invalid_grant" {
		t.Errorf("redeemed for another redirect_uri: %v", err)
	}
	// That attempt spent the code: a new one for the real exchange.
	resp, err = browser().PostForm(u.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	code = string(regexp.MustCompile(`<code id="code">([^<]+)</code>`).FindSubmatch(page)[1])
	tok, err := f.cfg.Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if idt, err := op.Verifier(&oidc.Config{ClientID: "sigstore"}).Verify(ctx, raw); err != nil || idt.Subject != "olive@example.com" {
		t.Fatalf("ID token: %v", err)
	}

	// Without PKCE: an error page, not a redirect to nowhere.
	q := u.Query()
	for k, v := range form {
		q[k] = v
	}
	q.Del("code_challenge")
	resp, err = browser().Get(u.String() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(page), "PKCE is required") {
		t.Errorf("no PKCE, out of band: %s\n%s", resp.Status, page)
	}
}
