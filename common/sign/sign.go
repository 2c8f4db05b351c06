// Package sign is the signing half of the keyless core:
//
//	OIDC token -> ephemeral key -> certificate -> signature -> log entry -> bundle
//
// [Login] turns an identity token into a [Credential]: a fresh in-memory key
// and the ten-minute certificate the CA issued for it, bound to the token's
// identity by a proof of possession. A credential signs any number of
// artifacts until its certificate expires; each signature is recorded in the
// transparency log, and the log's answer (signed entry timestamp, inclusion
// proof, checkpoint) goes into the bundle, so verification needs no network.
// The private key is never written anywhere; drop the credential and it is gone.
package sign

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/dsse"
	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"

	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
)

// Credential is an ephemeral key with its certificate.
type Credential struct {
	Signer      crypto.Signer
	Certificate *x509.Certificate
	Chain       []*x509.Certificate // issuing certificates, leaf excluded
}

// ErrExpired is returned when a credential's certificate has expired (or is
// about to): log in again.
var ErrExpired = errors.New("signing certificate has expired; log in again")

// expiryMargin keeps a signature from reaching the log after its
// certificate expired: the log's time is what verifiers check against.
const expiryMargin = 15 * time.Second

// Login obtains a certificate for a new key of type kt. It checks the token
// (expiry, audience) before contacting the CA so that a stale token gets a
// clear message.
func Login(ctx context.Context, ca *fulcio.Client, tokens oidc.TokenSource, kt keys.Type) (*Credential, error) {
	raw, err := tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting an identity token: %w", err)
	}
	return LoginWithToken(ctx, ca, raw, kt)
}

// LoginWithToken is Login with a token in hand.
func LoginWithToken(ctx context.Context, ca *fulcio.Client, raw string, kt keys.Type) (*Credential, error) {
	claims, err := oidc.Inspect(raw)
	if err != nil {
		return nil, fmt.Errorf("identity token: %w", err)
	}
	if err := claims.Check(time.Now(), ""); err != nil {
		return nil, fmt.Errorf("identity token: %w", err)
	}
	challenge, err := claims.Subject()
	if err != nil {
		return nil, fmt.Errorf("identity token: %w", err)
	}
	signer, err := keys.Generate(kt)
	if err != nil {
		return nil, err
	}
	pop, err := fulcio.ProofOfPossession(signer, challenge)
	if err != nil {
		return nil, err
	}
	chain, err := ca.SigningCert(ctx, raw, signer.Public(), pop)
	if err != nil {
		return nil, fmt.Errorf("requesting a certificate: %w", err)
	}
	if len(chain) == 0 {
		return nil, errors.New("requesting a certificate: CA returned no certificate")
	}
	return &Credential{Signer: signer, Certificate: chain[0], Chain: chain[1:]}, nil
}

// Valid reports whether the credential can still sign at now.
func (c *Credential) Valid(now time.Time) bool {
	return now.Add(expiryMargin).Before(c.Certificate.NotAfter)
}

// Signer signs artifacts and records them in a log.
type Signer struct {
	Credential *Credential
	Log        *tlog.Client
}

func (s *Signer) check() error {
	if !s.Credential.Valid(time.Now()) {
		return ErrExpired
	}
	return nil
}

func (s *Signer) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Credential.Certificate.Raw})
}

// Artifact signs the bytes read from r.
func (s *Signer) Artifact(ctx context.Context, r io.Reader) (*bundle.Bundle, error) {
	h, err := keys.Hash(s.Credential.Signer.Public())
	if err != nil {
		return nil, err
	}
	d := h.New()
	if _, err := io.Copy(d, r); err != nil {
		return nil, fmt.Errorf("reading artifact: %w", err)
	}
	return s.Digest(ctx, h, d.Sum(nil))
}

// Digest signs an artifact known only by its digest, which must be made
// with the key type's hash (keys.Hash).
func (s *Signer) Digest(ctx context.Context, h crypto.Hash, digest []byte) (*bundle.Bundle, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if want, err := keys.Hash(s.Credential.Signer.Public()); err != nil || want != h {
		return nil, fmt.Errorf("a %s key signs %v digests, not %v", keyName(s.Credential.Signer.Public()), want, h)
	}
	sig, err := keys.SignDigest(s.Credential.Signer, digest)
	if err != nil {
		return nil, err
	}
	proposed, err := tlog.NewHashedRekord(keys.RekorName(h), digest, sig, s.certPEM())
	if err != nil {
		return nil, err
	}
	tle, err := s.upload(ctx, proposed)
	if err != nil {
		return nil, err
	}
	alg, err := keys.HashAlgorithm(h)
	if err != nil {
		return nil, err
	}
	return bundle.NewMessageSignature(s.Credential.Certificate, alg, digest, sig, tle), nil
}

// DSSE signs a payload in a DSSE envelope (an in-toto statement, say).
func (s *Signer) DSSE(ctx context.Context, payloadType string, payload []byte) (*bundle.Bundle, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	sig, err := keys.SignMessage(s.Credential.Signer, dsse.PAE(payloadType, payload))
	if err != nil {
		return nil, err
	}
	env, err := json.Marshal(dsse.Envelope{PayloadType: payloadType, Payload: payload, Signatures: []dsse.Signature{{Sig: sig}}})
	if err != nil {
		return nil, err
	}
	proposed, err := tlog.NewDSSE(env, s.certPEM())
	if err != nil {
		return nil, err
	}
	tle, err := s.upload(ctx, proposed)
	if err != nil {
		return nil, err
	}
	return bundle.NewDSSE(s.Credential.Certificate, payloadType, payload, sig, tle), nil
}

func (s *Signer) upload(ctx context.Context, proposed []byte) (*rekorpb.TransparencyLogEntry, error) {
	_, entry, _, err := s.Log.Upload(ctx, proposed)
	if err != nil {
		return nil, fmt.Errorf("recording the signature in the transparency log: %w", err)
	}
	tle, err := tlog.ToTLE(entry)
	if err != nil {
		return nil, fmt.Errorf("transparency log answer: %w", err)
	}
	return tle, nil
}

func keyName(pub crypto.PublicKey) string {
	if d, err := trust.KeyDetails(pub); err == nil {
		return d.String()
	}
	return fmt.Sprintf("%T", pub)
}
