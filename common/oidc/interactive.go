package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// DefaultRedirectURL is the loopback redirect of Interactive. Port 0 means an ephemeral
// port, chosen when the listener starts (RFC 8252 §7.3: providers accept any port).
const DefaultRedirectURL = "http://localhost:0/auth/callback"

// Interactive signs in through a browser: OAuth 2.0 authorization code with PKCE (S256)
// and a loopback redirect. It prints the authorization URL, calls OpenBrowser, waits for
// the redirect on a loopback listener, checks state, exchanges the code with the PKCE
// verifier, and verifies the ID token (signature, issuer, audience, expiry, nonce).
type Interactive struct {
	Issuer       string // OIDC issuer URL (discovery is used)
	ClientID     string // default "sigstore"
	ClientSecret string // public clients have none
	// RedirectURL is an http URL on a loopback host; its port is replaced by the
	// listener's when 0. Default DefaultRedirectURL.
	RedirectURL string
	// ConnectorID picks an upstream identity provider at a federating issuer
	// (Dex's connector_id parameter, as sigstore's public issuer uses:
	// "github", "google-oidc", "microsoft"). Empty lets the user choose.
	ConnectorID string
	// OpenBrowser opens the URL for the user. Nil, or an error, leaves the user to
	// open the printed URL, unless OpenRequired.
	OpenBrowser func(url string) error
	// OpenRequired makes a nil OpenBrowser, or its error, fail the sign-in: for
	// callers whose printed URL no one would see.
	OpenRequired bool
	// Out receives the instructions for the user. Default os.Stderr.
	Out io.Writer
	// HTTPClient talks to the issuer. Default http.DefaultClient.
	HTTPClient *http.Client
}

// Token runs the flow and returns the verified ID token.
func (i Interactive) Token(ctx context.Context) (string, error) {
	out := i.Out
	if out == nil {
		out = os.Stderr
	}
	var open func(context.Context, string) error
	if i.OpenBrowser != nil {
		open = func(_ context.Context, u string) error { return i.OpenBrowser(u) }
	} else if i.OpenRequired {
		return "", errors.New("oidc: no way to open a browser, and no one to read the sign-in URL")
	}
	return authCodeFlow(ctx, authCodeParams{
		issuer: i.Issuer, clientID: i.ClientID, clientSecret: i.ClientSecret,
		redirectURL: i.RedirectURL, connectorID: i.ConnectorID, out: out, open: open,
		openRequired: i.OpenRequired, client: i.HTTPClient,
	})
}

type authCodeParams struct {
	issuer, clientID, clientSecret, redirectURL, connectorID string
	out                                                      io.Writer
	open                                                     func(ctx context.Context, url string) error
	// openRequired makes an error from open fail the flow (DevLogin's own browser)
	// instead of leaving the user to open the URL.
	openRequired bool
	client       *http.Client
}

// callback is what the loopback listener received.
type callback struct {
	code  string
	err   error
	reply chan error // the flow's outcome, shown in the browser
}

