// Package devoidc is the development OpenID Provider that `waxseal serve --dev-oidc` mounts.
//
// It is a real, if small, OpenID Provider, so that the client flows users run against a
// production issuer are exercised end to end instead of bypassed:
//
//	GET  /.well-known/openid-configuration   discovery (OpenID Connect Discovery 1.0)
//	GET  /keys                               JWKS with one ES256 key
//	GET  /authorize                          authorization code + PKCE (RFC 7636, S256 only):
//	                                         a login page that asks for an email, no password
//	POST /authorize                          the login form: issues a code, 302 to redirect_uri
//	                                         (a loopback URL), or shows it for redirect_uri
//	                                         urn:ietf:wg:oauth:2.0:oob
//	POST /token                              grants authorization_code and
//	                                         urn:ietf:params:oauth:grant-type:device_code
//	POST /device/code                        device authorization (RFC 8628)
//	GET  /device, POST /device               the page where a user approves or denies a user code
//	GET  /actions/token?audience=X           GitHub-Actions-style workload tokens for CI tests
//	GET  /actions/.well-known/openid-configuration   discovery for the workload issuer
//
// # Mounting
//
// Every path above is relative to the path of [Config.Issuer]. With Issuer
// "http://127.0.0.1:8080/oidc" discovery lives at
// "http://127.0.0.1:8080/oidc/.well-known/openid-configuration". [Provider.Handler] accepts
// requests both with and without that prefix, so the server may mount it either way:
//
//	mux.Handle("/oidc/", http.StripPrefix("/oidc", p.Handler()))
//	mux.Handle("/oidc/", p.Handler())
//
// The Issuer must be the exact URL clients reach the server at: it is the `iss` claim and
// the discovery document's `issuer`, which go-oidc compares byte for byte.
//
// # Two issuers
//
// Interactive logins mint email identities (`sub` = `email` = the address typed in, plus
// `email_verified: true`), so that the CA proves possession over the email. Workload tokens
// from /actions/token carry GitHub Actions claims and no `email`, and use a second issuer,
// Issuer+"/actions" ([Provider.ActionsIssuer]), so that a Fulcio-style CA can configure one
// issuer of type email and one of type github-workflow, exactly as for the public instance.
// Both issuers sign with the same key and share /keys.
//
// # Safety
//
// Anyone who can reach the provider can obtain a token for any email. It is for
// development and tests only; [Provider.Banner] is the warning the server must print.
package devoidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/waxseal/waxseal/server/internal/keyfile"
)

// Config configures a Provider. The zero value of every field except Issuer is usable.
type Config struct {
	// Issuer is the full issuer URL, e.g. "http://127.0.0.1:8080/oidc". A trailing
	// slash is removed. Required.
	Issuer string

	// Dir is where the signing key is kept (KeyFile, mode 0600). It is created on first
	// start and reused afterwards, so tokens and cached JWKS stay valid across restarts.
	// Empty means an ephemeral in-memory key.
	Dir string

	// Audience is the `aud` of ID tokens from the interactive flows and the default
	// audience of workload tokens. Default "sigstore".
	Audience string

	// ClientIDs are the accepted public clients (any secret is ignored; redirect URIs are
	// restricted to loopback). Default ["sigstore"]. An ID token issued to client X has
	// `aud` [X] when X == Audience, otherwise [X, Audience] and `azp` X, so that both the
	// client (which checks for X) and the CA (which checks for Audience) accept it.
	ClientIDs []string

	// TokenTTL is the lifetime of issued tokens. Default 30 minutes.
	TokenTTL time.Duration

	// DeviceInterval is the minimum polling interval of the device flow. Polling faster
	// earns `slow_down`. It is reported to clients in whole seconds (at least 1).
	// Default 5 seconds.
	DeviceInterval time.Duration

	// Workloads maps a GitHub-Actions-style request token (the value of
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN) to the claims of the workload it stands for.
	// Nil means DefaultWorkloads(); see LoadWorkloads for the JSON file format.
	Workloads map[string]Workload

	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// KeyFile is the name of the signing key file in Config.Dir.
const KeyFile = "devoidc-signing-key.pem"

const (
	authCodeTTL   = 60 * time.Second
	deviceCodeTTL = 10 * time.Minute
)

