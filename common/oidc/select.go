package oidc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Provider names, as given to --oidc-provider (or $WAXSEAL_OIDC_PROVIDER). Aliases
// that cosign users know are accepted by ParseProvider: "filesystem" for file,
// "buildkite-agent" for buildkite, "github" for github-actions, "interactive" for
// browser.
const (
	ProviderToken         = "token"          // --identity-token
	ProviderEnv           = "env"            // $SIGSTORE_ID_TOKEN
	ProviderFile          = "file"           // a token file, read on every use
	ProviderGitHubActions = "github-actions" // ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN
	ProviderGitLab        = "gitlab"         // $SIGSTORE_ID_TOKEN from the job's id_tokens
	ProviderBuildkite     = "buildkite"      // buildkite-agent oidc request-token
	ProviderCommand       = "command"        // --oidc-token-command
	ProviderAgent         = "agent"          // the credential held by waxseal agent
	ProviderBrowser       = "browser"        // authorization code + PKCE, loopback redirect
	ProviderDevice        = "device"         // device authorization grant (RFC 8628)
)

var providerAliases = map[string]string{
	ProviderToken: ProviderToken, ProviderEnv: ProviderEnv, ProviderFile: ProviderFile,
	ProviderGitHubActions: ProviderGitHubActions, ProviderGitLab: ProviderGitLab,
	ProviderBuildkite: ProviderBuildkite, ProviderCommand: ProviderCommand,
	ProviderAgent: ProviderAgent, ProviderBrowser: ProviderBrowser, ProviderDevice: ProviderDevice,
	"filesystem": ProviderFile, "buildkite-agent": ProviderBuildkite, "github": ProviderGitHubActions,
	"interactive": ProviderBrowser,
}

// ParseProvider returns the canonical name of a provider, or an error listing them.
func ParseProvider(name string) (string, error) {
	if p, ok := providerAliases[strings.ToLower(strings.TrimSpace(name))]; ok {
		return p, nil
	}
	return "", fmt.Errorf("unknown OIDC provider %q (want one of token, env, file, github-actions, gitlab, buildkite, command, agent, browser, device)", name)
}

// Options say which token sources Chain may use and how to configure them. The zero
// value tries $SIGSTORE_ID_TOKEN and the CI providers the environment announces.
type Options struct {
	// Provider forces one provider (a name ParseProvider accepts). Empty: automatic.
	Provider string
	// ProviderSetting and IssuerSetting name, in errors, where the caller's user
	// sets Provider and Issuer. Default "--oidc-provider" and "--oidc-issuer, or a
	// signing config that names one".
	ProviderSetting, IssuerSetting string

	Token     string // an explicit token (--identity-token)
	TokenFile string // a file holding the token
	Command   string // a command printing a token (--oidc-token-command)

	// DisableAmbient skips the CI providers (GitHub Actions, Buildkite) in automatic
	// selection, e.g. to sign as yourself on a CI machine.
	DisableAmbient bool
	// NoAgent leaves the agent out of the chain (for `waxseal login`, which fills it).
	NoAgent bool

	// Interactive flows. Issuer empty leaves them out of automatic selection.
	Issuer       string
	ClientID     string // default "sigstore"
	ClientSecret string
	RedirectURL  string // default DefaultRedirectURL
	ConnectorID  string // upstream provider at a federating issuer (Dex connector_id)
	// OpenBrowser opens a URL for the user. Nil, or HasBrowser() false, means the
	// device flow is chosen over the browser flow.
	OpenBrowser func(url string) error
	// BrowserRequired fails the browser flow when OpenBrowser does, rather than
	// leave the user to open the printed URL: for callers whose output no one
	// sees until they exit (a program git runs to sign).
	BrowserRequired bool
	// Out receives instructions for the user. Default os.Stderr.
	Out        io.Writer
	HTTPClient *http.Client

	// Checks applied to every token (see Checked).
	Audience string            // default "sigstore"
	Issuers  map[string]string // the CA's issuers and their audiences, if known
	Now      func() time.Time
}

// A Provider is one token source in the chain.
type Provider struct {
	Name string
	// Source returns checked tokens. Nil for ProviderAgent: the caller asks its agent.
	Source TokenSource
	// Interactive providers need the user at a browser or terminal.
	Interactive bool
	// Spec describes the provider so that another process can run it again to
	// refresh a credential; nil if it cannot (a one-off token, an interactive flow).
	Spec *Spec
}

