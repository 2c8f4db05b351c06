// Package testca is a certificate authority for tests: real P-256 keys, a
// root and an intermediate, and leaves shaped as Fulcio issues them (an
// email SAN and the OIDC issuer extension), so that tests can make
// certificates the embedded stack would not.
package testca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// Issuer is the OIDC issuer the leaves name.
const Issuer = "https://issuer.test"

// CA is a root and the intermediate that issues leaves.
type CA struct {
	Root, Intermediate *x509.Certificate
	key                crypto.Signer // the intermediate's
}

// New makes a CA valid from an hour ago to an hour from now.
func New(t testing.TB) *CA {
	t.Helper()
	now := time.Now()
	rootKey, interKey := Key(t), Key(t)
	root := Cert(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"test"}, CommonName: "test root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}, nil, rootKey.Public(), rootKey)
	inter := Cert(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"test"}, CommonName: "test intermediate"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}, root, interKey.Public(), rootKey)
	return &CA{Root: root, Intermediate: inter, key: interKey}
}

// Chain is the CA's chain as a trusted root lists it: issuing certificate
// first, trust anchor last.
func (ca *CA) Chain() []*x509.Certificate { return []*x509.Certificate{ca.Intermediate, ca.Root} }

// Issue issues a ten-minute leaf for email from [Issuer], with the given
// extended key usages and no SCT, and returns it with its key.
func (ca *CA) Issue(t testing.TB, email string, eku ...x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	issuer, err := asn1.MarshalWithParams(Issuer, "utf8")
	if err != nil {
		t.Fatal(err)
	}
	key := Key(t)
	now := time.Now().Truncate(time.Second)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	leaf := Cert(t, &x509.Certificate{
		SerialNumber: serial, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(10 * time.Minute),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: eku,
		EmailAddresses:  []string{email},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}},
	}, ca.Intermediate, key.Public(), ca.key)
	return leaf, key
}

// Key is the intermediate's key, for tests that issue leaves of their own
// shape with [Cert].
func (ca *CA) Key() crypto.Signer { return ca.key }

// Key is a new P-256 key.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Cert creates and parses a certificate; a nil parent self-signs.
func Cert(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
