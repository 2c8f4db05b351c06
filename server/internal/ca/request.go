package ca

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// signingCertRequest is Fulcio's CreateSigningCertificateRequest in protojson. protojson
// accepts both the lowerCamelCase JSON name and the proto field name, so both are listed.
type signingCertRequest struct {
	Credentials *struct {
		OIDCIdentityToken  string `json:"oidcIdentityToken"`
		OIDCIdentityToken2 string `json:"oidc_identity_token"`
	} `json:"credentials"`
	PublicKeyRequest  *publicKeyRequest `json:"publicKeyRequest"`
	PublicKeyRequest2 *publicKeyRequest `json:"public_key_request"`
	CSR               string            `json:"certificateSigningRequest"`
	CSR2              string            `json:"certificate_signing_request"`
}

type publicKeyRequest struct {
	PublicKey *struct {
		Algorithm json.RawMessage `json:"algorithm"` // ignored: the key says what it is
		Content   string          `json:"content"`
	} `json:"publicKey"`
	PublicKey2 *struct {
		Algorithm json.RawMessage `json:"algorithm"`
		Content   string          `json:"content"`
	} `json:"public_key"`
	ProofOfPossession  string `json:"proofOfPossession"`
	ProofOfPossession2 string `json:"proof_of_possession"`
}

// parsedRequest is a syntactically valid request: a token and either a key with its proof
// of possession, or a CSR whose signature has been checked.
type parsedRequest struct {
	token string
	pub   crypto.PublicKey
	pop   []byte // nil for a CSR
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseSigningCertRequest parses a request body and Authorization header. It checks
// everything that does not need the token: JSON shape, key type and size, CSR signature.
// Errors are *httpError with 4xx codes.
func parseSigningCertRequest(body []byte, authorization string) (*parsedRequest, error) {
	var req signingCertRequest
	if err := decodeRequest(body, &req); err != nil {
		return nil, err
	}
	return req.parse(authorization)
}

// decodeRequest decodes a request body, one JSON object, into v.
func decodeRequest(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return errBadRequest("malformed JSON request: %v", err)
	}
	if dec.More() {
		return errBadRequest("malformed JSON request: trailing data after the object")
	}
	return nil
}

// parse checks a decoded request: see parseSigningCertRequest.
func (req *signingCertRequest) parse(authorization string) (*parsedRequest, error) {
	out := &parsedRequest{}
	if req.Credentials != nil {
		out.token = first(req.Credentials.OIDCIdentityToken, req.Credentials.OIDCIdentityToken2)
	}
	if out.token == "" {
		if scheme, tok, ok := strings.Cut(authorization, " "); ok && strings.EqualFold(scheme, "Bearer") {
			out.token = strings.TrimSpace(tok)
		}
	}
	pkr := req.PublicKeyRequest
	if pkr == nil {
		pkr = req.PublicKeyRequest2
	}
	csr := first(req.CSR, req.CSR2)
	switch {
	case pkr != nil && csr != "":
		return nil, errBadRequest("request has both publicKeyRequest and certificateSigningRequest")
	case pkr != nil:
		pk := pkr.PublicKey
		if pk == nil {
			pk = pkr.PublicKey2
		}
		if pk == nil || pk.Content == "" {
			return nil, errBadRequest("publicKeyRequest.publicKey.content is empty")
		}
		pub, err := parsePublicKey(pk.Content)
		if err != nil {
			return nil, err
		}
		popB64 := first(pkr.ProofOfPossession, pkr.ProofOfPossession2)
		if popB64 == "" {
			return nil, errBadRequest("publicKeyRequest.proofOfPossession is empty")
		}
		pop, err := decodeBytes(popB64)
		if err != nil {
			return nil, errBadRequest("proofOfPossession is not base64: %v", err)
		}
		out.pub, out.pop = pub, pop
	case csr != "":
		raw, err := decodeBytes(csr)
		if err != nil {
			return nil, errBadRequest("certificateSigningRequest is not base64: %v", err)
		}
		if blk, _ := pem.Decode(raw); blk != nil {
			if blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST" {
				return nil, errBadRequest("certificateSigningRequest PEM block is %q, not CERTIFICATE REQUEST", blk.Type)
			}
			raw = blk.Bytes
		}
		cr, err := x509.ParseCertificateRequest(raw)
		if err != nil {
			return nil, errBadRequest("certificateSigningRequest is not a PKCS#10 request: %v", err)
		}
		if err := checkKey(cr.PublicKey); err != nil {
			return nil, err
		}
		if err := cr.CheckSignature(); err != nil {
			return nil, errBadRequest("proof of possession failed: CSR self-signature does not verify: %v", err)
		}
		out.pub = cr.PublicKey
	default:
		return nil, errBadRequest("request has neither publicKeyRequest nor certificateSigningRequest")
	}
	return out, nil
}

