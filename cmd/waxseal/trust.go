package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/trust/trustfetch"
	"github.com/waxseal/waxseal/internal/clierr"
)

func (e *env) trustCommand() *cli.Command {
	return &cli.Command{
		Name:      "trust",
		UsageText: "waxseal trust COMMAND [options]   (init, show, export)",
		Usage:     "pin or show the trusted root that verification uses",
		Subcommands: []*cli.Command{{
			Name:      "init",
			Usage:     "fetch an instance's trusted root and signing config and pin them",
			UsageText: "waxseal trust init --from URL [--expect SHA256]",
			Description: `Downloads URL/trusted_root.json and URL/signing_config.json, checks that they
parse, and pins them in the config directory ($WAXSEAL_CONFIG_DIR, or the
user's config directory + /waxseal). Every later sign and verify uses them
unless told otherwise. Compare the printed fingerprint with the one the server
printed at start (or pass it as --expect) before trusting it. A root pinned
before is replaced, which is said, and kept as trusted_root.previous.json.`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "from", Required: true, Usage: "base `URL` of the instance"},
				&cli.StringFlag{Name: "expect", Usage: "refuse unless the trusted root's fingerprint is `sha256:HEX`"},
				jsonFlag,
			},
			Action: func(c *cli.Context) error {
				root, signing, err := trustfetch.Fetch(c.Context, httpClient, c.String("from"))
				if errors.Is(err, trustfetch.ErrInvalidURL) {
					return clierr.Usagef("--from: %v", err)
				}
				if err != nil {
					return clierr.WithHint(err, "is a waxseal server running at %s?", trustfetch.Redacted(c.String("from")))
				}
				fp := trust.Fingerprint(root)
				// As waxseal serve prints it (sha256:HEX), or as sha256sum
				// would: bare hex, in either case.
				want := strings.ToLower(strings.TrimSpace(c.String("expect")))
				if want != "" && !strings.HasPrefix(want, "sha256:") {
					want = "sha256:" + want
				}
				if c.IsSet("expect") && (len(want) != len("sha256:")+64 || strings.Trim(want[len("sha256:"):], "0123456789abcdef") != "") {
					return clierr.Usagef("--expect %q: want the trusted root's fingerprint, sha256:HEX (64 hex digits), as waxseal serve prints it", c.String("expect"))
				}
				if want != "" && want != fp {
					return fmt.Errorf("trusted root fingerprint is %s, expected %s: not pinned", fp, want)
				}
				dir, err := trust.Dir()
				if err != nil {
					return err
				}
				// Another root pinned before is replaced, and said so:
				// what only it trusted no longer verifies. Its copy is
				// kept, to verify that with or go back to.
				var replaced, kept string
				if _, old, err := trust.ReadPinnedRoot(dir); err == nil && trust.Fingerprint(old) != fp {
					replaced = trust.Fingerprint(old)
					if kept, err = trust.KeepPrevious(dir, old); err != nil {
						return fmt.Errorf("keeping the trusted root pinned before (%s): %w; nothing was pinned", replaced, err)
					}
				}
				if err := trust.Pin(dir, root, signing); err != nil {
					return err
				}
				if c.Bool("json") {
					out := map[string]string{"dir": dir, "fingerprint": fp, "from": c.String("from")}
					if replaced != "" {
						out["replaced"], out["previous"] = replaced, kept
					}
					return e.printJSON(out)
				}
				fmt.Fprintf(e.stdout, "pinned trusted root %s from %s in %s\n", fp, c.String("from"), dir)
				if replaced != "" {
					fmt.Fprintf(e.stdout, "replaced trusted root %s, kept as %s: what only it trusted no longer verifies here (verify that with --trusted-root %s)\n", replaced, kept, kept)
				}
				return nil
			},
		}, {
			Name:  "show",
			Usage: "describe the pinned (or given) trusted root",
			Flags: []cli.Flag{trustedRootFlag},
			Action: func(c *cli.Context) error {
				root, err := loadRoot(c)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "fingerprint: %s\n", trust.Fingerprint(root.Bytes()))
				for _, ca := range root.CAs {
					anchor := ca.Chain[len(ca.Chain)-1]
					fmt.Fprintf(e.stdout, "CA        %s  root %q, %d certificate(s), trusted from %s\n", ca.URI, anchor.Subject.CommonName, len(ca.Chain), ca.ValidFor.Start.Format(time.RFC3339))
				}
				for _, l := range root.TLogs {
					fmt.Fprintf(e.stdout, "log       %s  id %x\n", l.BaseURL, l.ID)
				}
				for _, l := range root.CTLogs {
					fmt.Fprintf(e.stdout, "CT log    %s  id %x\n", l.BaseURL, l.ID)
				}
				return nil
			},
		}, {
			Name:      "export",
			Usage:     "write the trusted root's CA certificates and log keys as PEM files, for tools that take them as files",
			UsageText: "waxseal trust export [--trusted-root FILE] DIR",
			Description: `Writes, from the pinned (or given) trusted root, into DIR:

   fulcio.pem   the CAs' certificate chains
   rekor.pub    the current transparency logs' public keys, newest first
   ctfe.pub     the current certificate-transparency logs' public keys, newest first

and prints the environment that points sigstore's own tools at them, for
example sigstore's gitsign verifying against this instance:

   eval "$(waxseal trust export ~/.config/waxseal/pem)"

A PEM file cannot say when a key or CA was trusted, and those tools read
only the first key of a key file: logs the root has retired are left out,
and what the files lose is printed as warnings. Those tools also read the
trusted root through TUF: see the server's /tuf repository.`,
			Flags: []cli.Flag{trustedRootFlag, jsonFlag},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return clierr.Usagef("trust export takes one directory")
				}
				root, err := loadRoot(c)
				if err != nil {
					return err
				}
				files, warnings, err := trust.ExportPEM(root, c.Args().First(), time.Now())
				if err != nil {
					return err
				}
				for _, w := range warnings {
					fmt.Fprintf(e.stderr, "waxseal: warning: %s\n", w)
				}
				if c.Bool("json") {
					return e.printJSON(files)
				}
				for _, v := range []string{trust.EnvRootFile, trust.EnvRekorKey, trust.EnvCTLogKeys} {
					fmt.Fprintf(e.stdout, "export %s=%s\n", v, shellQuote(files[v]))
				}
				return nil
			},
		}},
	}
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
