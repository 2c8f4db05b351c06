package agent

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// checkPeer refuses a peer whose uid is not the agent's (SO_PEERCRED).
func checkPeer(c *net.UnixConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cred *syscall.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_PEERCRED: %w", serr)
	}
	if int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("peer uid %d (pid %d) is not %d", cred.Uid, cred.Pid, os.Geteuid())
	}
	return nil
}
