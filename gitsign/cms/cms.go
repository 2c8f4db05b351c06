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

	"golang.org/x/crypto/cryptobyte"
	casn1 "golang.org/x/crypto/cryptobyte/asn1"

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

// ParsePEM parses an armored signature. It starts with the PEM block, as
// git requires to take it for an x509 signature (a signature with anything
// before the block, whitespace too, git refuses as of unknown format); only
// whitespace may follow the block, which has no headers.
func ParsePEM(data []byte) (*Signature, error) {
	if len(data) > MaxSize {
		return nil, errors.New("signature too large")
	}
	// The other kinds git makes, named: a commit signed with gpg (a GitHub
	// web-flow commit is one) or ssh has no gitsign signature.
	switch {
	case bytes.HasPrefix(data, []byte("-----BEGIN PGP SIGNATURE-----")):
		return nil, errors.New("an OpenPGP signature (gpg), not a gitsign one")
	case bytes.HasPrefix(data, []byte("-----BEGIN SSH SIGNATURE-----")):
		return nil, errors.New("an SSH signature, not a gitsign one")
	}
	if !bytes.HasPrefix(data, pemBegin) {
		return nil, errors.New("signature is not PEM, or has data before the PEM block")
	}
	blk, rest := pem.Decode(data)
	// pem.Decode skips a malformed block and returns the next one.
	if blk == nil || bytes.Count(data[:len(data)-len(rest)], pemBegin) != 1 {
		return nil, errors.New("signature is not PEM")
	}
	if blk.Type != PEMType {
		return nil, fmt.Errorf("signature is PEM %q, want %q", blk.Type, PEMType)
	}
	if len(blk.Headers) != 0 {
		return nil, errors.New("signature's PEM block has headers")
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("trailing data after the signature")
	}
	return Parse(blk.Bytes)
}

var pemBegin = []byte("-----BEGIN ")

