// Package oidc obtains OpenID Connect ID tokens for keyless signing.
//
// A [TokenSource] returns a raw ID token (a JWT) whose identity the certificate authority
// will bind into a short-lived certificate. The sources, in the order a signer normally
// tries them (see DESIGN.md §5):
//
//   - explicit: [StaticToken] (a flag), [EnvToken] (SIGSTORE_ID_TOKEN), [FileToken];
//   - ambient CI credentials: [GitHubActions], [Buildkite], and [Command] for anything
//     that can print a token;
//   - (the credential held by waxseal agent, see package agent;)
//   - interactive: [Interactive] (browser, authorization code + PKCE, RFC 7636, with a
//     loopback redirect, RFC 8252) or [Device] (RFC 8628, for machines without a browser).
//
// [Chain] lists the providers that apply in that order, or the one forced by name
// (--oidc-provider); each hands out tokens through [Checked], so that an expired token,
// a wrong audience or an issuer the CA does not trust fails early with a clear message.
// A [Spec] describes a non-interactive provider so that the agent can refresh with it.
//
// [DevLogin] runs the real authorization code flow against waxseal's development issuer,
// acting as the browser itself.
//
// The package never verifies a token's signature for the CA's sake: the CA does that.
// [Inspect] reads the claims so that a client can fail early on an expired token or a wrong
// audience, and compute the proof-of-possession challenge with [Claims.Subject]:
//
//	tok, err := oidc.EnvToken{}.Token(ctx)
//	c, err := oidc.Inspect(tok)
//	err = c.Check(time.Now(), "sigstore")
//	subject, err := c.Subject() // sign this string with the ephemeral key
package oidc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// TokenSource returns a raw OIDC ID token.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// EnvVar is the environment variable sigstore clients read an ID token from.
const EnvVar = "SIGSTORE_ID_TOKEN"

// ErrNoToken is returned (wrapped) by sources that have nothing to offer, such as an
// unset environment variable, so that a caller trying sources in turn can move on.
var ErrNoToken = errors.New("no identity token available")

// StaticToken is a token given explicitly, e.g. with --identity-token.
type StaticToken string

// Token returns the token, or ErrNoToken if it is empty.
func (t StaticToken) Token(ctx context.Context) (string, error) {
	s := strings.TrimSpace(string(t))
	if s == "" {
		return "", fmt.Errorf("%w: empty token", ErrNoToken)
	}
	return s, nil
}

// EnvToken reads a token from an environment variable.
type EnvToken struct {
	// Name is the variable. Default EnvVar (SIGSTORE_ID_TOKEN).
	Name string
}

// Token returns the variable's value, or ErrNoToken if it is unset or empty.
func (e EnvToken) Token(ctx context.Context) (string, error) {
	name := e.Name
	if name == "" {
		name = EnvVar
	}
	v, set := os.LookupEnv(name)
	s := strings.TrimSpace(v)
	switch {
	case !set:
		return "", fmt.Errorf("%w: %s is not set", ErrNoToken, name)
	case s == "":
		return "", fmt.Errorf("%w: %s is empty", ErrNoToken, name)
	}
	return s, nil
}

// FileToken reads a token from a file, ignoring surrounding whitespace. The file is read
// on every call, so that a token refreshed on disk (e.g. a projected service account
// token) is picked up.
type FileToken string

// Token returns the file's contents.
func (f FileToken) Token(ctx context.Context) (string, error) {
	b, err := os.ReadFile(string(f))
	if err != nil {
		return "", fmt.Errorf("reading identity token: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrNoToken, string(f))
	}
	return s, nil
}
