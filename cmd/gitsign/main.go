// Command gitsign signs and verifies git commits and tags keylessly. Set it
// as git's x509 signing program and every git command that signs or
// verifies works with an OpenID identity instead of a key:
//
//	git config --global gpg.format x509
//	git config --global gpg.x509.program gitsign
//	git config --global commit.gpgsign true
//	git config gitsign.allowedSigners .gitsigners   # who may sign, for %G? and merge --verify-signatures
//
// git starts it once for every signature it shows, so this program only
// verifies, as git asks (`gitsign --status-fd=1 --verify SIGFILE -`), and
// links nothing for signing, logging in or reading repositories: start-up
// is most of what a check costs. Everything else (signing, `gitsign
// verify RANGE`, help) it hands to gitsign-core, which it finds next to
// itself or on PATH; release archives ship both.
//
// Exit codes: 0 success, 1 failure (including a signature that does not
// verify), 2 usage error.
package main

import (
	"context"
	"os"

	"github.com/waxseal/waxseal/gitsign/gpg"
)

// version is set at release time (-ldflags "-X main.version=v1.2.3").
var version = ""

func main() {
	gpg.Version = version
	os.Exit(gpg.Main(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}
