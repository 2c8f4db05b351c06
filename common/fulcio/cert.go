package fulcio

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
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
	switch {
	case len(cert.URIs) > 0:
		id.SAN = cert.URIs[0].String()
	case len(cert.EmailAddresses) > 0:
		id.SAN = cert.EmailAddresses[0]
	default:
		san, err := otherNameSAN(cert)
		if err != nil {
			return nil, err
		}
		id.SAN = san
	}
	return id, nil
}

func otherNameSAN(cert *x509.Certificate) (string, error) {
	for _, e := range cert.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &names); err != nil {
			return "", fmt.Errorf("fulcio: malformed SAN: %w", err)
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != 0 {
				continue
			}
			var on struct {
				TypeID asn1.ObjectIdentifier
				Value  asn1.RawValue `asn1:"explicit,tag:0"`
			}
			if _, err := asn1.UnmarshalWithParams(n.FullBytes, &on, "tag:0"); err != nil {
				continue
			}
			var s string
			if _, err := asn1.UnmarshalWithParams(on.Value.FullBytes, &s, "utf8"); err == nil {
				return s, nil
			}
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
	// none verifies; the error says why the last one failed (bad signature, timestamp
	// in the future, unsupported algorithm, ...).
	ErrBadSCT = errors.New("fulcio: embedded SCT signature does not verify")
)

// VerifyEmbeddedSCTs checks that at least one SCT embedded in leaf verifies against a CT
// log in logs (keyed by RFC 6962 log ID, SHA-256 of the log key's DER SPKI), by rebuilding
// the precertificate entry the log signed: issuer's key hash plus leaf's TBSCertificate
// without the SCT list. SCTs timestamped after now, and SCTs from other logs, are ignored.
// Log keys may be ECDSA P-256 or RSA of 2048 bits or more, signing SHA-256 (RFC 6962 §2.1.4).
//
// It returns ErrNoSCT if leaf has no SCT list, ErrUnknownCTLog if no SCT is from a log in
// logs, and an error wrapping ErrBadSCT if none of those verifies. issuer must be leaf's
// direct issuer; a Precertificate Signing Certificate (RFC 6962 §3.1) is not supported.
func VerifyEmbeddedSCTs(leaf, issuer *x509.Certificate, logs map[[32]byte]crypto.PublicKey, now time.Time) error {
	scts, err := embeddedSCTs(leaf)
	if err != nil {
		return fmt.Errorf("fulcio: parsing embedded SCTs: %w", err)
	}
	if len(scts) == 0 {
		return ErrNoSCT
	}
	var (
		tbs    []byte // built on a cache miss only
		tbsErr error
		built  bool
	)
	known := false
	var lastErr error
	for i := range scts {
		s := &scts[i]
		key, ok := logs[s.logID]
		if !ok {
			continue
		}
		known = true
		if t := s.time(); t.After(now) {
			lastErr = fmt.Errorf("SCT timestamp %v is in the future", t)
			continue
		}
		ck, cacheable := sctCacheKey(leaf, issuer, key)
		if cacheable && verifiedSCTs.has(ck) {
			return nil
		}
		if isPrecertSigningCert(issuer) {
			lastErr = errors.New("the issuer is a precertificate signing certificate (EKU 1.3.6.1.4.1.11129.2.4.4), " +
				"which is unsupported: pass the certificate authority that issued leaf")
			continue
		}
		if !built {
			tbs, tbsErr = precertTBS(leaf.RawTBSCertificate)
			built = true
		}
		if tbsErr != nil {
			lastErr = tbsErr
			continue
		}
		if err := verifySCT(key, s, sha256.Sum256(issuer.RawSubjectPublicKeyInfo), tbs); err != nil {
			lastErr = err
			continue
		}
		if cacheable {
			verifiedSCTs.add(ck)
		}
		return nil
	}
	if !known {
		return ErrUnknownCTLog
	}
	return fmt.Errorf("%w: %v", ErrBadSCT, lastErr)
}

// verifiedSCTs remembers SCT signatures that verified, by certificate, issuer
// and log key: a keyless certificate signs a whole batch, and its SCT need not be
// checked again for every artifact. A hit still requires the caller to trust
// the very key that verified it.
var verifiedSCTs = &sctCache{m: map[[96]byte]struct{}{}}

type sctCache struct {
	mu sync.Mutex
	m  map[[96]byte]struct{}
}

const sctCacheSize = 4096

// sctCacheKey identifies an SCT check by certificate, issuer and the log
// key itself rather than the log ID the caller filed it under: the IDs come
// from trusted roots, and a process that verifies against two roots must not
// take one's verdict for a different key under the same ID.
func sctCacheKey(leaf, issuer *x509.Certificate, key crypto.PublicKey) ([96]byte, bool) {
	var k [96]byte
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return k, false
	}
	l, i, p := sha256.Sum256(leaf.Raw), sha256.Sum256(issuer.Raw), sha256.Sum256(der)
	copy(k[:32], l[:])
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
