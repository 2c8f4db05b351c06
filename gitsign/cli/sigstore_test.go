package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/peer"
	"github.com/waxseal/waxseal/internal/tufrepo"
	"github.com/waxseal/waxseal/server"
	"github.com/waxseal/waxseal/server/servertest"
)

// These tests run sigstore's own gitsign (v0.14.0) against the embedded
// stack, beside ours: a commit or tag signed by either verifies with the
// other, given the same trusted root.

// sigstoreGitsign is sigstore's gitsign, which .ci/run builds as
// sigstore-gitsign.
func sigstoreGitsign(t *testing.T) string { return peer.Tool(t, "sigstore-gitsign") }

// sigstoreEnv is the environment in which sigstore's gitsign trusts the
// stack, set up as the README tells its users: the trusted root through
// the stack's TUF repository, and the CA chain, the log's key and the CT
// log's key as files. When verifying, the log's URL is a closed port:
// verification is offline.
func sigstoreEnv(t *testing.T, stack *servertest.Stack, signing bool) []string {
	t.Helper()
	dir := t.TempDir()
	pems, _, err := trust.ExportPEM(stack.Root, filepath.Join(dir, "pem"), time.Now()) // waxseal trust export
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(stack.URL + server.TUFPath + "/" + tufrepo.RootFile)
	if err != nil {
		t.Fatal(err)
	}
	tufRoot, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("TUF root: %s %v", resp.Status, err)
	}
	tufRootPath := filepath.Join(dir, "tuf-root.json")
	if err := os.WriteFile(tufRootPath, tufRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	rekor := "http://127.0.0.1:1"
	if signing {
		rekor = stack.URL
	}
	return []string{
		"TUF_MIRROR=" + stack.URL + server.TUFPath,
		"TUF_ROOT_JSON=" + tufRootPath,
		"TUF_ROOT=" + filepath.Join(dir, "tuf-cache"),
		trust.EnvRootFile + "=" + pems[trust.EnvRootFile],
		trust.EnvRekorKey + "=" + pems[trust.EnvRekorKey],
		trust.EnvCTLogKeys + "=" + pems[trust.EnvCTLogKeys],
		"GITSIGN_FULCIO_URL=" + stack.URL,
		"GITSIGN_REKOR_URL=" + rekor,
		"GITSIGN_REKOR_MODE=offline", // the log entry inside the signature, as ours writes it
	}
}

