package ctlog

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ct "github.com/google/certificate-transparency-go"
	"github.com/google/certificate-transparency-go/client"
	"github.com/google/certificate-transparency-go/ctutil"
	"github.com/google/certificate-transparency-go/jsonclient"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"golang.org/x/mod/sumdb/note"
)

type testCA struct {
	root, inter       *x509.Certificate
	rootKey, interKey crypto.Signer
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	rk, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ik, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	now := time.Now()
	rt := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	rder, err := x509.CreateCertificate(rand.Reader, rt, rt, rk.Public(), rk)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := x509.ParseCertificate(rder)
	it := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "inter"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign}
	ider, err := x509.CreateCertificate(rand.Reader, it, root, ik.Public(), rk)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(ider)
	return &testCA{root, inter, rk, ik}
}

func (c *testCA) precert(t *testing.T, poison bool) []byte {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore: time.Now(), NotAfter: time.Now().Add(10 * time.Minute),
		EmailAddresses: []string{"a@example.com"}}
	if poison {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: []byte{5, 0}}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.inter, k.Public(), c.interKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func openLog(t *testing.T, dir string, roots ...*x509.Certificate) (*Log, crypto.Signer) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	l, err := Open(context.Background(), Config{Dir: dir, Signer: k, Roots: roots, CheckpointInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return l, k
}

func TestAddPreChainSCTVerifies(t *testing.T) {
	ca := newTestCA(t)
	l, _ := openLog(t, t.TempDir(), ca.root)
	defer l.Close()
	for i := range 3 {
		pre := ca.precert(t, true)
		sct, err := l.AddPreChain(context.Background(), [][]byte{pre, ca.inter.Raw, ca.root.Raw})
		if err != nil {
			t.Fatal(err)
		}
		if sct.LogID.KeyID != l.LogID() {
			t.Errorf("log ID mismatch")
		}
		if want := string(leafIndexExtension(uint64(i))); string(sct.Extensions) != want {
			t.Errorf("extensions = %x, want leaf_index %d", sct.Extensions, i)
		}
		p, _ := ctx509.ParseCertificate(pre)
		iss, _ := ctx509.ParseCertificate(ca.inter.Raw)
		if err := ctutil.VerifySCT(l.PublicKey(), []*ctx509.Certificate{p, iss}, sct, false); err != nil {
			t.Fatalf("ct-go rejects SCT: %v", err)
		}
	}
}

func TestAddPreChainRejects(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	l, _ := openLog(t, t.TempDir(), ca.root)
	defer l.Close()
	for name, chain := range map[string][][]byte{
		"empty":        nil,
		"no issuer":    {ca.precert(t, true)},
		"no poison":    {ca.precert(t, false), ca.inter.Raw},
		"garbage":      {[]byte("nope"), ca.inter.Raw},
		"wrong issuer": {ca.precert(t, true), other.inter.Raw},
		"wrong root":   {other.precert(t, true), other.inter.Raw, other.root.Raw},
	} {
		if _, err := l.AddPreChain(context.Background(), chain); err == nil {
			t.Errorf("%s: accepted", name)
		} else if _, ok := err.(*ChainError); !ok {
			t.Errorf("%s: error %T %v is not a ChainError", name, err, err)
		}
	}
}

func TestHTTPAndCheckpoint(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	l, key := openLog(t, dir, ca.root)
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()
	lc, err := client.New(srv.URL, srv.Client(), jsonclient.Options{PublicKeyDER: mustSPKI(t, key.Public())})
	if err != nil {
		t.Fatal(err)
	}
	pre := ca.precert(t, true)
	sct, err := lc.AddPreChain(context.Background(), []ct.ASN1Cert{{Data: pre}, {Data: ca.inter.Raw}})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ctx509.ParseCertificate(pre)
	iss, _ := ctx509.ParseCertificate(ca.inter.Raw)
	if err := ctutil.VerifySCT(key.Public(), []*ctx509.Certificate{p, iss}, sct, false); err != nil {
		t.Fatalf("SCT over HTTP: %v", err)
	}
	roots, err := lc.GetAcceptedRoots(context.Background())
	if err != nil || len(roots) != 1 || string(roots[0].Data) != string(ca.root.Raw) {
		t.Fatalf("get-roots = %v, %v", roots, err)
	}
	resp, err := http.Post(srv.URL+"/ct/v1/add-pre-chain", "application/json", strings.NewReader(`{"chain":`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed JSON: %v %v", resp.StatusCode, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cp, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	v := &rfc6962Verifier{name: "waxseal-ct", logID: l.LogID(), pub: key.Public()}
	n, err := note.Open(cp, note.VerifierList(v))
	if err != nil {
		t.Fatalf("checkpoint signature: %v\n%s", err, cp)
	}
	if !strings.HasPrefix(n.Text, "waxseal-ct\n1\n") {
		t.Errorf("checkpoint = %q", n.Text)
	}
	resp, err = http.Get(srv.URL + "/checkpoint")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET checkpoint: %v %v", resp.StatusCode, err)
	}
}

func mustSPKI(t *testing.T, pub crypto.PublicKey) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rfc6962Verifier is an independent reading of c2sp.org/static-ct-api's RFC6962NoteSignature.
type rfc6962Verifier struct {
	name  string
	logID [32]byte
	pub   crypto.PublicKey
}

func (v *rfc6962Verifier) Name() string    { return v.name }
func (v *rfc6962Verifier) KeyHash() uint32 { return noteKeyHash(v.name, v.logID) }
func (v *rfc6962Verifier) Verify(msg, sig []byte) bool {
	lines := strings.Split(string(msg), "\n")
	if len(sig) < 12 || len(lines) != 4 {
		return false
	}
	var size uint64
	for _, c := range lines[1] {
		size = size*10 + uint64(c-'0')
	}
	var root ct.SHA256Hash
	if err := root.FromBase64String(lines[2]); err != nil {
		return false
	}
	ts := uint64(0)
	for _, b := range sig[:8] {
		ts = ts<<8 | uint64(b)
	}
	var ds ct.DigitallySigned
	if _, err := asn1Unmarshal(sig[8:], &ds); err != nil {
		return false
	}
	sv, err := ct.NewSignatureVerifier(v.pub)
	if err != nil {
		return false
	}
	return sv.VerifySTHSignature(ct.SignedTreeHead{Version: ct.V1, TreeSize: size, Timestamp: ts, SHA256RootHash: root, TreeHeadSignature: ds}) == nil
}

func asn1Unmarshal(b []byte, ds *ct.DigitallySigned) ([]byte, error) {
	return cttls.Unmarshal(b, (*cttls.DigitallySigned)(ds))
}
