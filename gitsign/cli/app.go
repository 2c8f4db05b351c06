// Package cli is gitsign's command line: git's gpgsm protocol and the human
// commands, shared by the gitsign binary and by waxseal (which runs it when
// invoked under the name gitsign).
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
	"github.com/waxseal/waxseal/internal/clierr"
)

// env is what a command may touch (gpg.Env), so that every path runs
// in-process in tests exactly as from git.
type env struct {
	gpg.Env
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{gpg.Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}}
	if len(args) == 3 && args[1] == front.ServerFlag {
		// Started by gitsign (package front), which reads "ready" or why
		// not from stdout.
		return gpg.Serve(ctx, args[2], os.Stdout, stderr)
	}
	if len(args) > 1 && front.IsInvocation(args[1:]) {
		e.CalledByGit = true
		return gpg.Run(ctx, &e.Env, args[1:], e.gpgSign)
	}
	ctx, stop := interruptible(ctx)
	defer stop()
	// The human commands are parsed with the standard library's flag
	// package: a CLI framework's package initialization would cost every
	// gitsign process, and git starts one per signature.
	if err := e.human(ctx, args[1:]); err != nil {
		return e.Report(err)
	}
	return clierr.ExitOK
}

const appHelp = `NAME:
   gitsign - keyless signing of git commits and tags

USAGE:
   gitsign [--help | --version] COMMAND [ARGS]...
   gitsign --status-fd=N -bsau KEY            (as git signs)
   gitsign --status-fd=N --verify SIGFILE -   (as git verifies)

VERSION:
   %s

DESCRIPTION:
   gitsign is git's x509 signing program: commits and tags are signed with a
   short-lived certificate bound to your OpenID identity and recorded in a
   transparency log, in the format sigstore's gitsign writes (offline mode).

   Set it up:
      git config --global gpg.format x509
      git config --global gpg.x509.program gitsign
      git config --global gitsign.server URL        a waxseal instance (or gitsign.fulcio + gitsign.rekor)
      waxseal trust init --from URL                  pin the instance's trusted root (or gitsign.trustedRoot FILE)
      git config gitsign.allowedSigners FILE         who may sign: "<email-glob> <identity> <issuer>" per line

   Each new signature is checked against the trusted root before git records
   it: with another instance's root, or none, nothing is signed, rather than
   a commit made that git shows as E.

   Then git commit -S, git tag -s, git verify-commit, git log --show-signature,
   %%G? and git merge --verify-signatures work as with gpg. Without an allowed
   signer, a valid signature is "U" (good, identity not trusted), never "G";
   merge --verify-signatures refuses U, and git verify-commit does too with
   git config gpg.minTrustLevel fully.

   git starts the gitsign program once for every signature it shows, so on
   Linux it links no verifier and starts little: it hands each signature to a
   gitsign-core kept running between git's calls (the verify server, started
   by the first check, gone after 5 idle minutes; its socket is in
   $XDG_RUNTIME_DIR/waxseal, else $TMPDIR/waxseal-UID, mode 0700), which verifies
   it in that repository with that environment as a gitsign-core started for
   it would; signing and these commands it hands to gitsign-core itself, next
   to it or on PATH. Each good verdict is kept, named by every byte verified
   (signature, object, trusted root, allowed signers) and by the gitsign-core
   executable, in the user cache directory
   ($XDG_CACHE_HOME/waxseal/gitsign-verdicts), authenticated with a key beside
   the pinned root: a signature shown again is a lookup. Changing any of
   those, or installing another gitsign-core, verifies afresh.

   Configuration (git config gitsign.KEY, or the environment variable):
      server          GITSIGN_SERVER             waxseal instance whose signing_config.json names CA, log, issuer
      fulcio          GITSIGN_FULCIO_URL         CA URL
      rekor           GITSIGN_REKOR_URL          transparency log URL
      issuer          GITSIGN_OIDC_ISSUER        OIDC issuer for interactive login
      clientID        GITSIGN_OIDC_CLIENT_ID     OIDC client ID (default sigstore)
      redirectURL     GITSIGN_OIDC_REDIRECT_URL  loopback redirect URL
      connectorID     GITSIGN_CONNECTOR_ID       upstream provider at a federating issuer, e.g. https://github.com/login/oauth
                                                 at the public-good instance's (Dex's connector_id)
      tokenProvider   GITSIGN_TOKEN_PROVIDER     force one token source: env (SIGSTORE_ID_TOKEN), github-actions,
                                                 gitlab, buildkite, agent, browser or device
      trustedRoot     GITSIGN_TRUSTED_ROOT       trusted_root.json (relative to the repository; default: pinned by 'waxseal trust init')
      allowedSigners  GITSIGN_ALLOWED_SIGNERS    allowed-signers file (relative to the repository)
      logPath         GITSIGN_LOG                copy messages to this file (git hides them)
      matchCommitter  GITSIGN_MATCH_COMMITTER    refuse to sign, before anything is logged, unless the identity
                                                 is the object's committer (or tagger) email
      verifyCache     GITSIGN_VERIFY_CACHE       false: verify every signature git asks about, rather than answer
                                                 one verified before over the same bytes from the verdict cache
      verifyServer    GITSIGN_VERIFY_SERVER      false: start no verify server; each signature is verified by a
                                                 gitsign-core of its own (slower: it starts for every one)
   Sigstore gitsign's rekorMode, timestampServerURL, fulcioRoot and
   clientSecretFile have no counterpart: the log entry always goes in the
   signature, no RFC 3161 timestamp is requested, the CA's certificates come
   from the trusted root, and no client secret is sent; signing warns (on the
   terminal, and in logPath) when they are set, and of any gitsign.KEY it does
   not know, naming the key it likely misspells.
   An identity token in SIGSTORE_ID_TOKEN is used first (one that cannot be
   used is an error, not skipped), then CI credentials, then the credential of
   a running 'waxseal agent', then an interactive login.

   Exit codes: 0 success, 1 failure (a signature that does not verify included), 2 usage error.

COMMANDS:
   verify      verify the signatures of commits and annotated tags, e.g. origin/main..HEAD
   verify-tag  verify the tag refs/tags/TAG: a tag object signed under that name (as sigstore's gitsign has it)
   version     print the version

GLOBAL OPTIONS:
   --help, -h     show help
   --version, -v  print the version
`

