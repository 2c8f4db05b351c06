package fulcio

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// publicGood holds real gitsign signatures made with the public-good Sigstore instance,
// and its trusted root (see its README.md).
const publicGood = "../../testdata/gitsign-public-good"

// publicGoodRoot reads the trusted root: every CA certificate, and the CT log keys.
func publicGoodRoot(t testing.TB) (certs []*x509.Certificate, logs map[[32]byte]crypto.PublicKey) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(publicGood, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		CertificateAuthorities []struct {
			CertChain struct {
				Certificates []struct {
					RawBytes []byte `json:"rawBytes"`
				} `json:"certificates"`
			} `json:"certChain"`
		} `json:"certificateAuthorities"`
		CTLogs []struct {
			LogID struct {
				KeyID []byte `json:"keyId"`
			} `json:"logId"`
			PublicKey struct {
				RawBytes []byte `json:"rawBytes"`
			} `json:"publicKey"`
		} `json:"ctlogs"`
	}
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	for _, ca := range root.CertificateAuthorities {
		for _, c := range ca.CertChain.Certificates {
			cert, err := x509.ParseCertificate(c.RawBytes)
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, cert)
		}
	}
	logs = map[[32]byte]crypto.PublicKey{}
	for _, l := range root.CTLogs {
		key, err := x509.ParsePKIXPublicKey(l.PublicKey.RawBytes)
		if err != nil {
			t.Fatal(err)
		}
		id := sha256.Sum256(l.PublicKey.RawBytes)
		if !bytes.Equal(id[:], l.LogID.KeyID) {
			t.Fatalf("log ID %x is not the hash of its key", l.LogID.KeyID)
		}
		logs[id] = key
	}
	if len(certs) == 0 || len(logs) == 0 {
		t.Fatal("trusted root has no CAs or no CT logs")
	}
	return certs, logs
}

