// Package server is the embedded keyless stack — "sigstore in a box" — that
// `waxseal serve` runs: one process, one port, one data directory.
//
//	/api/v2/signingCert, /api/v2/trustBundle,     certificate authority (Fulcio v2 REST)
//	/api/v2/configuration, /api/v1/rootCert
//	/ct/v1/add-pre-chain, /ct/v1/get-roots         certificate-transparency log (RFC 6962)
//	/api/v1/log/..., /api/v1/index/retrieve        signature transparency log (Rekor v1 REST)
//	/oidc/...                                      development OpenID issuer (only with DevOIDC)
//	/trusted_root.json, /signing_config.json       this instance, in Sigstore's formats
//
// The first start creates every key under the data directory (CA root and
// intermediate, log key, CT log key, dev issuer key); later starts reuse
// them, so a trusted root once pinned stays valid.
//
// Everything but HTTP is internal: clients (ours, cosign, sigstore-go,
// gitsign) see only the published protocols.
package server

import (
	"context"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/tufrepo"
	"github.com/waxseal/waxseal/server/internal/ca"
	"github.com/waxseal/waxseal/server/internal/ctlog"
	"github.com/waxseal/waxseal/server/internal/devoidc"
	"github.com/waxseal/waxseal/server/internal/keyfile"
	"github.com/waxseal/waxseal/server/internal/rekor"
)

// Config is the operator's configuration of the stack.
type Config struct {
	// Dir is the data directory: keys, logs, indexes. Created if missing
	// (mode 0700). One process at a time may own it.
	Dir string

	// URL is the base URL clients reach this server at, e.g.
	// "http://127.0.0.1:8080". It names the CA and logs in the trusted root
	// and is the dev issuer's issuer URL, so it must be exactly what clients
	// use.
	URL string

	// DevOIDC mounts the development OpenID issuer at URL+"/oidc" (email
	// identities) and URL+"/oidc/actions" (CI workload identities), and
	// trusts both at the CA. Anyone who can reach it can get a certificate
	// for any identity: never enable it on a shared network.
	DevOIDC bool

	// Issuers are the OIDC issuers the CA accepts, besides the dev issuer.
	// See LoadIssuers for the configuration file format.
	Issuers []ca.Issuer

	// Logger receives operational messages. Default: discard.
	Logger *slog.Logger
}

// Server is a running stack.
type Server struct {
	cfg     Config
	ca      *ca.CA
	ct      *ctlog.Log
	rekor   *rekor.Log
	dev     *devoidc.Provider
	mux     *http.ServeMux
	root    []byte
	signing []byte
	tuf     *tufRepo
}

// New opens the stack's data directory, creating keys on first start.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, errors.New("server: data directory is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("server: URL %q must be http(s)://host[:port] with no path", cfg.URL)
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	quietKlog(cfg.Logger)
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux()}
	if err := s.open(ctx, u); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) open(ctx context.Context, u *url.URL) error {
	cfg := s.cfg
	issuers := append([]ca.Issuer(nil), cfg.Issuers...)
	if cfg.DevOIDC {
		dev, err := devoidc.New(devoidc.Config{Issuer: cfg.URL + "/oidc", Dir: filepath.Join(cfg.Dir, "oidc")})
		if err != nil {
			return fmt.Errorf("server: dev OIDC issuer: %w", err)
		}
		s.dev = dev
		s.mux.Handle("/oidc/", http.StripPrefix("/oidc", dev.Handler()))
		issuers = append(issuers,
			ca.Issuer{URL: dev.Issuer(), ClientID: "sigstore", Type: ca.TypeEmail},
			ca.Issuer{URL: dev.ActionsIssuer(), ClientID: "sigstore", Type: ca.TypeGitHubWorkflow},
		)
	}
	if len(issuers) == 0 {
		return errors.New("server: no OIDC issuer configured: pass --config with issuers, or --dev-oidc for a development issuer")
	}

	ctKey, err := keyfile.ECDSA(filepath.Join(cfg.Dir, "ct", "ct-log-key.pem"), elliptic.P256())
	if err != nil {
		return fmt.Errorf("server: CT log key: %w", err)
	}
	// The CT log is public: it takes precertificates chaining to this CA
	// only, and lists its root at get-roots.
	caRoot, err := ca.LoadRoot(filepath.Join(cfg.Dir, "ca"), "")
	if err != nil {
		return fmt.Errorf("server: CA: %w", err)
	}
	if s.ct, err = ctlog.Open(ctx, ctlog.Config{Dir: filepath.Join(cfg.Dir, "ct", "log"), Signer: ctKey, Origin: u.Host + "/ct", Roots: []*x509.Certificate{caRoot}}); err != nil {
		return fmt.Errorf("server: CT log: %w", err)
	}
	if s.ca, err = ca.New(ctx, ca.Config{Dir: filepath.Join(cfg.Dir, "ca"), Issuers: issuers, CT: s.ct}); err != nil {
		return fmt.Errorf("server: CA: %w", err)
	}

	logKey, err := keyfile.ECDSA(filepath.Join(cfg.Dir, "rekor", "log-key.pem"), elliptic.P256())
	if err != nil {
		return fmt.Errorf("server: log key: %w", err)
	}
	treeID, err := loadTreeID(filepath.Join(cfg.Dir, "rekor", "tree-id"))
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if s.rekor, err = rekor.Open(ctx, rekor.Config{Dir: filepath.Join(cfg.Dir, "rekor", "log"), Signer: logKey, Hostname: u.Hostname(), TreeID: treeID}); err != nil {
		return fmt.Errorf("server: transparency log: %w", err)
	}

	chain := s.ca.Chain()
	start := chain[len(chain)-1].NotBefore
	if s.root, err = trust.NewRoot(trust.RootSpec{
		CAURI:   cfg.URL,
		CAChain: chain,
		TLogs:   []trust.LogSpec{{BaseURL: cfg.URL, Key: logKey.Public()}},
		CTLogs:  []trust.LogSpec{{BaseURL: cfg.URL + "/ct", Key: ctKey.Public()}},
		Start:   start,
	}); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	sc := trust.SigningConfigSpec{CAURL: cfg.URL, RekorURL: cfg.URL, Operator: u.Host, Start: start}
	if s.dev != nil {
		sc.OIDCURL = s.dev.Issuer()
	}
	if s.signing, err = trust.NewSigningConfig(sc); err != nil {
		return fmt.Errorf("server: %w", err)
	}

	caH, ctH, logH := s.ca.Handler(), s.ct.Handler(), s.rekor.Handler()
	for _, p := range []string{"/api/v2/", "/api/v1/rootCert", "/api/v1/signingCert"} {
		s.mux.Handle(p, caH)
	}
	s.mux.Handle("/ct/", http.StripPrefix("/ct", ctH))
	s.mux.Handle("/api/v1/log/", logH)
	s.mux.Handle("/api/v1/log", logH)
	s.mux.Handle("/api/v1/index/", logH)
	s.mux.HandleFunc("GET "+trust.TrustedRootPath, s.serveDoc(s.root))
	s.mux.HandleFunc("GET "+trust.SigningConfigPath, s.serveDoc(s.signing))
	if s.tuf, err = openTUF(filepath.Join(cfg.Dir, "tuf"), map[string][]byte{
		"trusted_root.json":        s.root,
		"signing_config.v0.2.json": s.signing,
	}, time.Now); err != nil {
		return fmt.Errorf("server: TUF repository: %w", err)
	}
	s.mux.Handle("GET "+TUFPath+"/", s.tuf)
	s.mux.HandleFunc("GET /{$}", s.index)
	return nil
}

