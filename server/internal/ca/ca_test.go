package ca

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/certificate-transparency-go/ctutil"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	ctx509util "github.com/google/certificate-transparency-go/x509util"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/server/internal/ctlog"
)

type env struct {
	dir   string
	ca    *CA
	log   *ctlog.Log
	srv   *httptest.Server
	email *testIssuer
	wf    *testIssuer
	uri   *testIssuer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), email: newTestIssuer(t), wf: newTestIssuer(t), uri: newTestIssuer(t)}
	cfg := e.config(nil)
	// First start creates the keys; the CT log is then opened with the CA root as its
	// accepted root, and the CA restarted with the log (reusing its keys).
	first, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e.log, err = ctlog.Open(context.Background(), ctlog.Config{Dir: filepath.Join(e.dir, "ct"), Signer: logKey, Roots: []*x509.Certificate{first.Root()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.log.Close() })
	e.ca, err = New(context.Background(), e.config(e.log))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.ca.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) config(ct PrecertLogger) Config {
	cfg := Config{
		Dir: filepath.Join(e.dir, "ca"),
		Issuers: []Issuer{
			{URL: e.email.URL(), Type: TypeEmail},
			{URL: e.wf.URL(), Type: TypeGitHubWorkflow},
			{URL: e.uri.URL(), Type: TypeURI, SubjectDomain: "https://example.com"},
		},
		MaxRequestBytes: 16 << 10,
	}
	if ct != nil {
		cfg.CT = ct
	}
	return cfg
}

// popSign signs the challenge the way sigstore clients do.
func popSign(t testing.TB, s crypto.Signer, challenge string) []byte {
	t.Helper()
	msg := []byte(challenge)
	var sig []byte
	var err error
	switch k := s.Public().(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P384() {
			d := sha512.Sum384(msg)
			sig, err = s.Sign(rand.Reader, d[:], crypto.SHA384)
		} else {
			d := sha256.Sum256(msg)
			sig, err = s.Sign(rand.Reader, d[:], crypto.SHA256)
		}
	case *rsa.PublicKey:
		d := sha256.Sum256(msg)
		sig, err = s.Sign(rand.Reader, d[:], crypto.SHA256)
	case ed25519.PublicKey:
		sig, err = s.Sign(rand.Reader, msg, crypto.Hash(0))
	}
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func pubPEM(t testing.TB, pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func pubKeyBody(t testing.TB, token string, pub crypto.PublicKey, pop []byte) []byte {
	req := map[string]any{
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]any{"algorithm": "ECDSA", "content": pubPEM(t, pub)},
			"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
		},
	}
	if token != "" {
		req["credentials"] = map[string]any{"oidcIdentityToken": token}
	}
	b, _ := json.Marshal(req)
	return b
}

func csrBody(t testing.TB, token string, s crypto.Signer) []byte {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "ignored"}}, s)
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	req := map[string]any{"certificateSigningRequest": base64.StdEncoding.EncodeToString(p)}
	if token != "" {
		req["credentials"] = map[string]any{"oidcIdentityToken": token}
	}
	b, _ := json.Marshal(req)
	return b
}

func (e *env) post(t testing.TB, body []byte, bearer string) (int, []byte) {
	t.Helper()
	code, _, b := e.postTo(t, "/api/v2/signingCert", body, bearer)
	return code, b
}

