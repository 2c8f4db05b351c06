package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/server/servertest"
)

// gitsignFrom runs `gitsign ARGS` with dir as the working directory, and
// fails the test if it does not finish within two minutes.
func (r *repo) gitsignFrom(dir string, args ...string) (code int, stdout, stderr string) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var o, e bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "gitsign"), args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, r.env, &o, &e
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		r.t.Fatalf("gitsign %s: still running after two minutes\n%s%s", strings.Join(args, " "), o.String(), e.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// verifyJSON runs `gitsign verify --json ARGS` in the repository and
// returns its lines.
func (r *repo) verifyJSON(args ...string) (code int, lines []verifyLine, stderr string) {
	r.t.Helper()
	code, stdout, stderr := r.gitsignFrom(r.dir, append([]string{"verify", "--json"}, args...)...)
	if code == 0 || code == 1 {
		var rep verifyReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			r.t.Fatalf("gitsign verify --json %s: %v\n%s", strings.Join(args, " "), err, stdout)
		}
		if rep.OK != (code == 0) {
			r.t.Errorf("gitsign verify --json %s: exit %d, ok %v", strings.Join(args, " "), code, rep.OK)
		}
		lines = rep.Objects
	}
	return code, lines, stderr
}

func objects(lines []verifyLine) []string {
	var ids []string
	for _, l := range lines {
		ids = append(ids, l.Object)
	}
	return ids
}

func TestVerifyPathWithSpace(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.dir = filepath.Join(filepath.Dir(r.dir), "my repo")
	r.git("init", "-q", "-b", "main", r.dir)
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("in a directory with a space", "-S")
	code, stdout, stderr := r.gitsign("verify", "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("gitsign verify in %q = %d\n%s%s", r.dir, code, stdout, stderr)
	}
	code, stdout, stderr = r.gitsignFrom(t.TempDir(), "verify", "-C", r.dir, "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("gitsign verify -C %q = %d\n%s%s", r.dir, code, stdout, stderr)
	}

	// Outside a repository, the error names the directory.
	notRepo := filepath.Join(t.TempDir(), "not a repo")
	if err := os.Mkdir(notRepo, 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = r.gitsignFrom(notRepo, "verify", "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer())
	if code != 2 || !strings.Contains(stderr, "gitsign: error: "+notRepo+": finding the repository: not a git repository") {
		t.Errorf("gitsign verify outside a repository = %d\n%s", code, stderr)
	}
	missing := filepath.Join(notRepo, "missing")
	code, _, stderr = r.gitsign("verify", "-C", missing, "--certificate-identity", "alice@example.com", "--certificate-oidc-issuer", stack.Issuer())
	if code != 2 || !strings.Contains(stderr, "gitsign: error: "+missing+": finding the repository: ") || strings.Contains(stderr, ": \n") {
		t.Errorf("gitsign verify -C MISSING = %d\n%s", code, stderr)
	}
	// Flags are named as they are spelled.
	for args, want := range map[string]string{
		"HEAD --certificate-identity": "flag needs an argument: --certificate-identity\n",
		"--nosuch HEAD":               "flag provided but not defined: --nosuch\n",
		"-C":                          "flag needs an argument: -C\n",
		"--json=maybe":                "invalid boolean value \"maybe\" for --json",
	} {
		if code, _, stderr := r.gitsign(append([]string{"verify"}, strings.Fields(args)...)...); code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("gitsign verify %s = %d, want %q\n%s", args, code, want, stderr)
		}
	}
}

// TestVerifyRevisions: any range-like argument makes all of them one
// git rev-list; otherwise each names one object. Either way each object is
// verified once, in the order first listed.
func TestVerifyRevisions(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	c0 := r.commit("first", "-S")
	c1 := r.commit("second", "-S")
	c2 := r.commit("third", "-S")
	r.git("tag", "-s", "-m", "release", "v1")
	tag := strings.TrimSpace(r.git("rev-parse", "v1"))
	r.git("tag", "-s", "-m", "older", "v0", c1)

	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"^HEAD~1", "HEAD"}, []string{c2}},
		{[]string{"HEAD", "^HEAD~1"}, []string{c2}},
		{[]string{"HEAD^!"}, []string{c2}},
		{[]string{"HEAD^@"}, []string{c1, c0}},
		{[]string{"HEAD^-"}, []string{c2}},
		{[]string{"HEAD^-1"}, []string{c2}},
		{[]string{"HEAD~1...HEAD"}, []string{c2}},
		{[]string{"HEAD~2..HEAD", "HEAD~1"}, []string{c2, c1}},
		// rev-list peels the tag; one the range reaches is verified as
		// a tag too, once, after the commits, however it is spelt; one
		// it excludes, or whose commits A^! and the like name, is not.
		{[]string{"HEAD~1..HEAD", "v1"}, []string{c2, tag}},
		{[]string{"v1", "HEAD~1..HEAD", "v1"}, []string{c2, tag}},
		{[]string{"HEAD~1..v1"}, []string{c2, tag}},
		{[]string{"^HEAD~1", "v1"}, []string{c2, tag}},
		{[]string{"HEAD~1...v1"}, []string{c2, tag}},
		{[]string{"v1^!"}, []string{c2}},
		{[]string{"^v0", "HEAD"}, []string{c2}},
		{[]string{"v0..HEAD"}, []string{c2}},
		// No range: each argument is one object, an annotated tag a tag.
		{[]string{"HEAD~1", "HEAD", "main", "HEAD~1"}, []string{c1, c2}},
		{[]string{"v1", "HEAD"}, []string{tag, c2}},
		{nil, []string{c2}},
	} {
		code, lines, stderr := r.verifyJSON(tc.args...)
		if got := objects(lines); code != 0 || !slices.Equal(got, tc.want) || stderr != "" {
			t.Errorf("verify %q = %d %v, want 0 %v\n%s", tc.args, code, got, tc.want, stderr)
		}
		for _, l := range lines {
			if l.Verdict != verdictGood {
				t.Errorf("verify %q: %s %s %s", tc.args, l.Object, l.Verdict, l.Reason)
			}
		}
	}
	if _, lines, _ := r.verifyJSON("v1"); len(lines) != 1 || lines[0].Type != "tag" {
		t.Errorf("verify v1 = %+v, want the tag", lines)
	}
	// An unsigned tag named beside a range fails the run, as it would alone.
	r.git("-c", "tag.gpgSign=false", "tag", "-a", "-m", "unsigned", "unsigned-tag")
	unsignedTag := strings.TrimSpace(r.git("rev-parse", "unsigned-tag"))
	for _, args := range [][]string{{"HEAD~1..HEAD", "unsigned-tag"}, {"HEAD~1..unsigned-tag"}, {"^HEAD~1", "unsigned-tag"}} {
		if code, lines, _ := r.verifyJSON(args...); code != 1 || len(lines) != 2 || lines[1].Object != unsignedTag || lines[1].Verdict != verdictUnsigned {
			t.Errorf("verify %q = %d %+v, want the commit good and the tag unsigned", args, code, lines)
		}
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope..HEAD"}, "nope..HEAD"},
		{[]string{"HEAD~1..HEAD", "nope"}, "nope"},
		{[]string{"nope"}, "nope"},
		// A second "--" would make the rest paths, and the range only the
		// commits that touch them.
		{[]string{"--", "HEAD~2..HEAD", "--", "other.txt"}, `"--"`},
	} {
		code, stdout, stderr := r.gitsign(append([]string{"verify"}, tc.args...)...)
		if code != 2 || stdout != "" || !strings.Contains(stderr, "gitsign: error: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("verify %q = %d, want 2 and an error naming %s\n%s%s", tc.args, code, tc.want, stdout, stderr)
		}
	}
	// A repository missing a commit its history needs is the repository's
	// fault, not the command line's: exit 1, and how to look into it.
	if err := os.Remove(filepath.Join(r.dir, ".git", "objects", c1[:2], c1[2:])); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := r.gitsign("verify", "HEAD~2..HEAD")
	if code != 1 || !strings.Contains(stderr, "Could not read "+c1) || !strings.Contains(stderr, "git fsck") || strings.Contains(stderr, "--help") {
		t.Errorf("verify HEAD~2..HEAD with %s missing = %d\n%s%s", c1, code, stdout, stderr)
	}
}

func TestVerifyArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want verifyOptions
		err  string
	}{
		{args: []string{"HEAD~1..HEAD", "--json"}, want: verifyOptions{dir: ".", json: true, revs: []string{"HEAD~1..HEAD"}}},
		{args: []string{"HEAD", "-C", "d", "v1", "--trusted-root=r.json"}, want: verifyOptions{dir: "d", trustedRoot: "r.json", revs: []string{"HEAD", "v1"}}},
		{args: []string{"a", "--certificate-identity", "x@example.com", "b"}, want: verifyOptions{dir: ".", identity: "x@example.com", policySet: true, revs: []string{"a", "b"}}},
		{args: []string{"--json", "--", "--all", "-C", "x"}, want: verifyOptions{dir: ".", json: true, revs: []string{"--all", "-C", "x"}}},
		{args: []string{"a", "--", "--", "b"}, want: verifyOptions{dir: ".", revs: []string{"a", "--", "b"}}},
		// A flag's value is never the end of the flags.
		{args: []string{"HEAD", "--allowed-signers", "--", "--json"}, want: verifyOptions{dir: ".", allowedSigners: "--", json: true, revs: []string{"HEAD"}}},
		{args: []string{"-", "--json=false"}, want: verifyOptions{dir: ".", revs: []string{"-"}}},
		// -C as git takes it: relative to the one before, "" no change.
		{args: []string{"-C", "/tmp", "-C", "repo", "HEAD", "-C", "", "-C", "sub/"}, want: verifyOptions{dir: "/tmp/repo/sub/", revs: []string{"HEAD"}}},
		{args: []string{"-C", "a", "-C", "/b", "-C", "../c"}, want: verifyOptions{dir: "/b/../c"}},
		// An empty side git reads as HEAD: a variable that was not set.
		{args: []string{"..HEAD"}, err: `"..HEAD" has nothing before its "..", where git takes HEAD (..HEAD names no commits): is a variable unset? Write HEAD..HEAD if HEAD is meant`},
		{args: []string{"HEAD", "...main"}, err: `"...main" has nothing before its "...", where git takes HEAD`},
		{args: []string{"--json", ""}, err: "an empty revision"},
		{args: []string{"^@"}, err: "^@ only excludes commits, so nothing would be verified: is a variable unset?"},
		{args: []string{"^main", "^v1"}, err: "^main ^v1 only excludes commits"},
		{args: []string{"HEAD", "^main"}, want: verifyOptions{dir: ".", revs: []string{"HEAD", "^main"}}},
		{args: []string{"^main..HEAD"}, want: verifyOptions{dir: ".", revs: []string{"^main..HEAD"}}},
		{args: []string{"HEAD", "-C"}, err: "flag needs an argument: -C"},
		{args: []string{"HEAD", "--frob"}, err: "flag provided but not defined: -frob"},
		{args: []string{"HEAD", "--json=maybe"}, err: "invalid boolean value"},
		{args: []string{"HEAD", "-h"}, err: "flag: help requested"},
	} {
		o, err := parseVerifyArgs(tc.args)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseVerifyArgs(%q) = %v, want an error %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseVerifyArgs(%q): %v", tc.args, err)
			continue
		}
		if o.identity != tc.want.identity || o.allowedSigners != tc.want.allowedSigners || o.trustedRoot != tc.want.trustedRoot ||
			o.dir != tc.want.dir || o.json != tc.want.json || o.policySet != tc.want.policySet || !slices.Equal(o.revs, tc.want.revs) {
			t.Errorf("parseVerifyArgs(%q) = %+v, want %+v", tc.args, *o, tc.want)
		}
	}

	// The help says what the parser and the policy do.
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"gitsign", "verify", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("verify --help = %d\n%s", code, errOut.String())
	}
	for _, want := range []string{"A^!", "A^@", "^A", "before or after the revisions", `after "--"`,
		"identity must match in full", "issuer must match in full", "relative FILEs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("verify --help does not say %q:\n%s", want, out.String())
		}
	}
}

