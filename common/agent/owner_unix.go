//go:build unix

package agent

import (
	"fmt"
	"io/fs"
	"os"
	"sync"
	"syscall"
)

// checkPrivate reports whether fi is owned by this user and closed to group and others.
func checkPrivate(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%w: cannot read the owner of %s", ErrInsecure, path)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not %d", ErrInsecure, path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%w: %s has mode %04o (want no group or other access)", ErrInsecure, path, fi.Mode().Perm())
	}
	return nil
}

// ownedByMe tells a file owned by this process's effective user.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// ownerOnly makes the files this process creates private to its user until
// restore is called: a socket is created by bind with the umask's mode, and
// a client that looks at it before a later chmod would find it open to
// others (ssh-agent binds under umask 0177 for the same reason). The umask
// is the process's: 0077, not 0177, so that a directory another goroutine
// makes meanwhile is still usable by its owner.
func ownerOnly() (restore func()) {
	// One at a time: two that overlap would restore each other's 0077.
	umaskMu.Lock()
	old := syscall.Umask(0o077)
	return func() {
		syscall.Umask(old)
		umaskMu.Unlock()
	}
}

var umaskMu sync.Mutex
