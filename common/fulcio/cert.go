package fulcio

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// CertIdentity is who a Fulcio certificate names, for identity policy.
type CertIdentity struct {
	// SAN is the single subject alternative name: a URI, an email address, or the UTF-8 value
	// of a Sigstore OtherName (username identities), in that order of preference.
	SAN string
	// Issuer is the OIDC issuer (OID 1.3.6.1.4.1.57264.1.8, falling back to .1.1).
	Issuer string
	// Subject is the token's sub claim (.1.24), when present.
	Subject string
	// Extensions holds the CI claims by Sigstore name (e.g. "SourceRepositoryURI",
	// "BuildTrigger", and the deprecated "GithubWorkflowRepository"), present ones only.
	Extensions map[string]string
}

var oidBase = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1}

// extNames maps the last arc under 1.3.6.1.4.1.57264.1 to its name in Fulcio's
// docs/oid-info.md. Arcs 2-6 are raw bytes, 8 and up DER UTF8String.
var extNames = map[int]string{
	2: "GithubWorkflowTrigger", 3: "GithubWorkflowSHA", 4: "GithubWorkflowName",
	5: "GithubWorkflowRepository", 6: "GithubWorkflowRef",
	9: "BuildSignerURI", 10: "BuildSignerDigest", 11: "RunnerEnvironment",
	12: "SourceRepositoryURI", 13: "SourceRepositoryDigest", 14: "SourceRepositoryRef",
	15: "SourceRepositoryIdentifier", 16: "SourceRepositoryOwnerURI",
	17: "SourceRepositoryOwnerIdentifier", 18: "BuildConfigURI", 19: "BuildConfigDigest",
	20: "BuildTrigger", 21: "RunInvocationURI", 22: "SourceRepositoryVisibilityAtSigning",
	23: "DeploymentEnvironment",
}

// Identity reads the identity a Fulcio certificate was issued to.
func Identity(cert *x509.Certificate) (*CertIdentity, error) {
	id := &CertIdentity{Extensions: map[string]string{}}
	var issuerV1, issuerV2 string
	for _, e := range cert.Extensions {
		if len(e.Id) != len(oidBase)+1 || !e.Id[:len(oidBase)].Equal(oidBase) {
			continue
		}
		arc := e.Id[len(oidBase)]
		var v string
		if arc <= 6 {
			v = string(e.Value)
		} else {
			rest, err := asn1.UnmarshalWithParams(e.Value, &v, "utf8")
			if err != nil || len(rest) != 0 {
				return nil, fmt.Errorf("fulcio: extension %v is not a DER UTF8String", e.Id)
			}
		}
		switch arc {
		case 1:
			issuerV1 = v
		case 8:
			issuerV2 = v
		case 24:
			id.Subject = v
		default:
			if name, ok := extNames[arc]; ok {
				id.Extensions[name] = v
			}
		}
	}
	id.Issuer = issuerV2
	if id.Issuer == "" {
		id.Issuer = issuerV1
	}
	if id.Issuer == "" {
		return nil, errors.New("fulcio: certificate has no OIDC issuer extension (1.3.6.1.4.1.57264.1.8 or .1.1)")
	}
	// Fulcio names one identity. With two, verifiers could each read a
	// different one (sigstore-go reads an email before a URI, this code a
	// URI before an email), so such a certificate names no one.
	names, err := sanNames(cert)
	if err != nil {
		return nil, err
	}
	if len(names) > 1 {
		return nil, fmt.Errorf("fulcio: certificate names %d subject alternative names; a signing certificate names exactly one identity", len(names))
	}
	switch {
	case len(cert.URIs) > 0:
		id.SAN = cert.URIs[0].String()
	case len(cert.EmailAddresses) > 0:
		id.SAN = cert.EmailAddresses[0]
	default:
		san, err := otherNameSAN(names)
		if err != nil {
			return nil, err
		}
		id.SAN = san
	}
	return id, nil
}

var oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}

// sanNames returns the names in the subject alternative name extension, as
// they are encoded: crypto/x509 keeps no OtherName.
func sanNames(cert *x509.Certificate) ([]asn1.RawValue, error) {
	var all []asn1.RawValue
	for _, e := range cert.Extensions {
		if !e.Id.Equal(oidSAN) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &names); err != nil || len(rest) != 0 {
			return nil, fmt.Errorf("fulcio: malformed SAN extension")
		}
		all = append(all, names...)
	}
	return all, nil
}

// oidOtherName is the type of the OtherName Fulcio writes for username
// identities.
var oidOtherName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 7}

