// Package signing signs git objects keylessly: a certificate from the
// credential, a CMS signature in sigstore gitsign's offline format, and its
// entry in the transparency log. It is apart from package gitsign, which
// verifies, so that the program git starts for every signature it shows
// links no HTTP client or login.
package signing

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/waxseal/waxseal/common/agent"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/gitsign/cms"
	"github.com/waxseal/waxseal/internal/clierr"
)

// Credentials hands out a signing credential. It is the seam where a login
// (or waxseal agent's remote key) plugs in; implementations may cache.
type Credentials interface {
	Credential(ctx context.Context) (*credential.Credential, error)
}

// CredentialsFunc adapts a function to Credentials.
type CredentialsFunc func(ctx context.Context) (*credential.Credential, error)

// Credential calls f.
func (f CredentialsFunc) Credential(ctx context.Context) (*credential.Credential, error) {
	return f(ctx)
}

// Signer signs git objects.
type Signer struct {
	Credentials Credentials
	Log         *tlogclient.Client
	// Now is the clock for the signing-time attribute; default time.Now.
	Now func() time.Time
	// CheckCertificate, if set, vets the credential's certificate before
	// anything is signed or logged: the log is public and permanent.
	CheckCertificate func(*x509.Certificate) error
}

// Signed is the outcome of Sign.
type Signed struct {
	PEM         []byte // the armored signature git stores
	Certificate *x509.Certificate
	Entry       *tlog.TLE
	Time        time.Time // signing time (signer's clock)
}

// errLogTooLate is the cause of a log upload given up at the certificate's
// expiry.
var errLogTooLate = errors.New("the transparency log did not answer before the signing certificate expired")

// Sign signs payload (a commit or tag without signature, as git passes it)
// and records the signature in the log.
func (s *Signer) Sign(ctx context.Context, payload []byte) (*Signed, error) {
	if s.Credentials == nil || s.Log == nil {
		return nil, errors.New("gitsign: signer needs credentials and a log")
	}
	var (
		cred        *credential.Credential
		u           *cms.Unsigned
		digest, sig []byte
		now         time.Time
	)
	// A credential held by waxseal agent signs only while the agent holds
	// it: a login elsewhere or a refresh between fetching it and signing
	// replaces it (agent.ErrChanged), and the new one is fetched. Nothing
	// has been logged yet.
	for attempt := 0; ; attempt++ {
		var err error
		if cred, err = s.Credentials.Credential(ctx); err != nil {
			return nil, err
		}
		now = time.Now()
		if s.Now != nil {
			now = s.Now()
		}
		if !cred.Valid(now) {
			return nil, credential.ErrExpired
		}
		if s.CheckCertificate != nil {
			if err := s.CheckCertificate(cred.Certificate); err != nil {
				return nil, err
			}
		}
		if u, err = cms.Prepare(cred.Certificate, payload, now); err != nil {
			return nil, err
		}
		digest = u.Digest()
		sig, err = keys.SignDigest(cred.Signer, digest)
		if err == nil {
			break
		}
		if !errors.Is(err, agent.ErrChanged) || attempt == 2 {
			return nil, fmt.Errorf("signing: %w", err)
		}
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cred.Certificate.Raw})
	proposed, err := tlog.NewHashedRekord(keys.RekorName(u.Hash), digest, sig, certPEM)
	if err != nil {
		return nil, err
	}
	// An entry the log makes after the certificate expired would not
	// verify: the log is not waited for past that (by this clock, which
	// judged the certificate valid).
	logCtx, cancel := context.WithTimeoutCause(ctx, cred.Certificate.NotAfter.Sub(now), errLogTooLate)
	defer cancel()
	tle, err := s.Log.Record(logCtx, proposed)
	if err == nil && time.Unix(tle.IntegratedTime, 0).After(cred.Certificate.NotAfter) {
		// The log's clock is ahead of this one.
		err = fmt.Errorf("the transparency log recorded the signature at %s, after its certificate expired at %s: it would not verify, so nothing was signed (the log holds the unused entry at index %d); sign again, with a new certificate",
			time.Unix(tle.IntegratedTime, 0).UTC().Format(time.RFC3339), cred.Certificate.NotAfter.UTC().Format(time.RFC3339), tle.LogIndex)
	}
	if err != nil && ctx.Err() == nil && context.Cause(logCtx) == errLogTooLate {
		err = fmt.Errorf("%w (%s): nothing was signed; sign again, with a new certificate (the log may hold an unused entry)", errLogTooLate, cred.Certificate.NotAfter.UTC().Format(time.RFC3339))
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && logCtx.Err() == nil {
			// Not the log's answer: no answer at all.
			return nil, clierr.WithHint(err, "is the transparency log at %s up and reachable? (gitsign.rekor, or the log gitsign.server's signing config names); nothing was signed", s.Log.BaseURL)
		}
		return nil, err
	}
	der, err := u.Finish(sig, tle)
	if err != nil {
		return nil, err
	}
	return &Signed{PEM: cms.EncodePEM(der), Certificate: cred.Certificate, Entry: tle, Time: now}, nil
}
