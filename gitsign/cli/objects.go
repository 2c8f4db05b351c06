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
}

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

// read returns an object's type and content, at most limit bytes plus one
// (so that the caller can tell an object that is too large).
func (s *objectStore) read(id string, limit int64) (typ string, raw []byte, err error) {
	h := plumbing.NewHash(id)
	if h.String() != id {
		return "", nil, fmt.Errorf("bad object ID %q", id)
	}
	for _, dir := range s.dirs {
		typ, raw, err := readLoose(filepath.Join(dir, id[:2], id[2:]), limit)
		if err == nil {
			return typ, raw, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("reading %s: %w", id, err)
		}
	}
	if err := s.openPacks(); err != nil {
		return "", nil, err
	}
	for _, p := range s.packs {
		if ok, _ := p.idx.Contains(h); !ok {
			continue
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
		raw, err := io.ReadAll(io.LimitReader(rd, limit+1))
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", id, err)
		}
		return obj.Type().String(), raw, nil
	}
	return "", nil, fmt.Errorf("reading %s: %w", id, plumbing.ErrObjectNotFound)
}

func readLoose(path string, limit int64) (string, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	r, err := objfile.NewReader(f)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	t, _, err := r.Header()
	if err != nil {
		return "", nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return "", nil, err
	}
	return t.String(), raw, nil
}

// openPacks opens every pack's index, once.
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
				return fmt.Errorf("opening %s: %w", idxPath, err)
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