// legacyRequest is Fulcio's v1 CertificateRequest as its grpc-gateway
// reads it: bytes fields in any base64 protojson takes, and each field
// under its JSON name or its proto name.
type legacyRequest struct {
	PublicKey           *legacyKey `json:"publicKey"`
	PublicKey2          *legacyKey `json:"public_key"`
	SignedEmailAddress  string     `json:"signedEmailAddress"`
	SignedEmailAddress2 string     `json:"signed_email_address"`
	CSR                 string     `json:"certificateSigningRequest"`
	CSR2                string     `json:"certificate_signing_request"`
}

type legacyKey struct {
	Content   string `json:"content"`
	Algorithm string `json:"algorithm"` // ignored: the key says what it is
}

// parseLegacySigningCertRequest parses a v1 request body and its
// Authorization header, the only place v1 carries the token, as the
// request the v2 API would have made: the same key checks, proof of
// possession and CSR checks apply.
func parseLegacySigningCertRequest(body []byte, authorization string) (*parsedRequest, error) {
	var l legacyRequest
	if err := decodeRequest(body, &l); err != nil {
		return nil, err
	}
	if scheme, tok, ok := strings.Cut(authorization, " "); !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return nil, errUnauthenticated("no OIDC identity token: the v1 API takes it in the header, Authorization: Bearer <token>")
	}
	key := l.PublicKey
	if key == nil {
		key = l.PublicKey2
	}
	var content string
	if key != nil {
		content = key.Content
	}
	csr := first(l.CSR, l.CSR2)
	var v2 signingCertRequest
	switch {
	case content != "" && csr != "":
		return nil, errBadRequest("request has both publicKey and certificateSigningRequest")
	case csr != "":
		v2.CSR = csr
	case content != "":
		pop := first(l.SignedEmailAddress, l.SignedEmailAddress2)
		if pop == "" {
			return nil, errBadRequest("signedEmailAddress is empty: it is the proof of possession, a signature by the key over the challenge")
		}
		if _, err := decodeBytes(content); err != nil {
			return nil, errBadRequest("publicKey.content is not base64: %v", err)
		}
		// v2 reads base64 DER or PEM as v1 sends them.
		v2.PublicKeyRequest = &publicKeyRequest{ProofOfPossession: pop}
		v2.PublicKeyRequest.PublicKey = &struct {
			Algorithm json.RawMessage `json:"algorithm"`
			Content   string          `json:"content"`
		}{Content: content}
	default:
		return nil, errBadRequest("request has neither publicKey nor certificateSigningRequest")
	}
	return v2.parse(authorization)
}

// decodeBytes decodes a protojson bytes field: standard or URL-safe base64, padded or not.
func decodeBytes(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func parsePublicKey(content string) (crypto.PublicKey, error) {
	der := []byte(content)
	if blk, _ := pem.Decode(der); blk != nil {
		der = blk.Bytes
	} else if b, err := decodeBytes(content); err == nil {
		// protojson sends bytes as base64; Fulcio's content is a string holding PEM, but a
		// base64 DER SPKI is accepted too, and (from the v1 API) base64 PEM.
		der = b
		if blk, _ := pem.Decode(b); blk != nil {
			der = blk.Bytes
		}
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errBadRequest("publicKey.content is not a PEM or DER SubjectPublicKeyInfo: %v", err)
	}
	if err := checkKey(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// checkKey enforces Fulcio's default client key types: ECDSA P-256/P-384/P-521,
// RSA 2048-4096, Ed25519.
func checkKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return errBadRequest("unsupported key: ECDSA curve %s (want P-256, P-384 or P-521)", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 4096 {
			return errBadRequest("unsupported key: RSA-%d (want 2048 to 4096 bits)", n)
		}
		return nil
	case ed25519.PublicKey:
		return nil
	}
	return errBadRequest("unsupported key type %T (want ECDSA, RSA or Ed25519)", pub)
}

var errBadPoP = errors.New("signature does not verify")

// verifyPoP checks sig over challenge with pub, using the hashing sigstore clients use:
// ECDSA over the curve's hash (SHA-256 also accepted), RSA PKCS#1 v1.5 or PSS over SHA-256,
// Ed25519 over the message itself.
func verifyPoP(pub crypto.PublicKey, challenge string, sig []byte) error {
	msg := []byte(challenge)
	d256 := sha256.Sum256(msg)
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		var d []byte
		switch k.Curve {
		case elliptic.P384():
			h := sha512.Sum384(msg)
			d = h[:]
		case elliptic.P521():
			h := sha512.Sum512(msg)
			d = h[:]
		default:
			d = d256[:]
		}
		if ecdsa.VerifyASN1(k, d, sig) || ecdsa.VerifyASN1(k, d256[:], sig) {
			return nil
		}
	case *rsa.PublicKey:
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, d256[:], sig) == nil ||
			rsa.VerifyPSS(k, crypto.SHA256, d256[:], sig, nil) == nil {
			return nil
		}
	case ed25519.PublicKey:
		if ed25519.Verify(k, msg, sig) {
			return nil
		}
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	return errBadPoP
}