// human runs the commands for people and CI.
func (e *env) human(ctx context.Context, args []string) error {
	if len(args) == 0 {
		// Help, but as a usage error: a script that runs gitsign with
		// nothing to do should not pass.
		fmt.Fprintf(e.Stderr, appHelp, version())
		return clierr.ExitCode(clierr.ExitUsage)
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		if len(args) > 1 && args[0] == "help" {
			return e.human(ctx, []string{args[1], "--help"})
		}
		fmt.Fprintf(e.Stdout, appHelp, version())
		return nil
	case "-v", "--version", "-version", "version":
		fmt.Fprintf(e.Stdout, "gitsign (waxseal) %s\n", version())
		return nil
	case "verify", "verify-tag":
		return e.verifyCommandAs(ctx, args[0], args[1:])
	}
	return clierr.Usagef("unknown command %q", args[0])
}

// interruptible cancels ctx on SIGINT or SIGTERM, for work that can take a
// while: a login, a round trip to the CA or the log, a long range. Checking
// one signature for git does without: watching for signals costs every
// process a thread, and git starts one per signature it shows.
func interruptible(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// Version is the release version, set by the binary that embeds the CLI.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	// Built with go install: the module version it was built from.
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// Run runs gitsign with os.Args-style args (args[0] is the program name):
// git's gpgsm protocol or the human commands. It returns the exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, stdin, stdout, stderr)
}
