//go:build linux || darwin || freebsd || netbsd

package gpg

import (
	"strconv"
	"syscall"
)

func appendStatID(b []byte, dev, ino uint64, ctime syscall.Timespec) []byte {
	b = strconv.AppendUint(b, dev, 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, ino, 10)
	b = append(b, ':')
	sec, nsec := ctime.Unix()
	b = strconv.AppendInt(b, sec, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, nsec, 10)
}