// with runs git in the repository with sigstore's gitsign as the x509
// program and env added.
func (r *repo) with(sg string, env []string, args ...string) (stdout, stderr string, err error) {
	cmd := r.cmd(append([]string{"-c", "gpg.x509.program=" + sg}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestSigstoreGitsignVerifiesOurs: a commit and a tag signed by our
// gitsign verify with sigstore's, through git and through its `gitsign
// verify` with identity flags, without reaching the log; a wrong identity
// and a tampered commit are refused.
func TestSigstoreGitsignVerifiesOurs(t *testing.T) {
	sg := sigstoreGitsign(t)
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	head := r.commit("signed by waxseal's gitsign", "-S")
	r.git("tag", "-s", "-m", "release", "v1")
	env := sigstoreEnv(t, stack, false)

	if out, stderr, err := r.with(sg, env, "verify-commit", head); err != nil || !strings.Contains(stderr, "Good signature from [alice@example.com]") {
		t.Errorf("sigstore's gitsign, git verify-commit: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := r.with(sg, env, "verify-tag", "v1"); err != nil || !strings.Contains(stderr, "Good signature from [alice@example.com]") {
		t.Errorf("sigstore's gitsign, git verify-tag: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := r.with(sg, env, "log", "-1", "--format=%G?", head); err != nil || strings.TrimSpace(out) != "G" {
		t.Errorf("sigstore's gitsign, %%G? = %q: %v\n%s", out, err, stderr)
	}

	verify := func(identity, rev string) (string, error) {
		cmd := exec.Command(sg, "verify", "--certificate-identity", identity, "--certificate-oidc-issuer", stack.Issuer(), rev)
		cmd.Dir, cmd.Env = r.dir, append(append([]string(nil), r.env...), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := verify("alice@example.com", head); err != nil || !strings.Contains(out, "Validated Certificate claims: true") {
		t.Errorf("sigstore's gitsign verify: %v\n%s", err, out)
	}
	if out, err := verify("bob@example.com", head); err == nil {
		t.Errorf("sigstore's gitsign verify accepted alice's commit as bob's:\n%s", out)
	}
	raw := r.git("cat-file", "commit", head)
	cmd := r.cmd("hash-object", "-t", "commit", "-w", "--stdin")
	cmd.Stdin = strings.NewReader(strings.Replace(raw, "signed by waxseal's", "signed by someone's", 1))
	tampered, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, stderr, err := r.with(sg, env, "verify-commit", strings.TrimSpace(string(tampered))); err == nil {
		t.Errorf("sigstore's gitsign accepted a commit whose message changed after signing:\n%s%s", out, stderr)
	}
}

// TestSigstoreGitsignSHA256: in a SHA-256 repository, where git hands the
// programs the gpgsig-sha256 payload, each verifies the other's commit
// through git.
func TestSigstoreGitsignSHA256(t *testing.T) {
	sg := sigstoreGitsign(t)
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com", "--object-format=sha256")
	head := r.commit("sha256, signed by waxseal's gitsign", "-S")
	if len(head) != 64 {
		t.Fatalf("not a SHA-256 repository: %s", head)
	}
	env := sigstoreEnv(t, stack, false)
	if out, stderr, err := r.with(sg, env, "verify-commit", head); err != nil || !strings.Contains(stderr, "Good signature from [alice@example.com]") {
		t.Errorf("sigstore's gitsign, git verify-commit: %v\n%s%s", err, out, stderr)
	}

	// Theirs, SIGSTORE_ID_TOKEN being alice's: G with ours.
	if err := os.WriteFile(filepath.Join(r.dir, "file.txt"), []byte("theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("add", "file.txt")
	if out, stderr, err := r.with(sg, sigstoreEnv(t, stack, true), "commit", "-q", "-S", "-m", "sha256, signed by sigstore's gitsign"); err != nil {
		t.Fatalf("sigstore's gitsign, git commit -S: %v\n%s%s", err, out, stderr)
	}
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	if got := r.format("HEAD", "%G? %GS %s"); got != "G alice@example.com sha256, signed by sigstore's gitsign" {
		t.Errorf("%%G? %%GS %%s = %q", got)
	}
}

// TestOursVerifiesSigstoreGitsign: sigstore's gitsign signs a commit and a
// tag against the stack (its Fulcio v1 client, its Rekor client, a GitHub
// Actions workflow identity), and ours verifies them: G for an allowed
// workflow, through git and `gitsign verify`.
func TestOursVerifiesSigstoreGitsign(t *testing.T) {
	sg := sigstoreGitsign(t)
	stack := servertest.Start(t)
	r := newRepo(t, stack, "ci@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN")
	env := append(sigstoreEnv(t, stack, true),
		oidc.ActionsRequestURLEnv+"="+stack.Issuer()+"/actions/token?api-version=2.0",
		oidc.ActionsRequestTokenEnv+"=waxseal-dev-actions-request-token", // devoidc.DefaultWorkloadToken
	)
	certs := stack.Requests("POST", "/api/v1/signingCert")

	f := filepath.Join(r.dir, "file.txt")
	if err := os.WriteFile(f, []byte("built in CI\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("add", "file.txt")
	if out, stderr, err := r.with(sg, env, "commit", "-q", "-S", "-m", "signed by sigstore's gitsign"); err != nil {
		t.Fatalf("sigstore's gitsign, git commit -S: %v\n%s%s", err, out, stderr)
	}
	if out, stderr, err := r.with(sg, env, "tag", "-s", "-m", "release", "v1"); err != nil {
		t.Fatalf("sigstore's gitsign, git tag -s: %v\n%s%s", err, out, stderr)
	}
	if n := stack.Requests("POST", "/api/v1/signingCert") - certs; n != 2 {
		t.Errorf("sigstore's gitsign got %d certificates through Fulcio's v1 API, want 2", n)
	}
	head := strings.TrimSpace(r.git("rev-parse", "HEAD"))

	const workflow = "https://github.com/waxseal/demo/.github/workflows/release.yml@refs/heads/main"
	r.allow("ci@example.com " + workflow + " " + issuerPlaceholder + "/actions")
	if got := r.format(head, "%G? %GS"); got != "G "+workflow {
		t.Errorf("%%G? %%GS = %q, want G %s", got, workflow)
	}
	if out, stderr, err := r.try("verify-tag", "--raw", "v1"); err != nil || !strings.Contains(stderr, "TRUST_FULLY") {
		t.Errorf("git verify-tag: %v\n%s%s", err, out, stderr)
	}
	code, stdout, stderr := r.gitsign("verify", "--certificate-identity", workflow, "--certificate-oidc-issuer", stack.Issuer()+"/actions", head, "v1")
	if code != 0 || strings.Count(stdout, " good ") != 2 {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
	// sigstore gitsign's command line: verify-tag, and its claim flags.
	// A claim the certificate does not carry is refused.
	policy := []string{"--certificate-identity", workflow, "--certificate-oidc-issuer", stack.Issuer() + "/actions",
		"--certificate-github-workflow-repository", "waxseal/demo", "--certificate-github-workflow-ref", "refs/heads/main",
		"--certificate-github-workflow-trigger", "push"}
	code, stdout, stderr = r.gitsign(append([]string{"verify-tag"}, append(policy, "v1")...)...)
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("gitsign verify-tag with workflow claims = %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = r.gitsign(append([]string{"verify"}, append(policy, "--certificate-github-workflow-repository", "waxseal/other", head)...)...)
	if code != 1 || !strings.Contains(stdout, " untrusted ") || !strings.Contains(stdout, "GithubWorkflowRepository") {
		t.Errorf("gitsign verify with another repository's claim = %d, want untrusted\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = r.gitsign("verify", "--insecure-ignore-sct", head)
	if code != 2 || !strings.Contains(stderr, "--insecure-ignore-sct is not supported") {
		t.Errorf("gitsign verify --insecure-ignore-sct = %d\n%s", code, stderr)
	}
	// Another workflow is not allowed: U, not G.
	r.allow("ci@example.com https://github.com/waxseal/demo/.github/workflows/other.yml@refs/heads/main " + issuerPlaceholder + "/actions")
	if got := r.format(head, "%G?"); got != "U" {
		t.Errorf("%%G? = %q for a workflow not allowed, want U", got)
	}

	// In sigstore's default online mode the log entry stays out of the
	// signature: E, saying how such commits verify offline.
	if out, stderr, err := r.with(sg, append(env, "GITSIGN_REKOR_MODE=online"), "commit", "-q", "--allow-empty", "-S", "-m", "online mode"); err != nil {
		t.Fatalf("sigstore's gitsign in online mode, git commit -S: %v\n%s%s", err, out, stderr)
	}
	online := strings.TrimSpace(r.git("rev-parse", "HEAD"))
	if got := r.format(online, "%G?"); got != "E" {
		t.Errorf("%%G? = %q for an online-mode signature, want E", got)
	}
	if _, stderr, err := r.try("verify-commit", online); err == nil || !strings.Contains(stderr, "no transparency log entry") ||
		!strings.Contains(stderr, "gitsign.rekorMode=offline") {
		t.Errorf("git verify-commit of an online-mode signature: %v\n%s", err, stderr)
	}
}

// TestSigstoreGitsignLogsInOutOfBand: sigstore's gitsign on a terminal with
// no browser to open prints a login link and asks for the code the
// issuer's page then shows. Here `script` gives git a terminal, the test
// logs in at the link as a user would and types the code; the commit is
// signed against the stack, and ours finds it G.
func TestSigstoreGitsignLogsInOutOfBand(t *testing.T) {
	sg := sigstoreGitsign(t)
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script (util-linux) gives git a terminal here: %v", err)
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	stack := servertest.Start(t)
	r := newRepo(t, stack, "olive@example.com")
	r.unsetenv("SIGSTORE_ID_TOKEN")
	// A PATH with git and nothing else: no xdg-open, so no browser opens.
	onlyGit := t.TempDir()
	if err := os.Symlink(gitBin, filepath.Join(onlyGit, "git")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "file.txt"), []byte("out of band\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("add", "file.txt")

	cmd := exec.Command(scriptBin, "-qfec", "git -c gpg.x509.program="+sg+" commit -q -S -m 'logged in out of band'", os.DevNull)
	cmd.Dir = r.dir
	cmd.Env = append(append(slices.DeleteFunc(slices.Clone(r.env), func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }),
		sigstoreEnv(t, stack, true)...), "PATH="+onlyGit, "SHELL=/bin/sh", "GITSIGN_OIDC_ISSUER="+stack.Issuer())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var (
		mu  sync.Mutex
		out strings.Builder
	)
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	go func() {
		link := regexp.MustCompile(`(http://\S+/oidc/authorize\?\S+)`)
		buf := make([]byte, 4096)
		typed := false
		for {
			n, err := stdout.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if m := link.FindStringSubmatch(output()); m != nil && !typed && strings.Contains(output(), "verification code") {
				typed = true
				code, lerr := oobLogin(m[1], "olive@example.com")
				if lerr != nil {
					done <- lerr
					return
				}
				io.WriteString(stdin, code+"\n")
			}
			if err != nil {
				done <- nil
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("logging in at the link: %v\n%s", err, output())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no login link or no end:\n%s", output())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("git commit -S with sigstore's gitsign: %v\n%s", err, output())
	}
	r.allow("olive@example.com olive@example.com " + issuerPlaceholder)
	if got := r.format("HEAD", "%G? %GS %s"); got != "G olive@example.com logged in out of band" {
		t.Errorf("%%G? %%GS %%s = %q\n%s", got, output())
	}
}

// oobLogin signs in at an authorization link as email, as a user in a
// browser would, and returns the code the issuer's page shows.
func oobLogin(link, email string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	form := u.Query()
	form.Set("email", email)
	u.RawQuery = ""
	resp, err := http.PostForm(u.String(), form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`<code id="code">([^<]+)</code>`).FindSubmatch(page)
	if resp.StatusCode != 200 || m == nil {
		return "", fmt.Errorf("login page: %s\n%s", resp.Status, page)
	}
	return string(m[1]), nil
}
