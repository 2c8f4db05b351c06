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
	return ReadFD(fd, name, st.Size, maxSize-1) // maxSize itself is too large, as always
}

// ReadFD reads the open file fd, named name in errors, to its end: size
// is what fstat said, for one read of the whole; more than max bytes is an
// error.
func ReadFD(fd int, name string, size, max int64) ([]byte, error) {
	size++ // one more, to see the end in one read
	if size < 512 {
		size = 512
	}
	data := make([]byte, 0, min(size, max+1))
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
		if int64(len(data)) > max {
			return nil, &fs.PathError{Op: "read", Path: name, Err: errTooLarge}
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

var errTooLarge = errors.New("file too large")
