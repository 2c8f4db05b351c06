package devoidc_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/server/internal/devoidc"
)

// verifierSwap rewrites the PKCE code_verifier of token requests: a client that lost
// (or an attacker who never had) the verifier.
type verifierSwap struct{}

func (verifierSwap) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/token") && r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		f, _ := url.ParseQuery(string(b))
		if f.Get("code_verifier") != "" {
			f.Set("code_verifier", strings.Repeat("x", 43))
		}
		nb := []byte(f.Encode())
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(nb))
		r.ContentLength = int64(len(nb))
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestInteractivePKCEMismatch(t *testing.T) {
	p := startIssuer(t, devoidc.Config{})
	ctx := ctxTimeout(t)
	b := &fakeBrowser{t: t, email: "erin@example.com", action: "login", done: make(chan struct{})}
	_, err := oidc.Interactive{
		Issuer:      p.Issuer(),
		OpenBrowser: b.open,
		Out:         io.Discard,
		HTTPClient:  &http.Client{Transport: verifierSwap{}},
	}.Token(ctx)
	<-b.done
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("err = %v, want invalid_grant", err)
	}
	if b.status == 200 {
		t.Errorf("browser shown success: %s", b.page)
	}
}

// TestChainFlows runs each provider Chain picks against the issuer: the browser flow
// with a display, the device flow without one, GitHub Actions in a job.
func TestChainFlows(t *testing.T) {
	p := startIssuer(t, devoidc.Config{DeviceInterval: time.Second})
	for _, v := range []string{oidc.EnvVar, oidc.ActionsRequestURLEnv, oidc.ActionsRequestTokenEnv, "BUILDKITE",
		"BUILDKITE_AGENT_ACCESS_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY", "CI"} { // a developer's machine, also in CI
		t.Setenv(v, "")
	}
	trusted := map[string]string{p.Issuer(): "sigstore", p.ActionsIssuer(): "sigstore"}

	t.Run("browser", func(t *testing.T) {
		t.Setenv("DISPLAY", ":0")
		b := &fakeBrowser{t: t, email: "gina@example.com", action: "login", done: make(chan struct{})}
		chain, err := oidc.Chain(oidc.Options{Issuer: p.Issuer(), OpenBrowser: b.open, Out: io.Discard, Issuers: trusted, NoAgent: true})
		if err != nil || len(chain) != 1 || chain[0].Name != oidc.ProviderBrowser {
			t.Fatalf("chain %+v, %v", chain, err)
		}
		tok, err := chain[0].Source.Token(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := mustInspect(t, tok).Subject(); s != "gina@example.com" {
			t.Errorf("subject %q", s)
		}
	})

	t.Run("device", func(t *testing.T) {
		t.Setenv("SSH_CONNECTION", "10.0.0.1 22 10.0.0.2 22")
		out := &lineWriter{lines: make(chan string, 100)}
		chain, err := oidc.Chain(oidc.Options{Issuer: p.Issuer(), OpenBrowser: func(string) error { return errors.New("unused") }, Out: out, Issuers: trusted, NoAgent: true})
		if err != nil || len(chain) != 1 || chain[0].Name != oidc.ProviderDevice {
			t.Fatalf("chain %+v, %v", chain, err)
		}
		go approveDevice(out, "hank@example.com")
		tok, err := chain[0].Source.Token(ctxTimeout(t))
		close(out.lines)
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := mustInspect(t, tok).Subject(); s != "hank@example.com" {
			t.Errorf("subject %q", s)
		}
	})

	t.Run("github-actions", func(t *testing.T) {
		t.Setenv(oidc.ActionsRequestURLEnv, p.Issuer()+"/actions/token")
		t.Setenv(oidc.ActionsRequestTokenEnv, devoidc.DefaultWorkloadToken)
		chain, err := oidc.Chain(oidc.Options{Issuer: p.Issuer(), Issuers: trusted})
		if err != nil || names(chain) != "github-actions agent device" {
			t.Fatalf("chain %q, %v", names(chain), err)
		}
		tok, err := chain[0].Source.Token(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		if c := mustInspect(t, tok); c.Issuer != p.ActionsIssuer() {
			t.Errorf("iss %q", c.Issuer)
		}
		// The agent refreshes through the spec without the job's environment.
		t.Setenv(oidc.ActionsRequestURLEnv, "")
		t.Setenv(oidc.ActionsRequestTokenEnv, "")
		src, err := chain[0].Spec.Source()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.Token(ctxTimeout(t)); err != nil {
			t.Errorf("refresh through spec: %v", err)
		}
		// A CA that trusts only the email issuer: refused before the CA is asked.
		t.Setenv(oidc.ActionsRequestURLEnv, p.Issuer()+"/actions/token")
		t.Setenv(oidc.ActionsRequestTokenEnv, devoidc.DefaultWorkloadToken)
		chain, _ = oidc.Chain(oidc.Options{Issuers: map[string]string{p.Issuer(): "sigstore"}})
		if _, err := chain[0].Source.Token(ctxTimeout(t)); !errors.Is(err, oidc.ErrUntrustedIssuer) {
			t.Errorf("untrusted issuer: %v", err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		// A token the issuer minted an hour ago with a 10-minute lifetime.
		old := startIssuer(t, devoidc.Config{Now: func() time.Time { return time.Now().Add(-time.Hour) }, TokenTTL: 10 * time.Minute})
		tok, err := oidc.DevLogin(ctxTimeout(t), old.Issuer(), "ivan@example.com")
		if err == nil {
			t.Fatal("the client accepted an expired token from the browser flow")
		}
		t.Setenv(oidc.ActionsRequestURLEnv, old.Issuer()+"/actions/token")
		t.Setenv(oidc.ActionsRequestTokenEnv, devoidc.DefaultWorkloadToken)
		tok, err = oidc.GitHubActions{}.Token(ctxTimeout(t))
		if err != nil {
			t.Fatal(err)
		}
		chain, _ := oidc.Chain(oidc.Options{Token: tok})
		_, err = chain[0].Source.Token(ctxTimeout(t))
		if !errors.Is(err, oidc.ErrTokenExpired) || !strings.Contains(err.Error(), "--identity-token") {
			t.Errorf("expired: %v", err)
		}
	})
}

func names(chain []oidc.Provider) string {
	var s []string
	for _, p := range chain {
		s = append(s, p.Name)
	}
	return strings.Join(s, " ")
}

// approveDevice plays the user on the issuer's /device page once the client prints the code.
func approveDevice(out *lineWriter, email string) {
	for line := range out.lines {
		m := deviceCodeRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		resp, err := http.PostForm(m[1], url.Values{"user_code": {m[2]}, "email": {email}, "action": {"approve"}})
		if err == nil {
			resp.Body.Close()
		}
		for range out.lines {
		}
		return
	}
}

var deviceCodeRE = regexp.MustCompile(`go to (\S+) and enter the code (\S+)`)
