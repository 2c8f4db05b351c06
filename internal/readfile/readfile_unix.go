//go:build unix

package readfile

import (
	"errors"
	"io/fs"
	"syscall"
)

// Read returns the contents of the named file, with errors as os.ReadFile
// reports them (*fs.PathError, so errors.Is(err, fs.ErrNotExist) works).
func Read(name string) ([]byte, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	size := int(st.Size) + 1 // one more, to see the end in one read
	if size < 512 {
		size = 512
	}
	data := make([]byte, 0, min(size, maxSize))
	for {
		n, err := syscall.Read(fd, data[len(data):cap(data)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		if n <= 0 {
			return data, nil
		}
		data = data[:len(data)+n]
		if len(data) == cap(data) {
			if len(data) >= maxSize {
				return nil, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
			}
			data = append(data, 0)[:len(data)]
		}
	}
}

var errTooLarge = errors.New("file too large")
