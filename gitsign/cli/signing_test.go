package cli

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/server/servertest"
)

const logEntries = "/api/v1/log/entries"

// sign runs gitsign as git does to sign payload, so that its stderr (which
// git 2.39 drops) can be read.
func (r *repo) sign(payload string) (code int, stderr string) {
	code, _, stderr = r.gitsignIn(strings.NewReader(payload), "--status-fd=2", "-bsau", "key")
	return code, stderr
}

func (r *repo) setenv(kv string) {
	k, _, _ := strings.Cut(kv, "=")
	r.unsetenv(k)
	r.env = append(r.env, kv)
}

// A SIGSTORE_ID_TOKEN that cannot be used names who was meant to sign: it
// is an error, not a reason to sign as the agent's identity instead.
func TestBadTokenIsNotSkippedForTheAgent(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	useAgent(t, r, stack, "alice@example.com")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nmsg\n"

	// The control: without a token, the agent signs.
	if code, stderr := r.sign(payload); code != 0 {
		t.Fatalf("with the agent alone: %d\n%s", code, stderr)
	}
	logged := stack.Requests("POST", logEntries)
	for _, tok := range []string{"garbage", stack.Token(t, "bob@example.com") + "x"} {
		r.setenv("SIGSTORE_ID_TOKEN=" + tok)
		code, stderr := r.sign(payload)
		if code != 1 || !strings.Contains(stderr, "SIGSTORE_ID_TOKEN") || strings.Contains(stderr, "signed as") {
			t.Errorf("token %.10q...: %d\n%s", tok, code, stderr)
		}
		if _, _, err := r.try("commit", "-q", "-S", "--allow-empty", "-m", "meant as bob"); err == nil {
			t.Errorf("git commit -S with token %.10q... succeeded", tok)
		}
	}
	if got := stack.Requests("POST", logEntries) - logged; got != 0 {
		t.Errorf("%d log entries written with an unusable token", got)
	}
}

// gitsign.matchCommitter refuses before anything reaches the public log,
// and compares with the object's committer, not user.email.
func TestMatchCommitterRefusesBeforeLogging(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("config", "gitsign.matchCommitter", "true")
	r.commit("base", "-S") // the control: alice as alice

	// Nor is a certificate asked for: the CA logs each it issues.
	logged, certs := stack.Requests("POST", logEntries), stack.Requests("POST", "/api/v2/signingCert")
	r.setenv("GIT_COMMITTER_EMAIL=mallory@example.com")
	if _, _, err := r.try("commit", "-q", "-S", "--allow-empty", "-m", "as mallory"); err == nil {
		t.Error("signed as alice for committer mallory")
	}
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter M <mallory@example.com> 1 +0000\n\nmsg\n"
	if code, stderr := r.sign(payload); code != 1 || !strings.Contains(stderr, "committer is mallory@example.com, but the identity token is for alice@example.com: nothing was signed or logged") {
		t.Errorf("sign for mallory: %d\n%s", code, stderr)
	}
	if got := stack.Requests("POST", logEntries) - logged; got != 0 {
		t.Errorf("refused signature was logged (%d entries)", got)
	}
	if got := stack.Requests("POST", "/api/v2/signingCert") - certs; got != 0 {
		t.Errorf("a certificate was asked for (%d requests) for a signature refused", got)
	}

	// The committer counts, whatever user.email says (CI often sets none).
	r.git("config", "--global", "--unset", "user.email")
	r.setenv("GIT_COMMITTER_EMAIL=alice@example.com")
	r.setenv("GIT_AUTHOR_EMAIL=alice@example.com")
	if out, stderr, err := r.try("commit", "-q", "-S", "--allow-empty", "-m", "committer alice, no user.email"); err != nil {
		t.Fatalf("refused alice as committer: %v\n%s%s", err, out, stderr)
	}
	if got := r.format("HEAD", "%G? %ce"); got != "G alice@example.com" {
		t.Errorf("%q, want G alice@example.com", got)
	}

	// Tags are held to their tagger.
	r.setenv("GIT_COMMITTER_EMAIL=mallory@example.com")
	if _, _, err := r.try("tag", "-s", "-m", "v1", "v1"); err == nil {
		t.Error("tag by mallory signed as alice")
	}
}

