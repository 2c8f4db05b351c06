package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/trust/trustfetch"
	"github.com/waxseal/waxseal/gitsign"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/gitsign/gpg"
	"github.com/waxseal/waxseal/gitsign/signing"
	"github.com/waxseal/waxseal/internal/atomicfile"
	"github.com/waxseal/waxseal/internal/clierr"
)

// httpTimeout bounds each request to the CA, the log and the issuer.
const httpTimeout = 60 * time.Second

// endpoints are the services a signer talks to.
type endpoints struct {
	CA, Log, Issuer string
}

// endpoints resolves the CA, log and OIDC issuer: explicit gitsign.fulcio and
// gitsign.rekor, else the signing config of gitsign.server, else the
// signing config pinned by `waxseal trust init`. An explicit
// gitsign.issuer always wins.
func (e *env) endpoints(ctx context.Context, cfg *front.Config) (*endpoints, error) {
	ep := &endpoints{CA: cfg.Fulcio, Log: cfg.Rekor}
	if ep.CA == "" || ep.Log == "" {
		var sc *trust.SigningConfig
		if cfg.Server != "" {
			var err error
			if sc, err = e.serverSigningConfig(ctx, cfg.Server); err != nil {
				return nil, err
			}
		} else {
			p, err := gpg.LoadPinned()
			if err != nil {
				return nil, err
			}
			if p.SigningConfig == nil {
				return nil, clierr.WithHint(errors.New("no signing config pinned"), "run 'waxseal trust init --from URL' or set gitsign.server")
			}
			sc = p.SigningConfig
		}
		if ep.CA == "" {
			ep.CA = sc.CAURL
		}
		if ep.Log == "" {
			ep.Log = sc.RekorURL
		}
		ep.Issuer = sc.OIDCURL
	}
	if cfg.Issuer != "" {
		ep.Issuer = cfg.Issuer
	}
	return ep, nil
}

// signingConfigTTL is how long a server's signing config is reused from
// the cache: git starts one gitsign per signature, and fetching it costs two
// HTTP round trips (a TLS handshake each time) on every commit of a rebase.
// It only names the services; what they issue is checked against the
// trusted root all the same.
const signingConfigTTL = 5 * time.Minute

// serverSigningConfig returns the signing config of a waxseal server, from
// the user's cache directory when fetched less than signingConfigTTL ago.
func (e *env) serverSigningConfig(ctx context.Context, server string) (*trust.SigningConfig, error) {
	now := time.Now()
	cache := signingConfigCache(server, e.Getenv)
	if cache != "" {
		if fi, err := os.Stat(cache); err == nil && now.Sub(fi.ModTime()) >= 0 && now.Sub(fi.ModTime()) < signingConfigTTL {
			if data, err := os.ReadFile(cache); err == nil {
				if sc, err := trust.ParseSigningConfig(data, now); err == nil {
					return sc, nil
				}
			}
		}
	}
	_, data, err := trustfetch.Fetch(ctx, e.httpClient(), server)
	if errors.Is(err, trustfetch.ErrInvalidURL) {
		return nil, clierr.WithHint(err, "gitsign.server (GITSIGN_SERVER) takes the instance's URL, e.g. http://127.0.0.1:8080")
	}
	if err != nil {
		return nil, clierr.WithHint(err, "is a waxseal server running at %s (gitsign.server)?", trustfetch.Redacted(server))
	}
	sc, err := trust.ParseSigningConfig(data, now)
	if err != nil {
		return nil, err
	}
	if cache != "" {
		if err := os.MkdirAll(filepath.Dir(cache), 0o700); err == nil {
			atomicfile.Write(cache, data, 0o600) // a cache: failing to write it is no error
		}
	}
	return sc, nil
}

// signingConfigCache is where the signing config of server is cached:
// $XDG_CACHE_HOME/waxseal/gitsign/ (or ~/.cache/...), one file per server
// URL; "" when there is no cache directory.
func signingConfigCache(server string, getenv func(string) string) string {
	dir := getenv("XDG_CACHE_HOME")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".cache")
	}
	sum := sha256.Sum256([]byte(strings.TrimRight(server, "/")))
	return filepath.Join(dir, "waxseal", "gitsign", "signing_config-"+hex.EncodeToString(sum[:8])+".json")
}

// signer builds the signer for cfg. The credential is obtained only when
// the first signature needs it. vetToken, if set, checks a token before a
// certificate is asked for with it: the CA logs every certificate it issues.
func (e *env) signer(ctx context.Context, cfg *front.Config, vetToken func(token string) error) (*signing.Signer, error) {
	ep, err := e.endpoints(ctx, cfg)
	if err != nil {
		return nil, err
	}
	client := e.httpClient()
	ca := &fulcioclient.Client{BaseURL: ep.CA, HTTPClient: client}
	creds := signing.CredentialsFunc(func(ctx context.Context) (*credential.Credential, error) {
		return e.login(ctx, cfg, ep, ca, vetToken)
	})
	return &signing.Signer{Credentials: creds, Log: &tlogclient.Client{BaseURL: ep.Log, HTTPClient: client}}, nil
}

