package cms

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/trust"
)

const fixtures = "../../testdata/gitsign-public-good"

// fixtureSignature pulls the armored signature out of a fixture object: the
// gpgsig header of a commit, the trailing block of a tag.
func fixtureSignature(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(raw, []byte("\ngpgsig ")); i >= 0 {
		var sig bytes.Buffer
		lines := strings.Split(string(raw[i+len("\ngpgsig "):]), "\n")
		sig.WriteString(lines[0] + "\n")
		for _, l := range lines[1:] {
			if !strings.HasPrefix(l, " ") {
				break
			}
			sig.WriteString(l[1:] + "\n")
		}
		return sig.Bytes()
	}
	i := bytes.LastIndex(raw, []byte("-----BEGIN SIGNED MESSAGE-----"))
	return raw[i:]
}

func fixtureNames(t testing.TB) []string {
	names, err := filepath.Glob(filepath.Join(fixtures, "*.commit"))
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := filepath.Glob(filepath.Join(fixtures, "*.tag"))
	var out []string
	for _, n := range append(names, tags...) {
		out = append(out, filepath.Base(n))
	}
	if len(out) != 4 {
		t.Fatalf("found %d fixtures, want 4", len(out))
	}
	return out
}

// TestPublicGood parses the signatures sigstore's gitsign made against the
// public-good instance and checks the facts this package relies on: the
// profile, and that the log entry is a hashedrekord of sha256(signed
// attributes) with the CMS signature and the leaf PEM, so that the cleared
// canonicalizedBody can be rebuilt and the entry's SET and inclusion proof
// verify.
func TestPublicGood(t *testing.T) {
	root, err := trust.LoadRoot(filepath.Join(fixtures, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			s, err := ParsePEM(fixtureSignature(t, name))
			if err != nil {
				t.Fatal(err)
			}
			if s.Hash != crypto.SHA256 {
				t.Errorf("hash %v", s.Hash)
			}
			wantSigned := []asn1.ObjectIdentifier{OIDContentType, OIDSigningTime, OIDMessageDigest}
			if !equalOIDs(s.SignedAttrTypes, wantSigned) {
				t.Errorf("signed attributes %v, want %v", s.SignedAttrTypes, wantSigned)
			}
			if !equalOIDs(s.UnsignedAttrTypes, []asn1.ObjectIdentifier{OIDTransparencyLog}) {
				t.Errorf("unsigned attributes %v", s.UnsignedAttrTypes)
			}
			if s.Entry == nil || len(s.Entry.Body) != 0 {
				t.Fatalf("entry %v: want one with canonicalizedBody cleared", s.Entry)
			}
			if s.Entry.Proof == nil || len(s.Entry.SET) == 0 {
				t.Error("entry lacks inclusion proof or SET")
			}
			if err := keys.VerifyDigest(s.Certificate.PublicKey, crypto.SHA256, s.AttrsDigest(), s.Signature); err != nil {
				t.Errorf("signature over the signed attributes: %v", err)
			}
			certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate.Raw})
			proposed, err := tlog.NewHashedRekord("sha256", s.AttrsDigest(), s.Signature, certPEM)
			if err != nil {
				t.Fatal(err)
			}
			e, err := tlog.Canonicalize(proposed)
			if err != nil {
				t.Fatal(err)
			}
			s.Entry.Body = e.Body
			if _, err := tlog.VerifyTLE(s.Entry, root.TLogKeys(), tlog.VerifyOptions{RequireInclusionProof: true}); err != nil {
				t.Errorf("rebuilt entry does not verify: %v", err)
			}
		})
	}
}

