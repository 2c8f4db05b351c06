package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
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