// Chain lists the providers that apply here, in the order they are tried (DESIGN §5):
//
//  1. an explicit token: Options.Token, $SIGSTORE_ID_TOKEN, Options.TokenFile;
//  2. CI: GitHub Actions, Buildkite, then Options.Command (GitLab's id_tokens arrive as
//     $SIGSTORE_ID_TOKEN, so step 1 covers them);
//  3. the agent (Source nil: the caller uses its credential if one answers);
//  4. interactive: the browser flow, or the device flow where there is no browser;
//     not in CI (InCI).
//
// With Options.Provider set, the chain is that one provider; an error says what it
// lacks. The caller uses the first provider that works; an empty chain is an error.
func Chain(o Options) ([]Provider, error) {
	if o.Provider != "" {
		name, err := ParseProvider(o.Provider)
		if err != nil {
			return nil, err
		}
		p, err := o.provider(name, true)
		if err != nil {
			return nil, err
		}
		return []Provider{p}, nil
	}
	var names []string
	if o.Token != "" {
		names = append(names, ProviderToken)
	}
	if os.Getenv(EnvVar) != "" {
		names = append(names, ProviderEnv)
	}
	if o.TokenFile != "" {
		names = append(names, ProviderFile)
	}
	if !o.DisableAmbient {
		if GitHubActionsAvailable() {
			names = append(names, ProviderGitHubActions)
		}
		if BuildkiteAvailable() {
			names = append(names, ProviderBuildkite)
		}
	}
	if o.Command != "" {
		names = append(names, ProviderCommand)
	}
	if !o.NoAgent {
		names = append(names, ProviderAgent)
	}
	if o.Issuer != "" && !InCI() {
		if o.OpenBrowser != nil && HasBrowser() {
			names = append(names, ProviderBrowser)
		} else {
			names = append(names, ProviderDevice)
		}
	}
	var chain []Provider
	for _, n := range names {
		p, err := o.provider(n, false)
		if err != nil {
			return nil, err
		}
		chain = append(chain, p)
	}
	if len(chain) == 0 {
		if InCI() && o.Issuer != "" {
			return nil, fmt.Errorf("%w: no explicit token and no CI credentials, and no interactive login in CI (CI=%s), where no one is there to sign in; on your own machine, unset CI or force a login with --oidc-provider browser or device", ErrNoToken, os.Getenv("CI"))
		}
		return nil, fmt.Errorf("%w: no explicit token, no CI credentials, and no OIDC issuer to log in with", ErrNoToken)
	}
	return chain, nil
}

