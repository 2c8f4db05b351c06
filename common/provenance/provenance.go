// Package provenance establishes who signed and when, for any signature
// format that carries a Fulcio certificate and a Rekor entry: Sigstore
// bundles (package verify), git's CMS signatures (package gitsign), RPM
// headers. A signature has provenance only when all of these hold, and the
// error names the first that failed (see [Error]):
//
//  1. the transparency-log entry's signed entry timestamp and inclusion proof
//     verify against a log key in the trusted root, and its checkpoint is
//     signed by that log (check "transparency log");
//  2. the entry records this signature, digest and certificate (check "log
//     entry"; [CheckHashedRekord] for hashedrekord entries);
//  3. the certificate chains to a CA in the trusted root at the time the log
//     integrated the entry — not now: keyless certificates live ten minutes
//     (check "certificate chain");
//  4. an embedded SCT verifies against a CT log in the trusted root that the
//     root trusted at the SCT's timestamp, when the root lists any (check
//     "certificate transparency");
//  5. the certificate's identity matches the policy: SAN and OIDC issuer, each
//     exact or by regular expression, and optional CI claims (check "identity").
//
// There is no default policy: a [Policy] without an identity and an issuer is
// an error, never "any valid certificate".
//
// The package links no protobuf runtime: the gitsign binary that git runs
// once per signature imports it, and its start-up time is the cost of every
// line of `git log --show-signature`.
package provenance

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
)

// Names of the checks, as they appear in [Error].
const (
	CheckBundle     = "bundle"
	CheckTLog       = "transparency log"
	CheckEntry      = "log entry"
	CheckChain      = "certificate chain"
	CheckSCT        = "certificate transparency"
	CheckArtifact   = "artifact"
	CheckSignature  = "signature"
	CheckIdentity   = "identity"
	CheckPolicyArgs = "policy"
)

// Error says which check failed.
type Error struct {
	Check string
	Err   error
}

