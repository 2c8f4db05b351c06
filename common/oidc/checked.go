package oidc

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrUntrustedIssuer is returned (wrapped) by Checked when a token's issuer is not one
// the certificate authority accepts.
var ErrUntrustedIssuer = errors.New("identity token issuer is not trusted by the CA")

// Checked inspects every token its Source returns before anyone uses it: the token
// must parse as a signed JWT, be unexpired, and come from one of Issuers with the
// audience the CA expects of that issuer (or, if Issuers is empty, carry Audience). A stale token thus fails with a message that says so
// and names where it came from, instead of as a CA error. Checked does not verify the
// signature; the CA does.
type Checked struct {
	Source TokenSource
	// Name says where the token comes from, for messages ("$SIGSTORE_ID_TOKEN").
	Name string
	// Audience the token must carry when Issuers is empty. Empty skips the check.
	Audience string
	// Issuers maps the issuers the CA accepts to the audience it expects of each (the
	// CA's /api/v2/configuration). Nil means unknown: only Audience is checked.
	Issuers map[string]string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Token returns the source's token once it has passed the checks.
func (c Checked) Token(ctx context.Context) (string, error) {
	tok, err := c.Source.Token(ctx)
	if err != nil {
		return "", err
	}
	if err := c.Check(tok); err != nil {
		return "", err
	}
	return tok, nil
}

// Check runs the checks on a token in hand.
func (c Checked) Check(tok string) error {
	from := ""
	if c.Name != "" {
		from = " (from " + c.Name + ")"
	}
	claims, err := Inspect(tok)
	if err != nil {
		return fmt.Errorf("%w%s", err, from)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	aud := c.Audience
	if len(c.Issuers) > 0 {
		want, ok := c.Issuers[claims.Issuer]
		if !ok {
			return fmt.Errorf("%w: %q%s; it accepts %s", ErrUntrustedIssuer, claims.Issuer, from,
				strings.Join(slices.Sorted(maps.Keys(c.Issuers)), ", "))
		}
		aud = want
	}
	if err := claims.Check(now(), aud); err != nil {
		return fmt.Errorf("%w%s", err, from)
	}
	return nil
}
