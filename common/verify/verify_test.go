package verify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	commonpb "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/proto"

	"github.com/waxseal/waxseal/common/bundle"
	"github.com/waxseal/waxseal/common/credential"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
	"github.com/waxseal/waxseal/common/keys"
	"github.com/waxseal/waxseal/common/sign"
	"github.com/waxseal/waxseal/common/tlog"
	"github.com/waxseal/waxseal/common/tlog/tlogclient"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/common/verify"
	"github.com/waxseal/waxseal/server/servertest"
)

type fixture struct {
	stack    *servertest.Stack
	signer   *sign.Signer
	artifact []byte
	good     *bundle.Bundle
	policy   verify.Policy
}

func newFixture(t testing.TB, stack *servertest.Stack, email string) *fixture {
	t.Helper()
	ctx := context.Background()
	ca := &fulcioclient.Client{BaseURL: stack.URL}
	cred, err := credential.LoginWithToken(ctx, ca, stack.Token(t, email), keys.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		stack:    stack,
		signer:   &sign.Signer{Credential: cred, Log: &tlogclient.Client{BaseURL: stack.URL}},
		artifact: []byte("the artifact\n"),
		policy:   verify.Policy{Identity: email, Issuer: stack.Issuer()},
	}
	if f.good, err = f.signer.Artifact(ctx, bytes.NewReader(f.artifact)); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clone(t testing.TB) *bundle.Bundle {
	t.Helper()
	data, err := f.good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tle(b *bundle.Bundle) *rekorpb.TransparencyLogEntry {
	return b.GetVerificationMaterial().GetTlogEntries()[0]
}

func wantCheck(t *testing.T, err error, check, contains string) {
	t.Helper()
	var ve *verify.Error
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a %q failure", err, check)
	}
	if ve.Check != check {
		t.Fatalf("failed check %q (%v), want %q", ve.Check, err, check)
	}
	if !strings.Contains(err.Error(), contains) {
		t.Fatalf("error %q does not say %q", err, contains)
	}
}

func TestVerify(t *testing.T) {
	stack := servertest.Start(t)
	f := newFixture(t, stack, "alice@example.com")
	art := func(data []byte) verify.Artifact { return verify.Artifact{Reader: bytes.NewReader(data)} }

	res, err := verify.Verify(f.good, art(f.artifact), stack.Root, f.policy, verify.Options{})
	if err != nil {
		t.Fatalf("good bundle: %v", err)
	}
	if res.Identity.SAN != "alice@example.com" || res.Identity.Issuer != stack.Issuer() {
		t.Errorf("identity %+v", res.Identity)
	}
	if d := time.Since(res.IntegratedTime); d < 0 || d > time.Minute {
		t.Errorf("integrated time %v", res.IntegratedTime)
	}
	// By digest alone.
	sum := sha256.Sum256(f.artifact)
	if _, err := verify.Verify(f.good, verify.Artifact{Digest: sum[:], Hash: crypto.SHA256}, stack.Root, f.policy, verify.Options{}); err != nil {
		t.Fatalf("by digest: %v", err)
	}

	// A second bundle by the same signer, for entry swapping.
	other, err := f.signer.Artifact(context.Background(), strings.NewReader("another artifact\n"))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		mutate   func(b *bundle.Bundle)
		artifact []byte
		policy   *verify.Policy
		check    string
		contains string
	}{
		{name: "modified artifact", artifact: []byte("the artifact!\n"), check: verify.CheckArtifact, contains: "does not match"},
		{name: "other identity", policy: &verify.Policy{Identity: "bob@example.com", Issuer: stack.Issuer()}, check: verify.CheckIdentity, contains: `want "bob@example.com"`},
		{name: "other issuer", policy: &verify.Policy{Identity: "alice@example.com", Issuer: "https://accounts.example.com"}, check: verify.CheckIdentity, contains: "OIDC issuer"},
		{name: "identity regexp must match whole SAN", policy: &verify.Policy{IdentityRegexp: "alice", Issuer: stack.Issuer()}, check: verify.CheckIdentity, contains: "does not match"},
		{name: "forged SET", mutate: func(b *bundle.Bundle) {
			set := tle(b).GetInclusionPromise().SignedEntryTimestamp
			set[len(set)/2] ^= 1
		}, check: verify.CheckTLog, contains: ""},
		{name: "integrated time changed", mutate: func(b *bundle.Bundle) { tle(b).IntegratedTime-- }, check: verify.CheckTLog, contains: ""},
		// The certificate is checked while the log entry is: a failure of
		// both is the log's, since the certificate was checked at a time
		// only the log vouches for.
		{name: "integrated time moved past the certificate", mutate: func(b *bundle.Bundle) { tle(b).IntegratedTime += 365 * 24 * 3600 },
			check: verify.CheckTLog, contains: ""},
		{name: "forged SET and another identity", mutate: func(b *bundle.Bundle) {
			set := tle(b).GetInclusionPromise().SignedEntryTimestamp
			set[len(set)/2] ^= 1
		}, policy: &verify.Policy{Identity: "bob@example.com", Issuer: stack.Issuer()}, check: verify.CheckTLog, contains: ""},
		{name: "corrupted inclusion proof", mutate: func(b *bundle.Bundle) {
			ip := tle(b).GetInclusionProof()
			if len(ip.Hashes) == 0 {
				ip.Hashes = append(ip.Hashes, make([]byte, 32))
			} else {
				ip.Hashes[0][0] ^= 1
			}
		}, check: verify.CheckTLog, contains: ""},
		{name: "bad checkpoint signature", mutate: func(b *bundle.Bundle) {
			cp := tle(b).GetInclusionProof().GetCheckpoint()
			i := strings.LastIndex(cp.Envelope, " ")
			sig := []byte(cp.Envelope)
			sig[i+10] ^= 1 // inside the base64 signature
			cp.Envelope = string(sig)
		}, check: verify.CheckTLog, contains: ""},
		{name: "entry from another signature", mutate: func(b *bundle.Bundle) {
			b.VerificationMaterial.TlogEntries = []*rekorpb.TransparencyLogEntry{proto.Clone(tle(other)).(*rekorpb.TransparencyLogEntry)}
		}, check: verify.CheckEntry, contains: ""},
		{name: "a second log entry, for another signature", mutate: func(b *bundle.Bundle) {
			b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, proto.Clone(tle(other)).(*rekorpb.TransparencyLogEntry))
		}, check: verify.CheckTLog, contains: "2 transparency log entries"},
		{name: "the same log entry twice", mutate: func(b *bundle.Bundle) {
			b.VerificationMaterial.TlogEntries = append(b.VerificationMaterial.TlogEntries, proto.Clone(tle(b)).(*rekorpb.TransparencyLogEntry))
		}, check: verify.CheckTLog, contains: "2 transparency log entries"},
		{name: "signature swapped", mutate: func(b *bundle.Bundle) {
			b.GetMessageSignature().Signature = other.GetMessageSignature().GetSignature()
			b.GetMessageSignature().MessageDigest = other.GetMessageSignature().GetMessageDigest()
		}, check: verify.CheckArtifact, contains: ""},
		{name: "unknown log", mutate: func(b *bundle.Bundle) { tle(b).LogId = &commonpb.LogId{KeyId: make([]byte, 32)} }, check: verify.CheckTLog, contains: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := f.clone(t)
			if tc.mutate != nil {
				tc.mutate(b)
			}
			a := f.artifact
			if tc.artifact != nil {
				a = tc.artifact
			}
			pol := f.policy
			if tc.policy != nil {
				pol = *tc.policy
			}
			_, err := verify.Verify(b, art(a), stack.Root, pol, verify.Options{})
			wantCheck(t, err, tc.check, tc.contains)
		})
	}

	t.Run("no policy", func(t *testing.T) {
		_, err := verify.Verify(f.good, art(f.artifact), stack.Root, verify.Policy{}, verify.Options{})
		wantCheck(t, err, verify.CheckPolicyArgs, "--certificate-identity")
		_, err = verify.Verify(f.good, art(f.artifact), stack.Root, verify.Policy{Identity: "alice@example.com"}, verify.Options{})
		wantCheck(t, err, verify.CheckPolicyArgs, "--certificate-oidc-issuer")
	})
}

