package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/internal/verdicts"
	"github.com/waxseal/waxseal/server/servertest"
)

// verdictLines counts the verdict cache's entry lines: every Put adds one.
func (r *repo) verdictLines() int {
	r.t.Helper()
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(r.dir), ".cache", "waxseal", "gitsign-verdicts", "*"))
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			r.t.Fatal(err)
		}
		n += bytes.Count(data, []byte("\n"))
	}
	return n
}

// verdictEntries returns the verdict cache's entry lines, as ID and value.
func (r *repo) verdictEntries() map[string][]byte {
	r.t.Helper()
	dir := filepath.Join(filepath.Dir(r.dir), ".cache", "waxseal", "gitsign-verdicts")
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	m := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			fields := strings.Fields(line)
			if len(fields) != 3 {
				r.t.Fatalf("entry line %q", line)
			}
			v, err := base64.StdEncoding.DecodeString(fields[1])
			if err != nil {
				r.t.Fatal(err)
			}
			m[fields[0]] = v
		}
	}
	return m
}

// isVerdict tells a kept verdict (git's status lines and an explanation)
// from a kept certificate check (provenance.Memo's facts), which the cache
// holds beside them.
func isVerdict(v []byte) bool { return bytes.Contains(v, []byte("[GNUPG:] NEWSIG")) }

// countEntries counts verdicts and certificate checks among entries.
func countEntries(entries map[string][]byte) (verdicts, certificates int) {
	for _, v := range entries {
		if isVerdict(v) {
			verdicts++
		} else {
			certificates++
		}
	}
	return verdicts, certificates
}

// rewrite replaces each entry's value for which change returns one,
// written with the cache's own key, so that it reads as authentic.
func (r *repo) rewrite(entries map[string][]byte, change func(v []byte) ([]byte, bool)) {
	r.t.Helper()
	home := filepath.Dir(r.dir)
	c := verdicts.Open(filepath.Join(home, ".cache", "waxseal", "gitsign-verdicts"), filepath.Join(home, "waxseal", "gitsign-verdicts.key"))
	for idHex, v := range entries {
		nv, ok := change(v)
		if !ok {
			continue
		}
		var id verdicts.ID
		if _, err := hex.Decode(id[:], []byte(idHex)); err != nil {
			r.t.Fatal(err)
		}
		if err := c.Put(id, nv); err != nil {
			r.t.Fatal(err)
		}
	}
}

// plant replaces the explanation of every cached verdict with one that
// says it came from the cache: what git then shows tells a verdict
// answered from the cache from one verified afresh.
func (r *repo) plant(entries map[string][]byte) {
	r.t.Helper()
	r.rewrite(entries, func(v []byte) ([]byte, bool) {
		if bytes.Contains(v, []byte("PLANTED")) || !isVerdict(v) {
			return nil, false
		}
		planted := bytes.Replace(v, []byte("gitsign: Good signature"), []byte("gitsign: PLANTED Good signature"), 1)
		if bytes.Equal(planted, v) {
			r.t.Fatalf("no explanation in the cached verdict %q", v)
		}
		return planted, true
	})
}

