package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/server/servertest"
)

// Environment of the test browser (browse): who to log in as, and a file it
// appends each URL it was opened on to.
const (
	browserEmailEnv = "GITSIGN_TEST_BROWSER_EMAIL"
	browserLogEnv   = "GITSIGN_TEST_BROWSER_LOG"
)

// browse is the user at a browser, run as $BROWSER by an interactive login
// inside git: it opens the authorization URL on the development issuer,
// signs in on its login page as $GITSIGN_TEST_BROWSER_EMAIL, and follows the
// redirect to gitsign's loopback callback, which must answer 200.
func browse(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "test browser: "+format+"\n", a...)
		return 1
	}
	if len(args) != 1 {
		return fail("want one URL, got %q", args)
	}
	if f, err := os.OpenFile(os.Getenv(browserLogEnv), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
		fmt.Fprintln(f, args[0])
		f.Close()
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(args[0])
	if err != nil {
		return fail("%v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="email"`) {
		return fail("login page: %s\n%s", resp.Status, page)
	}
	u, err := url.Parse(args[0])
	if err != nil {
		return fail("%v", err)
	}
	form := u.Query()
	form.Set("email", os.Getenv(browserEmailEnv))
	form.Set("action", "login")
	u.RawQuery = ""
	resp, err = noRedirect.PostForm(u.String(), form)
	if err != nil {
		return fail("%v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return fail("signing in: %s", resp.Status)
	}
	resp, err = http.Get(resp.Header.Get("Location"))
	if err != nil {
		return fail("callback: %v", err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("callback: %s\n%s", resp.Status, page)
	}
	return 0
}

// useBrowser makes the test browser (browse) the repository's $BROWSER,
// signing in as email. It returns the file the browser logs its URLs to and
// how many times it has been opened so far.
func useBrowser(t *testing.T, r *repo, email string) (log string, opened func() int) {
	log = filepath.Join(t.TempDir(), "browser.log")
	r.env = append(r.env,
		"BROWSER="+filepath.Join(binDir, "browser"),
		browserEmailEnv+"="+email,
		browserLogEnv+"="+log,
	)
	return log, func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\n")
	}
}

// TestInteractiveLoginInGit: with no token anywhere, `git commit -S` runs
// gitsign, which logs in through the browser itself; with `waxseal agent`
// running but empty, the login it does for the first commit of a rebase is
// handed to the agent, and the rest of the rebase signs without another.
func TestInteractiveLoginInGit(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.allow("erin@example.com erin@example.com " + issuerPlaceholder)
	r.unsetenv("SIGSTORE_ID_TOKEN")
	r.env = append(r.env, agent.SocketEnv+"="+filepath.Join(t.TempDir(), "no-agent.sock"))
	browserLog, opened := useBrowser(t, r, "erin@example.com")

	// Without an agent: every signature is a login of its own, which
	// says whom it signed in (the log has what git hides).
	logFile := filepath.Join(t.TempDir(), "gitsign.log")
	r.git("config", "gitsign.logPath", logFile)
	r.commit("one", "-S")
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "gitsign: signed in as erin@example.com ("+stack.Issuer()+")") {
		t.Errorf("the login does not say whom it signed in:\n%s", b)
	}
	r.git("config", "--unset", "gitsign.logPath")
	r.commit("two", "-S")
	if got := r.format("HEAD~1..HEAD", "%G? %GS"); got != "G erin@example.com" {
		t.Errorf("%%G? %%GS = %q", got)
	}
	if n := opened(); n != 2 {
		t.Fatalf("browser opened %d times for two commits without an agent, want 2", n)
	}
	if b, _ := os.ReadFile(browserLog); !strings.Contains(string(b), stack.Issuer()+"/authorize?") || strings.Contains(string(b), "connector_id") {
		t.Errorf("browser was not sent to the issuer's authorization endpoint, or with a connector: %s", b)
	}
	// gitsign.connectorID, as sigstore's gitsign names it, picks the
	// upstream provider at a federating issuer.
	r.git("config", "gitsign.connectorID", "https://github.com/login/oauth")
	r.commit("through a connector", "-S")
	if b, _ := os.ReadFile(browserLog); !strings.Contains(string(b), "connector_id="+url.QueryEscape("https://github.com/login/oauth")) {
		t.Errorf("gitsign.connectorID did not reach the authorization URL: %s", b)
	}
	r.git("config", "--unset", "gitsign.connectorID")

	// With an empty agent: one login for the whole rebase.
	r.env = append(r.env, agent.SocketEnv+"="+startAgent(t)) // the later setting wins
	const n = 5
	for i := range n {
		r.commit(fmt.Sprintf("change %d", i))
	}
	before, certs := opened(), stack.Requests("POST", "/api/v2/signingCert")
	r.git("rebase", "-q", "-S", "--force-rebase", "HEAD~"+fmt.Sprint(n))
	if got := opened() - before; got != 1 {
		t.Errorf("browser opened %d times for a rebase of %d commits with the agent running, want 1", got, n)
	}
	if got := stack.Requests("POST", "/api/v2/signingCert") - certs; got != 1 {
		t.Errorf("%d certificate requests for the rebase, want 1 (the agent's)", got)
	}
	code, stdout, stderr := r.gitsign("verify", "HEAD~"+fmt.Sprint(n+1)+"..HEAD")
	if code != 0 || strings.Count(stdout, " good ") != n+1 {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
}

// TestAgentForAnotherInstance: an agent logged in to another instance's CA
// does not sign here (its certificate would not verify against this
// repository's trusted root). gitsign logs in for this instance and hands the
// login to the agent, which then holds both: the next commit needs no login,
// and the other instance's login is untouched.
func TestAgentForAnotherInstance(t *testing.T) {
	stack, other := servertest.Start(t), servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.allow("erin@example.com erin@example.com " + issuerPlaceholder)
	c := useAgent(t, r, other, "erin@example.com")
	otherCA := other.SigningConfig(t).CAURL
	browserLog, opened := useBrowser(t, r, "erin@example.com")
	logFile := filepath.Join(t.TempDir(), "gitsign.log")
	r.git("config", "gitsign.logPath", logFile)
	r.commit("one", "-S")
	r.git("config", "--unset", "gitsign.logPath")
	// Why the agent did not sign comes before the login, not after it.
	if b, _ := os.ReadFile(logFile); !strings.Contains(string(b), "gitsign: agent: running, but not logged in to "+stack.SigningConfig(t).CAURL+
		"; it is logged in to "+otherCA+" only (waxseal login --server URL logs it in)\ngitsign: signing in here instead\n") {
		t.Errorf("the login does not say why the agent did not sign:\n%s", b)
	}
	r.commit("two", "-S")
	if got := r.format("HEAD~1..HEAD", "%G? %GS"); got != "G erin@example.com" {
		t.Errorf("%%G? %%GS = %q, want a good signature from this instance", got)
	}
	if got := r.format("HEAD~1", "%G?"); got != "G" {
		t.Errorf("first commit: %%G? = %q", got)
	}
	if n := opened(); n != 1 {
		b, _ := os.ReadFile(browserLog)
		t.Errorf("browser opened %d times (%q), want one login for both commits", n, b)
	}
	_, all, err := c.Sessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cas := map[string]bool{}
	for _, st := range all {
		cas[st.CAURL] = st.LoggedIn
	}
	if len(cas) != 2 || !cas[otherCA] || !cas[stack.SigningConfig(t).CAURL] {
		t.Errorf("agent sessions %+v, want the other instance's and this one's", all)
	}
}

// TestNoTerminalFailsFast: with no token, no agent, no browser and no
// terminal, the device login's code or the browser login's URL could only
// go to stderr, which git keeps until gitsign exits; gitsign must fail at
// once and say why, not wait for a login nobody can see.
func TestNoTerminalFailsFast(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
	r.env = append(r.env, agent.SocketEnv+"="+filepath.Join(t.TempDir(), "no-agent.sock"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a measurement
	defer cancel()
	detached := func(name string, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir, cmd.Env = r.dir, r.env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
		return cmd
	}
	if err := os.WriteFile(filepath.Join(r.dir, "f"), []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("add", "f")
	if out, err := detached("git", "commit", "-S", "-m", "x").CombinedOutput(); err == nil || ctx.Err() != nil {
		t.Fatalf("git commit -S without any way to log in: err %v, ctx %v\n%s", err, ctx.Err(), out)
	}
	sign := func(want string) {
		t.Helper()
		cmd := detached(filepath.Join(binDir, "gitsign"), "--status-fd=2", "-bsau", "erin@example.com")
		cmd.Stdin = strings.NewReader("tree 0000000000000000000000000000000000000000\n")
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil || !strings.Contains(string(out), want) {
			t.Errorf("gitsign: err %v, ctx %v, output:\n%s", err, ctx.Err(), out)
		}
	}
	sign("no terminal")

	// The device login chosen by gitsign.tokenProvider: the same.
	r.git("config", "gitsign.tokenProvider", "device")
	sign("device login: no terminal")
	// The browser login chosen, and no browser to open: the sign-in URL
	// would reach no one either.
	r.git("config", "gitsign.tokenProvider", "browser")
	sign("could not open a browser")
	r.git("config", "--unset", "gitsign.tokenProvider")
	// A display, so the browser login is chosen, but a browser that does
	// not start (a desktop without xdg-open, say).
	r.env = append(r.env, "DISPLAY=:99", "BROWSER="+filepath.Join(t.TempDir(), "no-such-browser"))
	if out, err := detached("git", "commit", "-S", "-m", "x").CombinedOutput(); err == nil || ctx.Err() != nil {
		t.Fatalf("git commit -S with a browser that does not start: err %v, ctx %v\n%s", err, ctx.Err(), out)
	}
	sign("could not open a browser")
	// A browser command that starts but fails (BROWSER=false, or
	// sensible-browser finding none): the same, not a wait for a page
	// never shown.
	falseBin, err := exec.LookPath("false")
	if err != nil {
		t.Fatal(err)
	}
	r.env = append(r.env, "BROWSER="+falseBin)
	sign("could not open a browser")
}

// TestCIFailsFast: in a CI job no one is there to sign in, so a signature
// without a token fails at once, saying how a job gets one, even where a
// browser command would "open" (an image with a display and xdg-open). A
// CI token request that fails says what the job lacks.
func TestCIFailsFast(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
	trueBin, err := exec.LookPath("true")
	if err != nil {
		t.Fatal(err)
	}
	r.env = append(r.env, "CI=true", "DISPLAY=:99", "BROWSER="+trueBin)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a measurement
	defer cancel()
	sign := func() string {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "gitsign"), "--status-fd=2", "-bsau", "erin@example.com")
		cmd.Dir, cmd.Env = r.dir, r.env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
		cmd.Stdin = strings.NewReader("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter E <erin@example.com> 1 +0000\n\nm\n")
		out, err := cmd.CombinedOutput()
		if err == nil || ctx.Err() != nil {
			t.Fatalf("gitsign in CI without a token: err %v, ctx %v\n%s", err, ctx.Err(), out)
		}
		return string(out)
	}
	if out := sign(); !strings.Contains(out, "no identity token") || !strings.Contains(out, "permissions: id-token: write") || strings.Contains(out, "Sign in") {
		t.Errorf("gitsign in CI without a token:\n%s", out)
	}
	// GitHub Actions' token request failing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String() + "/token?x=1"
	l.Close()
	r.env = append(r.env, "GITHUB_ACTIONS=true", "ACTIONS_ID_TOKEN_REQUEST_URL="+down, "ACTIONS_ID_TOKEN_REQUEST_TOKEN=t")
	if out := sign(); !strings.Contains(out, "GitHub Actions did not give a token: does the job have 'permissions: id-token: write'?") || strings.Contains(out, "replace the token") {
		t.Errorf("gitsign with GitHub Actions' token request failing:\n%s", out)
	}
}

// TestExpiredAgentLoginIsSaid: when the agent's login for this instance
// has run out (one from a token, which it cannot renew) and nothing else
// can sign, the error says so, rather than only that no terminal was
// there for a login.
func TestExpiredAgentLoginIsSaid(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
	var ahead atomic.Int64 // the agent's clock runs this far ahead
	sock := filepath.Join(t.TempDir(), "agent", "agent.sock")
	ln, err := agent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard, not a measurement
	done := make(chan struct{})
	go func() {
		(&agent.Agent{Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }}).Serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	r.env = append(r.env, agent.SocketEnv+"="+sock)
	c, err := agent.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := c.Login(ctx, agent.LoginRequest{Token: stack.Token(t, "erin@example.com"), CAURL: stack.SigningConfig(t).CAURL})
	if err != nil {
		t.Fatal(err)
	}

	sign := func() (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "gitsign"), "--status-fd=2", "-bsau", "erin@example.com")
		cmd.Dir, cmd.Env = r.dir, r.env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
		cmd.Stdin = strings.NewReader("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor E <erin@example.com> 1 +0000\ncommitter E <erin@example.com> 1 +0000\n\nm\n")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := sign(); err != nil {
		t.Fatalf("the control, the agent's credential valid: %v\n%s", err, out)
	}
	ahead.Store(int64(time.Until(st.NotAfter) + time.Second))
	out, err := sign()
	if err == nil || ctx.Err() != nil || !strings.Contains(out, "agent: the agent's credential expired") || !strings.Contains(out, "waxseal login") {
		t.Errorf("signing with the agent's credential expired: err %v\n%s", err, out)
	}
}

// TestStuckAgentIsGivenUp: an agent that is stopped (SIGSTOP) or stuck
// accepts connections through the kernel and answers nothing; gitsign,
// holding git's index lock meanwhile, gives up on it after the agent
// client's quick timeout and says why, rather than waiting minutes.
func TestStuckAgentIsGivenUp(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY")
	sock := stuckAgent(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a measurement
	defer cancel()
	cmd := signWithoutTerminal(ctx, r)
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "did not answer within") || !strings.Contains(string(out), sock) {
		t.Errorf("signing with a stuck agent: err %v (hang guard: %v)\n%s", err, ctx.Err(), out)
	}
	// The hint is to restart it: a login handed to it would wait again.
	if !strings.Contains(string(out), "hint: the agent did not answer (above): end it and start it again") || strings.Contains(string(out), "log the running agent in") {
		t.Errorf("signing with a stuck agent, the hint:\n%s", out)
	}
}

// TestStuckAgentSignsInHere: where a login can be shown (a browser here), a
// stuck agent is given up on, said so, and the login signs instead of it,
// without handing its token to the agent that did not answer.
func TestStuckAgentSignsInHere(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "erin@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN")
	stuckAgent(t, r)
	_, opened := useBrowser(t, r, "erin@example.com")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard, not a measurement
	defer cancel()
	cmd := signWithoutTerminal(ctx, r) // what it says goes to stderr
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || ctx.Err() != nil || !strings.Contains(stdout.String(), "-----BEGIN SIGNED MESSAGE-----") || opened() != 1 {
		t.Fatalf("signing past a stuck agent: %v (hang guard: %v), browser opened %d times\n%s", err, ctx.Err(), opened(), stderr.String())
	}
	if !strings.Contains(stderr.String(), "did not answer within") || !strings.Contains(stderr.String(), "gitsign: signing in here instead\n") ||
		strings.Contains(stderr.String(), "with 'waxseal agent' running") ||
		strings.Index(stderr.String(), "signing in here instead") > strings.Index(stderr.String(), "signed in as erin@example.com") {
		t.Errorf("signing past a stuck agent does not say why it logs in:\n%s", stderr.String())
	}
}

// stuckAgent makes r's agent socket one that is listened on and never
// accepted from, as a stopped or stuck agent's is, and returns its path.
func stuckAgent(t *testing.T, r *repo) string {
	sock := filepath.Join(t.TempDir(), "agent", "agent.sock")
	ln, err := agent.Listen(sock) // listening, never accepting
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r.env = append(r.env, agent.SocketEnv+"="+sock)
	return sock
}

// signWithoutTerminal is gitsign signing a commit for erin in r as git
// runs it, without a controlling terminal.
func signWithoutTerminal(ctx context.Context, r *repo) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "gitsign"), "--status-fd=2", "-bsau", "erin@example.com")
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Stdin = strings.NewReader("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor E <erin@example.com> 1 +0000\ncommitter E <erin@example.com> 1 +0000\n\nm\n")
	return cmd
}
