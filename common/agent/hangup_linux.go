package agent

import (
	"context"
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// watchHangup calls cancel if the peer of c hangs up while a request is
// being answered: a login whose user gave up (Ctrl-C, a client timeout)
// stops asking the CA for a certificate nobody will use. A peer that only
// shut its writing side (a one-shot client: socat, nc -N) still reads the
// answer and is not a hang-up. stop ends the watch, leaving c ready for the
// next request.
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
			n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			switch {
			case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
				return false // nothing yet: wait until there is
			case errors.Is(err, syscall.ECONNRESET):
				cancel() // gone, with our answers to it unread
			case err == nil && n == 0:
				// End of its requests: gone (POLLHUP), or only done
				// writing and waiting for the answer.
				p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				if _, perr := unix.Poll(p, 0); perr == nil && p[0].Revents&unix.POLLHUP != 0 {
					cancel()
				}
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