// Parse parses a DER signature. It reads the DER with cryptobyte rather
// than encoding/asn1's reflection, which cost a cold gitsign process more
// than the rest of parsing; TestParseAgreesWithReference and
// FuzzParseAgreesWithReference hold it to the reflection-based parser it
// replaced.
func Parse(der []byte) (*Signature, error) {
	if len(der) > MaxSize {
		return nil, errors.New("signature too large")
	}
	in := cryptobyte.String(der)
	var ci, content cryptobyte.String
	var contentType asn1.ObjectIdentifier
	if !in.ReadASN1(&ci, casn1.SEQUENCE) || !in.Empty() ||
		!ci.ReadASN1ObjectIdentifier(&contentType) ||
		!ci.ReadASN1(&content, casn1.Tag(0).Constructed().ContextSpecific()) || !ci.Empty() {
		return nil, errors.New("CMS content info: malformed")
	}
	if !contentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("CMS content type is %v, want signedData", contentType)
	}
	sd, err := parseSignedData(content)
	if err != nil {
		return nil, fmt.Errorf("CMS signed data: %w", err)
	}
	if !sd.eContentType.Equal(OIDData) {
		return nil, fmt.Errorf("CMS encapsulated content type is %v, want id-data", sd.eContentType)
	}
	if sd.eContent {
		return nil, errors.New("CMS signature is not detached")
	}
	if len(sd.signerInfos) != 1 {
		return nil, fmt.Errorf("CMS signature has %d signers, want 1", len(sd.signerInfos))
	}
	si := sd.signerInfos[0]
	certs, err := parseCertificates(sd.certificates, sd.hasCertificates)
	if err != nil {
		return nil, err
	}
	leaf, err := findSigner(si.sid, si.sidTag, certs)
	if err != nil {
		return nil, err
	}
	s := &Signature{Certificate: leaf, Signature: si.signature}
	if s.Hash, err = hashFor(si.digestAlgorithm); err != nil {
		return nil, err
	}
	if err := checkSignatureAlgorithm(si.signatureAlgorithm, s.Hash, leaf); err != nil {
		return nil, err
	}
	if !si.hasSignedAttrs {
		return nil, errors.New("CMS signer has no signed attributes")
	}
	// The signature covers the attributes with their SET OF tag, not the
	// [0] IMPLICIT tag they carry inside SignerInfo (RFC 5652 §5.4).
	s.SignedAttrs = append([]byte{0x31}, si.signedAttrsDER[1:]...)
	if err := s.parseSignedAttrs(si.signedAttrs); err != nil {
		return nil, err
	}
	if si.hasUnsignedAttrs {
		if err := s.parseUnsignedAttrs(si.unsignedAttrs); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// parsedSignedData is a SignedData, its parts still DER where Parse reads
// them itself.
type parsedSignedData struct {
	eContentType    asn1.ObjectIdentifier
	eContent        bool // present: not detached
	certificates    cryptobyte.String
	hasCertificates bool
	signerInfos     []parsedSignerInfo
}

type parsedSignerInfo struct {
	sid                                 cryptobyte.String // with its tag
	sidTag                              casn1.Tag
	digestAlgorithm, signatureAlgorithm asn1.ObjectIdentifier
	signedAttrs, unsignedAttrs          cryptobyte.String // SET OF contents
	signedAttrsDER                      []byte            // with the [0] tag
	hasSignedAttrs, hasUnsignedAttrs    bool
	signature                           []byte
}

var (
	tagCtx0 = casn1.Tag(0).Constructed().ContextSpecific()
	tagCtx1 = casn1.Tag(1).Constructed().ContextSpecific()
)

func parseSignedData(content cryptobyte.String) (*parsedSignedData, error) {
	var sd, digestAlgs, encap, signerInfos cryptobyte.String
	var version int64
	if !content.ReadASN1(&sd, casn1.SEQUENCE) || !content.Empty() ||
		!sd.ReadASN1Integer(&version) ||
		!sd.ReadASN1(&digestAlgs, casn1.SET) ||
		!sd.ReadASN1(&encap, casn1.SEQUENCE) {
		return nil, errors.New("malformed")
	}
	for !digestAlgs.Empty() {
		if _, err := readAlgorithm(&digestAlgs); err != nil {
			return nil, err
		}
	}
	p := &parsedSignedData{}
	var eContent cryptobyte.String
	if !encap.ReadASN1ObjectIdentifier(&p.eContentType) ||
		!encap.ReadOptionalASN1(&eContent, &p.eContent, tagCtx0) || !encap.Empty() {
		return nil, errors.New("malformed encapsulated content info")
	}
	if !sd.ReadOptionalASN1(&p.certificates, &p.hasCertificates, tagCtx0) ||
		!sd.SkipOptionalASN1(tagCtx1) || // CRLs
		!sd.ReadASN1(&signerInfos, casn1.SET) || !sd.Empty() {
		return nil, errors.New("malformed")
	}
	for !signerInfos.Empty() {
		si, err := parseSignerInfo(&signerInfos)
		if err != nil {
			return nil, err
		}
		p.signerInfos = append(p.signerInfos, si)
	}
	return p, nil
}

func parseSignerInfo(in *cryptobyte.String) (parsedSignerInfo, error) {
	var si parsedSignerInfo
	var der cryptobyte.String
	var version int64
	if !in.ReadASN1(&der, casn1.SEQUENCE) || !der.ReadASN1Integer(&version) ||
		!der.ReadAnyASN1Element(&si.sid, &si.sidTag) {
		return si, errors.New("malformed signer info")
	}
	var err error
	if si.digestAlgorithm, err = readAlgorithm(&der); err != nil {
		return si, err
	}
	if der.PeekASN1Tag(tagCtx0) {
		var signedAttrsDER cryptobyte.String
		if !der.ReadASN1Element(&signedAttrsDER, tagCtx0) {
			return si, errors.New("malformed signed attributes")
		}
		si.hasSignedAttrs, si.signedAttrsDER = true, signedAttrsDER
		if !signedAttrsDER.ReadASN1(&si.signedAttrs, tagCtx0) {
			return si, errors.New("malformed signed attributes")
		}
	}
	if si.signatureAlgorithm, err = readAlgorithm(&der); err != nil {
		return si, err
	}
	var sig cryptobyte.String
	if !der.ReadASN1(&sig, casn1.OCTET_STRING) ||
		!der.ReadOptionalASN1(&si.unsignedAttrs, &si.hasUnsignedAttrs, tagCtx1) || !der.Empty() {
		return si, errors.New("malformed signer info")
	}
	si.signature = sig
	return si, nil
}

// readAlgorithm reads an AlgorithmIdentifier and returns its algorithm.
func readAlgorithm(in *cryptobyte.String) (asn1.ObjectIdentifier, error) {
	var alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&alg, casn1.SEQUENCE) || !alg.ReadASN1ObjectIdentifier(&oid) {
		return nil, errors.New("malformed algorithm identifier")
	}
	var params cryptobyte.String
	var tag casn1.Tag
	if !alg.Empty() && (!alg.ReadAnyASN1Element(&params, &tag) || !alg.Empty()) {
		return nil, errors.New("malformed algorithm identifier")
	}
	return oid, nil
}