// otherNameSAN is the value of the first of Fulcio's OtherNames among
// names: OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT
// UTF8String } (RFC 5280), under the GeneralName's own [0] tag.
func otherNameSAN(names []asn1.RawValue) (string, error) {
	for _, n := range names {
		if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
			continue
		}
		var on struct {
			TypeID asn1.ObjectIdentifier
			Value  string `asn1:"utf8,explicit,tag:0"`
		}
		if rest, err := asn1.UnmarshalWithParams(n.FullBytes, &on, "tag:0"); err == nil && len(rest) == 0 && on.TypeID.Equal(oidOtherName) {
			return on.Value, nil
		}
	}
	return "", errors.New("fulcio: certificate has no URI, email or OtherName SAN")
}

// Errors from VerifyEmbeddedSCTs, for callers that explain failures.
var (
	// ErrNoSCT is returned for a certificate without an SCT list extension.
	ErrNoSCT = errors.New("fulcio: certificate has no embedded SCT")
	// ErrUnknownCTLog is returned when no embedded SCT is from a log the caller trusts.
	ErrUnknownCTLog = errors.New("fulcio: no embedded SCT is from a known CT log")
	// ErrBadSCT is wrapped by the error returned when SCTs from trusted logs exist but
	// none counts; the error says, log by log, why each failed (bad signature, timestamp
	// in the future or outside the log's validity, unsupported algorithm, ...).
	ErrBadSCT = errors.New("fulcio: no embedded SCT verifies")
)

// CTLog is a certificate-transparency log as a trusted root lists it: its key
// and the time range in which the log was trusted to issue SCTs. A log is
// retired by closing its range, so that the SCTs it issued before then still
// count and any it issued after do not.
type CTLog struct {
	// URL names the log in errors; the hex log ID stands in when it is empty.
	URL string
	Key crypto.PublicKey
	// NotBefore and NotAfter bound the SCT timestamps the log is trusted for,
	// both included. A zero bound is open.
	NotBefore, NotAfter time.Time
}

// trusts reports whether the log was trusted at t.
func (l *CTLog) trusts(t time.Time) bool {
	return (l.NotBefore.IsZero() || !t.Before(l.NotBefore)) && (l.NotAfter.IsZero() || !t.After(l.NotAfter))
}

func (l *CTLog) name(id [32]byte) string {
	if l.URL != "" {
		return l.URL
	}
	return fmt.Sprintf("%x", id)
}

func (l *CTLog) window() string {
	const layout = "2006-01-02T15:04:05.999Z07:00"
	switch {
	case l.NotBefore.IsZero() && l.NotAfter.IsZero():
		return "always"
	case l.NotAfter.IsZero():
		return "from " + l.NotBefore.UTC().Format(layout)
	case l.NotBefore.IsZero():
		return "until " + l.NotAfter.UTC().Format(layout)
	}
	return "from " + l.NotBefore.UTC().Format(layout) + " to " + l.NotAfter.UTC().Format(layout)
}

// VerifyEmbeddedSCTs is [VerifyEmbeddedSCTsFromLogs] for logs known by their
// keys alone, each trusted at every time. A verifier with a trusted root
// must use VerifyEmbeddedSCTsFromLogs, which honours the root's validity
// windows: with this function a retired log's SCTs count for ever.
func VerifyEmbeddedSCTs(leaf, issuer *x509.Certificate, logs map[[32]byte]crypto.PublicKey, now time.Time) error {
	_, err := verifyEmbeddedSCTs(leaf, issuer, func(id [32]byte) (CTLog, bool) {
		key, ok := logs[id]
		return CTLog{Key: key}, ok
	}, now)
	return err
}

// VerifyEmbeddedSCTsFromLogs checks that at least one SCT embedded in leaf
// verifies against a CT log in logs (keyed by RFC 6962 log ID, SHA-256 of the
// log key's DER SPKI), by rebuilding the precertificate entry the log signed:
// issuer's key hash plus leaf's TBSCertificate without the SCT list. An SCT
// counts only if its log was trusted at the time the SCT claims (its
// timestamp, as sigstore-go judges it), and that time is not after now. SCTs
// from other logs are ignored. Log keys may be ECDSA P-256 or RSA of 2048
// bits or more, signing SHA-256 (RFC 6962 §2.1.4).
//
// It returns ErrNoSCT if leaf has no SCT list, ErrUnknownCTLog if no SCT is
// from a log in logs, and an error wrapping ErrBadSCT that names each
// trusted log whose SCT failed, and why, if none counts. issuer must be
// leaf's direct issuer; a Precertificate Signing Certificate (RFC 6962 §3.1)
// is not supported.
func VerifyEmbeddedSCTsFromLogs(leaf, issuer *x509.Certificate, logs map[[32]byte]CTLog, now time.Time) error {
	_, err := CheckEmbeddedSCTs(leaf, issuer, logs, now)
	return err
}

