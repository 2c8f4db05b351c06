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

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/ctutil"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
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
	ErrNoSCT        = errors.New("fulcio: certificate has no embedded SCT")
	ErrUnknownCTLog = errors.New("fulcio: no embedded SCT is from a known CT log")
	ErrBadSCT       = errors.New("fulcio: embedded SCT signature does not verify")
)

// VerifyEmbeddedSCTs checks that at least one SCT embedded in leaf verifies against a CT
// log in logs (keyed by RFC 6962 log ID, SHA-256 of the log key's DER SPKI), by rebuilding
// the precertificate entry the log signed: issuer's key hash plus leaf's TBSCertificate
// without the SCT list. SCTs timestamped after now are ignored.
func VerifyEmbeddedSCTs(leaf, issuer *x509.Certificate, logs map[[32]byte]crypto.PublicKey, now time.Time) error {
	scts, err := ctx509util.ParseSCTsFromCertificate(leaf.Raw)
	if err != nil {
		return fmt.Errorf("fulcio: parsing embedded SCTs: %w", err)
	}
	if len(scts) == 0 {
		return ErrNoSCT
	}
	var l, i *ctx509.Certificate // parsed on a cache miss only
	known := false
	var lastErr error
	for _, sct := range scts {
		key, ok := logs[sct.LogID.KeyID]
		if !ok {
			continue
		}
		known = true
		if ct.TimestampToTime(sct.Timestamp).After(now) {
			lastErr = fmt.Errorf("SCT timestamp %v is in the future", ct.TimestampToTime(sct.Timestamp))
			continue
		}
		ck := sctCacheKey(leaf, issuer, sct.LogID.KeyID)
		if verifiedSCTs.has(ck) {
			return nil
		}
		if l == nil {
			if l, err = ctx509.ParseCertificate(leaf.Raw); err != nil && ctx509.IsFatal(err) {
				return fmt.Errorf("fulcio: %w", err)
			}
			if i, err = ctx509.ParseCertificate(issuer.Raw); err != nil && ctx509.IsFatal(err) {
				return fmt.Errorf("fulcio: %w", err)
			}
		}
		if err := ctutil.VerifySCT(key, []*ctx509.Certificate{l, i}, sct, true); err != nil {
			lastErr = err
			continue
		}
		verifiedSCTs.add(ck)
		return nil
	}
	if !known {
		return ErrUnknownCTLog
	}
	return fmt.Errorf("%w: %v", ErrBadSCT, lastErr)
}

// verifiedSCTs remembers SCT signatures that verified, by certificate, issuer
// and log: a keyless certificate signs a whole batch, and its SCT need not be
// checked again for every artifact. The log ID is the hash of the log's key,
// so a hit still requires that key to be trusted by the caller's logs.
var verifiedSCTs = &sctCache{m: map[[96]byte]struct{}{}}

type sctCache struct {
	mu sync.Mutex
	m  map[[96]byte]struct{}
}

const sctCacheSize = 4096

func sctCacheKey(leaf, issuer *x509.Certificate, logID [32]byte) [96]byte {
	var k [96]byte
	l, i := sha256.Sum256(leaf.Raw), sha256.Sum256(issuer.Raw)
	copy(k[:32], l[:])
	copy(k[32:64], i[:])
	copy(k[64:], logID[:])
	return k
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