// TestCertificateFromAnotherCA trusts one stack's logs but another stack's CA.
func TestCertificateFromAnotherCA(t *testing.T) {
	a, b := servertest.Start(t), servertest.Start(t)
	f := newFixture(t, b, "alice@example.com")
	mixed := mixedRoot(t, a.Root.CAs[0].Chain, b)
	_, err := verify.Verify(f.good, verify.Artifact{Reader: bytes.NewReader(f.artifact)}, mixed, f.policy, verify.Options{})
	wantCheck(t, err, verify.CheckChain, "unknown authority")
}

// TestCertificateExpiredAtLogTime has a CA issue a certificate that expired
// before the log saw the signature: the log's time is what counts.
func TestCertificateExpiredAtLogTime(t *testing.T) {
	stack := servertest.Start(t)
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: now.Add(-30 * time.Minute), NotAfter: now.Add(-20 * time.Minute),
		EmailAddresses: []string{"alice@example.com"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, leafKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)

	artifact := []byte("late\n")
	digest := sha256.Sum256(artifact)
	sig, err := keys.SignDigest(leafKey, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	proposed, err := tlog.NewHashedRekord("sha256", digest[:], sig, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}))
	if err != nil {
		t.Fatal(err)
	}
	_, entry, _, err := (&tlogclient.Client{BaseURL: stack.URL}).Upload(context.Background(), proposed)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tlog.ToTLE(entry)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewMessageSignature(leaf, crypto.SHA256, digest[:], sig, tl)
	if err != nil {
		t.Fatal(err)
	}
	root := mixedRoot(t, []*x509.Certificate{caCert}, stack)
	_, err = verify.Verify(b, verify.Artifact{Reader: bytes.NewReader(artifact)}, root, verify.Policy{Identity: "alice@example.com", Issuer: "x"}, verify.Options{})
	wantCheck(t, err, verify.CheckChain, "not valid when the log saw the signature")
}

// mixedRoot trusts chain as the CA and logStack's transparency and CT logs.
func mixedRoot(t *testing.T, chain []*x509.Certificate, logStack *servertest.Stack) *trust.Root {
	t.Helper()
	spec := trust.RootSpec{CAURI: "https://ca.example", CAChain: chain, Start: time.Now().Add(-48 * time.Hour)}
	for _, l := range logStack.Root.TLogs {
		spec.TLogs = append(spec.TLogs, trust.LogSpec{BaseURL: l.BaseURL, Key: l.Key})
	}
	for _, l := range logStack.Root.CTLogs {
		spec.CTLogs = append(spec.CTLogs, trust.LogSpec{BaseURL: l.BaseURL, Key: l.Key})
	}
	doc, err := trust.NewRoot(spec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := trust.ParseRoot(doc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
