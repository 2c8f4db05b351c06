package cli

import (
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/waxseal/waxseal/gitsign/front"
)

// slowNotice is an http.RoundTripper that says, every after, that a request
// is still waiting for its answer: git shows nothing while gitsign signs,
// and a CA or transparency log that does not answer would otherwise hold a
// commit for a minute in silence. The URL is said without its query.
type slowNotice struct {
	base  http.RoundTripper
	after time.Duration
	limit time.Duration // the client's timeout, to say when it gives up
	say   func(msg string)
}

func (s slowNotice) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	done := make(chan struct{})
	go func() {
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
					req.Method, req.URL.Scheme, req.URL.Host, req.URL.EscapedPath(), int(time.Since(start).Round(time.Second).Seconds()), int(s.limit.Seconds())))
			}
		}
	}()
	defer close(done)
	return s.base.RoundTrip(req)
}

// sayOnTerminal writes a line on the user's terminal, or on stderr where
// there is none.
func sayOnTerminal(msg string) {
	out, _, closeOut := front.UserTerminal(os.Stderr)
	defer closeOut()
	fmt.Fprintf(out, "gitsign: %s\n", msg)
}
