package ca

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/fulcio"
	"github.com/waxseal/waxseal/common/fulcio/fulcioclient"
)

// TestFulcioClient drives the CA with the project's own client over loopback HTTP, then
// reads the certificate back with the client-side verifier helpers.
func TestFulcioClient(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := &fulcioclient.Client{BaseURL: e.srv.URL, HTTPClient: e.srv.Client()}
	logs := map[[32]byte]crypto.PublicKey{e.log.LogID(): e.log.PublicKey()}
	for name, key := range genKeys(t) {
		t.Run(name, func(t *testing.T) {
			tok := e.email.token(t, map[string]any{"sub": "alice-id", "email": "alice@example.com", "email_verified": true})
			pop, err := fulcioclient.ProofOfPossession(key, "alice@example.com")
			if err != nil {
				t.Fatal(err)
			}
			chain, err := c.SigningCert(ctx, tok, key.Public(), pop)
			if err != nil {
				t.Fatal(err)
			}
			id, err := fulcio.Identity(chain[0])
			if err != nil {
				t.Fatal(err)
			}
			if id.SAN != "alice@example.com" || id.Issuer != e.email.URL() || id.Subject != "alice-id" {
				t.Errorf("identity = %+v", id)
			}
			if err := fulcio.VerifyEmbeddedSCTs(chain[0], chain[1], logs, time.Now()); err != nil {
				t.Errorf("VerifyEmbeddedSCTs: %v", err)
			}
			csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
			if _, err := c.SigningCertCSR(ctx, tok, csr); err != nil {
				t.Errorf("CSR: %v", err)
			}
		})
	}

	// Identity of a workflow certificate.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	claims := map[string]any{"sub": "repo:o/r:ref:refs/heads/main", "job_workflow_ref": "o/r/.github/workflows/w.yml@refs/heads/main",
		"sha": "abc", "event_name": "push", "repository": "o/r", "workflow": "w", "ref": "refs/heads/main"}
	pop, _ := fulcioclient.ProofOfPossession(key, claims["sub"].(string))
	chain, err := c.SigningCert(ctx, e.wf.token(t, claims), key.Public(), pop)
	if err != nil {
		t.Fatal(err)
	}
	id, err := fulcio.Identity(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if id.SAN != "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main" ||
		id.Extensions["SourceRepositoryURI"] != "https://github.com/o/r" || id.Extensions["GithubWorkflowRepository"] != "o/r" ||
		id.Extensions["BuildTrigger"] != "push" {
		t.Errorf("workflow identity = %+v", id)
	}

	// SCT failures are distinguishable.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := fulcio.VerifyEmbeddedSCTs(chain[0], chain[1], map[[32]byte]crypto.PublicKey{{1}: other.Public()}, time.Now()); !errors.Is(err, fulcio.ErrUnknownCTLog) {
		t.Errorf("unknown log: %v", err)
	}
	if err := fulcio.VerifyEmbeddedSCTs(chain[0], chain[1], map[[32]byte]crypto.PublicKey{e.log.LogID(): other.Public()}, time.Now()); !errors.Is(err, fulcio.ErrBadSCT) {
		t.Errorf("wrong key: %v", err)
	}
	if err := fulcio.VerifyEmbeddedSCTs(chain[1], chain[2], logs, time.Now()); !errors.Is(err, fulcio.ErrNoSCT) {
		t.Errorf("no SCT: %v", err)
	}

	// Server errors are surfaced with the server's message.
	_, err = c.SigningCert(ctx, e.email.token(t, map[string]any{"sub": "a", "email": "a@example.com", "email_verified": false}), key.Public(), pop)
	var fe *fulcioclient.Error
	if !errors.As(err, &fe) || fe.StatusCode != 401 || !strings.Contains(fe.Message, "not verified") {
		t.Errorf("error = %v", err)
	}
	bundle, err := c.TrustBundle(ctx)
	if err != nil || len(bundle) != 1 || !bundle[0][1].Equal(e.ca.Root()) {
		t.Errorf("TrustBundle = %v, %v", bundle, err)
	}
}
