// Package ca is a Fulcio v2-compatible certificate authority: it exchanges an OpenID Connect
// ID token and a public key for a ten-minute code-signing certificate that names the token's
// identity, with the certificate-transparency SCT embedded.
//
// The HTTP API is Fulcio's grpc-gateway surface (protojson, lowerCamelCase names):
//
//	POST /api/v2/signingCert     -> 200 {"signedCertificateEmbeddedSct":{"chain":{"certificates":[leaf, intermediate, root]}}}
//	GET  /api/v2/trustBundle     -> {"chains":[{"certificates":[intermediate, root]}]}
//	GET  /api/v2/configuration   -> {"issuers":[{"issuerUrl","audience","challengeClaim","issuerType",...}]}
//	GET  /api/v1/rootCert        -> PEM chain (intermediate, root)
//	POST /api/v1/signingCert     -> 201 PEM chain (leaf, intermediate, root): Fulcio's legacy API
//
// A signingCert request carries the token either in the body or in an "Authorization: Bearer"
// header (sigstore-go sends the header, sigstore-js the body), and either
//
//	{"credentials":{"oidcIdentityToken":"<jwt>"},
//	 "publicKeyRequest":{"publicKey":{"algorithm":"ECDSA","content":"<PEM or DER SPKI>"},
//	                     "proofOfPossession":"<base64 signature over the challenge>"}}
//
// where the challenge is the UTF-8 `email` claim for email issuers and `sub` otherwise, or
// {"certificateSigningRequest":"<base64 of a PEM PKCS#10 CSR>"} whose self-signature is the
// proof of possession. The legacy v1 request, which sigstore's gitsign sends, has the token
// in the header and either
//
//	{"publicKey":{"algorithm":"ecdsa","content":"<base64 DER or PEM SPKI>"},
//	 "signedEmailAddress":"<base64 signature over the challenge>"}
//
// or {"certificateSigningRequest":"<base64 of a PEM or DER CSR>"}.
//
// Issuance follows RFC 6962's precertificate flow: a precertificate carrying the critical
// poison extension is signed by the intermediate and logged with the CT log, and the final
// certificate is the same TBSCertificate with the poison replaced by the SCT list.
//
// Every client error is a 4xx JSON body {"code":<HTTP status>,"message":"..."} that names the
// check that failed.
package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"time"

	ct "github.com/google/certificate-transparency-go"
)

// PrecertLogger is a certificate-transparency log that accepts precertificate chains
// (DER: precertificate, issuer, ..., root) and returns the log's SCT. *ctlog.Log satisfies it.
type PrecertLogger interface {
	AddPreChain(ctx context.Context, chain [][]byte) (*ct.SignedCertificateTimestamp, error)
}

// Issuer types, as in Fulcio's configuration.
const (
	// TypeEmail: the SAN is the token's verified `email` (rfc822Name); the proof of possession
	// is over the email. `email_verified` must be true.
	TypeEmail = "email"
	// TypeGitHubWorkflow: a CI workflow token in GitHub Actions' format. The SAN is the URI
	// <server_url>/<job_workflow_ref> (server_url defaults to https://github.com) and the
	// workflow claims are copied into the Sigstore CI extensions. Proof over `sub`.
	TypeGitHubWorkflow = "github-workflow"
	// TypeURI: the SAN is the URI in `sub`, whose scheme and host must equal SubjectDomain's.
	TypeURI = "uri"
	// TypeUsername: the SAN is an OtherName (OID 1.3.6.1.4.1.57264.1.7) holding
	// "<sub>!<SubjectDomain>". Proof over `sub`.
	TypeUsername = "username"
)

// Issuer is one OpenID Provider whose ID tokens the CA accepts.
type Issuer struct {
	// URL is the issuer identifier: the token's `iss` claim, and the base of
	// <URL>/.well-known/openid-configuration. Plain http:// works (for loopback issuers).
	URL string
	// ClientID is the audience the token must carry. Defaults to "sigstore".
	ClientID string
	// Type is one of TypeEmail, TypeGitHubWorkflow, TypeURI, TypeUsername.
	Type string
	// SubjectDomain is required for TypeURI (e.g. "https://example.com") and TypeUsername
	// (e.g. "example.com").
	SubjectDomain string
}

