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

	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/internal/atomicfile"
	"github.com/waxseal/waxseal/internal/tufrepo"
	"github.com/waxseal/waxseal/server/internal/keyfile"
)

// TUFPath is where the server publishes its TUF repository: the trust
// documents as TUF targets, for Sigstore's own clients, which take a
// trusted root no other way:
//
//	cosign initialize --mirror URL/tuf --root URL/tuf/1.root.json --root-checksum SHA256
//	TUF_MIRROR=URL/tuf TUF_ROOT_JSON=1.root.json sigstore's gitsign
const TUFPath = "/tuf"

const (
	tufRootValidity = 10 * 365 * 24 * time.Hour
	tufValidity     = 7 * 24 * time.Hour // of targets, snapshot and timestamp
	tufResign       = 24 * time.Hour     // a new version this often, on the first request after
)

// tufRepo serves the repository, signing a new version of it when the last
// is a day old by the wall clock. Its key and root metadata are kept in the
// data directory; the root is made on first start and never changes after.
type tufRepo struct {
	dir     string
	key     crypto.Signer
	root    []byte
	targets map[string][]byte
	now     func() time.Time

	mu       sync.Mutex
	latest   map[string][]byte // the current version's files
	files    map[string][]byte // latest, and the previous version's for clients mid-update
	signedAt time.Time         // wall clock
	version  int64
}

func (r *tufRepo) path(name string) string { return filepath.Join(r.dir, name) }

// openTUF opens the repository in dir, making its key and root on first
// start.
func openTUF(dir string, targets map[string][]byte, now func() time.Time) (*tufRepo, error) {
	r := &tufRepo{dir: dir, targets: targets, now: now}
	keyPath, rootPath, versionPath := r.path("tuf-key.pem"), r.path(tufrepo.RootFile), r.path("version")
	root, err := os.ReadFile(rootPath)
	switch {
	case err == nil:
		if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s is missing, and %s names its key: restore the key, or delete %s to make a new root (every client must then be initialized again with it)", keyPath, rootPath, rootPath)
		}
	case errors.Is(err, os.ErrNotExist):
		root = nil
	default:
		return nil, err
	}
	if r.key, err = keyfile.ECDSA(keyPath, elliptic.P256()); err != nil {
		return nil, err
	}
	if root == nil {
		if root, err = tufrepo.NewRoot(r.key, now().Add(tufRootValidity)); err != nil {
			return nil, err
		}
		if err := atomicfile.Write(rootPath, root, 0o644); err != nil {
			return nil, err
		}
	}
	r.root = root
	exp, err := tufrepo.RootExpires(root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rootPath, err)
	}
	if !now().Before(exp) {
		return nil, fmt.Errorf("%s expired on %s: delete it to make a new root (every client must then be initialized again with it)", rootPath, exp.Format(time.DateOnly))
	}
	if b, err := os.ReadFile(versionPath); err == nil {
		if r.version, err = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err != nil {
			return nil, fmt.Errorf("%s is not a version number (%q): delete it, and versions start again from the current time", versionPath, b)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if _, err := r.current(); err != nil {
		return nil, err
	}
	return r, nil
}

// current returns the files to serve, signing a new version when due.
func (r *tufRepo) current() (map[string][]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now().Round(0) // the wall clock: the monotonic one stops while a laptop sleeps
	if r.latest != nil && !now.Before(r.signedAt) && now.Before(r.signedAt.Add(tufResign)) {
		return r.files, nil
	}
	// Versions must grow, across restarts too, or clients keep what they
	// have cached.
	v := max(now.Unix(), r.version+1)
	latest, err := tufrepo.Files(r.key, r.root, r.targets, v, now.Add(tufValidity))
	if err != nil {
		if r.latest == nil {
			return nil, fmt.Errorf("%s does not name the key in %s: restore the key that made it, or delete %s to make a new root (every client must then be initialized again with it): %w",
				r.path(tufrepo.RootFile), r.path("tuf-key.pem"), r.path(tufrepo.RootFile), err)
		}
		return nil, fmt.Errorf("signing TUF metadata: %w", err)
	}
	if err := atomicfile.Write(r.path("version"), []byte(strconv.FormatInt(v, 10)+"\n"), 0o644); err != nil {
		return nil, err
	}
	// A client that read the last timestamp.json may still be fetching the
	// snapshot and targets it names: keep them for one more period.
	files := make(map[string][]byte, len(latest)+len(r.latest))
	for name, b := range r.latest {
		if name != "timestamp.json" {
			files[name] = b
		}
	}
	for name, b := range latest {
		files[name] = b
	}
	r.latest, r.files, r.signedAt, r.version = latest, files, now, v
	return files, nil
}

// RootFingerprint is the root metadata's SHA-256, for cosign's
// --root-checksum: clients fetching the root over the network check it.
func (r *tufRepo) RootFingerprint() string {
	return strings.TrimPrefix(trust.Fingerprint(r.root), "sha256:")
}

func (r *tufRepo) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	files, err := r.current()
	if err != nil {
		http.Error(w, "TUF repository: "+err.Error(), http.StatusInternalServerError)
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
