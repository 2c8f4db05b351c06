package main

import (
	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/internal/clierr"
)

// The sigstore-conformance CLI protocol:
//
//	waxseal sign-bundle [--staging] [--in-toto] --identity-token TOKEN --bundle OUT [--trusted-root F] [--signing-config F] FILE
//	waxseal verify-bundle [--staging] --bundle F (--certificate-identity SAN --certificate-oidc-issuer URL | --key PEM) [--trusted-root F] FILE|sha256:HEX
//
// Failure is a non-zero exit status.

func (e *env) signBundleCommand() *cli.Command {
	return &cli.Command{
		Name:      "sign-bundle",
		Usage:     "sign one file (sigstore-conformance CLI protocol)",
		UsageText: "waxseal sign-bundle [--in-toto] --identity-token TOKEN --bundle OUT [--trusted-root F] [--signing-config F] FILE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "staging", Usage: "accepted for protocol compatibility; waxseal has no staging instance", Hidden: true},
			&cli.BoolFlag{Name: "in-toto", Usage: "FILE is an in-toto statement: sign it as a DSSE envelope"},
			&cli.StringFlag{Name: "identity-token", Required: true, Usage: "OIDC identity `TOKEN`"},
			&cli.StringFlag{Name: "bundle", Required: true, Usage: "write the bundle to `FILE`"},
			trustedRootFlag, signingConfigFlag, serverFlag,
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return clierr.Usagef("sign-bundle takes one FILE")
			}
			return e.sign(c.Context, c, c.Args().Slice(), keys.Default)
		},
	}
}

func (e *env) verifyBundleCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify-bundle",
		Usage:     "verify one bundle (sigstore-conformance CLI protocol)",
		UsageText: "waxseal verify-bundle --bundle F (--certificate-identity SAN --certificate-oidc-issuer URL | --key PEM) [--trusted-root F] FILE|sha256:HEX",
		Flags: append([]cli.Flag{
			&cli.BoolFlag{Name: "staging", Hidden: true},
			&cli.StringFlag{Name: "bundle", Required: true, Usage: "the bundle `FILE`"},
			&cli.StringFlag{Name: "key", Usage: "verify with this PEM public key `FILE` instead of an identity"},
			trustedRootFlag, jsonFlag,
		}, identityFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return clierr.Usagef("verify-bundle takes one FILE or sha256:HEX")
			}
			if p := c.String("key"); p != "" {
				key, err := loadPublicKey(p)
				if err != nil {
					return err
				}
				return e.verify(c, c.Args().First(), c.String("bundle"), key)
			}
			return e.verify(c, c.Args().First(), c.String("bundle"), nil)
		},
	}
}
