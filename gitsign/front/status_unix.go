//go:build unix

package front

import (
	"io"
	"syscall"
)

// openFD is the open descriptor fd, written to as it is: no os.File,
// whose finalizer would close it.
func openFD(fd int) (io.Writer, bool) {
	var st syscall.Stat_t
	if fd < 0 || syscall.Fstat(fd, &st) != nil {
		return nil, false
	}
	return fdWriter(fd), true
}

// fdWriter writes to a descriptor.
type fdWriter int

func (w fdWriter) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := syscall.Write(int(w), p[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}