// postTo posts a JSON body to path, with the token as a bearer header
// when one is given.
func (e *env) postTo(t testing.TB, path string, body []byte, bearer string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func parseChainResponse(t testing.TB, b []byte) []*x509.Certificate {
	t.Helper()
	var resp struct {
		SignedCertificateEmbeddedSct struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	var out []*x509.Certificate
	for _, p := range resp.SignedCertificateEmbeddedSct.Chain.Certificates {
		blk, _ := pem.Decode([]byte(p))
		if blk == nil {
			t.Fatalf("not PEM: %q", p)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) != 3 {
		t.Fatalf("chain has %d certificates, want 3: %s", len(out), b)
	}
	return out
}

func genKeys(t testing.TB) map[string]crypto.Signer {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"ecdsa-p256": p256, "ecdsa-p384": p384, "ed25519": ed, "rsa-2048": r}
}

// trustedRoot is what a verifier would load from trusted_root.json: this CA and this CT log.
func (e *env) trustedRoot(t testing.TB) *root.TrustedRoot {
	t.Helper()
	id := e.log.LogID()
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: e.ca.Root(), Intermediates: e.ca.Chain()[:1], ValidityPeriodStart: e.ca.Root().NotBefore,
		}},
		map[string]*root.TransparencyLog{hex.EncodeToString(id[:]): {
			ID: id[:], PublicKey: e.log.PublicKey(), HashFunc: crypto.SHA256, SignatureHashFunc: crypto.SHA256,
			ValidityPeriodStart: time.Now().Add(-time.Hour),
		}},
		nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func (e *env) checkSCT(t *testing.T, chain []*x509.Certificate) {
	t.Helper()
	leaf, err := ctx509.ParseCertificate(chain[0].Raw)
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := ctx509.ParseCertificate(chain[1].Raw)
	scts, err := ctx509util.ParseSCTsFromCertificate(chain[0].Raw)
	if err != nil || len(scts) != 1 {
		t.Fatalf("embedded SCTs: %d, %v", len(scts), err)
	}
	if err := ctutil.VerifySCT(e.log.PublicKey(), []*ctx509.Certificate{leaf, iss}, scts[0], true); err != nil {
		t.Errorf("certificate-transparency-go rejects the embedded SCT: %v", err)
	}
	tr := e.trustedRoot(t)
	chains, err := verify.VerifyLeafCertificate(chain[0].NotBefore, chain[0], tr)
	if err != nil {
		t.Fatalf("sigstore-go rejects the chain: %v", err)
	}
	if err := verify.VerifySignedCertificateTimestamp(chains, 1, tr); err != nil {
		t.Errorf("sigstore-go rejects the SCT: %v", err)
	}
}

func TestSigningCertHappyPath(t *testing.T) {
	e := newEnv(t)
	const email = "alice@example.com"
	for name, key := range genKeys(t) {
		for _, form := range []string{"publicKey", "csr"} {
			for _, transport := range []string{"body", "header"} {
				t.Run(fmt.Sprintf("%s/%s/%s", name, form, transport), func(t *testing.T) {
					tok := e.email.token(t, map[string]any{"sub": "alice-id", "email": email, "email_verified": true})
					bodyTok, header := tok, ""
					if transport == "header" {
						bodyTok, header = "", tok
					}
					var body []byte
					if form == "csr" {
						body = csrBody(t, bodyTok, key)
					} else {
						body = pubKeyBody(t, bodyTok, key.Public(), popSign(t, key, email))
					}
					code, b := e.post(t, body, header)
					if code != 200 {
						t.Fatalf("status %d: %s", code, b)
					}
					chain := parseChainResponse(t, b)
					if !publicKeysEqual(key.Public(), chain[0].PublicKey) {
						t.Errorf("certificate key is not the submitted key")
					}
					if got := chain[0].EmailAddresses; len(got) != 1 || got[0] != email {
						t.Errorf("SAN emails = %v", got)
					}
					e.checkSCT(t, chain)
				})
			}
		}
	}
}

func extValue(c *x509.Certificate, id asn1.ObjectIdentifier) (pkix.Extension, bool) {
	for _, x := range c.Extensions {
		if x.Id.Equal(id) {
			return x, true
		}
	}
	return pkix.Extension{}, false
}

func TestCertificateProfile(t *testing.T) {
	e := newEnv(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok := e.email.token(t, map[string]any{"sub": "alice-id", "email": "alice@example.com", "email_verified": true})
	before := time.Now().Truncate(time.Second)
	code, b := e.post(t, pubKeyBody(t, tok, key.Public(), popSign(t, key, "alice@example.com")), "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	chain := parseChainResponse(t, b)
	leaf, inter, rootCert := chain[0], chain[1], chain[2]

	if !bytes.Equal(inter.Raw, e.ca.Chain()[0].Raw) || !bytes.Equal(rootCert.Raw, e.ca.Root().Raw) {
		t.Errorf("response chain is not [leaf, CA intermediate, CA root]")
	}
	if !bytes.Equal(leaf.RawSubject, []byte{0x30, 0}) {
		t.Errorf("subject = %x, want empty", leaf.RawSubject)
	}
	san, ok := extValue(leaf, oidSAN)
	if !ok || !san.Critical {
		t.Errorf("SAN missing or not critical: %+v", san)
	}
	if len(leaf.EmailAddresses) != 1 || len(leaf.URIs)+len(leaf.DNSNames)+len(leaf.IPAddresses) != 0 {
		t.Errorf("SAN is not exactly one email: %v %v", leaf.EmailAddresses, leaf.URIs)
	}
	if leaf.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage = %v", leaf.KeyUsage)
	}
	if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("ExtKeyUsage = %v", leaf.ExtKeyUsage)
	}
	if leaf.NotBefore.Before(before) || leaf.NotBefore.After(time.Now()) {
		t.Errorf("NotBefore %v not now", leaf.NotBefore)
	}
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d != 10*time.Minute {
		t.Errorf("validity %v, want 10m", d)
	}
	if leaf.SerialNumber.Sign() <= 0 || leaf.SerialNumber.BitLen() > 160 || leaf.SerialNumber.BitLen() < 64 {
		t.Errorf("serial %v not a positive random <=160-bit number", leaf.SerialNumber)
	}
	if !bytes.Equal(leaf.SubjectKeyId, subjectKeyID(key.Public())) || len(leaf.SubjectKeyId) == 0 {
		t.Errorf("SKI = %x", leaf.SubjectKeyId)
	}
	if !bytes.Equal(leaf.AuthorityKeyId, inter.SubjectKeyId) || len(inter.SubjectKeyId) == 0 {
		t.Errorf("AKI %x != intermediate SKI %x", leaf.AuthorityKeyId, inter.SubjectKeyId)
	}
	if leaf.IsCA {
		t.Errorf("leaf is a CA")
	}
	if x, ok := extValue(leaf, oidIssuer); !ok || string(x.Value) != e.email.URL() {
		t.Errorf(".1.1 = %q, want raw issuer", x.Value)
	}
	var s string
	if x, ok := extValue(leaf, oidIssuerV2); !ok {
		t.Errorf(".1.8 missing")
	} else if rest, err := asn1.UnmarshalWithParams(x.Value, &s, "utf8"); err != nil || len(rest) != 0 || s != e.email.URL() || x.Value[0] != 0x0c {
		t.Errorf(".1.8 = %x (%q, %v), want UTF8String issuer", x.Value, s, err)
	}
	if x, ok := extValue(leaf, oidTokenSubject); !ok {
		t.Errorf(".1.24 missing")
	} else if _, err := asn1.UnmarshalWithParams(x.Value, &s, "utf8"); err != nil || s != "alice-id" {
		t.Errorf(".1.24 = %q, %v", s, err)
	}
	if _, ok := extValue(leaf, oidCTPoison); ok {
		t.Errorf("final certificate carries the poison extension")
	}
	if _, ok := extValue(leaf, oidCTSCTList); !ok {
		t.Errorf("no embedded SCT list")
	}
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	ints := x509.NewCertPool()
	ints.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: ints, CurrentTime: leaf.NotBefore,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}); err != nil {
		t.Errorf("crypto/x509 rejects the chain: %v", err)
	}
	// Intermediate profile.
	if !inter.IsCA || !inter.MaxPathLenZero || inter.MaxPathLen != 0 ||
		inter.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign ||
		len(inter.ExtKeyUsage) != 1 || inter.ExtKeyUsage[0] != x509.ExtKeyUsageCodeSigning {
		t.Errorf("intermediate profile: CA=%v pathlen0=%v KU=%v EKU=%v", inter.IsCA, inter.MaxPathLenZero, inter.KeyUsage, inter.ExtKeyUsage)
	}
	// sigstore-go reads the identity the way verifiers apply policy.
	sum, err := certificate.SummarizeCertificate(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SubjectAlternativeName != "alice@example.com" || sum.Issuer != e.email.URL() {
		t.Errorf("sigstore-go summary: SAN %q issuer %q", sum.SubjectAlternativeName, sum.Issuer)
	}
}

