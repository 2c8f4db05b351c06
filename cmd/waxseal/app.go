package main

import (
	"context"
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/internal/clierr"
)

// env bundles what a command may touch, so that every command runs
// in-process in tests exactly as from a shell.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	app := &cli.App{
		Name:    "waxseal",
		Version: versionString(),
		Usage:   "keyless signing: sign and verify with an OpenID identity, recorded in a transparency log",
		Description: `waxseal signs any file with a short-lived certificate bound to your OpenID
identity (an email, a CI workflow), records the signature in a public
append-only transparency log, and writes a Sigstore bundle that verifies
offline — with waxseal, cosign or any Sigstore client.

Start here:
   waxseal demo                      run the whole flow on this machine, offline
   waxseal serve --dev-oidc          run a CA, logs and a development OIDC issuer
   waxseal trust init --from URL     pin a server's trusted root
   waxseal sign FILE                 sign (writes FILE.sigstore.json)
   waxseal verify FILE --certificate-identity ID --certificate-oidc-issuer URL

Exit codes: 0 success, 1 failure (a signature that does not verify included), 2 usage error.`,
		Writer:          stdout,
		ErrWriter:       stderr,
		Reader:          stdin,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {},
		OnUsageError: func(c *cli.Context, err error, isSub bool) error {
			return clierr.UsageError{Msg: err.Error()}
		},
		Commands: []*cli.Command{
			e.demoCommand(),
			e.serveCommand(),
			withTokenFlags(e.signCommand()),
			e.verifyCommand(),
			e.trustCommand(),
			e.logCommand(),
			e.devCommand(),
			e.signBundleCommand(),
			e.verifyBundleCommand(),
			e.agentCommand(),
			e.loginCommand(),
			e.logoutCommand(),
		},
	}
	// A command's usage error is the app's: one line and a hint on stderr,
	// not the command's help on stdout, where --json readers look.
	var quiet func([]*cli.Command)
	quiet = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if c.OnUsageError == nil {
				c.OnUsageError = app.OnUsageError
			}
			quiet(c.Subcommands)
		}
	}
	quiet(app.Commands)
	if err := applyUserConfig(app); err != nil {
		return e.report(err)
	}
	err := app.RunContext(ctx, intersperse(app, args))
	if err == nil {
		return clierr.ExitOK
	}
	return e.report(err)
}

func (e *env) report(err error) int {
	return clierr.Report(e.stderr, "waxseal", err, "run 'waxseal --help' or 'waxseal COMMAND --help'")
}

func (e *env) warnf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "waxseal: "+format+"\n", a...)
}
