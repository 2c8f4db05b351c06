package cms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/tlog"
)

// The tests in this file hold Parse to the strictness the package doc
// promises. Each builds a signature that is well-formed DER and differs from
// a good one in a single property (re-signed where the change touches the
// signed attributes, so that the signature value still verifies), checks
// that the good one parses, and that the changed one is refused for the
// right reason.

var (
	strictPayload      = []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\ncommitter A <a@example.com> 1 +0000\n\nstrict\n")
	strictOtherPayload = []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\ncommitter A <a@example.com> 1 +0000\n\nsomething else\n")
	strictTime         = time.Date(2026, 11, 22, 4, 30, 0, 0, time.UTC)
)

// strictSigner is a real P-256 key and a self-signed certificate for it.
type strictSigner struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newStrictSigner(t *testing.T, serial int64, name string) strictSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    strictTime.Add(-time.Hour),
		NotAfter:     strictTime.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return strictSigner{cert, key}
}

// sign returns a good signature by s over strictPayload carrying entry, as
// Prepare and Finish write it, decoded into the package's ASN.1 shapes for
// a test to change.
func (s strictSigner) sign(t *testing.T, entry *tlog.TLE) *signedData {
	t.Helper()
	u, err := Prepare(s.cert, strictPayload, strictTime)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, s.key, u.Digest())
	if err != nil {
		t.Fatal(err)
	}
	der, err := u.Finish(sig, entry)
	if err != nil {
		t.Fatal(err)
	}
	sd := decodeSignedData(t, der)
	if !bytes.Equal(encodeSignedData(t, sd), der) {
		t.Fatal("decoding and re-encoding a good signature changed it")
	}
	return sd
}

func decodeSignedData(t *testing.T, der []byte) *signedData {
	t.Helper()
	var ci contentInfo
	if err := refUnmarshalAll(der, &ci); err != nil {
		t.Fatal(err)
	}
	var sd signedData
	if err := refUnmarshalAll(ci.Content.Bytes, &sd); err != nil {
		t.Fatal(err)
	}
	return &sd
}

// encodeSignedData wraps sd in a ContentInfo. encoding/asn1 writes DER,
// SET OFs sorted included; that the result decodes and re-encodes to the
// same bytes checks that the test built nothing malformed.
func encodeSignedData(t *testing.T, sd *signedData) []byte {
	t.Helper()
	sdDER, err := asn1.Marshal(*sd)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(contentInfo{
		ContentType: OIDSignedData,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER},
	})
	if err != nil {
		t.Fatal(err)
	}
	again, err := asn1.Marshal(*decodeSignedData(t, der))
	if err != nil || !bytes.Equal(again, sdDER) {
		t.Fatalf("built signed data is not DER (%v)", err)
	}
	return der
}

// strictAttr encodes an attribute with the given values.
func strictAttr(t *testing.T, typ asn1.ObjectIdentifier, values ...any) []byte {
	t.Helper()
	var ders [][]byte
	for _, v := range values {
		ders = append(ders, mustMarshal(v))
	}
	set, err := derSetOf(ders...)
	if err != nil {
		t.Fatal(err)
	}
	return mustMarshal(attribute{Type: typ, Values: asn1.RawValue{FullBytes: set}})
}

// setSignedAttrs replaces si's signed attributes and signs them again.
func setSignedAttrs(t *testing.T, si *signerInfo, key *ecdsa.PrivateKey, attrs ...[]byte) {
	t.Helper()
	set, err := derSetOf(attrs...)
	if err != nil {
		t.Fatal(err)
	}
	si.SignedAttrs = implicit(0, set)
	d := sha256.Sum256(set)
	if si.Signature, err = ecdsa.SignASN1(rand.Reader, key, d[:]); err != nil {
		t.Fatal(err)
	}
}

func setUnsignedAttrs(t *testing.T, si *signerInfo, attrs ...[]byte) {
	t.Helper()
	set, err := derSetOf(attrs...)
	if err != nil {
		t.Fatal(err)
	}
	si.UnsignedAttrs = implicit(1, set)
}

// publicGoodEntries returns two distinct real log entries: those of the
// public-good fixtures.
func publicGoodEntries(t *testing.T) (a, b *tlog.TLE) {
	t.Helper()
	var entries []*tlog.TLE
	for _, n := range fixtureNames(t)[:2] {
		s, err := ParsePEM(fixtureSignature(t, n))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, s.Entry)
	}
	if entries[0].LogIndex == entries[1].LogIndex {
		t.Fatal("fixtures carry the same entry")
	}
	return entries[0], entries[1]
}

