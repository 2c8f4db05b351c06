package server

import (
	"crypto"
	"crypto/elliptic"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/waxseal/waxseal/internal/atomicfile"
	"github.com/waxseal/waxseal/internal/tufrepo"
	"github.com/waxseal/waxseal/server/internal/keyfile"
)

// TUFPath is where the server publishes its TUF repository: the trust
// documents as TUF targets, for Sigstore's own clients, which take a
// trusted root no other way:
//
//	cosign initialize --mirror URL/tuf --root URL/tuf/1.root.json
//	TUF_MIRROR=URL/tuf TUF_ROOT_JSON=1.root.json sigstore's gitsign
const TUFPath = "/tuf"

const (
	tufRootValidity = 10 * 365 * 24 * time.Hour
	tufValidity     = 7 * 24 * time.Hour // of targets, snapshot and timestamp
	tufResign       = 24 * time.Hour     // re-signed this often, on the first request after
)

// tufRepo serves the repository, signing a new version of it when the last
// is a day old. Its key and root metadata are kept in the data directory;
// the root is made on first start and never changes after.
type tufRepo struct {
	key         crypto.Signer
	root        []byte
	targets     map[string][]byte
	now         func() time.Time
	versionPath string // the last version signed, so that versions grow across restarts

	mu       sync.Mutex
	files    map[string][]byte
	signedAt time.Time
	version  int64
}

func openTUF(dir string, targets map[string][]byte) (*tufRepo, error) {
	key, err := keyfile.ECDSA(filepath.Join(dir, "tuf-key.pem"), elliptic.P256())
	if err != nil {
		return nil, err
	}
	rootPath := filepath.Join(dir, tufrepo.RootFile)
	root, err := os.ReadFile(rootPath)
	if errors.Is(err, os.ErrNotExist) {
		if root, err = tufrepo.NewRoot(key, time.Now().Add(tufRootValidity)); err != nil {
			return nil, err
		}
		err = atomicfile.Write(rootPath, root, 0o644)
	}
	if err != nil {
		return nil, err
	}
	r := &tufRepo{key: key, root: root, targets: targets, now: time.Now, versionPath: filepath.Join(dir, "version")}
	if b, err := os.ReadFile(r.versionPath); err == nil {
		if r.version, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("%s: %w", r.versionPath, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := r.current(); err != nil { // a root that does not name the key fails here, not at a client
		return nil, err
	}
	return r, nil
}

// current returns the repository's files, signing a new version when due.
func (r *tufRepo) current() (map[string][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.files != nil && now.Sub(r.signedAt) < tufResign {
		return r.files, nil
	}
	// Versions must grow, across restarts too, or clients keep what they
	// have cached.
	v := max(now.Unix(), r.version+1)
	files, err := tufrepo.Files(r.key, r.root, r.targets, v, now.Add(tufValidity))
	if err != nil {
		return nil, fmt.Errorf("server: signing TUF metadata: %w", err)
	}
	if err := atomicfile.Write(r.versionPath, []byte(strconv.FormatInt(v, 10)+"\n"), 0o644); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	r.files, r.signedAt, r.version = files, now, v
	return files, nil
}

func (r *tufRepo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	files, err := r.current()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b, ok := files[strings.TrimPrefix(req.URL.Path, TUFPath+"/")]
	if !ok {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(b)
}
