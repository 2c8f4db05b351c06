//go:build unix

package agent

import (
	"fmt"
	"io/fs"
	"os"
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
