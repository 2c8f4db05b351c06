//go:build unix

package verdicts

import (
	"io/fs"
	"syscall"
)

// appendLine appends line to the file at p, creating it, in one write, and
// returns the file's size after. It uses plain system calls: os.OpenFile
// starts the runtime's network poller for the first file a process opens,
// which a process that opens one file and exits pays in full.
func appendLine(p string, line []byte) (int64, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(p, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer syscall.Close(fd)
	for {
		var n int
		n, err = syscall.Write(fd, line)
		if err == syscall.EINTR {
			continue
		}
		if err == nil && n != len(line) {
			err = syscall.EIO // a short append leaves a torn line, which fails its tag
		}
		break
	}
	if err != nil {
		return 0, &fs.PathError{Op: "write", Path: p, Err: err}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return 0, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	return st.Size, nil
}
