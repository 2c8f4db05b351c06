//go:build !unix

package front

import (
	"io"
	"os"
)

// openFD is the descriptor fd, when open.
func openFD(fd int) (io.Writer, bool) {
	f := os.NewFile(uintptr(fd), "status-fd")
	if f == nil {
		return nil, false
	}
	if _, err := f.Stat(); err != nil {
		return nil, false
	}
	return f, true
}
