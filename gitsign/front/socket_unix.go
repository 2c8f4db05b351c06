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

// SocketDir is the directory the verify servers' sockets are in, created
// if missing: waxseal in $XDG_RUNTIME_DIR when that is this user's, else
// (or when that one is not fit) waxseal-UID in $TMPDIR (default /tmp). It
// must be a directory of this user's that no one else may enter or write
// to, not a link.
func SocketDir(getenv func(string) string) (string, error) {
	var dirs []string
	if rt := getenv("XDG_RUNTIME_DIR"); rt != "" && filepath.IsAbs(rt) && ownDir(rt) {
		dirs = append(dirs, filepath.Join(rt, "waxseal"))
	}
	tmp := getenv("TMPDIR")
	if tmp == "" || !filepath.IsAbs(tmp) {
		tmp = "/tmp"
	}
	dirs = append(dirs, filepath.Join(tmp, "waxseal-"+strconv.Itoa(os.Getuid())))
	var err error
	for _, dir := range dirs {
		if err = os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			continue
		}
		if err = CheckPrivateDir(dir); err == nil {
			return dir, nil
		}
	}
	return "", err
}

// ownDir tells whether dir is a directory of this user's (not a link).
func ownDir(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
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
