//go:build !linux

package gpg

import (
	"context"
	"fmt"
	"io"
	"os"
)

// Serve: the verify server runs on Linux only (see package front).
func Serve(ctx context.Context, path string, ready *os.File, stderr io.Writer) int {
	fmt.Fprintf(ready, "the verify server runs on Linux only\n")
	return 1
}
