package ca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/waxseal/waxseal/internal/atomicfile"
)

type keys struct {
	root, inter *x509.Certificate
	interKey    crypto.Signer
}

var keyFiles = []string{"root.key", "root.pem", "intermediate.key", "intermediate.pem"}

func loadOrCreateKeys(dir, org string, now time.Time) (*keys, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	present := 0
	for _, f := range keyFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			present++
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	switch present {
	case 0:
		return createKeys(dir, org, now)
	case len(keyFiles):
		return loadKeys(dir)
	default:
		return nil, fmt.Errorf("%s holds only some of %v; refusing to replace a CA", dir, keyFiles)
	}
}

func loadKeys(dir string) (*keys, error) {
	root, err := readCert(filepath.Join(dir, "root.pem"))
	if err != nil {
		return nil, err
	}
	inter, err := readCert(filepath.Join(dir, "intermediate.pem"))
	if err != nil {
		return nil, err
	}
	ik, err := readKey(filepath.Join(dir, "intermediate.key"))
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(ik.Public(), inter.PublicKey) {
		return nil, errors.New("intermediate.key does not match intermediate.pem")
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("intermediate.pem is not issued by root.pem: %w", err)
	}
	return &keys{root: root, inter: inter, interKey: ik}, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return x509.ParseCertificate(blk.Bytes)
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: %T is not a signer", path, k)
	}
	return s, nil
}

// createKeys makes the root and intermediate keys on P-256, like the
// signers' keys, the logs' keys and the CT log's: the chain is no stronger
// than its ephemeral leaf key, and a P-384 chain would make every cold
// verifier process (git runs gitsign once per commit) build P-384's
// generator table and do two P-384 scalar multiplications, about 2 ms of
// its ~5 ms. Public-good Fulcio's P-384 chains verify all the same.
func createKeys(dir, org string, now time.Time) (*keys, error) {
	rk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ik, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	notBefore := now.Add(-5 * time.Minute).UTC()
	rootTmpl := &x509.Certificate{
		SerialNumber:          mustSerial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " root"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SubjectKeyId:          subjectKeyID(rk.Public()),
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rk.Public(), rk)
	if err != nil {
		return nil, fmt.Errorf("create root: %w", err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		return nil, err
	}
	interTmpl := &x509.Certificate{
		SerialNumber:          mustSerial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " intermediate"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          subjectKeyID(ik.Public()),
	}
	interDER, err := x509.CreateCertificate(rand.Reader, interTmpl, root, ik.Public(), rk)
	if err != nil {
		return nil, fmt.Errorf("create intermediate: %w", err)
	}
	inter, err := x509.ParseCertificate(interDER)
	if err != nil {
		return nil, err
	}
	// Keys first, certificates last: a crash in between leaves a partial set, which the next
	// start refuses rather than half-reusing.
	for _, f := range []struct {
		name string
		blk  func() (*pem.Block, error)
		mode fs.FileMode
	}{
		{"root.key", func() (*pem.Block, error) { return pkcs8Block(rk) }, 0o600},
		{"intermediate.key", func() (*pem.Block, error) { return pkcs8Block(ik) }, 0o600},
		{"root.pem", func() (*pem.Block, error) { return &pem.Block{Type: "CERTIFICATE", Bytes: rootDER}, nil }, 0o644},
		{"intermediate.pem", func() (*pem.Block, error) { return &pem.Block{Type: "CERTIFICATE", Bytes: interDER}, nil }, 0o644},
	} {
		blk, err := f.blk()
		if err != nil {
			return nil, err
		}
		if err := atomicfile.Write(filepath.Join(dir, f.name), pem.EncodeToMemory(blk), f.mode); err != nil {
			return nil, err
		}
	}
	return &keys{root: root, inter: inter, interKey: ik}, nil
}

func pkcs8Block(k crypto.PrivateKey) (*pem.Block, error) {
	b, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: b}, nil
}

// newSerial returns a random positive serial of at most 160 bits (RFC 5280 caps serials
// at 20 octets; clearing the top bit keeps the DER INTEGER positive within 20 octets).
func newSerial() (*big.Int, error) {
	var b [20]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		b[0] &= 0x7f
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}

func mustSerial() *big.Int {
	n, err := newSerial()
	if err != nil {
		panic(err)
	}
	return n
}

// subjectKeyID is RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING, as Fulcio
// computes it.
func subjectKeyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &spki); err != nil {
		return nil
	}
	h := sha1.Sum(spki.PublicKey.Bytes)
	return h[:]
}
