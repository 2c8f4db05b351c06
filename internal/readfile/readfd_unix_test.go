//go:build unix

package readfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// ReadFD reads up to max bytes, and refuses one more, whatever fstat said.
func TestReadFDLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, c := range []struct {
		size, max, statSize int64
		ok                  bool
	}{
		{32, 32, 32, true},
		{33, 32, 33, false},
		{33, 32, 0, false}, // grew after fstat
		{0, 32, 0, true},
		{1000, 600, 10, false},
		{600, 600, 10, true},
	} {
		want := bytes.Repeat([]byte{'k'}, int(c.size))
		os.WriteFile(p, want, 0o600)
		fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ReadFD(fd, p, c.statSize, c.max)
		syscall.Close(fd)
		if c.ok && (err != nil || !bytes.Equal(got, want)) {
			t.Errorf("%+v: %d bytes, %v", c, len(got), err)
		}
		if !c.ok && !errors.Is(err, errTooLarge) {
			t.Errorf("%+v: %v, want too large", c, err)
		}
	}
}
