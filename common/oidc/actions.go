package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// Environment variables GitHub Actions sets in jobs with `permissions: id-token: write`.
const (
	ActionsRequestURLEnv   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	ActionsRequestTokenEnv = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// GitHubActions obtains a workflow identity token from the GitHub Actions runtime.
type GitHubActions struct {
	// Audience is the requested `aud`. Default "sigstore".
	Audience string
	// HTTPClient defaults to http.DefaultClient.
	HTTPClient *http.Client
	// RequestURL and RequestToken override ACTIONS_ID_TOKEN_REQUEST_URL and
	// ACTIONS_ID_TOKEN_REQUEST_TOKEN, for a process that does not run in the job's
	// environment (waxseal agent refreshing a credential on the job's behalf).
	RequestURL, RequestToken string
}

// GitHubActionsAvailable reports whether the job can request an ID token.
func GitHubActionsAvailable() bool {
	return os.Getenv(ActionsRequestURLEnv) != "" && os.Getenv(ActionsRequestTokenEnv) != ""
}

// Token requests an ID token: GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=AUD with the
// request token as a bearer credential; the answer is {"value": "<jwt>"}.
func (g GitHubActions) Token(ctx context.Context) (string, error) {
	reqURL, reqTok := g.RequestURL, g.RequestToken
	if reqURL == "" && reqTok == "" {
		reqURL, reqTok = os.Getenv(ActionsRequestURLEnv), os.Getenv(ActionsRequestTokenEnv)
	}
	if reqURL == "" || reqTok == "" {
		return "", fmt.Errorf("%w: %s and %s are not set (does the job have `permissions: id-token: write`?)",
			ErrNoToken, ActionsRequestURLEnv, ActionsRequestTokenEnv)
	}
	aud := g.Audience
	if aud == "" {
		aud = "sigstore"
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("github actions: %s: %w", ActionsRequestURLEnv, err)
	}
	// Append rather than re-encode, so that the runtime's own query is kept byte for byte.
	if u.RawQuery == "" {
		u.RawQuery = "audience=" + url.QueryEscape(aud)
	} else {
		u.RawQuery = strings.TrimSuffix(u.RawQuery, "&") + "&audience=" + url.QueryEscape(aud)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("github actions: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+reqTok)
	req.Header.Set("Accept", "application/json")
	client := g.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("github actions: requesting ID token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("github actions: requesting ID token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("github actions: requesting ID token: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("github actions: decoding ID token response: %w", err)
	}
	if v.Value == "" {
		return "", fmt.Errorf("github actions: empty ID token in response")
	}
	return v.Value, nil
}