func TestVerdictCache(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	head := r.commit("first", "-S")

	// Signing verifies in gitsign-core, which keeps nothing; the first
	// time git asks, gitsign verifies and keeps the verdict.
	if n := len(r.verdictEntries()); n != 0 {
		t.Fatalf("%d verdicts kept before any was asked for", n)
	}
	if got := r.format(head, "%G? %GS"); got != "G alice@example.com" {
		t.Fatalf("%%G? %%GS = %q", got)
	}
	good := r.verdictEntries()
	if v, c := countEntries(good); v != 1 || c != 1 {
		t.Fatalf("%d verdicts and %d certificate checks kept after one verification, want 1 and 1", v, c)
	}
	// Asked again, git gets the kept verdict: the planted explanation
	// shows that it was not verified afresh.
	r.plant(good)
	_, stderr, err := r.try("verify-commit", head)
	if err != nil || !strings.Contains(stderr, "PLANTED") {
		t.Fatalf("verify-commit did not answer from the cache: %v\n%s", err, stderr)
	}
	if got := r.format(head, "%G? %GS"); got != "G alice@example.com" {
		t.Errorf("from the cache: %%G? %%GS = %q", got)
	}

	// Every input is in the verdict's name. Alice removed from the
	// allowed signers: verified afresh, U.
	r.allow("bob@example.com bob@example.com " + issuerPlaceholder)
	if got := r.format(head, "%G?"); got != "U" {
		t.Errorf("alice no longer allowed: %%G? = %q, want U", got)
	}
	_, stderr, _ = r.try("verify-commit", head)
	if strings.Contains(stderr, "PLANTED") {
		t.Errorf("a changed allowed-signers file was answered from the cache:\n%s", stderr)
	}
	// The file as it was: the same name, the kept verdict.
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	if _, stderr, _ = r.try("verify-commit", head); !strings.Contains(stderr, "PLANTED") {
		t.Errorf("the same inputs were verified afresh:\n%s", stderr)
	}
	// Another trusted root, the same keys in other bytes.
	root, err := os.ReadFile(stack.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	respaced := filepath.Join(t.TempDir(), "trusted_root.json")
	os.WriteFile(respaced, append([]byte(" "), root...), 0o644)
	r.git("config", "gitsign.trustedRoot", respaced)
	if _, stderr, err = r.try("verify-commit", head); err != nil || strings.Contains(stderr, "PLANTED") {
		t.Errorf("another trusted root: %v\n%s", err, stderr)
	}
	r.git("config", "gitsign.trustedRoot", stack.TrustedRootPath)

	// Another gitsign-core executable (an upgrade), which verifies for the
	// gitsign beside it: its own verdicts.
	runtimeDir := t.TempDir()
	r.setenv("XDG_RUNTIME_DIR=" + runtimeDir)
	other := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"gitsign", front.CoreName} {
		if err := os.WriteFile(filepath.Join(other, name), exe, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	otherGitsign := []string{"-c", "gpg.x509.program=" + filepath.Join(other, "gitsign"), "verify-commit", head}
	if _, stderr, err = r.try(otherGitsign...); err != nil || strings.Contains(stderr, "PLANTED") {
		t.Errorf("another executable: %v\n%s", err, stderr)
	}
	r.plant(r.verdictEntries())
	if _, stderr, _ = r.try(otherGitsign...); !strings.Contains(stderr, "PLANTED") {
		t.Errorf("the other executable did not keep its own verdict:\n%s", stderr)
	}
	// The same file rewritten in place, its modification time kept (cp -p,
	// rsync -a over it): a new build as far as the cache knows, whatever
	// its bytes, where the executable's change time is read
	// (gitsign/gpg/verdicts_*.go).
	if slices.Contains([]string{"linux", "darwin", "freebsd", "netbsd"}, runtime.GOOS) {
		stopVerifyServers(t, runtimeDir) // else gitsign-core's file is busy
		// Both: the verifier is gitsign-core where the verify server runs,
		// gitsign itself elsewhere.
		for _, name := range []string{"gitsign", front.CoreName} {
			p := filepath.Join(other, name)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, exe, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}
		if _, stderr, err = r.try(otherGitsign...); err != nil || strings.Contains(stderr, "PLANTED") {
			t.Errorf("an executable rewritten in place: %v\n%s", err, stderr)
		}
	}
	// GODEBUG changes what crypto/x509 accepts.
	r.setenv("GODEBUG=x509negativeserial=1")
	if _, stderr, err = r.try("verify-commit", head); err != nil || strings.Contains(stderr, "PLANTED") {
		t.Errorf("under another GODEBUG: %v\n%s", err, stderr)
	}
	r.unsetenv("GODEBUG")
	// Switched off: verified every time, nothing kept.
	before := r.verdictLines()
	for _, off := range [][]string{{"-c", "gitsign.verifyCache=false"}, {"-c", "gitsign.verifyCache=true"}} {
		if off[1] == "gitsign.verifyCache=true" {
			r.setenv("GITSIGN_VERIFY_CACHE=false")
		}
		if _, stderr, err = r.try(append(off, "verify-commit", head)...); err != nil || strings.Contains(stderr, "PLANTED") {
			t.Errorf("%v: %v\n%s", off, err, stderr)
		}
	}
	r.unsetenv("GITSIGN_VERIFY_CACHE")
	if n := r.verdictLines(); n != before {
		t.Errorf("with the cache off, %d verdicts kept", n-before)
	}

	// A cache whose key is gone (a cache directory copied from elsewhere)
	// is verified afresh, and kept again under the new key.
	if err := os.Remove(filepath.Join(filepath.Dir(r.dir), "waxseal", "gitsign-verdicts.key")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err = r.try("verify-commit", head); err != nil || strings.Contains(stderr, "PLANTED") {
		t.Errorf("without the key: %v\n%s", err, stderr)
	}

	// Failures are not kept.
	before = r.verdictLines()
	hdr, msg, _ := strings.Cut(r.git("cat-file", "commit", head), "\n\n")
	cmd := r.cmd("hash-object", "-t", "commit", "-w", "--stdin")
	cmd.Stdin = strings.NewReader(hdr + "\n\n" + strings.Replace(msg, "first", "forged", 1))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.TrimSpace(string(out))
	if got := r.format(forged, "%G?"); got != "B" {
		t.Errorf("altered commit: %%G? = %q, want B", got)
	}
	if n := r.verdictLines(); n != before {
		t.Errorf("a bad signature was kept (%d entries more)", n-before)
	}
}

// TestVerdictCacheKeepsCertificateChecks: commits signed with one
// certificate (the agent's, for a rebase or a day's work) have its chain and
// SCT checked once: the first commit shown keeps its verdict and the
// certificate's check, the next ones their verdicts only. A kept check that
// does not decode is not believed: verified afresh, and kept again.
func TestVerdictCacheKeepsCertificateChecks(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	r.allow("alice@example.com alice@example.com " + issuerPlaceholder)
	useAgent(t, r, stack, "alice@example.com")
	var commits []string
	for _, msg := range []string{"one", "two", "three"} {
		commits = append(commits, r.commit(msg, "-S"))
	}
	if n := len(r.verdictEntries()); n != 0 {
		t.Fatalf("%d entries kept before any verification", n)
	}
	wantEntries := func(what string, verdicts, certificates int) {
		t.Helper()
		if v, c := countEntries(r.verdictEntries()); v != verdicts || c != certificates {
			t.Fatalf("%s: %d verdicts and %d certificate checks kept, want %d and %d", what, v, c, verdicts, certificates)
		}
	}
	if got := r.format(commits[0], "%G? %GS"); got != "G alice@example.com" {
		t.Fatalf("first commit: %%G? %%GS = %q", got)
	}
	wantEntries("first commit shown", 1, 1)
	if got := r.format(commits[1], "%G? %GS"); got != "G alice@example.com" {
		t.Fatalf("second commit: %%G? %%GS = %q", got)
	}
	wantEntries("second commit shown", 2, 1)
	if lines := r.verdictLines(); lines != 3 {
		t.Fatalf("%d entry lines, want 3: the certificate's check was kept again", lines)
	}

	// The kept check replaced, under the cache's own key, by one that does
	// not decode: the third commit is verified in full and still G.
	r.rewrite(r.verdictEntries(), func(v []byte) ([]byte, bool) { return []byte{0xff, 0xff, 0xff}, !isVerdict(v) })
	if got := r.format(commits[2], "%G? %GS"); got != "G alice@example.com" {
		t.Fatalf("third commit, the kept check garbled: %%G? %%GS = %q", got)
	}
	if lines := r.verdictLines(); lines != 6 {
		t.Fatalf("%d entry lines, want 6: the third verdict and the certificate's check kept again", lines)
	}
}
