package trustfetch

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/trust"
)

func TestFetch(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	root, err := trust.NewRoot(trust.RootSpec{CAChain: []*x509.Certificate{ca}, TLogs: []trust.LogSpec{{BaseURL: "http://log", Key: k.Public()}}, Start: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := trust.NewSigningConfig(trust.SigningConfigSpec{CAURL: "http://ca", RekorURL: "http://log", Start: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var broken atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == trust.TrustedRootPath && broken.Load():
			w.Write([]byte(`{"mediaType": "something else"}`))
		case r.URL.Path == trust.TrustedRootPath:
			w.Write(root)
		case r.URL.Path == trust.SigningConfigPath:
			w.Write(sc)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	gotRoot, gotSC, err := Fetch(t.Context(), nil, srv.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	if trust.Fingerprint(gotRoot) != trust.Fingerprint(root) || string(gotSC) != string(sc) {
		t.Error("fetched documents differ from what was served")
	}
	for _, bad := range []string{"ftp://x", "not a url", srv.URL + "/nothing-here"} {
		if _, _, err := Fetch(t.Context(), nil, bad); err == nil {
			t.Errorf("Fetch(%q) succeeded", bad)
		}
	}
	broken.Store(true)
	if _, _, err := Fetch(t.Context(), nil, srv.URL); err == nil {
		t.Error("a trusted root that does not parse was fetched")
	}
}

func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"http://user:secret@127.0.0.1:8080/": "http://user:xxxxx@127.0.0.1:8080/",
		"http://127.0.0.1:8080":              "http://127.0.0.1:8080",
		"http://user@host":                   "http://user@host",
		"::not a url":                        "::not a url",
	} {
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}
