package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/server/servertest"
)

// TestVerifyWithPinnedTrust: with no --trusted-root, verify and trust show
// use the root 'waxseal trust init' pinned, and say how to pin when
// nothing is.
func TestVerifyWithPinnedTrust(t *testing.T) {
	stack := servertest.Start(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cfg")
	t.Setenv("WAXSEAL_CONFIG_DIR", cfg)
	f := filepath.Join(dir, "artifact.txt")
	if err := os.WriteFile(f, []byte("pinned\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	verify := []string{"verify", f, "--certificate-identity", "pin@example.com", "--certificate-oidc-issuer", stack.Issuer()}
	for _, args := range [][]string{verify, {"trust", "show"}} {
		_, errs, code := runCLI(ctx, t, nil, args...)
		if code != 1 || !strings.Contains(errs, "no trusted root pinned") || !strings.Contains(errs, "waxseal trust init --from URL") {
			t.Errorf("waxseal %s with nothing pinned = %d\n%s", strings.Join(args, " "), code, errs)
		}
	}

	waxseal(t, "", "trust", "init", "--from", stack.URL)
	waxseal(t, "", "sign", f, "--identity-token", stack.Token(t, "pin@example.com"))
	waxseal(t, "", verify...)
	if out := waxseal(t, "", "trust", "show"); !strings.Contains(out, "fingerprint: sha256:") {
		t.Errorf("trust show:\n%s", out)
	}
}