// login tries the token sources in DESIGN order: an explicit token
// (SIGSTORE_ID_TOKEN), CI credentials, the credential of a running
// `waxseal agent`, then an interactive login. A token from an interactive
// login is handed to a running agent, so that the next signatures (the
// rest of a rebase) need no login. The instructions of an interactive login
// go to the terminal: git captures gitsign's stderr while signing.
func (e *env) login(ctx context.Context, cfg *front.Config, ep *endpoints, ca *fulcioclient.Client, vetToken func(string) error) (*credential.Credential, error) {
	if cfg.TokenProvider != "" {
		switch p, err := oidc.ParseProvider(cfg.TokenProvider); {
		case err != nil:
			// oidc's list names sources gitsign has no setting for.
			return nil, clierr.WithHint(fmt.Errorf("gitsign.tokenProvider %q: no such token source", cfg.TokenProvider),
				"use one of %s, or unset gitsign.tokenProvider (GITSIGN_TOKEN_PROVIDER) to try each in turn", strings.Join(tokenProviders, ", "))
		case p == oidc.ProviderToken, p == oidc.ProviderFile, p == oidc.ProviderCommand:
			return nil, clierr.WithHint(fmt.Errorf("gitsign.tokenProvider %q needs a token, file or command that gitsign has no setting for", cfg.TokenProvider),
				"put the token in SIGSTORE_ID_TOKEN (gitsign.tokenProvider env), or hand it to 'waxseal login' with the agent running (agent)")
		}
	}
	out, tty, closeOut := e.UserTerminal()
	defer closeOut()
	ci := oidc.InCI() // and so no interactive login in the chain
	chain, err := oidc.Chain(oidc.Options{
		Provider:        cfg.TokenProvider,
		ProviderSetting: "gitsign.tokenProvider",
		IssuerSetting:   "gitsign.issuer, or gitsign.server naming an instance with one",
		Issuer:          ep.Issuer,
		ClientID:        cfg.ClientID,
		RedirectURL:     cfg.RedirectURL,
		ConnectorID:     cfg.ConnectorID,
		OpenBrowser:     oidc.OpenBrowser,
		// Without a terminal, the sign-in URL would go to stderr, which git
		// keeps until gitsign exits: a browser that does not open is a
		// failure, not a wait for ever.
		BrowserRequired: !tty,
		Out:             out,
		HTTPClient:      e.httpClient(),
	})
	if err != nil {
		if cfg.TokenProvider != "" {
			return nil, clierr.WithHint(err, "%s", forcedHint)
		}
		return nil, clierr.WithHint(err, "%s", noTokenHint(ci, false))
	}
	var (
		errs []error
		// agentErr is why a running agent did not sign, said at the
		// terminal before an interactive login takes its place.
		agentErr   error
		agentRan   bool          // an agent answered the socket, whether or not it signed
		agentStuck bool          // it did not answer its status: stopped, stuck, or of another protocol
		ag         *agent.Client // a running agent, if any
		// signing is the credential returned when it signs through ag:
		// any other outcome closes ag, so that a signer that asks again
		// (a retry) does not leave a connection open each time.
		signing *credential.Credential
	)
	defer func() {
		if ag != nil && signing == nil {
			ag.Close()
		}
	}()
	for _, p := range chain {
		if p.Name == oidc.ProviderDevice && !tty {
			// Its code would go to stderr, which git keeps until gitsign
			// exits: the user would never see it, and git would hang.
			errs = append(errs, errors.New("device login: no terminal to show its code on (git keeps gitsign's output while it signs)"))
			continue
		}
		if p.Source == nil { // the agent
			c, err := agent.Dial(ctx, "")
			if err != nil {
				// Not running is said only when the agent was asked
				// for by name: otherwise the hint says how to start one.
				if !errors.Is(err, agent.ErrNotRunning) || cfg.TokenProvider != "" {
					errs = append(errs, fmt.Errorf("agent: %w", err))
				}
				continue
			}
			ag, agentRan = c, true // left open: its credential signs through this connection
			// Asked first, as the agent answers it from memory: an agent
			// that is stopped or stuck is given up on in seconds, and one
			// not logged in to this CA is not asked for a certificate.
			st, others, err := c.Session(ctx, ep.CA)
			switch {
			case err != nil:
				// Stopped or stuck: not handed the token of a login
				// either, which would wait on it again.
				errs = append(errs, err) // "agent status: ..."
				agentErr, agentStuck = err, true
				c.Close()
				ag = nil
				continue
			case st == nil:
				// Said, so that "run 'waxseal agent'" is not the advice
				// for an agent that is running; and what it is logged
				// in to, which may be this instance by another name.
				also := ""
				if len(others) > 0 {
					also = "; it is logged in to " + strings.Join(others, ", ") + " only"
				}
				agentErr = fmt.Errorf("agent: running, but not logged in to %s%s (waxseal login --server URL logs it in)", ep.CA, also)
				errs = append(errs, agentErr)
				continue
			case st.Expired && st.Refresh == "":
				// Said in case nothing else signs: a login the agent
				// cannot renew (from a token) ran out.
				agentErr = fmt.Errorf("agent: %w (the login for this instance ran out: run 'waxseal login')", agent.ErrExpired)
				errs = append(errs, agentErr)
				continue
			}
			// Only a credential from this CA: one from another instance
			// would not verify against this repository's trusted root.
			cred, err := c.CredentialFrom(ctx, ep.CA) // renews an expired one if it can
			if err == nil && cred.Valid(time.Now()) {
				if _, ok := cred.Certificate.PublicKey.(*ecdsa.PublicKey); !ok {
					return nil, clierr.WithHint(fmt.Errorf("the agent's credential is for an %s key: git signatures need ECDSA", keyName(cred.Certificate.PublicKey)),
						"log the agent in with an ECDSA key: waxseal login --key-type ecdsa-p256")
				}
				signing = cred
				return cred, nil
			}
			if err == nil {
				err = fmt.Errorf("%w at %s", agent.ErrExpired, cred.Certificate.NotAfter.Format(time.RFC3339))
			}
			agentErr = fmt.Errorf("agent: %w", err)
			errs = append(errs, agentErr)
			continue
		}
		if p.Interactive && agentErr != nil {
			// Else the login below would come out of nowhere, after
			// seconds of silence when the agent was stuck.
			fmt.Fprintf(out, "gitsign: %s\ngitsign: signing in here instead\n", agentErr)
			agentErr = nil
		}
		tok, err := e.token(ctx, p)
		if err != nil && !p.Interactive {
			// A token given or found (SIGSTORE_ID_TOKEN, CI) names who is
			// to sign: one that cannot be used is an error, never a reason
			// to sign as the agent's identity instead.
			return nil, clierr.WithHint(err, "%s", tokenHint(p.Name))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Name, err))
			continue
		}
		if vetToken != nil {
			if err := vetToken(tok); err != nil {
				return nil, err
			}
		}
		if ag != nil && p.Interactive {
			if _, err := ag.Login(ctx, agent.LoginRequest{Token: tok, CAURL: ep.CA, KeyType: string(keys.Default)}); err == nil {
				if cred, err := ag.CredentialFrom(ctx, ep.CA); err == nil {
					signedIn(out, cred)
					signing = cred
					return cred, nil
				}
			}
		}
		if ag == nil && p.Interactive && !agentRan {
			fmt.Fprintln(out, "gitsign: this login signs one object; with 'waxseal agent' running, one login signs a whole rebase")
		}
		cred, err := credential.LoginWithToken(ctx, ca, tok, keys.Default)
		if err == nil && p.Interactive {
			signedIn(out, cred)
		}
		if err != nil && !p.Interactive {
			from := p.Name
			if from == oidc.ProviderEnv {
				from = "$" + oidc.EnvVar
			}
			return nil, caRefused(fmt.Errorf("%w (with the token from %s)", err, from))
		}
		if err != nil {
			return nil, caRefused(err)
		}
		return cred, nil
	}
	if len(errs) == 0 {
		return nil, clierr.WithHint(oidc.ErrNoToken, "%s", noTokenHint(ci, false))
	}
	hint := noTokenHint(ci, true)
	switch {
	case agentStuck:
		// A login handed to it would wait on it again.
		hint = "the agent did not answer (above): end it and start it again ('waxseal agent'; 'waxseal agent stop' if it still answers that), then 'waxseal login', or set SIGSTORE_ID_TOKEN"
	case agentRan && !ci:
		// The agent runs: it is the login it lacks.
		hint = "log the running agent in with 'waxseal login' (--server URL for this instance), or set SIGSTORE_ID_TOKEN"
	}
	switch cfg.TokenProvider {
	case "":
	case oidc.ProviderAgent:
		if !agentRan {
			hint = "run 'waxseal agent' and 'waxseal login' before signing, or unset gitsign.tokenProvider (GITSIGN_TOKEN_PROVIDER) to try each source in turn"
		} else if !agentStuck {
			hint = "log the running agent in with 'waxseal login' (--server URL for this instance), or unset gitsign.tokenProvider (GITSIGN_TOKEN_PROVIDER) to try each source in turn"
		}
	default:
		hint = forcedHint
	}
	return nil, clierr.WithHint(fmt.Errorf("no identity token: %w", errors.Join(errs...)), "%s", hint)
}