// InCI tells a CI job, where no one is at the keyboard, by CI=true, which
// GitHub Actions, GitLab CI, Buildkite and most others set: automatic
// selection then leaves the interactive logins out, which would otherwise
// wait for a sign-in until they time out (a browser "opens" on an image
// with a display). Forced with Options.Provider, they are still tried.
func InCI() bool {
	// Some set a name rather than true (Woodpecker: CI=woodpecker).
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

func (o Options) provider(name string, forced bool) (Provider, error) {
	check := func(src TokenSource, from string) TokenSource {
		aud := o.Audience
		if aud == "" {
			aud = "sigstore"
		}
		return Checked{Source: src, Name: from, Audience: aud, Issuers: o.Issuers, Now: o.Now}
	}
	out := o.Out
	if out == nil {
		out = os.Stderr
	}
	p := Provider{Name: name}
	setting := o.ProviderSetting
	if setting == "" {
		setting = "--oidc-provider"
	}
	setting += " " + name
	switch name {
	case ProviderToken:
		if o.Token == "" {
			return p, fmt.Errorf("%s: no token given (--identity-token)", setting)
		}
		p.Source = check(StaticToken(o.Token), "--identity-token")
	case ProviderEnv, ProviderGitLab:
		if forced && os.Getenv(EnvVar) == "" {
			if name == ProviderGitLab {
				return p, fmt.Errorf("%s: %s is not set (give the job `id_tokens: {%s: {aud: sigstore}}`)", setting, EnvVar, EnvVar)
			}
			return p, fmt.Errorf("%s: %s is not set", setting, EnvVar)
		}
		p.Source = check(EnvToken{}, "$"+EnvVar)
	case ProviderFile:
		if o.TokenFile == "" {
			return p, fmt.Errorf("%s: no token file given", setting)
		}
		p.Source = check(FileToken(o.TokenFile), o.TokenFile)
		p.Spec = &Spec{Provider: ProviderFile, File: o.TokenFile}
	case ProviderGitHubActions:
		if forced && !GitHubActionsAvailable() {
			return p, fmt.Errorf("%s: %s and %s are not set (does the job have `permissions: id-token: write`?)", setting, ActionsRequestURLEnv, ActionsRequestTokenEnv)
		}
		aud := o.Audience
		p.Source = check(GitHubActions{Audience: aud, HTTPClient: o.HTTPClient}, "GitHub Actions")
		p.Spec = &Spec{Provider: ProviderGitHubActions, Audience: aud,
			RequestURL: os.Getenv(ActionsRequestURLEnv), RequestToken: os.Getenv(ActionsRequestTokenEnv)}
	case ProviderBuildkite:
		if forced && !BuildkiteAvailable() {
			return p, fmt.Errorf("%s: not a Buildkite job (BUILDKITE_AGENT_ACCESS_TOKEN is not set)", setting)
		}
		p.Source = check(Buildkite{Audience: o.Audience}, "buildkite-agent")
		p.Spec = &Spec{Provider: ProviderBuildkite, Audience: o.Audience}
	case ProviderCommand:
		if o.Command == "" {
			return p, fmt.Errorf("%s: no command given (--oidc-token-command or $%s)", setting, CommandEnv)
		}
		p.Source = check(Command(o.Command), "token command")
		p.Spec = &Spec{Provider: ProviderCommand, Command: o.Command}
	case ProviderAgent:
	case ProviderBrowser, ProviderDevice:
		if o.Issuer == "" {
			where := o.IssuerSetting
			if where == "" {
				where = "--oidc-issuer, or a signing config that names one"
			}
			return p, fmt.Errorf("%s: no OIDC issuer (%s)", setting, where)
		}
		p.Interactive = true
		if o.Audience == "" && o.ClientID != "" {
			o.Audience = o.ClientID // what the issuer puts in aud for this client
		}
		if name == ProviderBrowser {
			p.Source = check(Interactive{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: o.ClientSecret,
				RedirectURL: o.RedirectURL, ConnectorID: o.ConnectorID, OpenBrowser: o.OpenBrowser, OpenRequired: o.BrowserRequired,
				Out: out, HTTPClient: o.HTTPClient}, "browser login")
		} else {
			p.Source = check(Device{Issuer: o.Issuer, ClientID: o.ClientID, Out: out, HTTPClient: o.HTTPClient}, "device login")
		}
	}
	return p, nil
}

// HasBrowser reports whether a browser can plausibly be opened here: $BROWSER is set,
// or there is a display (macOS and Windows outside SSH sessions; $DISPLAY or
// $WAYLAND_DISPLAY elsewhere). Without one, the device flow is the way to log in.
func HasBrowser() bool {
	if os.Getenv("BROWSER") != "" {
		return true
	}
	ssh := os.Getenv("SSH_CONNECTION") != "" || os.Getenv("SSH_TTY") != ""
	switch runtime.GOOS {
	case "darwin", "windows":
		return !ssh
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// Spec describes a non-interactive provider in a form another process can run again:
// `waxseal login` hands it to the agent, which refreshes its credential with it when
// the certificate expires. It may hold a credential (the Actions request token), so it
// travels only over the agent's private socket and is never written down.
type Spec struct {
	Provider     string `json:"provider"`               // file, command, github-actions, buildkite
	File         string `json:"file,omitempty"`         // file
	Command      string `json:"command,omitempty"`      // command
	RequestURL   string `json:"requestUrl,omitempty"`   // github-actions
	RequestToken string `json:"requestToken,omitempty"` // github-actions
	Audience     string `json:"audience,omitempty"`     // github-actions, buildkite
}

// Source returns the token source the spec describes.
func (s *Spec) Source() (TokenSource, error) {
	switch s.Provider {
	case ProviderFile:
		if s.File == "" {
			return nil, errors.New("token file spec without a file")
		}
		return FileToken(s.File), nil
	case ProviderCommand:
		if s.Command == "" {
			return nil, errors.New("token command spec without a command")
		}
		return Command(s.Command), nil
	case ProviderGitHubActions:
		if s.RequestURL == "" || s.RequestToken == "" {
			return nil, errors.New("github-actions spec without request URL and token")
		}
		return GitHubActions{Audience: s.Audience, RequestURL: s.RequestURL, RequestToken: s.RequestToken}, nil
	case ProviderBuildkite:
		return Buildkite{Audience: s.Audience}, nil
	}
	return nil, fmt.Errorf("provider %q cannot refresh a credential", s.Provider)
}

// OpenBrowser starts the user's browser on url: $BROWSER if set, else the
// platform's opener. Where HasBrowser says there is none it returns an error
// and starts nothing, so the user follows the printed URL (or uses the
// device flow).
func OpenBrowser(url string) error {
	var cmd *exec.Cmd
	switch b := os.Getenv("BROWSER"); {
	case b != "":
		cmd = exec.Command(b, url)
	case !HasBrowser():
		return errors.New("no browser or display")
	case runtime.GOOS == "darwin":
		cmd = exec.Command("open", url)
	case runtime.GOOS == "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		cmd = exec.Command("xdg-open", url)
	}
	return startOpener(cmd, openerGrace)
}

// openerGrace is how long an opener may take to fail. xdg-open and open
// hand the URL to the browser and exit, with an error when there is none;
// a browser run directly as $BROWSER keeps running.
const openerGrace = 3 * time.Second

// startOpener starts cmd and waits up to grace for it to fail: an opener
// that finds no browser ($BROWSER=false, xdg-open without a desktop) fails
// the opening, instead of leaving a sign-in waiting for a page never shown.
// One still running after grace, or done without error, opened the URL.
func startOpener(cmd *exec.Cmd, grace time.Duration) error {
	// What it says when it fails is kept for the error (xdg-open's exit
	// status alone says little), a little of it.
	var said bytes.Buffer
	cmd.Stderr = &cappedWriter{w: &said, n: 512}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			if msg := strings.Join(strings.Fields(said.String()), " "); msg != "" {
				return fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, msg)
			}
			return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
		}
		return nil
	case <-time.After(grace):
		return nil
	}
}

// cappedWriter keeps the first n bytes written to it and drops the rest.
type cappedWriter struct {
	w io.Writer
	n int
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if keep := min(len(p), c.n); keep > 0 {
		c.w.Write(p[:keep])
		c.n -= keep
	}
	return len(p), nil
}