// signatureLeaf reads the Fulcio certificate out of a gitsign signature: the armored
// CMS SignedData in a commit's gpgsig header or at the end of a tag.
func signatureLeaf(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(publicGood, name))
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "-----BEGIN SIGNED MESSAGE-----", "-----END SIGNED MESSAGE-----"
	i, j := bytes.Index(raw, []byte(begin)), bytes.Index(raw, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("%s: no signature", name)
	}
	var armored strings.Builder
	for line := range strings.Lines(string(raw[i : j+len(end)])) {
		armored.WriteString(strings.TrimPrefix(line, " ")) // gpgsig continuation lines
	}
	block, _ := pem.Decode([]byte(armored.String() + "\n"))
	if block == nil {
		t.Fatalf("%s: signature is not PEM", name)
	}
	// ContentInfo { contentType, [0] EXPLICIT SignedData { version, digestAlgorithms,
	// encapContentInfo, certificates [0] IMPLICIT SET OF Certificate, ... } }
	in := cryptobyte.String(block.Bytes)
	var ci, content, sd, certs cryptobyte.String
	if !in.ReadASN1(&ci, cbasn1.SEQUENCE) ||
		!ci.SkipASN1(cbasn1.OBJECT_IDENTIFIER) ||
		!ci.ReadASN1(&content, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!content.ReadASN1(&sd, cbasn1.SEQUENCE) ||
		!sd.SkipASN1(cbasn1.INTEGER) || !sd.SkipASN1(cbasn1.SET) || !sd.SkipASN1(cbasn1.SEQUENCE) ||
		!sd.ReadASN1(&certs, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		t.Fatalf("%s: cannot find the certificates in the CMS signature", name)
	}
	var leaf *x509.Certificate
	for !certs.Empty() {
		var der cryptobyte.String
		if !certs.ReadASN1Element(&der, cbasn1.SEQUENCE) {
			t.Fatalf("%s: malformed certificate", name)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsCA {
			leaf = c
		}
	}
	if leaf == nil {
		t.Fatalf("%s: no leaf certificate", name)
	}
	return leaf
}

func TestVerifyEmbeddedSCTsPublicGood(t *testing.T) {
	cas, logs := publicGoodRoot(t)
	entries, err := os.ReadDir(publicGood)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".commit") && !strings.HasSuffix(e.Name(), ".tag") {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			resetSCTCache()
			leaf := signatureLeaf(t, e.Name())
			var issuer, other *x509.Certificate
			for _, c := range cas {
				if leaf.CheckSignatureFrom(c) == nil {
					issuer = c
				} else {
					other = c
				}
			}
			if issuer == nil {
				t.Fatal("no CA in the trusted root issued the leaf")
			}
			scts, err := embeddedSCTs(leaf)
			if err != nil || len(scts) == 0 {
				t.Fatalf("embeddedSCTs: %v (%d SCTs)", err, len(scts))
			}
			crossCheck(t, leaf, issuer, logs)
			for i, err := range ctgoVerify(t, leaf, issuer, logs) {
				if err != nil {
					t.Fatalf("ct-go rejects SCT %d: %v", i, err)
				}
			}

			at := scts[0].time()
			if err := VerifyEmbeddedSCTs(leaf, issuer, logs, at); err != nil {
				t.Fatalf("VerifyEmbeddedSCTs: %v", err)
			}
			// The newest SCT's time is one the SCTs verify at.
			if newest, ok := NewestSCTTime(leaf); !ok || newest.Before(at) || VerifyEmbeddedSCTs(leaf, issuer, logs, newest) != nil {
				t.Errorf("NewestSCTTime = %v %v, the first SCT's %v", newest, ok, at)
			}
			resetSCTCache()
			if err := VerifyEmbeddedSCTs(leaf, issuer, logs, at.Add(-time.Millisecond)); !errors.Is(err, ErrBadSCT) || !strings.Contains(err.Error(), "in the future") {
				t.Fatalf("before the SCT: %v", err)
			}
			if err := VerifyEmbeddedSCTs(leaf, other, logs, at); !errors.Is(err, ErrBadSCT) {
				t.Fatalf("wrong issuer: %v", err)
			}
			for i, err := range ctgoVerify(t, leaf, other, logs) {
				if err == nil {
					t.Fatalf("ct-go accepts SCT %d with the wrong issuer", i)
				}
			}
			// Altered TBS: the same SCT list in a different certificate. Re-signing with
			// another key changes only the signature, so alter the validity instead.
			tampered := *leaf
			tampered.RawTBSCertificate = bytes.Replace(leaf.RawTBSCertificate, []byte(leaf.NotAfter.UTC().Format("060102150405Z")),
				[]byte(leaf.NotAfter.UTC().Add(time.Second).Format("060102150405Z")), 1)
			if bytes.Equal(tampered.RawTBSCertificate, leaf.RawTBSCertificate) {
				t.Fatal("could not alter the TBSCertificate")
			}
			tampered.Raw = append([]byte("tampered"), leaf.Raw...) // a different cache key
			if err := VerifyEmbeddedSCTs(&tampered, issuer, logs, at); !errors.Is(err, ErrBadSCT) {
				t.Fatalf("altered TBSCertificate: %v", err)
			}
			// Without the log in the trusted root.
			if err := VerifyEmbeddedSCTs(leaf, issuer, map[[32]byte]crypto.PublicKey{}, at); !errors.Is(err, ErrUnknownCTLog) {
				t.Fatalf("no logs: %v", err)
			}
		})
	}
	if n == 0 {
		t.Fatal("no signed objects in", publicGood)
	}
}