// CheckEmbeddedSCTs is [VerifyEmbeddedSCTsFromLogs], and returns the
// timestamp of the SCT that counted: the same SCT counts at any later now.
func CheckEmbeddedSCTs(leaf, issuer *x509.Certificate, logs map[[32]byte]CTLog, now time.Time) (time.Time, error) {
	return verifyEmbeddedSCTs(leaf, issuer, func(id [32]byte) (CTLog, bool) {
		l, ok := logs[id]
		return l, ok
	}, now)
}

// NewestSCTTime is the latest timestamp of leaf's embedded SCTs, unverified;
// false if it has none that parse.
func NewestSCTTime(leaf *x509.Certificate) (time.Time, bool) {
	scts, err := embeddedSCTs(leaf)
	if err != nil || len(scts) == 0 {
		return time.Time{}, false
	}
	var newest time.Time
	for i := range scts {
		if t := scts[i].time(); t.After(newest) {
			newest = t
		}
	}
	return newest, true
}

func verifyEmbeddedSCTs(leaf, issuer *x509.Certificate, lookup func([32]byte) (CTLog, bool), now time.Time) (time.Time, error) {
	scts, err := embeddedSCTs(leaf)
	if err != nil {
		return time.Time{}, fmt.Errorf("fulcio: parsing embedded SCTs: %w", err)
	}
	if len(scts) == 0 {
		return time.Time{}, ErrNoSCT
	}
	var (
		tbs    []byte // built on a cache miss only
		tbsErr error
		built  bool
	)
	known := false
	var failures []string
	for i := range scts {
		s := &scts[i]
		log, ok := lookup(s.logID)
		if !ok {
			continue
		}
		known = true
		fail := func(err error) { failures = append(failures, fmt.Sprintf("CT log %s: %v", log.name(s.logID), err)) }
		t := s.time()
		if !log.trusts(t) {
			fail(fmt.Errorf("SCT timestamp %s is outside the log's validity in the trusted root (%s)",
				t.UTC().Format("2006-01-02T15:04:05.999Z07:00"), log.window()))
			continue
		}
		if t.After(now) {
			fail(fmt.Errorf("SCT timestamp %v is in the future", t))
			continue
		}
		ck, cacheable := sctCacheKey(leaf, issuer, log.Key, s)
		if cacheable && verifiedSCTs.has(ck) {
			return t, nil
		}
		if isPrecertSigningCert(issuer) {
			fail(errors.New("the issuer is a precertificate signing certificate (EKU 1.3.6.1.4.1.11129.2.4.4), " +
				"which is unsupported: pass the certificate authority that issued leaf"))
			continue
		}
		if !built {
			tbs, tbsErr = precertTBS(leaf.RawTBSCertificate)
			built = true
		}
		if tbsErr != nil {
			fail(tbsErr)
			continue
		}
		if err := verifySCT(log.Key, s, sha256.Sum256(issuer.RawSubjectPublicKeyInfo), tbs); err != nil {
			fail(err)
			continue
		}
		if cacheable {
			verifiedSCTs.add(ck)
		}
		return t, nil
	}
	if !known {
		return time.Time{}, ErrUnknownCTLog
	}
	return time.Time{}, fmt.Errorf("%w: %s", ErrBadSCT, strings.Join(failures, "; "))
}

// verifiedSCTs remembers SCT signatures that verified, by certificate, issuer,
// log key and SCT: a keyless certificate signs a whole batch, and its SCT need
// not be checked again for every artifact. A hit still requires the caller to
// trust the very key that verified it, at the time the very SCT claims.
var verifiedSCTs = &sctCache{m: map[[96]byte]struct{}{}}

type sctCache struct {
	mu sync.Mutex
	m  map[[96]byte]struct{}
}

const sctCacheSize = 4096

// sctCacheKey identifies an SCT check by certificate, issuer and the log
// key itself rather than the log ID the caller filed it under: the IDs come
// from trusted roots, and a process that verifies against two roots must not
// take one's verdict for a different key under the same ID. It names the SCT
// too: whether an SCT counts depends on its own timestamp, so one SCT's
// verdict must not stand for another's from the same log.
func sctCacheKey(leaf, issuer *x509.Certificate, key crypto.PublicKey, s *sct) ([96]byte, bool) {
	var k [96]byte
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return k, false
	}
	h := sha256.New()
	h.Write(leaf.Raw)
	h.Write(binary.BigEndian.AppendUint64(nil, s.timestamp))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(s.extensions))))
	h.Write(s.extensions)
	h.Write(s.signature)
	i, p := sha256.Sum256(issuer.Raw), sha256.Sum256(der)
	h.Sum(k[:0])
	copy(k[32:64], i[:])
	copy(k[64:], p[:])
	return k, true
}

func (c *sctCache) has(k [96]byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	return ok
}

func (c *sctCache) add(k [96]byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= sctCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = struct{}{}
}
