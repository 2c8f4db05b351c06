package cms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/tlog"
)

// refParse is Parse as it was written with encoding/asn1's reflection: the
// reference the cryptobyte parser is held to (TestParseAgreesWithReference,
// FuzzParseAgreesWithReference).
func refParse(der []byte) (*Signature, error) {
	if len(der) > MaxSize {
		return nil, errors.New("signature too large")
	}
	var ci contentInfo
	if err := refUnmarshalAll(der, &ci); err != nil {
		return nil, fmt.Errorf("CMS content info: %w", err)
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, fmt.Errorf("CMS content type is %v, want signedData", ci.ContentType)
	}
	var sd signedData
	if err := refUnmarshalAll(ci.Content.Bytes, &sd); err != nil {
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
	certs, err := refParseCertificates(sd.Certificates)
	if err != nil {
		return nil, err
	}
	leaf, err := refFindSigner(si.SID, certs)
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
	if err := s.refParseSignedAttrs(si.SignedAttrs.Bytes); err != nil {
		return nil, err
	}
	if len(si.UnsignedAttrs.FullBytes) != 0 {
		if err := s.refParseUnsignedAttrs(si.UnsignedAttrs.Bytes); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func refUnmarshalAll(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

func refParseCertificates(raw asn1.RawValue) ([]*x509.Certificate, error) {
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

func refFindSigner(sid asn1.RawValue, certs []*x509.Certificate) (*x509.Certificate, error) {
	if sid.Class != asn1.ClassUniversal || sid.Tag != asn1.TagSequence {
		return nil, errors.New("CMS signer is not identified by issuer and serial number")
	}
	var ias issuerAndSerial
	if err := refUnmarshalAll(sid.FullBytes, &ias); err != nil {
		return nil, fmt.Errorf("CMS signer identifier: %w", err)
	}
	for _, c := range certs {
		if c.SerialNumber.Cmp(ias.Serial) == 0 && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) {
			return c, nil
		}
	}
	return nil, errors.New("CMS signature does not carry the signer's certificate")
}

func refParseAttrs(der []byte) ([]attribute, error) {
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

// refSingleValue returns the only value of an attribute.
func refSingleValue(a attribute) (asn1.RawValue, error) {
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

func (s *Signature) refParseSignedAttrs(der []byte) error {
	attrs, err := refParseAttrs(der)
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
		v, err := refSingleValue(a)
		if err != nil {
			return fmt.Errorf("CMS signed %w", err)
		}
		switch {
		case a.Type.Equal(OIDContentType):
			var ct asn1.ObjectIdentifier
			if err := refUnmarshalAll(v.FullBytes, &ct); err != nil || !ct.Equal(OIDData) {
				return errors.New("CMS content-type attribute is not id-data")
			}
		case a.Type.Equal(OIDMessageDigest):
			if err := refUnmarshalAll(v.FullBytes, &s.MessageDigest); err != nil {
				return fmt.Errorf("CMS message-digest attribute: %w", err)
			}
			if len(s.MessageDigest) != s.Hash.Size() {
				return errors.New("CMS message-digest attribute has the wrong length")
			}
		case a.Type.Equal(OIDSigningTime):
			if err := refUnmarshalAll(v.FullBytes, &s.SigningTime); err != nil {
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

func (s *Signature) refParseUnsignedAttrs(der []byte) error {
	attrs, err := refParseAttrs(der)
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
		v, err := refSingleValue(a)
		if err != nil {
			return fmt.Errorf("CMS unsigned %w", err)
		}
		var raw []byte
		if err := refUnmarshalAll(v.FullBytes, &raw); err != nil {
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

// agree reports how Parse and refParse differ on der, or "" if Parse
// refuses it or both return the same signature. Parse may refuse what the
// reference accepted (stricter is true then): encoding/asn1 ignores
// elements after the last field of a SEQUENCE, where Parse, like the rest
// of this package, allows no trailing data.
func agree(der []byte) (diff string, stricter bool) {
	got, gotErr := Parse(der)
	want, wantErr := refParse(der)
	switch {
	case gotErr != nil:
		return "", wantErr == nil
	case wantErr != nil:
		return fmt.Sprintf("Parse accepted what the reference refuses: %v", wantErr), false
	}
	entry := func(s *Signature) []byte {
		if s.Entry == nil {
			return nil
		}
		return s.Entry.MarshalProto()
	}
	if !bytes.Equal(got.Certificate.Raw, want.Certificate.Raw) || got.Hash != want.Hash ||
		!bytes.Equal(got.SignedAttrs, want.SignedAttrs) || !bytes.Equal(got.MessageDigest, want.MessageDigest) ||
		!got.SigningTime.Equal(want.SigningTime) || !bytes.Equal(got.Signature, want.Signature) ||
		!bytes.Equal(entry(got), entry(want)) || (got.Entry == nil) != (want.Entry == nil) ||
		!equalOIDs(got.SignedAttrTypes, want.SignedAttrTypes) || !equalOIDs(got.UnsignedAttrTypes, want.UnsignedAttrTypes) {
		return fmt.Sprintf("Parse: %+v\nreference: %+v", got, want), false
	}
	return "", false
}

// referenceSeeds are DER signatures: sigstore gitsign's from the public-good
// instance, and ours.
func referenceSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, n := range fixtureNames(t) {
		blk, _ := pem.Decode(fixtureSignature(t, n))
		seeds = append(seeds, blk.Bytes)
	}
	cert, key := testCert(t)
	for _, withEntry := range []bool{false, true} {
		u, err := Prepare(cert, []byte("tree 0\n\nmessage\n"), time.Unix(1700000000, 0))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := ecdsa.SignASN1(rand.Reader, key, u.Digest())
		if err != nil {
			t.Fatal(err)
		}
		var e *tlog.TLE
		if withEntry {
			e = &tlog.TLE{LogIndex: 7, LogID: make([]byte, 32), Kind: "hashedrekord", Version: "0.0.1", IntegratedTime: 1700000000, SET: []byte{1, 2, 3},
				Proof: &tlog.Proof{LogIndex: 7, RootHash: make([]byte, 32), TreeSize: 8, Hashes: [][]byte{make([]byte, 32)}, Checkpoint: "origin\n8\nAAAA\n"}}
		}
		der, err := u.Finish(sig, e)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, der)
	}
	return seeds
}

// TestParseAgreesWithReference holds the cryptobyte parser to the
// reflection-based one it replaced, on real signatures and on every
// single-byte change and truncation of them.
func TestParseAgreesWithReference(t *testing.T) {
	seeds := referenceSeeds(t)
	if len(seeds) < 3 {
		t.Fatalf("%d seeds", len(seeds))
	}
	accepted, refused, stricter := 0, 0, 0
	for i, der := range seeds {
		if _, err := Parse(der); err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if d, _ := agree(der); d != "" {
			t.Fatalf("seed %d: %s", i, d)
		}
		variants := [][]byte{}
		for j := range der {
			for _, delta := range []byte{1, 0x80} {
				v := bytes.Clone(der)
				v[j] ^= delta
				variants = append(variants, v)
			}
			variants = append(variants, der[:j])
		}
		for _, v := range variants {
			d, s := agree(v)
			if d != "" {
				t.Fatalf("seed %d, variant %x: %s", i, v, d)
			}
			if s {
				stricter++
			}
			if _, err := Parse(v); err == nil {
				accepted++
			} else {
				refused++
			}
		}
	}
	// Flipping bytes inside the signature value or a certificate's
	// signature leaves a parseable signature; elsewhere it must not.
	if accepted == 0 || refused == 0 {
		t.Errorf("%d variants accepted, %d refused: the test did not exercise both", accepted, refused)
	}
	t.Logf("%d variants accepted alike, %d refused, %d of them only by Parse", accepted, refused, stricter)
}

func FuzzParseAgreesWithReference(f *testing.F) {
	for _, der := range referenceSeeds(f) {
		f.Add(der)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		if d, _ := agree(der); d != "" {
			t.Fatal(d)
		}
	})
}
