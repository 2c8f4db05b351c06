package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/server/servertest"
)

// cleanIdentityEnv unsets whatever could give a command an identity by itself.
func cleanIdentityEnv(t *testing.T) {
	for _, v := range []string{oidc.EnvVar, oidc.ActionsRequestURLEnv, oidc.ActionsRequestTokenEnv, "BUILDKITE",
		"BUILDKITE_AGENT_ACCESS_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", oidc.CommandEnv,
		"WAXSEAL_OIDC_PROVIDER", agent.SocketEnv} {
		t.Setenv(v, "")
	}
	t.Setenv("WAXSEAL_CONFIG_DIR", t.TempDir())
}

// runCLI runs waxseal in-process.
func runCLI(ctx context.Context, t *testing.T, stderr io.Writer, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	var w io.Writer = &errb
	if stderr != nil {
		w = io.MultiWriter(&errb, stderr)
	}
	code := run(ctx, append([]string{"waxseal"}, args...), strings.NewReader(""), &out, w)
	return out.String(), errb.String(), code
}

// runAgent runs `waxseal agent --foreground` in-process until the test ends.
func runAgent(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wxc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "run", "agent.sock")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr bytes.Buffer
	var mu sync.Mutex
	go func() {
		var out bytes.Buffer
		code := run(ctx, []string{"waxseal", "agent", "--foreground", "--socket", sock}, nil, &out, lockedWriter{&mu, &stderr})
		done <- code
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			mu.Lock()
			t.Errorf("agent exited %d: %s", code, stderr.String())
			mu.Unlock()
		}
		if _, err := os.Lstat(sock); err == nil {
			t.Error("the agent left its socket behind")
		}
	})
	for range 500 {
		if c, err := agent.Dial(ctx, sock); err == nil {
			c.Close()
			return sock
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the agent did not start")
	return ""
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestSignManyWithAgent: one login, then signing 50 files performs no further login
// and no further certificate request.
func TestSignManyWithAgent(t *testing.T) {
	cleanIdentityEnv(t)
	stack := servertest.Start(t)
	sock := runAgent(t)
	ctx := testCtx(t)

	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(stack.Token(t, "alice@example.com")), 0o600)
	logins := stack.Requests("POST", "/oidc/token")

	out, errs, code := runCLI(ctx, t, nil, "login", "--server", stack.URL, "--socket", sock, "--identity-token", "@"+tokenFile)
	if code != 0 || !strings.Contains(out, "logged in as alice@example.com") {
		t.Fatalf("login: %d %s %s", code, out, errs)
	}

	dir := t.TempDir()
	var files []string
	for i := range 50 {
		f := filepath.Join(dir, fmt.Sprintf("f%02d.txt", i))
		os.WriteFile(f, []byte(fmt.Sprintf("file %d\n", i)), 0o644)
		files = append(files, f)
	}
	args := append([]string{"sign", "--server", stack.URL, "--socket", sock, "--json"}, files...)
	out, errs, code = runCLI(ctx, t, nil, args...)
	if code != 0 {
		t.Fatalf("sign: %d %s", code, errs)
	}
	for _, f := range files {
		if _, err := os.Stat(f + ".sigstore.json"); err != nil {
			t.Error(err)
		}
	}
	if n := stack.Requests("POST", "/api/v2/signingCert"); n != 1 {
		t.Errorf("%d certificate requests for one login and 50 files, want 1", n)
	}
	if n := stack.Requests("POST", "/oidc/token") - logins; n != 0 {
		t.Errorf("%d logins at the issuer after the first", n)
	}
	if n := strings.Count(out, `"logIndex"`); n != 50 {
		t.Errorf("%d results", n)
	}

	// The bundles verify as alice's, and as nobody else's.
	_, errs, code = runCLI(ctx, t, nil, "verify", "--trusted-root", stack.TrustedRootPath,
		"--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer(), files[7])
	if code != 0 {
		t.Errorf("verify as alice: %d %s", code, errs)
	}
	_, errs, code = runCLI(ctx, t, nil, "verify", "--trusted-root", stack.TrustedRootPath,
		"--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", stack.Issuer(), files[7])
	if code != 1 || !strings.Contains(errs, "identity") {
		t.Errorf("verify as bob: %d %s", code, errs)
	}

	// Logged out, in CI, nothing is left to sign with: the error says that
	// CI is why no login is tried, not that there is no issuer (the
	// instance names one).
	if _, errs, code := runCLI(ctx, t, nil, "logout", "--socket", sock); code != 0 {
		t.Fatalf("logout: %d %s", code, errs)
	}
	t.Setenv("CI", "true")
	_, errs, code = runCLI(ctx, t, nil, "sign", "--server", stack.URL, "--socket", sock, files[0])
	if code != 1 || !strings.Contains(errs, "no interactive login is tried in CI (CI=true)") || strings.Contains(errs, "no OIDC issuer") {
		t.Errorf("sign in CI, logged out: %d %s", code, errs)
	}
}

// TestLoginFlows fills the agent through each kind of provider: GitHub Actions (and the
// agent's refresh through it), the device flow approved at the issuer, and refusals.
func TestLoginFlows(t *testing.T) {
	cleanIdentityEnv(t)
	stack := servertest.Start(t)
	sock := runAgent(t)

	t.Run("github-actions", func(t *testing.T) {
		ctx := testCtx(t)
		t.Setenv(oidc.ActionsRequestURLEnv, stack.Issuer()+"/actions/token?api-version=2.0")
		t.Setenv(oidc.ActionsRequestTokenEnv, "waxseal-dev-actions-request-token") // devoidc.DefaultWorkloadToken
		out, errs, code := runCLI(ctx, t, nil, "login", "--server", stack.URL, "--socket", sock)
		if code != 0 {
			t.Fatalf("login: %d %s", code, errs)
		}
		// The identity said is the certificate's, which verifiers match,
		// not the token's sub (repo:waxseal/demo:ref:refs/heads/main).
		if !strings.Contains(out, "logged in as https://github.com/waxseal/demo/.github/workflows/release.yml@refs/heads/main (issuer "+stack.Issuer()+"/actions)") ||
			!strings.Contains(out, "refreshes through: github-actions") {
			t.Errorf("login said %s", out)
		}
		out, _, code = runCLI(ctx, t, nil, "agent", "status", "--socket", sock, "--json")
		if code != 0 || !strings.Contains(out, stack.Issuer()+"/actions") {
			t.Errorf("status = %d: %s", code, out)
		}
	})

	t.Run("device", func(t *testing.T) {
		ctx := testCtx(t)
		pr, pw := io.Pipe()
		approved := make(chan error, 1)
		go func() {
			re := regexp.MustCompile(`go to (\S+) and enter the code (\S+)`)
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				if m := re.FindStringSubmatch(sc.Text()); m != nil {
					resp, err := http.PostForm(m[1], url.Values{"user_code": {m[2]}, "email": {"dave@example.com"}, "action": {"approve"}})
					if err == nil {
						resp.Body.Close()
					}
					approved <- err
					io.Copy(io.Discard, pr)
					return
				}
			}
			approved <- fmt.Errorf("no device code printed")
		}()
		out, errs, code := runCLI(ctx, t, pw, "login", "--server", stack.URL, "--socket", sock, "--oidc-provider", "device")
		pw.Close()
		if err := <-approved; err != nil {
			t.Fatal(err)
		}
		if code != 0 || !strings.Contains(out, "logged in as dave@example.com") {
			t.Fatalf("login: %d %s %s", code, out, errs)
		}
		if strings.Contains(out, "refreshes through") {
			t.Errorf("an interactive login claims to refresh: %s", out)
		}
	})

	t.Run("device without a terminal", func(t *testing.T) {
		ctx := testCtx(t)
		// On someone's machine: in CI there is no interactive login at all.
		for _, k := range []string{"CI", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY"} {
			t.Setenv(k, "")
		}
		defer func(f func() bool) { hasTerminal = f }(hasTerminal)
		hasTerminal = func() bool { return false }
		// Chosen for want of a browser, it fails at once, and says how
		// to log in instead.
		before := stack.Requests("POST", "/oidc/device/code")
		_, errs, code := runCLI(ctx, t, nil, "login", "--server", stack.URL, "--socket", sock)
		if code != 1 || !strings.Contains(errs, "device login: no terminal to show its code on") || !strings.Contains(errs, "--oidc-provider device") ||
			stack.Requests("POST", "/oidc/device/code") != before {
			t.Errorf("login with no terminal: %d\n%s", code, errs)
		}
	})

	t.Run("refused", func(t *testing.T) {
		ctx := testCtx(t)
		other := servertest.Start(t)
		file := filepath.Join(t.TempDir(), "x")
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			token string
			want  string
		}{
			{"untrusted issuer", other.Token(t, "mallory@example.com"), "not trusted by the CA"},
			{"wrong audience", jwtFor(stack.Issuer(), "other", time.Now().Add(time.Hour)), "wrong audience"},
			{"expired", jwtFor(stack.Issuer(), "sigstore", time.Now().Add(-time.Minute)), "identity token expired"},
		} {
			before := stack.Requests("POST", "/api/v2/signingCert")
			for _, cmd := range [][]string{{"login", "--socket", sock}, {"sign", "--oidc-provider", "token"}} {
				args := append(cmd, "--server", stack.URL, "--identity-token", tc.token)
				if cmd[0] == "sign" {
					args = append(args, file)
				}
				_, errs, code := runCLI(ctx, t, nil, args...)
				if code != 1 || !strings.Contains(errs, tc.want) {
					t.Errorf("%s: %s: %d %s", tc.name, cmd[0], code, errs)
				}
			}
			if n := stack.Requests("POST", "/api/v2/signingCert") - before; n != 0 {
				t.Errorf("%s: %d certificate requests", tc.name, n)
			}
		}
	})
}

