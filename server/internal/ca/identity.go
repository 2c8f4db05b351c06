package ca

import (
	"context"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// discoveryTimeout bounds OIDC discovery, so that an issuer that accepts connections but
// never answers costs a request 10s, not forever.
const discoveryTimeout = 10 * time.Second

// issuer is a configured Issuer plus its lazily discovered go-oidc verifier.
type issuer struct {
	Issuer
	ca *CA

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier // nil until discovery succeeds
}

func (is *issuer) getVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	// Discovery runs under the request's deadline; the key set keeps only the client, so
	// later JWKS refreshes are not tied to this request.
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	pctx := oidc.ClientContext(ctx, is.ca.cfg.HTTPClient)
	p, err := oidc.NewProvider(pctx, is.URL)
	if err != nil {
		// Not cached: the next request tries again (the issuer may not be up yet).
		return nil, err
	}
	is.verifier = p.VerifierContext(oidc.ClientContext(context.Background(), is.ca.cfg.HTTPClient), &oidc.Config{
		ClientID: is.ClientID,
		Now:      is.ca.cfg.Now,
	})
	return is.verifier, nil
}

// principal is a verified identity, ready to be rendered into a certificate.
type principal struct {
	issuer    string // token `iss`
	subject   string // token `sub`
	challenge string // what the proof of possession signs
	email     string // rfc822Name SAN, or
	uri       string // URI SAN, or
	otherName string // OtherName SAN (username)
	exts      []extension
}

type extension struct {
	oid   asn1.ObjectIdentifier
	value []byte
}

// unverifiedIssuer reads `iss` from a JWT without verifying it, only to pick the issuer
// whose keys will verify it.
func unverifiedIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("token is not a JWT (want three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", fmt.Errorf("token payload is not base64url: %v", err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", fmt.Errorf("token payload is not a JSON object: %v", err)
	}
	if c.Iss == "" {
		return "", errors.New("token has no iss claim")
	}
	return c.Iss, nil
}

// authenticate verifies the token and maps it to a principal. Errors are *httpError.
func (c *CA) authenticate(ctx context.Context, token string) (*principal, error) {
	if token == "" {
		return nil, errUnauthenticated("no OIDC identity token (send credentials.oidcIdentityToken or Authorization: Bearer)")
	}
	iss, err := unverifiedIssuer(token)
	if err != nil {
		return nil, errUnauthenticated("malformed token: %v", err)
	}
	is, ok := c.issuers[iss]
	if !ok {
		return nil, errUnauthenticated("unknown OIDC issuer %q", iss)
	}
	v, err := is.getVerifier(ctx)
	if err != nil {
		return nil, errUnavailable("OIDC discovery for issuer %q failed: %v", iss, err)
	}
	idt, err := v.Verify(ctx, token)
	if err != nil {
		var exp *oidc.TokenExpiredError
		switch {
		case errors.As(err, &exp):
			return nil, errUnauthenticated("token expired at %s", exp.Expiry.UTC().Format("2006-01-02T15:04:05Z"))
		case strings.Contains(err.Error(), "expected audience"):
			return nil, errUnauthenticated("wrong token audience: %v (this CA expects %q)", strings.TrimPrefix(err.Error(), "oidc: "), is.ClientID)
		case strings.Contains(err.Error(), "failed to verify signature"):
			return nil, errUnauthenticated("bad token signature: %v", err)
		}
		return nil, errUnauthenticated("invalid token: %v", err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return nil, errUnauthenticated("token claims: %v", err)
	}
	p := &principal{issuer: idt.Issuer, subject: idt.Subject}
	if p.subject == "" {
		return nil, errUnauthenticated("token has no sub claim")
	}
	switch is.Type {
	case TypeEmail:
		email, _ := claims["email"].(string)
		if email == "" {
			return nil, errUnauthenticated("token from email issuer %q has no email claim", iss)
		}
		if !claimTrue(claims["email_verified"]) {
			return nil, errUnauthenticated("email %q is not verified (email_verified is not true)", email)
		}
		p.email, p.challenge = email, email
	case TypeGitHubWorkflow:
		if err := githubWorkflow(p, claims); err != nil {
			return nil, err
		}
	case TypeURI:
		u, err := url.Parse(p.subject)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, errUnauthenticated("sub %q is not an absolute URI", p.subject)
		}
		d, err := url.Parse(is.SubjectDomain)
		if err != nil || u.Scheme != d.Scheme || u.Host != d.Host {
			return nil, errUnauthenticated("sub %q is outside the issuer's subject domain %q", p.subject, is.SubjectDomain)
		}
		p.uri, p.challenge = p.subject, p.subject
	case TypeUsername:
		if strings.Contains(p.subject, "!") {
			return nil, errUnauthenticated("username %q contains '!'", p.subject)
		}
		p.otherName, p.challenge = p.subject+"!"+is.SubjectDomain, p.subject
	}
	// Issuer (deprecated, raw) and Issuer V2 (UTF8String), then the token subject.
	p.exts = append([]extension{
		{oidIssuer, []byte(p.issuer)},
		{oidIssuerV2, utf8(p.issuer)},
	}, p.exts...)
	p.exts = append(p.exts, extension{oidTokenSubject, utf8(p.subject)})
	return p, nil
}

