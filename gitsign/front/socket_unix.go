//go:build unix

package front

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// SocketDir is the directory the verify servers' sockets are in:
// $XDG_RUNTIME_DIR/waxseal, else waxseal-UID in the temporary directory;
// created if missing. It must be a directory of this user's that no one
// else may enter or write to, not a link.
func SocketDir(getenv func(string) string) (string, error) {
	var dir string
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) {
		dir = filepath.Join(rt, "waxseal")
	} else {
		tmp := getenv("TMPDIR")
		if tmp == "" || !filepath.IsAbs(tmp) {
			tmp = "/tmp"
		}
		dir = filepath.Join(tmp, "waxseal-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	return dir, CheckPrivateDir(dir)
}

// CheckPrivateDir checks that dir is a directory (not a link) of this
// user's that no one else may enter or write to.
func CheckPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case !ok || int(st.Uid) != os.Getuid():
		return fmt.Errorf("%s is not this user's", dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%s may be entered by other users (mode %v)", dir, fi.Mode().Perm())
	}
	return nil
}
