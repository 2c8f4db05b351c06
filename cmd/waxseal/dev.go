package main

import (
	"fmt"
	"net/mail"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/internal/clierr"
)

func (e *env) devCommand() *cli.Command {
	return &cli.Command{
		Name:      "dev",
		UsageText: "waxseal dev token --server URL --email EMAIL",
		Usage:     "development helpers for a server started with --dev-oidc",
		Subcommands: []*cli.Command{{
			Name:      "token",
			Usage:     "print an identity token for an email from the development OIDC issuer",
			UsageText: "waxseal dev token --server URL --email alice@example.com",
			Description: `Runs the real OAuth 2.0 authorization code flow with PKCE against the
server's development issuer (URL/oidc), acting as the browser itself, and
prints the ID token. Use it to script signing in tests and CI:

   export SIGSTORE_ID_TOKEN=$(waxseal dev token --server http://127.0.0.1:8080 --email alice@example.com)`,
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "server", Required: true, EnvVars: []string{"WAXSEAL_SERVER"}, Usage: "base `URL` of a server started with --dev-oidc"},
				&cli.StringFlag{Name: "email", Required: true, Usage: "the identity to log in as"},
			},
			Action: func(c *cli.Context) error {
				email := c.String("email")
				if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
					return clierr.Usagef("--email %q is not an email address", email)
				}
				issuer := strings.TrimRight(c.String("server"), "/") + "/oidc"
				tok, err := oidc.DevLogin(c.Context, issuer, email)
				if err != nil {
					return clierr.WithHint(err, "was the server started with --dev-oidc?")
				}
				fmt.Fprintln(e.stdout, tok)
				return nil
			},
		}},
	}
}
