// Package trust reads, writes and pins the two documents a Sigstore client
// needs before it can sign or verify: the trusted root and the signing config.
//
// A trusted root (application/vnd.dev.sigstore.trustedroot+json;version=0.1) lists
// the certificate authorities, transparency logs and certificate-transparency
// logs a verifier accepts, each with the time range in which it is trusted:
//
//	{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
//	 "tlogs": [{"baseUrl": "http://127.0.0.1:8080", "hashAlgorithm": "SHA2_256",
//	            "publicKey": {"rawBytes": "<DER SPKI>", "keyDetails": "PKIX_ECDSA_P256_SHA_256",
//	                          "validFor": {"start": "2026-11-22T00:00:00Z"}},
//	            "logId": {"keyId": "<SHA-256 of the DER SPKI>"}}],
//	 "certificateAuthorities": [{"uri": "http://127.0.0.1:8080",
//	            "certChain": {"certificates": [{"rawBytes": "<intermediate>"}, {"rawBytes": "<root>"}]},
//	            "validFor": {"start": "..."}}],
//	 "ctlogs": [...same shape as tlogs...]}
//
// A signing config (application/vnd.dev.sigstore.signingconfig.v0.2+json)
// names the services a signer talks to: CA, OIDC issuer, transparency log.
//
// Both are protobuf-specs messages in protobuf's canonical JSON mapping, so
// the files we write are the files cosign, sigstore-go and sigstore-js read.
// We read and write that mapping ourselves (pbjson.go, messages.go), exactly
// as protojson does, rather than link protobuf into every gitsign process.
package trust

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/waxseal/waxseal/internal/readfile"
)

// Media types this package writes.
const (
	// TrustedRootMediaType is the v0.1 name: sigstore-go v1.3 and cosign
	// v2.6 refuse the newer "application/vnd.dev.sigstore.trustedroot.v0.2+json",
	// which we still read.
	TrustedRootMediaType   = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
	SigningConfigMediaType = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
)

var acceptedRootMediaTypes = map[string]bool{
	TrustedRootMediaType: true,
	"application/vnd.dev.sigstore.trustedroot.v0.1+json": true,
	"application/vnd.dev.sigstore.trustedroot.v0.2+json": true,
}

// Validity is the time range in which a key or CA is trusted. A zero End
// means open-ended.
type Validity struct {
	Start, End time.Time
}

// Contains reports whether t falls in the range, endpoints included.
func (v Validity) Contains(t time.Time) bool {
	if t.Before(v.Start) {
		return false
	}
	return v.End.IsZero() || !t.After(v.End)
}

// CA is one certificate authority: its chain runs from the issuing
// (intermediate) certificate to the trust anchor.
type CA struct {
	URI      string
	Chain    []*x509.Certificate
	ValidFor Validity
}

// Log is a transparency log or CT log instance.
type Log struct {
	BaseURL  string
	ID       []byte // SHA-256 of the DER SPKI for Rekor v1 and RFC 6962 logs
	Key      crypto.PublicKey
	ValidFor Validity
}

// Root is a parsed trusted root.
type Root struct {
	CAs    []CA
	TLogs  []Log
	CTLogs []Log

	raw []byte
}

// ParseRoot parses a trusted_root.json document.
func ParseRoot(data []byte) (*Root, error) {
	var pb trustedRoot
	if err := unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("trusted root: %w", err)
	}
	if !acceptedRootMediaTypes[pb.mediaType] {
		return nil, fmt.Errorf("trusted root: unsupported media type %q", pb.mediaType)
	}
	r := &Root{raw: append([]byte(nil), data...)}
	for i, ca := range pb.certificateAuthorities {
		c := CA{URI: ca.uri, ValidFor: validity(ca.validFor)}
		var certs []*x509Certificate
		if ca.certChain != nil {
			certs = ca.certChain.certificates
		}
		for _, cert := range certs {
			parsed, err := x509.ParseCertificate(cert.rawBytes)
			if err != nil {
				return nil, fmt.Errorf("trusted root: certificate authority #%d: %w", i, err)
			}
			c.Chain = append(c.Chain, parsed)
		}
		if len(c.Chain) == 0 {
			return nil, fmt.Errorf("trusted root: certificate authority #%d has no certificates", i)
		}
		r.CAs = append(r.CAs, c)
	}
	var err error
	if r.TLogs, err = parseLogs("tlog", pb.tlogs); err != nil {
		return nil, err
	}
	if r.CTLogs, err = parseLogs("ctlog", pb.ctlogs); err != nil {
		return nil, err
	}
	return r, nil
}

// LoadRoot reads and parses a trusted root file.
func LoadRoot(path string) (*Root, error) {
	data, err := readfile.Read(path)
	if err != nil {
		return nil, err
	}
	return ParseRootFile(path, data)
}

