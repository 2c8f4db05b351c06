package oidc

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestGitHubActionsRequest(t *testing.T) {
	ctx := context.Background()
	t.Setenv(ActionsRequestURLEnv, "")
	t.Setenv(ActionsRequestTokenEnv, "")
	if GitHubActionsAvailable() {
		t.Error("available without env")
	}
	if _, err := (GitHubActions{}).Token(ctx); !errors.Is(err, ErrNoToken) {
		t.Errorf("no env: %v", err)
	}

	// The audience is appended with ? or & as the URL needs.
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.URL.RawQuery)
		mu.Unlock()
		fmt.Fprint(w, `{"value":"x.y.z"}`)
	}))
	defer srv.Close()
	t.Setenv(ActionsRequestTokenEnv, "t")
	for _, u := range []string{srv.URL + "/token", srv.URL + "/token?api-version=2.0"} {
		t.Setenv(ActionsRequestURLEnv, u)
		if _, err := (GitHubActions{Audience: "a b"}).Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"audience=a+b", "api-version=2.0&audience=a+b"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("queries %q, want %q", got, want)
	}
}

func TestExplicitSources(t *testing.T) {
	ctx := context.Background()
	if tok, err := StaticToken(" a.b.c\n").Token(ctx); err != nil || tok != "a.b.c" {
		t.Errorf("StaticToken: %q %v", tok, err)
	}
	if _, err := StaticToken("").Token(ctx); !errors.Is(err, ErrNoToken) {
		t.Errorf("empty StaticToken: %v", err)
	}

	t.Setenv(EnvVar, "")
	if _, err := (EnvToken{}).Token(ctx); !errors.Is(err, ErrNoToken) {
		t.Errorf("unset env: %v", err)
	}
	t.Setenv(EnvVar, "e.n.v")
	if tok, err := (EnvToken{}).Token(ctx); err != nil || tok != "e.n.v" {
		t.Errorf("EnvToken: %q %v", tok, err)
	}
	t.Setenv("OTHER_TOKEN", "o.t.h")
	if tok, err := (EnvToken{Name: "OTHER_TOKEN"}).Token(ctx); err != nil || tok != "o.t.h" {
		t.Errorf("EnvToken{Name}: %q %v", tok, err)
	}

	path := filepath.Join(t.TempDir(), "token")
	if _, err := FileToken(path).Token(ctx); err == nil {
		t.Error("missing file accepted")
	}
	os.WriteFile(path, []byte("f.i.l\n"), 0o600)
	if tok, err := FileToken(path).Token(ctx); err != nil || tok != "f.i.l" {
		t.Errorf("FileToken: %q %v", tok, err)
	}
	var _ TokenSource = StaticToken("")
	var _ TokenSource = EnvToken{}
	var _ TokenSource = FileToken("")
	var _ TokenSource = GitHubActions{}
	var _ TokenSource = Interactive{}
	var _ TokenSource = Device{}
}

// jwt builds an unsigned-but-plausible compact JWT around payload.
func jwt(header, payload string) string {
	e := base64.RawURLEncoding.EncodeToString
	return e([]byte(header)) + "." + e([]byte(payload)) + "." + e([]byte("signature"))
}