// Provider is the development OpenID Provider. It is safe for concurrent use.
type Provider struct {
	issuer    string
	path      string // URL path of issuer, "" or "/oidc"
	audience  string
	clients   []string
	ttl       time.Duration
	interval  time.Duration
	workloads map[string]Workload
	now       func() time.Time

	key    *ecdsa.PrivateKey
	keyID  string
	signer jose.Signer

	mu      sync.Mutex
	codes   map[string]*authCode
	devices map[string]*deviceGrant // by device_code
	users   map[string]string       // user_code -> device_code
}

// New returns a Provider, creating or loading its signing key.
func New(cfg Config) (*Provider, error) {
	issuer := strings.TrimRight(cfg.Issuer, "/")
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("devoidc: issuer: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("devoidc: issuer %q is not an http(s) URL without query or fragment", cfg.Issuer)
	}
	p := &Provider{
		issuer:    issuer,
		path:      u.EscapedPath(),
		audience:  cfg.Audience,
		clients:   cfg.ClientIDs,
		ttl:       cfg.TokenTTL,
		interval:  cfg.DeviceInterval,
		workloads: cfg.Workloads,
		now:       cfg.Now,
		codes:     map[string]*authCode{},
		devices:   map[string]*deviceGrant{},
		users:     map[string]string{},
	}
	if p.audience == "" {
		p.audience = "sigstore"
	}
	if len(p.clients) == 0 {
		p.clients = []string{"sigstore"}
	}
	if p.ttl <= 0 {
		p.ttl = 30 * time.Minute
	}
	if p.interval <= 0 {
		p.interval = 5 * time.Second
	}
	if p.workloads == nil {
		p.workloads = DefaultWorkloads()
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.key, err = loadOrCreateKey(cfg.Dir); err != nil {
		return nil, err
	}
	jwk := jose.JSONWebKey{Key: &p.key.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devoidc: key thumbprint: %w", err)
	}
	p.keyID = fmt.Sprintf("%x", tp[:8])
	p.signer, err = jose.NewSigner(
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: p.key, KeyID: p.keyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("devoidc: signer: %w", err)
	}
	return p, nil
}

// Issuer is the issuer of interactive (email) tokens.
func (p *Provider) Issuer() string { return p.issuer }

// ActionsIssuer is the issuer of workload tokens from /actions/token: Issuer + "/actions".
func (p *Provider) ActionsIssuer() string { return p.issuer + "/actions" }

// Banner is the warning the server prints when the provider is enabled.
func (p *Provider) Banner() string {
	return "WARNING: development OIDC issuer enabled at " + p.issuer +
		": anyone can obtain a token for any email; never expose this"
}

// Handler serves the provider's endpoints. Paths are relative to the issuer URL's path;
// requests that still carry that path (no http.StripPrefix) are accepted too.
func (p *Provider) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /actions/.well-known/openid-configuration", p.serveActionsDiscovery)
	mux.HandleFunc("GET /keys", p.serveKeys)
	mux.HandleFunc("GET /authorize", p.serveAuthorize)
	mux.HandleFunc("POST /authorize", p.serveLogin)
	mux.HandleFunc("POST /token", p.serveToken)
	mux.HandleFunc("POST /device/code", p.serveDeviceCode)
	mux.HandleFunc("GET /device", p.serveDevicePage)
	mux.HandleFunc("POST /device", p.serveDeviceDecision)
	mux.HandleFunc("GET /actions/token", p.serveActionsToken)
	if p.path == "" || p.path == "/" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rest, ok := strings.CutPrefix(r.URL.Path, p.path); ok && strings.HasPrefix(rest, "/") {
			r2 := new(http.Request)
			*r2 = *r
			r2.URL = new(url.URL)
			*r2.URL = *r.URL
			r2.URL.Path = rest
			r2.URL.RawPath = ""
			r = r2
		}
		mux.ServeHTTP(w, r)
	})
}

func loadOrCreateKey(dir string) (*ecdsa.PrivateKey, error) {
	if dir == "" {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("devoidc: generating key: %w", err)
		}
		return k, nil
	}
	k, err := keyfile.ECDSA(filepath.Join(dir, KeyFile), elliptic.P256())
	if err != nil {
		return nil, fmt.Errorf("devoidc: %w", err)
	}
	return k, nil
}
