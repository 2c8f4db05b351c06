package gitsign

import (
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"io"
	"strings"
	"time"
)

// Trust is the trust level reported to git (TRUST_* status lines).
type Trust int

// Trust levels. git's %G? shows "U" for a good signature with TrustUndefined
// and "G" with TrustFully; merge --verify-signatures needs at least marginal.
const (
	TrustUndefined Trust = iota
	TrustFully
)

func (t Trust) String() string {
	if t == TrustFully {
		return "FULLY"
	}
	return "UNDEFINED"
}

// OpenPGP algorithm numbers gpgsm reports in status lines (RFC 9580 §9.1,
// §9.5): git only copies them through.
const (
	pgpECDSA  = 19
	pgpSHA256 = 8
)

// Status writes gpgsm status lines.
type Status struct{ W io.Writer }

func (s Status) line(format string, a ...any) {
	if s.W != nil {
		fmt.Fprintf(s.W, "[GNUPG:] "+format+"\n", a...)
	}
}

// Fingerprint is gpgsm's certificate fingerprint: uppercase hex SHA-1 of the
// DER certificate. It identifies the certificate in status lines (%GK, %GF).
func Fingerprint(cert *x509.Certificate) string {
	if cert == nil {
		return strings.Repeat("0", 40)
	}
	return fmt.Sprintf("%X", sha1.Sum(cert.Raw))
}

// BeginSigning is written before signing: git (before 2.36) needs a line
// before SIG_CREATED.
func (s Status) BeginSigning() { s.line("BEGIN_SIGNING") }

// SigCreated reports a detached signature made at t with cert.
func (s Status) SigCreated(cert *x509.Certificate, t time.Time) {
	s.line("SIG_CREATED D %d %d 00 %d %s", pgpECDSA, pgpSHA256, t.Unix(), Fingerprint(cert))
}

// NewSig starts the report on one signature; git needs a line before GOODSIG.
func (s Status) NewSig() { s.line("NEWSIG") }

// Good reports a valid signature by uid, then its trust.
func (s Status) Good(cert *x509.Certificate, uid string, at time.Time, trust Trust) {
	fpr := Fingerprint(cert)
	s.line("GOODSIG %s %s", fpr, uid)
	s.line("VALIDSIG %s %s %d 0 0 0 %d %d 00 %s", fpr, at.UTC().Format("2006-01-02"), at.Unix(), pgpECDSA, pgpSHA256, fpr)
	s.line("TRUST_%s 0 shell", trust)
}

// Bad reports a signature that does not match the object.
func (s Status) Bad(cert *x509.Certificate, uid string) {
	s.line("BADSIG %s %s", Fingerprint(cert), uid)
}

// Err reports a signature that could not be checked (malformed, or not
// provably from a trusted CA and log).
func (s Status) Err(cert *x509.Certificate, at time.Time) {
	fpr := Fingerprint(cert)
	s.line("ERRSIG %s %d %d 00 %d 9 %s", fpr, pgpECDSA, pgpSHA256, at.Unix(), fpr)
}
