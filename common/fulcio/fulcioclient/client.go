// Package fulcioclient is a client for Fulcio v2-compatible certificate
// authorities (the public Sigstore instance, a private Fulcio, or waxseal's
// embedded CA). Reading the certificates they issue, as verifiers do, is
// common/fulcio, which links no HTTP client.
//
// Issuing a certificate:
//
//	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
//	pop, _ := fulcioclient.ProofOfPossession(key, challenge) // email claim, or sub
//	c := &fulcioclient.Client{BaseURL: "https://fulcio.sigstore.dev"}
//	chain, err := c.SigningCert(ctx, idToken, key.Public(), pop) // [leaf, intermediate, ..., root]
//
// The token travels in the "Authorization: Bearer" header, as sigstore-go sends it; Fulcio
// (and waxseal's CA) also accept it in the body as credentials.oidcIdentityToken.
package fulcioclient

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client talks to a Fulcio v2 REST API.
type Client struct {
	// BaseURL is the CA's URL without the /api/v2 path, e.g. "https://fulcio.sigstore.dev".
	BaseURL string
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
}

// Error is a non-200 answer from the CA; Message is the server's own explanation.
type Error struct {
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("fulcio: HTTP %d: %s", e.StatusCode, e.Message)
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// SigningCert asks for a certificate for pub, proving possession with proofOfPossession
// (see ProofOfPossession). It returns the chain leaf first.
func (c *Client) SigningCert(ctx context.Context, token string, pub crypto.PublicKey, proofOfPossession []byte) ([]*x509.Certificate, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("fulcio: marshal public key: %w", err)
	}
	alg := "ECDSA"
	switch pub.(type) {
	case *rsa.PublicKey:
		alg = "RSA_PSS"
	case ed25519.PublicKey:
		alg = "ED25519"
	}
	req := map[string]any{"publicKeyRequest": map[string]any{
		"publicKey":         map[string]string{"algorithm": alg, "content": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
		"proofOfPossession": base64.StdEncoding.EncodeToString(proofOfPossession),
	}}
	return c.signingCert(ctx, token, req)
}

// SigningCertCSR asks for a certificate for the key in a DER PKCS#10 request, whose
// self-signature is the proof of possession.
func (c *Client) SigningCertCSR(ctx context.Context, token string, csrDER []byte) ([]*x509.Certificate, error) {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})
	return c.signingCert(ctx, token, map[string]any{"certificateSigningRequest": base64.StdEncoding.EncodeToString(p)})
}

func (c *Client) signingCert(ctx context.Context, token string, req any) ([]*x509.Certificate, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Embedded *struct {
			Chain certChain `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
		Detached *struct {
			Chain certChain `json:"chain"`
		} `json:"signedCertificateDetachedSct"`
	}
	if err := c.do(ctx, "POST", "/api/v2/signingCert", token, body, &resp); err != nil {
		return nil, err
	}
	switch {
	case resp.Embedded != nil:
		return resp.Embedded.Chain.parse()
	case resp.Detached != nil:
		return resp.Detached.Chain.parse()
	}
	return nil, errors.New("fulcio: response has no certificate chain")
}

// TrustBundle returns the CA's chains (each intermediates then root).
func (c *Client) TrustBundle(ctx context.Context) ([][]*x509.Certificate, error) {
	var resp struct {
		Chains []certChain `json:"chains"`
	}
	if err := c.do(ctx, "GET", "/api/v2/trustBundle", "", nil, &resp); err != nil {
		return nil, err
	}
	var out [][]*x509.Certificate
	for _, ch := range resp.Chains {
		certs, err := ch.parse()
		if err != nil {
			return nil, err
		}
		out = append(out, certs)
	}
	return out, nil
}

type certChain struct {
	Certificates []string `json:"certificates"`
}

func (ch certChain) parse() ([]*x509.Certificate, error) {
	if len(ch.Certificates) == 0 {
		return nil, errors.New("fulcio: empty certificate chain")
	}
	var out []*x509.Certificate
	for i, p := range ch.Certificates {
		rest := []byte(p)
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("fulcio: certificate %d: %w", i, err)
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("fulcio: chain holds no PEM certificates")
	}
	return out, nil
}

const maxResponse = 1 << 20

func (c *Client) do(ctx context.Context, method, path, token string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("fulcio: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return fmt.Errorf("fulcio: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("fulcio: reading response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			msg = e.Message
		}
		return &Error{StatusCode: resp.StatusCode, Message: msg}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("fulcio: malformed response: %w", err)
	}
	return nil
}

// ProofOfPossession signs challenge (the token's email claim for email identities, else its
// sub) the way Fulcio verifies it: ECDSA as ASN.1 DER over SHA-256 (P-256), SHA-384 (P-384)
// or SHA-512 (P-521); RSA PKCS#1 v1.5 over SHA-256; Ed25519 over the message itself.
func ProofOfPossession(signer crypto.Signer, challenge string) ([]byte, error) {
	msg := []byte(challenge)
	var digest []byte
	var opts crypto.SignerOpts
	switch k := signer.Public().(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			d := sha256.Sum256(msg)
			digest, opts = d[:], crypto.SHA256
		case elliptic.P384():
			d := sha512.Sum384(msg)
			digest, opts = d[:], crypto.SHA384
		case elliptic.P521():
			d := sha512.Sum512(msg)
			digest, opts = d[:], crypto.SHA512
		default:
			return nil, fmt.Errorf("fulcio: unsupported ECDSA curve %s", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
		d := sha256.Sum256(msg)
		digest, opts = d[:], crypto.SHA256
	case ed25519.PublicKey:
		digest, opts = msg, crypto.Hash(0)
	default:
		return nil, fmt.Errorf("fulcio: unsupported key type %T", k)
	}
	sig, err := signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("fulcio: proof of possession: %w", err)
	}
	return sig, nil
}