// caRefused adds to the CA's refusal of an identity token (HTTP 401) what
// to check: the CA decides which issuers' tokens it takes.
func caRefused(err error) error {
	var ce *fulcioclient.Error
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusUnauthorized || clierr.HasHint(err) {
		return err
	}
	return clierr.WithHint(err, "the CA did not accept the identity token: log in with an issuer it trusts (gitsign.issuer, or the one gitsign.server's instance names), or sign against the instance that trusts yours (gitsign.server)")
}

// tokenProviders are the gitsign.tokenProvider values gitsign can use, as
// its help lists them.
var tokenProviders = []string{oidc.ProviderEnv, oidc.ProviderGitHubActions, oidc.ProviderGitLab, oidc.ProviderBuildkite,
	oidc.ProviderAgent, oidc.ProviderBrowser, oidc.ProviderDevice}

// forcedHint is the advice when the one token source gitsign.tokenProvider
// names cannot give a token.
const forcedHint = "gitsign.tokenProvider (or GITSIGN_TOKEN_PROVIDER) makes gitsign use that source alone: give it what it lacks, or unset it to try each source in turn"

// noTokenHint says how to give gitsign an identity when none was found: in
// CI, how a job gets a token; elsewhere, how to log in, and when sources
// were tried and failed (tried), with the agent.
func noTokenHint(ci, tried bool) string {
	switch {
	case ci:
		return ciTokenHint
	case tried:
		return "set SIGSTORE_ID_TOKEN, or run 'waxseal agent' and 'waxseal login' before signing"
	}
	return "set SIGSTORE_ID_TOKEN, run 'waxseal login', or set gitsign.server / gitsign.issuer for an interactive login"
}

