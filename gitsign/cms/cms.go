// Package cms reads and writes the one CMS profile git signatures use here:
// the detached SignedData that sigstore's gitsign writes in its offline mode
// (RFC 5652), armored as PEM type "SIGNED MESSAGE".
//
//	ContentInfo { id-signedData,
//	  SignedData { version 1,
//	    digestAlgorithms { sha256 },
//	    encapContentInfo { id-data }            -- detached: no eContent
//	    certificates [0] { leaf }               -- the signer's certificate only
//	    signerInfos { SignerInfo { version 1,
//	      sid IssuerAndSerialNumber(leaf),
//	      digestAlgorithm sha256,
//	      signedAttrs [0] { contentType id-data, signingTime, messageDigest sha256(payload) },
//	      signatureAlgorithm ecdsa-with-SHA256,
//	      signature ECDSA(sha256(DER(SET OF signedAttrs))),
//	      unsignedAttrs [1] { 1.3.6.1.4.1.57264.3.1: OCTET STRING(rekor.v1.TransparencyLogEntry) } } } } }
//
// The transparency-log entry is a hashedrekord of sha256 over the DER of the
// signed attributes, with the SignerInfo's signature and the leaf as PEM: a
// verifier rebuilds its canonical body from the signature alone, which is why
// the entry is stored with canonicalizedBody cleared.
//
// Parse is strict: one signer, detached, the signer's certificate present,
// each required attribute exactly once, no trailing bytes. Anything else is
// an error, never a partially trusted result.
package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/waxseal/waxseal/common/tlog"
)

// PEMType is the armor git recognizes as an x509 signature.
const PEMType = "SIGNED MESSAGE"

// Object identifiers of the profile.
var (
	OIDData            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDContentType     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDSigningTime     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	OIDTransparencyLog = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 3, 1}

	oidSHA256          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384          = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
)

// Signature is a parsed signature.
type Signature struct {
	Certificate *x509.Certificate // the signer's
	Hash        crypto.Hash       // of the payload and of the signed attributes
	// SignedAttrs is the DER of the signed attributes as a SET OF: what the
	// signature covers.
	SignedAttrs   []byte
	MessageDigest []byte    // Hash(payload)
	SigningTime   time.Time // the signer's clock; zero if absent; not trusted
	Signature     []byte
	// Entry is the embedded log entry, canonicalizedBody empty; nil if absent.
	Entry *tlog.TLE
	// Attributes lists the OIDs of the signed and unsigned attributes in the
	// order they appear, for diagnostics and interop tests.
	SignedAttrTypes, UnsignedAttrTypes []asn1.ObjectIdentifier
}

// AttrsDigest is Hash(SignedAttrs): the digest the signature is over and
// the log entry records.
func (s *Signature) AttrsDigest() []byte {
	h := s.Hash.New()
	h.Write(s.SignedAttrs)
	return h.Sum(nil)
}

// ASN.1 shapes.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,explicit,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF
}

// MaxSize bounds what Parse accepts; real signatures are under 10 KiB.
const MaxSize = 1 << 20

// ParsePEM parses an armored signature. Only whitespace may surround the
// PEM block.
func ParsePEM(data []byte) (*Signature, error) {
	if len(data) > MaxSize {
		return nil, errors.New("signature too large")
	}
	blk, rest := pem.Decode(data)
	if blk == nil {
		return nil, errors.New("signature is not PEM")
	}
	if blk.Type != PEMType {
		return nil, fmt.Errorf("signature is PEM %q, want %q", blk.Type, PEMType)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the signature")
	}
	return Parse(blk.Bytes)
}

