package rekor

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/client"

	"github.com/waxseal/waxseal/common/tlog"
)

func signDigest(s crypto.Signer, msg []byte) ([]byte, error) {
	d := sha256.Sum256(msg)
	return s.Sign(rand.Reader, d[:], crypto.SHA256)
}

// timeFile is the append-only file of integration times: 16-byte records
// (big-endian index, unix seconds), in completion order. Writers are group
// committed: whoever finds the file idle writes and fsyncs everything queued.
type timeFile struct {
	f     *os.File
	mu    sync.Mutex
	queue []timeReq
	busy  bool
}

type timeReq struct {
	rec  [16]byte
	done chan error
}

func openTimeFile(path string) (*timeFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("rekor: %w", err)
	}
	return &timeFile{f: f}, nil
}

// readAll returns every complete record and drops a torn tail.
func (t *timeFile) readAll() (map[uint64]int64, error) {
	b, err := io.ReadAll(io.NewSectionReader(t.f, 0, 1<<62))
	if err != nil {
		return nil, fmt.Errorf("rekor: reading integration times: %w", err)
	}
	n := len(b) / 16 * 16
	if n != len(b) {
		if err := t.f.Truncate(int64(n)); err != nil {
			return nil, fmt.Errorf("rekor: truncating torn integration time: %w", err)
		}
	}
	m := make(map[uint64]int64, n/16)
	for i := 0; i < n; i += 16 {
		idx := binary.BigEndian.Uint64(b[i:])
		if _, ok := m[idx]; !ok {
			m[idx] = int64(binary.BigEndian.Uint64(b[i+8:]))
		}
	}
	if _, err := t.f.Seek(int64(n), io.SeekStart); err != nil {
		return nil, err
	}
	return m, nil
}

// commit durably records the integration times of the given entries.
func (t *timeFile) commit(idx []uint64, ts int64) error {
	done := make(chan error, 1)
	t.mu.Lock()
	for _, i := range idx {
		var r timeReq
		binary.BigEndian.PutUint64(r.rec[:], i)
		binary.BigEndian.PutUint64(r.rec[8:], uint64(ts))
		if i == idx[len(idx)-1] {
			r.done = done
		}
		t.queue = append(t.queue, r)
	}
	if t.busy {
		t.mu.Unlock()
		return <-done
	}
	t.busy = true
	for len(t.queue) > 0 {
		q := t.queue
		t.queue = nil
		t.mu.Unlock()
		buf := make([]byte, 0, 16*len(q))
		for _, r := range q {
			buf = append(buf, r.rec[:]...)
		}
		_, err := t.f.Write(buf)
		if err == nil {
			err = t.f.Sync()
		}
		for _, r := range q {
			if r.done != nil {
				r.done <- err
			}
		}
		t.mu.Lock()
	}
	t.busy = false
	t.mu.Unlock()
	return <-done
}

func (t *timeFile) close() error { return t.f.Close() }

// tileCache reads hash tiles and entry bundles for any tree size up to the
// integrated one. Full tiles are immutable and cached. A partial tile of
// width w may have been replaced by a wider one, because the tree grew
// past a size that was never a batch boundary or the partial file was
// garbage collected; its first w hashes are the same, so the widest
// available version is read and cut.
type tileCache struct {
	dir    string
	reader tessera.LogReader
	mu     sync.Mutex
	full   map[[2]uint64][]byte
}

func newTileCache(dir string, r tessera.LogReader) *tileCache {
	return &tileCache{dir: dir, reader: r, full: map[[2]uint64][]byte{}}
}

func (c *tileCache) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	key := [2]uint64{level, index}
	c.mu.Lock()
	t, ok := c.full[key]
	c.mu.Unlock()
	if !ok {
		var err error
		t, err = readPartialOrWider(filepath.Join(c.dir, layout.TilePath(level, index, 0)), p, 32)
		if err != nil {
			return nil, err
		}
		if len(t) == 32*layout.TileWidth {
			c.mu.Lock()
			if len(c.full) > 1<<14 {
				clear(c.full)
			}
			c.full[key] = t
			c.mu.Unlock()
		}
	}
	if p != 0 && len(t) > 32*int(p) {
		t = t[:32*int(p)]
	}
	return t, nil
}

