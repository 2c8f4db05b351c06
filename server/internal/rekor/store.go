package rekor

import (
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
	"sync"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api"
	"github.com/transparency-dev/tessera/api/layout"

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

// readBody returns the leaf at index in a tree of the given size.
func (l *Log) readBody(ctx context.Context, index, size uint64) ([]byte, error) {
	bi := index / layout.EntryBundleWidth
	p := layout.PartialTileSize(0, bi, size)
	raw, err := readPartialOrWider(filepath.Join(l.cfg.Dir, layout.EntriesPath(bi, 0)), p)
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
	size, root, err := l.treeState()
	if errors.Is(err, os.ErrNotExist) {
		size, root = 0, rfc6962.DefaultHasher.EmptyRoot()
	} else if err != nil {
		return fmt.Errorf("rekor: %w", err)
	}
	l.head.Store(newTree(size, root, l.tiles))
	var missing []uint64
	l.itime = make([]int64, size)
	for bi := uint64(0); bi*layout.EntryBundleWidth < size; bi++ {
		p := layout.PartialTileSize(0, bi, size)
		raw, err := readPartialOrWider(filepath.Join(l.cfg.Dir, layout.EntriesPath(bi, 0)), p)
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

// entry builds the full answer for an entry: SET, inclusion proof against
// tree (the latest integrated head if nil), and a checkpoint for that tree.
func (l *Log) entry(ctx context.Context, idx uint64, body []byte, t int64, tr *tree) (string, tlog.LogEntryValue, error) {
	if tr == nil {
		tr = l.head.Load()
	}
	size, root := tr.size, tr.root
	if idx >= size {
		return "", tlog.LogEntryValue{}, fmt.Errorf("entry %d is beyond the integrated tree of size %d", idx, size)
	}
	var err error
	if body == nil {
		if body, err = l.readBody(ctx, idx, size); err != nil {
			return "", tlog.LogEntryValue{}, err
		}
	}
	leaf := tlog.LeafHash(body)
	hashes, err := tr.inclusion(idx)
	if err != nil {
		return "", tlog.LogEntryValue{}, fmt.Errorf("building inclusion proof: %w", err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, idx, size, leaf, hashes, root); err != nil {
		return "", tlog.LogEntryValue{}, fmt.Errorf("own inclusion proof of %d in %d does not verify: %w", idx, size, err)
	}
	cp, err := tr.checkpoint(&l.cfg)
	if err != nil {
		return "", tlog.LogEntryValue{}, err
	}
	set, err := l.signSET(body, t, int64(idx))
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

// consistency returns a consistency proof from first to last and the root
// at last, both <= the integrated size.
func (l *Log) consistency(first, last uint64) ([][]byte, []byte, error) {
	tr := l.head.Load()
	root, err := tr.rootAt(last)
	if err != nil {
		return nil, nil, err
	}
	h, err := tr.consistency(first, last)
	if err != nil {
		return nil, nil, err
	}
	return h, root, nil
}

// signSET signs the entry's signed entry timestamp.
func (l *Log) signSET(body []byte, t int64, idx int64) ([]byte, error) {
	return tlog.SignSET(l.cfg.Signer, body, t, l.logIDHex, idx)
}
