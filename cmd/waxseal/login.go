package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/internal/clierr"
)

// Flags choosing and configuring the identity token source, named as cosign names them.
var (
	oidcProviderFlag = &cli.StringFlag{Name: "oidc-provider", EnvVars: []string{"WAXSEAL_OIDC_PROVIDER"},
		Usage: "use only this identity `PROVIDER`: token, env, file, github-actions, gitlab, buildkite, command, agent, browser, device (default: the first that applies, in that order)"}
	oidcIssuerFlag = &cli.StringFlag{Name: "oidc-issuer", EnvVars: []string{"WAXSEAL_OIDC_ISSUER"},
		Usage: "OIDC provider `URL` for a browser or device login (default: the signing config's)"}
	oidcClientIDFlag = &cli.StringFlag{Name: "oidc-client-id", Value: "sigstore", EnvVars: []string{"WAXSEAL_OIDC_CLIENT_ID"},
		Usage: "OAuth client `ID` for a browser or device login"}
	oidcClientSecretFileFlag = &cli.StringFlag{Name: "oidc-client-secret-file",
		Usage: "`FILE` holding the OAuth client secret (public clients have none)"}
	oidcRedirectURLFlag = &cli.StringFlag{Name: "oidc-redirect-url",
		Usage: "loopback redirect `URL` of the browser login; port 0 picks a free one (default " + oidc.DefaultRedirectURL + ")"}
	oidcConnectorIDFlag = &cli.StringFlag{Name: "oidc-connector-id", EnvVars: []string{"WAXSEAL_OIDC_CONNECTOR_ID"},
		Usage: "upstream `ID` at a federating issuer such as Dex (sigstore's public issuer: github, google-oidc, microsoft)"}
	oidcTokenCommandFlag = &cli.StringFlag{Name: "oidc-token-command", EnvVars: []string{oidc.CommandEnv},
		Usage: "shell `COMMAND` that prints an identity token (any CI or cloud provider)"}
	oidcDisableAmbientFlag = &cli.BoolFlag{Name: "oidc-disable-ambient-providers",
		Usage: "ignore CI credentials (GitHub Actions, Buildkite) and log in as yourself"}
	agentSocketFlag = &cli.StringFlag{Name: "agent-socket", Aliases: []string{"socket"}, EnvVars: []string{agent.SocketEnv},
		Usage: "the agent's socket `PATH` (default $XDG_RUNTIME_DIR/waxseal/agent.sock; without XDG_RUNTIME_DIR, see 'waxseal agent --help')"}
)

// tokenFlags are what every command that obtains an identity takes.
var tokenFlags = []cli.Flag{oidcProviderFlag, oidcIssuerFlag, oidcClientIDFlag, oidcClientSecretFileFlag,
	oidcRedirectURLFlag, oidcConnectorIDFlag, oidcTokenCommandFlag, oidcDisableAmbientFlag, agentSocketFlag}

// withTokenFlags adds the token source flags a command does not have yet.
func withTokenFlags(cmd *cli.Command) *cli.Command {
	have := map[string]bool{}
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			have[n] = true
		}
	}
	for _, f := range tokenFlags {
		if !have[f.Names()[0]] {
			cmd.Flags = append(cmd.Flags, f)
		}
	}
	return cmd
}

