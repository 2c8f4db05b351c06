//go:build !linux

package agent

import (
	"context"
	"net"
)

// watchHangup is Linux only: elsewhere a login runs to its end, as before.
func watchHangup(net.Conn, context.CancelFunc) (stop func()) { return func() {} }
