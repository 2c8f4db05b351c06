package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/objfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// objectStore reads the raw objects of a SHA-1 repository with go-git's
// object formats: loose (zlib) objects, pack indexes and packfiles, in the
// repository's objects directory and its alternates. It uses those formats
// directly rather than go-git's repository storage, which would link go-git's
// configuration parser and URL handling: their package initialization costs
// every gitsign process start-up time, and git starts one per signature.
//
// An objectStore is for one goroutine at a time.
type objectStore struct {
	dirs   []string // objects directories
	packs  []*packReader
	opened bool
	// unread are the packs go-git cannot read (an index of another
	// version than 2, an index without its pack): git can, and reads
	// what is not found elsewhere (errUnreadPacks).
	unread []error
}

// errUnreadPacks is an object not found where go-git could look, in a
// repository with packs it could not read: the caller asks git.
var errUnreadPacks = errors.New("in a pack this reader cannot open")

type packReader struct {
	idx  *idxfile.MemoryIndex
	file *os.File
	pack *packfile.Packfile
}

// newObjectStore reads the objects of the repository whose (common) git
// directory is gitDir.
func newObjectStore(gitDir string) *objectStore {
	s := &objectStore{}
	s.addDir(filepath.Join(gitDir, "objects"), 0)
	return s
}

// addDir adds an objects directory and, as git does up to depth 5, the
// directories its info/alternates names.
func (s *objectStore) addDir(dir string, depth int) {
	s.dirs = append(s.dirs, dir)
	if depth >= 5 {
		return
	}
	f, err := os.Open(filepath.Join(dir, "info", "alternates"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(dir, line)
		}
		s.addDir(filepath.Clean(line), depth+1)
	}
}

// read returns an object's type and content, or an error for an object
// larger than limit allows its type (without reading it).
func (s *objectStore) read(id string, limit func(typ string) int64) (typ string, raw []byte, err error) {
	h := plumbing.NewHash(id)
	if h.String() != id {
		return "", nil, fmt.Errorf("bad object ID %q", id)
	}
	for _, dir := range s.dirs {
		typ, raw, err := readLoose(id, filepath.Join(dir, id[:2], id[2:]), limit)
		if !errors.Is(err, os.ErrNotExist) {
			return typ, raw, err
		}
	}
	if err := s.openPacks(); err != nil {
		return "", nil, err
	}
	for _, p := range s.packs {
		if ok, _ := p.idx.Contains(h); ok {
			return p.read(h, limit)
		}
	}
	if len(s.unread) > 0 {
		return "", nil, fmt.Errorf("reading %s: %w (%w)", id, errUnreadPacks, errors.Join(s.unread...))
	}
	return "", nil, fmt.Errorf("reading %s: %w", id, plumbing.ErrObjectNotFound)
}

func readLoose(id, path string, limitOf func(string) int64) (string, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	defer f.Close()
	r, err := objfile.NewReader(f)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	defer r.Close()
	t, size, err := r.Header()
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	limit := limitOf(t.String())
	if size > limit {
		return "", nil, tooLarge(t, id, limit)
	}
	raw, err := readAtMost(r, t, id, limit)
	return t.String(), raw, err
}

func (p *packReader) read(h plumbing.Hash, limitOf func(string) int64) (string, []byte, error) {
	id := h.String()
	// The size first: Get reads the whole object into memory.
	off, err := p.idx.FindOffset(h)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	size, err := p.pack.GetSizeByOffset(off)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	// Every limit allows what it allows a blob: the type, which may take
	// a walk down a delta chain, is needed only for objects above that.
	limit := limitOf("blob")
	if size > limit {
		t, err := p.typeAt(off)
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", id, err)
		}
		if limit = limitOf(t.String()); size > limit {
			return "", nil, tooLarge(t, id, limit)
		}
	}
	obj, err := p.pack.Get(h)
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	rd, err := obj.Reader()
	if err != nil {
		return "", nil, fmt.Errorf("reading %s: %w", id, err)
	}
	defer rd.Close()
	raw, err := readAtMost(rd, obj.Type(), id, limit)
	return obj.Type().String(), raw, err
}

// typeAt is the type of the packed object at off, from the headers of its
// delta chain alone. It reads through a scanner of its own: the packfile's
// would inflate the last object it looked at before its next.
func (p *packReader) typeAt(off int64) (plumbing.ObjectType, error) {
	st, err := p.file.Stat()
	if err != nil {
		return plumbing.InvalidObject, err
	}
	sc := packfile.NewScanner(io.NewSectionReader(p.file, 0, st.Size()))
	for range 1 << 12 { // git's deepest delta chain is 4095
		h, err := sc.SeekObjectHeader(off)
		if err != nil {
			return plumbing.InvalidObject, err
		}
		switch h.Type {
		case plumbing.OFSDeltaObject:
			off = h.OffsetReference
		case plumbing.REFDeltaObject:
			if off, err = p.idx.FindOffset(h.Reference); err != nil {
				return plumbing.InvalidObject, err
			}
		default:
			return h.Type, nil
		}
	}
	return plumbing.InvalidObject, errors.New("delta chain too long")
}

// readAtMost reads r to the end, failing once it has read more than limit
// bytes: a header's size is checked, but not trusted.
func readAtMost(r io.Reader, t plumbing.ObjectType, id string, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	if int64(len(raw)) > limit {
		return nil, tooLarge(t, id, limit)
	}
	return raw, nil
}

// tooLarge is the error for an object over the limit, read from either
// kind of repository.
func tooLarge(t plumbing.ObjectType, id string, limit int64) error {
	return &tooLargeError{typ: t.String(), id: id, limit: limit}
}

type tooLargeError struct {
	typ, id string
	limit   int64
}

func (e *tooLargeError) Error() string {
	return fmt.Sprintf("%s %s is larger than %d MiB", e.typ, e.id, e.limit>>20)
}

// openPacks opens every pack's index, once. One that cannot be opened is
// passed over, as git passes over an index without its pack: the objects of
// the others are still read here.
func (s *objectStore) openPacks() error {
	if s.opened {
		return nil
	}
	s.opened = true
	for _, dir := range s.dirs {
		idxs, _ := filepath.Glob(filepath.Join(dir, "pack", "pack-*.idx"))
		for _, idxPath := range idxs {
			p, err := openPack(idxPath)
			if err != nil {
				s.unread = append(s.unread, fmt.Errorf("opening %s: %w", idxPath, err))
				continue
			}
			s.packs = append(s.packs, p)
		}
	}
	return nil
}

func openPack(idxPath string) (*packReader, error) {
	f, err := os.Open(idxPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(f)).Decode(idx); err != nil {
		return nil, err
	}
	pf, err := os.Open(strings.TrimSuffix(idxPath, ".idx") + ".pack")
	if err != nil {
		return nil, err
	}
	// Without a filesystem, go-git returns objects read into memory.
	pack := packfile.NewPackfileWithCache(idx, nil, osFile{pf}, cache.NewObjectLRU(8*cache.MiByte), 0)
	return &packReader{idx: idx, file: pf, pack: pack}, nil
}

func (s *objectStore) Close() {
	for _, p := range s.packs {
		p.file.Close()
	}
}

// osFile is an *os.File as the billy.File go-git's packfile reads from
// (read-only: it needs neither locks nor truncation).
type osFile struct{ *os.File }

func (osFile) Lock() error          { return nil }
func (osFile) Unlock() error        { return nil }
func (osFile) Truncate(int64) error { return errors.New("read-only") }