func TestInspectCheck(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	hdr := `{"alg":"ES256","typ":"JWT"}`
	for _, tc := range []struct {
		name       string
		token      string
		inspectErr string
		checkErr   error
		checkText  string
		subject    string
		subjectErr string
	}{
		{name: "email", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore","exp":1800000600,"email":"a@b.c","email_verified":true}`), subject: "a@b.c"},
		{name: "aud array", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":["x","sigstore"],"exp":1800000600.5}`), subject: "u1"},
		{name: "verified as string", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore","exp":1800000600,"email":"a@b.c","email_verified":"true"}`), subject: "a@b.c"},
		{name: "unverified email", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore","exp":1800000600,"email":"a@b.c","email_verified":false}`), subjectErr: "not verified"},
		{name: "email_verified missing", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore","exp":1800000600,"email":"a@b.c"}`), subjectErr: "not verified"},
		{name: "expired", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore","exp":1799999990}`), checkErr: ErrTokenExpired, checkText: "10s ago", subject: "u1"},
		{name: "expires now", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore","exp":1800000000}`), checkErr: ErrTokenExpired, subject: "u1"},
		{name: "wrong audience", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":["other"],"exp":1800000600}`), checkErr: ErrWrongAudience, checkText: `"other"`, subject: "u1"},
		{name: "no exp", token: jwt(hdr, `{"iss":"https://i","sub":"u1","aud":"sigstore"}`), checkText: "no expiry", subject: "u1"},
		{name: "no iss", token: jwt(hdr, `{"sub":"u1","aud":"sigstore","exp":1800000600}`), checkText: "no issuer", subject: "u1"},
		{name: "no subject", token: jwt(hdr, `{"iss":"https://i","aud":"sigstore","exp":1800000600}`), subjectErr: "neither"},
		{name: "two parts", token: "a.b", inspectErr: "not a JWT"},
		{name: "JWE", token: "a.b.c.d.e", inspectErr: "encrypted"},
		{name: "alg none", token: jwt(`{"alg":"none"}`, `{"sub":"u"}`), inspectErr: "not signed"},
		{name: "bad base64", token: "eyJhbGciOiJFUzI1NiJ9.!!!.c", inspectErr: "base64"},
		{name: "payload array", token: jwt(hdr, `[1]`), inspectErr: "JSON object"},
		{name: "exp string", token: jwt(hdr, `{"exp":"soon"}`), inspectErr: "NumericDate"},
		{name: "aud number", token: jwt(hdr, `{"aud":1}`), inspectErr: "aud"},
		{name: "email_verified number", token: jwt(hdr, `{"email_verified":1}`), inspectErr: "email_verified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Inspect(tc.token)
			if tc.inspectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.inspectErr) {
					t.Fatalf("Inspect err = %v, want %q", err, tc.inspectErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(now, "sigstore")
			switch {
			case tc.checkErr == nil && tc.checkText == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tc.checkErr != nil && !errors.Is(err, tc.checkErr):
				t.Errorf("Check err = %v, want %v", err, tc.checkErr)
			case tc.checkText != "" && (err == nil || !strings.Contains(err.Error(), tc.checkText)):
				t.Errorf("Check err = %v, want %q", err, tc.checkText)
			}
			s, err := c.Subject()
			if tc.subjectErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.subjectErr) {
					t.Errorf("Subject err = %v, want %q", err, tc.subjectErr)
				}
				return
			}
			if err != nil || s != tc.subject {
				t.Errorf("Subject() = %q, %v; want %q", s, err, tc.subject)
			}
		})
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(jwt(`{"alg":"ES256"}`, `{"iss":"https://i","sub":"u1","aud":["sigstore"],"exp":1800000600,"email":"a@b.c","email_verified":true}`))
	f.Add(jwt(`{"alg":"RS256"}`, `{"aud":"x","exp":1.5,"email_verified":"true"}`))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := Inspect(tok)
		if err != nil {
			return
		}
		c.Check(time.Unix(1_800_000_000, 0), "sigstore")
		if s, err := c.Subject(); err == nil && s == "" {
			t.Error("empty subject without error")
		}
	})
}

// The browser's result page names the error, escaped: an issuer's
// error_description reaches it.
func TestResultPageEscapes(t *testing.T) {
	rec := httptest.NewRecorder()
	showResult(rec, http.StatusBadRequest, errors.New(`issuer says <script>alert("x")</script> & more`))
	page := rec.Body.String()
	if rec.Code != http.StatusBadRequest || !strings.Contains(page, "Sign-in failed") ||
		!strings.Contains(page, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more") || strings.Contains(page, "<script>") {
		t.Errorf("failure page, status %d:\n%s", rec.Code, page)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	rec = httptest.NewRecorder()
	showResult(rec, http.StatusOK, nil)
	if page := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(page, "close this tab") || strings.Contains(page, "failed") {
		t.Errorf("success page, status %d:\n%s", rec.Code, page)
	}
}

// TestDeviceCodeExpires: an issuer that never sees the sign-in approved
// before the device code expires; the error says so, not "context deadline
// exceeded" (x/oauth2 stops polling at the expiry with its own deadline).
func TestDeviceCodeExpires(t *testing.T) {
	var srv *httptest.Server
	polls := 0
	var mu sync.Mutex
	expiresIn, slow := 2, time.Duration(0)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%s/authorize","token_endpoint":"%s/token","jwks_uri":"%s/keys","device_authorization_endpoint":"%s/device"}`,
				srv.URL, srv.URL, srv.URL, srv.URL, srv.URL)
		case "/device":
			mu.Lock()
			e := expiresIn
			mu.Unlock()
			fmt.Fprintf(w, `{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://issuer.example/device","expires_in":%d,"interval":1}`, e)
		case "/token":
			mu.Lock()
			polls++
			d := slow
			mu.Unlock()
			time.Sleep(d)
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"authorization_pending"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	var out strings.Builder
	_, err := Device{Issuer: srv.URL, Out: &out}.Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "the device code expired before the sign-in at https://issuer.example/device was approved") ||
		strings.Contains(err.Error(), "deadline") {
		t.Errorf("an expired device code: %v", err)
	}
	mu.Lock()
	n := polls
	mu.Unlock()
	if !strings.Contains(out.String(), "ABCD-EFGH") || n == 0 {
		t.Errorf("the code was not shown, or never polled for (%d polls):\n%s", n, out.String())
	}
	// A poll that times out (an HTTP client's timeout) is no expiry.
	mu.Lock()
	expiresIn, slow = 600, time.Second
	mu.Unlock()
	_, err = Device{Issuer: srv.URL, Out: io.Discard, HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}}.Token(context.Background())
	if err == nil || strings.Contains(err.Error(), "expired") {
		t.Errorf("a poll that timed out: %v", err)
	}
	mu.Lock()
	expiresIn, slow = 2, 0
	mu.Unlock()
	// The caller's own deadline is the caller's.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := (Device{Issuer: srv.URL, Out: io.Discard}).Token(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the caller's deadline: %v", err)
	}
}
