package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	bundlepb "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/tlog/tlogpb"
	"github.com/waxseal/waxseal/internal/clierr"
	"github.com/waxseal/waxseal/server/servertest"
)

// TestVerifyBundleWithKey covers the conformance protocol's --key form: a
// bundle signed by a managed key, recorded in the log, verified with the key.
func TestVerifyBundleWithKey(t *testing.T) {
	stack := servertest.Start(t)
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	keyPath := filepath.Join(dir, "key.pub")
	os.WriteFile(keyPath, pubPEM, 0o644)

	artifact := []byte("managed key\n")
	artPath := filepath.Join(dir, "a.txt")
	os.WriteFile(artPath, artifact, 0o644)
	digest := sha256.Sum256(artifact)
	sig, err := keys.SignDigest(key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	proposed, err := tlog.NewHashedRekord("sha256", digest[:], sig, pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, entry, _, err := (&tlogclient.Client{BaseURL: stack.URL}).Upload(context.Background(), proposed)
	if err != nil {
		t.Fatal(err)
	}
	tle, err := tlog.ToTLE(entry)
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle.Bundle{Bundle: &bundlepb.Bundle{
		MediaType: bundle.MediaType,
		VerificationMaterial: &bundlepb.VerificationMaterial{
			Content:     &bundlepb.VerificationMaterial_PublicKey{PublicKey: &commonpb.PublicKeyIdentifier{Hint: "test"}},
			TlogEntries: []*rekorpb.TransparencyLogEntry{tlogpb.ToPB(tle)},
		},
		Content: &bundlepb.Bundle_MessageSignature{MessageSignature: &commonpb.MessageSignature{
			MessageDigest: &commonpb.HashOutput{Algorithm: commonpb.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}}
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	bpath := filepath.Join(dir, "b.json")
	os.WriteFile(bpath, data, 0o644)

	waxseal(t, "", "verify-bundle", "--bundle", bpath, "--key", keyPath, "--trusted-root", stack.TrustedRootPath, artPath)

	// Another key must not verify it.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	oder, _ := x509.MarshalPKIXPublicKey(other.Public())
	otherPath := filepath.Join(dir, "other.pub")
	os.WriteFile(otherPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: oder}), 0o644)
	if code := run(context.Background(), []string{"waxseal", "verify-bundle", "--bundle", bpath, "--key", otherPath, "--trusted-root", stack.TrustedRootPath, artPath}, nil, &discard{}, &discard{}); code != clierr.ExitFail {
		t.Fatalf("another key: exit %d, want %d", code, clierr.ExitFail)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