// TestVerifyFlagsAfterRevisions: flags come anywhere before "--", as in git.
func TestVerifyFlagsAfterRevisions(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("first", "-S")
	head := r.commit("second", "-S")
	code, stdout, stderr := r.gitsign("verify", "HEAD~1..HEAD", "--json")
	var rep verifyReport
	err := json.Unmarshal([]byte(stdout), &rep)
	if lines := rep.Objects; err != nil || code != 0 || len(lines) != 1 || lines[0].Object != head {
		t.Errorf("verify HEAD~1..HEAD --json = %d %v\n%s%s", code, err, stdout, stderr)
	}
	code, stdout, stderr = r.gitsign("verify", "HEAD", "--certificate-identity", "bob@example.com", "--certificate-oidc-issuer", stack.Issuer())
	if code != 1 || !strings.Contains(stdout, " untrusted ") {
		t.Errorf("verify HEAD --certificate-identity bob = %d, want the policy applied\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = r.gitsign("verify", "--", "--json")
	if code != 2 || !strings.Contains(stderr, "--json") {
		t.Errorf("verify -- --json = %d, want --json taken for a revision\n%s%s", code, stdout, stderr)
	}
}

// TestVerifyEmptyRange: an empty range passes (an empty pull request is
// legitimate) but says so, so that a stale CI range shows.
func TestVerifyEmptyRange(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("first", "-S")
	code, stdout, stderr := r.gitsign("verify", "main..main")
	if code != 0 || stdout != "" || stderr != "gitsign: nothing to verify: main..main names no commits\n" {
		t.Errorf("verify main..main = %d\n%s%s", code, stdout, stderr)
	}
	code, lines, stderr := r.verifyJSON("HEAD..main", "^main")
	if code != 0 || lines == nil || len(lines) != 0 || stderr != "gitsign: nothing to verify: HEAD..main ^main name no commits\n" {
		t.Errorf("verify --json HEAD..main ^main = %d %v\n%s", code, lines, stderr)
	}
	// A tag named beside an empty range is verified, and the range's
	// emptiness still said.
	r.git("tag", "-s", "-m", "release", "v1")
	code, lines, stderr = r.verifyJSON("HEAD..HEAD", "v1")
	if code != 0 || len(lines) != 1 || lines[0].Type != "tag" || stderr != "gitsign: note: HEAD..HEAD v1 name no commits; only the tags were verified\n" {
		t.Errorf("verify --json HEAD..HEAD v1 = %d %v\n%s", code, lines, stderr)
	}
}

// TestVerifyRelativeToDir: with -C DIR, relative --allowed-signers and
// --trusted-root are relative to DIR, as with git -C.
func TestVerifyRelativeToDir(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("first", "-S")
	root, _ := trustDocs(t, stack)
	if err := os.WriteFile(filepath.Join(r.dir, "root.json"), root, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := r.gitsignFrom(t.TempDir(), "verify", "-C", r.dir, "--allowed-signers", ".gitsigners", "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("verify -C DIR --allowed-signers FILE = %d\n%s%s", code, stdout, stderr)
	}
	r.git("config", "--global", "--unset", "gitsign.trustedRoot")
	code, stdout, stderr = r.gitsignFrom(t.TempDir(), "verify", "-C", r.dir, "--allowed-signers", ".gitsigners", "--trusted-root", "root.json", "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("verify -C DIR --allowed-signers FILE --trusted-root FILE = %d\n%s%s", code, stdout, stderr)
	}
	// Absolute paths stay as they are.
	code, stdout, stderr = r.gitsignFrom(t.TempDir(), "verify", "-C", r.dir, "--allowed-signers", filepath.Join(r.dir, ".gitsigners"),
		"--trusted-root", stack.TrustedRootPath, "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("verify -C DIR with absolute files = %d\n%s%s", code, stdout, stderr)
	}
	// Relative to -C DIR when DIR is relative too, and to the current
	// directory without -C, each read once.
	sub0 := filepath.Join(r.dir, "sub0")
	if err := os.Mkdir(sub0, 0o755); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = r.gitsignFrom(filepath.Dir(r.dir), "verify", "-C", filepath.Join(filepath.Base(r.dir), "sub0"), "--trusted-root", "../root.json", "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("verify -C REL --trusted-root ../root.json = %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = r.gitsignFrom(sub0, "verify", "--trusted-root", "../root.json", "HEAD")
	if code != 0 || strings.Count(stdout, " good ") != 1 {
		t.Errorf("verify --trusted-root ../root.json from a subdirectory = %d\n%s%s", code, stdout, stderr)
	}
	// A relative gitsign.trustedRoot in git config is the repository's, as
	// gitsign.allowedSigners is: from -C DIR, a subdirectory, and for git.
	r.git("config", "gitsign.trustedRoot", "root.json")
	sub := filepath.Join(r.dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, from := range [][]string{{t.TempDir(), "-C", r.dir}, {sub}} {
		code, stdout, stderr = r.gitsignFrom(from[0], append(append([]string{"verify"}, from[1:]...), "HEAD")...)
		if code != 0 || strings.Count(stdout, " good ") != 1 {
			t.Errorf("verify from %s with gitsign.trustedRoot root.json = %d\n%s%s", from, code, stdout, stderr)
		}
	}
	if got := r.format("HEAD", "%G?"); got != "G" {
		t.Errorf("git with gitsign.trustedRoot root.json: %%G? = %q", got)
	}
	// git run from outside the work tree that GIT_WORK_TREE names stays
	// where it was started; the relative paths are still the repository's.
	cmd := exec.Command("git", "log", "-1", "--format=%G?")
	cmd.Dir, cmd.Env = t.TempDir(), append(slices.Clone(r.env), "GIT_DIR="+filepath.Join(r.dir, ".git"), "GIT_WORK_TREE="+r.dir)
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "G" {
		t.Errorf("git log from outside with GIT_WORK_TREE: %q %v", out, err)
	}
	// A relative GIT_WORK_TREE (or --work-tree) given inside the work
	// tree: git moves to its top but passes the value on as given, relative
	// to where it was started; and a relative one from outside.
	for _, tc := range []struct {
		dir  string
		args []string
		env  []string
	}{
		{sub, []string{"--work-tree=..", "log", "-1", "--format=%G?"}, nil},
		{sub, []string{"log", "-1", "--format=%G?"}, []string{"GIT_WORK_TREE=.."}},
		{sub, []string{"--work-tree=../../" + filepath.Base(r.dir), "log", "-1", "--format=%G?"}, nil},
		{filepath.Dir(r.dir), []string{"log", "-1", "--format=%G?"}, []string{"GIT_DIR=" + filepath.Base(r.dir) + "/.git", "GIT_WORK_TREE=" + filepath.Base(r.dir)}},
	} {
		cmd := exec.Command("git", tc.args...)
		cmd.Dir, cmd.Env = tc.dir, append(slices.Clone(r.env), tc.env...)
		if out, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(out)) != "G" {
			t.Errorf("git %s from %s with %s: %q %v", strings.Join(tc.args, " "), tc.dir, tc.env, out, err)
		}
	}
	// Signing reads the relative gitsign.trustedRoot the same way.
	cmd = exec.Command("git", "--work-tree=../../"+filepath.Base(r.dir), "tag", "-s", "-m", "from sub", "v-sub")
	cmd.Dir, cmd.Env = sub, r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("git --work-tree=../../%s tag -s from a subdirectory: %v\n%s", filepath.Base(r.dir), err, out)
	} else if _, stderr, err := r.try("verify-tag", "v-sub"); err != nil {
		t.Errorf("verify-tag v-sub: %v\n%s", err, stderr)
	}
	// A bare repository has no work tree: its relative paths are its git
	// directory's, also for git --git-dir=REPO.git from elsewhere.
	parent := t.TempDir()
	bare := filepath.Join(parent, "bare.git")
	r.git("clone", "-q", "--bare", r.dir, bare)
	signers, err := os.ReadFile(filepath.Join(r.dir, ".gitsigners"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "signers"), signers, 0o644); err != nil {
		t.Fatal(err)
	}
	r.git("-C", bare, "config", "gitsign.allowedSigners", "signers")
	r.git("-C", bare, "config", "gitsign.trustedRoot", stack.TrustedRootPath)
	cmd = exec.Command("git", "--git-dir=bare.git", "log", "-1", "--format=%G?")
	cmd.Dir, cmd.Env = parent, r.env
	if out, err := cmd.Output(); err != nil || strings.TrimSpace(string(out)) != "G" {
		t.Errorf("git --git-dir=bare.git log from its parent: %q %v", out, err)
	}
}

// TestVerifyOversizedObject: an object too large to read is an error line of its
// own, in either object format, and the others of the run still verify.
// (A blob or tree named is a usage error before anything is read.)
func TestVerifyOversizedObject(t *testing.T) {
	stack := servertest.Start(t)
	for _, format := range []string{"sha1", "sha256"} {
		t.Run(format, func(t *testing.T) {
			r := newRepo(t, stack, "alice@example.com", "--object-format="+format)
			r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
			c0 := r.commit("first", "-S")
			c1 := r.commit("second", "-S")
			// A commit with a 67 MiB message, written as git would store it:
			// over what is read of a commit with its signature.
			big := filepath.Join(t.TempDir(), "big")
			tree := strings.TrimSpace(r.git("rev-parse", "HEAD^{tree}"))
			obj := "tree " + tree + "\nauthor A <alice@example.com> 1 +0000\ncommitter A <alice@example.com> 1 +0000\n\n"
			if err := os.WriteFile(big, append([]byte(obj), bytes.Repeat([]byte("x"), 67<<20)...), 0o644); err != nil {
				t.Fatal(err)
			}
			huge := strings.TrimSpace(r.git("hash-object", "-t", "commit", "-w", big))
			code, lines, stderr := r.verifyJSON(huge, "HEAD", "HEAD~1")
			if code != 1 || !slices.Equal(objects(lines), []string{huge, c1, c0}) {
				t.Fatalf("verify HUGE HEAD HEAD~1 = %d %v\n%s", code, objects(lines), stderr)
			}
			if l := lines[0]; l.Verdict != verdictError || l.Type != "commit" || l.Reason != "commit "+huge+" is larger than 66 MiB" {
				t.Errorf("the 67 MiB commit: %s %q %q", l.Verdict, l.Type, l.Reason)
			}
			for _, l := range lines[1:] {
				if l.Verdict != verdictGood {
					t.Errorf("%s: %s %s, want good", l.Object, l.Verdict, l.Reason)
				}
			}
		})
	}
}

// TestAllowedSignersFromBase: a pull request that adds its author to the
// repository's allowed-signers file does not make its own commits good.
// Verifying a range reads a committed file as the range's base has it; a
// single revision, or a file the repository does not track, is read from
// the work tree as before.
func TestAllowedSignersFromBase(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("add", ".gitsigners")
	r.commit("base with the allowed signers", "-S")

	r.git("checkout", "-q", "-b", "pr")
	r.as("mallory@example.com")
	r.allow("alice@example.com alice@example.com "+issuerPlaceholder, "mallory@example.com mallory@example.com "+issuerPlaceholder)
	r.git("add", ".gitsigners")
	pr := r.commit("allow myself", "-S")

	// The pull request checked out, as a CI job has it.
	code, stdout, stderr := r.gitsign("verify", "main..HEAD")
	if code != 1 || !strings.HasPrefix(stdout, pr+" untrusted ") || !strings.Contains(stderr, "allowed signers: .gitsigners as committed at ") {
		t.Errorf("verify main..HEAD = %d, want mallory untrusted by main's file\n%s%s", code, stdout, stderr)
	}
	if code, lines, _ := r.verifyJSON("^main", "HEAD"); code != 1 || len(lines) != 1 || lines[0].Verdict != verdictUntrusted {
		t.Errorf("verify --json ^main HEAD = %d %+v", code, lines)
	}
	// From an annotated tag of the base, and from the tag and its commit
	// at once: the base is the commit, named as such.
	r.git("tag", "-a", "-m", "base", "v1", "main")
	mainID := strings.TrimSpace(r.git("rev-parse", "main"))
	for _, revs := range [][]string{{"v1..HEAD"}, {"^v1", "^main", "HEAD"}} {
		code, stdout, stderr = r.gitsign(append([]string{"verify"}, revs...)...)
		if code != 1 || !strings.HasPrefix(stdout, pr+" untrusted ") || !strings.Contains(stderr, "as committed at "+mainID[:12]+", the range's base") {
			t.Errorf("verify %v = %d, want mallory untrusted by the file at %s\n%s%s", revs, code, mainID[:12], stdout, stderr)
		}
	}
	// Control: the work tree's file does allow her.
	if code, stdout, stderr := r.gitsign("verify", "HEAD"); code != 0 || !strings.Contains(stdout, " good ") ||
		!strings.Contains(stderr, "allowed signers: .gitsigners from the work tree, as checked out: to check a pull request against the file its base has, verify BASE..TIP") {
		t.Errorf("verify HEAD = %d, want the work tree's file\n%s%s", code, stdout, stderr)
	}
	// Once merged, her next pull request verifies.
	r.git("checkout", "-q", "main")
	r.as("alice@example.com")
	r.git("merge", "-q", "--ff-only", "pr")
	r.git("checkout", "-q", "-b", "pr2")
	r.as("mallory@example.com")
	r.commit("a change", "-S")
	if code, stdout, stderr := r.gitsign("verify", "main..pr2"); code != 0 || !strings.Contains(stdout, " good ") {
		t.Errorf("verify main..pr2 after the merge = %d\n%s%s", code, stdout, stderr)
	}

	// The path as the base has it, symbolic links followed in the base's
	// tree; the pull request's links in the work tree are not followed. Here
	// the file is a committed link into .github, and the pull request makes
	// .github a link to a fixture directory the base also has, whose file
	// would allow mallory.
	r3 := newRepo(t, stack, "alice@example.com")
	r3.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	for _, d := range []string{".github", "fixtures"} {
		if err := os.Mkdir(filepath.Join(r3.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(filepath.Join(r3.dir, ".gitsigners"), filepath.Join(r3.dir, ".github", "allowed_signers")); err != nil {
		t.Fatal(err)
	}
	fixture := "mallory@example.com mallory@example.com " + stack.Issuer() + "\n"
	if err := os.WriteFile(filepath.Join(r3.dir, "fixtures", "allowed_signers"), []byte(fixture), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".github/allowed_signers", filepath.Join(r3.dir, ".gitsigners")); err != nil {
		t.Fatal(err)
	}
	r3.git("add", ".gitsigners", ".github", "fixtures")
	r3.commit("base: the policy behind a link", "-S")
	r3.git("checkout", "-q", "-b", "pr")
	r3.as("mallory@example.com")
	r3.git("rm", "-q", "-r", ".github")
	if err := os.Symlink("fixtures", filepath.Join(r3.dir, ".github")); err != nil {
		t.Fatal(err)
	}
	r3.git("add", ".github")
	pr3 := r3.commit("relink", "-S")
	code, stdout, stderr = r3.gitsign("verify", "main..HEAD")
	if code != 1 || !strings.HasPrefix(stdout, pr3+" untrusted ") || !strings.Contains(stderr, "allowed signers: .gitsigners as committed at ") {
		t.Errorf("verify main..HEAD with .github relinked = %d, want mallory untrusted by the base's file\n%s%s", code, stdout, stderr)
	}
	r3.git("config", "gitsign.allowedSigners", ".github/allowed_signers")
	code, stdout, stderr = r3.gitsign("verify", "main..HEAD")
	if code != 1 || !strings.HasPrefix(stdout, pr3+" untrusted ") || !strings.Contains(stderr, "allowed signers: .github/allowed_signers as committed at ") {
		t.Errorf("verify main..HEAD, .github/allowed_signers through the relinked .github = %d\n%s%s", code, stdout, stderr)
	}

	// A range whose base has no such file has no policy to read.
	r2 := newRepo(t, stack, "alice@example.com")
	r2.commit("base without allowed signers", "-S")
	r2.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r2.git("add", ".gitsigners")
	r2.commit("add them", "-S")
	code, stdout, stderr = r2.gitsign("verify", "HEAD~1..HEAD")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "allowed signers: .gitsigners is not in ") || !strings.Contains(stderr, "hint: ") {
		t.Errorf("verify HEAD~1..HEAD without the file at the base = %d\n%s%s", code, stdout, stderr)
	}
	// Nor when the range brings it in through a link: the tip tracks a
	// link on its way.
	r2.git("rm", "-q", ".gitsigners")
	r2.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	if err := os.Mkdir(filepath.Join(r2.dir, "policy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(r2.dir, ".gitsigners"), filepath.Join(r2.dir, "policy", "signers")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("policy", filepath.Join(r2.dir, "linked")); err != nil {
		t.Fatal(err)
	}
	r2.git("add", "policy", "linked")
	r2.commit("policy behind a link", "-S")
	r2.git("config", "gitsign.allowedSigners", "linked/signers")
	code, stdout, stderr = r2.gitsign("verify", "HEAD~2..HEAD")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "allowed signers: linked/signers is not in ") {
		t.Errorf("verify HEAD~2..HEAD with the file behind a link the range adds = %d\n%s%s", code, stdout, stderr)
	}
	// A file in the work tree that no commit has is the user's own.
	if err := os.WriteFile(filepath.Join(r2.dir, "local-signers"), []byte("alice@example.com alice@example.com "+stack.Issuer()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r2.git("config", "gitsign.allowedSigners", "local-signers")
	if code, stdout, stderr = r2.gitsign("verify", "HEAD~2..HEAD"); code != 0 || strings.Count(stdout, " good ") != 2 {
		t.Errorf("verify HEAD~2..HEAD with an untracked local file = %d\n%s%s", code, stdout, stderr)
	}
	// A mistyped range is git's bad revision, not its advice about paths.
	r2.git("config", "gitsign.allowedSigners", "linked/signers")
	if code, _, stderr = r2.gitsign("verify", "main..nosuch"); code != 2 || strings.Contains(stderr, "Use '--'") {
		t.Errorf("verify main..nosuch = %d\n%s", code, stderr)
	}
	// A bad revision after good ones: a usage error with nothing printed
	// before it, though lines are printed as they are decided.
	r2.git("config", "gitsign.allowedSigners", "local-signers")
	if code, stdout, stderr = r2.gitsign("verify", "HEAD", "HEAD~1", "nosuch"); code != 2 || stdout != "" || !strings.Contains(stderr, `bad revision "nosuch"`) {
		t.Errorf("verify HEAD HEAD~1 nosuch = %d\n%s%s", code, stdout, stderr)
	}
	// A tree or a blob has no signature: the revision is not one meant,
	// a usage error (by name, and by ID as a hook hands them on).
	tree := strings.TrimSpace(r2.git("rev-parse", "HEAD^{tree}"))
	file, _, _ := strings.Cut(r2.git("ls-tree", "--name-only", "HEAD"), "\n")
	for _, c := range []struct{ rev, typ string }{{"HEAD^{tree}", "tree"}, {tree, "tree"}, {"HEAD:" + file, "blob"}} {
		if code, stdout, stderr = r2.gitsign("verify", "HEAD", c.rev); code != 2 || stdout != "" || !strings.Contains(stderr, fmt.Sprintf("%q names a %s, not a commit or an annotated tag", c.rev, c.typ)) {
			t.Errorf("verify HEAD %s = %d\n%s%s", c.rev, code, stdout, stderr)
		}
	}
	// When git cannot say where the work tree is, whether the file is the
	// range's own is unknown: an error, not a read from the work tree.
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	wrap := t.TempDir()
	script := "#!/bin/sh\nfor a; do [ \"$a\" = --show-toplevel ] && { echo 'fatal: out of memory' >&2; exit 128; }; done\nexec '" + realGit + "' \"$@\"\n"
	if err := os.WriteFile(filepath.Join(wrap, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	env := r2.env
	r2.env = append(slices.Clone(env), "PATH="+wrap+string(os.PathListSeparator)+os.Getenv("PATH"))
	code, stdout, stderr = r2.gitsign("verify", "HEAD~2..HEAD")
	r2.env = env
	if code != 1 || stdout != "" || !strings.Contains(stderr, "finding the repository: out of memory") {
		t.Errorf("verify HEAD~2..HEAD with git failing --show-toplevel = %d\n%s%s", code, stdout, stderr)
	}
}

// TestVerifyJSONAlwaysADocument: --json prints one document whatever
// happens, so that a CI job can read why a run failed as well as what it
// verified; the exit code says the same as "ok".
func TestVerifyJSONAlwaysADocument(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.git("add", ".gitsigners")
	r.commit("first", "-S")
	r.commit("signed", "-S")
	unsigned := r.commit("unsigned")
	for _, tc := range []struct {
		args    []string
		code    int
		objects int
		error   string
	}{
		{[]string{"HEAD~1"}, 0, 1, ""},
		{[]string{"HEAD~2..HEAD"}, 1, 2, "1 of 2 objects failed verification"},
		{[]string{"HEAD", "nosuch"}, 2, 0, `bad revision "nosuch"`},
		{[]string{"--allowed-signers", "missing-file", "HEAD"}, 1, 0, "allowed signers: open "},
		{[]string{"--certificate-identity", "x"}, 2, 0, "issuer"},
		{[]string{"--bogus", "HEAD"}, 2, 0, "flag provided but not defined: --bogus"},
		{[]string{"..HEAD"}, 2, 0, "is a variable unset?"},
	} {
		code, stdout, stderr := r.gitsign(append([]string{"verify", "--json"}, tc.args...)...)
		var rep verifyReport
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Errorf("verify --json %v: %v\n%s%s", tc.args, err, stdout, stderr)
			continue
		}
		if code != tc.code || rep.OK != (code == 0) || len(rep.Objects) != tc.objects || !strings.Contains(rep.Error, tc.error) || (tc.error == "") != (rep.Error == "") ||
			strings.Contains(rep.Error+stderr, "graft") {
			t.Errorf("verify --json %v = %d %+v, want exit %d, %d objects, error %q\n%s", tc.args, code, rep, tc.code, tc.objects, tc.error, stderr)
		}
		if tc.code == 1 && tc.objects == 2 && (rep.Objects[0].Object != unsigned || rep.Objects[0].Verdict != verdictUnsigned) {
			t.Errorf("verify --json %v: %+v", tc.args, rep.Objects)
		}
	}
}

// TestVerifyLineSaysWhatGitShows: a signed tag's line names the tag and
// what it tags, and a commit whose message git stores in another character
// set (i18n.commitEncoding) has the subject git log shows, in the text
// line and in the JSON.
func TestVerifyLineSaysWhatGitShows(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	target := r.commit("first", "-S")
	r.git("tag", "-s", "-m", "release one", "v1")
	tag := strings.TrimSpace(r.git("rev-parse", "v1"))
	code, stdout, stderr := r.gitsign("verify", "v1")
	if want := " tag=v1 target=" + target + " release one\n"; code != 0 || !strings.HasPrefix(stdout, tag+" good ") || !strings.HasSuffix(stdout, want) {
		t.Errorf("verify v1 = %d, want a line ending in %q\n%s%s", code, want, stdout, stderr)
	}

	msg := filepath.Join(t.TempDir(), "msg")
	for _, tc := range []struct{ encoding, raw string }{
		{"ISO-8859-1", "caf\xe9 cr\xe8me"},
		{"latin1", "na\xefve"},
		{"Shift_JIS", "\x93\xfa\x96\x7b"}, // 日本
		{"cp1252", "\x93quoted\x94"},
		{"no-such-charset", "as \xff is"},
		// Bytes the character set does not have: iconv fails, and git
		// shows the message as it is.
		{"US-ASCII", "caf\xe9"},
		{"Shift_JIS", "\x93\xfa\xff"},
	} {
		if err := os.WriteFile(msg, []byte(tc.raw+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r.git("-c", "i18n.commitEncoding="+tc.encoding, "commit", "-q", "-S", "--allow-empty", "-F", msg)
		if !strings.Contains(r.git("cat-file", "commit", "HEAD"), "\nencoding "+tc.encoding+"\n") {
			t.Fatalf("git wrote no encoding header %s", tc.encoding)
		}
		want := strings.TrimSuffix(r.git("log", "-1", "--format=%s"), "\n")
		code, lines, stderr := r.verifyJSON("HEAD")
		if code != 0 || len(lines) != 1 || lines[0].Subject != asJSON(want) {
			t.Errorf("%s: verify --json HEAD = %d %+v, want the subject git log shows, %q\n%s", tc.encoding, code, lines, want, stderr)
		}
		code, stdout, stderr := r.gitsign("verify", "HEAD")
		if code != 0 || !strings.HasSuffix(stdout, " "+gitsign.Printable(want)+"\n") {
			t.Errorf("%s: verify HEAD = %d, want the subject %q\n%s%s", tc.encoding, code, want, stdout, stderr)
		}
	}
}

// TestVerifyTag: verify-tag, as sigstore's gitsign has it, verifies the one
// signed tag object refs/tags/NAME holds: not the commit a lightweight tag
// or a branch names, not a tag signed under another name, and not HEAD
// when no name is given.
func TestVerifyTag(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("first", "-S")
	r.git("tag", "-s", "-m", "release one", "v1")
	r.git("tag", "light")
	v1, head := strings.TrimSpace(r.git("rev-parse", "v1")), strings.TrimSpace(r.git("rev-parse", "HEAD"))
	r.git("update-ref", "refs/tags/v2", v1) // v1's signed object, moved
	for _, tc := range []struct {
		args   []string
		code   int
		output string
	}{
		{[]string{"v1"}, 0, " good "},
		// TAG as given: refs/tags/v1 would be refs/tags/refs/tags/v1.
		{[]string{"refs/tags/v1"}, 2, `no tag named "refs/tags/v1" here (refs/tags/refs/tags/v1)` + "\ngitsign: hint: TAG is a tag's name, without refs/tags/: gitsign verify-tag v1"},
		{[]string{"light"}, 1, "refs/tags/light is a commit, not a tag object with a signature of its own: 'gitsign verify light' verifies the commit"},
		{[]string{"v2"}, 1, `refs/tags/v2 holds a tag signed as "v1": a signed tag under another name`},
		{[]string{"main"}, 2, `gitsign: error: no tag named "main" here (refs/tags/main)` + "\ngitsign: hint: 'git tag -l' lists"},
		{nil, 2, "verify-tag takes one tag name, got 0\ngitsign: hint: run 'gitsign verify-tag --help'"},
		{[]string{"v1", "light"}, 2, "verify-tag takes one tag name, got 2"},
		{[]string{"--help"}, 0, "gitsign verify-tag - verify the signature of the annotated tag refs/tags/TAG"},
		// --object: a tag object verified as the ref would hold it, as a
		// pre-receive hook checks a pushed tag before the ref exists.
		{[]string{"--object", v1, "v1"}, 0, " good "},
		{[]string{"--object", v1, "v3"}, 1, v1 + `, to be refs/tags/v3, is a tag signed as "v1": a signed tag under another name`},
		{[]string{"--object", head, "v3"}, 1, head + ", to be refs/tags/v3, is a commit, not a tag object"},
		{[]string{"--object", "v1^{}", "v1"}, 2, "give the tag object's full ID"},
		{[]string{"--object", "HEAD", "v1"}, 2, "give the tag object's full ID"},
		{[]string{"--object", "", "v1"}, 2, "--object is empty: is a variable unset?"},
		{[]string{"--object", v1, "refs/tags/"}, 2, `"refs/tags/" is not a tag name`},
		// A hook hands on the name it took refs/tags/ off: v1's object
		// pushed as refs/tags/refs/tags/v1 is not v1.
		{[]string{"--object", v1, "refs/tags/v1"}, 1, v1 + `, to be refs/tags/refs/tags/v1, is a tag signed as "v1": a signed tag under another name`},
		{[]string{"--object", head, "refs/tags/"}, 2, `"refs/tags/" is not a tag name`},
		{[]string{"a..b"}, 2, `"a..b" is not a tag name`},
	} {
		code, stdout, stderr := r.gitsign(append([]string{"verify-tag"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.output) {
			t.Errorf("verify-tag %q = %d, want %d and %q\n%s%s", tc.args, code, tc.code, tc.output, stdout, stderr)
		}
	}
	// A CI job on a tag push runs verify-tag "${ref#refs/tags/}": for a
	// ref pushed as refs/tags/refs/tags/v1, that ref is checked, not v1.
	r.git("tag", "-a", "-m", "unsigned", "unsigned-one")
	r.git("update-ref", "refs/tags/refs/tags/v1", strings.TrimSpace(r.git("rev-parse", "unsigned-one")))
	if code, stdout, stderr := r.gitsign("verify-tag", "refs/tags/v1"); code != 1 || !strings.Contains(stdout, " unsigned ") {
		t.Errorf("verify-tag refs/tags/v1 with refs/tags/refs/tags/v1 unsigned = %d\n%s%s", code, stdout, stderr)
	}
	r.git("update-ref", "-d", "refs/tags/refs/tags/v1")
	// A symbolic tag ref to another tag is a name of its own; a name that
	// is a branch's as well as a tag's is ambiguous.
	r.git("symbolic-ref", "refs/tags/v3", "refs/tags/v1")
	if code, lines, stderr := r.verifyJSON("v3"); code != 0 || len(lines) != 1 || !strings.Contains(lines[0].Warning, `refs/tags/v3 holds a tag signed as "v1"`) {
		t.Errorf("verify v3, a symbolic ref to v1 = %d %+v\n%s", code, lines, stderr)
	}
	r.git("update-ref", "-d", "--no-deref", "refs/tags/v3")
	r.git("branch", "v1", "HEAD")
	if code, lines, stderr := r.verifyJSON("v1"); code != 0 || len(lines) != 1 || lines[0].Type != "tag" ||
		!strings.Contains(lines[0].Warning, `"v1" is ambiguous: it names refs/tags/v1, and refs/heads/v1 too`) {
		t.Errorf("verify v1, a tag and a branch = %d %+v\n%s", code, lines, stderr)
	}
	r.git("branch", "-D", "v1")
	// gitsign verify verifies the object named, and says when a tag ref
	// names a tag signed under another name; by ID, there is no name to
	// check.
	for _, tc := range []struct {
		rev  string
		warn bool
	}{{"v2", true}, {"refs/tags/v2", true}, {"HEAD..v2", true}, {"v2^{tag}", true}, {"v2 v1", true}, {"v1 v2", true},
		{"HEAD..v1 v2", true}, {"v2 " + v1, true}, {"v1", false}, {v1, false}, {"HEAD..v1", false}} {
		code, lines, stderr := r.verifyJSON(strings.Fields(tc.rev)...)
		var tagLine *verifyLine
		for i := range lines {
			if lines[i].Type == "tag" {
				tagLine = &lines[i]
			}
		}
		want := `refs/tags/v2 holds a tag signed as "v1": a signed tag under another name ('gitsign verify-tag v2' refuses it)`
		if code != 0 || tagLine == nil || tagLine.Verdict != verdictGood || strings.Contains(tagLine.Warning, want) != tc.warn {
			t.Errorf("verify %s = %d %+v, want the warning: %v\n%s", tc.rev, code, lines, tc.warn, stderr)
		}
	}
	// Its help is its own, with verify's options, not verify's help too.
	if _, stdout, _ := r.gitsign("verify-tag", "--help"); strings.Contains(stdout, "gitsign verify - ") || !strings.Contains(stdout, "--certificate-identity value") {
		t.Errorf("verify-tag --help:\n%s", stdout)
	}
	if code, _, stderr := r.gitsign("verify", "--object", v1, "HEAD"); code != 2 || !strings.Contains(stderr, "--object is verify-tag's") {
		t.Errorf("verify --object = %d\n%s", code, stderr)
	}
}

// TestTagWithoutFinalNewline: git appends a tag's signature to its
// message and finds it again only at the start of a line, so a message
// without a final line break (git tag --cleanup=verbatim) would make a tag
// that can never verify. Signing refuses it before a certificate is asked
// for or anything is logged; such a tag made elsewhere is said to be one,
// not to have been made without -s.
func TestTagWithoutFinalNewline(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	r.commit("first", "-S")
	msg := filepath.Join(t.TempDir(), "msg")
	if err := os.WriteFile(msg, []byte("release one, no line break"), 0o644); err != nil {
		t.Fatal(err)
	}
	certs, entries := stack.Requests("POST", "/api/v2/signingCert"), stack.Requests("POST", "/api/v1/log/entries")
	logPath := filepath.Join(t.TempDir(), "gitsign.log") // git 2.39 drops what its signer says
	r.git("config", "gitsign.logPath", logPath)
	_, stderr, err := r.try("tag", "-s", "--cleanup=verbatim", "-F", msg, "v1")
	said, _ := os.ReadFile(logPath)
	if err == nil || !strings.Contains(string(said), "the tag's message does not end in a line break, so nothing was signed") {
		t.Errorf("git tag -s of a message without a final line break: %v\n%s%s", err, stderr, said)
	}
	if stack.Requests("POST", "/api/v2/signingCert") != certs || stack.Requests("POST", "/api/v1/log/entries") != entries {
		t.Error("a certificate was asked for, or an entry logged, for a tag that was refused")
	}
	// Made by another signer: the tag git would write, its signature glued on.
	r.git("tag", "-s", "-m", "release one", "v1")
	raw := r.git("cat-file", "tag", "v1")
	glued := strings.Replace(raw, "release one\n-----BEGIN", "release one-----BEGIN", 1)
	if glued == raw {
		t.Fatalf("no signature after the message:\n%s", raw)
	}
	f := filepath.Join(t.TempDir(), "tag")
	if err := os.WriteFile(f, []byte(glued), 0o644); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSpace(r.git("hash-object", "-t", "tag", "-w", f))
	code, stdout, stderr := r.gitsign("verify", id)
	if code != 1 || !strings.Contains(stdout, " unsigned ") || !strings.Contains(stdout+stderr, "the tag's signature is glued to the end of its message's last line") {
		t.Errorf("gitsign verify of a tag with its signature glued on = %d\n%s%s", code, stdout, stderr)
	}
}

// TestMergedTags: a merge of a signed tag embeds the tag (a mergetag
// header), and git log --show-signature checks it; gitsign verify does
// too. The verdict stays the merge's own signature's; a merged tag that is
// not good, or tags no parent of the merge, is said as a warning.
func TestMergedTags(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com "+issuerPlaceholder, "bob@example.com bob@example.com "+issuerPlaceholder)
	r.commit("base", "-S")
	r.git("checkout", "-q", "-b", "topic")
	r.git("commit", "-q", "--allow-empty", "-S", "-m", "topic work")
	r.git("tag", "-s", "-m", "release three", "v3")
	r.git("checkout", "-q", "-b", "other", "main")
	r.as("mallory@example.com")
	r.git("commit", "-q", "--allow-empty", "-S", "-m", "mallory's work")
	r.git("tag", "-s", "-m", "release four", "v4")
	r.as("alice@example.com")
	r.git("checkout", "-q", "main")
	r.git("commit", "-q", "--allow-empty", "-S", "-m", "main moves on")

	r.git("merge", "-q", "--no-ff", "-S", "-m", "merge v3", "v3")
	merge := strings.TrimSpace(r.git("rev-parse", "HEAD"))
	if !strings.Contains(r.git("cat-file", "commit", merge), "\nmergetag object ") {
		t.Fatal("git merge of a signed tag made no mergetag header")
	}
	code, lines, stderr := r.verifyJSON(merge)
	if code != 0 || len(lines) != 1 || lines[0].Verdict != verdictGood || lines[0].Warning != "" {
		t.Errorf("a merge of a good signed tag = %d %+v\n%s", code, lines, stderr)
	}

	r.git("merge", "-q", "--no-ff", "-S", "-m", "merge v4", "v4")
	code, lines, stderr = r.verifyJSON("HEAD")
	if code != 0 || len(lines) != 1 || lines[0].Verdict != verdictGood ||
		!strings.Contains(lines[0].Warning, "merged tag v4: signed by mallory@example.com") || !strings.Contains(lines[0].Warning, "who is not allowed") {
		t.Errorf("a merge of mallory's signed tag = %d %+v\n%s", code, lines, stderr)
	}

	// A merge signed over a merged tag that was altered: the merge's
	// signature is good, the tag's is not.
	var unsigned strings.Builder
	inSig := false
	for _, line := range strings.SplitAfter(r.git("cat-file", "commit", merge), "\n") {
		switch {
		case strings.HasPrefix(line, "gpgsig "):
			inSig = true
		case inSig && strings.HasPrefix(line, " "):
		default:
			inSig = false
			unsigned.WriteString(line)
		}
	}
	forged := strings.Replace(unsigned.String(), "\n release three", "\n release 3.0", 1)
	if forged == unsigned.String() {
		t.Fatalf("no tag message to alter:\n%s", unsigned.String())
	}
	id := r.signedCommit(forged)
	code, lines, stderr = r.verifyJSON(id)
	if code != 0 || len(lines) != 1 || lines[0].Verdict != verdictGood || !strings.Contains(lines[0].Warning, "merged tag v3: its signature does not verify") {
		t.Errorf("a merge over an altered tag = %d %+v\n%s", code, lines, stderr)
	}
	if got := strings.TrimSpace(r.git("log", "-1", "--format=%G?", id)); got != "G" {
		t.Errorf("%%G? of the merge over an altered tag = %q, want G (its own signature)", got)
	}
	// A merged tag of a commit the merge did not merge.
	v3commit := strings.TrimSpace(r.git("rev-parse", "v3^{commit}"))
	root := strings.TrimSpace(r.git("rev-list", "--max-parents=0", "HEAD"))
	elsewhere := strings.Replace(unsigned.String(), "mergetag object "+v3commit, "mergetag object "+root, 1)
	if elsewhere == unsigned.String() {
		t.Fatalf("no mergetag object %s:\n%s", v3commit, unsigned.String())
	}
	code, lines, stderr = r.verifyJSON(r.signedCommit(elsewhere))
	if code != 0 || len(lines) != 1 || !strings.Contains(lines[0].Warning, "merged tag v3 names "+root+", not a parent of this commit") {
		t.Errorf("a merge whose merged tag names no parent = %d %+v\n%s", code, lines, stderr)
	}
}

// TestInDirAsChdir: a relative file given with -C is read from the
// directory git's chdir reaches, through links: -C link -C .. is the
// parent of link's target.
func TestInDirAsChdir(t *testing.T) {
	top, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(top, "a", "b")
	if err := os.MkdirAll(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(top, "link")); err != nil {
		t.Fatal(err)
	}
	o, err := parseVerifyArgs([]string{"-C", filepath.Join(top, "link"), "-C", "..", "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := inDir(o.dir, "signers"), filepath.Join(top, "a", "signers"); got != want {
		t.Errorf("inDir(%q, signers) = %q, want %q", o.dir, got, want)
	}
}

// asJSON is s as encoding/json writes a string: each byte that is not
// UTF-8 a U+FFFD.
func asJSON(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		b.WriteRune(r) // utf8.RuneError for a byte that is not UTF-8
		s = s[n:]
	}
	return b.String()
}