// signedIn tells the user at the terminal whom an interactive login made
// them: the identity the signatures will carry, which is whoever completed
// the sign-in page.
func signedIn(out io.Writer, cred *credential.Credential) {
	id, iss := gitsign.CertIdentity(cred.Certificate)
	fmt.Fprintf(out, "gitsign: signed in as %s (%s)\n", gitsign.Printable(id), gitsign.Printable(iss))
}

// ciTokenHint says how a CI job gives gitsign an identity.
const ciTokenHint = "in CI (CI is set, so no interactive login is tried), give the job an identity token: on GitHub Actions, 'permissions: id-token: write'; on GitLab, an id_tokens entry SIGSTORE_ID_TOKEN with aud: sigstore; elsewhere SIGSTORE_ID_TOKEN. On your own machine, unset CI, or set gitsign.tokenProvider browser"

// tokenHint says what to do about a token from provider that cannot be used.
func tokenHint(provider string) string {
	switch provider {
	case oidc.ProviderEnv, oidc.ProviderToken, oidc.ProviderGitLab:
		return "replace the token in SIGSTORE_ID_TOKEN, or unset it to sign with the agent's credential or an interactive login"
	case oidc.ProviderGitHubActions:
		return "GitHub Actions did not give a token: does the job have 'permissions: id-token: write'? (or set SIGSTORE_ID_TOKEN)"
	case oidc.ProviderBuildkite:
		return "buildkite-agent oidc request-token failed: check the agent's OIDC setup (or set SIGSTORE_ID_TOKEN)"
	}
	return "check where the token comes from (gitsign.tokenProvider), or set SIGSTORE_ID_TOKEN"
}

// interactiveLoginTimeout bounds a login in the browser or with a device
// code: git holds the repository's index lock while it signs, and a login
// left unfinished would hold it for ever.
const interactiveLoginTimeout = 5 * time.Minute

// token gets a token from p, within interactiveLoginTimeout if p needs the
// user.
func (e *env) token(ctx context.Context, p oidc.Provider) (string, error) {
	if !p.Interactive {
		return p.Source.Token(ctx)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, interactiveLoginTimeout,
		fmt.Errorf("no sign-in within %v", interactiveLoginTimeout))
	defer cancel()
	tok, err := p.Source.Token(ctx)
	if err != nil && context.Cause(ctx) != nil && ctx.Err() != nil {
		return "", context.Cause(ctx)
	}
	return tok, err
}

// keyName names a public key's type for a message.
func keyName(pub any) string {
	switch pub.(type) {
	case ed25519.PublicKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return "RSA"
	}
	return fmt.Sprintf("%T", pub)
}
