package devoidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// authCode is an issued, not yet redeemed, authorization code.
type authCode struct {
	clientID    string
	redirectURI string
	challenge   string
	nonce       string
	email       string
	expiry      time.Time
}

func (p *Provider) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"jwks_uri":                              p.issuer + "/keys",
		"device_authorization_endpoint":         p.issuer + "/device/code",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code", grantDeviceCode},
		"scopes_supported":                      []string{"openid", "email"},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic", "client_secret_post"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified"},
	})
}

// serveActionsDiscovery describes the workload issuer: only keys, tokens come from
// /actions/token with a request token, as on GitHub.
func (p *Provider) serveActionsDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.ActionsIssuer(),
		"jwks_uri":                              p.issuer + "/keys",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"claims_supported":                      append([]string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti"}, workloadClaimNames...),
	})
}

func (p *Provider) serveKeys(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &p.key.PublicKey, KeyID: p.keyID, Algorithm: string(jose.ES256), Use: "sig",
	}}})
}

// OOBRedirect is the out-of-band redirect_uri: the login page shows the
// code for the user to paste into the client. Sigstore's clients (cosign,
// sigstore's gitsign) fall back to it when they cannot open a browser.
const OOBRedirect = "urn:ietf:wg:oauth:2.0:oob"

// authRequest is a validated authorization request.
type authRequest struct {
	clientID, redirectURI, state, nonce, challenge, scope string
}

// parseAuthRequest validates an authorization request. A non-nil redirect means the
// error may be reported to the client through its redirect_uri (RFC 6749 §4.1.2.1);
// otherwise the redirect_uri itself is not trusted and the error is shown to the user.
func (p *Provider) parseAuthRequest(v url.Values) (req authRequest, redirect *url.URL, errCode, errDesc string) {
	req = authRequest{
		clientID:    v.Get("client_id"),
		redirectURI: v.Get("redirect_uri"),
		state:       v.Get("state"),
		nonce:       v.Get("nonce"),
		challenge:   v.Get("code_challenge"),
		scope:       v.Get("scope"),
	}
	if !slices.Contains(p.clients, req.clientID) {
		return req, nil, "unauthorized_client", "unknown client_id " + quote(req.clientID)
	}
	// Out of band, the code is shown to the user instead (oobCodeTmpl), and
	// errors are shown too: there is nowhere to redirect them.
	u, ok := loopbackRedirect(req.redirectURI)
	if !ok && req.redirectURI != OOBRedirect {
		return req, nil, "invalid_request", "redirect_uri must be http://127.0.0.1:PORT, http://localhost:PORT or http://[::1]:PORT (loopback, RFC 8252), or " + OOBRedirect + ", got " + quote(req.redirectURI)
	}
	switch {
	case v.Get("response_type") != "code":
		return req, u, "unsupported_response_type", "response_type must be \"code\""
	case !slices.Contains(strings.Fields(req.scope), "openid"):
		return req, u, "invalid_scope", "scope must include \"openid\""
	case req.challenge == "":
		return req, u, "invalid_request", "PKCE is required: missing code_challenge"
	case v.Get("code_challenge_method") != "S256":
		return req, u, "invalid_request", "code_challenge_method must be S256"
	case !validChallenge(req.challenge):
		return req, u, "invalid_request", "code_challenge is not a base64url SHA-256 digest"
	}
	return req, u, "", ""
}

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req, redirect, code, desc := p.parseAuthRequest(q)
	if code != "" {
		p.authError(w, r, redirect, req.state, code, desc)
		return
	}
	hidden := make([]field, 0, len(q))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range q {
			if !yield(k) {
				return
			}
		}
	}) {
		hidden = append(hidden, field{k, q.Get(k)})
	}
	renderPage(w, http.StatusOK, loginTmpl, map[string]any{
		"Issuer": p.issuer, "Client": req.clientID, "Redirect": req.redirectURI, "Hidden": hidden,
	})
}

