//go:build !linux

package agent

import "net"

// checkPeer relies on the socket's permissions where SO_PEERCRED is not available.
func checkPeer(c *net.UnixConn) error { return nil }
