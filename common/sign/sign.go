// Package sign is the signing half of the keyless core:
//
//	OIDC token -> ephemeral key -> certificate -> signature -> log entry -> bundle
//
// A [credential.Credential] (see package credential for logging in) signs any
// number of artifacts until its certificate expires; each signature is
// recorded in the transparency log, and the log's answer (signed entry
// timestamp, inclusion proof, checkpoint) goes into the bundle, so
// verification needs no network.
package sign

import (
	"context"
	"crypto"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"time"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/dsse"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
)

// Signer signs artifacts and records them in a log.
type Signer struct {
	Credential *credential.Credential
	Log        *tlogclient.Client
}

func (s *Signer) check() error {
	if !s.Credential.Valid(time.Now()) {
		return credential.ErrExpired
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
	tle, err := s.Log.Record(ctx, proposed)
	if err != nil {
		return nil, err
	}
	return bundle.NewMessageSignature(s.Credential.Certificate, h, digest, sig, tle)
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
	tle, err := s.Log.Record(ctx, proposed)
	if err != nil {
		return nil, err
	}
	return bundle.NewDSSE(s.Credential.Certificate, payloadType, payload, sig, tle), nil
}

func keyName(pub crypto.PublicKey) string {
	if d, err := trust.KeyDetails(pub); err == nil {
		return d
	}
	return fmt.Sprintf("%T", pub)
}
