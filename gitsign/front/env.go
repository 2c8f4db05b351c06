package front

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// UserTerminal is where interactive instructions and signing errors go:
// the controlling terminal when there is one (tty true), else stderr. git
// before 2.40 drops a signing program's stderr.
func UserTerminal(stderr io.Writer) (out io.Writer, tty bool, closeOut func()) {
	if f, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		return f, true, func() { f.Close() }
	}
	return stderr, false, func() {}
}

// AlsoToLog returns w copied to the log file at path (gitsign.logPath,
// resolved as the other paths in the configuration are: "~/", and relative
// to the repository), after a line naming the invocation: git hides what
// gitsign says while it signs. log is the file, nil when it cannot be
// written to, which is said on w.
func AlsoToLog(path string, w io.Writer, args []string) (out, log io.Writer, closeLog func()) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintf(w, "gitsign: warning: gitsign.logPath: %v\n", err)
		return w, nil, func() {}
	}
	fmt.Fprintf(f, "--- %s gitsign %s\n", time.Now().Format(time.RFC3339), strings.Join(args, " "))
	return logFirst{log: f, w: w}, f, func() { f.Close() }
}

// logFirst writes to the log, then to w: when git has gone, writing to its
// pipe fails (or ends the process, as a write to a closed stderr does), and
// the log is where the explanation is looked for.
type logFirst struct {
	log io.Writer
	w   io.Writer
}

func (l logFirst) Write(p []byte) (int, error) {
	l.log.Write(p)
	return l.w.Write(p)
}

// InRepo resolves a path from the configuration. Relative paths are the
// repository's: git runs its helpers from the top of the work tree;
// elsewhere, git is asked where that is.
func InRepo(ctx context.Context, dir string, calledByGit bool, getenv func(string) string, cfg *Config, p string) string {
	home, _ := os.UserHomeDir()
	base := dir
	switch {
	case filepath.IsAbs(p) || strings.HasPrefix(p, "~/"):
	case !calledByGit:
		base = TopLevel(ctx, dir)
	case getenv("GIT_WORK_TREE") != "":
		base = workTree(getenv("GIT_WORK_TREE"), dir, getenv("GIT_PREFIX"))
	case cfg.Bare && getenv("GIT_DIR") != "":
		// git --git-dir=REPO.git, from elsewhere: no work tree, so the
		// repository is its git directory.
		base = getenv("GIT_DIR")
	}
	return Resolve(p, base, home)
}

// workTree is the work tree that GIT_WORK_TREE (or git --work-tree) names,
// for a program git runs from dir. Run from outside that work tree, git
// stays where it was started. Run from inside it, git moves to its top and
// passes a relative value on as given, relative to where it was started:
// prefix (GIT_PREFIX) below the top; commands that write to the work tree
// pass "." instead.
func workTree(gwt, dir, prefix string) string {
	if filepath.IsAbs(gwt) {
		return gwt
	}
	if dir == "" {
		dir, _ = os.Getwd()
	}
	if gwt == "." {
		return dir
	}
	return filepath.Join(dir, prefix, gwt)
}
