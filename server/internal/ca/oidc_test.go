package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testIssuer is a minimal but real OpenID Provider for tests: discovery document and JWKS over
// loopback HTTP, ES256 ID tokens signed with go-jose. go-oidc talks to it exactly as it talks
// to accounts.google.com.
type testIssuer struct {
	srv *httptest.Server
	key *ecdsa.PrivateKey
	kid string
	// down makes the issuer answer 503, like a provider that has not started yet.
	down atomic.Bool
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ti := &testIssuer{key: key, kid: "k1"}
	mux := http.NewServeMux()
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ti.down.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ti.srv.Close)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                ti.srv.URL,
			"jwks_uri":                              ti.srv.URL + "/jwks",
			"authorization_endpoint":                ti.srv.URL + "/auth",
			"token_endpoint":                        ti.srv.URL + "/token",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ti.key.PublicKey, KeyID: ti.kid, Algorithm: "ES256", Use: "sig"}}})
	})
	return ti
}

func (ti *testIssuer) URL() string { return ti.srv.URL }

// token mints an ID token with iss, aud "sigstore", iat/exp around now, plus claims
// (which override the defaults).
func (ti *testIssuer) token(t testing.TB, claims map[string]any) string {
	return ti.tokenWithKey(t, ti.key, claims)
}

func (ti *testIssuer) tokenWithKey(t testing.TB, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{
		"iss": ti.srv.URL,
		"aud": "sigstore",
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: ti.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
