package tlog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"testing"
	"time"
)

// keylessEntries returns n hashedrekord entries signed by one keyless-style
// certificate, as a signing burst sends them.
func keylessEntries(tb testing.TB, n int) [][]byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(10 * time.Minute),
		EmailAddresses: []string{"bench@example.com"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out := make([][]byte, n)
	for i := range out {
		dg := sha256.Sum256(fmt.Appendf(nil, "artifact %d", i))
		sig, _ := ecdsa.SignASN1(rand.Reader, key, dg[:])
		if out[i], err = NewHashedRekord("sha256", dg[:], sig, certPEM); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

func BenchmarkCanonicalizeKeyless(b *testing.B) {
	entries := keylessEntries(b, 64)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := Canonicalize(entries[i%len(entries)]); err != nil {
			b.Fatal(err)
		}
	}
}

func hashedRekordFields(apiVersion, kind, alg, value string, sig, key []byte) *hashedRekordJSON {
	var h hashedRekordJSON
	h.APIVersion, h.Kind = apiVersion, kind
	h.Spec.Data.Hash = &hashValue{Algorithm: alg, Value: value}
	h.Spec.Signature.Content = sig
	h.Spec.Signature.PublicKey.Content = key
	return &h
}

// checkHashedRekordBody compares the direct writer with the generic JCS
// path; it returns whether the direct writer took the input.
func checkHashedRekordBody(t *testing.T, h *hashedRekordJSON) bool {
	t.Helper()
	fast, ok := hashedRekordBody(h)
	if !ok {
		return false
	}
	slow, err := jcs(h)
	if err != nil {
		t.Fatalf("jcs: %v", err)
	}
	if string(fast) != string(slow) {
		t.Fatalf("direct %s\njcs    %s", fast, slow)
	}
	return true
}

func TestHashedRekordBodyIsJCS(t *testing.T) {
	for i, p := range keylessEntries(t, 4) {
		e, err := Canonicalize(p)
		if err != nil {
			t.Fatal(err)
		}
		h := hashedRekordFields(APIVersion, KindHashedRekord, e.HashAlgorithm, fmt.Sprintf("%x", e.Digest), e.Signature, e.PublicKey)
		if !checkHashedRekordBody(t, h) {
			t.Fatalf("entry %d: direct writer refused a real entry", i)
		}
		slow, _ := jcs(h)
		if string(e.Body) != string(slow) {
			t.Fatalf("entry %d: Canonicalize body differs from JCS", i)
		}
	}
	for _, h := range []*hashedRekordJSON{
		hashedRekordFields("0.0.1", "hashedrekord", "sha512", "ab", []byte{0xff, 0xfe, 0xfd}, []byte("k")),
		hashedRekordFields("", "", "", "", []byte{0}, []byte{0}),
		hashedRekordFields("a<b>&c", "~!#$%'()*+,-./:;=?@[]^_`{|}", " ", "\x7e", []byte{1, 2}, []byte{3}),
	} {
		if !checkHashedRekordBody(t, h) {
			t.Errorf("direct writer refused %+v", h)
		}
	}
	for _, h := range []*hashedRekordJSON{
		hashedRekordFields("0.0.1", "hashed\"rekord", "sha256", "00", []byte{1}, []byte{1}),
		hashedRekordFields("0.0.1", "hashedrekord", "sha\\256", "00", []byte{1}, []byte{1}),
		hashedRekordFields("0.0.1", "hashedrekord", "sha256", "\x00", []byte{1}, []byte{1}),
		hashedRekordFields("0.0.1", "hashedrekord", "sha256", "é", []byte{1}, []byte{1}),
		hashedRekordFields("0.0.1", "hashedrekord", "sha256", "00", nil, []byte{1}),
		hashedRekordFields("0.0.1", "hashedrekord", "sha256", "00", []byte{1}, nil),
	} {
		if _, ok := hashedRekordBody(h); ok {
			t.Errorf("direct writer took %+v, which needs the generic path", h)
		}
	}
}

func FuzzHashedRekordBody(f *testing.F) {
	f.Add("0.0.1", "hashedrekord", "sha256", "00ff", []byte{1, 2, 3}, []byte("-----BEGIN CERTIFICATE-----\n"))
	f.Add("a\"b", "<&>", "\x7f", "\u2028", []byte{}, []byte{0})
	f.Fuzz(func(t *testing.T, apiVersion, kind, alg, value string, sig, key []byte) {
		h := hashedRekordFields(apiVersion, kind, alg, value, sig, key)
		checkHashedRekordBody(t, h)
		// Whatever the writer takes, the generic canonicalizer must agree
		// with; what it refuses goes the generic way in Canonicalize.
	})
}

// TestKeyCache checks that entries canonicalized through a cache hit are
// the same as through a fresh parse, and that callers cannot reach into the
// cache through the entry.
func TestKeyCache(t *testing.T) {
	entries := keylessEntries(t, 3)
	keyCache = newKeyCache(keyCacheSize)
	first, err := Canonicalize(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	want := string(first.PublicKey)
	for i := range first.PublicKey {
		first.PublicKey[i] = 'x'
	}
	first.IndexKeys[0] = "mutated"
	for _, p := range entries {
		hit, err := Canonicalize(p)
		if err != nil {
			t.Fatal(err)
		}
		keyCache = newKeyCache(keyCacheSize)
		miss, err := Canonicalize(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(hit.Body) != string(miss.Body) || string(hit.PublicKey) != want ||
			fmt.Sprint(hit.IndexKeys) != fmt.Sprint(miss.IndexKeys) {
			t.Fatalf("cache hit %+v\nfresh parse %+v", hit, miss)
		}
	}
	// Bounded: the oldest key goes first.
	c := newKeyCache(2)
	for _, k := range []string{"a", "b", "a", "c"} {
		c.put([]byte(k), &parsedKey{})
	}
	if _, ok := c.get([]byte("b")); ok {
		t.Error("b should have been evicted")
	}
	if _, ok := c.get([]byte("a")); !ok {
		t.Error("a was evicted")
	}
}