func parseCertificates(raw cryptobyte.String, present bool) ([]*x509.Certificate, error) {
	if !present {
		return nil, errors.New("CMS signature carries no certificate")
	}
	var certs []*x509.Certificate
	for !raw.Empty() {
		var der cryptobyte.String
		var tag casn1.Tag
		if !raw.ReadAnyASN1Element(&der, &tag) {
			return nil, errors.New("CMS certificates: malformed")
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("CMS certificate: %w", err)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

func findSigner(sid cryptobyte.String, tag casn1.Tag, certs []*x509.Certificate) (*x509.Certificate, error) {
	if tag != casn1.SEQUENCE {
		return nil, errors.New("CMS signer is not identified by issuer and serial number")
	}
	var ias, issuer cryptobyte.String
	serial := new(big.Int)
	if !sid.ReadASN1(&ias, casn1.SEQUENCE) || !ias.ReadASN1Element(&issuer, casn1.SEQUENCE) ||
		!ias.ReadASN1Integer(serial) || !ias.Empty() {
		return nil, errors.New("CMS signer identifier: malformed")
	}
	for _, c := range certs {
		if c.SerialNumber.Cmp(serial) == 0 && bytes.Equal(c.RawIssuer, issuer) {
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

// parsedAttribute is an Attribute: its type and its values, a SET OF.
type parsedAttribute struct {
	typ    asn1.ObjectIdentifier
	values cryptobyte.String
}

func parseAttrs(der cryptobyte.String) ([]parsedAttribute, error) {
	var attrs []parsedAttribute
	for !der.Empty() {
		var a parsedAttribute
		var attr cryptobyte.String
		if !der.ReadASN1(&attr, casn1.SEQUENCE) || !attr.ReadASN1ObjectIdentifier(&a.typ) {
			return nil, errors.New("malformed attribute")
		}
		var tag casn1.Tag
		var values cryptobyte.String
		if !attr.ReadAnyASN1(&values, &tag) || !attr.Empty() {
			return nil, fmt.Errorf("attribute %v: malformed", a.typ)
		}
		if tag != casn1.SET {
			return nil, fmt.Errorf("attribute %v: values are not a SET", a.typ)
		}
		a.values = values
		attrs = append(attrs, a)
	}
	return attrs, nil
}

// singleValue returns the only value of an attribute, with its tag.
func singleValue(a parsedAttribute) (cryptobyte.String, error) {
	values := a.values
	var v cryptobyte.String
	var tag casn1.Tag
	if !values.ReadAnyASN1Element(&v, &tag) {
		return nil, fmt.Errorf("attribute %v: malformed value", a.typ)
	}
	if !values.Empty() {
		return nil, fmt.Errorf("attribute %v has more than one value", a.typ)
	}
	return v, nil
}

func (s *Signature) parseSignedAttrs(der cryptobyte.String) error {
	attrs, err := parseAttrs(der)
	if err != nil {
		return fmt.Errorf("CMS signed attributes: %w", err)
	}
	var sawContentType, sawDigest bool
	for _, a := range attrs {
		s.SignedAttrTypes = append(s.SignedAttrTypes, a.typ)
		if err := checkOnce(s.SignedAttrTypes, a.typ); err != nil {
			return err
		}
		v, err := singleValue(a)
		if err != nil {
			return fmt.Errorf("CMS signed %w", err)
		}
		switch {
		case a.typ.Equal(OIDContentType):
			sawContentType = true
			var ct asn1.ObjectIdentifier
			if !v.ReadASN1ObjectIdentifier(&ct) || !v.Empty() || !ct.Equal(OIDData) {
				return errors.New("CMS content-type attribute is not id-data")
			}
		case a.typ.Equal(OIDMessageDigest):
			sawDigest = true
			var md cryptobyte.String
			if !v.ReadASN1(&md, casn1.OCTET_STRING) || !v.Empty() {
				return errors.New("CMS message-digest attribute: not an OCTET STRING")
			}
			s.MessageDigest = md
			if len(s.MessageDigest) != s.Hash.Size() {
				return errors.New("CMS message-digest attribute has the wrong length")
			}
		case a.typ.Equal(OIDSigningTime):
			t, err := readTime(v)
			if err != nil {
				return fmt.Errorf("CMS signing-time attribute: %w", err)
			}
			s.SigningTime = t
		}
	}
	if !sawContentType {
		return errors.New("CMS signed attributes lack the content type")
	}
	if !sawDigest {
		return errors.New("CMS signed attributes lack the message digest")
	}
	return nil
}

// checkOnce refuses an attribute type that appears twice in types.
func checkOnce(types []asn1.ObjectIdentifier, typ asn1.ObjectIdentifier) error {
	n := 0
	for _, t := range types {
		if t.Equal(typ) {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("CMS signed attribute %v appears twice", typ)
	}
	return nil
}

// readTime reads a UTCTime or GeneralizedTime, as encoding/asn1 reads one
// into a time.Time.
func readTime(v cryptobyte.String) (time.Time, error) {
	var t time.Time
	switch {
	case v.PeekASN1Tag(casn1.UTCTime):
		if !v.ReadASN1UTCTime(&t) {
			return t, errors.New("malformed UTCTime")
		}
	case v.PeekASN1Tag(casn1.GeneralizedTime):
		if !v.ReadASN1GeneralizedTime(&t) {
			return t, errors.New("malformed GeneralizedTime")
		}
	default:
		return t, errors.New("not a time")
	}
	if !v.Empty() {
		return t, errors.New("trailing data")
	}
	return t, nil
}

func (s *Signature) parseUnsignedAttrs(der cryptobyte.String) error {
	attrs, err := parseAttrs(der)
	if err != nil {
		return fmt.Errorf("CMS unsigned attributes: %w", err)
	}
	for _, a := range attrs {
		s.UnsignedAttrTypes = append(s.UnsignedAttrTypes, a.typ)
		if !a.typ.Equal(OIDTransparencyLog) {
			continue // e.g. an RFC 3161 timestamp; not used here
		}
		if s.Entry != nil {
			return errors.New("CMS signature carries two transparency log entries")
		}
		v, err := singleValue(a)
		if err != nil {
			return fmt.Errorf("CMS unsigned %w", err)
		}
		var raw cryptobyte.String
		if !v.ReadASN1(&raw, casn1.OCTET_STRING) || !v.Empty() {
			return errors.New("CMS transparency log attribute: not an OCTET STRING")
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
