// Command gitsign signs and verifies git commits and tags keylessly. Set it
// as git's x509 signing program and every git command that signs or
// verifies works with an OpenID identity instead of a key:
//
//	git config --global gpg.format x509
//	git config --global gpg.x509.program gitsign
//	git config --global commit.gpgsign true
//	git config gitsign.allowedSigners .gitsigners   # who may sign, for %G? and merge --verify-signatures
//
// git starts it once for every signature it shows, and start-up is most
// of what a check costs, so this program links no verifier: it hands each
// signature git asks about (`gitsign --status-fd=1 --verify SIGFILE -`) to
// the verify server, a gitsign-core kept running between git's calls,
// which it starts when none runs (gitsign/front); the server runs on
// Linux, and elsewhere this program verifies in-process. Everything else
// (signing, `gitsign verify RANGE`, help) it hands to gitsign-core itself.
// It finds gitsign-core next to itself or on PATH; release archives ship
// both.
//
// Exit codes: 0 success, 1 failure (including a signature that does not
// verify), 2 usage error.
package main

import (
	"context"
	"os"

	"github.com/waxseal/waxseal/gitsign/front"
)

// version is set at release time (-ldflags "-X main.version=v1.2.3").
var version = ""

func main() {
	front.Version = version
	os.Exit(front.Main(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}
