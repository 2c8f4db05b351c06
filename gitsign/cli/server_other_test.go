//go:build !linux

package cli

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
)

// As cmd/gitsign does where there is no verify server (verify_other.go):
// the test binary, run as gitsign, verifies in-process.
func init() {
	front.VerifyHere = func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		e := &gpg.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, CalledByGit: true}
		return gpg.Run(ctx, e, args, nil)
	}
}

// stopVerifyServers: the verify server runs on Linux only.
func stopVerifyServers(t *testing.T, runtime string) {}

func verifyClient(args []string) int { return 2 }