// Config is the CA's configuration. Zero values are usable defaults except where noted.
type Config struct {
	// Dir holds the CA's keys and certificates: root.key, root.pem, intermediate.key and
	// intermediate.pem (keys PKCS#8 PEM, mode 0600; directory 0700). They are created on
	// first start and reused afterwards; a partial set is an error, never silently replaced.
	// Required.
	Dir string

	// Issuers lists the accepted OpenID Providers. Discovery (and JWKS fetching) happens at
	// first use of each issuer, so an issuer served by this same process may start later; a
	// failed discovery is retried on the next request rather than remembered. Required.
	Issuers []Issuer

	// CT logs precertificates so that issued certificates carry an embedded SCT, which
	// sigstore-go and cosign require by default. If nil, certificates are issued without SCTs
	// and returned in Fulcio's signedCertificateDetachedSct form with no SCT.
	CT PrecertLogger

	// HTTPClient is used for OIDC discovery and JWKS. Defaults to http.DefaultClient.
	HTTPClient *http.Client

	// Now is the clock for certificate validity and token expiry. Defaults to time.Now.
	Now func() time.Time

	// MaxRequestBytes bounds a signingCert request body; larger bodies get 413.
	// Defaults to 64 KiB.
	MaxRequestBytes int64

	// Organization names the operator in the CA certificates' subjects when they are first
	// created. Defaults to "waxseal".
	Organization string
}

// CA is a running certificate authority. Its methods are safe for concurrent use.
type CA struct {
	cfg     Config
	keys    *keys
	issuers map[string]*issuer
}

// New loads or creates the CA's keys in cfg.Dir and prepares (but does not yet contact)
// the configured issuers.
func New(ctx context.Context, cfg Config) (*CA, error) {
	if cfg.Dir == "" {
		return nil, errors.New("ca: Config.Dir is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 64 << 10
	}
	if cfg.Organization == "" {
		cfg.Organization = "waxseal"
	}
	if len(cfg.Issuers) == 0 {
		return nil, errors.New("ca: Config.Issuers is empty")
	}
	c := &CA{cfg: cfg, issuers: make(map[string]*issuer)}
	for _, is := range cfg.Issuers {
		if is.ClientID == "" {
			is.ClientID = "sigstore"
		}
		switch is.Type {
		case TypeEmail, TypeGitHubWorkflow:
		case TypeURI, TypeUsername:
			if is.SubjectDomain == "" {
				return nil, fmt.Errorf("ca: issuer %s: type %q needs SubjectDomain", is.URL, is.Type)
			}
		default:
			return nil, fmt.Errorf("ca: issuer %s: unknown type %q", is.URL, is.Type)
		}
		if _, dup := c.issuers[is.URL]; dup {
			return nil, fmt.Errorf("ca: issuer %s configured twice", is.URL)
		}
		c.issuers[is.URL] = &issuer{Issuer: is, ca: c}
	}
	k, err := loadOrCreateKeys(cfg.Dir, cfg.Organization, cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	c.keys = k
	return c, nil
}

// Chain is the issuing chain, leaf-most first: [intermediate, root]. It is the certChain of
// this CA's entry in a trusted root.
func (c *CA) Chain() []*x509.Certificate {
	return []*x509.Certificate{c.keys.inter, c.keys.root}
}

// Root is the CA's self-signed root certificate.
func (c *CA) Root() *x509.Certificate { return c.keys.root }

// LoadRoot returns the root certificate of the CA kept in dir, creating
// the CA's keys there (for organization org, "waxseal" if empty) if there
// are none: for the CT log, which must know the root it accepts chains to
// before the CA, which logs through it, opens.
func LoadRoot(dir, org string) (*x509.Certificate, error) {
	if org == "" {
		org = "waxseal"
	}
	k, err := loadOrCreateKeys(dir, org, time.Now())
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	return k.root, nil
}
