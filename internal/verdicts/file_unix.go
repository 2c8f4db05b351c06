//go:build unix

package verdicts

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/waxseal/waxseal/internal/readfile"
)

// The cache's files are opened with plain system calls: os.OpenFile starts
// the runtime's network poller for the first file a process opens, which a
// process that opens two files and exits pays in full. None of them is
// followed if it is a symbolic link or waited on if it is a FIFO, and each
// must be a regular file of this user's: whoever planted something else in
// the cache directory gets a miss, not a hang or a write elsewhere.

func openChecked(p string, flags int) (int, *syscall.Stat_t, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(p, flags|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return -1, nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return -1, nil, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || int(st.Uid) != os.Geteuid() {
		syscall.Close(fd)
		return -1, nil, &fs.PathError{Op: "open", Path: p, Err: errNotOurs}
	}
	return fd, &st, nil
}

// readChecked returns the contents of the regular file p, refusing one
// larger than max, and with private one that group or others may access.
func readChecked(p string, max int64, private bool) ([]byte, error) {
	fd, st, err := openChecked(p, syscall.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	if private && st.Mode&0o077 != 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: errNotPrivate}
	}
	if st.Size > max {
		return nil, &fs.PathError{Op: "read", Path: p, Err: errTooLarge}
	}
	return readfile.ReadFD(fd, p, st.Size, max)
}

// appendChecked appends line to the regular file p, creating it, in one
// write, unless it already holds more than max; it returns the size before.
func appendChecked(p string, line []byte, max int64) (int64, error) {
	fd, st, err := openChecked(p, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	if st.Size > max {
		return st.Size, &fs.PathError{Op: "write", Path: p, Err: errTooLarge}
	}
	for {
		n, err := syscall.Write(fd, line)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && n != len(line) {
			err = syscall.EIO // a short append leaves a torn line, which fails its tag
		}
		if err != nil {
			return st.Size, &fs.PathError{Op: "write", Path: p, Err: err}
		}
		return st.Size, nil
	}
}

// dirOK says whether dir is a directory (not a link to one) of this
// user's that no one else may write to.
func dirOK(dir string) bool {
	var st syscall.Stat_t
	if err := syscall.Lstat(dir, &st); err != nil {
		return false
	}
	return st.Mode&syscall.S_IFMT == syscall.S_IFDIR && int(st.Uid) == os.Geteuid() && st.Mode&0o022 == 0
}

// mayCreate says whether this user may create p: the nearest directory on
// its way that exists is this user's. root running with another user's
// HOME (sudo) leaves that user's cache and key alone rather than plant
// files the user could not use.
func mayCreate(p string) bool {
	for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
		var st syscall.Stat_t
		if err := syscall.Stat(dir, &st); err == nil {
			return int(st.Uid) == os.Geteuid()
		}
		if parent := filepath.Dir(dir); parent == dir {
			return false
		}
	}
}