// TestRoundTrip checks that what Finish writes parses back, attribute by
// attribute like sigstore's, and that the encoding is DER (re-encoding is
// byte-identical).
func TestRoundTrip(t *testing.T) {
	cert, key := testCert(t)
	payload := []byte("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 1 +0000\ncommitter A <a@example.com> 1 +0000\n\nhello\n")
	now := time.Date(2026, 11, 22, 4, 30, 0, 0, time.UTC)
	u, err := Prepare(cert, payload, now)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := keys.SignDigest(key, u.Digest())
	if err != nil {
		t.Fatal(err)
	}
	entry := &tlog.TLE{LogIndex: 42, IntegratedTime: now.Unix(), Body: []byte("{}")}
	der, err := u.Finish(sig, entry)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParsePEM(EncodePEM(der))
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(payload)
	if !bytes.Equal(s.MessageDigest, d[:]) || !s.SigningTime.Equal(now) || !s.Certificate.Equal(cert) {
		t.Errorf("parsed %+v", s)
	}
	if !bytes.Equal(s.SignedAttrs, u.SignedAttrs) || !bytes.Equal(s.Signature, sig) {
		t.Error("signed attributes or signature changed in transit")
	}
	if s.Entry.LogIndex != 42 || len(s.Entry.Body) != 0 {
		t.Errorf("entry %v", s.Entry)
	}
	if !equalOIDs(s.SignedAttrTypes, []asn1.ObjectIdentifier{OIDContentType, OIDSigningTime, OIDMessageDigest}) {
		t.Errorf("signed attributes %v", s.SignedAttrTypes)
	}

	// Same structure as sigstore's, field by field.
	theirs, err := ParsePEM(fixtureSignature(t, "dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit"))
	if err != nil {
		t.Fatal(err)
	}
	if !equalOIDs(s.UnsignedAttrTypes, theirs.UnsignedAttrTypes) || s.Hash != theirs.Hash {
		t.Errorf("unsigned %v vs %v", s.UnsignedAttrTypes, theirs.UnsignedAttrTypes)
	}
	mine, their := outline(t, der), outline(t, mustDER(t, fixtureSignature(t, "dc68e8ce155fe12ab8fd7c55de6ef336ce716ee8.commit")))
	if mine != their {
		t.Errorf("ASN.1 outline differs:\nours:   %s\ntheirs: %s", mine, their)
	}
}

func mustDER(t *testing.T, armored []byte) []byte {
	blk, _ := pem.Decode(armored)
	if blk == nil {
		t.Fatal("no PEM")
	}
	return blk.Bytes
}

// outline renders the tag structure of a CMS object down to the signer's
// attributes, without lengths or leaf contents: two signatures in the same
// profile have the same outline.
func outline(t *testing.T, der []byte) string {
	var b strings.Builder
	var walk func(v []byte, depth int)
	walk = func(v []byte, depth int) {
		for len(v) > 0 {
			var rv asn1.RawValue
			rest, err := asn1.Unmarshal(v, &rv)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("(")
			b.WriteString(tagName(rv))
			switch {
			case rv.Tag == asn1.TagOID && rv.Class == 0:
				var oid asn1.ObjectIdentifier
				asn1.Unmarshal(rv.FullBytes, &oid)
				b.WriteString(" " + oid.String())
			case rv.IsCompound && !(rv.Class == 2 && rv.Tag == 0 && depth == 3) && !isName(rv):
				walk(rv.Bytes, depth+1) // certificates ([0] in SignedData) and names are opaque
			}
			b.WriteString(")")
			v = rest
		}
	}
	walk(der, 0)
	return b.String()
}

// isName reports whether rv looks like an X.501 Name (a SEQUENCE OF SET).
func isName(rv asn1.RawValue) bool {
	return rv.Tag == asn1.TagSequence && len(rv.Bytes) > 0 && rv.Bytes[0] == 0x31
}

func tagName(rv asn1.RawValue) string {
	if rv.Class == asn1.ClassContextSpecific {
		return "[" + big.NewInt(int64(rv.Tag)).String() + "]"
	}
	return map[int]string{2: "INT", 4: "OCTETS", 6: "OID", 16: "SEQ", 17: "SET", 23: "UTCTIME", 24: "GENTIME", 5: "NULL"}[rv.Tag]
}

func equalOIDs(a, b []asn1.ObjectIdentifier) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func testCert(t testing.TB) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func FuzzParsePEM(f *testing.F) {
	for _, n := range fixtureNames(f) {
		f.Add(fixtureSignature(f, n))
	}
	f.Add([]byte("-----BEGIN SIGNED MESSAGE-----\nMAA=\n-----END SIGNED MESSAGE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParsePEM(data)
		if err != nil {
			return
		}
		if s.Certificate == nil || len(s.MessageDigest) != s.Hash.Size() || s.SignedAttrs[0] != 0x31 {
			t.Fatalf("accepted an incomplete signature: %+v", s)
		}
	})
}

func FuzzParseDER(f *testing.F) {
	for _, n := range fixtureNames(f) {
		blk, _ := pem.Decode(fixtureSignature(f, n))
		f.Add(blk.Bytes)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		if s, err := Parse(der); err == nil && s.Certificate == nil {
			t.Fatal("no certificate")
		}
	})
}

// TestParsePEMNamesOtherKinds: a gpg- or ssh-signed commit (a GitHub
// web-flow commit is gpg-signed) is said to be one, not "not PEM".
func TestParsePEMNamesOtherKinds(t *testing.T) {
	for sig, want := range map[string]string{
		"-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQ\n-----END PGP SIGNATURE-----\n": "an OpenPGP signature (gpg), not a gitsign one",
		"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n":       "an SSH signature, not a gitsign one",
		"garbage": "signature is not PEM",
	} {
		if _, err := ParsePEM([]byte(sig)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePEM(%.30q) = %v, want %q", sig, err, want)
		}
	}
}
