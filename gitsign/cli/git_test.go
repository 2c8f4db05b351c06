package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/cms"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/server/servertest"
)

// binDir holds this test binary under three names, so that git runs the
// code under test (with -race when the tests have it) as a user's would:
// "gitsign", which verifies for git and hands the rest to "gitsign-core"
// next to it, as cmd/gitsign and cmd/gitsign-core do; and "browser", the
// user's $BROWSER (see browse).
var binDir string

func TestMain(m *testing.M) {
	switch filepath.Base(os.Args[0]) {
	case "gitsign":
		os.Exit(front.Main(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
	case front.CoreName:
		os.Unsetenv(front.DelegatedEnv)
		os.Exit(run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
	case "browser":
		os.Exit(browse(os.Args[1:]))
	case "verify-client":
		os.Exit(verifyClient(os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "gitsign-bin")
	if err != nil {
		panic(err)
	}
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	for _, name := range []string{"gitsign", front.CoreName, "browser", "verify-client"} {
		if err := os.Symlink(self, filepath.Join(dir, name)); err != nil {
			panic(err)
		}
	}
	binDir = dir
	// The verify servers the tests' gitsign starts listen in a directory of
	// the tests' own: removed at the end, which ends them.
	run, err := os.MkdirTemp("", "gitsign-run")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_RUNTIME_DIR", run)
	code := m.Run()
	os.RemoveAll(dir)
	os.RemoveAll(run)
	os.Exit(code)
}

// repo is a scratch repository with an isolated git configuration, signing
// through the test stack as one identity.
type repo struct {
	t     testing.TB
	dir   string
	env   []string
	stack *servertest.Stack
}

const issuerPlaceholder = "ISSUER"

func newRepo(t testing.TB, stack *servertest.Stack, email string, initArgs ...string) *repo {
	t.Helper()
	home := t.TempDir()
	dir := filepath.Join(home, "repo")
	r := &repo{t: t, dir: dir, stack: stack}
	r.env = append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"WAXSEAL_CONFIG_DIR="+filepath.Join(home, "waxseal"),
		"GIT_CONFIG_GLOBAL="+filepath.Join(home, ".gitconfig"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		agent.SocketEnv+"="+filepath.Join(home, "no-agent", "agent.sock"), // never the machine's own agent
		"PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"SIGSTORE_ID_TOKEN="+stack.Token(t, email),
		// A developer's machine, also when the tests run in CI: a CI job
		// gets no interactive login (TestCIFailsFast sets these).
		"CI=", "GITHUB_ACTIONS=", "GITLAB_CI=", "BUILDKITE=",
	)
	r.git(append([]string{"init", "-q", "-b", "main"}, append(initArgs, dir)...)...)
	for _, kv := range [][2]string{
		{"user.name", "Test User"},
		{"user.email", email},
		{"gpg.format", "x509"},
		{"gpg.x509.program", filepath.Join(binDir, "gitsign")},
		{"gitsign.server", stack.URL},
		{"gitsign.trustedRoot", stack.TrustedRootPath},
	} {
		r.git("config", "--global", kv[0], kv[1])
	}
	return r
}

// as switches the signing identity.
func (r *repo) as(email string) {
	for i, kv := range r.env {
		if strings.HasPrefix(kv, "SIGSTORE_ID_TOKEN=") {
			r.env[i] = "SIGSTORE_ID_TOKEN=" + r.stack.Token(r.t, email)
		}
	}
	r.git("config", "user.email", email)
}

// unsetenv removes the named variables from the repository's environment.
func (r *repo) unsetenv(names ...string) {
	r.env = slices.DeleteFunc(r.env, func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, k)
	})
}

// allow writes an allowed-signers file naming the stack's issuer.
func (r *repo) allow(lines ...string) {
	body := strings.ReplaceAll(strings.Join(lines, "\n")+"\n", issuerPlaceholder, r.stack.Issuer())
	if err := os.WriteFile(filepath.Join(r.dir, ".gitsigners"), []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("config", "gitsign.allowedSigners", ".gitsigners")
}

func (r *repo) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	if _, err := os.Stat(r.dir); err != nil {
		cmd.Dir = ""
	}
	cmd.Env = r.env
	return cmd
}

// git runs git and fails the test on error.
func (r *repo) git(args ...string) string {
	r.t.Helper()
	out, errOut, err := r.try(args...)
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// try runs git and returns its outputs.
func (r *repo) try(args ...string) (stdout, stderr string, err error) {
	cmd := r.cmd(args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

func (r *repo) commit(msg string, extra ...string) string {
	r.t.Helper()
	f := filepath.Join(r.dir, "file.txt")
	old, _ := os.ReadFile(f)
	if err := os.WriteFile(f, append(old, msg+"\n"...), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", "file.txt")
	r.git(append([]string{"commit", "-q", "-m", msg}, extra...)...)
	return strings.TrimSpace(r.git("rev-parse", "HEAD"))
}

// gitsign runs `gitsign ARGS` in the repository.
func (r *repo) gitsign(args ...string) (code int, stdout, stderr string) {
	return r.gitsignIn(nil, args...)
}

// gitsignIn runs `gitsign ARGS` in the repository with stdin.
func (r *repo) gitsignIn(stdin io.Reader, args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	// As a process, so that it sees the repository's isolated environment.
	cmd := exec.Command(filepath.Join(binDir, "gitsign"), args...)
	cmd.Dir, cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = r.dir, r.env, stdin, &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return code, o.String(), e.String()
}

func (r *repo) format(rev, f string) string {
	return strings.TrimSpace(r.git("log", "-1", "--format="+f, rev))
}

func TestCommitSignVerify(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	head := r.commit("first", "-S")

	raw := r.git("cat-file", "commit", head)
	if !strings.Contains(raw, "gpgsig -----BEGIN SIGNED MESSAGE-----") {
		t.Fatalf("commit not signed:\n%s", raw)
	}
	// No allowed signers yet: good signature, undefined trust.
	if got := r.format("HEAD", "%G? %GS"); got != "U alice@example.com" {
		t.Errorf("%%G? %%GS = %q, want U alice@example.com", got)
	}
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	if got := r.format("HEAD", "%G? %GS %GT"); got != "G alice@example.com fully" {
		t.Errorf("%%G? %%GS %%GT = %q", got)
	}
	_, stderr, err := r.try("verify-commit", "HEAD")
	if err != nil || !strings.Contains(stderr, "Good signature from alice@example.com") {
		t.Errorf("verify-commit: %v\n%s", err, stderr)
	}
	out := r.git("log", "--show-signature", "-1")
	if !strings.Contains(out, "gitsign: Good signature from alice@example.com") {
		t.Errorf("log --show-signature:\n%s", out)
	}
	if got := r.format("HEAD", "%GF"); len(got) != 40 {
		t.Errorf("%%GF = %q", got)
	}

	// Amend keeps signing.
	amended := r.commit("second", "-S", "--amend")
	if amended == head || r.format("HEAD", "%G?") != "G" {
		t.Errorf("amend: %s %s", amended, r.format("HEAD", "%G?"))
	}

	// Annotated signed tag.
	r.git("tag", "-s", "-m", "release one", "v1")
	if _, stderr, err := r.try("verify-tag", "v1"); err != nil || !strings.Contains(stderr, "Good signature") {
		t.Errorf("verify-tag: %v\n%s", err, stderr)
	}

	code, stdout, stderr := r.gitsign("verify", "HEAD", "v1")
	if code != 0 || strings.Count(stdout, " good ") != 2 || !strings.Contains(stdout, "release one") {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = r.gitsign("verify", "--json", "HEAD", "v1")
	var rep verifyReport
	err = json.Unmarshal([]byte(stdout), &rep)
	if lines := rep.Objects; err != nil || code != 0 || !rep.OK || rep.Error != "" || len(lines) != 2 ||
		lines[0].Signer != "alice@example.com" || lines[0].Issuer != stack.Issuer() || lines[0].LogIndex == nil ||
		len(lines[0].CertificateSHA256) != 64 || lines[0].CertificateFingerprint != r.format("HEAD", "%GK") || lines[1].Type != "tag" || lines[1].Tag != "v1" || lines[1].Target != strings.TrimSpace(r.git("rev-parse", "v1^{commit}")) ||
		!strings.HasSuffix(rep.AllowedSigners, ".gitsigners") || rep.TrustedRoot != stack.TrustedRootPath {
		t.Errorf("gitsign verify --json = %d %v\n%s", code, err, stdout)
	}
	// Explicit identity flags instead of the file.
	code, stdout, stderr = r.gitsign("verify", "--allowed-signers", os.DevNull, "HEAD")
	if code != 1 || !strings.Contains(stdout, "untrusted") {
		t.Errorf("empty allowed signers = %d\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = r.gitsign("verify", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 0 {
		t.Errorf("identity flags = %d\n%s", code, stderr)
	}
	code, _, stderr = r.gitsign("verify", "--certificate-identity-regexp", `.*@example\.com`, "--certificate-oidc-issuer-regexp", "http://127\\.0\\.0\\.1:.*", "HEAD")
	if code != 0 {
		t.Errorf("identity regexp flags = %d\n%s", code, stderr)
	}
	code, stdout, _ = r.gitsign("verify", "--certificate-identity-regexp", `alice@example`, "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 1 || !strings.Contains(stdout, " untrusted ") || !strings.Contains(stdout, "does not match") {
		t.Errorf("identity regexps match the whole identity: = %d\n%s", code, stdout)
	}
	code, _, stderr = r.gitsign("verify", "--certificate-identity-regexp", "(", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 2 || !strings.Contains(stderr, "identity regexp") {
		t.Errorf("bad identity regexp = %d\n%s", code, stderr)
	}
	code, _, stderr = r.gitsign("verify", "--certificate-identity", "alice@example.com", "HEAD")
	if code != 2 || !strings.Contains(stderr, "exactly one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp") || !strings.Contains(stderr, "hint: run 'gitsign verify --help'") {
		t.Errorf("no issuer flag = %d\n%s", code, stderr)
	}
	// Alice signs a commit whose committer claims to be carol: flagged.
	r.git("config", "user.email", "carol@example.com")
	r.commit("carol's?", "-S")
	code, stdout, _ = r.gitsign("verify", "--no-allowed-signers", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 0 || !strings.Contains(stdout, "    warning: committer email carol@example.com is not the signer's identity alice@example.com") {
		t.Errorf("committer mismatch not flagged: %d\n%s", code, stdout)
	}
	// In JSON, a warning beside a good verdict, not a reason for one.
	code, lines, _ := r.verifyJSON("--no-allowed-signers", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 0 || len(lines) != 1 || lines[0].Verdict != verdictGood || lines[0].Reason != "" || !strings.Contains(lines[0].Warning, "committer email carol@example.com") {
		t.Errorf("committer mismatch in JSON: %d %+v", code, lines)
	}
	// With the allowed-signers file configured, the identity flags narrow
	// it and do not replace it: the file binds the committer, so even a
	// regexp allowing everyone leaves carol's commit untrusted.
	code, stdout, _ = r.gitsign("verify", "--certificate-identity-regexp", ".*", "--certificate-oidc-issuer-regexp", ".*", "HEAD")
	if code != 1 || !strings.Contains(stdout, " untrusted alice@example.com ") {
		t.Errorf("identity flags with gitsign.allowedSigners: the committer mismatch is not untrusted: %d\n%s", code, stdout)
	}
	code, stdout, stderr = r.gitsign("verify", "--json", "--certificate-identity-regexp", ".*", "--certificate-oidc-issuer-regexp", ".*", "HEAD~1")
	if code != 0 || !strings.Contains(stdout, `"allowedSigners"`) {
		t.Errorf("identity flags with gitsign.allowedSigners, --json: the file is not reported: %d\n%s%s", code, stdout, stderr)
	}
	// --allowed-signers=~/FILE, which no shell expands, is the home
	// directory's, as gitsign.allowedSigners and --trusted-root are.
	signers, err := os.ReadFile(filepath.Join(r.dir, ".gitsigners"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(r.dir), "home-signers"), signers, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := r.gitsign("verify", "--allowed-signers=~/home-signers", "HEAD~1"); code != 0 || !strings.Contains(stdout, " good ") {
		t.Errorf("verify --allowed-signers=~/home-signers = %d\n%s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{{"--no-allowed-signers", "HEAD"}, {"--no-allowed-signers", "--allowed-signers", "f", "--certificate-identity", "a", "--certificate-oidc-issuer", "b", "HEAD"}} {
		if code, _, stderr := r.gitsign(append([]string{"verify"}, args...)...); code != 2 {
			t.Errorf("verify %q = %d, want a usage error\n%s", args, code, stderr)
		}
	}
	r.git("config", "user.email", "alice@example.com")
	// A valid signature from another identity is untrusted, as with the
	// allowed-signers file, with its signer shown.
	code, stdout, _ = r.gitsign("verify", "--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 1 || !strings.Contains(stdout, " untrusted alice@example.com "+stack.Issuer()) || !strings.Contains(stdout, "bob@example.com") {
		t.Errorf("wrong identity flag = %d\n%s", code, stdout)
	}
	// Flags and a file together: both must allow the signer, either way round.
	code, stdout, _ = r.gitsign("verify", "--allowed-signers", os.DevNull, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 1 || !strings.Contains(stdout, " untrusted ") {
		t.Errorf("identity flag allows, allowed-signers file does not = %d\n%s", code, stdout)
	}
	anyCommitter := filepath.Join(t.TempDir(), "signers")
	if err := os.WriteFile(anyCommitter, []byte("* alice@example.com "+stack.Issuer()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ = r.gitsign("verify", "--allowed-signers", anyCommitter, "HEAD"); code != 0 {
		t.Errorf("the file alone = %d, want it to allow alice\n%s", code, stdout)
	}
	code, stdout, _ = r.gitsign("verify", "--allowed-signers", anyCommitter, "--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD")
	if code != 1 || !strings.Contains(stdout, " untrusted ") {
		t.Errorf("allowed-signers file allows, identity flag does not = %d\n%s", code, stdout)
	}
}

// TestWithoutCore: gitsign-core verifies, signs and runs the commands;
// without it, git shows a signature as one that could not be checked (E,
// not N), and everything says how to install it.
func TestWithoutCore(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	head := r.commit("signed with gitsign-core at hand", "-S")

	lone := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(lone, "gitsign")); err != nil {
		t.Fatal(err)
	}
	for i, kv := range r.env {
		if strings.HasPrefix(kv, "PATH=") {
			r.env[i] = "PATH=" + strings.ReplaceAll(strings.TrimPrefix(kv, "PATH="), binDir+string(os.PathListSeparator), "")
		}
	}
	r.git("config", "--global", "gpg.x509.program", filepath.Join(lone, "gitsign"))

	if runtime.GOOS != "linux" {
		// No verify server: gitsign verifies by itself (front.VerifyHere).
		if got := r.format(head, "%G? %GS"); got != "G alice@example.com" {
			t.Errorf("%%G? %%GS without gitsign-core = %q", got)
		}
	} else {
		if got := r.format(head, "%G?"); got != "E" {
			t.Errorf("%%G? without gitsign-core = %q", got)
		}
		if _, stderr, err := r.try("verify-commit", head); err == nil || !strings.Contains(stderr, "is neither next to gitsign") ||
			!strings.Contains(stderr, "install gitsign-core") {
			t.Errorf("verify-commit without gitsign-core: %v\n%s", err, stderr)
		}
	}
	logPath := filepath.Join(t.TempDir(), "gitsign.log")
	if _, _, err := r.try("-c", "gitsign.logPath="+logPath, "commit", "-q", "-S", "--allow-empty", "-m", "no core"); err == nil {
		t.Error("signed without gitsign-core")
	}
	// git 2.39 drops what gitsign says while signing: the log keeps it.
	if b, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(b), "is neither next to gitsign") {
		t.Errorf("gitsign.logPath without gitsign-core: %v\n%s", err, b)
	}
	// The version is the verifier's own to tell, with a warning.
	cmd := exec.Command(filepath.Join(lone, "gitsign"), "--version")
	var stdout, stderr bytes.Buffer
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = r.dir, r.env, &stdout, &stderr
	if err := cmd.Run(); err != nil || !strings.HasPrefix(stdout.String(), "gitsign (waxseal) ") ||
		!strings.Contains(stderr.String(), "is neither next to gitsign") {
		t.Errorf("gitsign --version without gitsign-core: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	cmd = exec.Command(filepath.Join(lone, "gitsign"), "verify", "HEAD")
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!strings.Contains(string(out), "gitsign-core, which verifies, signs and runs gitsign's commands, is neither next to gitsign") ||
		!strings.Contains(string(out), "install gitsign-core") {
		t.Errorf("gitsign verify without gitsign-core: %v\n%s", err, out)
	}
	// --json's document, which a CI job reads, says so too.
	cmd = exec.Command(filepath.Join(lone, "gitsign"), "verify", "HEAD", "--json")
	stdout.Reset()
	cmd.Dir, cmd.Env, cmd.Stdout = r.dir, r.env, &stdout
	err = cmd.Run()
	var rep verifyReport
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); jerr != nil || rep.OK || rep.Objects == nil || len(rep.Objects) != 0 ||
		!strings.Contains(rep.Error, "is neither next to gitsign") {
		t.Errorf("gitsign verify --json without gitsign-core: %v, %v\n%s", err, jerr, stdout.String())
	}
}

// trustDocs returns the trusted root and signing config a stack serves.
func trustDocs(t testing.TB, stack *servertest.Stack) (root, signingConfig []byte) {
	t.Helper()
	root, err := os.ReadFile(stack.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	signingConfig, err = os.ReadFile(stack.SigningConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	return root, signingConfig
}

// TestPinnedTrust signs and verifies with the trust 'waxseal trust init'
// pins, and neither gitsign.trustedRoot nor gitsign.server.
func TestPinnedTrust(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.git("config", "--global", "--unset", "gitsign.trustedRoot")
	r.git("config", "--global", "--unset", "gitsign.server")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	if _, _, err := r.try("commit", "-q", "-S", "--allow-empty", "-m", "nothing pinned"); err == nil {
		t.Fatal("signed with no trust pinned and no server")
	}

	var dir string
	for _, kv := range r.env {
		if v, ok := strings.CutPrefix(kv, "WAXSEAL_CONFIG_DIR="); ok {
			dir = v
		}
	}
	root, sc := trustDocs(t, stack)
	if err := trust.Pin(dir, root, sc); err != nil {
		t.Fatal(err)
	}
	head := r.commit("pinned", "-S")
	if got := r.format(head, "%G? %GS"); got != "G alice@example.com" {
		t.Errorf("%%G? %%GS with pinned trust = %q", got)
	}

	// The pinned root is what verification trusts: another instance's
	// root pinned in its place makes the same signature unverifiable.
	otherRoot, _ := trustDocs(t, servertest.Start(t))
	if err := trust.Pin(dir, otherRoot, sc); err != nil {
		t.Fatal(err)
	}
	if got := r.format(head, "%G?"); got != "E" {
		t.Errorf("%%G? against another instance's pinned root = %q, want E", got)
	}
	keyID := r.format(head, "%GK")
	if err := os.Remove(filepath.Join(dir, "trusted_root.json")); err != nil {
		t.Fatal(err)
	}
	_, stderr, err := r.try("verify-commit", head)
	if err == nil || !strings.Contains(stderr, "no trusted root pinned") || !strings.Contains(stderr, "waxseal trust init") {
		t.Errorf("verify-commit with nothing pinned: %v\n%s", err, stderr)
	}
	// gitsign verify, as a CI job runs it, says how to name the root.
	code, _, stderr := r.gitsign("verify", head)
	if code != 1 || !strings.Contains(stderr, "no trusted root pinned") || !strings.Contains(stderr, "hint: pass --trusted-root FILE") {
		t.Errorf("gitsign verify with nothing pinned = %d\n%s", code, stderr)
	}
	// E still names the certificate (%GK), as it does when the root is
	// there but does not trust it.
	if got := r.format(head, "%G? %GK"); got != "E "+keyID || strings.Contains(keyID, "0000000000") {
		t.Errorf("%%G? %%GK with nothing pinned = %q, want E %s, the certificate's fingerprint", got, keyID)
	}
}

func TestUntrustedAndMerge(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("base", "-S")

	r.git("checkout", "-q", "-b", "alice-topic")
	r.commit("alice's change", "-S")
	r.git("checkout", "-q", "-b", "bob-topic", "main")
	r.as("bob@example.com")
	r.commit("bob's change", "-S")
	if got := r.format("HEAD", "%G? %GS"); got != "U bob@example.com" {
		t.Errorf("bob: %q, want U", got)
	}
	// git's default trust floor accepts U; gpg.minTrustLevel=fully does not.
	if _, stderr, err := r.try("verify-commit", "HEAD"); err != nil {
		t.Errorf("verify-commit of U with the default floor: %v\n%s", err, stderr)
	}
	if _, _, err := r.try("-c", "gpg.minTrustLevel=fully", "verify-commit", "HEAD"); err == nil {
		t.Error("verify-commit of U accepted with gpg.minTrustLevel=fully")
	}
	// Bob's certificate, Alice's committer email: flagged as not bound.
	r.git("config", "user.email", "alice@example.com")
	r.commit("bob posing as alice", "-S")
	if got := r.format("HEAD", "%G?"); got != "U" {
		t.Errorf("bob as alice: %q, want U", got)
	}
	_, stderr, _ := r.try("verify-commit", "HEAD")
	if !strings.Contains(stderr, "not in") && !strings.Contains(stderr, "not bound") {
		t.Errorf("verify-commit explanation:\n%s", stderr)
	}
	r.as("alice@example.com")

	r.git("checkout", "-q", "main")
	if _, stderr, err := r.try("merge", "--verify-signatures", "-q", "--no-edit", "bob-topic"); err == nil {
		t.Errorf("merge of bob's branch accepted:\n%s", stderr)
	}
	if out, stderr, err := r.try("merge", "--verify-signatures", "--no-edit", "alice-topic"); err != nil {
		t.Errorf("merge of alice's branch refused: %v\n%s%s", err, out, stderr)
	}
	code, stdout, _ := r.gitsign("verify", "main..bob-topic")
	if code != 1 || strings.Count(stdout, "untrusted") != 2 {
		t.Errorf("gitsign verify main..bob-topic = %d\n%s", code, stdout)
	}
}

func TestRebaseSignsEveryCommit(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("base")
	const n = 20
	for i := range n {
		r.commit(fmt.Sprintf("change %d", i))
	}
	before := stack.Requests("POST", "/api/v2/signingCert")
	r.git("rebase", "-q", "-S", "--force-rebase", "--root")
	after := stack.Requests("POST", "/api/v2/signingCert")
	out := r.git("log", "--format=%G?")
	if strings.Count(out, "G") != n+1 {
		t.Errorf("after rebase -S:\n%s", out)
	}
	code, stdout, stderr := r.gitsign("verify", "HEAD~"+fmt.Sprint(n)+"..HEAD")
	if code != 0 || strings.Count(stdout, " good ") != n {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
	// One identity token served the whole rebase; without the agent, each
	// signature is its own certificate.
	t.Logf("rebase of %d commits: %d certificate requests", n+1, after-before)
}

// TestRebaseWithAgent: with `waxseal agent` holding a credential, a
// 20-commit `git rebase -S` needs no token and no new certificate.
func TestRebaseWithAgent(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)

	// No token in the environment: only the agent can sign.
	useAgent(t, r, stack, "alice@example.com")

	r.commit("base")
	const n = 20
	for i := range n {
		r.commit(fmt.Sprintf("change %d", i))
	}
	before := stack.Requests("POST", "/api/v2/signingCert")
	r.git("rebase", "-q", "-S", "--force-rebase", "--root")
	if got := stack.Requests("POST", "/api/v2/signingCert") - before; got != 0 {
		t.Errorf("rebase through the agent made %d certificate requests, want 0", got)
	}
	if out := r.git("log", "--format=%G?"); strings.Count(out, "G") != n+1 {
		t.Errorf("after rebase -S:\n%s", out)
	}
	code, stdout, stderr := r.gitsign("verify", "HEAD~"+fmt.Sprint(n)+"..HEAD")
	if code != 0 || strings.Count(stdout, " good ") != n {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
}

// useAgent starts a `waxseal agent` logged in as email to loginStack's CA,
// and has r's git and gitsign use it instead of SIGSTORE_ID_TOKEN. The
// returned client stays open for the test.
func useAgent(t *testing.T, r *repo, loginStack *servertest.Stack, email string) *agent.Client {
	t.Helper()
	sock := startAgent(t)
	ctx := context.Background()
	c, err := agent.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Login(ctx, agent.LoginRequest{Token: loginStack.Token(t, email), CAURL: loginStack.SigningConfig(t).CAURL}); err != nil {
		t.Fatal(err)
	}
	r.unsetenv("SIGSTORE_ID_TOKEN")
	r.env = append(r.env, agent.SocketEnv+"="+sock)
	return c
}

// startAgent runs an empty `waxseal agent` for the test and returns its
// socket.
func startAgent(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent", "agent.sock")
	ln, err := agent.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { (&agent.Agent{}).Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

func TestSHA256Repository(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com", "--object-format=sha256")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	head := r.commit("sha256 commit", "-S")
	if len(head) != 64 {
		t.Fatalf("not a SHA-256 repository: %s", head)
	}
	if !strings.Contains(r.git("cat-file", "commit", head), "gpgsig-sha256 ") {
		t.Error("no gpgsig-sha256 header")
	}
	if got := r.format("HEAD", "%G? %GS"); got != "G alice@example.com" {
		t.Errorf("%%G? %%GS = %q", got)
	}
	r.git("tag", "-s", "-m", "sha256 tag", "v1")
	r.git("verify-tag", "v1")
	code, stdout, stderr := r.gitsign("verify", "HEAD", "v1")
	if code != 0 || strings.Count(stdout, " good ") != 2 {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
}

func TestTampering(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("base", "-S")
	signed := r.commit("signed change", "-S")
	other := r.commit("another change", "-S")
	raw := r.git("cat-file", "commit", signed)

	write := func(obj string) string {
		cmd := r.cmd("hash-object", "-t", "commit", "-w", "--stdin", "--literally")
		cmd.Stdin = strings.NewReader(obj)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	sigOf := func(obj string) string {
		i := strings.Index(obj, "gpgsig ")
		j := strings.Index(obj, "-----END SIGNED MESSAGE-----\n")
		return obj[i : j+len("-----END SIGNED MESSAGE-----\n")]
	}
	otherRaw := r.git("cat-file", "commit", other)
	tree := strings.Fields(otherRaw)[1]
	cases := []struct {
		name, obj, want string
	}{
		{"message", strings.Replace(raw, "signed change", "signed chance", 1), "B"},
		{"tree", strings.Replace(raw, strings.Fields(raw)[1], tree, 1), "B"},
		{"author", strings.Replace(raw, "author Test User", "author Evil User", 1), "B"},
		{"signature", strings.Replace(raw, sigOf(raw)[400:460], strings.Repeat("A", 60), 1), "E"},
		{"lifted", strings.Replace(otherRaw, sigOf(otherRaw), sigOf(raw), 1), "B"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.obj == raw {
				t.Fatal("tampering did not change the object")
			}
			id := write(tc.obj)
			// %GT too: git before 2.40 aborts on it when no trust line
			// follows BADSIG or ERRSIG.
			got := r.format(id, "%G? %GT")
			if want := tc.want + " undefined"; got != want {
				t.Errorf("%%G? %%GT = %q, want %q", got, want)
			}
			if _, _, err := r.try("verify-commit", id); err == nil {
				t.Error("verify-commit accepted it")
			}
			code, stdout, _ := r.gitsign("verify", id)
			if code != 1 || strings.Contains(stdout, " good ") {
				t.Errorf("gitsign verify = %d\n%s", code, stdout)
			}
			// Nothing vouched for the certificate: it names no signer.
			if f := strings.Fields(stdout); len(f) < 3 || f[2] != "-" {
				t.Errorf("gitsign verify shows a signer:\n%s", stdout)
			}
			if tc.want == "B" && !strings.Contains(stdout, "(the certificate names alice@example.com, unverified)") {
				t.Errorf("gitsign verify does not say whom the certificate names:\n%s", stdout)
			}
		})
	}

	// The signature value alone altered, the CMS still well formed: git
	// must hear BADSIG (B), not ERRSIG.
	t.Run("signature value", func(t *testing.T) {
		armored := unfoldSig(sigOf(raw))
		block, _ := pem.Decode([]byte(armored))
		s, err := cms.ParsePEM([]byte(armored))
		if block == nil || err != nil {
			t.Fatal(block, err)
		}
		der := bytes.Clone(block.Bytes)
		i := bytes.Index(der, s.Signature)
		der[i+len(s.Signature)-3] ^= 0x01 // inside the ECDSA s value
		if _, err := cms.Parse(der); err != nil {
			t.Fatalf("altered signature no longer parses: %v", err)
		}
		id := write(strings.Replace(raw, sigOf(raw), foldSig(string(cms.EncodePEM(der))), 1))
		if got := r.format(id, "%G?"); got != "B" {
			t.Errorf("%%G? = %q, want B", got)
		}
		code, stdout, _ := r.gitsign("verify", id)
		if code != 1 || !strings.Contains(stdout, " bad ") {
			t.Errorf("gitsign verify = %d\n%s", code, stdout)
		}
	})

	// An unsigned commit fails gitsign verify.
	unsigned := r.commit("unsigned")
	code, stdout, _ := r.gitsign("verify", unsigned)
	if code != 1 || !strings.Contains(stdout, "unsigned") || !strings.Contains(stdout, "the commit carries no signature") {
		t.Errorf("unsigned: %d\n%s", code, stdout)
	}
}

// foldSig makes an armored signature a gpgsig header; unfoldSig undoes it.
func foldSig(armored string) string {
	return "gpgsig " + strings.ReplaceAll(strings.TrimSuffix(armored, "\n"), "\n", "\n ") + "\n"
}

func unfoldSig(header string) string {
	return strings.ReplaceAll(strings.TrimPrefix(header, "gpgsig "), "\n ", "\n")
}

// signedCommit signs a commit object written by hand, as the current
// identity, and stores it.
func (r *repo) signedCommit(obj string) string {
	r.t.Helper()
	code, sig, stderr := r.gitsignIn(strings.NewReader(obj), "--status-fd=2", "-bsau", "key")
	if code != 0 {
		r.t.Fatalf("signing: %d\n%s", code, stderr)
	}
	head, body, _ := strings.Cut(obj, "\n\n")
	cmd := r.cmd("hash-object", "-t", "commit", "-w", "--stdin", "--literally")
	cmd.Stdin = strings.NewReader(head + "\n" + foldSig(sig) + "\n" + body)
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// A committer line with a second address cannot show one email in git and
// be checked as another: the allowed signers see what git shows.
func TestCommitterEmailAsGitReadsIt(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com "+issuerPlaceholder, "mallory@example.com mallory@example.com "+issuerPlaceholder)
	r.commit("base", "-S")
	tree := strings.TrimSpace(r.git("rev-parse", "HEAD^{tree}"))
	parent := strings.TrimSpace(r.git("rev-parse", "HEAD"))
	obj := func(ident string) string {
		return "tree " + tree + "\nparent " + parent + "\nauthor " + ident + "\ncommitter " + ident + "\n\nchange\n"
	}
	r.as("mallory@example.com")
	// The control: mallory as herself is allowed.
	own := r.signedCommit(obj("Mallory <mallory@example.com> 1700000000 +0000"))
	if got := r.format(own, "%G? %ce"); got != "G mallory@example.com" {
		t.Fatalf("mallory's own commit: %q, want G", got)
	}
	forged := r.signedCommit(obj("Alice <alice@example.com> <mallory@example.com> 1700000000 +0000"))
	if got := r.format(forged, "%G? %ce"); got != "U alice@example.com" {
		t.Errorf("mallory's commit as alice: %q, want U alice@example.com", got)
	}
	if code, stdout, _ := r.gitsign("verify", forged); code != 1 || !strings.Contains(stdout, "untrusted") {
		t.Errorf("gitsign verify = %d\n%s", code, stdout)
	}
}

// git passes the whole object; gitsign verifies all of it or refuses,
// never a prefix.
func TestVerifyRefusesOversizedObject(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	// A commit of exactly 64 MiB: its message pads it.
	payload := []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\n")
	payload = append(payload, bytes.Repeat([]byte("x"), gitsign.MaxObjectSize-len(payload))...)
	code, sig, stderr := r.gitsignIn(bytes.NewReader(payload), "--status-fd=2", "-bsau", "key")
	if code != 0 {
		t.Fatalf("signing 64 MiB: %d\n%s", code, stderr)
	}
	sigFile := filepath.Join(t.TempDir(), "sig")
	if err := os.WriteFile(sigFile, []byte(sig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, status, _ := r.gitsignIn(bytes.NewReader(payload), "--status-fd=1", "--verify", sigFile, "-")
	if code != 0 || !strings.Contains(status, "GOODSIG") {
		t.Fatalf("the signed 64 MiB: %d\n%s", code, status)
	}
	// Stored with its signature, the commit is over 64 MiB, and gitsign
	// verify verifies it too: what signing allows, verifying does.
	head, body, _ := bytes.Cut(payload, []byte("\n\n"))
	cmd := r.cmd("hash-object", "-t", "commit", "-w", "--stdin", "--literally")
	cmd.Stdin = io.MultiReader(bytes.NewReader(head), strings.NewReader("\n"+foldSig(sig)+"\n"), bytes.NewReader(body))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := r.gitsign("verify", strings.TrimSpace(string(out))); code != 0 || !strings.Contains(stdout, " good ") {
		t.Errorf("gitsign verify of the stored 64 MiB commit = %d\n%s%s", code, stdout, stderr)
	}
	longer := io.MultiReader(bytes.NewReader(payload), strings.NewReader("\nappended\n"))
	code, status, stderr = r.gitsignIn(longer, "--status-fd=1", "--verify", sigFile, "-")
	if code != 1 || !strings.Contains(status, "ERRSIG") || strings.Contains(status, "GOODSIG") || !strings.Contains(stderr, "larger than 64 MiB") {
		t.Errorf("64 MiB and more: %d\n%s%s", code, status, stderr)
	}
}

// TestPublicGoodInterop verifies the commits and tag sigstore's gitsign
// signed against the public-good instance, loaded into a scratch
// repository, with `gitsign verify` and with git itself.
func TestPublicGoodInterop(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	fixtures, _ := filepath.Abs("../../testdata/gitsign-public-good")
	r.git("config", "gitsign.trustedRoot", filepath.Join(fixtures, "trusted_root.json"))
	r.allow("*@chainguard.dev billy@chainguard.dev https://accounts.google.com")
	var ids []string
	for _, f := range []string{"dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit", "a283a6f3a15bb0f4544c36f1a6329c78f1403d45.commit",
		"347014354ef1632fd0bcf69189a99ba6295f0f25.commit", "138f9d7cb3097a5f04192621a186e54f86390df0.tag"} {
		typ := strings.TrimPrefix(filepath.Ext(f), ".")
		id := strings.TrimSpace(r.git("hash-object", "-t", typ, "-w", "--literally", filepath.Join(fixtures, f)))
		if id != strings.TrimSuffix(f, filepath.Ext(f)) {
			t.Fatalf("%s stored as %s", f, id)
		}
		ids = append(ids, id)
	}
	code, stdout, stderr := r.gitsign(append([]string{"verify"}, ids...)...)
	if code != 0 || strings.Count(stdout, " good ") != 4 || !strings.Contains(stdout, "billy@chainguard.dev https://accounts.google.com") {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
	// git itself, through gpg.x509.program.
	for _, id := range ids[:3] {
		if out, stderr, err := r.try("verify-commit", "--raw", id); err != nil || !strings.Contains(stderr, "TRUST_FULLY") {
			t.Errorf("verify-commit %s: %v\n%s%s", id, err, out, stderr)
		}
	}
	if _, stderr, err := r.try("verify-tag", "--raw", ids[3]); err != nil || !strings.Contains(stderr, "GOODSIG") {
		t.Errorf("verify-tag: %v\n%s", err, stderr)
	}

	// Objects made from these that git refuses, or verifies over other
	// bytes than gitsign would, do not verify with gitsign verify either:
	// such an object has a new id that a review would see as signed.
	store := func(typ, obj string) string {
		cmd := r.cmd("hash-object", "-t", typ, "-w", "--stdin", "--literally")
		cmd.Stdin = strings.NewReader(obj)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	tag, _ := os.ReadFile(filepath.Join(fixtures, "138f9d7cb3097a5f04192621a186e54f86390df0.tag"))
	commit, _ := os.ReadFile(filepath.Join(fixtures, "dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit"))
	for _, tc := range []struct{ name, typ, obj, git string }{
		// git keeps the first of two adjacent signature headers in what
		// it verifies.
		{"adjacent signature headers", "tag", strings.Replace(string(tag), "\n\n", "\ngpgsig chosen by anyone\n more\ngpgsig-sha256 x\n\n", 1), "verify-tag"},
		// git takes a signature for x509 by its first bytes.
		{"newline before the armor", "commit", strings.Replace(string(commit), "gpgsig -----BEGIN", "gpgsig \n -----BEGIN", 1), "verify-commit"},
	} {
		id := store(tc.typ, tc.obj)
		if _, _, err := r.try(tc.git, id); err == nil {
			t.Errorf("%s: git %s accepts it", tc.name, tc.git)
		}
		if code, stdout, _ := r.gitsign("verify", id); code != 1 || strings.Contains(stdout, " good ") {
			t.Errorf("%s: gitsign verify = %d\n%s", tc.name, code, stdout)
		}
	}
}
