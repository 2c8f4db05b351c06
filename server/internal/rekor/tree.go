package rekor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/api/layout"

	"github.com/waxseal/waxseal/common/tlog"
)

// The log answers proofs from memory. A tree is one integrated tree head
// (size and root, as Tessera's driver recorded it after a batch) with what
// proofs against it need: hash tiles with their inner nodes precomputed, and
// the Rekor v1 checkpoint for that head, signed at most once. Full tiles
// never change and are shared by all heads (tileCache); only the partial
// tiles of the right edge belong to one head. Every node of a smaller tree
// that a consistency proof or an older root needs is a perfect subtree, and
// therefore also a node of the latest tree, so the latest head serves them.

// tileKey names a hash tile.
type tileKey struct{ level, index uint64 }

// nodeTile is a hash tile with its inner nodes: levels[k] holds, 32 bytes
// each, the hashes of the perfect subtrees of 2^k tile leaves (k < 8; the
// tile's own root is a leaf of the tile above).
type nodeTile struct {
	levels [layout.TileHeight][]byte
}

func newNodeTile(leaves []byte) *nodeTile {
	t := &nodeTile{}
	t.levels[0] = leaves
	for k := 1; k < layout.TileHeight; k++ {
		prev := t.levels[k-1]
		n := len(prev) / 64
		if n == 0 {
			break
		}
		next := make([]byte, 0, n*32)
		for j := range n {
			next = append(next, rfc6962.DefaultHasher.HashChildren(prev[64*j:64*j+32], prev[64*j+32:64*j+64])...)
		}
		t.levels[k] = next
	}
	return t
}

func (t *nodeTile) node(level uint, index uint64) ([]byte, bool) {
	if level >= layout.TileHeight {
		return nil, false
	}
	l := t.levels[level]
	if uint64(len(l)/32) <= index {
		return nil, false
	}
	return l[32*index : 32*index+32 : 32*index+32], true
}

// tileCache holds full hash tiles, which are immutable, with their inner
// nodes. The right edge, where appends need proofs, is a handful of tiles;
// the bound only matters for lookups of old entries.
type tileCache struct {
	dir  string
	mu   sync.Mutex
	full map[tileKey]*nodeTile
}

const maxCachedTiles = 2048 // 16 KiB each

func newTileCache(dir string) *tileCache {
	return &tileCache{dir: dir, full: map[tileKey]*nodeTile{}}
}

func (c *tileCache) get(k tileKey) (*nodeTile, error) {
	c.mu.Lock()
	t, ok := c.full[k]
	c.mu.Unlock()
	if ok {
		return t, nil
	}
	raw, err := os.ReadFile(filepath.Join(c.dir, layout.TilePath(k.level, k.index, 0)))
	if err != nil {
		return nil, fmt.Errorf("reading tile: %w", err)
	}
	if len(raw) != 32*layout.TileWidth {
		return nil, fmt.Errorf("full tile %d/%d has %d bytes", k.level, k.index, len(raw))
	}
	t = newNodeTile(raw)
	c.mu.Lock()
	if len(c.full) >= maxCachedTiles {
		n := 0
		for k := range c.full { // random eviction of a quarter
			delete(c.full, k)
			if n++; n >= maxCachedTiles/4 {
				break
			}
		}
	}
	c.full[k] = t
	c.mu.Unlock()
	return t, nil
}

// tree is one integrated tree head.
type tree struct {
	size uint64
	root []byte
	full *tileCache

	mu      sync.Mutex
	partial map[tileKey]*nodeTile

	cpOnce sync.Once
	cp     []byte
	cpErr  error
}

func newTree(size uint64, root []byte, full *tileCache) *tree {
	return &tree{size: size, root: root, full: full, partial: map[tileKey]*nodeTile{}}
}

