package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/waxseal/waxseal/common/trust"
)

// TestServeRestart starts `waxseal serve`, stops it as SIGINT would
// (context cancellation), and starts it again on the same data directory:
// the keys, and so the trusted root, are reused.
func TestServeRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := trust.ParseRoot([]byte(serveOnce(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	second, err := trust.ParseRoot([]byte(serveOnce(t, dir)))
	if err != nil {
		t.Fatal(err)
	}
	// The port differs (port 0); the keys must not.
	if !first.CAs[0].Chain[0].Equal(second.CAs[0].Chain[0]) {
		t.Error("CA certificate changed across restart")
	}
	if string(first.TLogs[0].ID) != string(second.TLogs[0].ID) || string(first.CTLogs[0].ID) != string(second.CTLogs[0].ID) {
		t.Error("log keys changed across restart")
	}
}

var servingRE = regexp.MustCompile(`serving (http://127\.0\.0\.1:[0-9]+)`)

func serveOnce(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"waxseal", "serve", "--data", dir, "--addr", "127.0.0.1:0", "--dev-oidc"}, nil, pw, &stderr)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var url string
	for sc.Scan() {
		if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
			url = m[1]
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if url == "" {
		t.Fatalf("serve printed no URL; stderr:\n%s", stderr.String())
	}
	resp, err := http.Get(url + "/trusted_root.json")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("trusted root: %s", resp.Status)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d on shutdown; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), "development OIDC issuer enabled") {
		t.Errorf("no dev-issuer warning on stderr:\n%s", stderr.String())
	}
	return string(root)
}