func TestWorkflowProfile(t *testing.T) {
	e := newEnv(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	claims := map[string]any{
		"sub":                   "repo:octo/hello:ref:refs/heads/main",
		"job_workflow_ref":      "octo/hello/.github/workflows/release.yml@refs/heads/main",
		"job_workflow_sha":      "1111111111111111111111111111111111111111",
		"sha":                   "2222222222222222222222222222222222222222",
		"event_name":            "push",
		"repository":            "octo/hello",
		"workflow":              "release",
		"ref":                   "refs/heads/main",
		"runner_environment":    "github-hosted",
		"repository_id":         "123",
		"repository_owner":      "octo",
		"repository_owner_id":   "456",
		"repository_visibility": "public",
		"workflow_ref":          "octo/hello/.github/workflows/release.yml@refs/heads/main",
		"workflow_sha":          "3333333333333333333333333333333333333333",
		"run_id":                "789",
		"run_attempt":           "1",
	}
	tok := e.wf.token(t, claims)
	code, b := e.post(t, pubKeyBody(t, tok, key.Public(), popSign(t, key, claims["sub"].(string))), "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	chain := parseChainResponse(t, b)
	leaf := chain[0]
	wantSAN := "https://github.com/octo/hello/.github/workflows/release.yml@refs/heads/main"
	if len(leaf.URIs) != 1 || leaf.URIs[0].String() != wantSAN || len(leaf.EmailAddresses) != 0 {
		t.Errorf("SAN URIs = %v", leaf.URIs)
	}
	raw := map[int]string{2: "push", 3: claims["sha"].(string), 4: "release", 5: "octo/hello", 6: "refs/heads/main"}
	for n, want := range raw {
		if x, ok := extValue(leaf, oid(n)); !ok || string(x.Value) != want {
			t.Errorf(".1.%d = %q, want raw %q", n, x.Value, want)
		}
	}
	u8 := map[int]string{
		9: wantSAN, 10: claims["job_workflow_sha"].(string), 11: "github-hosted",
		12: "https://github.com/octo/hello", 13: claims["sha"].(string), 14: "refs/heads/main",
		15: "123", 16: "https://github.com/octo", 17: "456",
		18: "https://github.com/octo/hello/.github/workflows/release.yml@refs/heads/main",
		19: claims["workflow_sha"].(string), 20: "push",
		21: "https://github.com/octo/hello/actions/runs/789/attempts/1", 22: "public",
		24: claims["sub"].(string),
	}
	for n, want := range u8 {
		var s string
		x, ok := extValue(leaf, oid(n))
		if !ok {
			t.Errorf(".1.%d missing", n)
			continue
		}
		if _, err := asn1.UnmarshalWithParams(x.Value, &s, "utf8"); err != nil || s != want {
			t.Errorf(".1.%d = %q (%v), want UTF8String %q", n, s, err, want)
		}
	}
	if _, ok := extValue(leaf, oid(23)); ok {
		t.Errorf(".1.23 present without an environment claim")
	}
	sum, err := certificate.SummarizeCertificate(leaf)
	if err != nil {
		t.Fatal(err)
	}
	if sum.SourceRepositoryURI != "https://github.com/octo/hello" || sum.BuildTrigger != "push" || sum.RunInvocationURI == "" {
		t.Errorf("sigstore-go reads CI extensions as %+v", sum.Extensions)
	}
	e.checkSCT(t, chain)
}

func TestURIIssuer(t *testing.T) {
	e := newEnv(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok := e.uri.token(t, map[string]any{"sub": "https://example.com/users/bob"})
	code, b := e.post(t, pubKeyBody(t, tok, key.Public(), popSign(t, key, "https://example.com/users/bob")), "")
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	if u := parseChainResponse(t, b)[0].URIs; len(u) != 1 || u[0].String() != "https://example.com/users/bob" {
		t.Errorf("URIs = %v", u)
	}
	tok = e.uri.token(t, map[string]any{"sub": "https://evil.example/users/bob"})
	code, b = e.post(t, pubKeyBody(t, tok, key.Public(), popSign(t, key, "https://evil.example/users/bob")), "")
	if code != 401 || !strings.Contains(string(b), "subject domain") {
		t.Errorf("foreign URI: %d %s", code, b)
	}
}

func TestRejections(t *testing.T) {
	e := newEnv(t)
	const email = "alice@example.com"
	good := map[string]any{"sub": "alice-id", "email": email, "email_verified": true}
	with := func(over map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	tok := e.email.token(t, good)
	stranger := newTestIssuer(t)
	foreignKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	tests := []struct {
		name string
		body []byte
		auth string
		code int
		msg  string
	}{
		{"unknown issuer", pubKeyBody(t, stranger.token(t, good), key.Public(), popSign(t, key, email)), "", 401, "unknown OIDC issuer"},
		{"bad token signature", pubKeyBody(t, e.email.tokenWithKey(t, foreignKey, good), key.Public(), popSign(t, key, email)), "", 401, "bad token signature"},
		{"expired token", pubKeyBody(t, e.email.token(t, with(map[string]any{"exp": time.Now().Add(-time.Minute).Unix(), "iat": time.Now().Add(-time.Hour).Unix()})), key.Public(), popSign(t, key, email)), "", 401, "token expired"},
		{"wrong audience", pubKeyBody(t, e.email.token(t, with(map[string]any{"aud": "someone-else"})), key.Public(), popSign(t, key, email)), "", 401, "wrong token audience"},
		{"unverified email", pubKeyBody(t, e.email.token(t, with(map[string]any{"email_verified": false})), key.Public(), popSign(t, key, email)), "", 401, "not verified"},
		{"missing email_verified", pubKeyBody(t, e.email.token(t, with(map[string]any{"email_verified": nil})), key.Public(), popSign(t, key, email)), "", 401, "not verified"},
		{"no email", pubKeyBody(t, e.email.token(t, with(map[string]any{"email": nil})), key.Public(), popSign(t, key, email)), "", 401, "no email claim"},
		{"email with a control character", pubKeyBody(t, e.email.token(t, with(map[string]any{"email": "alice@example.com\n"})), key.Public(), popSign(t, key, "alice@example.com\n")), "", 400, "must be printable ASCII"},
		{"email beyond ASCII", pubKeyBody(t, e.email.token(t, with(map[string]any{"email": "al\u202eice@example.com"})), key.Public(), popSign(t, key, "al\u202eice@example.com")), "", 400, "must be printable ASCII"},
		{"not a JWT", pubKeyBody(t, "abc", key.Public(), popSign(t, key, email)), "", 401, "malformed token"},
		{"no token", pubKeyBody(t, "", key.Public(), popSign(t, key, email)), "", 401, "no OIDC identity token"},
		{"PoP by another key", pubKeyBody(t, tok, key.Public(), popSign(t, other, email)), "", 400, "proof of possession failed"},
		{"PoP over sub instead of email", pubKeyBody(t, tok, key.Public(), popSign(t, key, "alice-id")), "", 400, "proof of possession failed"},
		{"PoP garbage", pubKeyBody(t, tok, key.Public(), []byte("xx")), "", 400, "proof of possession failed"},
		{"RSA 1024", pubKeyBody(t, tok, rsa1024.Public(), popSign(t, rsa1024, email)), "", 400, "unsupported key: RSA-1024"},
		{"P-224", pubKeyBody(t, tok, p224.Public(), []byte("x")), "", 400, "unsupported key: ECDSA curve P-224"},
		{"RSA 1024 CSR", csrBody(t, tok, rsa1024), "", 400, "unsupported key: RSA-1024"},
		{"malformed JSON", []byte(`{"credentials":`), "", 400, "malformed JSON"},
		{"JSON array", []byte(`[]`), "", 400, "malformed JSON"},
		{"trailing data", []byte(`{} {}`), "", 400, "malformed JSON"},
		{"no key", []byte(`{"credentials":{"oidcIdentityToken":"x"}}`), "", 400, "neither publicKeyRequest nor certificateSigningRequest"},
		{"bad key", []byte(`{"publicKeyRequest":{"publicKey":{"content":"nope"},"proofOfPossession":"AAAA"}}`), "", 400, "not a PEM or DER"},
		{"bad PoP base64", []byte(`{"publicKeyRequest":{"publicKey":{"content":` + mustJSON(pubPEM(t, key.Public())) + `},"proofOfPossession":"!!"}}`), "", 400, "not base64"},
		{"bad CSR", []byte(`{"certificateSigningRequest":"AAAA"}`), "", 400, "not a PKCS#10"},
		{"oversized body", append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), 20<<10)...), "", 413, "exceeds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.post(t, tc.body, tc.auth)
			var resp struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(b, &resp); err != nil {
				t.Fatalf("body is not JSON: %s", b)
			}
			if code != tc.code || resp.Code != tc.code || !strings.Contains(resp.Message, tc.msg) {
				t.Errorf("got %d %+v, want %d with %q", code, resp, tc.code, tc.msg)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBadCSRSignature(t *testing.T) {
	e := newEnv(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	der[len(der)-3] ^= 1 // inside the signature
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	tok := e.email.token(t, map[string]any{"sub": "a", "email": "a@example.com", "email_verified": true})
	body, _ := json.Marshal(map[string]any{"credentials": map[string]any{"oidcIdentityToken": tok}, "certificateSigningRequest": p})
	code, b := e.post(t, body, "")
	if code != 400 || !strings.Contains(string(b), "proof of possession failed") {
		t.Errorf("tampered CSR: %d %s", code, b)
	}
}

func TestDiscoveryRetriedAfterFailure(t *testing.T) {
	e := newEnv(t)
	// The issuer is configured but not serving yet (as when the dev issuer starts after the CA).
	e.email.down.Store(true)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	body := func() []byte {
		tok := e.email.token(t, map[string]any{"sub": "a", "email": "a@example.com", "email_verified": true})
		return pubKeyBody(t, tok, key.Public(), popSign(t, key, "a@example.com"))
	}
	if code, b := e.post(t, body(), ""); code != 503 || !strings.Contains(string(b), "discovery") {
		t.Fatalf("issuer down: %d %s", code, b)
	}
	e.email.down.Store(false)
	if code, b := e.post(t, body(), ""); code != 200 {
		t.Fatalf("after issuer start: %d %s", code, b)
	}
}

func TestRestartReusesKeys(t *testing.T) {
	e := newEnv(t)
	c2, err := New(context.Background(), e.config(e.log))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c2.Root().Raw, e.ca.Root().Raw) || !bytes.Equal(c2.Chain()[0].Raw, e.ca.Chain()[0].Raw) {
		t.Fatal("restart created new CA certificates")
	}
	for _, f := range []string{"root.key", "intermediate.key"} {
		st, err := os.Stat(filepath.Join(e.dir, "ca", f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", f, st.Mode().Perm())
		}
	}
	// A partial key set is refused rather than replaced.
	os.Remove(filepath.Join(e.dir, "ca", "intermediate.pem"))
	if _, err := New(context.Background(), e.config(e.log)); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("partial key set: %v", err)
	}
}

func TestInfoEndpoints(t *testing.T) {
	e := newEnv(t)
	get := func(path string) []byte {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	var tb struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(get("/api/v2/trustBundle"), &tb); err != nil || len(tb.Chains) != 1 || len(tb.Chains[0].Certificates) != 2 {
		t.Fatalf("trustBundle: %+v %v", tb, err)
	}
	if tb.Chains[0].Certificates[1] != pemString(e.ca.Root()) {
		t.Errorf("trustBundle chain does not end at the root")
	}
	var cfg struct {
		Issuers []map[string]string `json:"issuers"`
	}
	if err := json.Unmarshal(get("/api/v2/configuration"), &cfg); err != nil || len(cfg.Issuers) != 3 {
		t.Fatalf("configuration: %+v %v", cfg, err)
	}
	if i := cfg.Issuers[0]; i["issuerUrl"] != e.email.URL() || i["audience"] != "sigstore" || i["challengeClaim"] != "email" || i["issuerType"] != "email" {
		t.Errorf("configuration issuer = %v", i)
	}
	if got := string(get("/api/v1/rootCert")); got != pemString(e.ca.Chain()[0])+pemString(e.ca.Root()) {
		t.Errorf("rootCert = %q", got)
	}
}

func TestDetachedWithoutCT(t *testing.T) {
	e := newEnv(t)
	c, err := New(context.Background(), e.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok := e.email.token(t, map[string]any{"sub": "a", "email": "a@example.com", "email_verified": true})
	resp, err := http.Post(srv.URL+"/api/v2/signingCert", "application/json", bytes.NewReader(pubKeyBody(t, tok, key.Public(), popSign(t, key, "a@example.com"))))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "signedCertificateDetachedSct") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func FuzzParseSigningCertRequest(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.Add(pubKeyBody(f, "a.b.c", key.Public(), []byte("sig")), "")
	f.Add(csrBody(f, "", key), "Bearer a.b.c")
	f.Add([]byte(`{"public_key_request":{"public_key":{"content":"AAAA"},"proof_of_possession":"AA"}}`), "bearer x")
	f.Add([]byte(`{"certificateSigningRequest":"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K"}`), "")
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		checkParsed(t, body, auth, parseSigningCertRequest)
	})
}

// FuzzParseLegacySigningCertRequest is the same for Fulcio's v1 requests.
func FuzzParseLegacySigningCertRequest(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	b, _ := json.Marshal(map[string]any{"publicKey": map[string]any{"content": der, "algorithm": "ecdsa"}, "signedEmailAddress": []byte("sig")})
	f.Add(b, "Bearer a.b.c")
	b, _ = json.Marshal(map[string]any{"certificateSigningRequest": csr})
	f.Add(b, "bearer x")
	f.Add([]byte(`{"public_key":{"content":"AAAA"},"signed_email_address":"AA"}`), "Bearer x")
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		checkParsed(t, body, auth, parseLegacySigningCertRequest)
	})
}

// checkParsed holds a parser to its promises: 4xx errors only, and a
// supported key in whatever it accepts.
func checkParsed(t *testing.T, body []byte, auth string, parse func([]byte, string) (*parsedRequest, error)) {
	req, err := parse(body, auth)
	if err != nil {
		if _, ok := err.(*httpError); !ok {
			t.Fatalf("error %T is not an httpError", err)
		}
		if err.(*httpError).code/100 != 4 {
			t.Fatalf("non-4xx %d", err.(*httpError).code)
		}
		return
	}
	if req.pub == nil {
		t.Fatal("accepted without a key")
	}
	if checkKey(req.pub) != nil {
		t.Fatal("accepted an unsupported key")
	}
	verifyPoP(req.pub, "x", req.pop)
	unverifiedIssuer(req.token)
}

// postV1 sends a request to Fulcio's legacy v1 endpoint, the token in the
// header as v1 clients send it.
func (e *env) postV1(t testing.TB, body any, bearer string) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	return e.postTo(t, "/api/v1/signingCert", b, bearer)
}

// v1Request is sigstore's Fulcio v1 CertificateRequest: encoding/json
// sends its byte slices as standard base64.
type v1Request struct {
	PublicKey struct {
		Content   []byte `json:"content"`
		Algorithm string `json:"algorithm,omitempty"`
	} `json:"publicKey"`
	SignedEmailAddress        []byte `json:"signedEmailAddress"`
	CertificateSigningRequest []byte `json:"certificateSigningRequest"`
}

// TestLegacySigningCert issues through the v1 API as sigstore's gitsign
// asks (a DER key, and a signature over SHA-256 of the token's subject),
// and as a CSR; the answer is 201 with the PEM chain, leaf first, whose
// embedded SCT verifies.
func TestLegacySigningCert(t *testing.T) {
	e := newEnv(t)
	const email = "alice@example.com"
	tok := e.email.token(t, map[string]any{"sub": "alice-id", "email": email, "email_verified": true})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(key.Public())

	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		t.Fatal(err)
	}
	var withKey, withPEMKey, withCSR, withPEMCSR v1Request
	withKey.PublicKey.Content, withKey.PublicKey.Algorithm = der, "ecdsa"
	withKey.SignedEmailAddress = popSign(t, key, email)
	withPEMKey = withKey
	withPEMKey.PublicKey.Content = []byte(pubPEM(t, key.Public()))
	withCSR.CertificateSigningRequest = csrDER
	withPEMCSR.CertificateSigningRequest = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})

	// grpc-gateway also takes unpadded and URL-safe base64, and proto
	// field names.
	pop := popSign(t, key, email)
	rawURL := map[string]any{
		"publicKey":          map[string]any{"content": base64.RawURLEncoding.EncodeToString(der)},
		"signedEmailAddress": base64.RawURLEncoding.EncodeToString(pop),
	}
	snake := map[string]any{
		"public_key":           map[string]any{"content": base64.RawStdEncoding.EncodeToString(der), "algorithm": "ecdsa"},
		"signed_email_address": base64.StdEncoding.EncodeToString(pop),
	}
	snakeCSR := map[string]any{"certificate_signing_request": base64.RawURLEncoding.EncodeToString(csrDER)}

	for name, req := range map[string]any{"der-key": withKey, "pem-key": withPEMKey, "der-csr": withCSR, "pem-csr": withPEMCSR,
		"unpadded-url-safe": rawURL, "proto-names": snake, "proto-name-csr": snakeCSR} {
		t.Run(name, func(t *testing.T) {
			code, h, body := e.postV1(t, req, tok)
			if code != http.StatusCreated {
				t.Fatalf("status %d: %s", code, body)
			}
			if ct := h.Get("Content-Type"); ct != "application/pem-certificate-chain" {
				t.Errorf("Content-Type %q", ct)
			}
			var chain []*x509.Certificate
			for rest := body; ; {
				var blk *pem.Block
				if blk, rest = pem.Decode(rest); blk == nil {
					break
				}
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				chain = append(chain, c)
			}
			if len(chain) != 3 || !chain[2].Equal(e.ca.Root()) {
				t.Fatalf("chain of %d certificates, want leaf, intermediate, root:\n%s", len(chain), body)
			}
			if !publicKeysEqual(key.Public(), chain[0].PublicKey) {
				t.Errorf("certificate key is not the submitted key")
			}
			if got := chain[0].EmailAddresses; len(got) != 1 || got[0] != email {
				t.Errorf("SAN emails = %v", got)
			}
			e.checkSCT(t, chain)
		})
	}

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrongPoP := withKey
	wrongPoP.SignedEmailAddress = popSign(t, other, email)
	noPoP := withKey
	noPoP.SignedEmailAddress = nil
	both := withKey
	both.CertificateSigningRequest = csrDER
	for name, c := range map[string]struct {
		req    any
		bearer string
		code   int
		msg    string
	}{
		"no token":           {withKey, "", 401, ""},
		"proof by other key": {wrongPoP, tok, 400, "proof of possession failed"},
		"no proof":           {noPoP, tok, 400, "signedEmailAddress is empty"},
		"key and csr":        {both, tok, 400, "both"},
		"empty":              {v1Request{}, tok, 400, "neither"},
		"not json":           {"nope", tok, 400, "malformed JSON"},
	} {
		code, _, body := e.postV1(t, c.req, c.bearer)
		if code != c.code || !strings.Contains(string(body), c.msg) {
			t.Errorf("%s: %d %s, want %d containing %q", name, code, body, c.code, c.msg)
		}
	}
}

