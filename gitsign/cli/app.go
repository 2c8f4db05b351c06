// Package cli is gitsign's command line: git's gpgsm protocol and the human
// commands, shared by the gitsign binary and by waxseal (which runs it when
// invoked under the name gitsign).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
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

// env is what a command may touch, so that every path runs in-process in
// tests exactly as from git.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	dir            string // working directory; "" is the process's
	calledByGit    bool   // in gpgsm mode, run by git from the work tree's top
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	if len(args) > 1 && isGPGInvocation(args[1:]) {
		e.calledByGit = true
		return e.gpgMode(ctx, args[1:])
	}
	app := &cli.App{
		Name:    "gitsign",
		Usage:   "keyless signing of git commits and tags",
		Version: version(),
		Description: `gitsign is git's x509 signing program: commits and tags are signed with a
short-lived certificate bound to your OpenID identity and recorded in a
transparency log, in the format sigstore's gitsign writes (offline mode).

Set it up:
   git config --global gpg.format x509
   git config --global gpg.x509.program gitsign
   git config --global gitsign.server URL        a waxseal instance (or gitsign.fulcio + gitsign.rekor)
   git config gitsign.allowedSigners FILE         who may sign: "<email-glob> <identity> <issuer>" per line

Then git commit -S, git tag -s, git verify-commit, git log --show-signature,
%G? and git merge --verify-signatures work as with gpg. Without an allowed
signer, a valid signature is "U" (good, identity not trusted), never "G";
merge --verify-signatures refuses U, and git verify-commit does too with
git config gpg.minTrustLevel fully.

Configuration (git config gitsign.KEY, or the environment variable):
   server          GITSIGN_SERVER             waxseal instance whose signing_config.json names CA, log, issuer
   fulcio          GITSIGN_FULCIO_URL         CA URL
   rekor           GITSIGN_REKOR_URL          transparency log URL
   issuer          GITSIGN_OIDC_ISSUER        OIDC issuer for interactive login
   clientID        GITSIGN_OIDC_CLIENT_ID     OIDC client ID (default sigstore)
   redirectURL     GITSIGN_OIDC_REDIRECT_URL  loopback redirect URL
   tokenProvider   GITSIGN_TOKEN_PROVIDER     force one token source (token, file, github-actions, browser, device, ...)
   trustedRoot     GITSIGN_TRUSTED_ROOT       trusted_root.json (default: pinned by 'waxseal trust init')
   allowedSigners  GITSIGN_ALLOWED_SIGNERS    allowed-signers file (relative to the repository)
   logPath         GITSIGN_LOG                copy messages to this file (git hides them)
   matchCommitter  GITSIGN_MATCH_COMMITTER    refuse to sign unless the identity is user.email
An identity token in SIGSTORE_ID_TOKEN is used first, then CI credentials,
then an interactive login.

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
			e.verifyCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(stdout, "gitsign (waxseal) %s\n", version())
					return nil
				},
			},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
	if err := app.RunContext(ctx, args); err != nil {
		return e.report(err)
	}
	return exitOK
}

func (e *env) report(err error) int {
	code := exitFail
	var ue usageError
	if errors.As(err, &ue) {
		code = exitUsage
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return int(ec)
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "flag provided but not defined") || strings.HasPrefix(msg, "Required flag") ||
		strings.HasPrefix(msg, "invalid value") || strings.HasPrefix(msg, "No help topic") {
		code = exitUsage
	}
	fmt.Fprintf(e.stderr, "gitsign: error: %s\n", msg)
	var h hinted
	if errors.As(err, &h) {
		fmt.Fprintf(e.stderr, "gitsign: hint: %s\n", h.hint)
	} else if code == exitUsage {
		fmt.Fprintf(e.stderr, "gitsign: hint: run 'gitsign --help'\n")
	}
	return code
}

// exitCode ends a command with a code after it reported for itself.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit %d", int(c)) }

// Version is the release version, set by the binary that embeds the CLI.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	return "devel"
}

// Run runs gitsign with os.Args-style args (args[0] is the program name):
// git's gpgsm protocol or the human commands. It returns the exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, stdin, stdout, stderr)
}
