package oidc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims are the claims of an ID token that a signing client needs, read without
// verifying the token's signature.
type Claims struct {
	Issuer        string    // iss
	Sub           string    // sub
	Audience      []string  // aud, a string or an array in the token
	Expiry        time.Time // exp; zero if absent
	IssuedAt      time.Time // iat; zero if absent
	Email         string    // email
	EmailVerified bool      // email_verified, a boolean or the string "true"

	// Raw holds every claim of the payload, e.g. the CI claims of workload tokens.
	Raw map[string]json.RawMessage
}

var (
	// ErrTokenExpired is returned (wrapped) by Claims.Check for an expired token.
	ErrTokenExpired = errors.New("identity token expired")
	// ErrWrongAudience is returned (wrapped) by Claims.Check when the token is not
	// meant for the expected audience.
	ErrWrongAudience = errors.New("identity token has the wrong audience")
)

// Inspect parses the payload of a compact-serialized JWT without verifying its signature.
func Inspect(token string) (*Claims, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	switch {
	case len(parts) == 5:
		return nil, errors.New("identity token is encrypted (JWE), not a signed JWT")
	case len(parts) != 3:
		return nil, fmt.Errorf("identity token is not a JWT: %d dot-separated parts, want 3", len(parts))
	}
	var header struct {
		Alg string `json:"alg"`
	}
	hb, err := decodeSegment(parts[0])
	if err != nil {
		return nil, fmt.Errorf("identity token header: %w", err)
	}
	if err := json.Unmarshal(hb, &header); err != nil {
		return nil, fmt.Errorf("identity token header: %w", err)
	}
	if header.Alg == "" || strings.EqualFold(header.Alg, "none") {
		return nil, fmt.Errorf("identity token is not signed (alg %q)", header.Alg)
	}
	pb, err := decodeSegment(parts[1])
	if err != nil {
		return nil, fmt.Errorf("identity token payload: %w", err)
	}
	c := &Claims{}
	if err := json.Unmarshal(pb, &c.Raw); err != nil {
		return nil, fmt.Errorf("identity token payload: %w", err)
	}
	if c.Raw == nil {
		return nil, errors.New("identity token payload is not a JSON object")
	}
	str := func(name string, dst *string) error {
		if raw, ok := c.Raw[name]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return fmt.Errorf("identity token claim %q: not a string", name)
			}
		}
		return nil
	}
	tm := func(name string, dst *time.Time) error {
		raw, ok := c.Raw[name]
		if !ok {
			return nil
		}
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || math.IsNaN(f) || f < 0 || f > 1e11 {
			return fmt.Errorf("identity token claim %q: not a NumericDate", name)
		}
		sec, frac := math.Modf(f)
		*dst = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		return nil
	}
	if err := errors.Join(str("iss", &c.Issuer), str("sub", &c.Sub), str("email", &c.Email),
		tm("exp", &c.Expiry), tm("iat", &c.IssuedAt)); err != nil {
		return nil, err
	}
	if raw, ok := c.Raw["aud"]; ok {
		var one string
		if err := json.Unmarshal(raw, &one); err == nil {
			c.Audience = []string{one}
		} else if err := json.Unmarshal(raw, &c.Audience); err != nil {
			return nil, errors.New(`identity token claim "aud": not a string or an array of strings`)
		}
	}
	if raw, ok := c.Raw["email_verified"]; ok {
		var b bool
		var s string
		switch {
		case json.Unmarshal(raw, &b) == nil:
			c.EmailVerified = b
		case json.Unmarshal(raw, &s) == nil:
			// Some providers (e.g. AWS Cognito) send the string form.
			c.EmailVerified = s == "true"
		default:
			return nil, errors.New(`identity token claim "email_verified": not a boolean`)
		}
	}
	return c, nil
}

func decodeSegment(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, fmt.Errorf("not base64url: %w", err)
	}
	if !bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{")) {
		return nil, errors.New("not a JSON object")
	}
	return b, nil
}

// Check reports an expired token or one whose audience does not include wantAudience
// (skipped if wantAudience is empty), so that a client fails before contacting the CA.
func (c *Claims) Check(now time.Time, wantAudience string) error {
	if c.Issuer == "" {
		return errors.New("identity token has no issuer (iss)")
	}
	if c.Expiry.IsZero() {
		return errors.New("identity token has no expiry (exp)")
	}
	if !now.Before(c.Expiry) {
		return fmt.Errorf("%w at %s (%s ago); obtain a new one", ErrTokenExpired,
			c.Expiry.Format(time.RFC3339), now.Sub(c.Expiry).Round(time.Second))
	}
	if wantAudience != "" && !slices.Contains(c.Audience, wantAudience) {
		return fmt.Errorf("%w: want %q, token is for %q", ErrWrongAudience, wantAudience, c.Audience)
	}
	return nil
}

// Subject is the string a client signs as proof of possession, chosen as sigstore
// clients choose it: the email claim if present (which must then be verified),
// otherwise sub.
func (c *Claims) Subject() (string, error) {
	if c.Email != "" {
		if !c.EmailVerified {
			return "", fmt.Errorf("identity token email %q is not verified (email_verified is not true)", c.Email)
		}
		return c.Email, nil
	}
	if c.Sub == "" {
		return "", errors.New("identity token has neither email nor sub")
	}
	return c.Sub, nil
}
