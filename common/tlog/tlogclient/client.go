// Package tlogclient speaks the Rekor v1 REST API. It is apart from
// common/tlog, which verifies what a log returns, so that a verifier links
// no HTTP client: gitsign's verifying program starts once per signature git
// shows, and net/http's package initialization would slow every one.
package tlogclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/waxseal/waxseal/common/tlog"
)

// Client speaks the Rekor v1 REST API.
type Client struct {
	BaseURL    string // e.g. "https://rekor.sigstore.dev"
	HTTPClient *http.Client
}

// APIError is a non-2xx answer, with the server's message.
type APIError struct {
	StatusCode int
	Code       int    `json:"code"`
	Message    string `json:"message"`
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("rekor: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("rekor: HTTP %d: %s", e.StatusCode, e.Message)
}

// ErrNotFound is wrapped by errors for entries the log does not have.
var ErrNotFound = errors.New("entry not found")

func (c *Client) do(ctx context.Context, method, path string, body any, out any) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		if b, ok := body.([]byte); ok {
			r = bytes.NewReader(b)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				return nil, err
			}
			r = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, r)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, fmt.Errorf("rekor: reading %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusConflict {
		e := &APIError{StatusCode: resp.StatusCode}
		_ = json.Unmarshal(data, e)
		if resp.StatusCode == http.StatusNotFound {
			return resp, fmt.Errorf("%w: %w", ErrNotFound, e)
		}
		return resp, e
	}
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(data)
		} else if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("rekor: decoding %s %s: %w", method, path, err)
		}
	}
	return resp, nil
}

// single returns the one entry of a tlog.LogEntry map.
func single(le tlog.LogEntry) (string, tlog.LogEntryValue, error) {
	if len(le) != 1 {
		return "", tlog.LogEntryValue{}, fmt.Errorf("rekor: want one entry, got %d", len(le))
	}
	for k, v := range le {
		return k, v, nil
	}
	panic("unreachable")
}

// Record uploads a proposed entry and returns it as the transparency-log
// entry a signature carries: with its signed entry timestamp and inclusion
// proof. An entry the log already had is returned the same way.
func (c *Client) Record(ctx context.Context, proposed []byte) (*tlog.TLE, error) {
	_, e, _, err := c.Upload(ctx, proposed)
	if err != nil {
		return nil, fmt.Errorf("recording the signature in the transparency log: %w", err)
	}
	tle, err := tlog.ToTLE(e)
	if err != nil {
		return nil, fmt.Errorf("transparency log answer: %w", err)
	}
	return tle, nil
}

// Upload proposes an entry. It returns the entry ID and the entry; if the
// log already had the entry (HTTP 409), it returns that entry and
// existed = true.
func (c *Client) Upload(ctx context.Context, proposed []byte) (entryID string, e tlog.LogEntryValue, existed bool, err error) {
	var le tlog.LogEntry
	resp, err := c.do(ctx, http.MethodPost, "/api/v1/log/entries", proposed, &le)
	if err != nil {
		return "", tlog.LogEntryValue{}, false, err
	}
	if resp.StatusCode == http.StatusConflict {
		// Rekor answers a duplicate with an error body and a Location;
		// ours also carries the entry.
		if len(le) != 1 {
			loc := resp.Header.Get("Location")
			uuid := loc[strings.LastIndex(loc, "/")+1:]
			id, v, err := c.GetByUUID(ctx, uuid)
			return id, v, true, err
		}
		existed = true
	}
	id, v, err := single(le)
	if err != nil {
		return "", tlog.LogEntryValue{}, false, err
	}
	if etag := resp.Header.Get("ETag"); etag != "" && strings.Trim(etag, `"`) != id {
		return "", tlog.LogEntryValue{}, false, fmt.Errorf("rekor: ETag %q does not name the entry %q", etag, id)
	}
	return id, v, existed, nil
}

// GetByUUID fetches an entry by 64-hex UUID or 80-hex entry ID.
func (c *Client) GetByUUID(ctx context.Context, uuid string) (string, tlog.LogEntryValue, error) {
	var le tlog.LogEntry
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/log/entries/"+url.PathEscape(uuid), nil, &le); err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	return single(le)
}

// GetByIndex fetches an entry by global log index.
func (c *Client) GetByIndex(ctx context.Context, index int64) (string, tlog.LogEntryValue, error) {
	var le tlog.LogEntry
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/log/entries?logIndex="+strconv.FormatInt(index, 10), nil, &le); err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	return single(le)
}

// Retrieve fetches several entries at once (at most 10 of each kind).
func (c *Client) Retrieve(ctx context.Context, q tlog.RetrieveQuery) ([]tlog.LogEntry, error) {
	var out []tlog.LogEntry
	body := struct {
		EntryUUIDs []string          `json:"entryUUIDs,omitempty"`
		LogIndexes []int64           `json:"logIndexes,omitempty"`
		Entries    []json.RawMessage `json:"entries,omitempty"`
	}{EntryUUIDs: q.EntryUUIDs, LogIndexes: q.LogIndexes}
	for _, e := range q.Entries {
		body.Entries = append(body.Entries, json.RawMessage(e))
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v1/log/entries/retrieve", body, &out)
	return out, err
}

// Search returns the UUIDs of the entries matching the query.
func (c *Client) Search(ctx context.Context, q tlog.SearchQuery) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodPost, "/api/v1/index/retrieve", q, &out)
	return out, err
}

// LogInfo fetches the current tree head.
func (c *Client) LogInfo(ctx context.Context) (*tlog.LogInfo, error) {
	var li tlog.LogInfo
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/log", nil, &li); err != nil {
		return nil, err
	}
	return &li, nil
}

// ConsistencyProof fetches a proof that the tree of size first is a prefix
// of the tree of size last.
func (c *Client) ConsistencyProof(ctx context.Context, first, last int64) (*tlog.ConsistencyProof, error) {
	var p tlog.ConsistencyProof
	path := fmt.Sprintf("/api/v1/log/proof?firstSize=%d&lastSize=%d", first, last)
	if _, err := c.do(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PublicKey fetches the log's PEM public key.
func (c *Client) PublicKey(ctx context.Context) ([]byte, error) {
	var s string
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/log/publicKey", nil, &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}
