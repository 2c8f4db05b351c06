package devoidc_test

// End-to-end tests of the client token sources in common/oidc against this issuer over
// loopback. They live here because common/ may not import server/internal.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/server/internal/devoidc"
)

// startIssuer serves a development issuer on loopback at <server>/oidc, mounted as
// `waxseal serve --dev-oidc` mounts it.
func startIssuer(t *testing.T, cfg devoidc.Config) *devoidc.Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuer = "http://" + ln.Addr().String() + "/oidc"
	p, err := devoidc.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/oidc/", http.StripPrefix("/oidc", p.Handler()))
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustInspect(t *testing.T, tok string) *oidc.Claims {
	t.Helper()
	c, err := oidc.Inspect(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDevLogin(t *testing.T) {
	ctx := ctxTimeout(t)
	p := startIssuer(t, devoidc.Config{})
	tok, err := oidc.DevLogin(ctx, p.Issuer()+"/", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	c := mustInspect(t, tok)
	if err := c.Check(time.Now(), "sigstore"); err != nil {
		t.Error(err)
	}
	if c.Issuer != p.Issuer() {
		t.Errorf("iss %q", c.Issuer)
	}
	if s, err := c.Subject(); err != nil || s != "alice@example.com" {
		t.Errorf("Subject() = %q, %v", s, err)
	}

	if _, err := oidc.DevLogin(ctx, p.Issuer(), "not an email"); err == nil || !strings.Contains(err.Error(), "email") {
		t.Errorf("bad email: %v", err)
	}
	if _, err := oidc.DevLogin(ctx, p.Issuer()+"/nope", "alice@example.com"); err == nil {
		t.Error("oidc.DevLogin against a non-issuer succeeded")
	}
}

// fakeBrowser is an HTTP client that plays the user: it loads the login page, submits
// it, and delivers the issuer's redirect to the loopback listener, through tamper.
type fakeBrowser struct {
	t      *testing.T
	email  string
	action string
	tamper func(*url.URL)
	// stray, if set, is a redirect someone else sends to the loopback
	// listener first, with the real one's code but its own state.
	stray       func(*url.URL)
	strayStatus int
	page        string // last page the loopback listener showed
	status      int
	done        chan struct{}
}

func (b *fakeBrowser) open(authURL string) error {
	defer close(b.done)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("login page: %s", resp.Status)
	}
	u, _ := url.Parse(authURL)
	form := u.Query()
	form.Set("email", b.email)
	form.Set("action", b.action)
	u.RawQuery = ""
	resp, err = c.PostForm(u.String(), form)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return fmt.Errorf("login: %s", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	if b.stray != nil {
		forged := *loc
		b.stray(&forged)
		for range 3 {
			resp, err := c.Get(forged.String())
			if err != nil {
				return err
			}
			resp.Body.Close()
			b.strayStatus = resp.StatusCode
		}
	}
	if b.tamper != nil {
		b.tamper(loc)
	}
	resp, err = c.Get(loc.String())
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.page, b.status = string(page), resp.StatusCode
	return nil
}

func TestInteractive(t *testing.T) {
	p := startIssuer(t, devoidc.Config{})
	for _, tc := range []struct {
		name     string
		redirect string
		action   string
		tamper   func(*url.URL)
		stray    func(*url.URL)
		wantErr  string
	}{
		{name: "ok"},
		{name: "ok 127.0.0.1", redirect: "http://127.0.0.1:0/callback"},
		// Someone else's redirect first, without the state: refused, and
		// the sign-in goes on to the browser's.
		{name: "stray redirect", stray: func(u *url.URL) {
			q := u.Query()
			q.Set("state", "forged")
			u.RawQuery = q.Encode()
		}},
		{name: "stray redirect without state", stray: func(u *url.URL) {
			q := u.Query()
			q.Del("state")
			u.RawQuery = q.Encode()
		}},
		{name: "code forged", tamper: func(u *url.URL) {
			q := u.Query()
			q.Set("code", "forged")
			u.RawQuery = q.Encode()
		}, wantErr: "invalid_grant"},
		{name: "user cancels", action: "deny", wantErr: "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxTimeout(t)
			b := &fakeBrowser{t: t, email: "erin@example.com", action: "login", tamper: tc.tamper, stray: tc.stray, done: make(chan struct{})}
			if tc.action != "" {
				b.action = tc.action
			}
			var out strings.Builder
			tok, err := oidc.Interactive{
				Issuer:      p.Issuer(),
				ClientID:    "sigstore",
				RedirectURL: tc.redirect,
				OpenBrowser: b.open,
				Out:         &out,
			}.Token(ctx)
			<-b.done // the browser has shown the final page
			if !strings.Contains(out.String(), p.Issuer()+"/authorize?") {
				t.Errorf("the authorization URL was not printed: %q", out.String())
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if b.status == 200 {
					t.Errorf("browser shown success: %s", b.page)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.status != 200 || !strings.Contains(b.page, "close this tab") {
				t.Errorf("browser shown %d %s", b.status, b.page)
			}
			if s, _ := mustInspect(t, tok).Subject(); s != "erin@example.com" {
				t.Errorf("subject %q", s)
			}
			if tc.stray != nil && (b.strayStatus != http.StatusBadRequest || strings.Count(out.String(), "Ignored a redirect to this sign-in's address that was not for it") != 1) {
				t.Errorf("stray redirect answered %d; output %q", b.strayStatus, out.String())
			}
		})
	}
}

// TestInteractiveConnectorID: a connector ID (Dex's upstream selection)
// reaches the authorization request, and the flow still completes.
func TestInteractiveConnectorID(t *testing.T) {
	p := startIssuer(t, devoidc.Config{})
	b := &fakeBrowser{t: t, email: "erin@example.com", action: "login", done: make(chan struct{})}
	var seen string
	tok, err := oidc.Interactive{
		Issuer:      p.Issuer(),
		ClientID:    "sigstore",
		ConnectorID: "github",
		OpenBrowser: func(u string) error { seen = u; return b.open(u) },
		Out:         io.Discard,
	}.Token(ctxTimeout(t))
	<-b.done
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(seen)
	if got := u.Query().Get("connector_id"); got != "github" {
		t.Errorf("connector_id = %q in %s", got, seen)
	}
	mustInspect(t, tok)
}

func TestInteractiveCanceled(t *testing.T) {
	p := startIssuer(t, devoidc.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := oidc.Interactive{Issuer: p.Issuer(), Out: io.Discard}.Token(ctx) // nobody opens the URL
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	if _, err := (oidc.Interactive{Issuer: p.Issuer(), RedirectURL: "http://example.com:0/cb"}).Token(ctxTimeout(t)); err == nil {
		t.Error("non-loopback redirect accepted")
	}
}

// lineWriter hands each line written to it to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	lines chan string
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	sc := bufio.NewScanner(strings.NewReader(w.buf.String()))
	w.buf.Reset()
	for sc.Scan() {
		w.lines <- sc.Text()
	}
	return len(b), nil
}

func TestDevice(t *testing.T) {
	p := startIssuer(t, devoidc.Config{DeviceInterval: time.Second})
	codeRE := regexp.MustCompile(`go to (\S+) and enter the code (\S+)`)
	for _, action := range []string{"approve", "deny"} {
		t.Run(action, func(t *testing.T) {
			ctx := ctxTimeout(t)
			out := &lineWriter{lines: make(chan string, 100)}
			approved := make(chan error, 1)
			go func() {
				for line := range out.lines {
					m := codeRE.FindStringSubmatch(line)
					if m == nil {
						continue
					}
					// Let the client poll and wait at least once first.
					time.Sleep(1200 * time.Millisecond)
					resp, err := http.PostForm(m[1], url.Values{"user_code": {m[2]}, "email": {"frank@example.com"}, "action": {action}})
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode != 200 {
							err = fmt.Errorf("device page: %s", resp.Status)
						}
					}
					approved <- err
					return
				}
			}()
			tok, err := oidc.Device{Issuer: p.Issuer(), Out: out}.Token(ctx)
			close(out.lines)
			if err := <-approved; err != nil {
				t.Fatal(err)
			}
			if action == "deny" {
				if err == nil || !strings.Contains(err.Error(), "denied") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s, _ := mustInspect(t, tok).Subject(); s != "frank@example.com" {
				t.Errorf("subject %q", s)
			}
		})
	}
}

func TestGitHubActions(t *testing.T) {
	p := startIssuer(t, devoidc.Config{})
	ctx := ctxTimeout(t)

	t.Setenv(oidc.ActionsRequestURLEnv, "")
	t.Setenv(oidc.ActionsRequestTokenEnv, "")
	if oidc.GitHubActionsAvailable() {
		t.Error("available without env")
	}
	if _, err := (oidc.GitHubActions{}).Token(ctx); !errors.Is(err, oidc.ErrNoToken) {
		t.Errorf("no env: %v", err)
	}

	t.Setenv(oidc.ActionsRequestURLEnv, p.Issuer()+"/actions/token?api-version=2.0")
	t.Setenv(oidc.ActionsRequestTokenEnv, devoidc.DefaultWorkloadToken)
	if !oidc.GitHubActionsAvailable() {
		t.Error("not available with env")
	}
	tok, err := oidc.GitHubActions{}.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := mustInspect(t, tok)
	if err := c.Check(time.Now(), "sigstore"); err != nil {
		t.Error(err)
	}
	if c.Issuer != p.ActionsIssuer() || c.Email != "" {
		t.Errorf("claims %+v", c)
	}
	if s, err := c.Subject(); err != nil || s != "repo:waxseal/demo:ref:refs/heads/main" {
		t.Errorf("Subject() = %q, %v", s, err)
	}
	var repo string
	json.Unmarshal(c.Raw["repository"], &repo)
	if repo != "waxseal/demo" {
		t.Errorf("repository claim %q", repo)
	}

	tok, err = oidc.GitHubActions{Audience: "other"}.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := mustInspect(t, tok).Check(time.Now(), "sigstore"); !errors.Is(err, oidc.ErrWrongAudience) {
		t.Errorf("audience other: %v", err)
	}

	t.Setenv(oidc.ActionsRequestTokenEnv, "wrong")
	if _, err := (oidc.GitHubActions{}).Token(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("bad request token: %v", err)
	}
}