func claimTrue(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true" // some providers send the string
	}
	return false
}

func utf8(s string) []byte {
	b, err := asn1.MarshalWithParams(s, "utf8")
	if err != nil {
		panic(err) // only invalid UTF-8 fails, and claims come from JSON strings
	}
	return b
}

func oid(n ...int) asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}, n...)
}

var (
	oidIssuer       = oid(1)
	oidOtherNameSAN = oid(7)
	oidIssuerV2     = oid(8)
	oidTokenSubject = oid(24)
)

// githubWorkflow maps a GitHub Actions token (Fulcio's github-workflow principal).
func githubWorkflow(p *principal, claims map[string]any) error {
	str := func(name string) string {
		switch v := claims[name].(type) {
		case string:
			return v
		case float64:
			return fmt.Sprint(int64(v))
		}
		return ""
	}
	for _, req := range []string{"job_workflow_ref", "sha", "event_name", "repository", "workflow", "ref"} {
		if str(req) == "" {
			return errUnauthenticated("CI workflow token is missing the %s claim", req)
		}
	}
	server := strings.TrimRight(str("server_url"), "/")
	if server == "" {
		server = "https://github.com"
	}
	p.uri = server + "/" + str("job_workflow_ref")
	p.challenge = p.subject
	raw := func(n int, v string) {
		if v != "" {
			p.exts = append(p.exts, extension{oid(n), []byte(v)})
		}
	}
	u8 := func(n int, v string) {
		if v != "" {
			p.exts = append(p.exts, extension{oid(n), utf8(v)})
		}
	}
	prefixed := func(claim string) string {
		if v := str(claim); v != "" {
			return server + "/" + v
		}
		return ""
	}
	raw(2, str("event_name"))
	raw(3, str("sha"))
	raw(4, str("workflow"))
	raw(5, str("repository"))
	raw(6, str("ref"))
	u8(9, prefixed("job_workflow_ref"))
	u8(10, str("job_workflow_sha"))
	u8(11, str("runner_environment"))
	u8(12, prefixed("repository"))
	u8(13, str("sha"))
	u8(14, str("ref"))
	u8(15, str("repository_id"))
	u8(16, prefixed("repository_owner"))
	u8(17, str("repository_owner_id"))
	u8(18, prefixed("workflow_ref"))
	u8(19, str("workflow_sha"))
	u8(20, str("event_name"))
	if run, attempt := str("run_id"), str("run_attempt"); run != "" && attempt != "" {
		u8(21, fmt.Sprintf("%s/%s/actions/runs/%s/attempts/%s", server, str("repository"), run, attempt))
	}
	u8(22, str("repository_visibility"))
	u8(23, str("environment"))
	return nil
}
