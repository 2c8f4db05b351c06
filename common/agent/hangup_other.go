//go:build !unix

package agent

import (
	"context"
	"net"
)

// watchHangup is not available here: a login runs to its end.
func watchHangup(net.Conn, context.CancelFunc) (stop func()) { return func() {} }
