package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// isolatedGit runs git in dir with no system or global configuration and
// a fixed identity, and returns what it printed.
func isolatedGit(t *testing.T, dir string, args ...string) string {
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

// TestObjectStore reads every object of a repository, loose, packed (with
// deltas) and through an alternate, and compares it with git cat-file.
func TestObjectStore(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	base := t.TempDir()
	git := func(dir string, args ...string) string { return isolatedGit(t, dir, args...) }
	repo := filepath.Join(base, "repo")
	os.Mkdir(repo, 0o755)
	git(repo, "init", "-q")
	big := bytes.Repeat([]byte("line of a file that changes a little in every commit\n"), 200)
	// Blobs just over 1 MiB, one packed and one loose, read with a 1 MiB limit.
	overMiB := func(name string) string {
		os.WriteFile(filepath.Join(repo, name), bytes.Repeat([]byte(name), 1<<20+1), 0o644)
		return strings.TrimSpace(git(repo, "hash-object", "-w", name))
	}
	overLimit := []string{overMiB("p")}
	for i := range 20 {
		big = append(big, fmt.Sprintf("change %d\n", i)...)
		os.WriteFile(filepath.Join(repo, "f"), big, 0o644)
		git(repo, "add", "f", "p")
		git(repo, "commit", "-q", "-m", fmt.Sprintf("commit %d", i))
		if i == 10 {
			git(repo, "gc", "-q", "--aggressive") // packs with deltas; the rest stays loose
		}
	}
	git(repo, "tag", "-a", "-m", "a tag", "v1")
	overLimit = append(overLimit, overMiB("l"))
	loose := func(id string) bool {
		_, err := os.Stat(filepath.Join(repo, ".git", "objects", id[:2], id[2:]))
		return err == nil
	}
	if loose(overLimit[0]) || !loose(overLimit[1]) {
		t.Fatal("want one blob over 1 MiB packed, the other loose")
	}
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
			typ, raw, err := s.read(id, objectLimit)
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
			// Over the limit, the type is still told, deltas or not.
			if _, _, err := s.read(id, func(string) int64 { return 0 }); err == nil || err.Error() != typ+" "+id+" is larger than 0 MiB" {
				t.Errorf("%s with no room: %v", id, err)
			}
		}
		if _, _, err := s.read(strings.Repeat("0", 40), objectLimit); err == nil {
			t.Error("missing object: no error")
		}
		for _, id := range overLimit {
			if _, raw, err := s.read(id, func(string) int64 { return 1 << 20 }); err == nil || err.Error() != "blob "+id+" is larger than 1 MiB" {
				t.Errorf("%s, over the limit: %d bytes, %v", id, len(raw), err)
			}
		}
		s.Close()
	}
}

// TestVerifyAllStreams: each line is handed out, in order, as soon as it
// and those before it are decided, while the list of objects is still
// being read, so that a long range prints as it goes. Here list hands out
// the next object only once the previous line came out.
func TestVerifyAllStreams(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git not installed")
	}
	repo := t.TempDir()
	git := func(args ...string) string { return strings.TrimSpace(isolatedGit(t, repo, args...)) }
	git("init", "-q")
	var ids []string
	for i := range 8 {
		git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("commit %d", i))
		ids = append(ids, git("rev-parse", "HEAD"))
	}
	r, err := openRepo(t.Context(), repo)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := make(chan verifyLine, len(ids))
	var got []string
	n, err := verifyAll(r, nil, func(emit func(string)) error {
		for _, id := range ids {
			emit(id)
			select {
			case l := <-out:
				got = append(got, l.Object+" "+l.Verdict)
			case <-time.After(time.Minute):
				return fmt.Errorf("%s: no line while the list goes on", id)
			}
		}
		return nil
	}, func(l verifyLine) { out <- l })
	if err != nil || n != len(ids) {
		t.Fatalf("verifyAll: %d, %v", n, err)
	}
	for i, id := range ids {
		if want := id + " unsigned"; i >= len(got) || got[i] != want {
			t.Fatalf("line %d: got %q, want %q", i, got, want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe to write and read from two goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestLineWriterShowsStalledLines: what was written reaches the output on
// its own shortly after, even when nothing follows it (a slow object, a
// pause in git rev-list), and many lines in a row take few writes.
func TestLineWriterShowsStalledLines(t *testing.T) {
	var out syncBuffer
	w := newLineWriter(&out)
	fmt.Fprintf(w, "line 1\n")
	fmt.Fprintf(w, "line 2\n")
	for deadline := time.Now().Add(time.Minute); out.String() != "line 1\nline 2\n"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the output holds %q", out.String())
		}
	}
	fmt.Fprintf(w, "line 3\n")
	if err := w.Flush(); err != nil || out.String() != "line 1\nline 2\nline 3\n" {
		t.Fatalf("after Flush: %q, %v", out.String(), err)
	}

	var writes countingWriter
	w = newLineWriter(&writes)
	for i := range 1000 {
		fmt.Fprintf(w, "%040x good alice@example.com https://issuer.example.com log=%d subject\n", i, i)
	}
	w.Flush()
	if writes.n > 50 {
		t.Errorf("1,000 lines took %d writes", writes.n)
	}
}

type countingWriter struct {
	mu sync.Mutex
	n  int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return len(p), nil
}

// TestPacksOnlyGitReads: a repository whose pack index go-git cannot read
// (version 1, which git still writes on request), or holding an index
// without its pack (which git passes over with a warning), still has every
// object read, and exactly: those in packs go-git reads by it, the others
// by git.
func TestPacksOnlyGitReads(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("these objects are written and judged by git")
	}
	for _, c := range []struct {
		name   string
		repack func(git func(...string) string, repo string)
	}{
		{"index version 1", func(git func(...string) string, _ string) { git("-c", "pack.indexVersion=1", "repack", "-adq") }},
		{"index without its pack", func(git func(...string) string, repo string) {
			git("repack", "-adq")
			idxs, _ := filepath.Glob(filepath.Join(repo, ".git", "objects", "pack", "pack-*.idx"))
			if len(idxs) != 1 {
				t.Fatalf("%d pack indexes", len(idxs))
			}
			idx, err := os.ReadFile(idxs[0])
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(filepath.Dir(idxs[0]), "pack-"+strings.Repeat("0", 40)+".idx"), idx, 0o644)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := t.TempDir()
			git := func(args ...string) string { return isolatedGit(t, repo, args...) }
			git("init", "-q")
			for i := range 3 {
				git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("commit %d", i))
			}
			c.repack(git, repo)
			r, err := openRepo(t.Context(), repo)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ids := strings.Fields(git("rev-list", "--objects", "--no-object-names", "--all"))
			if len(ids) < 4 {
				t.Fatalf("only %d objects", len(ids))
			}
			for _, id := range ids {
				typ, raw, err := r.read(id)
				if err != nil {
					t.Fatalf("%s: %v", id, err)
				}
				if want := git("cat-file", typ, id); string(raw) != want {
					t.Errorf("%s: content differs from git cat-file", id)
				}
			}
			if _, _, err := r.read(strings.Repeat("0", 40)); err == nil {
				t.Error("missing object: no error")
			}
		})
	}
}