// TestUsernameIssuer: a username identity is an OtherName SAN as RFC 5280
// and Fulcio encode it, which sigstore's own code and fulcio.Identity read
// back as the identity.
func TestUsernameIssuer(t *testing.T) {
	e := newEnv(t)
	user := newTestIssuer(t)
	cfg := e.config(e.log)
	cfg.Issuers = append(cfg.Issuers, Issuer{URL: user.URL(), Type: TypeUsername, SubjectDomain: "example.com"})
	c, err := New(context.Background(), cfg) // the same keys, so the CT log takes its chains
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok := user.token(t, map[string]any{"sub": "bob"})
	resp, err := http.Post(srv.URL+"/api/v2/signingCert", "application/json", bytes.NewReader(pubKeyBody(t, tok, key.Public(), popSign(t, key, "bob"))))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	leaf := parseChainResponse(t, b)[0]
	if got, err := cryptoutils.UnmarshalOtherNameSAN(leaf.Extensions); err != nil || got != "bob!example.com" {
		t.Errorf("sigstore reads the OtherName SAN as %q, %v", got, err)
	}
	if id, err := fulcio.Identity(leaf); err != nil || id.SAN != "bob!example.com" {
		t.Errorf("fulcio.Identity: %+v, %v", id, err)
	}
}