// tile returns a hash tile as of this tree's size.
func (tr *tree) tile(k tileKey) (*nodeTile, error) {
	p := layout.PartialTileSize(k.level, k.index, tr.size)
	if p == 0 {
		return tr.full.get(k)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if t, ok := tr.partial[k]; ok {
		return t, nil
	}
	raw, err := readPartialOrWider(filepath.Join(tr.full.dir, layout.TilePath(k.level, k.index, 0)), p)
	if err != nil {
		return nil, fmt.Errorf("reading tile: %w", err)
	}
	if len(raw) < 32*int(p) || len(raw)%32 != 0 {
		return nil, fmt.Errorf("tile %d/%d has %d bytes, want at least %d hashes", k.level, k.index, len(raw), p)
	}
	t := newNodeTile(raw[:32*int(p)])
	tr.partial[k] = t
	return t, nil
}

// node returns the hash of a perfect subtree within this tree.
func (tr *tree) node(id compact.NodeID) ([]byte, error) {
	if end := (id.Index + 1) << id.Level; end > tr.size || end>>id.Level != id.Index+1 {
		return nil, fmt.Errorf("node %d/%d is not in the tree of size %d", id.Level, id.Index, tr.size)
	}
	tl, ti, nl, ni := layout.NodeCoordsToTileAddress(uint64(id.Level), id.Index)
	t, err := tr.tile(tileKey{tl, ti})
	if err != nil {
		return nil, err
	}
	h, ok := t.node(nl, ni)
	if !ok {
		return nil, fmt.Errorf("node %d/%d missing from tile %d/%d", id.Level, id.Index, tl, ti)
	}
	return h, nil
}

func (tr *tree) proof(ns proof.Nodes) ([][]byte, error) {
	hs := make([][]byte, len(ns.IDs))
	for i, id := range ns.IDs {
		h, err := tr.node(id)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	return ns.Rehash(hs, rfc6962.DefaultHasher.HashChildren)
}

// inclusion returns the inclusion proof of the leaf at index in this tree.
func (tr *tree) inclusion(index uint64) ([][]byte, error) {
	ns, err := proof.Inclusion(index, tr.size)
	if err != nil {
		return nil, err
	}
	return tr.proof(ns)
}

// consistency returns the consistency proof from first to last <= size.
func (tr *tree) consistency(first, last uint64) ([][]byte, error) {
	if last > tr.size {
		return nil, fmt.Errorf("tree size %d is beyond the current size %d", last, tr.size)
	}
	ns, err := proof.Consistency(first, last)
	if err != nil {
		return nil, err
	}
	return tr.proof(ns)
}

// rootAt returns the root of the tree of the given size <= this one.
func (tr *tree) rootAt(size uint64) ([]byte, error) {
	switch {
	case size == tr.size:
		return tr.root, nil
	case size > tr.size:
		return nil, fmt.Errorf("tree size %d is beyond the current size %d", size, tr.size)
	case size == 0:
		return rfc6962.DefaultHasher.EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hs := make([][]byte, len(ids))
	for i, id := range ids {
		h, err := tr.node(id)
		if err != nil {
			return nil, err
		}
		hs[i] = h
	}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r, err := rf.NewRange(0, size, hs)
	if err != nil {
		return nil, err
	}
	return r.GetRootHash(nil)
}

// checkpoint returns the Rekor v1 checkpoint for this tree head, signing it
// the first time it is asked for.
func (tr *tree) checkpoint(cfg *Config) ([]byte, error) {
	tr.cpOnce.Do(func() {
		tr.cp, tr.cpErr = tlog.SignCheckpoint(cfg.Signer, cfg.Hostname, cfg.TreeID, tr.size, tr.root)
	})
	return tr.cp, tr.cpErr
}

// readPartialOrWider reads the full resource, or the exact partial, or the
// smallest wider partial: a partial tile or bundle of width w may have been
// replaced by a wider one, because the tree grew past a size that was never
// a batch boundary or the partial file was garbage collected; its first w
// elements are the same. The caller cuts the result.
func readPartialOrWider(fullPath string, p uint8) ([]byte, error) {
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
