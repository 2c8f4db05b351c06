// Command gitsign-core signs git commits and tags keylessly and runs
// gitsign's commands for people and CI. Users run gitsign, the program git
// starts (cmd/gitsign): it hands every signature git asks about to a
// gitsign-core kept running (the verify server) and everything else to
// gitsign-core, found next to it or on PATH. Installed alone, gitsign-core
// is a complete gitsign too, only slower to start for each signature,
// which matters for `git log --show-signature`.
//
// As git's x509 signing program it speaks gpgsm's protocol exactly as git
// calls it:
//
//	gitsign-core --status-fd=2 -bsau KEY             # sign stdin, armored CMS on stdout
//	gitsign-core --status-fd=1 --verify SIGFILE -    # verify stdin against SIGFILE
//	gitsign-core --verify-server SOCKET              # the verify server gitsign starts
//
// For people and CI:
//
//	gitsign verify [REV | RANGE]...   e.g. gitsign verify origin/main..HEAD
//	gitsign version
//
// Configuration: git config gitsign.{server,fulcio,rekor,issuer,clientID,
// redirectURL,tokenProvider,trustedRoot,allowedSigners,logPath,matchCommitter,
// verifyCache,verifyServer},
// or GITSIGN_* environment variables (see 'gitsign --help').
//
// Exit codes: 0 success, 1 failure (including a signature that does not
// verify), 2 usage error.
package main

import (
	"context"
	"os"

	"github.com/waxseal/waxseal/gitsign/cli"
	"github.com/waxseal/waxseal/gitsign/front"
)

// version is set at release time (-ldflags "-X main.version=v1.2.3").
var version = ""

func main() {
	os.Unsetenv(front.DelegatedEnv)
	cli.Version = version
	os.Exit(cli.Run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
}
