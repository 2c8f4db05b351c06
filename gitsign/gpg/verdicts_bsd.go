//go:build darwin || freebsd || netbsd

package gpg

import (
	"io/fs"
	"os"
	"syscall"
)

func executable() (string, error) { return os.Executable() }

// appendFileID appends the device, inode and change time of fi: a
// reinstall that keeps the size and modification time still makes a new
// file, or changes the old one's change time.
func appendFileID(b []byte, fi fs.FileInfo) []byte {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		b = appendStatID(b, uint64(st.Dev), uint64(st.Ino), st.Ctimespec)
	}
	return b
}
