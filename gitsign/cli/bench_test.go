package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/waxseal/waxseal/gitsign"
)

// BenchmarkGPGVerify is everything one `gitsign --verify` run does after
// start-up, as git calls it for each commit of `git log --show-signature`:
// configuration, trusted root, allowed signers, verification, status. The
// verdict cache is off; BenchmarkGPGVerifyCached answers from it.
func BenchmarkGPGVerify(b *testing.B) { benchmarkGPGVerify(b, false) }

// BenchmarkGPGVerifyCached is the same run answered from the verdict
// cache, as for a commit git shows again.
func BenchmarkGPGVerifyCached(b *testing.B) { benchmarkGPGVerify(b, true) }

func benchmarkGPGVerify(b *testing.B, cached bool) {
	fixtures, _ := filepath.Abs("../../testdata/gitsign-public-good")
	raw, err := os.ReadFile(filepath.Join(fixtures, "347014354ef1632fd0bcf69189a99ba6295f0f25.commit"))
	if err != nil {
		b.Fatal(err)
	}
	o, err := gitsign.ParseObject("commit", raw, "sha1")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	sig := filepath.Join(dir, "sig")
	os.WriteFile(sig, o.Signature, 0o600)
	os.WriteFile(filepath.Join(dir, "signers"), []byte("*@chainguard.dev billy@chainguard.dev https://accounts.google.com\n"), 0o600)
	os.WriteFile(filepath.Join(dir, ".gitconfig"), []byte("[gitsign]\n\ttrustedRoot = "+filepath.Join(fixtures, "trusted_root.json")+
		"\n\tallowedSigners = "+filepath.Join(dir, "signers")+"\n"), 0o600)
	os.Mkdir(filepath.Join(dir, "repo"), 0o755)
	b.Setenv("HOME", dir)
	b.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	b.Setenv("GIT_CONFIG_GLOBAL", "")
	b.Setenv("XDG_CONFIG_HOME", "")
	b.Setenv("GIT_DIR", "")
	b.Setenv("GIT_CEILING_DIRECTORIES", "")
	b.Setenv("GIT_CONFIG_PARAMETERS", "")
	b.Setenv("GIT_CONFIG_COUNT", "")
	b.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	b.Setenv("WAXSEAL_CONFIG_DIR", filepath.Join(dir, "waxseal"))
	b.Setenv("GITSIGN_VERIFY_CACHE", strconv.FormatBool(cached))
	b.Chdir(filepath.Join(dir, "repo"))
	for b.Loop() {
		var out, errOut bytes.Buffer
		code := run(context.Background(), []string{"gitsign", "--status-fd=1", "--verify", sig, "-"}, bytes.NewReader(o.Payload), &out, &errOut)
		if code != 0 || !strings.Contains(out.String(), "TRUST_FULLY") {
			b.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
		}
	}
}
