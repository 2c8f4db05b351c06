// Command gitsign signs and verifies git commits and tags keylessly. Set it
// as git's x509 signing program and every git command that signs or
// verifies works with an OpenID identity instead of a key:
//
//	git config --global gpg.format x509
//	git config --global gpg.x509.program gitsign
//	git config --global commit.gpgsign true
//	git config gitsign.allowedSigners .gitsigners   # who may sign, for %G? and merge --verify-signatures
//
// In that role it speaks gpgsm's protocol exactly as git calls it:
//
//	gitsign --status-fd=2 -bsau KEY             # sign stdin, armored CMS on stdout
//	gitsign --status-fd=1 --verify SIGFILE -    # verify stdin against SIGFILE
//
// For people and CI:
//
//	gitsign verify [REV | RANGE]...   e.g. gitsign verify origin/main..HEAD
//	gitsign version
//
// Configuration: git config gitsign.{server,fulcio,rekor,issuer,clientID,
// redirectURL,tokenProvider,trustedRoot,allowedSigners,logPath,matchCommitter},
// or GITSIGN_* environment variables (see 'gitsign --help').
//
// Exit codes: 0 success, 1 failure (including a signature that does not
// verify), 2 usage error.
package main

import (
	"context"
	"os"

	"github.com/waxseal/waxseal/gitsign/cli"
)

// version is set at release time (-ldflags "-X main.version=v1.2.3").
var version = ""

func main() {
	cli.Version = version
	os.Exit(cli.Run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}