// publicGoodCTLogs reads the trusted root's CT logs with their validity
// windows, by URL.
func publicGoodCTLogs(t testing.TB) map[string]CTLog {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(publicGood, "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		CTLogs []struct {
			BaseURL   string `json:"baseUrl"`
			PublicKey struct {
				RawBytes []byte `json:"rawBytes"`
				ValidFor struct {
					Start, End time.Time
				} `json:"validFor"`
			} `json:"publicKey"`
		} `json:"ctlogs"`
	}
	if err := json.Unmarshal(raw, &root); err != nil {
		t.Fatal(err)
	}
	logs := map[string]CTLog{}
	for _, l := range root.CTLogs {
		key, err := x509.ParsePKIXPublicKey(l.PublicKey.RawBytes)
		if err != nil {
			t.Fatal(err)
		}
		logs[l.BaseURL] = CTLog{URL: l.BaseURL, Key: key, NotBefore: l.PublicKey.ValidFor.Start, NotAfter: l.PublicKey.ValidFor.End}
	}
	return logs
}

// TestVerifyEmbeddedSCTsFromLogsPublicGood holds real public-good SCTs to
// the windows of the public-good trusted root: they count in the window of
// the log that issued them, and not in that of the retired test log.
func TestVerifyEmbeddedSCTsFromLogsPublicGood(t *testing.T) {
	cas, _ := publicGoodRoot(t)
	byURL := publicGoodCTLogs(t)
	retired, ok := byURL["https://ctfe.sigstore.dev/test"]
	if !ok || retired.NotAfter.IsZero() || !retired.NotAfter.Before(time.Date(2022, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("the trusted root does not retire ctfe.sigstore.dev/test in 2022: %+v", retired)
	}
	logs := map[[32]byte]CTLog{}
	for _, l := range byURL {
		der, err := x509.MarshalPKIXPublicKey(l.Key)
		if err != nil {
			t.Fatal(err)
		}
		logs[sha256.Sum256(der)] = l
	}
	entries, err := os.ReadDir(publicGood)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".commit") && !strings.HasSuffix(e.Name(), ".tag") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			leaf := signatureLeaf(t, e.Name())
			var issuer *x509.Certificate
			for _, c := range cas {
				if leaf.CheckSignatureFrom(c) == nil {
					issuer = c
				}
			}
			if issuer == nil {
				t.Fatal("no CA in the trusted root issued the leaf")
			}
			scts, err := embeddedSCTs(leaf)
			if err != nil || len(scts) != 1 {
				t.Fatalf("embeddedSCTs: %v (%d SCTs)", err, len(scts))
			}
			at := scts[0].time()
			l, ok := logs[scts[0].logID]
			if !ok {
				t.Fatalf("SCT from log %x, not in the trusted root", scts[0].logID)
			}
			if err := VerifyEmbeddedSCTsFromLogs(leaf, issuer, logs, at); err != nil {
				t.Fatalf("in the root's windows: %v", err)
			}
			// The same log, retired as the test log was.
			asRetired := map[[32]byte]CTLog{scts[0].logID: {URL: l.URL, Key: l.Key, NotBefore: retired.NotBefore, NotAfter: retired.NotAfter}}
			if err := VerifyEmbeddedSCTsFromLogs(leaf, issuer, asRetired, at); !errors.Is(err, ErrBadSCT) ||
				!strings.Contains(err.Error(), "CT log "+l.URL+": SCT timestamp") || !strings.Contains(err.Error(), "to 2022-10-31T23:59:59.999Z)") {
				t.Fatalf("log retired in 2022: %v", err)
			}
			// Retired a millisecond before the SCT, and trusted from a millisecond after it.
			for _, w := range []CTLog{{NotAfter: at.Add(-time.Millisecond)}, {NotBefore: at.Add(time.Millisecond)}} {
				w.URL, w.Key = l.URL, l.Key
				if err := VerifyEmbeddedSCTsFromLogs(leaf, issuer, map[[32]byte]CTLog{scts[0].logID: w}, at); !errors.Is(err, ErrBadSCT) ||
					!strings.Contains(err.Error(), "outside the log's validity") {
					t.Fatalf("window %s: %v", w.window(), err)
				}
			}
		})
	}
}