// TestParseRefusesWhatTheProfileExcludes: each case changes one thing in a
// good signature that Parse must refuse.
func TestParseRefusesWhatTheProfileExcludes(t *testing.T) {
	alice, bob := newStrictSigner(t, 1, "alice"), newStrictSigner(t, 2, "bob")
	entry, otherEntry := publicGoodEntries(t)

	digest, otherDigest := sha256.Sum256(strictPayload), sha256.Sum256(strictOtherPayload)
	// The signed attributes as Prepare writes them, one by one.
	contentType := strictAttr(t, OIDContentType, OIDData)
	signingTime := strictAttr(t, OIDSigningTime, strictTime)
	messageDigest := strictAttr(t, OIDMessageDigest, digest[:])

	tests := []struct {
		name   string
		change func(sd *signedData)
		want   string // in the error
	}{
		{"two signers", func(sd *signedData) {
			// Bob's complete signature of the same commit, merged in.
			sd.SignerInfos = append(sd.SignerInfos, bob.sign(t, otherEntry).SignerInfos[0])
			certs, err := derSetOf(alice.cert.Raw, bob.cert.Raw)
			if err != nil {
				t.Fatal(err)
			}
			sd.Certificates = implicit(0, certs)
		}, "CMS signature has 2 signers, want 1"},
		{"no signer", func(sd *signedData) {
			sd.SignerInfos = nil
		}, "CMS signature has 0 signers, want 1"},
		{"encapsulated content", func(sd *signedData) {
			// eContent [0] EXPLICIT OCTET STRING: the payload the message
			// digest is of.
			sd.EncapContentInfo.EContent = asn1.RawValue{FullBytes: mustMarshal(asn1.RawValue{
				Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: mustMarshal(strictPayload),
			})}
		}, "CMS signature is not detached"},
		{"message digest twice", func(sd *signedData) {
			setSignedAttrs(t, &sd.SignerInfos[0], alice.key,
				contentType, signingTime, messageDigest, strictAttr(t, OIDMessageDigest, otherDigest[:]))
		}, "CMS signed attribute 1.2.840.113549.1.9.4 appears twice"},
		{"content type twice", func(sd *signedData) {
			setSignedAttrs(t, &sd.SignerInfos[0], alice.key, contentType, contentType, signingTime, messageDigest)
		}, "CMS signed attribute 1.2.840.113549.1.9.3 appears twice"},
		{"message digest with two values", func(sd *signedData) {
			setSignedAttrs(t, &sd.SignerInfos[0], alice.key,
				contentType, signingTime, strictAttr(t, OIDMessageDigest, digest[:], otherDigest[:]))
		}, "CMS signed attribute 1.2.840.113549.1.9.4 has more than one value"},
		{"log entry attribute with two values", func(sd *signedData) {
			setUnsignedAttrs(t, &sd.SignerInfos[0],
				strictAttr(t, OIDTransparencyLog, entry.MarshalProto(), otherEntry.MarshalProto()))
		}, "CMS unsigned attribute 1.3.6.1.4.1.57264.3.1 has more than one value"},
		{"two log entries", func(sd *signedData) {
			setUnsignedAttrs(t, &sd.SignerInfos[0],
				strictAttr(t, OIDTransparencyLog, entry.MarshalProto()),
				strictAttr(t, OIDTransparencyLog, otherEntry.MarshalProto()))
		}, "CMS signature carries two transparency log entries"},
		{"signature algorithm of another digest", func(sd *signedData) {
			sd.SignerInfos[0].SignatureAlgorithm = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA384}
		}, "CMS signature algorithm 1.2.840.10045.4.3.3 does not match digest SHA-256"},
		{"signature algorithm not ECDSA", func(sd *signedData) {
			sha256WithRSA := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
			sd.SignerInfos[0].SignatureAlgorithm = pkix.AlgorithmIdentifier{Algorithm: sha256WithRSA}
		}, "CMS signature algorithm 1.2.840.113549.1.1.11 does not match digest SHA-256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sd := alice.sign(t, entry)
			good := encodeSignedData(t, sd)
			if _, err := Parse(good); err != nil {
				t.Fatalf("the good signature: %v", err)
			}
			tc.change(sd)
			bad := encodeSignedData(t, sd)
			if bytes.Equal(bad, good) {
				t.Fatal("the change changed nothing")
			}
			for _, parse := range []struct {
				name string
				fn   func() (*Signature, error)
			}{
				{"Parse", func() (*Signature, error) { return Parse(bad) }},
				{"ParsePEM", func() (*Signature, error) { return ParsePEM(EncodePEM(bad)) }},
			} {
				_, err := parse.fn()
				if err == nil {
					t.Fatalf("%s accepted it", parse.name)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %q, want an error containing %q", parse.name, err, tc.want)
				}
			}
		})
	}
}

// TestParsePEMRefusesSurroundingData: the PEM block comes first (git
// refuses a signature with even whitespace before it), only whitespace may
// follow it, and it has no headers.
func TestParsePEMRefusesSurroundingData(t *testing.T) {
	alice, bob := newStrictSigner(t, 1, "alice"), newStrictSigner(t, 2, "bob")
	sig := EncodePEM(encodeSignedData(t, alice.sign(t, nil)))
	other := EncodePEM(encodeSignedData(t, bob.sign(t, nil)))
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		name string
		data []byte
		want string // in the error; "" if it must parse
	}{
		{"alone", sig, ""},
		{"trailing whitespace", join(sig, []byte("\n \t\r\n")), ""},
		{"trailing text", join(sig, []byte("extra\n")), "trailing data after the signature"},
		{"second signature", join(sig, other), "trailing data after the signature"},
		{"same signature twice", join(sig, sig), "trailing data after the signature"},
		{"leading whitespace", join([]byte("\n \t"), sig), "data before the PEM block"},
		{"leading newline", join([]byte("\n"), sig), "data before the PEM block"},
		{"leading text", join([]byte("hello\n"), sig), "data before the PEM block"},
		{"malformed block first", join([]byte("-----BEGIN SIGNED MESSAGE-----\n!!!\n"), sig), "not PEM"},
		{"PEM headers", bytes.Replace(sig, []byte("-----\n"), []byte("-----\nX-Note: hi\n\n"), 1), "has headers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParsePEM(tc.data)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want == "" && !s.Certificate.Equal(alice.cert):
				t.Fatal("parsed, but not alice's signature")
			case tc.want != "" && err == nil:
				t.Fatal("accepted")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("%q, want an error containing %q", err, tc.want)
			}
		})
	}
}