// tokenOptions reads the token source flags.
func (e *env) tokenOptions(ctx context.Context, c *cli.Context, svc *services, noAgent bool) (oidc.Options, error) {
	o := oidc.Options{
		Provider:       c.String("oidc-provider"),
		Command:        c.String("oidc-token-command"),
		DisableAmbient: c.Bool("oidc-disable-ambient-providers"),
		NoAgent:        noAgent,
		Issuer:         c.String("oidc-issuer"),
		ClientID:       c.String("oidc-client-id"),
		RedirectURL:    c.String("oidc-redirect-url"),
		ConnectorID:    c.String("oidc-connector-id"),
		OpenBrowser:    oidc.OpenBrowser,
		Out:            e.stderr,
		HTTPClient:     httpClient,
	}
	if o.Command == "" {
		o.Command = os.Getenv(oidc.CommandEnv) // commands without the flag
	}
	if o.Provider == "" {
		o.Provider = os.Getenv("WAXSEAL_OIDC_PROVIDER")
	}
	if t := c.String("identity-token"); strings.HasPrefix(t, "@") {
		o.TokenFile = strings.TrimPrefix(t, "@")
	} else {
		o.Token = t
	}
	if f := c.String("oidc-client-secret-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return o, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		o.ClientSecret = strings.TrimSpace(string(b))
	}
	if o.Issuer == "" && svc != nil {
		o.Issuer = svc.OIDCURL
	}
	if svc != nil && svc.CA != nil {
		// Best effort: knowing the CA's issuers turns a token it would refuse into a
		// clear message before the request.
		o.Issuers = caIssuers(ctx, svc.CA.BaseURL)
	}
	if o.Provider != "" {
		if _, err := oidc.ParseProvider(o.Provider); err != nil {
			return o, clierr.Usagef("--oidc-provider: %v", err)
		}
	}
	return o, nil
}

// chain is oidc.Chain for a command: a device login chosen for want of a
// browser, where no one could see its code (no terminal: a script, a
// service, output to a file), fails at once instead of waiting out the
// code's ten minutes. --oidc-provider device waits for it anyway.
func (e *env) chain(opts oidc.Options) ([]oidc.Provider, error) {
	chain, err := oidc.Chain(opts)
	if err != nil || opts.Provider != "" || hasTerminal() {
		return chain, err
	}
	for i, p := range chain {
		if p.Name == oidc.ProviderDevice {
			chain[i].Source = noTerminal{}
		}
	}
	return chain, nil
}

// hasTerminal tells whether someone could read a device login's code,
// which goes to stderr: a terminal, with this process on one. A variable,
// for tests.
var hasTerminal = func() bool {
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false // a file, a pipe: read later, if at all
	}
	if runtime.GOOS == "windows" {
		return true // no /dev/tty; the console is stderr's
	}
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

// noTerminal is the device login without a terminal.
type noTerminal struct{}

func (noTerminal) Token(context.Context) (string, error) {
	return "", clierr.WithHint(errors.New("device login: no terminal to show its code on, and no browser to open"),
		"pass --identity-token (or set SIGSTORE_ID_TOKEN), log in from a terminal, or pass --oidc-provider device to wait for the sign-in anyway")
}

