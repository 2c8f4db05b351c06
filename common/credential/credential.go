// Package credential is the login half of the keyless core: it turns an
// OpenID Connect identity token into a [Credential], a fresh in-memory key
// and the short-lived certificate the CA issued for it, bound to the token's
// identity by a proof of possession. The private key is never written
// anywhere; drop the credential and it is gone.
//
// It is kept apart from package sign so that programs that only need a
// credential (gitsign, the agent) do not link the bundle format.
package credential

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/oidc"
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
func Login(ctx context.Context, ca *fulcioclient.Client, tokens oidc.TokenSource, kt keys.Type) (*Credential, error) {
	raw, err := tokens.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("getting an identity token: %w", err)
	}
	return LoginWithToken(ctx, ca, raw, kt)
}

// LoginWithToken is Login with a token in hand.
func LoginWithToken(ctx context.Context, ca *fulcioclient.Client, raw string, kt keys.Type) (*Credential, error) {
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
	pop, err := fulcioclient.ProofOfPossession(signer, challenge)
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
