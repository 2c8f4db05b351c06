package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Device signs in with the OAuth 2.0 device authorization grant (RFC 8628), for
// machines without a browser: it prints a user code and a verification URI, then polls
// the token endpoint at the issuer's interval (slowing down by 5 seconds whenever told
// to) until the user approves or denies, or the code expires.
type Device struct {
	Issuer   string // OIDC issuer URL; its discovery must list a device_authorization_endpoint
	ClientID string // default "sigstore"
	Out      io.Writer
	// HTTPClient talks to the issuer. Default http.DefaultClient.
	HTTPClient *http.Client
}

// Token runs the flow and returns the verified ID token.
func (d Device) Token(ctx context.Context) (string, error) {
	out := d.Out
	if out == nil {
		out = os.Stderr
	}
	clientID := d.ClientID
	if clientID == "" {
		clientID = "sigstore"
	}
	if d.HTTPClient != nil {
		ctx = gooidc.ClientContext(ctx, d.HTTPClient)
		ctx = context.WithValue(ctx, oauth2.HTTPClient, d.HTTPClient)
	}
	provider, err := gooidc.NewProvider(ctx, d.Issuer)
	if err != nil {
		return "", fmt.Errorf("oidc: discovery for %s: %w", d.Issuer, err)
	}
	cfg := oauth2.Config{
		ClientID: clientID,
		Endpoint: provider.Endpoint(),
		Scopes:   []string{gooidc.ScopeOpenID, "email"},
	}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if cfg.Endpoint.DeviceAuthURL == "" {
		return "", fmt.Errorf("oidc: %s does not support the device flow (no device_authorization_endpoint)", d.Issuer)
	}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return "", fmt.Errorf("oidc: device authorization: %w", err)
	}
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(out, "To sign in, open\n\n  %s\n\nor go to %s and enter the code %s\n", da.VerificationURIComplete, da.VerificationURI, da.UserCode)
	} else {
		fmt.Fprintf(out, "To sign in, go to %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && !da.Expiry.IsZero() && !time.Now().Before(da.Expiry) {
		// x/oauth2 stops polling at the code's expiry with a deadline of
		// its own, before the issuer can answer expired_token.
		return "", fmt.Errorf("oidc: the device code expired before the sign-in at %s was approved; sign in again", da.VerificationURI)
	}
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			switch re.ErrorCode {
			case "access_denied":
				return "", fmt.Errorf("oidc: device sign-in denied by the user: %w", err)
			case "expired_token":
				return "", fmt.Errorf("oidc: device code expired before the sign-in was approved: %w", err)
			}
		}
		return "", fmt.Errorf("oidc: device sign-in: %w", err)
	}
	return verifyIDToken(ctx, provider, clientID, tok, "")
}
