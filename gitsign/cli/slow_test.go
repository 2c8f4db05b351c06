package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/server/servertest"
)

// TestSlowNotice: a request that waits is said to be waiting, every
// interval, without its query, until it is answered; then nothing more.
// The server answers once the notices came, whatever the machine's pace.
func TestSlowNotice(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
	}))
	defer srv.Close()
	var (
		mu   sync.Mutex
		said []string
	)
	c := &http.Client{Transport: slowNotice{base: http.DefaultTransport, after: 50 * time.Millisecond, limit: time.Minute, say: func(m string) {
		mu.Lock()
		defer mu.Unlock()
		if said = append(said, m); len(said) == 2 {
			close(release)
		}
	}}}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(said)
	}
	resp, err := c.Post(srv.URL+"/slow?token=secret", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n := count()
	mu.Lock()
	first := said[0]
	mu.Unlock()
	if !strings.HasPrefix(first, "still waiting for POST "+srv.URL+"/slow: ") || !strings.Contains(first, "(gives up at 60s)") || strings.Contains(first, "secret") {
		t.Fatalf("said %q", first)
	}
	time.Sleep(200 * time.Millisecond)
	if count() != n {
		t.Fatalf("still said to wait once answered, %d times more", count()-n)
	}
}

// TestSlowLogSaid: git commit -S against a transparency log that answers
// late: the wait is said in gitsign.logPath (and on the terminal, where
// there is one), which is where a user looks when git shows nothing. The
// log answers 503 after one notice, so the test takes about 5 seconds.
func TestSlowLogSaid(t *testing.T) {
	stack := servertest.Start(t)
	r := newRepo(t, stack, "alice@example.com")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		time.Sleep(6 * time.Second)
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	defer slow.Close()
	r.git("config", "gitsign.fulcio", stack.SigningConfig(t).CAURL)
	r.git("config", "gitsign.rekor", slow.URL)
	logPath := filepath.Join(t.TempDir(), "gitsign.log")
	r.git("config", "gitsign.logPath", logPath)
	if _, _, err := r.try("commit", "-q", "--allow-empty", "-S", "-m", "late log"); err == nil {
		t.Fatal("signed with a log that answered 503")
	}
	b, _ := os.ReadFile(logPath)
	if !strings.Contains(string(b), "gitsign: still waiting for POST "+slow.URL+"/api/v1/log/entries: 5s so far (gives up at 60s)") {
		t.Errorf("the wait is not in gitsign.logPath:\n%s", b)
	}
}
