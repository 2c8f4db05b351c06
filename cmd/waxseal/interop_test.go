package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgroot "github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/waxseal/waxseal/internal/peer"
	"github.com/waxseal/waxseal/internal/tufrepo"
	"github.com/waxseal/waxseal/server"
	"github.com/waxseal/waxseal/server/servertest"
)

// waxseal runs the CLI in-process and returns stdout, failing the test on a
// non-zero exit.
func waxseal(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"waxseal"}, args...), strings.NewReader(stdin), &out, &errb)
	if code != 0 {
		t.Fatalf("waxseal %s: exit %d\n%s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// cosignPath is the cosign .ci/run installs.
func cosignPath(t *testing.T) string { return peer.Tool(t, "cosign") }

func signedArtifact(t *testing.T, stack *servertest.Stack, email string, extra ...string) (artifact, bundlePath string) {
	t.Helper()
	dir := t.TempDir()
	artifact = filepath.Join(dir, "artifact.txt")
	if err := os.WriteFile(artifact, []byte("interop payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundlePath = artifact + ".sigstore.json"
	args := append([]string{"sign", "--signing-config", stack.SigningConfigPath, "--identity-token", stack.Token(t, email)}, extra...)
	waxseal(t, "", append(args, artifact)...)
	return artifact, bundlePath
}

// TestSigstoreGoVerifiesOurBundles checks our bundles with sigstore-go, with
// SCT, transparency-log and integrated-time checks all required.
func TestSigstoreGoVerifiesOurBundles(t *testing.T) {
	stack := servertest.Start(t)
	tr, err := sgroot.NewTrustedRootFromPath(stack.TrustedRootPath)
	if err != nil {
		t.Fatal(err)
	}
	v, err := sgverify.NewVerifier(tr, sgverify.WithSignedCertificateTimestamps(1), sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []string{"ecdsa-p256", "ecdsa-p384", "rsa-2048"} {
		t.Run(kt, func(t *testing.T) {
			artifact, bpath := signedArtifact(t, stack, "erin@example.com", "--key-type", kt)
			b, err := sgbundle.LoadJSONFromPath(bpath)
			if err != nil {
				t.Fatal(err)
			}
			id, err := sgverify.NewShortCertificateIdentity(stack.Issuer(), "", "erin@example.com", "")
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(artifact)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(f), sgverify.WithCertificateIdentity(id)))
			if err != nil {
				t.Fatalf("sigstore-go rejects our bundle: %v", err)
			}
			if got := res.Signature.Certificate.SubjectAlternativeName; got != "erin@example.com" {
				t.Errorf("sigstore-go sees SAN %q", got)
			}
			// And it rejects another identity: the check is real.
			other, _ := sgverify.NewShortCertificateIdentity(stack.Issuer(), "", "mallory@example.com", "")
			f.Seek(0, 0)
			if _, err := v.Verify(b, sgverify.NewPolicy(sgverify.WithArtifact(f), sgverify.WithCertificateIdentity(other))); err == nil {
				t.Error("sigstore-go accepted another identity")
			}
		})
	}
}

// TestCosignVerifiesOurBundles runs cosign verify-blob on our bundle with its
// default checks (SCT and transparency log required).
func TestCosignVerifiesOurBundles(t *testing.T) {
	cosign := cosignPath(t)
	stack := servertest.Start(t)
	artifact, bpath := signedArtifact(t, stack, "frank@example.com")
	cmd := exec.Command(cosign, "verify-blob", "--bundle", bpath, "--new-bundle-format", "--trusted-root", stack.TrustedRootPath,
		"--certificate-identity", "frank@example.com", "--certificate-oidc-issuer", stack.Issuer(), artifact)
	cmd.Env = append(os.Environ(), "TUF_ROOT="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign verify-blob: %v\n%s", err, out)
	}
	cmd = exec.Command(cosign, "verify-blob", "--bundle", bpath, "--new-bundle-format", "--trusted-root", stack.TrustedRootPath,
		"--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", stack.Issuer(), artifact)
	cmd.Env = append(os.Environ(), "TUF_ROOT="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("cosign accepted another identity:\n%s", out)
	}
}

// TestCosignInitializeFromOurTUF: cosign initialized from the instance's
// TUF repository, as its users point it at a private deployment, verifies
// our bundle with no --trusted-root.
func TestCosignInitializeFromOurTUF(t *testing.T) {
	cosign := cosignPath(t)
	stack := servertest.Start(t)
	artifact, bpath := signedArtifact(t, stack, "frank@example.com")
	resp, err := http.Get(stack.URL + server.TUFPath + "/" + tufrepo.RootFile)
	if err != nil {
		t.Fatal(err)
	}
	tufRoot, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	rootPath := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(rootPath, tufRoot, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TUF_ROOT="+t.TempDir())
	cosignRun := func(args ...string) (string, error) {
		cmd := exec.Command(cosign, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cosignRun("initialize", "--mirror", stack.URL+server.TUFPath, "--root", rootPath); err != nil {
		t.Fatalf("cosign initialize: %v\n%s", err, out)
	}
	if out, err := cosignRun("verify-blob", "--bundle", bpath, "--new-bundle-format",
		"--certificate-identity", "frank@example.com", "--certificate-oidc-issuer", stack.Issuer(), artifact); err != nil {
		t.Fatalf("cosign verify-blob with the trust it took from our TUF repository: %v\n%s", err, out)
	}
	if out, err := cosignRun("verify-blob", "--bundle", bpath, "--new-bundle-format",
		"--certificate-identity", "mallory@example.com", "--certificate-oidc-issuer", stack.Issuer(), artifact); err == nil {
		t.Fatalf("cosign accepted another identity:\n%s", out)
	}
}

// TestWeVerifyCosignBundles has cosign sign against our stack, and verifies
// its bundle with waxseal.
func TestWeVerifyCosignBundles(t *testing.T) {
	cosign := cosignPath(t)
	stack := servertest.Start(t)
	dir := t.TempDir()
	artifact := filepath.Join(dir, "blob.bin")
	if err := os.WriteFile(artifact, []byte("signed by cosign\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bpath := filepath.Join(dir, "blob.sigstore.json")
	// cosign takes the token by path when signing with a signing config.
	tokenPath := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenPath, []byte(stack.Token(t, "grace@example.com")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cosign, "sign-blob", "--yes", "--new-bundle-format", "--bundle", bpath,
		"--signing-config", stack.SigningConfigPath, "--trusted-root", stack.TrustedRootPath,
		"--identity-token", tokenPath, artifact)
	cmd.Env = append(os.Environ(), "TUF_ROOT="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign sign-blob: %v\n%s", err, out)
	}
	out := waxseal(t, "", "verify", artifact, "--bundle", bpath, "--trusted-root", stack.TrustedRootPath,
		"--certificate-identity", "grace@example.com", "--certificate-oidc-issuer", stack.Issuer())
	if !strings.Contains(out, "Verified OK") {
		t.Fatalf("unexpected output %q", out)
	}
}
