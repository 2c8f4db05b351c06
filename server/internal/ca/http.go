package ca

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
)

// httpError is a client-visible failure: Fulcio-style {"code","message"} with an HTTP status.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errBadRequest(format string, a ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

func errUnauthenticated(format string, a ...any) error {
	return &httpError{http.StatusUnauthorized, fmt.Sprintf(format, a...)}
}

func errUnavailable(format string, a ...any) error {
	return &httpError{http.StatusServiceUnavailable, fmt.Sprintf(format, a...)}
}

func parseURI(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "" {
		return nil, errors.New("no scheme")
	}
	return u, nil
}

// Handler serves the Fulcio API at its full paths (/api/v2/..., /api/v1/...).
func (c *CA) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", c.serveSigningCert)
	mux.HandleFunc("GET /api/v2/trustBundle", c.serveTrustBundle)
	mux.HandleFunc("GET /api/v2/configuration", c.serveConfiguration)
	mux.HandleFunc("GET /api/v1/rootCert", c.serveRootCert)
	mux.HandleFunc("POST /api/v1/signingCert", c.serveLegacySigningCert)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		log.Printf("ca: internal error: %v", err)
		he = &httpError{http.StatusInternalServerError, "internal error"}
	}
	writeJSON(w, he.code, struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{he.code, he.msg})
}

func pemString(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

type certChain struct {
	Certificates []string `json:"certificates"`
}

func (c *CA) serveSigningCert(w http.ResponseWriter, r *http.Request) {
	cert, err := c.signingCert(w, r, parseSigningCertRequest)
	if err != nil {
		writeError(w, err)
		return
	}
	chain := certChain{Certificates: []string{pemString(cert), pemString(c.keys.inter), pemString(c.keys.root)}}
	if c.cfg.CT == nil {
		writeJSON(w, http.StatusOK, map[string]any{"signedCertificateDetachedSct": map[string]any{"chain": chain}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": chain}})
}

// serveLegacySigningCert is Fulcio's v1 API, which sigstore's gitsign and
// older cosign still call: 201 Created with the PEM chain (leaf first) as
// the body. An SCT is embedded in the leaf, so the SCT header, where v1
// carries a detached one, is absent.
func (c *CA) serveLegacySigningCert(w http.ResponseWriter, r *http.Request) {
	cert, err := c.signingCert(w, r, parseLegacySigningCertRequest)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, pemString(cert)+pemString(c.keys.inter)+pemString(c.keys.root))
}

// signingCert reads and parses a request with parse, authenticates its
// token, checks its proof of possession and issues the certificate.
func (c *CA) signingCert(w http.ResponseWriter, r *http.Request, parse func(body []byte, authorization string) (*parsedRequest, error)) (*x509.Certificate, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.cfg.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body exceeds %d bytes", c.cfg.MaxRequestBytes)}
		}
		return nil, errBadRequest("reading request body: %v", err)
	}
	req, err := parse(body, r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	p, err := c.authenticate(r.Context(), req.token)
	if err != nil {
		return nil, err
	}
	if req.pop != nil {
		if err := verifyPoP(req.pub, p.challenge, req.pop); err != nil {
			return nil, errBadRequest("proof of possession failed: the signature over %q does not verify with the submitted public key (it must be made by that key over the UTF-8 %s)", p.challenge, c.challengeClaim(p.issuer))
		}
	}
	return c.issue(r.Context(), p, req.pub)
}

func (c *CA) challengeClaim(iss string) string {
	if is, ok := c.issuers[iss]; ok && is.Type == TypeEmail {
		return "email claim"
	}
	return "sub claim"
}

func (c *CA) serveTrustBundle(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"chains": []certChain{{Certificates: []string{pemString(c.keys.inter), pemString(c.keys.root)}}}})
}

func (c *CA) serveConfiguration(w http.ResponseWriter, r *http.Request) {
	type issuerJSON struct {
		IssuerURL      string `json:"issuerUrl"`
		Audience       string `json:"audience"`
		ChallengeClaim string `json:"challengeClaim"`
		IssuerType     string `json:"issuerType"`
		SubjectDomain  string `json:"subjectDomain,omitempty"`
	}
	out := []issuerJSON{}
	for _, is := range c.cfg.Issuers {
		claim := "sub"
		if is.Type == TypeEmail {
			claim = "email"
		}
		aud := is.ClientID
		if aud == "" {
			aud = "sigstore"
		}
		out = append(out, issuerJSON{is.URL, aud, claim, is.Type, is.SubjectDomain})
	}
	writeJSON(w, http.StatusOK, map[string]any{"issuers": out})
}

func (c *CA) serveRootCert(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	io.WriteString(w, pemString(c.keys.inter)+pemString(c.keys.root))
}