// Parse parses a DER signature.
func Parse(der []byte) (*Signature, error) {
	if len(der) > MaxSize {
		return nil, errors.New("signature too large")
	}
	var ci contentInfo
	if err := unmarshalAll(der, &ci); err != nil {
		return nil, fmt.Errorf("CMS content info: %w", err)
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("CMS content type is %v, want signedData", ci.ContentType)
	}
	var sd signedData
	if err := unmarshalAll(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("CMS signed data: %w", err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(OIDData) {
		return nil, fmt.Errorf("CMS encapsulated content type is %v, want id-data", sd.EncapContentInfo.EContentType)
	}
	if len(sd.EncapContentInfo.EContent.FullBytes) != 0 {
		return nil, errors.New("CMS signature is not detached")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("CMS signature has %d signers, want 1", len(sd.SignerInfos))
	}
	si := sd.SignerInfos[0]
	certs, err := parseCertificates(sd.Certificates)
	if err != nil {
		return nil, err
	}
	leaf, err := findSigner(si.SID, certs)
	if err != nil {
		return nil, err
	}
	s := &Signature{Certificate: leaf, Signature: si.Signature}
	if s.Hash, err = hashFor(si.DigestAlgorithm.Algorithm); err != nil {
		return nil, err
	}
	if err := checkSignatureAlgorithm(si.SignatureAlgorithm.Algorithm, s.Hash, leaf); err != nil {
		return nil, err
	}
	if len(si.SignedAttrs.FullBytes) == 0 {
		return nil, errors.New("CMS signer has no signed attributes")
	}
	// The signature covers the attributes with their SET OF tag, not the
	// [0] IMPLICIT tag they carry inside SignerInfo (RFC 5652 §5.4).
	s.SignedAttrs = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
	if err := s.parseSignedAttrs(si.SignedAttrs.Bytes); err != nil {
		return nil, err
	}
	if len(si.UnsignedAttrs.FullBytes) != 0 {
		if err := s.parseUnsignedAttrs(si.UnsignedAttrs.Bytes); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func unmarshalAll(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

func parseCertificates(raw asn1.RawValue) ([]*x509.Certificate, error) {
	if len(raw.FullBytes) == 0 {
		return nil, errors.New("CMS signature carries no certificate")
	}
	if !raw.IsCompound {
		return nil, errors.New("CMS certificates: not a set")
	}
	var certs []*x509.Certificate
	for rest := raw.Bytes; len(rest) > 0; {
		var c asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &c); err != nil {
			return nil, fmt.Errorf("CMS certificates: %w", err)
		}
		cert, err := x509.ParseCertificate(c.FullBytes)
		if err != nil {
			return nil, fmt.Errorf("CMS certificate: %w", err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

func findSigner(sid asn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	if sid.Class != asn1.ClassUniversal || sid.Tag != asn1.TagSequence {
		return nil, errors.New("CMS signer is not identified by issuer and serial number")
	}
	var ias issuerAndSerial
	if err := unmarshalAll(sid.FullBytes, &ias); err != nil {
		return nil, fmt.Errorf("CMS signer identifier: %w", err)
	}
	for _, c := range certs {
		if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
			return c, nil
		}
	}
	return nil, errors.New("CMS signature does not carry the signer's certificate")
}

func hashFor(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	}
	return 0, fmt.Errorf("CMS digest algorithm %v is not supported", oid)
}

func hashOID(h crypto.Hash) asn1.ObjectIdentifier {
	if h == crypto.SHA384 {
		return oidSHA384
	}
	return oidSHA256
}

func checkSignatureAlgorithm(oid asn1.ObjectIdentifier, h crypto.Hash, leaf *x509.Certificate) error {
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		return fmt.Errorf("CMS signer key is %T; only ECDSA is supported", leaf.PublicKey)
	}
	want, err := signatureOID(h)
	if err != nil {
		return err
	}
	if !oid.Equal(want) {
		return fmt.Errorf("CMS signature algorithm %v does not match digest %v", oid, h)
	}
	return nil
}

func signatureOID(h crypto.Hash) (asn1.ObjectIdentifier, error) {
	switch h {
	case crypto.SHA256:
		return oidECDSAWithSHA256, nil
	case crypto.SHA384:
		return oidECDSAWithSHA384, nil
	}
	return nil, fmt.Errorf("no ECDSA signature algorithm for %v", h)
}

func parseAttrs(der []byte) ([]attribute, error) {
	var attrs []attribute
	for rest := der; len(rest) > 0; {
		var a attribute
		var err error
		if rest, err = asn1.Unmarshal(rest, &a); err != nil {
			return nil, err
		}
		if a.Values.Class != asn1.ClassUniversal || a.Values.Tag != asn1.TagSet {
			return nil, fmt.Errorf("attribute %v: values are not a SET", a.Type)
		}
		attrs = append(attrs, a)
	}
	return attrs, nil
}

// singleValue returns the only value of an attribute.
func singleValue(a attribute) (asn1.RawValue, error) {
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(a.Values.Bytes, &v)
	if err != nil {
		return v, fmt.Errorf("attribute %v: %w", a.Type, err)
	}
	if len(rest) != 0 {
		return v, fmt.Errorf("attribute %v has more than one value", a.Type)
	}
	return v, nil
}

func (s *Signature) parseSignedAttrs(der []byte) error {
	attrs, err := parseAttrs(der)
	if err != nil {
		return fmt.Errorf("CMS signed attributes: %w", err)
	}
	seen := map[string]bool{}
	for _, a := range attrs {
		k := a.Type.String()
		if seen[k] {
			return fmt.Errorf("CMS signed attribute %v appears twice", a.Type)
		}
		seen[k] = true
		s.SignedAttrTypes = append(s.SignedAttrTypes, a.Type)
		v, err := singleValue(a)
		if err != nil {
			return fmt.Errorf("CMS signed %w", err)
		}
		switch {
		case a.Type.Equal(OIDContentType):
			var ct asn1.ObjectIdentifier
			if err := unmarshalAll(v.FullBytes, &ct); err != nil || !ct.Equal(OIDData) {
				return errors.New("CMS content-type attribute is not id-data")
			}
		case a.Type.Equal(OIDMessageDigest):
			if err := unmarshalAll(v.FullBytes, &s.MessageDigest); err != nil {
				return fmt.Errorf("CMS message-digest attribute: %w", err)
			}
			if len(s.MessageDigest) != s.Hash.Size() {
				return errors.New("CMS message-digest attribute has the wrong length")
			}
		case a.Type.Equal(OIDSigningTime):
			if err := unmarshalAll(v.FullBytes, &s.SigningTime); err != nil {
				return fmt.Errorf("CMS signing-time attribute: %w", err)
			}
		}
	}
	if !seen[OIDContentType.String()] {
		return errors.New("CMS signed attributes lack the content type")
	}
	if !seen[OIDMessageDigest.String()] {
		return errors.New("CMS signed attributes lack the message digest")
	}
	return nil
}

func (s *Signature) parseUnsignedAttrs(der []byte) error {
	attrs, err := parseAttrs(der)
	if err != nil {
		return fmt.Errorf("CMS unsigned attributes: %w", err)
	}
	for _, a := range attrs {
		s.UnsignedAttrTypes = append(s.UnsignedAttrTypes, a.Type)
		if !a.Type.Equal(OIDTransparencyLog) {
			continue // e.g. an RFC 3161 timestamp; not used here
		}
		if s.Entry != nil {
			return errors.New("CMS signature carries two transparency log entries")
		}
		v, err := singleValue(a)
		if err != nil {
			return fmt.Errorf("CMS unsigned %w", err)
		}
		var raw []byte
		if err := unmarshalAll(v.FullBytes, &raw); err != nil {
			return fmt.Errorf("CMS transparency log attribute: %w", err)
		}
		e := new(tlog.TLE)
		if err := e.UnmarshalProto(raw); err != nil {
			return fmt.Errorf("CMS transparency log attribute: %w", err)
		}
		s.Entry = e
	}
	return nil
}

// Unsigned is a signature waiting for its signature value and log entry:
// the first half of signing, split so that the log upload happens between.
type Unsigned struct {
	Certificate *x509.Certificate
	Hash        crypto.Hash
	SignedAttrs []byte // DER SET OF, what to sign
}

// Prepare builds the signed attributes over payload for the certificate's
// key at time now. Only ECDSA P-256 (SHA-256) and P-384 (SHA-384) keys are
// supported, as in sigstore's gitsign.
func Prepare(cert *x509.Certificate, payload []byte, now time.Time) (*Unsigned, error) {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("git signatures need an ECDSA key, not %T", cert.PublicKey)
	}
	var h crypto.Hash
	switch pub.Curve {
	case elliptic.P256():
		h = crypto.SHA256
	case elliptic.P384():
		h = crypto.SHA384
	default:
		return nil, fmt.Errorf("git signatures need a P-256 or P-384 key, not %s", pub.Curve.Params().Name)
	}
	d := h.New()
	d.Write(payload)
	ct, err := attr(OIDContentType, OIDData)
	if err != nil {
		return nil, err
	}
	st, err := attr(OIDSigningTime, now.UTC().Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	md, err := attr(OIDMessageDigest, d.Sum(nil))
	if err != nil {
		return nil, err
	}
	set, err := derSetOf(ct, st, md)
	if err != nil {
		return nil, err
	}
	return &Unsigned{Certificate: cert, Hash: h, SignedAttrs: set}, nil
}

// Digest is Hash(SignedAttrs).
func (u *Unsigned) Digest() []byte {
	d := u.Hash.New()
	d.Write(u.SignedAttrs)
	return d.Sum(nil)
}

// Finish assembles the DER signature from the signature value over Digest
// and the log entry (its canonicalizedBody is cleared here).
func (u *Unsigned) Finish(sig []byte, entry *tlog.TLE) ([]byte, error) {
	var unsigned asn1.RawValue
	if entry != nil {
		e := *entry
		e.Body = nil
		a, err := attr(OIDTransparencyLog, e.MarshalProto())
		if err != nil {
			return nil, err
		}
		set, err := derSetOf(a)
		if err != nil {
			return nil, err
		}
		unsigned = implicit(1, set)
	}
	sigAlg, err := signatureOID(u.Hash)
	if err != nil {
		return nil, err
	}
	digestAlg := pkix.AlgorithmIdentifier{Algorithm: hashOID(u.Hash)}
	si := signerInfo{
		Version: 1,
		SID: asn1.RawValue{FullBytes: mustMarshal(issuerAndSerial{
			Issuer: asn1.RawValue{FullBytes: u.Certificate.RawIssuer},
			Serial: u.Certificate.SerialNumber,
		})},
		DigestAlgorithm:    digestAlg,
		SignedAttrs:        implicit(0, u.SignedAttrs),
		SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: sigAlg},
		Signature:          sig,
		UnsignedAttrs:      unsigned,
	}
	certs := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: u.Certificate.Raw}
	sd := signedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{digestAlg},
		EncapContentInfo: encapContentInfo{EContentType: OIDData},
		Certificates:     certs,
		SignerInfos:      []signerInfo{si},
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(contentInfo{
		ContentType: OIDSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER},
	})
}

// EncodePEM armors a DER signature the way git expects it.
func EncodePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: PEMType, Bytes: der})
}

func attr(oid asn1.ObjectIdentifier, value any) ([]byte, error) {
	v, err := asn1.Marshal(value)
	if err != nil {
		return nil, err
	}
	set, err := derSetOf(v)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(attribute{Type: oid, Values: asn1.RawValue{FullBytes: set}})
}

// derSetOf encodes a SET OF with its elements in DER order (sorted by
// their encodings, X.690 §11.6).
func derSetOf(elems ...[]byte) ([]byte, error) {
	sorted := append([][]byte(nil), elems...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i], sorted[j]) < 0 })
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(sorted, nil)})
}

// implicit retags a SET OF encoding as [n] IMPLICIT.
func implicit(n int, set []byte) asn1.RawValue {
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(set, &v); err != nil {
		panic(err) // set was just marshaled
	}
	return asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: n, IsCompound: true, Bytes: v.Bytes}
}

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