// serveLogin handles the login form. Its body carries the authorization request's
// parameters (hidden fields) plus "email", and "action" = "login" (default) or "deny".
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		renderError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	req, redirect, code, desc := p.parseAuthRequest(f)
	if code != "" {
		p.authError(w, r, redirect, req.state, code, desc)
		return
	}
	if f.Get("action") == "deny" {
		p.authError(w, r, redirect, req.state, "access_denied", "the user denied the request")
		return
	}
	email, err := parseEmail(f.Get("email"))
	if err != nil {
		renderError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	c := randomToken()
	p.mu.Lock()
	p.sweepLocked()
	p.codes[c] = &authCode{
		clientID: req.clientID, redirectURI: req.redirectURI, challenge: req.challenge,
		nonce: req.nonce, email: email, expiry: p.now().Add(authCodeTTL),
	}
	p.mu.Unlock()
	if req.redirectURI == OOBRedirect {
		renderPage(w, http.StatusOK, oobCodeTmpl, map[string]any{"Client": req.clientID, "Code": c, "TTL": authCodeTTL})
		return
	}
	rq := redirect.Query()
	rq.Set("code", c)
	if req.state != "" {
		rq.Set("state", req.state)
	}
	redirect.RawQuery = rq.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) authError(w http.ResponseWriter, r *http.Request, redirect *url.URL, state, code, desc string) {
	if redirect == nil {
		renderError(w, http.StatusBadRequest, code, desc)
		return
	}
	q := redirect.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if state != "" {
		q.Set("state", state)
	}
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	// Public clients: client_id comes in the body or as the Basic user name; a secret,
	// if any, is ignored.
	clientID := f.Get("client_id")
	if user, _, ok := r.BasicAuth(); ok {
		if u, err := url.QueryUnescape(user); err == nil {
			user = u
		}
		if clientID != "" && clientID != user {
			tokenError(w, http.StatusBadRequest, "invalid_request", "client_id in body and Authorization header differ")
			return
		}
		clientID = user
	}
	if !slices.Contains(p.clients, clientID) {
		status := http.StatusBadRequest
		if _, _, ok := r.BasicAuth(); ok {
			status = http.StatusUnauthorized // RFC 6749 §5.2
		}
		tokenError(w, status, "invalid_client", "unknown client_id "+quote(clientID))
		return
	}
	switch gt := f.Get("grant_type"); gt {
	case "authorization_code":
		p.redeemCode(w, clientID, f)
	case grantDeviceCode:
		p.redeemDeviceCode(w, clientID, f)
	case "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "missing grant_type")
	default:
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "unsupported grant_type "+quote(gt))
	}
}

func (p *Provider) redeemCode(w http.ResponseWriter, clientID string, f url.Values) {
	code := f.Get("code")
	p.mu.Lock()
	c, ok := p.codes[code]
	// A code is single-use: it is spent by the first attempt, even a failed one.
	delete(p.codes, code)
	p.mu.Unlock()
	switch {
	case !ok:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, expired or already used authorization code")
	case !p.now().Before(c.expiry):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "authorization code expired")
	case c.clientID != clientID:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "authorization code was issued to another client")
	case f.Get("redirect_uri") != c.redirectURI:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	case f.Get("code_verifier") == "":
		tokenError(w, http.StatusBadRequest, "invalid_request", "missing code_verifier (PKCE)")
	case !validVerifier(f.Get("code_verifier")):
		tokenError(w, http.StatusBadRequest, "invalid_grant", "malformed code_verifier")
	case subtle.ConstantTimeCompare([]byte(s256(f.Get("code_verifier"))), []byte(c.challenge)) != 1:
		tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed: code_verifier does not match code_challenge")
	default:
		p.issueTokens(w, clientID, c.email, c.nonce)
	}
}

// issueTokens answers a successful token request with an ID token for email.
func (p *Provider) issueTokens(w http.ResponseWriter, clientID, email, nonce string) {
	now := p.now()
	aud := []string{clientID}
	claims := map[string]any{
		"iss":            p.issuer,
		"sub":            email,
		"iat":            now.Unix(),
		"exp":            now.Add(p.ttl).Unix(),
		"email":          email,
		"email_verified": true,
	}
	if clientID != p.audience {
		aud = append(aud, p.audience)
		claims["azp"] = clientID
	}
	claims["aud"] = aud
	if nonce != "" {
		claims["nonce"] = nonce
	}
	idToken, err := p.sign(claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomToken(),
		"token_type":   "Bearer",
		"expires_in":   int64(p.ttl / time.Second),
		"id_token":     idToken,
		"scope":        "openid email",
	})
}

func (p *Provider) sign(claims map[string]any) (string, error) {
	return jwt.Signed(p.signer).Claims(claims).Serialize()
}

// sweepLocked forgets expired codes and device grants.
func (p *Provider) sweepLocked() {
	now := p.now()
	for k, c := range p.codes {
		if !now.Before(c.expiry) {
			delete(p.codes, k)
		}
	}
	for k, d := range p.devices {
		// Keep expired grants a little longer so that pollers see expired_token.
		if now.After(d.expiry.Add(deviceCodeTTL)) {
			delete(p.devices, k)
			delete(p.users, d.userCode)
		}
	}
}

// loopbackRedirect accepts http redirect URIs on a loopback host, any port (RFC 8252 §7.3).
func loopbackRedirect(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, false
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return u, true
	}
	return nil, false
}

func parseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errString("an email address is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", errString("not a plain email address: " + quote(s))
	}
	return s, nil
}

type errString string

func (e errString) Error() string { return string(e) }

func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// validVerifier checks RFC 7636 §4.1: 43-128 unreserved characters.
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range v {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	return true
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func quote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// tokenError writes an RFC 6749 §5.2 error response.
func tokenError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="devoidc"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