// jwtFor is a token as the issuer would mint it, except for its signature, which the
// client does not check (the CA does, and is never reached).
func jwtFor(iss, aud string, exp time.Time) string {
	return fmt.Sprintf("eyJhbGciOiJFUzI1NiJ9.%s.c2ln", b64(fmt.Sprintf(
		`{"iss":%q,"sub":"eve@example.com","email":"eve@example.com","email_verified":true,"aud":%q,"exp":%d}`, iss, aud, exp.Unix())))
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestAgentVersion: agent status says which release the agent runs, and
// says to restart an agent of another release than the command's.
func TestAgentVersion(t *testing.T) {
	cleanIdentityEnv(t)
	ctx := testCtx(t)
	sock := runAgent(t)
	out, errs, code := runCLI(ctx, t, nil, "agent", "status", "--socket", sock)
	// Not logged in: the status is said, and the exit code says the agent
	// cannot sign, as ssh-add -l's does.
	if code != 1 || !strings.Contains(out, "not logged in") || !strings.Contains(out, "agent: pid ") || !strings.Contains(out, ", waxseal "+versionString()+"\n") || strings.Contains(errs, "restart it") {
		t.Errorf("agent status of this release's agent = %d\n%s%s", code, out, errs)
	}
	out, _, _ = runCLI(ctx, t, nil, "agent", "status", "--socket", sock, "--json")
	if !strings.Contains(out, `"version": "`+versionString()+`"`) {
		t.Errorf("agent status --json: %s", out)
	}

	// An agent of another release, on a socket of its own.
	dir, err := os.MkdirTemp("", "wxv")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	other := filepath.Join(dir, "agent.sock")
	ln, err := agent.Listen(other)
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go (&agent.Agent{Version: "v0.9.0"}).Serve(actx, ln)
	out, errs, code = runCLI(ctx, t, nil, "agent", "status", "--socket", other)
	if code != 1 || !strings.Contains(out, ", waxseal v0.9.0\n") ||
		!strings.Contains(errs, "the agent runs waxseal v0.9.0, and this is "+versionString()+": restart it ('waxseal agent stop', then 'waxseal agent')") {
		t.Errorf("agent status of another release's agent = %d\n%s%s", code, out, errs)
	}
}
