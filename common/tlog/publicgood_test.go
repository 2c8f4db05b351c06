package tlog

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/proto"
)

// publicGoodLogs loads the Rekor v1 keys of the public-good trusted root.
func publicGoodLogs(t testing.TB) map[string]crypto.PublicKey {
	b, err := os.ReadFile("../../testdata/tlog/public-good-trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Tlogs []struct {
			PublicKey struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"publicKey"`
			LogID struct {
				KeyID []byte `json:"keyId"`
			} `json:"logId"`
		} `json:"tlogs"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	logs := map[string]crypto.PublicKey{}
	for _, l := range tr.Tlogs {
		k, err := x509.ParsePKIXPublicKey(l.PublicKey.RawBytes)
		if err != nil {
			t.Fatal(err)
		}
		logs[hex.EncodeToString(l.LogID.KeyID)] = k
	}
	return logs
}

// gitsignEntry digs out of a gitsign CMS signature the leaf certificate,
// the signed attributes, the signature and the embedded Rekor entry
// (unsigned attribute 1.3.6.1.4.1.57264.3.1, a TransparencyLogEntry proto).
func gitsignEntry(t *testing.T, path string) (certPEM, signedAttrs, sig []byte, tle *TLE) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)-----BEGIN SIGNED MESSAGE-----\n(.*?)-----END SIGNED MESSAGE-----`).FindSubmatch(raw)
	if m == nil {
		t.Fatal("no signature")
	}
	var b64 strings.Builder
	for _, l := range strings.Split(string(m[1]), "\n") {
		b64.WriteString(strings.TrimSpace(l))
	}
	der, err := base64.StdEncoding.DecodeString(b64.String())
	if err != nil {
		t.Fatal(err)
	}
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		t.Fatal(err)
	}
	var sd struct {
		Version      int
		DigestAlgs   asn1.RawValue
		Encap        asn1.RawValue
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		SignerInfos  []struct {
			Version     int
			SID         asn1.RawValue
			DigestAlg   asn1.RawValue
			SignedAttrs asn1.RawValue `asn1:"optional,tag:0"`
			SigAlg      asn1.RawValue
			Signature   []byte
			Unsigned    []struct {
				Type   asn1.ObjectIdentifier
				Values []asn1.RawValue `asn1:"set"`
			} `asn1:"optional,tag:1"`
		} `asn1:"set"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		t.Fatal(err)
	}
	var certRaw asn1.RawValue
	if _, err := asn1.Unmarshal(sd.Certificates.Bytes, &certRaw); err != nil {
		t.Fatal(err)
	}
	si := sd.SignerInfos[0]
	attrs := append([]byte(nil), si.SignedAttrs.FullBytes...)
	attrs[0] = 0x31 // signed over as a SET OF, not as [0] IMPLICIT
	for _, u := range si.Unsigned {
		if u.Type.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 3, 1}) {
			pb := new(rekorv1.TransparencyLogEntry)
			if err := proto.Unmarshal(u.Values[0].Bytes, pb); err != nil {
				t.Fatal(err)
			}
			// Our decoder must read sigstore's bytes as the protobuf runtime does.
			tle = new(TLE)
			if err := tle.UnmarshalProto(u.Values[0].Bytes); err != nil {
				t.Fatal(err)
			}
			theirs, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(tle.MarshalProto(), theirs) {
				t.Fatalf("our decoding differs from the protobuf runtime's:\n%+v\n%+v", tle, pb)
			}
			if !bytes.Equal(tle.MarshalProto(), u.Values[0].Bytes) {
				t.Errorf("re-encoding sigstore's entry changes its bytes")
			}
		}
	}
	if tle == nil {
		t.Fatal("no rekor entry in signature")
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certRaw.FullBytes}), attrs, si.Signature, tle
}

// TestPublicGoodEntries checks our canonicalization, SET, inclusion proof and
// checkpoint code against entries of the public-good Rekor, embedded by
// sigstore's gitsign in real signed commits. gitsign leaves the body out of
// the entry; it is a hashedrekord over SHA-256 of the signed attributes, so
// rebuilding it byte for byte is itself the test of Canonicalize: any
// difference changes the leaf hash and neither SET nor proof would verify.
func TestPublicGoodEntries(t *testing.T) {
	logs := publicGoodLogs(t)
	files, _ := filepath.Glob("../../testdata/tlog/*.commit")
	tags, _ := filepath.Glob("../../testdata/tlog/*.tag")
	files = append(files, tags...)
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			certPEM, attrs, sig, tle := gitsignEntry(t, f)
			d := sha256.Sum256(attrs)
			proposed, err := NewHashedRekord("sha256", d[:], sig, certPEM)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Canonicalize(proposed)
			if err != nil {
				t.Fatal(err)
			}
			tle.Body = e.Body
			if _, err := VerifyTLE(tle, logs, VerifyOptions{RequireInclusionProof: true}); err != nil {
				t.Fatalf("real entry does not verify: %v\nbody: %s", err, e.Body)
			}
			pb, err := ParseBody(e.Body)
			if err != nil {
				t.Fatal(err)
			}
			if string(pb.PublicKey) != string(certPEM) || hex.EncodeToString(pb.Digest) != hex.EncodeToString(d[:]) {
				t.Errorf("ParseBody lost fields")
			}
			if !containsKey(pb.IndexKeys, "billy@chainguard.dev") {
				t.Errorf("index keys %q lack the email", pb.IndexKeys)
			}
			if _, _, _, err := VerifyCheckpoint(logs[hex.EncodeToString(tle.LogID)], []byte(tle.Proof.Checkpoint)); err != nil {
				t.Errorf("real checkpoint: %v", err)
			}
		})
	}
}

func containsKey(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}
