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

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/waxseal/waxseal/internal/testca"
)

// TestIdentityOneSAN: a certificate names one identity, email, URI or
// OtherName; one that names two (which verifiers could read differently)
// is refused, whatever their kinds.
func TestIdentityOneSAN(t *testing.T) {
	ca := testca.New(t)
	issuer, _ := asn1.MarshalWithParams("https://issuer.test", "utf8")
	wf, _ := url.Parse("https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main")
	leafWith := func(emails []string, uris []*url.URL, dns []string, extra ...pkix.Extension) *x509.Certificate {
		key := testca.Key(t)
		return testca.Cert(t, &x509.Certificate{
			SerialNumber: big.NewInt(7), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Minute),
			EmailAddresses: emails, URIs: uris, DNSNames: dns,
			ExtraExtensions: append([]pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}, Value: issuer}}, extra...),
		}, ca.Intermediate, key.Public(), ca.Key())
	}
	leaf := func(emails []string, uris []*url.URL, dns []string) *x509.Certificate {
		return leafWith(emails, uris, dns)
	}
	// A SAN extension of OtherNames (Fulcio's username identities), which
	// crypto/x509 cannot write, encoded as sigstore's own code encodes one.
	otherNames := func(values ...string) pkix.Extension {
		var names []asn1.RawValue
		for _, v := range values {
			ext, err := cryptoutils.MarshalOtherNameSAN(v, true)
			if err != nil {
				t.Fatal(err)
			}
			var one []asn1.RawValue
			if _, err := asn1.Unmarshal(ext.Value, &one); err != nil {
				t.Fatal(err)
			}
			names = append(names, one...)
		}
		v, err := asn1.Marshal(names)
		if err != nil {
			t.Fatal(err)
		}
		return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Critical: true, Value: v}
	}
	for name, c := range map[string]struct {
		cert    *x509.Certificate
		san     string
		wantErr string
	}{
		"email":          {leaf([]string{"alice@example.com"}, nil, nil), "alice@example.com", ""},
		"uri":            {leaf(nil, []*url.URL{wf}, nil), wf.String(), ""},
		"email+uri":      {leaf([]string{"alice@example.com"}, []*url.URL{wf}, nil), "", "names 2 subject alternative names"},
		"two emails":     {leaf([]string{"alice@example.com", "mallory@example.com"}, nil, nil), "", "names 2 subject alternative names"},
		"email+dns":      {leaf([]string{"alice@example.com"}, nil, []string{"example.com"}), "", "names 2 subject alternative names"},
		"dns only":       {leaf(nil, nil, []string{"example.com"}), "", "no URI, email or OtherName SAN"},
		"othername":      {leafWith(nil, nil, nil, otherNames("alice!example.com")), "alice!example.com", ""},
		"two othernames": {leafWith(nil, nil, nil, otherNames("alice!example.com", "mallory!example.com")), "", "names 2 subject alternative names"},
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
