package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// watchParent has the kernel send this process SIGTERM when the process
// that started it exits: git killed on its own (by a supervisor, or an
// editor cancelling a commit) would otherwise leave gitsign to record a
// signature for an object that will never exist. interruptible turns the
// signal into a cancelled signing. It reports whether the parent was
// already gone.
func watchParent() (gone bool) {
	ppid := os.Getppid()
	if unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGTERM), 0, 0, 0) != nil {
		return false
	}
	return os.Getppid() != ppid
}