// caIssuers reads the issuers a Fulcio-compatible CA accepts, with the audience it
// expects of each, from /api/v2/configuration; nil if it cannot.
func caIssuers(ctx context.Context, caURL string) map[string]string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(caURL, "/")+"/api/v2/configuration", nil)
	if err != nil {
		return nil
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var cfg struct {
		Issuers []struct {
			IssuerURL string `json:"issuerUrl"`
			Audience  string `json:"audience"`
		} `json:"issuers"`
	}
	if json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20)).Decode(&cfg) != nil {
		return nil
	}
	m := map[string]string{}
	for _, is := range cfg.Issuers {
		if is.IssuerURL != "" {
			m[is.IssuerURL] = is.Audience
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// credential obtains the signing credential in the order of DESIGN §5: an explicit
// token, CI credentials, a live agent, then an interactive login.
func (e *env) credential(ctx context.Context, c *cli.Context, svc *services, kt keys.Type) (*credential.Credential, error) {
	opts, err := e.tokenOptions(ctx, c, svc, false)
	if err != nil {
		return nil, err
	}
	chain, err := e.chain(opts)
	if err != nil {
		return nil, clierr.WithHint(err, "pass --identity-token, set SIGSTORE_ID_TOKEN, run 'waxseal login' with an agent, or use a signing config that names an OIDC issuer")
	}
	forced := opts.Provider != ""
	for _, p := range chain {
		if p.Name != oidc.ProviderAgent {
			return credential.Login(ctx, svc.CA, p.Source, kt)
		}
		cred, err := e.agentCredential(ctx, c, svc)
		if err == nil {
			return cred, nil
		}
		if forced {
			return nil, err
		}
		if !errors.Is(err, agent.ErrNotRunning) && !errors.Is(err, agent.ErrNoCredential) {
			e.warnf("warning: not using the agent: %v", err)
		}
	}
	if oidc.InCI() && opts.Issuer != "" {
		return nil, clierr.WithHint(fmt.Errorf("no identity: no agent login to sign with, and no interactive login is tried in CI (CI=%s), where no one is there to sign in", os.Getenv("CI")),
			"give the job an identity token (GitHub Actions: 'permissions: id-token: write'; elsewhere SIGSTORE_ID_TOKEN or --identity-token), run 'waxseal login' first, or, on your own machine, unset CI or pass --oidc-provider browser or device")
	}
	return nil, clierr.WithHint(errors.New("no identity: the agent holds no credential and there is no OIDC issuer to log in with"),
		"run 'waxseal login', pass --identity-token, or use a signing config that names an OIDC issuer")
}

// agentCredential is the credential of a live agent, if it was issued by svc's CA.
func (e *env) agentCredential(ctx context.Context, c *cli.Context, svc *services) (*credential.Credential, error) {
	cl, err := agent.Dial(ctx, c.String("agent-socket"))
	if err != nil {
		return nil, err
	}
	cred, err := cl.CredentialFrom(ctx, svc.CA.BaseURL) // refreshes an expired one if it can
	if err != nil {
		cl.Close()
		return nil, err
	}
	// The connection lives as long as the command: cred signs through it.
	return cred, nil
}

func (e *env) loginCommand() *cli.Command {
	return &cli.Command{
		Name:      "login",
		Usage:     "log in once: hand an identity token to the running agent, which keeps the credential",
		UsageText: "waxseal login [--server URL | --signing-config FILE] [options]",
		Description: `Obtains an identity token here, in your terminal (explicit token, CI
credentials, browser or device login, as for 'waxseal sign'), and hands it to the
running 'waxseal agent'. The agent generates the key, gets the certificate from the
CA, and signs for every later 'waxseal sign' (and gitsign) until the
certificate expires. With a token file, a token command or CI credentials, the
agent logs in again by itself when it expires; otherwise run 'waxseal login' again.
With CI set (CI=true, as CI services set it) no browser or device login is tried
unless --oidc-provider names one: no one is there to finish it.

login starts nothing: start the agent first with 'waxseal agent'.

Examples:
   waxseal agent && waxseal login --server http://127.0.0.1:8080
   waxseal login --oidc-provider device          # over SSH
   waxseal login --identity-token @/var/run/token`,
		Flags: append([]cli.Flag{identityTokenFlag, serverFlag, signingConfigFlag,
			&cli.StringFlag{Name: "key-type", Value: string(keys.Default), Usage: "ephemeral key type: ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096 (gitsign signs only with ecdsa-*)"},
			jsonFlag}, tokenFlags...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return clierr.Usagef("login takes no arguments")
			}
			kt, err := keys.ParseType(c.String("key-type"))
			if err != nil {
				return clierr.Usagef("%v", err)
			}
			ctx := c.Context
			cl, err := dialAgent(ctx, c)
			if err != nil {
				return err
			}
			defer cl.Close()
			svc, err := loadServices(ctx, c)
			if err != nil {
				return err
			}
			opts, err := e.tokenOptions(ctx, c, svc, true)
			if err != nil {
				return err
			}
			if p, _ := oidc.ParseProvider(opts.Provider); p == oidc.ProviderAgent {
				return clierr.Usagef("--oidc-provider agent: login fills the agent; name the provider to log in with")
			}
			chain, err := e.chain(opts)
			if err != nil {
				return clierr.WithHint(err, "pass --identity-token, set SIGSTORE_ID_TOKEN, or use a signing config that names an OIDC issuer")
			}
			p := chain[0]
			tok, err := p.Source.Token(ctx)
			if err != nil {
				return fmt.Errorf("getting an identity token (%s): %w", p.Name, err)
			}
			st, err := cl.Login(ctx, agent.LoginRequest{Token: tok, CAURL: svc.CA.BaseURL, KeyType: string(kt), Refresh: p.Spec})
			if err != nil {
				return err
			}
			return e.printStatus(c, st)
		},
	}
}

func (e *env) logoutCommand() *cli.Command {
	return &cli.Command{
		Name:      "logout",
		Usage:     "make the agent drop its key and certificate",
		UsageText: "waxseal logout [--socket PATH]",
		Flags:     []cli.Flag{agentSocketFlag},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return clierr.Usagef("logout takes no arguments")
			}
			cl, err := dialAgent(c.Context, c)
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := cl.Logout(c.Context); err != nil {
				return err
			}
			e.warnf("logged out")
			return nil
		},
	}
}

