package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/clierr"
	"github.com/waxseal/waxseal/server"
)

func (e *env) serveCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "run the keyless stack: CA, transparency logs and (optionally) a dev OIDC issuer",
		UsageText: "waxseal serve [--data DIR] [--addr HOST:PORT] [--url URL] [--dev-oidc] [--config FILE]",
		Description: `Runs a certificate authority (Fulcio v2 and legacy v1 APIs), a
certificate-transparency log, a signature transparency log (Rekor v1 API) and,
with --dev-oidc, a development OpenID issuer, all on one port with one data
directory. Keys are created on first start and reused after. Clients pin the
instance with 'waxseal trust init --from URL'; cosign and sigstore-go use its
/trusted_root.json and /signing_config.json, or take them through its TUF
repository at /tuf (the 'cosign initialize' line printed at start sets that
up; 'waxseal trust export' writes the PEM files sigstore's gitsign also needs).

The CA accepts tokens from the issuers in --config (Fulcio's JSON format:
{"OIDCIssuers": {"<url>": {"IssuerURL": "<url>", "ClientID": "sigstore", "Type": "email"}}})
and, with --dev-oidc, from the built-in development issuer at URL/oidc.

Stops cleanly on SIGINT or SIGTERM.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "data", Value: "waxseal-data", Usage: "data directory (keys, logs)"},
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8080", Usage: "address to listen on (port 0 picks a free one)"},
			&cli.StringFlag{Name: "url", Usage: "base URL clients use, if not http://ADDR (e.g. behind a proxy)"},
			&cli.BoolFlag{Name: "dev-oidc", Usage: "enable the development OIDC issuer (anyone can get any identity: development only)"},
			&cli.StringFlag{Name: "config", Usage: "CA issuer configuration `FILE` (Fulcio format)"},
			&cli.BoolFlag{Name: "verbose", Usage: "log every request"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return clierr.Usagef("serve takes no arguments, got %q", c.Args().First())
			}
			cfg := server.Config{Dir: c.String("data"), DevOIDC: c.Bool("dev-oidc")}
			if p := c.String("config"); p != "" {
				iss, err := server.LoadIssuers(p)
				if err != nil {
					return err
				}
				cfg.Issuers = iss
			}
			if !cfg.DevOIDC && len(cfg.Issuers) == 0 {
				return clierr.WithHint(clierr.Usagef("no OIDC issuer configured"), "pass --dev-oidc for a development issuer, or --config FILE listing real issuers")
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			cfg.URL = c.String("url")
			if cfg.URL == "" {
				cfg.URL = "http://" + ln.Addr().String()
			}
			level := slog.LevelInfo
			if c.Bool("verbose") {
				level = slog.LevelDebug
			}
			cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
			return e.serve(c.Context, ln, cfg)
		},
	}
}

func (e *env) serve(ctx context.Context, ln net.Listener, cfg server.Config) error {
	srv, err := server.New(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer srv.Close()
	if b := srv.Banner(); b != "" {
		e.warnf("%s", b)
	}
	h := srv.Handler()
	if cfg.Logger != nil && cfg.Logger.Enabled(ctx, slog.LevelDebug) {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			inner.ServeHTTP(w, r)
			cfg.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start))
		})
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(e.stdout, "waxseal: serving %s (data in %s)\n", cfg.URL, cfg.Dir)
	fmt.Fprintf(e.stdout, "waxseal: trusted root %s%s %s\n", cfg.URL, trust.TrustedRootPath, trust.Fingerprint(srv.TrustedRoot()))
	fmt.Fprintf(e.stdout, "waxseal: TUF repository %s%s (cosign initialize --mirror %s%s --root %s%s/1.root.json --root-checksum %s)\n",
		cfg.URL, server.TUFPath, cfg.URL, server.TUFPath, cfg.URL, server.TUFPath, srv.TUFRootFingerprint())
	if iss := srv.DevIssuer(); iss != "" {
		fmt.Fprintf(e.stdout, "waxseal: dev OIDC issuer %s\n", iss)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	e.warnf("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return srv.Close()
}
