// Command waxseal is the keyless signing core as a tool: it signs and
// verifies any file with an OpenID Connect identity, inspects transparency
// logs, pins trust, and runs the whole keyless stack in one process.
//
//	waxseal demo                                  # the whole flow, offline, in one process
//	waxseal serve --data ./data --dev-oidc        # CA + logs + dev OIDC issuer on :8080
//	waxseal trust init --from http://127.0.0.1:8080
//	waxseal sign release.tar.gz                   # writes release.tar.gz.sigstore.json
//	waxseal verify release.tar.gz --certificate-identity alice@example.com \
//	    --certificate-oidc-issuer http://127.0.0.1:8080/oidc
//
// Exit codes: 0 success, 1 failure (including a signature that does not
// verify), 2 usage error.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	gitsigncli "github.com/waxseal/waxseal/gitsign/cli"
)

func main() {
	// Under the name gitsign (a link to this binary), be gitsign: one binary
	// can serve as git's x509 program, as the demo shows. gitsign watches
	// for signals itself, only where it needs to.
	if filepath.Base(os.Args[0]) == "gitsign" {
		gitsigncli.Version = versionString()
		os.Exit(gitsigncli.Run(context.Background(), os.Args, os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
