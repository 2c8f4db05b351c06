package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestObjectStore reads every object of a repository, loose, packed (with
// deltas) and through an alternate, and compares it with git cat-file.
func TestObjectStore(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	base := t.TempDir()
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return string(out)
	}
	repo := filepath.Join(base, "repo")
	os.Mkdir(repo, 0o755)
	git(repo, "init", "-q")
	big := bytes.Repeat([]byte("line of a file that changes a little in every commit\n"), 200)
	for i := range 20 {
		big = append(big, fmt.Sprintf("change %d\n", i)...)
		os.WriteFile(filepath.Join(repo, "f"), big, 0o644)
		git(repo, "add", "f")
		git(repo, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
		if i == 10 {
			git(repo, "gc", "-q", "--aggressive") // packs with deltas; the rest stays loose
		}
	}
	git(repo, "tag", "-a", "-m", "a tag", "v1")
	// A clone that borrows the objects through objects/info/alternates.
	clone := filepath.Join(base, "clone")
	git(base, "clone", "-q", "--shared", repo, clone)
	os.WriteFile(filepath.Join(clone, "g"), []byte("own object\n"), 0o644)
	git(clone, "add", "g")
	git(clone, "commit", "-q", "-m", "in the clone")

	for _, dir := range []string{repo, clone} {
		ids := strings.Fields(git(dir, "rev-list", "--objects", "--no-object-names", "--all"))
		ids = append(ids, strings.TrimSpace(git(dir, "rev-parse", "v1")))
		if len(ids) < 60 {
			t.Fatalf("only %d objects", len(ids))
		}
		s := newObjectStore(filepath.Join(dir, ".git"))
		for _, id := range ids {
			typ, raw, err := s.read(id, 64<<20)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if want := strings.TrimSpace(git(dir, "cat-file", "-t", id)); typ != want {
				t.Errorf("%s: type %s, want %s", id, typ, want)
			}
			if want := git(dir, "cat-file", typ, id); string(raw) != want {
				t.Errorf("%s: content differs from git cat-file", id)
			}
			if err := checkID("sha1", id, typ, raw); err != nil {
				t.Error(err)
			}
		}
		if _, _, err := s.read(strings.Repeat("0", 40), 64<<20); err == nil {
			t.Error("missing object: no error")
		}
		s.Close()
	}
}