// A tag message may quote an armored signature: git splits the tag at the
// last one, and so does gitsign, in both ways it verifies.
func TestTagQuotingASignature(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("base", "-S")
	msg := filepath.Join(t.TempDir(), "msg")
	quoted := "quoting a signature\n\n-----BEGIN PGP SIGNATURE-----\nfoo\n-----END PGP SIGNATURE-----\nend\n"
	if err := os.WriteFile(msg, []byte(quoted), 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("tag", "-s", "-F", msg, "quoted")
	if _, stderr, err := r.try("-c", "gpg.minTrustLevel=fully", "verify-tag", "quoted"); err != nil {
		t.Errorf("verify-tag: %v\n%s", err, stderr)
	}
	if code, stdout, stderr := r.gitsign("verify", "quoted"); code != 0 || !strings.Contains(stdout, " good ") {
		t.Errorf("gitsign verify = %d\n%s%s", code, stdout, stderr)
	}
}

// gitsign signs only with ECDSA keys; an agent holding another kind says so
// and how to fix it.
func TestAgentWithAnotherKeyType(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	sock := startAgent(t)
	c, err := agent.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Login(context.Background(), agent.LoginRequest{Token: stack.Token(t, "alice@example.com"), CAURL: stack.SigningConfig(t).CAURL, KeyType: "ed25519"}); err != nil {
		t.Fatal(err)
	}
	r.unsetenv("SIGSTORE_ID_TOKEN")
	r.setenv(agent.SocketEnv + "=" + sock)
	code, stderr := r.sign("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\ncommitter A <alice@example.com> 1 +0000\n\nmsg\n")
	if code != 1 || !strings.Contains(stderr, "Ed25519 key: git signatures need ECDSA") || !strings.Contains(stderr, "--key-type ecdsa-p256") {
		t.Errorf("%d\n%s", code, stderr)
	}
}

// The help and version flags are commands, not gpg invocations.
func TestHelpAndVersionFlags(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	for _, arg := range []string{"-v", "-version", "--version", "version"} {
		if code, stdout, stderr := r.gitsign(arg); code != 0 || !strings.HasPrefix(stdout, "gitsign (waxseal) ") {
			t.Errorf("gitsign %s = %d\n%s%s", arg, code, stdout, stderr)
		}
	}
	for _, arg := range []string{"-h", "-help", "--help", "help"} {
		if code, stdout, stderr := r.gitsign(arg); code != 0 || !strings.Contains(stdout, "COMMANDS:") {
			t.Errorf("gitsign %s = %d\n%s%s", arg, code, stdout, stderr)
		}
	}
}

// What git hands gitsign to verify must be something gitsign can read the
// signer's email from (a commit, tag or push certificate); anything else is
// ERRSIG, not a signature judged without the email.
func TestVerifyRefusesMalformedPayload(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	sigFile := filepath.Join(t.TempDir(), "sig")
	verify := func(payload string) (int, string, string) {
		code, sig, stderr := r.gitsignIn(strings.NewReader(payload), "--status-fd=2", "-bsau", "key")
		if code != 0 {
			t.Fatalf("signing: %d\n%s", code, stderr)
		}
		if err := os.WriteFile(sigFile, []byte(sig), 0o600); err != nil {
			t.Fatal(err)
		}
		return r.gitsignIn(strings.NewReader(payload), "--status-fd=1", "--verify", sigFile, "-")
	}
	const tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
	const alice = "A <alice@example.com> 1 +0000\n"
	// The controls: a commit and a push certificate are G.
	for _, payload := range []string{
		tree + "author " + alice + "committer " + alice + "\nmsg\n",
		"certificate version 0.1\npusher " + alice + "pushee file:///srv/repo.git\nnonce 1-abc\n\n0000 1111 refs/heads/main\n",
	} {
		if code, status, stderr := verify(payload); code != 0 || !strings.Contains(status, "TRUST_FULLY") {
			t.Errorf("%.30q: %d\n%s%s", payload, code, status, stderr)
		}
	}
	code, status, stderr := verify(tree + "author " + alice + "committer " + alice + "committer " + alice + "\nmsg\n")
	if code != 1 || !strings.Contains(status, "ERRSIG") || strings.Contains(status, "GOODSIG") || !strings.Contains(stderr, "2 committer headers") {
		t.Errorf("two committers: %d\n%s%s", code, status, stderr)
	}
}

// git push --signed: gitsign signs the push certificate (held to the
// pusher with gitsign.matchCommitter) and verifies it for the receiving
// repository's hooks.
func TestSignedPush(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("config", "gitsign.matchCommitter", "true")
	r.commit("base", "-S")
	remote := filepath.Join(t.TempDir(), "remote.git")
	r.git("init", "-q", "--bare", remote)
	r.git("-C", remote, "config", "receive.certNonceSeed", "test seed")
	r.git("-C", remote, "config", "gitsign.allowedSigners", filepath.Join(r.dir, ".gitsigners"))
	hook := "#!/bin/sh\necho \"$GIT_PUSH_CERT_STATUS $GIT_PUSH_CERT_SIGNER $GIT_PUSH_CERT_NONCE_STATUS\" > \"$GIT_DIR/cert-status\"\n"
	if err := os.WriteFile(filepath.Join(remote, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("push", "-q", "--signed", remote, "main")
	got, err := os.ReadFile(filepath.Join(remote, "cert-status"))
	if err != nil || strings.TrimSpace(string(got)) != "G alice@example.com OK" {
		t.Errorf("push certificate as the receiving hook sees it: %q %v", got, err)
	}
}

// TestUnusedSigstoreSettings: settings of sigstore's gitsign with no
// counterpart here are named when signing, with what happens instead;
// ones that change nothing are not.
func TestUnusedSigstoreSettings(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"

	r.git("config", "gitsign.rekorMode", "offline")
	if code, stderr := r.sign(payload); code != 0 || strings.Contains(stderr, "warning") {
		t.Errorf("rekorMode offline: %d\n%s", code, stderr)
	}
	r.git("config", "gitsign.rekorMode", "online")
	r.setenv("SIGSTORE_TIMESTAMP_SERVER_URL=https://timestamp.example.com")
	r.setenv("GITSIGN_CREDENTIAL_CACHE=/run/user/1000/gitsign/cache.sock")
	code, stderr := r.sign(payload)
	if code != 0 || !strings.Contains(stderr, "warning: gitsign.rekorMode=online is not used: the log entry always goes in the signature") ||
		!strings.Contains(stderr, "warning: SIGSTORE_TIMESTAMP_SERVER_URL=https://timestamp.example.com is not used: no RFC 3161 timestamp") ||
		!strings.Contains(stderr, "warning: GITSIGN_CREDENTIAL_CACHE=/run/user/1000/gitsign/cache.sock is not used: sigstore's credential cache is not asked; 'waxseal agent'") {
		t.Errorf("rekorMode online and a timestamp server: %d\n%s", code, stderr)
	}

	// A gitsign.* key that is not one of gitsign's is said, with the one
	// it likely misspells; a subsection (another tool's) is not.
	r.git("config", "--unset", "gitsign.rekorMode")
	r.unsetenv("SIGSTORE_TIMESTAMP_SERVER_URL", "GITSIGN_CREDENTIAL_CACHE")
	r.git("config", "gitsign.allowedSigner", ".gitsigners")
	r.git("config", "gitsign.sever", stack.URL)
	r.git("config", "gitsign.other.key", "x")
	code, stderr = r.sign(payload)
	if code != 0 || !strings.Contains(stderr, "warning: git config gitsign.allowedsigner is not a setting of gitsign's, and is not used (did you mean gitsign.allowedSigners?)") ||
		!strings.Contains(stderr, "warning: git config gitsign.sever is not a setting of gitsign's, and is not used (did you mean gitsign.server?)") ||
		strings.Contains(stderr, "gitsign.other") || strings.Count(stderr, "not a setting of gitsign's") != 2 {
		t.Errorf("misspelt settings: %d\n%s", code, stderr)
	}
}

// TestSigningChecksTheTrustedRoot: a signature from a CA and log that the
// repository's trusted root does not trust (gitsign.server naming another
// instance than the root's) is refused at signing, rather than made into a
// commit git shows as E; so is one with no trusted root at all.
func TestSigningChecksTheTrustedRoot(t *testing.T) {
	stack := servertest.Start(t)
	other := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"
	if code, stderr := r.sign(payload); code != 0 || strings.Contains(stderr, "warning") {
		t.Fatalf("the control, signing against the root's own instance: %d\n%s", code, stderr)
	}

	// The certificate is checked before anything is logged: the log is
	// public and permanent.
	r.git("config", "--global", "gitsign.trustedRoot", other.TrustedRootPath)
	logged := stack.Requests("POST", logEntries)
	code, stderr := r.sign(payload)
	if code != 1 || !strings.Contains(stderr, "the certificate does not verify against the trusted root, so nothing was signed or logged") || !strings.Contains(stderr, "waxseal trust init") {
		t.Errorf("signing against another instance's root: %d\n%s", code, stderr)
	}
	if n := stack.Requests("POST", logEntries) - logged; n != 0 {
		t.Errorf("%d log entries for a signature refused", n)
	}
	// So is a trusted root that cannot be read.
	r.git("config", "--global", "gitsign.trustedRoot", filepath.Join(t.TempDir(), "typo.json"))
	if code, stderr := r.sign(payload); code != 1 || !strings.Contains(stderr, "reading the trusted root to check the signature with") {
		t.Errorf("signing with an unreadable trusted root: %d\n%s", code, stderr)
	}
	if n := stack.Requests("POST", logEntries) - logged; n != 0 {
		t.Errorf("%d log entries for signatures refused", n)
	}
	// The log too: the CA of the root's instance, the log of another.
	r.git("config", "--global", "gitsign.trustedRoot", stack.TrustedRootPath)
	r.git("config", "--global", "gitsign.rekor", other.URL)
	if code, stderr := r.sign(payload); code != 1 || !strings.Contains(stderr, "the signature does not verify against the trusted root, so nothing was signed (the log holds it at index") {
		t.Errorf("signing with another instance's log: %d\n%s", code, stderr)
	}
	r.git("config", "--global", "--unset", "gitsign.rekor")
	r.git("config", "--global", "gitsign.trustedRoot", other.TrustedRootPath)
	if _, _, err := r.try("commit", "-q", "-S", "--allow-empty", "-m", "would be E"); err == nil {
		t.Error("git commit -S made a commit that does not verify")
	}
	if _, _, err := r.try("rev-parse", "--verify", "-q", "HEAD"); err == nil {
		t.Error("the refused commit is there")
	}

	// With no trusted root at all, nothing is signed either: every commit
	// would show as E. Refused before any certificate is asked for.
	r.git("config", "--global", "--unset", "gitsign.trustedRoot")
	logged = stack.Requests("POST", logEntries)
	code, stderr = r.sign(payload)
	if code != 1 || !strings.Contains(stderr, "no trusted root to check the new signature against, so nothing was signed") || !strings.Contains(stderr, "waxseal trust init --from URL") {
		t.Errorf("signing with no trusted root: %d\n%s", code, stderr)
	}
	if n := stack.Requests("POST", logEntries) - logged; n != 0 {
		t.Errorf("%d log entries for a signature refused", n)
	}
}

// TestLogPath: gitsign.logPath is read as the other paths in the
// configuration are, "~/" included, and one that cannot be written to is
// said, not ignored: it is where a user of a git that hides gitsign's
// messages looks.
func TestLogPath(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.git("config", "gitsign.logPath", "~/gitsign.log")
	r.commit("logged", "-S")
	if b, err := os.ReadFile(filepath.Join(filepath.Dir(r.dir), "gitsign.log")); err != nil || !strings.Contains(string(b), "signed as alice@example.com") {
		t.Errorf("~/gitsign.log: %v\n%s", err, b)
	}
	r.git("config", "gitsign.logPath", filepath.Join(t.TempDir(), "no-such-dir", "gitsign.log"))
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"
	if code, stderr := r.sign(payload); code != 0 || !strings.Contains(stderr, "warning: gitsign.logPath: open ") {
		t.Errorf("unwritable gitsign.logPath: %d\n%s", code, stderr)
	}
}

// TestLogPathWithATerminal: a signing error shown on the terminal (where
// the user sees it while git hides stderr) goes to gitsign.logPath too.
func TestLogPathWithATerminal(t *testing.T) {
	scriptBin, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script (util-linux) gives gitsign a terminal here: %v", err)
	}
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rekor := "http://" + closed.Addr().String()
	closed.Close() // a log that is not there
	logFile := filepath.Join(t.TempDir(), "gitsign.log")
	r.git("config", "gitsign.rekor", rekor)
	r.git("config", "gitsign.logPath", logFile)
	payload := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(payload, []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(scriptBin, "-qec", "'"+filepath.Join(binDir, "gitsign")+"' --status-fd=2 -bsau key < '"+payload+"'", os.DevNull)
	cmd.Dir, cmd.Env = r.dir, r.env
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "gitsign: error: ") {
		t.Fatalf("no error on the terminal:\n%s", out)
	}
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "gitsign: error: ") || !strings.Contains(string(b), rekor) {
		t.Errorf("gitsign.logPath after an error shown on the terminal: %v\n%s", err, b)
	}
}

// TestCertCheckBehindTheCA: the check of a new certificate before logging
// does not fail on a clock behind the CA's, which issued the certificate
// with its own time as NotBefore; verification judges it at the log's.
func TestCertCheckBehindTheCA(t *testing.T) {
	stack := servertest.Start(t)
	ca := &fulcioclient.Client{BaseURL: stack.SigningConfig(t).CAURL, HTTPClient: &http.Client{Timeout: httpTimeout}}
	cred, err := credential.LoginWithToken(context.Background(), ca, stack.Token(t, "alice@example.com"), keys.Default)
	if err != nil {
		t.Fatal(err)
	}
	root, err := trust.LoadRoot(stack.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	behind := func() time.Time { return cred.Certificate.NotBefore.Add(-30 * time.Second) }
	// The control: at that time, the certificate is not yet valid.
	if err := provenance.CheckCertificate(cred.Certificate, root, behind()); err == nil {
		t.Fatal("a certificate checked 30 s before its NotBefore passed")
	}
	if err := certCheck(root, behind)(cred.Certificate); err != nil {
		t.Errorf("a clock 30 s behind the CA's: %v", err)
	}
	if err := certCheck(root, time.Now)(cred.Certificate); err != nil {
		t.Errorf("a clock with the CA's: %v", err)
	}
}

// TestSigningErrorsPointTheWay: a mistyped server URL and a log that does
// not answer are said as such, with what to check.
func TestSigningErrorsPointTheWay(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"
	host := strings.TrimPrefix(stack.URL, "http://")
	r.git("config", "gitsign.server", host)
	if code, stderr := r.sign(payload); code != 1 || !strings.Contains(stderr, "invalid server URL") ||
		!strings.Contains(stderr, "takes the instance's URL") || strings.Contains(stderr, "is a waxseal server running") {
		t.Errorf("signing with gitsign.server %s: %d\n%s", host, code, stderr)
	}
	r.git("config", "gitsign.server", stack.URL)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	r.git("config", "gitsign.rekor", down)
	if code, stderr := r.sign(payload); code != 1 || !strings.Contains(stderr, "is the transparency log at "+down+" up and reachable?") {
		t.Errorf("signing with the log down: %d\n%s", code, stderr)
	}
}

// TestStatusFDClosed: a --status-fd that is not open is refused before any
// file is opened, rather than written to when gitsign.logPath's file takes
// its number.
func TestStatusFDClosed(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	head := r.commit("signed", "-S")
	logFile := filepath.Join(t.TempDir(), "gitsign.log")
	r.git("config", "gitsign.logPath", logFile)
	raw := r.git("cat-file", "commit", head)
	sigFile := filepath.Join(t.TempDir(), "sig")
	_, sig, ok := strings.Cut(raw, "gpgsig ")
	if !ok {
		t.Fatal("no signature")
	}
	sig, _, _ = strings.Cut(sig, "-----END SIGNED MESSAGE-----")
	sig = strings.ReplaceAll(sig, "\n ", "\n") + "-----END SIGNED MESSAGE-----\n"
	if err := os.WriteFile(sigFile, []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"gitsign", front.CoreName} {
		// fd 5 is not open in the child: exec passes on 0, 1 and 2 only.
		cmd := exec.Command(filepath.Join(binDir, prog), "--status-fd=5", "--verify", sigFile, "-")
		cmd.Dir, cmd.Env, cmd.Stdin = r.dir, r.env, strings.NewReader("x")
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--status-fd=5: not an open file descriptor") {
			t.Errorf("%s --status-fd=5 with fd 5 closed: %v\n%s", prog, err, out)
		}
		if b, _ := os.ReadFile(logFile); strings.Contains(string(b), "[GNUPG:]") {
			t.Errorf("%s wrote status lines into gitsign.logPath:\n%s", prog, b)
		}
	}
}

// TestSigningSaysWhatGitWillShow: a signature git will not show as good in
// this repository is made (the allowed signers may be about to change) but
// said to be E or U, and why; one it will show as good says nothing. So
// are settings git would refuse as booleans.
func TestSigningSaysWhatGitWillShow(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"
	for _, tc := range []struct {
		name, signers, want string
	}{
		{"allowed", "alice@example.com alice@example.com " + issuerPlaceholder, ""},
		{"not listed", "bob@example.com bob@example.com " + issuerPlaceholder,
			"warning: signer alice@example.com (" + stack.Issuer() + ") is not in .gitsigners: git shows this signature as U (valid, signer not allowed) here"},
		{"malformed", "alice@example.com alice@example.com",
			"warning: allowed signers: .gitsigners:1: "},
	} {
		r.allow(tc.signers)
		code, stderr := r.sign(payload)
		if code != 0 || tc.want == "" && strings.Contains(stderr, "warning") || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: %d, want a warning %q\n%s", tc.name, code, tc.want, stderr)
		}
	}
	if code, stderr := r.sign(payload); code != 0 || !strings.Contains(stderr, "as E (cannot be checked)") {
		t.Errorf("malformed allowed signers: %d\n%s", code, stderr)
	}
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("config", "gitsign.matchCommitter", "maybe")
	r.setenv("GITSIGN_VERIFY_CACHE=ture")
	code, stderr := r.sign(payload)
	if code != 0 || !strings.Contains(stderr, "warning: gitsign.matchCommitter=maybe is not a boolean (true or false): taken as true, which git would refuse") ||
		!strings.Contains(stderr, "warning: GITSIGN_VERIFY_CACHE=ture is not a boolean (true or false): taken as false") {
		t.Errorf("settings that are not booleans: %d\n%s", code, stderr)
	}
	// A relative allowed-signers path that is not there is named in
	// full; and where git runs gitsign in the .git directory, so is that.
	r.git("config", "--unset", "gitsign.matchCommitter")
	r.unsetenv("GITSIGN_VERIFY_CACHE")
	head := r.commit("signed", "-S")
	r.git("config", "gitsign.allowedSigners", ".gitsigner") // a typo
	_, stderr, err := r.try("verify-commit", head)
	if want := "read from the top of the work tree (a bare repository's own directory), here " + filepath.Join(r.dir, ".gitsigner"); err == nil || !strings.Contains(stderr, want) {
		t.Errorf("a missing relative allowed-signers file: %v, want %q\n%s", err, want, stderr)
	}
	r.git("config", "gitsign.allowedSigners", ".gitsigners")
	cmd := r.cmd("verify-commit", head)
	cmd.Dir = filepath.Join(r.dir, ".git")
	out, err := cmd.CombinedOutput()
	if want := "git ran gitsign inside the git directory " + filepath.Join(r.dir, ".git") + ", where a relative gitsign.allowedSigners is not the work tree's"; err == nil || !strings.Contains(string(out), want) {
		t.Errorf("verify-commit in .git: %v, want %q\n%s", err, want, out)
	}
}