func (e *Error) Error() string { return e.Check + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Fail returns an [Error] for check.
func Fail(check string, format string, a ...any) error {
	return &Error{Check: check, Err: fmt.Errorf(format, a...)}
}

// Policy is who must have signed.
type Policy struct {
	Identity       string // exact SAN: email or URI
	IdentityRegexp string
	Issuer         string // exact OIDC issuer URL
	IssuerRegexp   string
	// Claims are optional CI claims that must match exactly, keyed by the
	// names fulcio.Identity reports (e.g. "SourceRepositoryURI").
	Claims map[string]string
}

// GitHubWorkflowFlags are cosign's (and sigstore gitsign's) flags that
// require a GitHub Actions claim in the certificate, with the claim each
// names (Fulcio's extensions 1.3.6.1.4.1.57264.1.2 to .6, as
// fulcio.Identity reports them): for [Policy.Claims].
var GitHubWorkflowFlags = map[string]string{
	"certificate-github-workflow-repository": "GithubWorkflowRepository",
	"certificate-github-workflow-ref":        "GithubWorkflowRef",
	"certificate-github-workflow-sha":        "GithubWorkflowSHA",
	"certificate-github-workflow-trigger":    "GithubWorkflowTrigger",
	"certificate-github-workflow-name":       "GithubWorkflowName",
}

// Matcher is a compiled [Policy].
type Matcher struct {
	p                 Policy
	identityRE, issRE *regexp.Regexp
}

// Compile checks the policy (an identity and an issuer, each exact or by
// regular expression) and compiles its regular expressions, which match
// the whole string.
func (p Policy) Compile() (*Matcher, error) {
	c := &Matcher{p: p}
	if (p.Identity == "") == (p.IdentityRegexp == "") {
		return nil, Fail(CheckPolicyArgs, "exactly one of --certificate-identity or --certificate-identity-regexp is required")
	}
	if (p.Issuer == "") == (p.IssuerRegexp == "") {
		return nil, Fail(CheckPolicyArgs, "exactly one of --certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required")
	}
	var err error
	if p.IdentityRegexp != "" {
		if c.identityRE, err = anchored(p.IdentityRegexp); err != nil {
			return nil, Fail(CheckPolicyArgs, "identity regexp: %v", err)
		}
	}
	if p.IssuerRegexp != "" {
		if c.issRE, err = anchored(p.IssuerRegexp); err != nil {
			return nil, Fail(CheckPolicyArgs, "issuer regexp: %v", err)
		}
	}
	return c, nil
}

// anchored compiles a regexp that must match the whole string, as cosign's
// do not by default: an unanchored "alice@example.com" would accept
// "alice@example.com.evil.test". The pattern is compiled alone first: put
// between "^(?:" and ")$" unchecked, "x)|(.*" would close the group and
// match anyone.
func anchored(re string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(re); err != nil {
		return nil, err
	}
	return regexp.Compile("^(?:" + re + ")$")
}

// Check says whether a certificate identity satisfies the policy; a
// mismatch is an [Error] of check "identity".
func (c *Matcher) Check(id *fulcio.CertIdentity) error {
	switch {
	case c.identityRE != nil && !c.identityRE.MatchString(id.SAN):
		return Fail(CheckIdentity, "certificate identity %q does not match %q (in full: the pattern is anchored at both ends)", id.SAN, c.p.IdentityRegexp)
	case c.identityRE == nil && id.SAN != c.p.Identity:
		return Fail(CheckIdentity, "certificate identity is %q, want %q", id.SAN, c.p.Identity)
	case c.issRE != nil && !c.issRE.MatchString(id.Issuer):
		return Fail(CheckIdentity, "OIDC issuer %q does not match %q (in full: the pattern is anchored at both ends)", id.Issuer, c.p.IssuerRegexp)
	case c.issRE == nil && id.Issuer != c.p.Issuer:
		return Fail(CheckIdentity, "OIDC issuer is %q, want %q", id.Issuer, c.p.Issuer)
	}
	for k, want := range c.p.Claims {
		if got := id.Extensions[k]; got != want {
			return Fail(CheckIdentity, "certificate claim %s is %q, want %q", k, got, want)
		}
	}
	return nil
}

// Result describes a valid signature.
type Result struct {
	Identity       *fulcio.CertIdentity // nil for key-signed bundles
	Certificate    *x509.Certificate
	IntegratedTime time.Time
	LogIndex       int64
	LogID          []byte
}

// Material is what every signature format carries besides the signature
// itself: the signer's certificate (or, for key-signed material, a key) and
// the transparency-log entry with its canonicalized body.
type Material struct {
	Certificate           *x509.Certificate
	Key                   crypto.PublicKey // instead of Certificate; no identity then
	Entry                 *tlog.TLE
	RequireInclusionProof bool
	// Body is Entry.Body already parsed, for a caller that wrote the body
	// itself from the fields it holds (git's CMS signatures carry none).
	// Check then skips parsing it; Body.Body must be Entry.Body.
	Body *tlog.Entry
	// Memo, if set, keeps the certificate's chain and SCT checks beyond
	// this process (see [Memo]).
	Memo Memo
}

// Check establishes who signed and when, for any signature format
// (bundles, git's CMS signatures, RPM headers): the log entry's proofs, the
// certificate chain and SCT at the log's time, and the identity policy. It
// returns the parsed log entry; the caller must still check that the entry
// records its signature (see [CheckHashedRekord]) and verify the signature.
func Check(m Material, root *trust.Root, policy Policy) (*Result, *tlog.Entry, error) {
	var pol *Matcher
	if m.Key == nil && m.Certificate != nil {
		var err error
		if pol, err = policy.Compile(); err != nil {
			return nil, nil, err
		}
	}
	res, entry, err := Identify(m, root)
	if err != nil {
		return nil, nil, err
	}
	if pol != nil {
		if err := pol.Check(res.Identity); err != nil {
			return nil, nil, err
		}
	}
	return res, entry, nil
}

// Identify is [Check] without the identity policy, for a caller that
// decides itself who may sign (gitsign's allowed signers): every other
// check is made, and Result.Identity is the certificate's identity, not yet
// judged. It links no regular expressions, which gitsign's start-up would
// pay for.
func Identify(m Material, root *trust.Root) (*Result, *tlog.Entry, error) {
	if m.Key == nil && m.Certificate == nil {
		return nil, nil, Fail(CheckBundle, "no certificate or key")
	}
	tle := m.Entry
	if tle == nil {
		return nil, nil, Fail(CheckTLog, "no transparency log entry")
	}
	if m.RequireInclusionProof && tle.Proof == nil {
		return nil, nil, Fail(CheckTLog, "entry has no inclusion proof")
	}
	if len(tle.SET) == 0 {
		return nil, nil, Fail(CheckTLog, "entry has no signed entry timestamp, so there is no trusted time to check the certificate at")
	}

	// 1. The log's promises and proofs.
	integrated, err := tlog.VerifyTLE(tle, root.TLogKeys(), tlog.VerifyOptions{RequireInclusionProof: m.RequireInclusionProof})
	if err != nil {
		return nil, nil, &Error{CheckTLog, err}
	}
	if l, ok := root.TLog(tle.LogID); !ok || !l.ValidFor.Contains(integrated) {
		return nil, nil, Fail(CheckTLog, "log key was not trusted at integrated time %s", integrated.UTC().Format(time.RFC3339))
	}
	res := &Result{IntegratedTime: integrated, LogIndex: tle.LogIndex, LogID: tle.LogID, Certificate: m.Certificate}

	// 2. The entry must be about this signature: parsed here, matched by the caller.
	entry := m.Body
	if entry == nil {
		if entry, err = tlog.ParseBody(tle.Body); err != nil {
			return nil, nil, &Error{CheckEntry, err}
		}
	} else if !bytes.Equal(entry.Body, tle.Body) {
		return nil, nil, Fail(CheckEntry, "the parsed entry is not the log entry's body")
	}
	if tle.Kind != "" && tle.Kind != entry.Kind {
		return nil, nil, Fail(CheckEntry, "entry says kind %q, its body is %q", tle.Kind, entry.Kind)
	}
	if m.Certificate == nil {
		return res, entry, nil
	}

	// 3 and 4. Certificate chain and SCT at integrated time.
	if err := checkCertificate(m.Certificate, root, integrated, m.Memo); err != nil {
		return nil, nil, err
	}

	// 5. The identity, for the caller's policy.
	id, err := fulcio.Identity(m.Certificate)
	if err != nil {
		return nil, nil, &Error{CheckIdentity, err}
	}
	res.Identity = id
	return res, entry, nil
}

// CheckCertificate checks a signing certificate as Identify does: its chain
// to a CA the root trusted at time at, and its SCTs from CT logs the root
// trusts, when it lists any. A signer checks its certificate so before
// recording a signature that would not verify.
func CheckCertificate(cert *x509.Certificate, root *trust.Root, at time.Time) error {
	return checkCertificate(cert, root, at, nil)
}

func checkCertificate(cert *x509.Certificate, root *trust.Root, at time.Time, memo Memo) error {
	// crypto/x509 takes a leaf without extended key usages as good for
	// any; a signing certificate names code signing (Fulcio's always do).
	if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageCodeSigning) {
		return Fail(CheckChain, "certificate is not issued for code signing (no CodeSigning extended key usage)")
	}
	var logsID [32]byte
	if memo != nil {
		var ok bool
		if logsID, ok = ctLogsID(root); !ok {
			memo = nil
		}
	}
	if memo != nil && recallCertificate(memo, cert, root, logsID, at) {
		return nil
	}
	// Each CA the root trusted at time at, in turn: the certificate counts
	// if it chains to one and, when the root lists CT logs, an SCT
	// verifies with that chain's issuer. The order of the root's CAs does
	// not matter, and a Memo's fact for any of them is as good.
	var (
		untrusted error // a CA the root did not trust at time at
		chainErr  error // the chain to a CA it trusted
		sctErr    error // the SCT, with a chain that verified
		logs      map[[32]byte]fulcio.CTLog
	)
	// Of the chain failures, one on the way to the CA that issued the
	// certificate says more than another CA's not knowing its issuer.
	keepChainErr := func(err error) {
		if chainErr == nil || errors.As(chainErr, new(x509.UnknownAuthorityError)) {
			chainErr = err
		}
	}
	for _, ca := range root.CAs {
		if !ca.ValidFor.Contains(at) {
			untrusted = fmt.Errorf("CA %s was not trusted at %s", ca.URI, at.UTC().Format(time.RFC3339))
			continue
		}
		chain, err := chains.verify(cert, ca, at)
		if err != nil {
			keepChainErr(err)
			continue
		}
		if len(chain) < 2 {
			keepChainErr(fmt.Errorf("the certificate is CA %s's own, not one it issued", ca.URI))
			continue
		}
		var sctTime time.Time
		if len(root.CTLogs) > 0 {
			if logs == nil {
				logs = ctLogs(root)
			}
			// Integrated time has one-second resolution and SCTs
			// one-millisecond: an SCT from the same second as the log
			// entry is not from the future.
			if sctTime, err = fulcio.CheckEmbeddedSCTs(cert, chain[1], logs, at.Add(time.Second)); err != nil {
				if sctErr == nil {
					sctErr = err
				}
				continue
			}
		}
		if memo != nil {
			rememberCertificate(memo, certificateKey(cert, ca, logsID), chain, ca, sctTime)
		}
		return nil
	}
	// The most telling failure: an SCT, with a chain that verified; else a
	// chain to a CA the root trusted then; else that it trusted none then.
	if sctErr != nil {
		return &Error{CheckSCT, sctErr}
	}
	if chainErr == nil {
		chainErr = untrusted
	}
	if chainErr == nil {
		chainErr = errors.New("trusted root lists no certificate authority")
	}
	var inv x509.CertificateInvalidError
	if errors.As(chainErr, &inv) && inv.Reason == x509.Expired && inv.Cert != nil {
		what := "certificate"
		if !bytes.Equal(inv.Cert.Raw, cert.Raw) {
			what = fmt.Sprintf("CA certificate %q", inv.Cert.Subject.String())
		}
		return Fail(CheckChain, "%s was not valid when the log saw the signature (%s; valid %s to %s)", what,
			at.UTC().Format(time.RFC3339), inv.Cert.NotBefore.UTC().Format(time.RFC3339), inv.Cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return &Error{CheckChain, chainErr}
}

// ctLogs is the root's CT logs with their validity windows: an SCT counts
// only if the root trusted its log at the time the SCT claims, as
// sigstore-go judges it. A retired log's window is closed, and its SCTs from
// after then must not count.
func ctLogs(root *trust.Root) map[[32]byte]fulcio.CTLog {
	m := make(map[[32]byte]fulcio.CTLog, len(root.CTLogs))
	for _, l := range root.CTLogs {
		if len(l.ID) == 32 {
			m[[32]byte(l.ID)] = fulcio.CTLog{URL: l.BaseURL, Key: l.Key, NotBefore: l.ValidFor.Start, NotAfter: l.ValidFor.End}
		}
	}
	return m
}

// CheckHashedRekord checks that a hashedrekord entry records exactly this
// digest, signature and certificate (or key), and that the signature
// verifies over the digest.
func CheckHashedRekord(entry *tlog.Entry, h crypto.Hash, digest, sig []byte, key crypto.PublicKey, cert *x509.Certificate) error {
	if entry.Kind != tlog.KindHashedRekord {
		return Fail(CheckEntry, "signature recorded as %q, want hashedrekord", entry.Kind)
	}
	if entry.HashAlgorithm != keys.RekorName(h) || !bytes.Equal(entry.Digest, digest) {
		return Fail(CheckEntry, "log entry records a different digest")
	}
	if !bytes.Equal(entry.Signature, sig) {
		return Fail(CheckEntry, "log entry records a different signature")
	}
	if err := SameKey(entry.PublicKey, key, cert); err != nil {
		return err
	}
	if err := keys.VerifyDigest(key, h, digest, sig); err != nil {
		return &Error{CheckSignature, err}
	}
	return nil
}

// validAt is crypto/x509's validity check: c is valid at time at if at is
// neither before NotBefore nor after NotAfter.
func validAt(c *x509.Certificate, at time.Time) bool {
	return !at.Before(c.NotBefore) && !at.After(c.NotAfter)
}

// chainCache remembers chains that crypto/x509 verified. Everything x509
// checks is independent of the time except validity periods, so a cached
// chain is re-checked only against the new time. Keyless signing issues one
// certificate per batch (a release, a rebase, a repository of RPMs), and this
// spares the verifier the CA signature checks for every bundle after the first.
//
// A certificate it has not seen is checked by x509 against the CA's issuing
// certificate alone, once the CA's whole chain has verified with another
// leaf: that spares each new certificate the check of the issuing
// certificate's signature by the CA's root (a P-384 signature at the
// public-good instance), which is the same for every leaf. See anchorable for
// what that leaves out, and why it cannot change a verdict.
type chainCache struct {
	mu sync.Mutex
	m  map[[64]byte][]*x509.Certificate
	// anchors holds, for each CA chain (by the hash in the second half of
	// m's keys) that x509 verified whole with some leaf, a pool of its
	// issuing certificate alone.
	anchors map[[32]byte]*x509.CertPool
	// full counts the chains x509 built up to the CA's root, for tests.
	full int
}

const chainCacheSize = 4096

// anchorsKept bounds chainCache.anchors: trusted roots list a CA or a few.
const anchorsKept = 64

var chains = &chainCache{m: map[[64]byte][]*x509.Certificate{}, anchors: map[[32]byte]*x509.CertPool{}}

// codeSigning is the key usage a signing certificate's chain must allow.
var codeSigning = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}

func (c *chainCache) verify(cert *x509.Certificate, ca trust.CA, at time.Time) ([]*x509.Certificate, error) {
	var key [64]byte
	leaf := sha256.Sum256(cert.Raw)
	h := sha256.New()
	for _, c := range ca.Chain {
		h.Write(c.Raw)
	}
	copy(key[:32], leaf[:])
	h.Sum(key[32:32])
	caKey := [32]byte(key[32:])
	c.mu.Lock()
	chain, ok := c.m[key]
	anchor := c.anchors[caKey]
	c.mu.Unlock()
	if ok {
		if err := allValidAt(chain, at); err != nil {
			return nil, err
		}
		return chain, nil
	}
	var verified []*x509.Certificate
	if anchor != nil && anchorable(cert, ca.Chain) {
		built, err := cert.Verify(x509.VerifyOptions{Roots: anchor, CurrentTime: at, KeyUsages: codeSigning})
		if err != nil {
			return nil, err
		}
		if err := allValidAt(ca.Chain[1:], at); err != nil {
			return nil, err
		}
		verified = append(slices.Clip(built[0]), ca.Chain[1:]...)
	} else {
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(ca.Chain[len(ca.Chain)-1])
		for _, c := range ca.Chain[:len(ca.Chain)-1] {
			inter.AddCert(c)
		}
		built, err := cert.Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			CurrentTime:   at,
			KeyUsages:     codeSigning,
		})
		c.mu.Lock()
		c.full++
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		verified = built[0]
		if anchor == nil && len(ca.Chain) > 1 && slices.EqualFunc(verified[1:], ca.Chain, (*x509.Certificate).Equal) {
			anchor = x509.NewCertPool()
			anchor.AddCert(ca.Chain[0])
			c.mu.Lock()
			if len(c.anchors) >= anchorsKept {
				clear(c.anchors)
			}
			c.anchors[caKey] = anchor
			c.mu.Unlock()
		}
	}
	c.mu.Lock()
	if len(c.m) >= chainCacheSize {
		for k := range c.m { // evict an arbitrary entry
			delete(c.m, k)
			break
		}
	}
	c.m[key] = verified
	c.mu.Unlock()
	return verified, nil
}