// readPartialOrWider reads the full resource, or the exact partial, or the
// smallest wider partial, and cuts it to p elements of n bytes (n = 0 for
// entry bundles, which are cut by the caller).
func readPartialOrWider(fullPath string, p uint8, n int) ([]byte, error) {
	if p != 0 {
		if b, err := os.ReadFile(fmt.Sprintf("%s.p/%d", fullPath, p)); err == nil {
			return b, nil
		}
	}
	if b, err := os.ReadFile(fullPath); err == nil {
		return b, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if p == 0 {
		return nil, fmt.Errorf("%s: %w", fullPath, os.ErrNotExist)
	}
	ents, err := os.ReadDir(fullPath + ".p")
	if err != nil {
		return nil, err
	}
	best := 0
	for _, e := range ents {
		w, err := strconv.Atoi(e.Name())
		if err == nil && w >= int(p) && (best == 0 || w < best) {
			best = w
		}
	}
	if best == 0 {
		return nil, fmt.Errorf("%s.p/%d: %w", fullPath, p, os.ErrNotExist)
	}
	return os.ReadFile(fmt.Sprintf("%s.p/%d", fullPath, best))
}

// readBody returns the leaf at index in a tree of the given size.
func (l *Log) readBody(ctx context.Context, index, size uint64) ([]byte, error) {
	bi := index / layout.EntryBundleWidth
	p := layout.PartialTileSize(0, bi, size)
	raw, err := readPartialOrWider(filepath.Join(l.cfg.Dir, layout.EntriesPath(bi, 0)), p, 0)
	if err != nil {
		return nil, err
	}
	var b api.EntryBundle
	if err := b.UnmarshalText(raw); err != nil {
		return nil, err
	}
	i := int(index % layout.EntryBundleWidth)
	if i >= len(b.Entries) {
		return nil, fmt.Errorf("entry %d missing from bundle %d", index, bi)
	}
	return b.Entries[i], nil
}

// rebuild reads the whole log and rebuilds the in-memory index.
func (l *Log) rebuild(ctx context.Context) error {
	times, err := l.times.readAll()
	if err != nil {
		return err
	}
	size, _, err := l.treeState()
	if errors.Is(err, os.ErrNotExist) {
		size = 0
	} else if err != nil {
		return fmt.Errorf("rekor: %w", err)
	}
	var missing []uint64
	l.itime = make([]int64, size)
	for bi := uint64(0); bi*layout.EntryBundleWidth < size; bi++ {
		p := layout.PartialTileSize(0, bi, size)
		raw, err := readPartialOrWider(filepath.Join(l.cfg.Dir, layout.EntriesPath(bi, 0)), p, 0)
		if err != nil {
			return fmt.Errorf("rekor: reading entry bundle %d: %w", bi, err)
		}
		var b api.EntryBundle
		if err := b.UnmarshalText(raw); err != nil {
			return fmt.Errorf("rekor: entry bundle %d: %w", bi, err)
		}
		for j, body := range b.Entries {
			idx := bi*layout.EntryBundleWidth + uint64(j)
			if idx >= size {
				break
			}
			e, err := tlog.ParseBody(body)
			if err != nil {
				return fmt.Errorf("rekor: entry %d: %w", idx, err)
			}
			l.index(idx, tlog.LeafHash(body), e.IndexKeys)
			if t, ok := times[idx]; ok {
				l.itime[idx] = t
			} else {
				missing = append(missing, idx)
			}
		}
	}
	if len(missing) > 0 {
		now := l.cfg.Now().Unix()
		if err := l.times.commit(missing, now); err != nil {
			return fmt.Errorf("rekor: recording recovery times: %w", err)
		}
		for _, idx := range missing {
			l.itime[idx] = now
		}
	}
	return nil
}

// index records an entry in the maps; l.mu must be held (or not yet shared).
func (l *Log) index(idx uint64, leaf []byte, keys []string) {
	var k [32]byte
	copy(k[:], leaf)
	if _, ok := l.byLeaf[k]; !ok {
		l.byLeaf[k] = idx
	}
	for _, key := range keys {
		l.search[key] = append(l.search[key], idx)
	}
}

// errDuplicate is returned by add with the index of the existing entry.
var errDuplicate = errors.New("duplicate entry")

// add appends a canonical entry and returns its index and integration
// time once both are durable. A duplicate returns the existing entry's and
// errDuplicate.
func (l *Log) add(ctx context.Context, e *tlog.Entry) (uint64, int64, error) {
	var k [32]byte
	copy(k[:], tlog.LeafHash(e.Body))
	l.mu.Lock()
	if idx, ok := l.byLeaf[k]; ok {
		t := l.itime[idx]
		l.mu.Unlock()
		return idx, t, errDuplicate
	}
	if p, ok := l.pending[k]; ok {
		l.mu.Unlock()
		select {
		case <-p.done:
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		}
		if p.err != nil {
			return 0, 0, p.err
		}
		return p.index, p.t, errDuplicate
	}
	p := &pending{done: make(chan struct{})}
	l.pending[k] = p
	l.mu.Unlock()

	defer func() {
		l.mu.Lock()
		delete(l.pending, k)
		l.mu.Unlock()
		close(p.done)
	}()
	// The request may go away; the append must not be abandoned halfway.
	actx := context.WithoutCancel(ctx)
	res, err := l.appender.Add(actx, tessera.NewEntry(e.Body))()
	if err != nil {
		p.err = fmt.Errorf("appending: %w", err)
		return 0, 0, p.err
	}
	t := l.cfg.Now().Unix()
	if err := l.times.commit([]uint64{res.Index}, t); err != nil {
		p.err = fmt.Errorf("recording integration time: %w", err)
		return 0, 0, p.err
	}
	l.mu.Lock()
	if n := res.Index + 1; uint64(len(l.itime)) < n {
		if uint64(cap(l.itime)) >= n {
			l.itime = l.itime[:n]
		} else {
			it := make([]int64, n, n*5/4+1024)
			copy(it, l.itime)
			l.itime = it
		}
	}
	l.itime[res.Index] = t
	l.index(res.Index, k[:], e.IndexKeys)
	l.mu.Unlock()
	p.index, p.t = res.Index, t
	return res.Index, t, nil
}

// lookup returns the integration time of an acknowledged entry.
func (l *Log) lookup(idx uint64) (int64, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if idx >= uint64(len(l.itime)) || l.itime[idx] == 0 {
		return 0, false
	}
	return l.itime[idx], true
}

func (l *Log) lookupLeaf(uuid string) (uint64, bool) {
	b, err := hex.DecodeString(uuid)
	if err != nil || len(b) != 32 {
		return 0, false
	}
	var k [32]byte
	copy(k[:], b)
	l.mu.RLock()
	idx, ok := l.byLeaf[k]
	l.mu.RUnlock()
	if !ok {
		return 0, false
	}
	_, ok = l.lookup(idx)
	return idx, ok
}

// checkpoint returns the signed checkpoint for (size, root), signing it once.
func (l *Log) checkpoint(size uint64, root []byte) ([]byte, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if cp, ok := l.cps[size]; ok {
		if !bytes.Equal(cp.root, root) {
			return nil, fmt.Errorf("tree of size %d has two roots %x and %x", size, cp.root, root)
		}
		return cp.text, nil
	}
	text, err := tlog.SignCheckpoint(l.cfg.Signer, l.cfg.Hostname, l.cfg.TreeID, size, root)
	if err != nil {
		return nil, err
	}
	if len(l.cps) >= 256 {
		var min uint64 = 1<<64 - 1
		for s := range l.cps {
			min = minU(min, s)
		}
		delete(l.cps, min)
	}
	l.cps[size] = signedCP{root: root, text: text}
	return text, nil
}

func minU(a, b uint64) uint64 {
	if a < b {
		return a
	}
	return b
}

// entry builds the full answer for an entry: SET, inclusion proof against
// the current integrated tree, and a checkpoint for that tree.
func (l *Log) entry(ctx context.Context, idx uint64, body []byte, t int64) (string, tlog.LogEntryValue, error) {
	size, root, err := l.treeState()
	if err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	if idx >= size {
		return "", tlog.LogEntryValue{}, fmt.Errorf("entry %d is beyond the integrated tree of size %d", idx, size)
	}
	if body == nil {
		if body, err = l.readBody(ctx, idx, size); err != nil {
			return "", tlog.LogEntryValue{}, err
		}
	}
	leaf := tlog.LeafHash(body)
	pb, err := client.NewProofBuilder(ctx, size, l.tiles.ReadTile)
	if err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	hashes, err := pb.InclusionProof(ctx, idx)
	if err != nil {
		return "", tlog.LogEntryValue{}, fmt.Errorf("building inclusion proof: %w", err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, size, leaf, hashes, root); err != nil {
		return "", tlog.LogEntryValue{}, fmt.Errorf("own inclusion proof of %d in %d does not verify: %w", idx, size, err)
	}
	cp, err := l.checkpoint(size, root)
	if err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	set, err := tlog.SignSET(l.cfg.Signer, body, t, l.logIDHex, int64(idx))
	if err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	hexes := make([]string, len(hashes))
	for i, h := range hashes {
		hexes[i] = hex.EncodeToString(h)
	}
	id := tlog.EntryID(l.cfg.TreeID, hex.EncodeToString(leaf))
	return id, tlog.LogEntryValue{
		Body: body, IntegratedTime: t, LogID: l.logIDHex, LogIndex: int64(idx),
		Verification: &tlog.Verification{
			SignedEntryTimestamp: set,
			InclusionProof: &tlog.InclusionProof{
				Checkpoint: string(cp), Hashes: hexes, LogIndex: int64(idx),
				RootHash: hex.EncodeToString(root), TreeSize: int64(size),
			},
		},
	}, nil
}

// rootAt returns the root of the tree of the given size, up to the
// integrated size.
func (l *Log) rootAt(ctx context.Context, size uint64) ([]byte, error) {
	cur, root, err := l.treeState()
	if err != nil {
		return nil, err
	}
	switch {
	case size == cur:
		return root, nil
	case size > cur:
		return nil, fmt.Errorf("tree size %d is beyond the current size %d", size, cur)
	case size == 0:
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	leaves, err := client.FetchLeafHashes(ctx, l.tiles.ReadTile, size-1, 1, size)
	if err != nil {
		return nil, err
	}
	pb, err := client.NewProofBuilder(ctx, size, l.tiles.ReadTile)
	if err != nil {
		return nil, err
	}
	h, err := pb.InclusionProof(ctx, size-1)
	if err != nil {
		return nil, err
	}
	return proof.RootFromInclusionProof(rfc6962.DefaultHasher, size-1, size, leaves[0], h)
}

// consistency returns a consistency proof from first to last and the root at last.
func (l *Log) consistency(ctx context.Context, first, last uint64) ([][]byte, []byte, error) {
	root, err := l.rootAt(ctx, last)
	if err != nil {
		return nil, nil, err
	}
	pb, err := client.NewProofBuilder(ctx, last, l.tiles.ReadTile)
	if err != nil {
		return nil, nil, err
	}
	h, err := pb.ConsistencyProof(ctx, first, last)
	if err != nil {
		return nil, nil, err
	}
	return h, root, nil
}
