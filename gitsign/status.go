package gitsign

import (
	"crypto/sha1"
	"crypto/x509"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
	s.line("GOODSIG %s %s", fpr, statusText(uid))
	s.line("VALIDSIG %s %s %d 0 0 0 %d %d 00 %s", fpr, at.UTC().Format("2006-01-02"), at.Unix(), pgpECDSA, pgpSHA256, fpr)
	s.line("TRUST_%s 0 shell", trust)
}

// Bad reports a signature that does not match the object.
func (s Status) Bad(cert *x509.Certificate, uid string) {
	s.line("BADSIG %s %s", Fingerprint(cert), statusText(uid))
	s.untrusted()
}

// Err reports a signature that could not be checked (malformed, or not
// provably from a trusted CA and log).
func (s Status) Err(cert *x509.Certificate, at time.Time) {
	fpr := Fingerprint(cert)
	s.line("ERRSIG %s %d %d 00 %d 9 %s", fpr, pgpECDSA, pgpSHA256, at.Unix(), fpr)
	s.untrusted()
}

// untrusted follows a failure with a trust level, which gpgsm does not
// send: git before 2.40 aborts `git log --format=%GT` ("BUG: invalid trust
// level requested -1") on a signature that has none. git still judges the
// signature by BADSIG or ERRSIG (%G? B or E).
func (s Status) untrusted() { s.line("TRUST_UNDEFINED 0 shell") }

// statusText escapes a user ID for a status line as gpgsm does: '%' and
// control characters become %XX. A certificate's names come from whoever
// made it, and one holding a line break could otherwise add status lines
// of its own.
func statusText(s string) string {
	if !strings.ContainsFunc(s, needsEscape) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; needsEscape(rune(c)) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool { return r == '%' || r < 0x20 || r == 0x7f }

// Printable returns s for a human to read on a terminal: as it is when it
// holds only printable characters, quoted with Go's escapes otherwise, so
// that names from a certificate or an object cannot move the cursor, change
// colours or forge lines of their own.
func Printable(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
