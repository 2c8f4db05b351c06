package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/common/trust"
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
	// The hint names the flag these commands take, not --server, which
	// they do not.
	for _, args := range [][]string{verify, {"trust", "show"}, {"trust", "export", filepath.Join(dir, "pem")}} {
		_, errs, code := runCLI(ctx, t, nil, args...)
		if code != 1 || !strings.Contains(errs, "no trusted root pinned") || !strings.Contains(errs, "waxseal trust init --from URL") ||
			!strings.Contains(errs, "--trusted-root FILE") || strings.Contains(errs, "--server") {
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

// TestTrustExport writes the stack's CA chain and log keys as the PEM files
// sigstore's tools read, and prints the environment naming them, quoted so
// that a shell evaluates it as written.
func TestTrustExport(t *testing.T) {
	stack := servertest.Start(t)
	dir := filepath.Join(t.TempDir(), "it's here")
	out := waxseal(t, "", "trust", "export", "--trusted-root", stack.TrustedRootPath, dir)

	sh := exec.Command("sh", "-c", out+`printf '%s\n%s\n%s\n' "$SIGSTORE_ROOT_FILE" "$SIGSTORE_REKOR_PUBLIC_KEY" "$SIGSTORE_CT_LOG_PUBLIC_KEY_FILE"`)
	got, err := sh.Output()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	paths := strings.Split(strings.TrimSpace(string(got)), "\n")
	want := []string{filepath.Join(dir, "fulcio.pem"), filepath.Join(dir, "rekor.pub"), filepath.Join(dir, "ctfe.pub")}
	if !slices.Equal(paths, want) {
		t.Fatalf("environment names %q, want %q", paths, want)
	}

	// fulcio.pem is the CA's chain as the root lists it, in PEM.
	certs, err := os.ReadFile(want[0])
	if err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for _, c := range stack.Root.CAs[0].Chain {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if !bytes.Equal(certs, chain) {
		t.Errorf("fulcio.pem is not the CA's chain:\n%s", certs)
	}
	for i, l := range []trust.Log{stack.Root.TLogs[0], stack.Root.CTLogs[0]} {
		b, err := os.ReadFile(want[i+1])
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "PUBLIC KEY" {
			t.Fatalf("%s is not a PEM public key", want[i+1])
		}
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if eq, ok := k.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(l.Key) {
			t.Errorf("%s is not the log's key", want[i+1])
		}
	}

	var j map[string]string
	if err := json.Unmarshal([]byte(waxseal(t, "", "trust", "export", "--json", "--trusted-root", stack.TrustedRootPath, dir)), &j); err != nil || j["SIGSTORE_ROOT_FILE"] != want[0] {
		t.Errorf("--json: %v %v", j, err)
	}
	if _, errs, code := runCLI(context.Background(), t, nil, "trust", "export"); code != 2 || !strings.Contains(errs, "one directory") {
		t.Errorf("no directory: exit %d, %s", code, errs)
	}
}

// TestTrustInitExpect: --expect takes the fingerprint as waxseal serve
// prints it, or as sha256sum prints the document's digest, in either case;
// anything else is a usage error, not a mismatch.
func TestTrustInitExpect(t *testing.T) {
	stack := servertest.Start(t)
	t.Setenv("WAXSEAL_CONFIG_DIR", filepath.Join(t.TempDir(), "cfg"))
	root, err := os.ReadFile(stack.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	fp := trust.Fingerprint(root)
	hexFP := strings.TrimPrefix(fp, "sha256:")
	ctx := context.Background()
	for _, expect := range []string{fp, hexFP, strings.ToUpper(hexFP), "SHA256:" + strings.ToUpper(hexFP)} {
		if _, errs, code := runCLI(ctx, t, nil, "trust", "init", "--from", stack.URL, "--expect", expect); code != 0 {
			t.Errorf("trust init --expect %s = %d\n%s", expect, code, errs)
		}
	}
	other := strings.Repeat("0", 64)
	if _, errs, code := runCLI(ctx, t, nil, "trust", "init", "--from", stack.URL, "--expect", other); code != 1 || !strings.Contains(errs, "not pinned") {
		t.Errorf("trust init --expect another fingerprint = %d\n%s", code, errs)
	}
	// Pinning another instance's root says what it replaced, and keeps it.
	other2 := servertest.Start(t)
	out, errs, code := runCLI(ctx, t, nil, "trust", "init", "--from", other2.URL)
	prev := filepath.Join(os.Getenv("WAXSEAL_CONFIG_DIR"), "trusted_root.previous.json")
	if kept, _ := os.ReadFile(prev); code != 0 || !strings.Contains(out, "replaced trusted root "+fp+", kept as "+prev) || !bytes.Equal(kept, root) {
		t.Errorf("trust init of another root = %d\n%s%s", code, out, errs)
	}
	if out, _, code := runCLI(ctx, t, nil, "trust", "init", "--from", other2.URL); code != 0 || strings.Contains(out, "replaced") {
		t.Errorf("trust init of the same root again = %d\n%s", code, out)
	}
	for _, bad := range []string{"sha256:abc", "md5:" + hexFP, hexFP + "0", "", " "} {
		if _, errs, code := runCLI(ctx, t, nil, "trust", "init", "--from", stack.URL, "--expect", bad); code != 2 || !strings.Contains(errs, "64 hex digits") {
			t.Errorf("trust init --expect %s = %d\n%s", bad, code, errs)
		}
	}
}
