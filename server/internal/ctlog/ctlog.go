// Package ctlog is an RFC 6962 certificate-transparency log for precertificates, stored as a
// static-ct-api tile tree with Tessera's POSIX driver.
//
// It exists so that the embedded CA can issue certificates with embedded SCTs, which
// sigstore-go and cosign require by default. The write path is RFC 6962:
//
//	POST /ct/v1/add-pre-chain  {"chain":[base64 DER precert, base64 DER issuer, ...]}
//	  -> {"sct_version":0,"id":...,"timestamp":...,"extensions":...,"signature":...}
//	GET  /ct/v1/get-roots      {"certificates":[base64 DER, ...]}
//
// and the read path is the static-ct-api layout Tessera writes (checkpoint, tile/...,
// tile/data/..., issuer/<sha256 hex>), served from the same handler.
//
// Every SCT carries the static-ct-api leaf_index extension, because the Merkle tree leaf
// that Tessera's CT layout stores commits to it: an SCT without it would not match its leaf.
// RFC 6962 verifiers treat SCT extensions as opaque signed bytes, so this is compatible with
// certificate-transparency-go and sigstore-go.
//
// An SCT is returned once the entry is durably sequenced, not when a checkpoint covering it
// is published; that is the RFC 6962 promise (a maximum merge delay), and it keeps the CA's
// latency independent of the checkpoint interval.
package ctlog

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	ctx509 "github.com/google/certificate-transparency-go/x509"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/ctonly"
	"github.com/transparency-dev/tessera/storage/posix"
)

// Config is the operator's configuration of a CT log.
type Config struct {
	// Dir holds the tile tree (checkpoint, tile/, tile/data/), the issuer certificates
	// (issuer/<sha256 hex of DER>) and Tessera's state (.state/). It is created if missing.
	// One process at a time may own it.
	Dir string

	// Signer is the log key: ECDSA P-256, as RFC 6962 and sigstore verifiers expect. It signs
	// SCTs and checkpoints. The caller owns its persistence; the log ID is derived from it.
	Signer crypto.Signer

	// Origin is the checkpoint origin line (static-ct-api: the log's submission prefix without
	// scheme, e.g. "ct.example.com/2026"). Defaults to "waxseal-ct".
	Origin string

	// Roots are the accepted trust anchors: a submitted chain must end at (or be issued by)
	// one of them, and GET /ct/v1/get-roots lists them. If empty, any chain whose signatures
	// verify is accepted; that is only appropriate when the log is private to one CA that
	// submits in-process.
	Roots []*x509.Certificate

	// Now is the clock for SCT and checkpoint timestamps. Defaults to time.Now.
	Now func() time.Time

	// CheckpointInterval is how often Tessera publishes a checkpoint. Defaults to 1s; Tessera
	// refuses less than 100ms.
	CheckpointInterval time.Duration
}

// Log is an open CT log. Its methods are safe for concurrent use.
type Log struct {
	signer   crypto.Signer
	pub      *ecdsa.PublicKey
	logID    [32]byte
	now      func() time.Time
	dir      string
	roots    []*ctx509.Certificate
	rootsDER [][]byte

	add      func(context.Context, *ctonly.Entry) tessera.IndexFuture
	shutdown func(context.Context) error
	cancel   context.CancelFunc

	issuerMu sync.Mutex
	issuers  map[[32]byte]bool // already written to issuer/
}

