package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/server/servertest"
)

// TestRangeCannotChooseItsPolicy: what a pull request commits, or how much
// of it a CI job fetched, must not decide what `gitsign verify BASE..TIP`
// accepts. Each case fails without its fix.
func TestRangeCannotChooseItsPolicy(t *testing.T) {
	stack := servertest.Start(t)

	// A directory in the pull request that has a HEAD, objects/, refs/ and
	// a config is no repository to git (its HEAD is no ref), so git uses
	// the real one; gitsign must read the real one's configuration too,
	// not pkg/config naming the pull request's own allowed signers.
	t.Run("repository look-alike", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the look-alike's config names its file through /proc/self/cwd")
		}
		r := newRepo(t, stack, "alice@example.com")
		r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
		r.git("add", ".gitsigners")
		r.commit("base", "-S")
		r.git("checkout", "-q", "-b", "pr")
		r.as("mallory@example.com")
		pkg := filepath.Join(r.dir, "pkg")
		for _, d := range []string{"objects", "refs"} {
			if err := os.MkdirAll(filepath.Join(pkg, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for name, body := range map[string]string{
			"HEAD":            "not a ref\n",
			"refs/.keep":      "",
			"objects/signers": "mallory@example.com mallory@example.com " + stack.Issuer() + "\n",
			"config":          "[gitsign]\n\tallowedSigners = /proc/self/cwd/objects/signers\n",
		} {
			if err := os.WriteFile(filepath.Join(pkg, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r.git("add", "pkg")
		pr := r.commit("a look-alike repository", "-S")
		for _, dir := range []string{r.dir, pkg} {
			code, stdout, stderr := r.gitsignFrom(dir, "verify", "main..HEAD")
			if code != 1 || !strings.HasPrefix(stdout, pr+" untrusted ") {
				t.Errorf("verify main..HEAD in %s = %d, want mallory untrusted by the base's file\n%s%s", dir, code, stdout, stderr)
			}
		}
	})

	// The path as written below the top, not through a link the pull
	// request makes: with conf a link to ., conf/.gitsigners in the work
	// tree is the top's .gitsigners, but the policy is the base's
	// conf/.gitsigners.
	t.Run("link to the top", func(t *testing.T) {
		r := newRepo(t, stack, "alice@example.com")
		r.allow("mallory@example.com mallory@example.com " + issuerPlaceholder) // a fixture at the top
		if err := os.Mkdir(filepath.Join(r.dir, "conf"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.dir, "conf", ".gitsigners"), []byte("alice@example.com alice@example.com "+stack.Issuer()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.git("config", "gitsign.allowedSigners", "conf/.gitsigners")
		r.git("add", ".gitsigners", "conf")
		r.commit("base", "-S")
		r.git("checkout", "-q", "-b", "pr")
		r.as("mallory@example.com")
		r.git("rm", "-q", "-r", "conf")
		if err := os.Symlink(".", filepath.Join(r.dir, "conf")); err != nil {
			t.Fatal(err)
		}
		r.git("add", "conf")
		pr := r.commit("conf is the top", "-S")
		code, stdout, stderr := r.gitsign("verify", "main..HEAD")
		if code != 1 || !strings.HasPrefix(stdout, pr+" untrusted ") || !strings.Contains(stderr, "conf/.gitsigners as committed at ") {
			t.Errorf("verify main..HEAD with conf linked to the top = %d, want mallory untrusted by the base's conf/.gitsigners\n%s%s", code, stdout, stderr)
		}
	})

	// A trusted root committed to the repository is read at the base too:
	// a pull request that commits another instance's root cannot trust
	// what that instance signs.
	t.Run("trusted root in the repository", func(t *testing.T) {
		other := servertest.Start(t)
		r := newRepo(t, stack, "alice@example.com")
		rootFile := filepath.Join(r.dir, ".sigstore", "trusted_root.json")
		ours, err := os.ReadFile(stack.TrustedRootPath)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := os.ReadFile(other.TrustedRootPath)
		if err != nil {
			t.Fatal(err)
		}
		write := func(data []byte) {
			t.Helper()
			if err := os.WriteFile(rootFile, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(filepath.Dir(rootFile), 0o755); err != nil {
			t.Fatal(err)
		}
		write(ours)
		r.git("config", "gitsign.trustedRoot", ".sigstore/trusted_root.json")
		// Both instances' issuers allowed: only the root tells them apart.
		r.allow("alice@example.com alice@example.com "+issuerPlaceholder, "alice@example.com alice@example.com "+other.Issuer())
		r.git("add", ".gitsigners", ".sigstore")
		r.commit("base", "-S")
		r.git("checkout", "-q", "-b", "pr")
		// The pull request's first commit, signed by our instance,
		// replaces the root (the work tree keeps ours while signing, as
		// gitsign checks each new signature against it).
		write(theirs)
		r.git("add", ".sigstore")
		write(ours)
		swap := r.commit("trust another instance", "-S")
		r.git("checkout", "-q", "--", ".sigstore")
		// Its second, signed by the other instance as alice.
		r.git("config", "gitsign.server", other.URL)
		for i, kv := range r.env {
			if strings.HasPrefix(kv, "SIGSTORE_ID_TOKEN=") {
				r.env[i] = "SIGSTORE_ID_TOKEN=" + other.Token(t, "alice@example.com")
			}
		}
		forged := r.commit("signed elsewhere", "-S")

		code, lines, stderr := r.verifyJSON("main..HEAD")
		if code != 1 || len(lines) != 2 || lines[0].Object != forged || lines[0].Verdict != verdictError ||
			lines[1].Object != swap || lines[1].Verdict != verdictGood {
			t.Errorf("verify main..HEAD = %d %+v, want %s error and %s good, by the base's root\n%s", code, lines, forged[:12], swap[:12], stderr)
		}
		if !strings.Contains(stderr, "trusted root: .sigstore/trusted_root.json as committed at ") {
			t.Errorf("verify main..HEAD does not say where the root came from:\n%s", stderr)
		}
		// --trusted-root naming the same file: the same.
		code, stdout, stderr := r.gitsign("verify", "--trusted-root", ".sigstore/trusted_root.json", "main..HEAD")
		if code != 1 || !strings.HasPrefix(stdout, forged+" error ") {
			t.Errorf("verify --trusted-root .sigstore/trusted_root.json main..HEAD = %d\n%s%s", code, stdout, stderr)
		}
		// A single revision reads the work tree's, as git log does.
		if code, stdout, stderr := r.gitsign("verify", "HEAD"); code != 0 || !strings.HasPrefix(stdout, forged+" good ") {
			t.Errorf("verify HEAD = %d, want the work tree's root\n%s%s", code, stdout, stderr)
		}
	})

	// A range with no base to read the file at (A^! of a root commit,
	// A^@) cannot tell the range's own file from the user's.
	t.Run("range without a base", func(t *testing.T) {
		r := newRepo(t, stack, "mallory@example.com")
		r.allow("mallory@example.com mallory@example.com " + issuerPlaceholder)
		r.git("add", ".gitsigners")
		first := r.commit("allow myself from the start", "-S")
		second := r.commit("more", "-S")
		for _, rev := range []string{first + "^!", second + "^@"} {
			code, stdout, stderr := r.gitsign("verify", rev)
			if code != 1 || stdout != "" || !strings.Contains(stderr, "excludes no commits to read it from") || !strings.Contains(stderr, "hint: ") {
				t.Errorf("verify %s = %d, want an error\n%s%s", rev, code, stdout, stderr)
			}
		}
		// Untracked, the file is the user's own.
		r.git("rm", "-q", "--cached", ".gitsigners")
		r.commit("untrack", "-S")
		if code, stdout, stderr := r.gitsign("verify", first+"^!"); code != 0 || !strings.HasPrefix(stdout, first+" good ") {
			t.Errorf("verify %s^! with an untracked file = %d\n%s%s", first[:12], code, stdout, stderr)
		}
	})

	// A shallow clone's range stops where the history does: what lies
	// behind is unverified, and the run must say so rather than pass.
	t.Run("shallow clone", func(t *testing.T) {
		r := newRepo(t, stack, "alice@example.com")
		r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
		r.git("add", ".gitsigners")
		r.commit("base", "-S")
		r.git("checkout", "-q", "-b", "pr")
		unsigned := r.commit("unsigned")
		tip := r.commit("signed tip", "-S")

		c := *r
		c.dir = filepath.Join(filepath.Dir(r.dir), "clone")
		c.git("clone", "-q", "--depth", "1", "--no-single-branch", "file://"+r.dir, c.dir)
		c.git("config", "gitsign.allowedSigners", ".gitsigners")
		c.git("checkout", "-q", "pr")
		code, stdout, stderr := c.gitsign("verify", "origin/main..HEAD")
		if code != 1 || !strings.Contains(stderr, "shallow clone at "+tip[:12]) || !strings.Contains(stderr, "git fetch --unshallow") {
			t.Errorf("verify origin/main..HEAD in a shallow clone = %d, want an error\n%s%s", code, stdout, stderr)
		}
		// C^! names C alone: nothing behind it is hidden. The committed
		// file cannot be read at a base C^! does not have, so the flags
		// alone judge.
		if code, stdout, stderr := c.gitsign("verify", "--no-allowed-signers", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer(), "HEAD^!"); code != 0 || !strings.HasPrefix(stdout, tip+" good ") {
			t.Errorf("verify HEAD^! in a shallow clone = %d\n%s%s", code, stdout, stderr)
		}
		// A checkout of the tip alone has no origin/main to name.
		o := c
		o.dir = filepath.Join(filepath.Dir(r.dir), "tip-only")
		o.git("clone", "-q", "--depth", "1", "-b", "pr", "file://"+r.dir, o.dir)
		o.git("config", "gitsign.allowedSigners", ".gitsigners")
		for _, rev := range []string{"origin/main..HEAD", unsigned} {
			if code, stdout, stderr := o.gitsign("verify", rev); code != 2 || !strings.Contains(stderr, "this is a shallow clone") || !strings.Contains(stderr, "fetch-depth: 0") {
				t.Errorf("verify %s in a clone of the tip alone = %d\n%s%s", rev, code, stdout, stderr)
			}
		}
		c.git("fetch", "-q", "--unshallow")
		code, stdout, stderr = c.gitsign("verify", "origin/main..HEAD")
		if code != 1 || !strings.Contains(stdout, unsigned+" unsigned ") || strings.Contains(stderr, "shallow") {
			t.Errorf("verify origin/main..HEAD after --unshallow = %d, want %s unsigned\n%s%s", code, unsigned[:12], stdout, stderr)
		}
		// Nor does a graft hide commits: the parents are the ones the
		// raw commit names.
		if err := os.WriteFile(filepath.Join(r.dir, ".git", "info", "grafts"), []byte(tip+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr = r.gitsign("verify", "main..pr")
		if code != 1 || !strings.Contains(stdout, unsigned+" unsigned ") {
			t.Errorf("verify main..pr with a graft cutting %s off = %d\n%s%s", unsigned[:12], code, stdout, stderr)
		}
		os.Remove(filepath.Join(r.dir, ".git", "info", "grafts"))
		// A range that stays inside what was fetched is no error.
		c.git("checkout", "-q", "-b", "later", "origin/main")
		c.commit("later", "-S")
		d := c
		d.dir = filepath.Join(filepath.Dir(r.dir), "clone2")
		d.git("clone", "-q", "--depth", "2", "-b", "later", "file://"+c.dir, d.dir)
		d.git("config", "gitsign.allowedSigners", ".gitsigners")
		if code, stdout, stderr := d.gitsign("verify", "HEAD~1..HEAD"); code != 0 || strings.Count(stdout, " good ") != 1 {
			t.Errorf("verify HEAD~1..HEAD within a depth-2 clone = %d\n%s%s", code, stdout, stderr)
		}
	})
}

// TestVerifyWithGitDirFromElsewhere: with GIT_DIR and GIT_WORK_TREE set, a
// relative gitsign.allowedSigners is the work tree's, as git log reads it,
// wherever gitsign verify is run from.
func TestVerifyWithGitDirFromElsewhere(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("add", ".gitsigners")
	r.commit("base", "-S")
	head := r.commit("next", "-S")
	env := r.env
	r.env = append(slices.Clone(env), "GIT_DIR="+filepath.Join(r.dir, ".git"), "GIT_WORK_TREE="+r.dir)
	defer func() { r.env = env }()
	elsewhere := t.TempDir()
	if got := strings.TrimSpace(r.git("-C", elsewhere, "log", "-1", "--format=%G?")); got != "G" {
		t.Fatalf("git log from elsewhere: %%G? = %q", got)
	}
	for _, args := range [][]string{{"verify", "HEAD"}, {"verify", "HEAD~1..HEAD"}} {
		code, stdout, stderr := r.gitsignFrom(elsewhere, args...)
		if code != 0 || !strings.HasPrefix(stdout, head+" good ") {
			t.Errorf("gitsign %s from elsewhere = %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

// TestVerifyPushInBareRepository: a server's pre-receive hook (the one
// README.md gives) runs gitsign verify in a bare repository, where the
// pushed objects wait in git's quarantine and there is no work tree. The
// allowed signers are the repository directory's file, not a committed
// one: a revoked signer cannot push from an old tip whose file still lists
// her.
func TestVerifyPushInBareRepository(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	// The repository's own file once allowed mallory too.
	r.allow("alice@example.com alice@example.com "+issuerPlaceholder, "mallory@example.com mallory@example.com "+issuerPlaceholder)
	r.git("add", ".gitsigners")
	first := r.commit("base", "-S")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("add", ".gitsigners")
	r.commit("mallory leaves", "-S")

	bare := filepath.Join(filepath.Dir(r.dir), "server.git")
	r.git("init", "-q", "--bare", bare)
	r.git("-C", bare, "config", "gitsign.allowedSigners", ".gitsigners")
	if err := os.WriteFile(filepath.Join(bare, ".gitsigners"), []byte("alice@example.com alice@example.com "+stack.Issuer()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, script, ok := strings.Cut(string(readme), "```sh\n#!/bin/sh\n# hooks/pre-receive")
	script, _, ok2 := strings.Cut(script, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no pre-receive hook")
	}
	script = "#!/bin/sh\nPATH=" + binDir + ":$PATH\n# hooks/pre-receive" + script
	if err := os.WriteFile(filepath.Join(bare, "hooks", "pre-receive"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("remote", "add", "server", bare)
	push := func(refspec string) (string, error) {
		_, errOut, err := r.try("push", "-q", "server", refspec)
		return errOut, err
	}
	serverHas := func(ref string) string {
		out, _, _ := r.try("-C", bare, "rev-parse", "--verify", "-q", ref)
		return strings.TrimSpace(out)
	}

	// The first push: the whole history, each commit verified.
	if errOut, err := push("main"); err != nil || strings.Count(errOut, " good ") != 2 {
		t.Errorf("first push: %v\n%s", err, errOut)
	}
	good := r.commit("signed by alice", "-S")
	if errOut, err := push("main"); err != nil || !strings.Contains(errOut, good+" good ") || strings.Count(errOut, " good ") != 1 {
		t.Errorf("push of a good commit: %v\n%s", err, errOut)
	}
	// Many at once: one gitsign run for the lot.
	for i := range 40 {
		good = r.commit(fmt.Sprintf("batch %d", i), "-S")
	}
	if errOut, err := push("main"); err != nil || strings.Count(errOut, " good ") != 40 {
		t.Errorf("push of 40 commits: %v, %d good\n%s", err, strings.Count(errOut, " good "), errOut)
	}
	r.git("tag", "-s", "-m", "release", "v1")
	tag := strings.TrimSpace(r.git("rev-parse", "v1"))
	if errOut, err := push("v1"); err != nil || !strings.Contains(errOut, tag+" good ") {
		t.Errorf("push of a signed tag: %v\n%s", err, errOut)
	}
	r.git("tag", "-a", "-m", "unsigned", "v2")
	if errOut, err := push("v2"); err == nil || serverHas("refs/tags/v2") != "" {
		t.Errorf("push of an unsigned tag accepted\n%s", errOut)
	}
	// v1's signed object pushed as another release: git verify-tag would
	// show it as good under either name.
	if errOut, err := push("v1:refs/tags/v9"); err == nil || serverHas("refs/tags/v9") != "" ||
		!strings.Contains(errOut, tag+`, to be refs/tags/v9, is a tag signed as "v1": a signed tag under another name`) {
		t.Errorf("push of v1 as v9: accepted (%v)\n%s", err, errOut)
	}
	// ... or as refs/tags/refs/tags/v1, which the hook hands on as
	// "refs/tags/v1", the name v1 is signed under were it taken off again.
	if errOut, err := push("v1:refs/tags/refs/tags/v1"); err == nil || serverHas("refs/tags/refs/tags/v1") != "" || !strings.Contains(errOut, "a signed tag under another name") {
		t.Errorf("push of v1 as refs/tags/refs/tags/v1: accepted (%v)\n%s", err, errOut)
	}
	r.git("tag", "light")
	if errOut, err := push("light"); err == nil || serverHas("refs/tags/light") != "" || !strings.Contains(errOut, "is a commit, not a tag object") {
		t.Errorf("push of a lightweight tag: accepted (%v)\n%s", err, errOut)
	}
	// A tag pushed stays: a newer signed v1 does not replace it, nor
	// would an older one put back.
	r.git("tag", "-f", "-s", "-m", "release one, again", "v1")
	if errOut, err := push("+v1"); err == nil || serverHas("refs/tags/v1") != tag || !strings.Contains(errOut, "refs/tags/v1 exists: a tag is not moved") {
		t.Errorf("forced push of a new v1: accepted (%v)\n%s", err, errOut)
	}
	// ... nor deleted, to be pushed again after.
	if errOut, err := push(":refs/tags/v1"); err == nil || serverHas("refs/tags/v1") != tag || !strings.Contains(errOut, "a tag is not moved or deleted") {
		t.Errorf("deletion of v1: accepted (%v)\n%s", err, errOut)
	}
	// A branch of a tag's name: git checkout v1 would take the branch,
	// gitsign verify v1 the tag. And no refs but branches and tags.
	if errOut, err := push(first + ":refs/heads/v1"); err == nil || serverHas("refs/heads/v1") != "" || !strings.Contains(errOut, "refs/heads/v1: a tag has that name") {
		t.Errorf("push of a branch named v1: accepted (%v)\n%s", err, errOut)
	}
	r.git("tag", "-s", "-m", "a tag named as a branch", "main-tag")
	if errOut, err := push("refs/tags/main-tag:refs/tags/main"); err == nil || serverHas("refs/tags/main") != "" || !strings.Contains(errOut, "refs/tags/main: a branch has that name") {
		t.Errorf("push of a tag named main: accepted (%v)\n%s", err, errOut)
	}
	if errOut, err := push("main:refs/for/main"); err == nil || serverHas("refs/for/main") != "" || !strings.Contains(errOut, "only branches and tags are pushed here") {
		t.Errorf("push to refs/for/main: accepted (%v)\n%s", err, errOut)
	}

	// A commit some other ref on the server already has (a forge's
	// refs/pull/N/head, made without the hook) is still verified.
	r.git("checkout", "-q", "-b", "unsigned-pr")
	unsignedPR := r.commit("unsigned, in a pull request")
	r.git("-C", bare, "fetch", "-q", r.dir, "unsigned-pr:refs/pull/1/head")
	r.git("checkout", "-q", "main")
	if errOut, err := push("unsigned-pr:main"); err == nil || !strings.Contains(errOut, unsignedPR+" unsigned ") {
		t.Errorf("push onto main of a commit refs/pull/1/head has: accepted (%v)\n%s", err, errOut)
	}
	r.as("mallory@example.com")
	bad := r.commit("signed by mallory", "-S")
	if errOut, err := push("main"); err == nil || !strings.Contains(errOut, bad+" untrusted ") {
		t.Errorf("push of mallory's commit: accepted (%v)\n%s", err, errOut)
	}
	// From the old tip whose committed file still allows her: a branch
	// she makes there first, then her commit onto it.
	r.git("branch", "-f", "evil", bad)
	if errOut, err := push(first + ":refs/heads/evil"); err != nil {
		t.Errorf("push of an old commit to a new branch: %v\n%s", err, errOut)
	}
	if errOut, err := push("evil"); err == nil || !strings.Contains(errOut, bad+" untrusted ") {
		t.Errorf("push of mallory's commit onto a branch at the old tip: accepted (%v)\n%s", err, errOut)
	}
	if got := serverHas("refs/heads/main"); got != good {
		t.Errorf("the server's main is %s, want %s", got, good)
	}
	if got := serverHas("refs/heads/evil"); got != first {
		t.Errorf("the server's evil is %s, want %s", got, first)
	}

	// Without the repository's own file: an error that says where it goes.
	if err := os.Remove(filepath.Join(bare, ".gitsigners")); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := r.gitsignFrom(bare, "verify", "main~1..main")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "a relative .gitsigners is read from the repository's directory") {
		t.Errorf("verify in the bare repository without its own file = %d\n%s%s", code, stdout, stderr)
	}
}

// TestVerifyPartialClone: in a clone made with --filter=blob:none, the
// base's .gitsigners is fetched from the promisor remote when a range
// needs it; when the remote cannot be reached, the error says what git
// said, not only its exit status.
func TestVerifyPartialClone(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("add", ".gitsigners")
	r.commit("base", "-S")
	r.allow("alice@example.com alice@example.com "+issuerPlaceholder, "bob@example.com bob@example.com "+issuerPlaceholder)
	r.git("add", ".gitsigners")
	r.commit("bob joins", "-S")
	head := r.commit("next", "-S")
	r.git("config", "uploadpack.allowFilter", "true")

	clone := filepath.Join(t.TempDir(), "partial")
	r.git("clone", "-q", "--no-checkout", "--filter=blob:none", "file://"+r.dir, clone)
	r.git("-C", clone, "config", "gitsign.allowedSigners", ".gitsigners")
	// Fetched from the remote as the range's base needs it.
	code, stdout, stderr := r.gitsignFrom(clone, "verify", "HEAD~2..HEAD")
	if code != 0 || !strings.Contains(stdout, head+" good ") {
		t.Fatalf("gitsign verify in a partial clone = %d\n%s%s", code, stdout, stderr)
	}
	// A new clone, and the remote gone before the file was fetched.
	clone2 := filepath.Join(t.TempDir(), "partial")
	r.git("clone", "-q", "--no-checkout", "--filter=blob:none", "file://"+r.dir, clone2)
	r.git("-C", clone2, "config", "gitsign.allowedSigners", ".gitsigners")
	gone := r.dir + ".gone"
	if err := os.Rename(r.dir, gone); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(gone, r.dir)
	code, stdout, stderr = r.gitsignFrom(clone2, "verify", "HEAD~2..HEAD")
	if code == 0 || !strings.Contains(stderr, "git cat-file: exit status 128: ") || !strings.Contains(stderr, "fatal: ") || strings.Contains(stderr, "; ;") {
		t.Errorf("gitsign verify in a partial clone without its remote = %d\n%s%s", code, stdout, stderr)
	}
}
