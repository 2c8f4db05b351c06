//go:build unix

package agent

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"
)

// watchHangup calls cancel if the peer of c closes its end while a request
// is being answered: a login whose user gave up (Ctrl-C, a timeout) stops
// asking the CA for a certificate nobody will use. stop ends the watch,
// leaving c ready for the next request.
func watchHangup(c net.Conn, cancel context.CancelFunc) (stop func()) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return func() {}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		raw.Read(func(fd uintptr) bool {
			// Looked at, not read: a next request sent early stays
			// for readMessage.
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
				return false // nothing yet: wait until there is
			case n == 0 && (err == nil || errors.Is(err, syscall.ECONNRESET)):
				cancel() // the peer hung up
			}
			return true
		})
	}()
	return func() {
		uc.SetReadDeadline(time.Unix(1, 0)) // ends the wait in raw.Read
		<-done
		uc.SetReadDeadline(time.Time{})
	}
}
