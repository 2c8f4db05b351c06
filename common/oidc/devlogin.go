package oidc

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
)

// DevLogin obtains an ID token for email from waxseal's development issuer (served by
// `waxseal serve --dev-oidc`, issuer URL "<server>/oidc") by running the real
// authorization code + PKCE flow with a loopback redirect, acting as the browser itself:
// it loads the login page, submits the login form with the email, and follows the
// redirect to its own listener. The token is verified like any other.
//
// The development issuer's login form posts the authorization request's parameters back
// to the authorization endpoint, plus "email" and "action=login"; that is what DevLogin
// submits. It works with no other issuer.
func DevLogin(ctx context.Context, issuerURL, email string) (string, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	return authCodeFlow(ctx, authCodeParams{
		issuer:       strings.TrimRight(issuerURL, "/"),
		clientID:     "sigstore",
		redirectURL:  "http://127.0.0.1:0/auth/callback",
		out:          io.Discard,
		open:         func(ctx context.Context, u string) error { return devBrowse(ctx, client, u, email) },
		openRequired: true,
	})
}

// devBrowse plays the user at the development issuer's login page.
func devBrowse(ctx context.Context, client *http.Client, authURL, email string) error {
	body, err := fetch(ctx, client, http.MethodGet, authURL, nil)
	if err != nil {
		return fmt.Errorf("dev login: loading the login page: %w", err)
	}
	if !strings.Contains(body, `name="email"`) {
		return fmt.Errorf("dev login: %s is not a waxseal development issuer login page", authURL)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		return fmt.Errorf("dev login: %w", err)
	}
	form := u.Query()
	form.Set("email", email)
	form.Set("action", "login")
	u.RawQuery = ""
	// The form's answer is a redirect to our loopback listener, which the client
	// follows; the listener's page says whether the whole flow succeeded.
	if _, err := fetch(ctx, client, http.MethodPost, u.String(), form); err != nil {
		return fmt.Errorf("dev login: submitting the login form: %w", err)
	}
	return nil
}

func fetch(ctx context.Context, client *http.Client, method, u string, form url.Values) (string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %s: %s", method, resp.Request.URL.Redacted(), resp.Status, pageText(string(b)))
	}
	return string(b), nil
}

// pageText extracts a short readable message from an HTML error page.
func pageText(html string) string {
	var s strings.Builder
	in := false
	for _, r := range html {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			s.WriteByte(' ')
		case !in:
			s.WriteRune(r)
		}
	}
	t := strings.Join(strings.Fields(s.String()), " ")
	if len(t) > 300 {
		t = t[:300] + "..."
	}
	return t
}
