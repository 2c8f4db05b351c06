package gitsign

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestSubjectAsGit: the subject `gitsign verify` prints is the one git
// shows (%s for a commit, %(contents:subject) for a tag), for messages
// that start with blank lines, wrap their first paragraph, end lines in
// white space or CRLF, or have no subject at all.
func TestSubjectAsGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is the judge of a subject")
	}
	repo := t.TempDir()
	git := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return string(out)
	}
	git("", "init", "-q")
	messages := []string{
		"subject\n",
		"line one\nline two\n\nbody\n",
		"\n\n  \nreal subject\n\nbody\n",
		"  indented \t \nnext line\n",
		"no newline at the end",
		"crlf one\r\ncrlf two\r\n\r\nbody\r\n",
		"\n \t\n",
		"",
		"tab\tinside\n",
		"crlf alone\r\n",
		"vtab at end\v\nsecond\n",
		"formfeed\f\n\nbody\n",
		"trailing blanks  \n\n",
	}
	for _, msg := range messages {
		commit := "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\ncommitter A <a@example.com> 1 +0000\n\n" + msg
		id := strings.TrimSpace(git(commit, "hash-object", "-t", "commit", "-w", "--stdin"))
		o, err := ParseObject("commit", []byte(commit), "sha1")
		if err != nil {
			t.Fatalf("%q: %v", msg, err)
		}
		if want := strings.TrimSuffix(git("", "log", "-1", "--format=%s", id), "\n"); o.Subject != want {
			t.Errorf("commit message %q: subject %q, git shows %q", msg, o.Subject, want)
		}
		tag := "object " + id + "\ntype commit\ntag t\ntagger A <a@example.com> 1 +0000\n\n" + msg
		tid := strings.TrimSpace(git(tag, "hash-object", "-t", "tag", "-w", "--stdin"))
		git("", "update-ref", "refs/tags/t", tid)
		o, err = ParseObject("tag", []byte(tag), "sha1")
		if err != nil {
			t.Fatalf("tag %q: %v", msg, err)
		}
		if want := strings.TrimSuffix(git("", "for-each-ref", "--format=%(contents:subject)", "refs/tags/t"), "\n"); o.Subject != want {
			t.Errorf("tag message %q: subject %q, git shows %q", msg, o.Subject, want)
		}
	}
}
