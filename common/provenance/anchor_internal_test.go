package provenance

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/testca"
)

// diffCA is a CA chain [I0, (I1,) root] and the keys that made it.
type diffCA struct {
	chain []*x509.Certificate
	keys  []crypto.Signer // keys[i] is chain[i]'s
}

func mkDiffCA(t *testing.T, now time.Time, inters int, edit func(level int, c *x509.Certificate)) *diffCA {
	n := inters + 1
	keys := make([]crypto.Signer, n)
	certs := make([]*x509.Certificate, n)
	for i := range keys {
		keys[i] = testca.Key(t)
	}
	for i := n - 1; i >= 0; i-- { // root first
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(100 + i)), Subject: pkix.Name{CommonName: fmt.Sprintf("diff CA level %d", i)},
			NotBefore: now.Add(-3 * time.Hour), NotAfter: now.Add(3 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLen: -1,
		}
		if edit != nil {
			edit(i, tmpl)
		}
		if i == n-1 {
			certs[i] = testca.Cert(t, tmpl, nil, keys[i].Public(), keys[i])
		} else {
			certs[i] = testca.Cert(t, tmpl, certs[i+1], keys[i].Public(), keys[i+1])
		}
	}
	return &diffCA{chain: certs, keys: keys}
}

var diffPolicy1, _ = x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 57264, 1})
var diffPolicy2, _ = x509.OIDFromInts([]uint64{1, 3, 6, 1, 4, 1, 57264, 2})

func (ca *diffCA) leaf(t *testing.T, now time.Time, serial int64, edit func(c *x509.Certificate) crypto.PublicKey) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		EmailAddresses: []string{"alice@example.com"},
	}
	var pub crypto.PublicKey = testca.Key(t).Public()
	if edit != nil {
		if p := edit(tmpl); p != nil {
			pub = p
		}
	}
	return testca.Cert(t, tmpl, ca.chain[0], pub, ca.keys[0])
}

func rawsOf(c []*x509.Certificate) [][]byte {
	var r [][]byte
	for _, x := range c {
		r = append(r, x.Raw)
	}
	return r
}