// TestOtherInstanceIsNamed: a token the CA does not take, and a signature
// from a log the trusted root does not list, say what to check.
func TestOtherInstanceIsNamed(t *testing.T) {
	stack, other := servertest.Start(t), servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	head := r.commit("signed", "-S")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"
	r.setenv("SIGSTORE_ID_TOKEN=" + other.Token(t, "alice@example.com"))
	if code, stderr := r.sign(payload); code == 0 || !strings.Contains(stderr, "HTTP 401") ||
		!strings.Contains(stderr, "hint: the CA did not accept the identity token: log in with an issuer it trusts") {
		t.Errorf("a token from an issuer the CA does not trust: %d\n%s", code, stderr)
	}
	r.git("config", "--global", "gitsign.trustedRoot", other.TrustedRootPath)
	if _, stderr, err := r.try("verify-commit", head); err == nil || !strings.Contains(stderr, "entry is from a log not in the trusted root") ||
		!strings.Contains(stderr, "gitsign: hint: signed against another instance? pin its trusted root") {
		t.Errorf("verifying against another instance's root: %v\n%s", err, stderr)
	}
}

// TestSigningKeyNotSigner: git's -u naming someone else by email (git
// config user.signingKey) is warned about when signing: keyless signing
// signs as who logged in. A key ID, the signer's own email in any case, or
// the committer's ident as git passes it without user.signingKey, is not.
func TestSigningKeyNotSigner(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	payload := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\nm\n"
	for key, warned := range map[string]bool{
		"bob@example.com":       true,
		"Bob <bob@example.com>": true,
		"0xDEADBEEF":            false,
		"A <alice@example.com>": false,
		"ALICE@example.com":     false,
	} {
		code, _, stderr := r.gitsignIn(strings.NewReader(payload), "--status-fd=2", "-bsau", key)
		want := "warning: git asked for a signature by bob@example.com (user.signingKey), but keyless signing signs as who logged in: alice@example.com"
		if code != 0 || strings.Contains(stderr, want) != warned || !warned && strings.Contains(stderr, "warning") {
			t.Errorf("-u %q: %d, warned %v, want %v\n%s", key, code, strings.Contains(stderr, want), warned, stderr)
		}
	}
}