func (s *Server) serveDoc(doc []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(doc)
	}
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "waxseal keyless signing stack at %s\n\n", s.cfg.URL)
	fmt.Fprintf(w, "trusted root:    %s%s  (%s)\n", s.cfg.URL, trust.TrustedRootPath, trust.Fingerprint(s.root))
	fmt.Fprintf(w, "signing config:  %s%s\n", s.cfg.URL, trust.SigningConfigPath)
	fmt.Fprintf(w, "TUF repository:  %s%s  (root %s%s/%s, sha256 %s)\n", s.cfg.URL, TUFPath, s.cfg.URL, TUFPath, tufrepo.RootFile, s.tuf.RootFingerprint())
	if s.dev != nil {
		fmt.Fprintf(w, "dev OIDC issuer: %s  (development only)\n", s.dev.Issuer())
	}
	fmt.Fprintf(w, "\npin it with:     waxseal trust init --from %s\n", s.cfg.URL)
	fmt.Fprintf(w, "or, for cosign:  cosign initialize --mirror %s%s --root %s%s/%s --root-checksum %s\n", s.cfg.URL, TUFPath, s.cfg.URL, TUFPath, tufrepo.RootFile, s.tuf.RootFingerprint())
}

// Handler serves the whole stack.
func (s *Server) Handler() http.Handler { return s.mux }

// TrustedRoot is this instance's trusted_root.json.
func (s *Server) TrustedRoot() []byte { return s.root }

// TUFRootFingerprint is the hex SHA-256 of the TUF repository's root
// metadata (TUFPath/1.root.json), for cosign initialize --root-checksum.
func (s *Server) TUFRootFingerprint() string { return s.tuf.RootFingerprint() }

// SigningConfig is this instance's signing_config.json.
func (s *Server) SigningConfig() []byte { return s.signing }

// DevIssuer is the dev OIDC issuer URL, or "" when it is off.
func (s *Server) DevIssuer() string {
	if s.dev == nil {
		return ""
	}
	return s.dev.Issuer()
}

// Banner is the warnings the operator must see at start.
func (s *Server) Banner() string {
	if s.dev == nil {
		return ""
	}
	return s.dev.Banner()
}

// Close flushes and closes the logs.
func (s *Server) Close() error {
	var errs []error
	if s.rekor != nil {
		errs = append(errs, s.rekor.Close())
	}
	if s.ct != nil {
		errs = append(errs, s.ct.Close())
	}
	return errors.Join(errs...)
}

// loadTreeID reads the log's tree ID, choosing a random one on first start.
// Rekor v1 checkpoints name the tree in their origin.
func loadTreeID(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		id, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || id <= 0 {
			return 0, fmt.Errorf("%s: bad tree ID", path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	id := int64(binary.BigEndian.Uint64(b[:]) >> 1)
	if id == 0 {
		id = 1
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, err
	}
	return id, os.WriteFile(path, []byte(strconv.FormatInt(id, 10)+"\n"), 0o600)
}