// TestAnchoredMatchesWhole compares, on fresh caches, the verdict and chain
// of a whole verification with those of an anchored one (after another
// leaf made the anchor), for many CA and leaf shapes: chains of two and
// three certificates with name constraints at each level, nested and "any"
// key usages, path lengths, policies; leaves with each kind of name,
// without one, as CAs, with policy constraints, unknown critical
// extensions, the wrong usage, expired, and repeating a certificate above
// the issuing one. Where the verdicts or chains differ, anchoring decided
// differently from crypto/x509, which anchorable must prevent.
func TestAnchoredMatchesWhole(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	reqExplicit0 := pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 36}, Value: []byte{0x30, 0x03, 0x80, 0x01, 0x00}}
	unknownCrit := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 77}, Critical: true, Value: []byte{0x05, 0x00}}
	type caShape struct {
		name   string
		inters int
		edit   func(level int, c *x509.Certificate)
	}
	cas := []caShape{
		{"plain/2", 1, nil},
		{"plain/3", 2, nil},
		{"I0 NC email", 1, func(l int, c *x509.Certificate) {
			if l == 0 {
				c.PermittedEmailAddresses = []string{"example.com"}
				c.PermittedDNSDomains = []string{"example.com"}
			}
		}},
		{"I0 NC excl/3", 2, func(l int, c *x509.Certificate) {
			if l == 0 {
				c.ExcludedEmailAddresses = []string{"evil.test"}
				c.ExcludedURIDomains = []string{".evil.test"}
			}
		}},
		{"I1 NC", 2, func(l int, c *x509.Certificate) {
			if l == 1 {
				c.PermittedEmailAddresses = []string{"example.com"}
			}
		}},
		{"root NC", 1, func(l int, c *x509.Certificate) {
			if l == 1 {
				c.PermittedEmailAddresses = []string{"example.com"}
			}
		}},
		{"EKU nested codesigning", 2, func(l int, c *x509.Certificate) {
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, x509.ExtKeyUsageServerAuth}
		}},
		{"I0 EKU any, I1 codesigning", 2, func(l int, c *x509.Certificate) {
			if l == 0 {
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
			} else {
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
			}
		}},
		{"pathlen I0=0 I1=1", 2, func(l int, c *x509.Certificate) {
			if l == 0 {
				c.MaxPathLen, c.MaxPathLenZero = 0, true
			} else if l == 1 {
				c.MaxPathLen = 1
			}
		}},
		{"pathlen root=1/3", 2, func(l int, c *x509.Certificate) {
			if l == 2 {
				c.MaxPathLen = 1
			}
		}},
		{"policies no constraints", 2, func(l int, c *x509.Certificate) {
			c.Policies = []x509.OID{diffPolicy1}
		}},
		{"I0 codesigning EKU", 1, func(l int, c *x509.Certificate) {
			if l == 0 {
				c.KeyUsage |= x509.KeyUsageDigitalSignature
				c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
			}
		}},
	}
	type leafShape struct {
		name string
		edit func(ca *diffCA) func(c *x509.Certificate) crypto.PublicKey
	}
	none := func(f func(c *x509.Certificate)) func(ca *diffCA) func(c *x509.Certificate) crypto.PublicKey {
		return func(*diffCA) func(c *x509.Certificate) crypto.PublicKey {
			return func(c *x509.Certificate) crypto.PublicKey { f(c); return nil }
		}
	}
	twin := func(level int) func(ca *diffCA) func(c *x509.Certificate) crypto.PublicKey {
		return func(ca *diffCA) func(c *x509.Certificate) crypto.PublicKey {
			return func(c *x509.Certificate) crypto.PublicKey {
				if level >= len(ca.chain) {
					return nil
				}
				up := ca.chain[level]
				c.Subject = up.Subject
				c.EmailAddresses = nil
				return up.PublicKey
			}
		}
	}
	leaves := []leafShape{
		{"normal", none(func(*x509.Certificate) {})},
		{"eve email", none(func(c *x509.Certificate) { c.EmailAddresses = []string{"eve@evil.test"} })},
		{"dns", none(func(c *x509.Certificate) { c.EmailAddresses = nil; c.DNSNames = []string{"evil.test"} })},
		{"uri", none(func(c *x509.Certificate) {
			u, _ := url.Parse("https://x.evil.test/a")
			c.EmailAddresses = nil
			c.URIs = []*url.URL{u}
		})},
		{"ip", none(func(c *x509.Certificate) { c.EmailAddresses = nil; c.IPAddresses = []net.IP{net.IPv4(10, 0, 0, 1)} })},
		{"no SAN", none(func(c *x509.Certificate) { c.EmailAddresses = nil })},
		{"CA leaf pathlen0", none(func(c *x509.Certificate) {
			c.BasicConstraintsValid, c.IsCA, c.MaxPathLen, c.MaxPathLenZero = true, true, 0, true
		})},
		{"policy+reqExplicit0", none(func(c *x509.Certificate) {
			c.Policies = []x509.OID{diffPolicy2}
			c.ExtraExtensions = append(c.ExtraExtensions, reqExplicit0)
		})},
		{"unknown critical", none(func(c *x509.Certificate) { c.ExtraExtensions = append(c.ExtraExtensions, unknownCrit) })},
		{"eku server", none(func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth} })},
		{"expired", none(func(c *x509.Certificate) { c.NotAfter = now.Add(-time.Minute) })},
		{"twin of I1/root (level 1)", twin(1)},
		{"twin of level 2", twin(2)},
	}
	for _, cs := range cas {
		for _, ls := range leaves {
			t.Run(cs.name+"/"+ls.name, func(t *testing.T) {
				ca := mkDiffCA(t, now, cs.inters, cs.edit)
				tca := trust.CA{URI: "https://diff.test", Chain: ca.chain}
				cert := ca.leaf(t, now, 7, ls.edit(ca))

				whole := &chainCache{m: map[[64]byte][]*x509.Certificate{}, anchors: map[[32]byte]*x509.CertPool{}}
				wChain, wErr := whole.verify(cert, tca, now)

				anch := &chainCache{m: map[[64]byte][]*x509.Certificate{}, anchors: map[[32]byte]*x509.CertPool{}}
				if _, err := anch.verify(ca.leaf(t, now, 8, nil), tca, now); err != nil || len(anch.anchors) == 0 {
					t.Skipf("no anchor (%v)", err)
				}
				full := anch.full
				aChain, aErr := anch.verify(cert, tca, now)
				mode := "anchored"
				if anch.full != full {
					mode = "whole"
				}
				if (wErr == nil) != (aErr == nil) {
					t.Errorf("verdicts differ: whole: %v; second leaf (%s): %v", wErr, mode, aErr)
				} else if wErr == nil && !equalRaws(rawsOf(wChain), rawsOf(aChain)) {
					t.Errorf("chains differ (%s): whole %d certs, second %d", mode, len(wChain), len(aChain))
				}
				t.Logf("%s: whole=%v second=%v", mode, wErr == nil, aErr == nil)
			})
		}
	}
}

func equalRaws(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
