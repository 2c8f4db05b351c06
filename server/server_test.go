package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/testca"
	"github.com/waxseal/waxseal/server"
)

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return b
}

// serve runs a server on dir, listening on addr, until stop is called.
func serve(t *testing.T, dir, addr string) (srv *server.Server, url string, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	url = "http://" + ln.Addr().String()
	srv, err = server.New(context.Background(), server.Config{Dir: dir, URL: url, DevOIDC: true})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	return srv, url, func() { hs.Close(); srv.Close() }
}

// TestTUFRepository: sigstore-go's TUF client, given the root the server
// publishes, fetches the instance's trusted root and signing config from
// it; after a restart the root is the same and a client with the first
// run's cache fetches again.
func TestTUFRepository(t *testing.T) {
	dir := t.TempDir()
	cache := t.TempDir()
	fetch := func(url string, root []byte, name string) []byte {
		t.Helper()
		opts := tuf.DefaultOptions()
		opts.RepositoryBaseURL, opts.Root, opts.CachePath = url+server.TUFPath, root, cache
		c, err := tuf.New(opts)
		if err != nil {
			t.Fatalf("sigstore-go TUF client: %v", err)
		}
		b, err := c.GetTarget(name)
		if err != nil {
			t.Fatalf("target %s: %v", name, err)
		}
		return b
	}

	srv, url, stop := serve(t, dir, "127.0.0.1:0")
	root := get(t, url+server.TUFPath+"/1.root.json")
	ts1 := get(t, url+server.TUFPath+"/timestamp.json")
	if got := fetch(url, root, "trusted_root.json"); !bytes.Equal(got, srv.TrustedRoot()) {
		t.Errorf("trusted_root.json through TUF differs from the one served:\n%s", got)
	}
	if got := fetch(url, root, "signing_config.v0.2.json"); !bytes.Equal(got, srv.SigningConfig()) {
		t.Errorf("signing_config.v0.2.json through TUF differs from the one served:\n%s", got)
	}
	stop()

	// Restarted at the same address: the same TUF root, kept in the data
	// directory, and a client with the first run's cache takes the new
	// run's metadata.
	srv, url, stop = serve(t, dir, strings.TrimPrefix(url, "http://"))
	defer stop()
	if again := get(t, url+server.TUFPath+"/1.root.json"); !bytes.Equal(again, root) {
		t.Fatal("the TUF root changed across a restart")
	}
	version := func(ts []byte) int64 {
		var m struct {
			Signed struct{ Version int64 } `json:"signed"`
		}
		if err := json.Unmarshal(ts, &m); err != nil {
			t.Fatal(err)
		}
		return m.Signed.Version
	}
	if v1, v2 := version(ts1), version(get(t, url+server.TUFPath+"/timestamp.json")); v2 <= v1 {
		t.Errorf("timestamp version %d after a restart, was %d: clients would keep their cache", v2, v1)
	}
	if kept, err := os.ReadFile(filepath.Join(dir, "tuf", "1.root.json")); err != nil || !bytes.Equal(kept, root) {
		t.Errorf("data directory's TUF root: %v", err)
	}
	if got := fetch(url, root, "trusted_root.json"); !bytes.Equal(got, srv.TrustedRoot()) {
		t.Errorf("after restart, trusted_root.json through TUF differs from the one served")
	}
	resp, err := http.Get(url + server.TUFPath + "/timestamp.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("timestamp.json Cache-Control %q: caches between client and server would hide new versions", cc)
	}
	resp, err = http.Get(url + server.TUFPath + "/2.root.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("2.root.json: %s, want 404 (clients look for the next root and stop there)", resp.Status)
	}
}

// TestCTLogTakesOnlyThisCA: the public CT log lists the CA's root at
// get-roots and refuses a precertificate chain of anyone else's.
func TestCTLogTakesOnlyThisCA(t *testing.T) {
	srv, url, stop := serve(t, t.TempDir(), "127.0.0.1:0")
	defer stop()
	var roots struct{ Certificates [][]byte }
	if err := json.Unmarshal(get(t, url+"/ct/ct/v1/get-roots"), &roots); err != nil || len(roots.Certificates) != 1 {
		t.Fatalf("get-roots: %+v %v", roots, err)
	}
	tr, err := trust.ParseRoot(srv.TrustedRoot())
	if err != nil {
		t.Fatal(err)
	}
	chain := tr.CAs[0].Chain
	if !bytes.Equal(roots.Certificates[0], chain[len(chain)-1].Raw) {
		t.Error("get-roots does not list the CA's root")
	}

	// A self-signed CA of someone else's, and a precertificate from it.
	key := testca.Key(t)
	other := testca.Cert(t, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, key.Public(), key)
	poison := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: []byte{5, 0}}
	leaf := testca.Cert(t, &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Minute),
		EmailAddresses: []string{"spam@example.com"}, ExtraExtensions: []pkix.Extension{poison}}, other, key.Public(), key)
	body, _ := json.Marshal(map[string][][]byte{"chain": {leaf.Raw, other.Raw}})
	resp, err := http.Post(url+"/ct/ct/v1/add-pre-chain", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a precertificate from another CA: %s %s, want 400", resp.Status, b)
	}
}
