package gitsign

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign/cms"
)

// Verifier checks git signatures offline.
type Verifier struct {
	Root *trust.Root // required
	// Identity, when set, is required of the signer: a compiled
	// provenance.Policy's Check (SAN and OIDC issuer, exact or regexp). A
	// match makes a valid signature TrustFully (with Signers, if set, also
	// allowing it); a mismatch leaves it TrustUndefined, the reason in
	// Result.Untrusted.
	Identity func(*fulcio.CertIdentity) error
	// Signers, when set, must allow the signer for the committer's (or
	// tagger's) email for TrustFully; otherwise the result is
	// TrustUndefined with the reason in Result.Untrusted.
	Signers *AllowedSigners
	// Memo, if set, keeps certificate checks beyond this process
	// ([provenance.Memo]).
	Memo provenance.Memo
}

// Result describes a valid signature.
type Result struct {
	Certificate    *x509.Certificate
	Identity       string // certificate SAN: email or URI
	Issuer         string // OIDC issuer
	IntegratedTime time.Time
	LogIndex       int64
	SigningTime    time.Time // signer's clock, untrusted
	Trust          Trust
	// Untrusted says why Trust is TrustUndefined.
	Untrusted string
	// Warning flags a committer (or tagger) email that is not the signer's
	// email identity, when no allowed-signers file decided the binding.
	Warning string
}

// Failure kinds, as git reports them.
const (
	// Bad: the signature does not match the object (BADSIG, %G? "B").
	Bad = "bad"
	// Unverifiable: the signature cannot be checked or is not from a trusted
	// CA and log (ERRSIG, %G? "E").
	Unverifiable = "error"
)

