//go:build !linux

package main

import (
	"context"
	"io"
	"os"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
)

// The verify server runs on Linux only. Elsewhere gitsign links the
// verifier and checks each signature git asks about in its own process,
// rather than start gitsign-core, which links signing too, for every one.
func init() {
	front.VerifyHere = func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		e := &gpg.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv, CalledByGit: true}
		return gpg.Run(ctx, e, args, nil)
	}
}
