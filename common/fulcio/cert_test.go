package fulcio

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/internal/testca"
)

// TestIdentityOneSAN: a certificate names one identity, email, URI or
// OtherName; one that names two (which verifiers could read differently)
// is refused, whatever their kinds.
func TestIdentityOneSAN(t *testing.T) {
	ca := testca.New(t)
	issuer, _ := asn1.MarshalWithParams("https://issuer.test", "utf8")
	wf, _ := url.Parse("https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main")
	leaf := func(emails []string, uris []*url.URL, dns []string) *x509.Certificate {
		key := testca.Key(t)
		return testca.Cert(t, &x509.Certificate{
			SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Minute),
			EmailAddresses: emails, URIs: uris, DNSNames: dns,
			ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}},
		}, ca.Intermediate, key.Public(), ca.Key())
	}
	for name, c := range map[string]struct {
		cert    *x509.Certificate
		san     string
		wantErr string
	}{
		"email":      {leaf([]string{"alice@example.com"}, nil, nil), "alice@example.com", ""},
		"uri":        {leaf(nil, []*url.URL{wf}, nil), wf.String(), ""},
		"email+uri":  {leaf([]string{"alice@example.com"}, []*url.URL{wf}, nil), "", "names 2 subject alternative names"},
		"two emails": {leaf([]string{"alice@example.com", "mallory@example.com"}, nil, nil), "", "names 2 subject alternative names"},
		"email+dns":  {leaf([]string{"alice@example.com"}, nil, []string{"example.com"}), "", "names 2 subject alternative names"},
		"dns only":   {leaf(nil, nil, []string{"example.com"}), "", "no URI, email or OtherName SAN"},
	} {
		id, err := Identity(c.cert)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.wantErr == "" && id.SAN != c.san:
			t.Errorf("%s: SAN %q, want %q", name, id.SAN, c.san)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: %v, want an error containing %q", name, err, c.wantErr)
		}
	}
}
