package trust

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func pemBlocks(t *testing.T, path string) []*pem.Block {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*pem.Block
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return out
		}
		out = append(out, blk)
	}
}

// TestExportPEMPublicGood exports the public-good root: its retired CT log
// is left out, so that the one key sigstore's tools read from ctfe.pub is
// the current log's, and the retired CA's lost window is a warning.
func TestExportPEMPublicGood(t *testing.T) {
	root, err := LoadRoot("../../testdata/gitsign-public-good/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths, warnings, err := ExportPEM(root, dir, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	ct := pemBlocks(t, paths[EnvCTLogKeys])
	if len(ct) != 1 {
		t.Fatalf("ctfe.pub holds %d keys, want the one current log's", len(ct))
	}
	current, ok := root.CTLog(mustB64(t, "3T0wasbHETJjGR4cmWc3AqJKXrjePK3/h4pygC8p7o4="))
	if !ok {
		t.Fatal("fixture lacks the 2022 CT log")
	}
	k, err := x509.ParsePKIXPublicKey(ct[0].Bytes)
	if err != nil || !k.(interface{ Equal(crypto.PublicKey) bool }).Equal(current.Key) {
		t.Errorf("ctfe.pub is not ctfe.sigstore.dev/2022's key: %v", err)
	}
	if n := len(pemBlocks(t, paths[EnvRekorKey])); n != 1 {
		t.Errorf("rekor.pub holds %d keys", n)
	}
	var certs int
	for _, ca := range root.CAs {
		certs += len(ca.Chain)
	}
	if n := len(pemBlocks(t, paths[EnvRootFile])); n != certs {
		t.Errorf("fulcio.pem holds %d certificates, want all %d", n, certs)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "trusted until 2022-12-31") {
		t.Errorf("warnings %q", warnings)
	}
	if paths[EnvRootFile] != filepath.Join(dir, "fulcio.pem") {
		t.Errorf("paths %v", paths)
	}

	// In 2022, both CT logs were current: both exported, the newer first,
	// and a warning says which one the tools will read.
	_, warnings, err = ExportPEM(root, dir, time.Date(2022, 10, 25, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	ct = pemBlocks(t, filepath.Join(dir, "ctfe.pub"))
	if k, _ := x509.ParsePKIXPublicKey(ct[0].Bytes); len(ct) != 2 || !k.(interface{ Equal(crypto.PublicKey) bool }).Equal(current.Key) {
		t.Errorf("ctfe.pub in 2022: %d keys, the newest not first", len(ct))
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "2 certificate-transparency logs are current") {
		t.Errorf("warnings %q", warnings)
	}
}

// TestExportPEMNothingPartial: a root without a current log writes nothing.
func TestExportPEMNothingPartial(t *testing.T) {
	root, err := LoadRoot("../../testdata/gitsign-public-good/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	root.CTLogs = nil
	dir := filepath.Join(t.TempDir(), "out")
	if _, _, err := ExportPEM(root, dir, time.Now()); err == nil || !strings.Contains(err.Error(), "no certificate-transparency log") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("something was written: %v", err)
	}
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
