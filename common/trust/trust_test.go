package trust

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The public-good instance's real trusted root parses, with its logs keyed
// the way Sigstore clients look them up.
func TestParsePublicGoodRoot(t *testing.T) {
	r, err := LoadRoot(filepath.Join("..", "..", "testdata", "gitsign-public-good", "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.CAs) == 0 || len(r.TLogs) == 0 || len(r.CTLogs) == 0 {
		t.Fatalf("CAs %d, tlogs %d, ctlogs %d", len(r.CAs), len(r.TLogs), len(r.CTLogs))
	}
	for _, l := range r.TLogs {
		if _, ok := r.TLog(l.ID); !ok {
			t.Errorf("log %s not found by its ID", l.BaseURL)
		}
	}
	for _, l := range r.CTLogs {
		if _, ok := r.CTLog(l.ID); !ok {
			t.Errorf("CT log %s not found by its ID", l.BaseURL)
		}
	}
}

func testCA(t testing.TB) *x509.Certificate {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root", Organization: []string{"test"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestNewRootRoundTrip(t *testing.T) {
	ca := testCA(t)
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	start := time.Now().Add(-time.Minute)
	doc, err := NewRoot(RootSpec{CAURI: "http://ca", CAChain: []*x509.Certificate{ca},
		TLogs: []LogSpec{{BaseURL: "http://log", Key: logKey.Public()}}, Start: start})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRoot(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !r.CAs[0].Chain[0].Equal(ca) || r.CAs[0].URI != "http://ca" {
		t.Error("CA lost")
	}
	if !r.CAs[0].ValidFor.Contains(time.Now()) || r.CAs[0].ValidFor.Contains(start.Add(-time.Hour)) {
		t.Error("validity lost")
	}
	der, _ := x509.MarshalPKIXPublicKey(logKey.Public())
	l := r.TLogs[0]
	if !l.Key.(*ecdsa.PublicKey).Equal(logKey.Public()) || len(l.ID) != 32 {
		t.Errorf("log %+v (spki %d bytes)", l, len(der))
	}
}

func TestParseRootRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"not json":    `{`,
		"media type":  `{"mediaType":"application/json"}`,
		"bad cert":    `{"mediaType":"` + TrustedRootMediaType + `","certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}`,
		"empty chain": `{"mediaType":"` + TrustedRootMediaType + `","certificateAuthorities":[{"certChain":{}}]}`,
		"no start":    `{"mediaType":"` + TrustedRootMediaType + `","tlogs":[{"hashAlgorithm":"SHA2_256","publicKey":{"rawBytes":"AAAA"}}]}`,
		"wrong hash":  `{"mediaType":"` + TrustedRootMediaType + `","tlogs":[{"hashAlgorithm":"SHA2_384"}]}`,
	} {
		if _, err := ParseRoot([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSigningConfigPicksValidService(t *testing.T) {
	now := time.Now()
	old := now.Add(-48 * time.Hour).UTC().Format(time.RFC3339)
	mid := now.Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	future := now.Add(24 * time.Hour).UTC().Format(time.RFC3339)
	doc := `{"mediaType":"` + SigningConfigMediaType + `",
	 "caUrls":[{"url":"http://old","majorApiVersion":1,"validFor":{"start":"` + old + `"}},
	           {"url":"http://new","majorApiVersion":1,"validFor":{"start":"` + mid + `"}},
	           {"url":"http://future","majorApiVersion":1,"validFor":{"start":"` + future + `"}}],
	 "rekorTlogUrls":[{"url":"http://v2","majorApiVersion":2,"validFor":{"start":"` + mid + `"}},
	                  {"url":"http://v1","majorApiVersion":1,"validFor":{"start":"` + old + `"}}]}`
	sc, err := ParseSigningConfig([]byte(doc), now)
	if err != nil {
		t.Fatal(err)
	}
	if sc.CAURL != "http://new" || sc.RekorURL != "http://v1" || sc.OIDCURL != "" {
		t.Errorf("picked %+v", sc)
	}
	if _, err := ParseSigningConfig([]byte(`{"mediaType":"`+SigningConfigMediaType+`"}`), now); err == nil {
		t.Error("a config with no CA was accepted")
	}
}

func TestPin(t *testing.T) {
	ca := testCA(t)
	logKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root, _ := NewRoot(RootSpec{CAChain: []*x509.Certificate{ca}, TLogs: []LogSpec{{BaseURL: "http://log", Key: logKey.Public()}}, Start: time.Now().Add(-time.Hour)})
	sc, _ := NewSigningConfig(SigningConfigSpec{CAURL: "http://ca", RekorURL: "http://log", Start: time.Now().Add(-time.Hour)})
	gotRoot, gotSC := root, sc
	dir := filepath.Join(t.TempDir(), "cfg")
	if _, err := LoadPinned(dir); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("before pinning: %v", err)
	}
	if _, err := LoadPinnedRoot(dir); !errors.Is(err, ErrNotPinned) {
		t.Fatalf("root before pinning: %v", err)
	}
	if err := Pin(dir, gotRoot, gotSC); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPinned(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := LoadPinnedRoot(dir); err != nil || Fingerprint(r.Bytes()) != Fingerprint(root) {
		t.Errorf("pinned root alone: %v", err)
	}
	if Fingerprint(p.Root.Bytes()) != Fingerprint(root) || p.SigningConfig.CAURL != "http://ca" {
		t.Error("pinned trust differs from what was pinned")
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("config dir mode %v", fi.Mode())
	}

	if !strings.HasPrefix(Fingerprint(root), "sha256:") {
		t.Error("fingerprint format")
	}
}

// Of two entries for one log, the last counts everywhere a log is looked
// up, as in sigstore-go: the key and the validity window come from one
// entry.
func TestDuplicateLogIDLastCounts(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	id := []byte("one log ID")
	r := &Root{TLogs: []Log{
		{BaseURL: "http://first", ID: id, Key: k1.Public()},
		{BaseURL: "http://last", ID: id, Key: k2.Public()},
	}}
	l, ok := r.TLog(id)
	if !ok || l.BaseURL != "http://last" {
		t.Errorf("TLog = %+v, want the last entry", l)
	}
	if k := r.TLogKeys()[hex.EncodeToString(id)]; !k.(*ecdsa.PublicKey).Equal(l.Key) {
		t.Error("TLogKeys and TLog disagree on the key")
	}
}