// Error is a failed verification.
type Error struct {
	Kind        string // Bad or Unverifiable
	Certificate *x509.Certificate
	Identity    string // when the certificate could be read
	Err         error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Verify checks an armored signature over payload. email is the committer's
// or tagger's, for the allowed-signers check.
func (v *Verifier) Verify(payload, signature []byte, email string) (*Result, error) {
	if v.Root == nil {
		return nil, &Error{Kind: Unverifiable, Err: errors.New("no trusted root")}
	}
	s, err := cms.ParsePEM(signature)
	if err != nil {
		return nil, &Error{Kind: Unverifiable, Err: err}
	}
	fail := func(kind string, err error) (*Result, error) {
		id, _ := CertIdentity(s.Certificate)
		return nil, &Error{Kind: kind, Certificate: s.Certificate, Identity: id, Err: err}
	}

	// 1. The signature is over this payload.
	d := s.Hash.New()
	d.Write(payload)
	if !bytes.Equal(d.Sum(nil), s.MessageDigest) {
		return fail(Bad, errors.New("the signature is not over this object: it was modified after signing, or the signature belongs to another object"))
	}
	digest := s.AttrsDigest()
	// A signature value that does not verify is BADSIG, anything else that
	// fails below is ERRSIG. The check is made only on failure: on success
	// it is made last, once.
	failProvenance := func(err error) (*Result, error) {
		if verr := keys.VerifyDigest(s.Certificate.PublicKey, s.Hash, digest, s.Signature); verr != nil {
			return fail(Bad, fmt.Errorf("the signature value does not verify: %w", verr))
		}
		return fail(Unverifiable, err)
	}

	// 2. The log saw it, from a certificate the CA issued.
	if s.Entry == nil {
		return failProvenance(errors.New("the signature carries no transparency log entry (signed by sigstore's gitsign in online mode?): " +
			"it could only be found by searching the log, which offline verification does not do; " +
			"signatures made by sigstore's gitsign with gitsign.rekorMode=offline, or by this gitsign, carry theirs"))
	}
	// The log entry is over a hashedrekord body the signature does not
	// carry: write it from the signature, and hand Identify the entry it was
	// written from rather than have it parse the JSON back.
	body := hashedRekordEntry(keys.RekorName(s.Hash), digest, s.Signature, s.Certificate)
	s.Entry.Body = body.Body
	// Who signed is judged below, by v.Identity or the allowed signers.
	res, _, err := provenance.Identify(provenance.Material{
		Certificate:           s.Certificate,
		Entry:                 s.Entry,
		RequireInclusionProof: true,
		Body:                  body,
		Memo:                  v.Memo,
	}, v.Root)
	if err != nil {
		return failProvenance(err)
	}
	// The entry is the hashedrekord written from this digest, signature
	// and certificate, so what provenance.CheckHashedRekord would compare
	// is known equal: only the signature is left to verify.
	if err := keys.VerifyDigest(s.Certificate.PublicKey, s.Hash, digest, s.Signature); err != nil {
		return fail(Bad, fmt.Errorf("the signature value does not verify: %w", err))
	}

	// Who signed, as the identity policy above read it.
	id, iss := res.Identity.SAN, res.Identity.Issuer
	r := &Result{
		Certificate:    s.Certificate,
		Identity:       id,
		Issuer:         iss,
		IntegratedTime: res.IntegratedTime,
		LogIndex:       res.LogIndex,
		SigningTime:    s.SigningTime,
	}
	// 3. Who may sign: a valid signature from anyone else is untrusted
	// (%G? "U"), not an error.
	// Both, when both are given.
	var notAllowed error
	if v.Identity != nil {
		notAllowed = v.Identity(res.Identity)
	}
	if v.Signers != nil && notAllowed == nil {
		notAllowed = v.Signers.Check(email, id, iss)
	}
	switch {
	case v.Identity == nil && v.Signers == nil:
		r.Untrusted = "no allowed signers configured (git config gitsign.allowedSigners FILE), so no identity is trusted"
	case notAllowed != nil:
		r.Untrusted = notAllowed.Error()
	default:
		r.Trust = TrustFully
	}
	if v.Signers == nil && email != "" && strings.Contains(id, "@") && !strings.Contains(id, "://") && !EqualFoldASCII(email, id) {
		r.Warning = fmt.Sprintf("committer email %s is not the signer's identity %s", email, id)
	}
	return r, nil
}

// hashedRekordEntry is the hashedrekord entry a signature was logged as:
// its canonical (RFC 8785) body, and the fields tlog.ParseBody would parse
// from it (TestHashedRekordBody holds both to the core's). The body is
// written directly, without JSON encoders: every value is hex or base64,
// which needs no escaping, and nothing here depends on trusting it, as the
// log's SET and inclusion proof are over the real body, so a body that
// differs in any byte fails verification.
func hashedRekordEntry(alg string, digest, sig []byte, cert *x509.Certificate) *tlog.Entry {
	certPEM := appendPEM(nil, "CERTIFICATE", cert.Raw)
	enc := base64.StdEncoding
	b := make([]byte, 0, 192+len(alg)+hex.EncodedLen(len(digest))+enc.EncodedLen(len(sig))+enc.EncodedLen(len(certPEM)))
	b = append(b, `{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"data":{"hash":{"algorithm":"`...)
	b = append(b, alg...)
	b = append(b, `","value":"`...)
	b = hex.AppendEncode(b, digest)
	b = append(b, `"}},"signature":{"content":"`...)
	b = enc.AppendEncode(b, sig)
	b = append(b, `","publicKey":{"content":"`...)
	b = enc.AppendEncode(b, certPEM)
	b = append(b, `"}}}}`...)
	return &tlog.Entry{
		Kind: tlog.KindHashedRekord, APIVersion: tlog.APIVersion, Body: b,
		HashAlgorithm: alg, Digest: digest, Signature: sig, PublicKey: certPEM,
	}
}

// appendPEM appends a PEM block without headers, as pem.Encode writes it.
func appendPEM(b []byte, typ string, der []byte) []byte {
	b = append(b, "-----BEGIN "...)
	b = append(b, typ...)
	b = append(b, "-----\n"...)
	for len(der) > 0 {
		n := min(48, len(der)) // 64 characters a line
		b = append(base64.StdEncoding.AppendEncode(b, der[:n]), '\n')
		der = der[n:]
	}
	b = append(b, "-----END "...)
	b = append(b, typ...)
	return append(b, "-----\n"...)
}

// CertIdentity returns who a Fulcio certificate names (its SAN) and the
// OIDC issuer that vouched for it, read exactly as verification reads them
// (fulcio.Identity), for display when a certificate could not be verified.
// It is empty where the certificate names no one.
func CertIdentity(c *x509.Certificate) (identity, issuer string) {
	id, err := fulcio.Identity(c)
	if err != nil {
		return "", ""
	}
	return id.SAN, id.Issuer
}
