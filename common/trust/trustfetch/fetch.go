// Package trustfetch downloads an instance's trusted root and signing
// config. It is apart from common/trust, which reads and pins them, so that
// a verifier links no HTTP client.
package trustfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/waxseal/waxseal/common/trust"
)

// ErrInvalidURL is a server URL that is no http(s) URL with a host.
var ErrInvalidURL = errors.New("invalid server URL")

// Fetch downloads an instance's trusted root and signing config and checks
// that both parse. It pins nothing.
func Fetch(ctx context.Context, client *http.Client, base string) (root, signing []byte, err error) {
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, fmt.Errorf("%w %q: want http(s)://host[:port]", ErrInvalidURL, base)
	}
	base = strings.TrimRight(base, "/")
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", base+path, resp.Status)
		}
		return body, nil
	}
	if root, err = get(trust.TrustedRootPath); err != nil {
		return nil, nil, err
	}
	if _, err := trust.ParseRoot(root); err != nil {
		return nil, nil, err
	}
	if signing, err = get(trust.SigningConfigPath); err != nil {
		return nil, nil, err
	}
	if _, err := trust.ParseSigningConfig(signing, time.Now()); err != nil {
		return nil, nil, err
	}
	return root, signing, nil
}

// Redacted is a server URL as it may be shown: without a password it
// carries (user:password@host), as the errors of net/http show it.
func Redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Redacted()
}
