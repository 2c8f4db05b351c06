//go:build unix

package gpg

import (
	"io/fs"
	"strconv"
	"syscall"
)

// appendFileID appends the device and inode of fi: a reinstall that keeps
// the size and modification time still makes a new file.
func appendFileID(b []byte, fi fs.FileInfo) []byte {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		b = strconv.AppendUint(b, uint64(st.Dev), 10)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(st.Ino), 10)
	}
	return b
}
