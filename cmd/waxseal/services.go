package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/trust/trustfetch"
	"github.com/waxseal/waxseal/internal/clierr"
)

// Flags shared by the commands that talk to an instance or verify.
var (
	serverFlag = &cli.StringFlag{Name: "server", EnvVars: []string{"WAXSEAL_SERVER"},
		Usage: "base `URL` of a waxseal instance (its signing config is fetched from URL/signing_config.json)"}
	signingConfigFlag = &cli.StringFlag{Name: "signing-config", Usage: "signing_config.json `FILE` naming the CA and log"}
	trustedRootFlag   = &cli.StringFlag{Name: "trusted-root", Usage: "trusted_root.json `FILE` (default: the root pinned by 'waxseal trust init')"}
	identityTokenFlag = &cli.StringFlag{Name: "identity-token", Usage: "OIDC identity `TOKEN` (default: $SIGSTORE_ID_TOKEN, CI credentials, or an interactive login)"}
	jsonFlag          = &cli.BoolFlag{Name: "json", Usage: "print machine-readable JSON on stdout"}
)

var httpClient = &http.Client{Timeout: 60 * time.Second}

// services are the CA and log a signer talks to.
type services struct {
	CA      *fulcioclient.Client
	Log     *tlogclient.Client
	OIDCURL string
}

// loadServices finds the CA and log: --signing-config, then --server, then
// the pinned signing config.
func loadServices(ctx context.Context, c *cli.Context) (*services, error) {
	var sc *trust.SigningConfig
	switch {
	case c.String("signing-config") != "":
		data, err := os.ReadFile(c.String("signing-config"))
		if err != nil {
			return nil, err
		}
		if sc, err = trust.ParseSigningConfig(data, time.Now()); err != nil {
			return nil, err
		}
	case c.String("server") != "":
		_, data, err := trustfetch.Fetch(ctx, httpClient, c.String("server"))
		if errors.Is(err, trustfetch.ErrInvalidURL) {
			return nil, clierr.Usagef("--server: %v", err)
		}
		if err != nil {
			return nil, clierr.WithHint(err, "is a waxseal server running at %s? ('waxseal serve --dev-oidc')", trustfetch.Redacted(c.String("server")))
		}
		if sc, err = trust.ParseSigningConfig(data, time.Now()); err != nil {
			return nil, err
		}
	default:
		p, err := loadPinned()
		if err != nil {
			return nil, err
		}
		if p.SigningConfig == nil {
			return nil, clierr.WithHint(errors.New("no signing config pinned"), "run 'waxseal trust init --from URL' or pass --server URL")
		}
		sc = p.SigningConfig
	}
	return &services{
		CA:      &fulcioclient.Client{BaseURL: sc.CAURL, HTTPClient: httpClient},
		Log:     &tlogclient.Client{BaseURL: sc.RekorURL, HTTPClient: httpClient},
		OIDCURL: sc.OIDCURL,
	}, nil
}

func loadPinned() (*trust.Pinned, error) {
	p, err := trust.LoadUserPinned()
	if err != nil {
		return nil, pinHint(err, "--server URL")
	}
	return p, nil
}

// pinHint adds to an error that nothing is pinned how to pin or what to pass.
// alt is the flag that names the same thing on the command line.
func pinHint(err error, alt string) error {
	if errors.Is(err, trust.ErrNotPinned) {
		return clierr.WithHint(err, "run 'waxseal trust init --from URL', or pass %s", alt)
	}
	return err
}

// loadRoot finds the trusted root: --trusted-root, else the pinned one
// (only the root: verifying needs no signing config).
func loadRoot(c *cli.Context) (*trust.Root, error) {
	if p := c.String("trusted-root"); p != "" {
		return trust.LoadRoot(p)
	}
	r, err := trust.LoadUserPinnedRoot()
	if err != nil {
		return nil, pinHint(err, "--trusted-root FILE")
	}
	return r, nil
}

// tokenSource picks where the identity token comes from, in DESIGN order
// (oidc.Chain): explicit token, CI ambient credentials, then an interactive
// login; --oidc-provider forces one. Commands that can use the agent's
// credential call (*env).credential instead.
func (e *env) tokenSource(c *cli.Context, svc *services) (oidc.TokenSource, error) {
	opts, err := e.tokenOptions(c.Context, c, svc, true)
	if err != nil {
		return nil, err
	}
	chain, err := e.chain(opts)
	if err != nil {
		return nil, clierr.WithHint(err, "pass --identity-token, set SIGSTORE_ID_TOKEN, or use a signing config that names an OIDC issuer")
	}
	if chain[0].Source == nil {
		return nil, clierr.Usagef("--oidc-provider agent: this command cannot use the agent")
	}
	return chain[0].Source, nil
}