// Open opens (or creates) the log in cfg.Dir.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("ctlog: Config.Dir is required")
	}
	if cfg.Signer == nil {
		return nil, errors.New("ctlog: Config.Signer is required")
	}
	pub, ok := cfg.Signer.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("ctlog: log key must be ECDSA P-256, got %T", cfg.Signer.Public())
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("ctlog: marshal log key: %w", err)
	}
	l := &Log{
		signer:  cfg.Signer,
		pub:     pub,
		logID:   sha256.Sum256(spki),
		now:     cfg.Now,
		dir:     cfg.Dir,
		issuers: make(map[[32]byte]bool),
	}
	if l.now == nil {
		l.now = time.Now
	}
	for _, r := range cfg.Roots {
		c, err := ctx509.ParseCertificate(r.Raw)
		if err != nil && ctx509.IsFatal(err) {
			return nil, fmt.Errorf("ctlog: parse root %q: %w", r.Subject, err)
		}
		l.roots = append(l.roots, c)
		l.rootsDER = append(l.rootsDER, r.Raw)
	}
	origin := cfg.Origin
	if origin == "" {
		origin = "waxseal-ct"
	}
	interval := cfg.CheckpointInterval
	if interval <= 0 {
		interval = time.Second
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "issuer"), 0o755); err != nil {
		return nil, fmt.Errorf("ctlog: %w", err)
	}
	drv, err := posix.New(ctx, posix.Config{Path: cfg.Dir})
	if err != nil {
		return nil, fmt.Errorf("ctlog: posix driver: %w", err)
	}
	ns := &noteSigner{name: origin, signer: cfg.Signer, logID: l.logID, now: l.now}
	ns.hash = noteKeyHash(origin, l.logID)
	opts := tessera.NewAppendOptions().
		WithCTLayout().
		WithCheckpointSigner(ns).
		WithBatching(256, 5*time.Millisecond).
		WithCheckpointInterval(interval)
	// The appender's background work lives as long as the log, not as long as Open's ctx.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	app, shutdown, _, err := tessera.NewAppender(bg, drv, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("ctlog: tessera appender: %w", err)
	}
	l.add = tessera.NewCertificateTransparencyAppender(app)
	l.shutdown = shutdown
	l.cancel = cancel
	return l, nil
}

// LogID is the RFC 6962 log ID: SHA-256 of the DER SubjectPublicKeyInfo of the log key.
func (l *Log) LogID() [32]byte { return l.logID }

// PublicKey is the log's public key, as listed in a trusted root's ctlogs.
func (l *Log) PublicKey() crypto.PublicKey { return l.pub }

// Close flushes outstanding entries and stops background work.
func (l *Log) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := l.shutdown(ctx)
	l.cancel()
	return err
}

// ChainError reports a submitted chain the log refuses. The HTTP handler maps it to 400.
type ChainError struct{ msg string }

func (e *ChainError) Error() string { return "ctlog: " + e.msg }

func chainErr(format string, a ...any) error { return &ChainError{fmt.Sprintf(format, a...)} }

// AddPreChain logs a precertificate. chain[0] is the DER precertificate (with the critical
// poison extension), chain[1] its issuer, and so on towards a root. It returns the SCT once
// the entry has a durable index.
func (l *Log) AddPreChain(ctx context.Context, chain [][]byte) (*ct.SignedCertificateTimestamp, error) {
	if len(chain) < 2 {
		return nil, chainErr("pre-chain needs the precertificate and its issuer, got %d certificate(s)", len(chain))
	}
	certs := make([]*ctx509.Certificate, len(chain))
	for i, der := range chain {
		c, err := ctx509.ParseCertificate(der)
		if err != nil && ctx509.IsFatal(err) {
			return nil, chainErr("certificate %d: %v", i, err)
		}
		if c == nil {
			return nil, chainErr("certificate %d: unparseable", i)
		}
		certs[i] = c
	}
	pre, issuer := certs[0], certs[1]
	if !pre.IsPrecertificate() {
		return nil, chainErr("certificate 0 is not a precertificate (no critical poison extension)")
	}
	if ct.IsPreIssuer(issuer) {
		// A precertificate signing certificate would need the TBS issuer rewritten; our CA
		// signs precertificates with the final issuer, and we keep the code path small.
		return nil, chainErr("precertificate signing certificates are not supported")
	}
	for i := 0; i+1 < len(certs); i++ {
		if !certs[i+1].IsCA {
			return nil, chainErr("certificate %d is not a CA", i+1)
		}
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, chainErr("certificate %d is not signed by certificate %d: %v", i, i+1, err)
		}
	}
	if err := l.checkRoot(certs[len(certs)-1]); err != nil {
		return nil, err
	}
	tbs, err := ctx509.BuildPrecertTBS(pre.RawTBSCertificate, nil)
	if err != nil {
		return nil, chainErr("precertificate TBS: %v", err)
	}
	entry := &ctonly.Entry{
		Timestamp:      uint64(l.now().UnixMilli()),
		IsPrecert:      true,
		Certificate:    tbs,
		Precertificate: chain[0],
		IssuerKeyHash:  keyHash(issuer),
	}
	for _, der := range chain[1:] {
		fp := sha256.Sum256(der)
		entry.FingerprintsChain = append(entry.FingerprintsChain, fp)
		if err := l.storeIssuer(fp, der); err != nil {
			return nil, err
		}
	}
	idx, err := l.add(ctx, entry)()
	if err != nil {
		return nil, fmt.Errorf("ctlog: append: %w", err)
	}
	return l.signSCT(entry, idx.Index)
}