// dialAgent connects to the agent named by --socket, with hints for the usual failures.
func dialAgent(ctx context.Context, c *cli.Context) (*agent.Client, error) {
	cl, err := agent.Dial(ctx, c.String("agent-socket"))
	switch {
	case errors.Is(err, agent.ErrNotRunning):
		return nil, clierr.WithHint(err, "start one with 'waxseal agent'")
	case errors.Is(err, agent.ErrInsecure):
		return nil, clierr.WithHint(err, "the socket and its directory must belong to you with no group or other access; remove them and start 'waxseal agent' again")
	}
	return cl, err
}

// printStatus prints the agent's credential st and, when the agent holds
// credentials from several CAs, all of them (all, which includes st).
func (e *env) printStatus(c *cli.Context, st *agent.Status, all ...agent.Status) error {
	if c.Bool("json") {
		type withRemaining struct {
			*agent.Status
			RemainingSeconds int64 `json:"remainingSeconds"`
		}
		out := struct {
			withRemaining
			Sessions []withRemaining `json:"sessions,omitempty"`
		}{withRemaining: withRemaining{st, int64(st.Remaining(time.Now()) / time.Second)}}
		for i := range all {
			out.Sessions = append(out.Sessions, withRemaining{&all[i], int64(all[i].Remaining(time.Now()) / time.Second)})
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	e.printOneStatus(st)
	for i := range all {
		if all[i].CAURL == st.CAURL {
			continue
		}
		fmt.Fprintln(e.stdout, "also:")
		e.printOneStatus(&all[i])
	}
	fmt.Fprintf(e.stdout, "agent: pid %d, waxseal %s\n", st.PID, orUnknown(st.Version))
	if mine := versionString(); st.Version != mine {
		e.warnf("the agent runs waxseal %s, and this is %s: restart it ('waxseal agent stop', then 'waxseal agent'), as an agent of another release may not answer as this one expects", orUnknown(st.Version), mine)
	}
	return nil
}

// orUnknown is v, or what an agent from before versions were reported is.
func orUnknown(v string) string {
	if v == "" {
		return "(a release that does not say)"
	}
	return v
}

func (e *env) printOneStatus(st *agent.Status) {
	switch {
	case st.LoggedIn:
		fmt.Fprintf(e.stdout, "logged in as %s (issuer %s)\n", st.Identity, st.Issuer)
		fmt.Fprintf(e.stdout, "certificate valid until %s (%s left), from the CA at %s\n",
			st.NotAfter.Local().Format(time.TimeOnly), st.Remaining(time.Now()).Round(time.Second), st.CAURL)
		if st.Refresh != "" {
			fmt.Fprintf(e.stdout, "refreshes through: %s\n", st.Refresh)
		}
	case st.Expired && st.Refresh != "":
		fmt.Fprintf(e.stdout, "the credential of %s expired at %s; it refreshes through %s on next use\n",
			st.Identity, st.NotAfter.Local().Format(time.TimeOnly), st.Refresh)
	case st.Expired:
		fmt.Fprintf(e.stdout, "the credential of %s from the CA at %s expired at %s: run 'waxseal login'\n", st.Identity, st.CAURL, st.NotAfter.Local().Format(time.TimeOnly))
	default:
		fmt.Fprintln(e.stdout, "not logged in: run 'waxseal login'")
	}
}
