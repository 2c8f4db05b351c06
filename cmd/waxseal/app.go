package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError marks errors in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// hinted carries an error with a hint for the user.
type hinted struct {
	err  error
	hint string
}

func (h hinted) Error() string { return h.err.Error() }
func (h hinted) Unwrap() error { return h.err }

func withHint(err error, format string, a ...any) error {
	return hinted{err, fmt.Sprintf(format, a...)}
}

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
			return usageError{err.Error()}
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
	if err := applyUserConfig(app); err != nil {
		return e.report(err)
	}
	err := app.RunContext(ctx, intersperse(app, args))
	if err == nil {
		return exitOK
	}
	return e.report(err)
}

func (e *env) report(err error) int {
	code := exitFail
	var ue usageError
	if errors.As(err, &ue) {
		code = exitUsage
	}
	msg := err.Error()
	// urfave reports unknown flags and missing arguments in its own words;
	// they are usage errors too.
	if strings.HasPrefix(msg, "flag provided but not defined") || strings.HasPrefix(msg, "Required flag") ||
		strings.HasPrefix(msg, "invalid value") || strings.HasPrefix(msg, "No help topic") {
		code = exitUsage
	}
	fmt.Fprintf(e.stderr, "waxseal: error: %s\n", msg)
	var h hinted
	if errors.As(err, &h) {
		fmt.Fprintf(e.stderr, "waxseal: hint: %s\n", h.hint)
	} else if code == exitUsage {
		fmt.Fprintf(e.stderr, "waxseal: hint: run 'waxseal --help' or 'waxseal COMMAND --help'\n")
	}
	return code
}

func (e *env) warnf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "waxseal: "+format+"\n", a...)
}
