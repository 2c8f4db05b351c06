package cli

import (
	"fmt"
	"net/http"
	"time"
)

// slowNotice is an http.RoundTripper that says, every after, that a request
// is still waiting for its answer: git shows nothing while gitsign signs,
// and a CA or transparency log that does not answer would otherwise hold a
// commit for a minute in silence. The URL is said without its user
// information and query. say is never called once RoundTrip has returned.
type slowNotice struct {
	base  http.RoundTripper
	after time.Duration
	limit time.Duration // the client's timeout, to say when it gives up
	say   func(msg string)
}

func (s slowNotice) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	giveUp := s.limit
	if dl, ok := req.Context().Deadline(); ok && dl.Sub(start) < giveUp {
		giveUp = dl.Sub(start)
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(s.after)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-req.Context().Done():
				return
			case <-tick.C:
				s.say(fmt.Sprintf("still waiting for %s %s://%s%s: %ds so far (gives up at %ds)",
					req.Method, req.URL.Scheme, req.URL.Host, req.URL.EscapedPath(),
					int(time.Since(start).Round(time.Second).Seconds()), int(giveUp.Round(time.Second).Seconds())))
			}
		}
	}()
	defer func() {
		close(done)
		<-finished
	}()
	return s.base.RoundTrip(req)
}

// httpClient is the client gitsign talks to its CA, log and issuer with:
// one that says on the user's terminal, and in gitsign.logPath
// (tellUser), when an answer is slow in coming.
func (e *env) httpClient() *http.Client {
	say := func(msg string) { e.tellUser("", []string{msg}) }
	return &http.Client{Timeout: httpTimeout,
		Transport: slowNotice{base: http.DefaultTransport, after: 5 * time.Second, limit: httpTimeout, say: say}}
}
