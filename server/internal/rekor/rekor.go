// Package rekor is waxseal's signature transparency log: the Rekor v1 REST
// API (see package common/tlog for the formats) over a Merkle tree stored by
// Tessera's POSIX driver.
//
// The tree is the only source of truth. Beside it the log keeps one side
// file, the integration times, written and fsynced before an entry is
// acknowledged. Everything else (UUID to index, the search index) lives in
// memory and is rebuilt from the entry bundles when the log opens. An entry
// that Tessera integrated but whose time was never written (a crash between
// the two) was never acknowledged; it gets the recovery time.
//
// Answers do not wait for Tessera to publish a checkpoint. Once Tessera has
// integrated a batch (the POSIX driver does so synchronously), the log reads
// the integrated tree state once, builds inclusion proofs from hash tiles
// kept in memory, checks each against the tree root, and signs a Rekor v1
// checkpoint for that size itself, once per size. Every such checkpoint is
// consistent with every other one, because the tree only grows.
//
// Appends are group committed (see batch.go): the log lets one Tessera
// batch integrate at a time while the next one gathers entries, and each
// integrated batch shares one integration time, one fsync of the time file
// and one signed checkpoint.
package rekor

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/waxseal/waxseal/common/tlog"
)

// Defaults of the Tessera parameters in [Config].
const (
	DefaultBatchMaxAge        = 5 * time.Millisecond
	DefaultBatchMaxSize       = 512
	DefaultCheckpointInterval = time.Second
)

// Config configures a log. It is the operator's manual.
type Config struct {
	// Dir is the data directory of this log. It holds Tessera's tiles and
	// entry bundles (C2SP tlog-tiles layout, safe to serve as static files),
	// Tessera's own checkpoint (signed with the same key, published at most
	// every CheckpointInterval), and the file of integration times
	// ("integrated-times"). Back up the whole directory; nothing else is needed
	// to rebuild the log.
	Dir string
	// Signer is the log key: ECDSA P-256, because Sigstore verifiers accept
	// only ECDSA keys for signed entry timestamps. The log ID is SHA-256 of
	// its DER SubjectPublicKeyInfo. The caller creates and stores it.
	Signer crypto.Signer
	// Hostname names the log in checkpoints: the origin is
	// "<Hostname> - <TreeID>", the form Sigstore verifiers expect of a
	// Rekor v1 log. No spaces or '+'.
	Hostname string
	// TreeID identifies the tree; it prefixes entry IDs. Any positive number,
	// fixed for the life of the log.
	TreeID int64
	// Now is the clock used for integration times; time.Now if nil.
	Now func() time.Time

	// BatchMaxAge is how long Tessera waits to fill a batch before
	// integrating it; 5 ms if zero. It bounds the added latency of an append.
	BatchMaxAge time.Duration
	// BatchMaxSize is the largest batch; 512 if zero.
	BatchMaxSize uint
	// CheckpointInterval is how often Tessera publishes its own checkpoint
	// file; 1 s if zero (minimum 100 ms). API answers do not wait for it.
	CheckpointInterval time.Duration
}

// Log is an open log.
type Log struct {
	cfg      Config
	appender *tessera.Appender
	shutdown func(context.Context) error
	reader   tessera.LogReader
	cancel   context.CancelFunc

	logID    []byte
	logIDHex string
	pubPEM   []byte

	times *timeFile
	tiles *tileCache
	head  atomic.Pointer[tree] // latest integrated tree head

	mu      sync.RWMutex
	byLeaf  map[[32]byte]uint64
	itime   []int64 // index -> integration time; 0 while not yet acknowledged
	search  map[string][]uint64
	pending map[[32]byte]*pending

	tctx     context.Context // Tessera's context, for appends
	qmu      sync.Mutex
	inflight int // appends queued or in Tessera and not yet committed
	feed     feedState
	feedKick chan struct{}
	closing  bool
	resolved chan *appendReq // appends whose index Tessera has resolved
	kick     chan struct{}   // wakes the committer when closing
	stopped  chan struct{}   // closed when the committer returns
}

// pending is an append in flight; done is closed when the fields are set.
type pending struct {
	done  chan struct{}
	index uint64
	t     int64
	tree  *tree
	err   error
}