func authCodeFlow(ctx context.Context, p authCodeParams) (string, error) {
	if p.issuer == "" {
		return "", errors.New("oidc: no issuer URL")
	}
	if p.clientID == "" {
		p.clientID = "sigstore"
	}
	if p.redirectURL == "" {
		p.redirectURL = DefaultRedirectURL
	}
	if p.client != nil {
		ctx = gooidc.ClientContext(ctx, p.client)
		ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	}
	provider, err := gooidc.NewProvider(ctx, p.issuer)
	if err != nil {
		return "", fmt.Errorf("oidc: discovery for %s: %w", p.issuer, err)
	}

	redirect, err := url.Parse(p.redirectURL)
	if err != nil || redirect.Scheme != "http" || !isLoopback(redirect.Hostname()) {
		return "", fmt.Errorf("oidc: redirect URL %q is not an http URL on a loopback host", p.redirectURL)
	}
	ln, err := net.Listen("tcp", redirect.Host)
	if err != nil {
		return "", fmt.Errorf("oidc: starting loopback listener: %w", err)
	}
	if redirect.Port() == "0" || redirect.Port() == "" {
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		redirect.Host = net.JoinHostPort(redirect.Hostname(), port)
	}
	if redirect.Path == "" {
		redirect.Path = "/"
	}

	cfg := oauth2.Config{
		ClientID:     p.clientID,
		ClientSecret: p.clientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  redirect.String(),
		Scopes:       []string{gooidc.ScopeOpenID, "email"},
	}
	if p.clientSecret == "" {
		// A public client: client_id in the body. Auto-detection would retry a
		// rejected exchange in the other style, with a code already spent.
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	state, nonce, verifier := randomString(), randomString(), oauth2.GenerateVerifier()
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if p.connectorID != "" {
		opts = append(opts, oauth2.SetAuthURLParam("connector_id", p.connectorID))
	}
	authURL := cfg.AuthCodeURL(state, opts...)

	callbacks := make(chan callback, 1)
	// A redirect without this login's state is not the user's browser
	// coming back (anyone on the machine can reach the listener): it is
	// refused and said, and the login goes on waiting for the real one,
	// rather than end on a request anyone could send.
	strays := make(chan struct{}, 1)
	srv := &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != redirect.Path {
				http.NotFound(w, r)
				return
			}
			q := r.URL.Query()
			if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
				select {
				case strays <- struct{}{}:
				default:
				}
				showResult(w, http.StatusBadRequest, errors.New("oidc: the redirect's state does not match this sign-in's; ignored"))
				return
			}
			cb := callback{code: q.Get("code"), reply: make(chan error, 1)}
			switch {
			case q.Get("error") != "":
				cb.err = fmt.Errorf("oidc: the issuer refused: %s: %s", q.Get("error"), q.Get("error_description"))
			case cb.code == "":
				cb.err = errors.New("oidc: the redirect carries no authorization code")
			}
			select {
			case callbacks <- cb:
			default:
				showResult(w, http.StatusConflict, errors.New("sign-in already completed or in progress"))
				return
			}
			if cb.err != nil {
				showResult(w, http.StatusBadRequest, cb.err)
				return
			}
			select {
			case err := <-cb.reply:
				status := http.StatusOK
				if err != nil {
					status = http.StatusBadRequest
				}
				showResult(w, status, err)
			case <-r.Context().Done():
			}
		}),
	}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close() // unblocks a handler still waiting for a reply
		}
	}()

	fmt.Fprintf(p.out, "Sign in with your browser at:\n\n  %s\n\n", authURL)
	opened := make(chan error, 1)
	if p.open != nil {
		go func() { opened <- p.open(ctx, authURL) }()
	}
	var (
		cb         callback
		strayNoted bool
	)
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("oidc: waiting for the browser sign-in: %w", ctx.Err())
		case err := <-opened:
			if err != nil && p.openRequired {
				return "", fmt.Errorf("oidc: could not open a browser for the sign-in: %w", err)
			}
			if err != nil {
				fmt.Fprintf(p.out, "Could not open a browser (%v); open the URL above yourself.\n", err)
			}
			continue
		case <-strays:
			// Said once: anyone on the machine can send any number.
			if !strayNoted {
				strayNoted = true
				fmt.Fprint(p.out, strayNote)
			}
			continue
		case cb = <-callbacks:
		}
		break
	}
	select {
	case <-strays: // came before the browser's, but was not said yet
		if !strayNoted {
			fmt.Fprint(p.out, strayNote)
		}
	default:
	}
	if cb.err != nil {
		return "", cb.err
	}
	raw, err := exchange(ctx, provider, &cfg, cb.code, nonce, verifier)
	cb.reply <- err
	return raw, err
}

const strayNote = "Ignored a redirect to this sign-in's address that was not for it (another program on this machine?).\n"

func exchange(ctx context.Context, provider *gooidc.Provider, cfg *oauth2.Config, code, nonce, verifier string) (string, error) {
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fmt.Errorf("oidc: exchanging the authorization code: %w", err)
	}
	return verifyIDToken(ctx, provider, cfg.ClientID, tok, nonce)
}

func verifyIDToken(ctx context.Context, provider *gooidc.Provider, clientID string, tok *oauth2.Token, nonce string) (string, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", errors.New("oidc: the token response has no id_token")
	}
	idt, err := provider.Verifier(&gooidc.Config{ClientID: clientID}).Verify(ctx, raw)
	if err != nil {
		return "", fmt.Errorf("oidc: verifying the ID token: %w", err)
	}
	if nonce != "" && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return "", errors.New("oidc: the ID token's nonce does not match the request (replayed token?)")
	}
	return raw, nil
}

// showResult ends the browser's part of a sign-in. The page is written
// directly, with the one variable part escaped: html/template's package
// initialization alone would cost every gitsign process, and git starts one
// per signature it shows.
func showResult(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := "<h1>Signed in</h1>\n<p>You can close this tab and return to the terminal.</p>"
	if err != nil {
		body = "<h1>Sign-in failed</h1><p>" + html.EscapeString(err.Error()) + "</p>"
	}
	io.WriteString(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>waxseal sign-in</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:3em auto">
`+body+"</body></html>\n")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