// ParseRootFile parses data, read from path, with LoadRoot's errors.
func ParseRootFile(path string, data []byte) (*Root, error) {
	r, err := ParseRoot(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Bytes returns the document the root was parsed from.
func (r *Root) Bytes() []byte { return r.raw }

// TLog finds a transparency log by its log ID.
func (r *Root) TLog(id []byte) (*Log, bool) { return findLog(r.TLogs, id) }

// CTLog finds a certificate-transparency log by its log ID.
func (r *Root) CTLog(id []byte) (*Log, bool) { return findLog(r.CTLogs, id) }

// TLogKeys returns the transparency-log keys by hex log ID.
func (r *Root) TLogKeys() map[string]crypto.PublicKey {
	m := make(map[string]crypto.PublicKey, len(r.TLogs))
	for _, l := range r.TLogs {
		m[hex.EncodeToString(l.ID)] = l.Key
	}
	return m
}

// findLog finds the log with id. Of two entries with one ID, the last
// counts, as in TLogKeys and in sigstore-go, which keeps logs in a map.
func findLog(logs []Log, id []byte) (*Log, bool) {
	for i := len(logs) - 1; i >= 0; i-- {
		if string(logs[i].ID) == string(id) {
			return &logs[i], true
		}
	}
	return nil, false
}

func parseLogs(what string, in []*transparencyLogInstance) ([]Log, error) {
	var out []Log
	for i, l := range in {
		if l.hashAlgorithm != hashSHA2_256 {
			return nil, fmt.Errorf("trusted root: %s #%d: unsupported hash algorithm %v", what, i, hashAlgorithms.name(l.hashAlgorithm))
		}
		pk := l.publicKey
		if pk == nil {
			pk = &publicKey{}
		}
		if pk.validFor == nil || pk.validFor.start == nil {
			return nil, fmt.Errorf("trusted root: %s #%d: public key has no validFor.start", what, i)
		}
		key, err := x509.ParsePKIXPublicKey(pk.rawBytes)
		if err != nil {
			return nil, fmt.Errorf("trusted root: %s #%d: %w", what, i, err)
		}
		var id []byte
		if l.logID != nil {
			id = l.logID.keyID
		}
		if len(id) == 0 {
			sum := sha256.Sum256(pk.rawBytes)
			id = sum[:]
		}
		out = append(out, Log{BaseURL: l.baseURL, ID: id, Key: key, ValidFor: validity(pk.validFor)})
	}
	return out, nil
}

// validity converts a TimeRange; a missing start or end is the zero time.
func validity(tr *timeRange) Validity {
	var v Validity
	if tr == nil {
		return v
	}
	if tr.start != nil {
		v.Start = tr.start.time()
	}
	if tr.end != nil {
		v.End = tr.end.time()
	}
	return v
}

// RootSpec describes an instance for NewRoot.
type RootSpec struct {
	CAURI   string
	CAChain []*x509.Certificate // issuing certificate first, trust anchor last
	TLogs   []LogSpec
	CTLogs  []LogSpec
	Start   time.Time
}

// LogSpec describes one log for NewRoot.
type LogSpec struct {
	BaseURL string
	Key     crypto.PublicKey
}

// NewRoot builds a trusted_root.json document.
func NewRoot(spec RootSpec) ([]byte, error) {
	if len(spec.CAChain) == 0 {
		return nil, errors.New("trusted root: no CA chain")
	}
	start := newTimestamp(spec.Start.UTC().Truncate(time.Second))
	pb := &trustedRoot{mediaType: TrustedRootMediaType}
	chain := &x509CertificateChain{}
	for _, c := range spec.CAChain {
		chain.certificates = append(chain.certificates, &x509Certificate{rawBytes: c.Raw})
	}
	anchor := spec.CAChain[len(spec.CAChain)-1]
	pb.certificateAuthorities = []*certificateAuthority{{
		subject:   &distinguishedName{organization: first(anchor.Subject.Organization), commonName: anchor.Subject.CommonName},
		uri:       spec.CAURI,
		certChain: chain,
		validFor:  &timeRange{start: start},
	}}
	for _, set := range []struct {
		in  []LogSpec
		out *[]*transparencyLogInstance
	}{{spec.TLogs, &pb.tlogs}, {spec.CTLogs, &pb.ctlogs}} {
		for _, l := range set.in {
			inst, err := logInstance(l, start)
			if err != nil {
				return nil, err
			}
			*set.out = append(*set.out, inst)
		}
	}
	return marshal(pb)
}

func logInstance(l LogSpec, start *timestamp) (*transparencyLogInstance, error) {
	der, err := x509.MarshalPKIXPublicKey(l.Key)
	if err != nil {
		return nil, fmt.Errorf("trusted root: log %s: %w", l.BaseURL, err)
	}
	details, err := KeyDetails(l.Key)
	if err != nil {
		return nil, fmt.Errorf("trusted root: log %s: %w", l.BaseURL, err)
	}
	id := sha256.Sum256(der)
	return &transparencyLogInstance{
		baseURL:       l.BaseURL,
		hashAlgorithm: hashSHA2_256,
		publicKey: &publicKey{
			rawBytes:   der,
			keyDetails: publicKeyDetails.byName[details],
			validFor:   &timeRange{start: start},
		},
		logID: &logID{keyID: id[:]},
	}, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