// allValidAt checks every certificate of a chain verified earlier against
// the time at.
func allValidAt(chain []*x509.Certificate, at time.Time) error {
	for _, link := range chain {
		if !validAt(link, at) {
			return x509.CertificateInvalidError{Cert: link, Reason: x509.Expired}
		}
	}
	return nil
}

// Extensions whose effect on a chain depends on the leaf and on CA
// certificates above the issuing one together.
var (
	oidNameConstraints   = asn1.ObjectIdentifier{2, 5, 29, 30}
	oidPolicyMappings    = asn1.ObjectIdentifier{2, 5, 29, 33}
	oidPolicyConstraints = asn1.ObjectIdentifier{2, 5, 29, 36}
	oidInhibitAnyPolicy  = asn1.ObjectIdentifier{2, 5, 29, 54}
)

// anchorable reports whether cert may be verified by x509 against the
// issuing certificate of chain (chain[0]) as its trust anchor, rather than
// against the root, once chain has verified whole with another leaf.
//
// Of what x509 checks on a chain [cert, chain[0], ..., root], anchoring at
// chain[0] leaves out: the certificates above chain[0] (their signatures,
// subjects, critical extensions, path lengths, key usage: the same for every
// leaf, so checked by the whole verification that made the anchor; their
// validity: checked by the caller at each time); chain[0]'s being a CA (the
// same); name constraints of the certificates above chain[0] (a leaf's
// names meet them or not, so chains whose certificates above the issuing
// one constrain names are always verified whole); and the policy
// processing of chain[0], which decides only once a certificate requires
// explicit policies, or through policy mappings and inhibitAnyPolicy, so
// chains with any of those are always verified whole too. The leaf's own
// checks (its signature by chain[0], its validity, key usage and critical
// extensions, and chain[0]'s name constraints and key usage on it) are
// made either way, and so are the leaf's own policy extensions, by sending
// a leaf with any to the whole verification. A certificate that is
// chain[0] itself is verified whole too, as before.
func anchorable(cert *x509.Certificate, chain []*x509.Certificate) bool {
	if len(chain) < 2 || cert.Equal(chain[0]) || hasExtension(cert, oidPolicyConstraints, oidPolicyMappings, oidInhibitAnyPolicy) {
		return false
	}
	for i, c := range chain {
		if hasExtension(c, oidPolicyConstraints, oidPolicyMappings, oidInhibitAnyPolicy) ||
			i > 0 && hasExtension(c, oidNameConstraints) {
			return false
		}
		// x509 adds no certificate to a chain that holds one with its
		// subject and key (alreadyInChain): a leaf that repeats a
		// certificate above the issuing one has no chain, and is refused
		// by the whole verification.
		if i > 0 && bytes.Equal(cert.RawSubject, c.RawSubject) && bytes.Equal(cert.RawSubjectPublicKeyInfo, c.RawSubjectPublicKeyInfo) {
			return false
		}
	}
	return true
}

func hasExtension(c *x509.Certificate, oids ...asn1.ObjectIdentifier) bool {
	for _, e := range c.Extensions {
		for _, o := range oids {
			if e.Id.Equal(o) {
				return true
			}
		}
	}
	return false
}

// SameKey checks that the key or certificate recorded in the log entry is
// the bundle's.
func SameKey(recorded []byte, key crypto.PublicKey, cert *x509.Certificate) error {
	blk, _ := pem.Decode(recorded)
	if blk == nil {
		return Fail(CheckEntry, "log entry's verifier is not PEM")
	}
	switch blk.Type {
	case "CERTIFICATE":
		if cert == nil || !bytes.Equal(blk.Bytes, cert.Raw) {
			return Fail(CheckEntry, "log entry records a different certificate")
		}
	case "PUBLIC KEY":
		want, err := x509.MarshalPKIXPublicKey(key)
		if err != nil || !bytes.Equal(blk.Bytes, want) {
			return Fail(CheckEntry, "log entry records a different public key")
		}
	default:
		return Fail(CheckEntry, "log entry's verifier is a %q block", blk.Type)
	}
	return nil
}