// Open opens (or creates) the log in cfg.Dir and rebuilds its index.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.Dir == "" || cfg.Signer == nil || cfg.Hostname == "" || cfg.TreeID <= 0 {
		return nil, errors.New("rekor: Dir, Signer, Hostname and a positive TreeID are required")
	}
	if _, ok := cfg.Signer.Public().(*ecdsa.PublicKey); !ok {
		return nil, fmt.Errorf("rekor: log key is %T, want ECDSA", cfg.Signer.Public())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BatchMaxAge == 0 {
		cfg.BatchMaxAge = DefaultBatchMaxAge
	}
	if cfg.BatchMaxSize == 0 {
		cfg.BatchMaxSize = DefaultBatchMaxSize
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	der, err := x509.MarshalPKIXPublicKey(cfg.Signer.Public())
	if err != nil {
		return nil, fmt.Errorf("rekor: %w", err)
	}
	logID, _ := tlog.LogID(cfg.Signer.Public())
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("rekor: %w", err)
	}

	l := &Log{
		cfg: cfg, logID: logID, logIDHex: hex.EncodeToString(logID),
		pubPEM:   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		byLeaf:   map[[32]byte]uint64{},
		search:   map[string][]uint64{},
		pending:  map[[32]byte]*pending{},
		resolved: make(chan *appendReq, 1024),
		kick:     make(chan struct{}, 1),
		feedKick: make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel, l.tctx = cancel, tctx
	drv, err := posix.New(tctx, posix.Config{Path: cfg.Dir})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("rekor: tessera: %w", err)
	}
	ns, err := newNoteSigner(cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(ns).
		WithBatching(cfg.BatchMaxSize, cfg.BatchMaxAge).
		WithCheckpointInterval(cfg.CheckpointInterval)
	l.appender, l.shutdown, l.reader, err = tessera.NewAppender(tctx, drv, opts)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("rekor: tessera: %w", err)
	}
	l.tiles = newTileCache(cfg.Dir)
	if l.times, err = openTimeFile(filepath.Join(cfg.Dir, "integrated-times")); err != nil {
		cancel()
		return nil, err
	}
	if err := l.rebuild(ctx); err != nil {
		l.times.close()
		cancel()
		return nil, err
	}
	go l.feeder(tctx)
	go l.committer(tctx)
	return l, nil
}

// newNoteSigner signs Tessera's own published checkpoints with the log key,
// in the same Rekor v1 format as the API's.
func newNoteSigner(cfg Config) (note.Signer, error) {
	hint, err := tlog.KeyHint(cfg.Signer.Public())
	if err != nil {
		return nil, err
	}
	return &tesseraSigner{cfg: cfg, hint: hint}, nil
}

type tesseraSigner struct {
	cfg  Config
	hint uint32
}

// Name is the origin of Tessera's own checkpoint file: Hostname. Note names
// cannot hold spaces, so it cannot be Rekor's "<host> - <treeID>"; the file
// is for monitors that read the tiles directly, not for Rekor clients.
func (s *tesseraSigner) Name() string    { return s.cfg.Hostname }
func (s *tesseraSigner) KeyHash() uint32 { return s.hint }
func (s *tesseraSigner) Sign(msg []byte) ([]byte, error) {
	return signDigest(s.cfg.Signer, msg)
}

// Close stops the appender, waiting for queued entries.
func (l *Log) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.qmu.Lock()
	l.closing = true
	l.qmu.Unlock()
	wake(l.kick)
	wake(l.feedKick)
	select {
	case <-l.stopped:
	case <-ctx.Done():
	}
	err := l.shutdown(ctx)
	l.cancel()
	if e := l.times.close(); err == nil {
		err = e
	}
	return err
}

// LogID is SHA-256 of the log key's DER SubjectPublicKeyInfo.
func (l *Log) LogID() []byte { return append([]byte(nil), l.logID...) }

// PublicKey is the log's public key.
func (l *Log) PublicKey() crypto.PublicKey { return l.cfg.Signer.Public() }

// treeState is the integrated (not necessarily published) tree head that
// Tessera's POSIX driver keeps in .state/treeState, replaced atomically after
// every integrated batch.
func (l *Log) treeState() (size uint64, root []byte, err error) {
	b, err := os.ReadFile(filepath.Join(l.cfg.Dir, ".state", "treeState"))
	if err != nil {
		return 0, nil, fmt.Errorf("reading tree state: %w", err)
	}
	var ts struct {
		Size uint64 `json:"size"`
		Root []byte `json:"root"`
	}
	if err := json.Unmarshal(b, &ts); err != nil {
		return 0, nil, fmt.Errorf("parsing tree state: %w", err)
	}
	return ts.Size, ts.Root, nil
}
