package bundle

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	if len(out) == 0 {
		t.Fatal("no fixtures in testdata")
	}
	return out
}

func TestParseFixtures(t *testing.T) {
	for name, data := range readFixtures(t) {
		t.Run(name, func(t *testing.T) {
			b, err := Parse(data)
			if strings.HasPrefix(name, "bad-") {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			cert, err := b.Certificate()
			if err != nil || cert == nil {
				t.Fatalf("certificate: %v", err)
			}
			// Round trip: what we write we read back identically.
			out, err := b.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			b2, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			out2, _ := b2.Marshal()
			if !bytes.Equal(out, out2) {
				t.Fatal("marshal is not stable")
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for name, in := range map[string]string{
		"empty":              ``,
		"not json":           `{`,
		"unknown media type": `{"mediaType":"application/vnd.dev.sigstore.bundle.v9+json"}`,
		"no material":        `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","messageSignature":{"signature":"AA=="}}`,
		"no content":         `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"AA=="}}}`,
		"chain in v0.3":      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"x509CertificateChain":{"certificates":[{"rawBytes":"AA=="}]}},"messageSignature":{"signature":"AA=="}}`,
		"two dsse sigs":      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"AA=="}},"dsseEnvelope":{"payload":"AA==","payloadType":"x","signatures":[{"sig":"AA=="},{"sig":"AA=="}]}}`,
		"entry without proof": `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"certificate":{"rawBytes":"AA=="},
			"tlogEntries":[{"logIndex":"1","logId":{"keyId":"AA=="},"kindVersion":{"kind":"hashedrekord","version":"0.0.1"},"canonicalizedBody":"AA=="}]},"messageSignature":{"signature":"AA=="}}`,
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParse: no input makes Parse panic, and whatever it accepts survives a
// marshal round trip.
func FuzzParse(f *testing.F) {
	for _, data := range readFixtures(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Parse(data)
		if err != nil {
			return
		}
		b.Certificate()
		out, err := b.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("re-parse of our own output: %v", err)
		}
	})
}