func keyHash(c *ctx509.Certificate) []byte {
	h := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return h[:]
}

func (l *Log) checkRoot(last *ctx509.Certificate) error {
	if len(l.roots) == 0 {
		return nil
	}
	for _, r := range l.roots {
		if string(r.Raw) == string(last.Raw) {
			return nil
		}
	}
	for _, r := range l.roots {
		if last.CheckSignatureFrom(r) == nil {
			return nil
		}
	}
	return chainErr("chain does not end at an accepted root")
}

func (l *Log) storeIssuer(fp [32]byte, der []byte) error {
	l.issuerMu.Lock()
	defer l.issuerMu.Unlock()
	if l.issuers[fp] {
		return nil
	}
	p := filepath.Join(l.dir, "issuer", hex.EncodeToString(fp[:]))
	if _, err := os.Stat(p); err != nil {
		tmp := p + ".tmp"
		if err := os.WriteFile(tmp, der, 0o644); err != nil {
			return fmt.Errorf("ctlog: store issuer: %w", err)
		}
		if err := os.Rename(tmp, p); err != nil {
			return fmt.Errorf("ctlog: store issuer: %w", err)
		}
	}
	l.issuers[fp] = true
	return nil
}

// leafIndexExtension is the static-ct-api CtExtensions value: one leaf_index extension
// (type 0, uint16 length 5, uint40 index), as Tessera's ctonly package writes into the leaf.
func leafIndexExtension(idx uint64) []byte {
	return []byte{0, 0, 5, byte(idx >> 32), byte(idx >> 24), byte(idx >> 16), byte(idx >> 8), byte(idx)}
}

func (l *Log) signSCT(e *ctonly.Entry, idx uint64) (*ct.SignedCertificateTimestamp, error) {
	sct := ct.SignedCertificateTimestamp{
		SCTVersion: ct.V1,
		LogID:      ct.LogID{KeyID: l.logID},
		Timestamp:  e.Timestamp,
		Extensions: ct.CTExtensions(leafIndexExtension(idx)),
	}
	leaf := ct.LogEntry{Leaf: ct.MerkleTreeLeaf{
		Version:  ct.V1,
		LeafType: ct.TimestampedEntryLeafType,
		TimestampedEntry: &ct.TimestampedEntry{
			Timestamp:    e.Timestamp,
			EntryType:    ct.PrecertLogEntryType,
			PrecertEntry: &ct.PreCert{IssuerKeyHash: [32]byte(e.IssuerKeyHash), TBSCertificate: e.Certificate},
			Extensions:   sct.Extensions,
		},
	}}
	input, err := ct.SerializeSCTSignatureInput(sct, leaf)
	if err != nil {
		return nil, fmt.Errorf("ctlog: serialize SCT input: %w", err)
	}
	sig, err := l.sign(input)
	if err != nil {
		return nil, err
	}
	sct.Signature = sig
	return &sct, nil
}

func (l *Log) sign(msg []byte) (ct.DigitallySigned, error) {
	d := sha256.Sum256(msg)
	sig, err := l.signer.Sign(rand.Reader, d[:], crypto.SHA256)
	if err != nil {
		return ct.DigitallySigned{}, fmt.Errorf("ctlog: sign: %w", err)
	}
	return ct.DigitallySigned{
		Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA},
		Signature: sig,
	}, nil
}
