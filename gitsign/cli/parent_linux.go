package cli

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// watchParent has the kernel signal this process when the process that
// started it exits: git killed on its own (by a supervisor, or an editor
// cancelling a commit) would otherwise leave gitsign to record a signature
// for an object that will never exist. onGone is then called. The kernel
// signals when the parent's thread that started this process exits, which
// a threaded parent's worker may do while the parent lives on: a signal
// counts only if the parent process changed (this one was re-parented).
// The signal is one of its own, so that SIGTERM from the user still means
// stop. gone reports a parent already gone; stop ends the watch.
func watchParent(onGone func()) (gone bool, stop func()) {
	ppid := os.Getppid()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGUSR2)
	if unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGUSR2), 0, 0, 0) != nil {
		signal.Stop(sig)
		return false, func() {}
	}
	if os.Getppid() != ppid {
		signal.Stop(sig)
		return true, func() {}
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-sig:
				if os.Getppid() != ppid {
					onGone()
					return
				}
			case <-done:
				return
			}
		}
	}()
	return false, func() {
		unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0)
		close(done)
		signal.Stop(sig)
	}
}
