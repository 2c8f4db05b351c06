// Package keys generates the ephemeral signing keys of keyless signing and
// fixes, for each key type, how an artifact digest is signed and verified:
//
//	ecdsa-p256  SHA-256, ASN.1 DER ECDSA signature
//	ecdsa-p384  SHA-384, ASN.1 DER ECDSA signature
//	ed25519     SHA-512, Ed25519ph (RFC 8032 pre-hashed), so a log can verify it from the digest
//	rsa-N       SHA-256, RSASSA-PKCS1-v1_5 (N = 2048, 3072 or 4096)
//
// Keys live only in memory: nothing here writes key material anywhere.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
)

// Type names a key algorithm.
type Type string

// Supported key types.
const (
	ECDSAP256 Type = "ecdsa-p256"
	ECDSAP384 Type = "ecdsa-p384"
	Ed25519   Type = "ed25519"
	RSA2048   Type = "rsa-2048"
	RSA3072   Type = "rsa-3072"
	RSA4096   Type = "rsa-4096"
)

// Default is the key type used unless one is asked for.
const Default = ECDSAP256

// Types lists the supported key types, for help texts.
var Types = []Type{ECDSAP256, ECDSAP384, Ed25519, RSA2048, RSA3072, RSA4096}

// ParseType accepts a key type name.
func ParseType(s string) (Type, error) {
	for _, t := range Types {
		if strings.EqualFold(s, string(t)) {
			return t, nil
		}
	}
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = string(t)
	}
	return "", fmt.Errorf("unknown key type %q (want one of %s)", s, strings.Join(names, ", "))
}

// Generate creates a fresh in-memory key.
func Generate(t Type) (crypto.Signer, error) {
	switch t {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case Ed25519:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("unknown key type %q", t)
}

// Hash returns the digest algorithm used with a public key.
func Hash(pub crypto.PublicKey) (crypto.Hash, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return crypto.SHA256, nil
		case elliptic.P384():
			return crypto.SHA384, nil
		case elliptic.P521():
			return crypto.SHA512, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return crypto.SHA512, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return 0, fmt.Errorf("RSA key of %d bits is too small (minimum 2048)", k.N.BitLen())
		}
		return crypto.SHA256, nil
	}
	return 0, fmt.Errorf("unsupported key type %T", pub)
}

// SignDigest signs a digest made with Hash(signer.Public()).
func SignDigest(signer crypto.Signer, digest []byte) ([]byte, error) {
	h, err := Hash(signer.Public())
	if err != nil {
		return nil, err
	}
	if len(digest) != h.Size() {
		return nil, fmt.Errorf("digest is %d bytes, want %d for %v", len(digest), h.Size(), h)
	}
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		return signer.Sign(rand.Reader, digest, &ed25519.Options{Hash: crypto.SHA512})
	}
	return signer.Sign(rand.Reader, digest, h)
}

// ErrBadSignature is returned when a signature does not verify.
var ErrBadSignature = errors.New("signature does not verify")

// VerifyDigest checks a signature over a digest made with hash. For ECDSA and
// RSA keys hash may differ from Hash(pub) (a P-384 key over SHA-256, say);
// Ed25519 is always Ed25519ph over SHA-512.
func VerifyDigest(pub crypto.PublicKey, hash crypto.Hash, digest, sig []byte) error {
	if !hash.Available() || len(digest) != hash.Size() {
		return fmt.Errorf("digest of %d bytes does not match %v", len(digest), hash)
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return ErrBadSignature
		}
	case ed25519.PublicKey:
		if hash != crypto.SHA512 {
			return fmt.Errorf("Ed25519ph needs a SHA-512 digest, got %v", hash)
		}
		if err := ed25519.VerifyWithOptions(k, digest, sig, &ed25519.Options{Hash: crypto.SHA512}); err != nil {
			return ErrBadSignature
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("RSA key of %d bits is too small (minimum 2048)", k.N.BitLen())
		}
		if rsa.VerifyPKCS1v15(k, hash, digest, sig) != nil && rsa.VerifyPSS(k, hash, digest, sig, nil) != nil {
			return ErrBadSignature
		}
	default:
		return fmt.Errorf("unsupported key type %T", pub)
	}
	return nil
}

// VerifyMessage checks a signature over a whole message (DSSE PAE, say):
// the message is hashed with Hash(pub), except that Ed25519 signs it pure.
func VerifyMessage(pub crypto.PublicKey, msg, sig []byte) error {
	if k, ok := pub.(ed25519.PublicKey); ok {
		if !ed25519.Verify(k, msg, sig) {
			return ErrBadSignature
		}
		return nil
	}
	h, err := Hash(pub)
	if err != nil {
		return err
	}
	d := h.New()
	d.Write(msg)
	return VerifyDigest(pub, h, d.Sum(nil), sig)
}

// SignMessage signs a whole message the way VerifyMessage checks it.
func SignMessage(signer crypto.Signer, msg []byte) ([]byte, error) {
	if _, ok := signer.Public().(ed25519.PublicKey); ok {
		return signer.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	h, err := Hash(signer.Public())
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(msg)
	return SignDigest(signer, d.Sum(nil))
}

// RekorName is the hash's name in Rekor entries: sha256, sha384, sha512.
func RekorName(h crypto.Hash) string {
	switch h {
	case crypto.SHA384:
		return "sha384"
	case crypto.SHA512:
		return "sha512"
	}
	return "sha256"
}
