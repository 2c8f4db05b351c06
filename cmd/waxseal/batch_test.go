package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/waxseal/waxseal/server/servertest"
)

// TestSignBatchOneCertificate signs many files in one invocation: one
// certificate for all of them, one log entry each, and each verifies.
func TestSignBatchOneCertificate(t *testing.T) {
	stack := servertest.Start(t)
	dir := t.TempDir()
	var files []string
	for i := range 12 {
		f := filepath.Join(dir, "f"+strconv.Itoa(i))
		os.WriteFile(f, []byte("file "+strconv.Itoa(i)), 0o644)
		files = append(files, f)
	}
	t.Setenv("WAXSEAL_CONFIG_DIR", filepath.Join(dir, "cfg"))
	waxseal(t, "", append([]string{"sign", "--signing-config", stack.SigningConfigPath, "--identity-token", stack.Token(t, "batch@example.com")}, files...)...)
	if n := stack.Requests("POST", "/api/v2/signingCert"); n != 1 {
		t.Errorf("%d certificate requests for %d files, want 1", n, len(files))
	}
	if n := stack.Requests("POST", "/api/v1/log/entries"); n != len(files) {
		t.Errorf("%d log entries for %d files", n, len(files))
	}
	for _, f := range files {
		waxseal(t, "", "verify", f, "--trusted-root", stack.TrustedRootPath, "--certificate-identity", "batch@example.com", "--certificate-oidc-issuer", stack.Issuer())
	}
}
