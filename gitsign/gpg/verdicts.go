package gpg

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"

	"github.com/waxseal/waxseal/common/provenance"
	"github.com/waxseal/waxseal/common/trust"
	"github.com/waxseal/waxseal/gitsign/front"
	"github.com/waxseal/waxseal/internal/verdicts"
)

// The verdict cache: git asks for the same signatures again and again (every
// `git log --show-signature`, an IDE's history view on each refresh), and
// an offline verdict depends on nothing but its inputs. Good verdicts are
// kept, under an ID over every byte the verification read and over this
// executable, so a changed signature, object, trusted root, allowed-signers
// file or gitsign is verified afresh. Failures are not kept: they are rare,
// and an ERRSIG carries the time it was made. internal/verdicts
// authenticates the entries with a key kept beside the pinned trust.
//
// git config gitsign.verifyCache false (GITSIGN_VERIFY_CACHE=false)
// verifies every time.

// verdictFormat names what an entry holds; change it when that changes.
const verdictFormat = "waxseal gitsign --verify verdict 1"

// verdictDir is where verdicts are kept: the user's cache directory
// ($XDG_CACHE_HOME, ~/.cache) under waxseal/gitsign-verdicts.
func verdictDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "waxseal", "gitsign-verdicts"), nil
}

// verdictKeyFile holds the key that authenticates the cache's entries: in
// the configuration directory, beside the pinned trusted root, not in the
// cache directory, which backups and CI caches copy between machines.
func verdictKeyFile() (string, error) {
	d, err := trust.Dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "gitsign-verdicts.key"), nil
}

// certificateFormat names the certificate checks kept beside the verdicts
// (see certMemo); change it when what they hold changes.
const certificateFormat = "waxseal gitsign certificate check 1"

// verdictCache returns the cache, the ID of in's verdict and a Memo that
// keeps certificate checks in the same cache, or nils when caching is off
// or has nowhere to go.
func (e *Env) verdictCache(cfg *front.Config, in *verifyInputs) (*verdicts.Cache, verdicts.ID, provenance.Memo) {
	if !cfg.VerifyCache {
		return nil, verdicts.ID{}, nil
	}
	dir, err := verdictDir()
	if err != nil {
		return nil, verdicts.ID{}, nil
	}
	key, err := verdictKeyFile()
	if err != nil {
		return nil, verdicts.ID{}, nil
	}
	self, ok := executableID()
	if !ok {
		return nil, verdicts.ID{}, nil
	}
	signers := []byte(nil)
	if in.signersPath != "" {
		// Present but empty differs from none configured.
		signers = append([]byte{1}, in.signers...)
	}
	// GODEBUG settings change what crypto/x509 and crypto/rsa accept.
	godebug := []byte(os.Getenv("GODEBUG"))
	id := verdicts.NewID([]byte(verdictFormat), self, godebug, in.sig, in.payload,
		[]byte(in.rootPath), in.root, []byte(in.signersPath), signers)
	cache := verdicts.Open(dir, key)
	return cache, id, &certMemo{cache: cache, self: self, godebug: godebug}
}

// certMemo keeps provenance's certificate checks (a chain to the trusted
// root's CA, an SCT from its CT log) in the verdict cache. The commits of a
// rebase or of a day's work share one certificate, which git's first
// showing of each commit would otherwise verify again; provenance checks
// the time anew at every use. Like a verdict, a check is named by this
// executable and GODEBUG too, and authenticated by the cache's key.
type certMemo struct {
	cache         *verdicts.Cache
	self, godebug []byte
}

func (m *certMemo) id(key [32]byte) verdicts.ID {
	return verdicts.NewID([]byte(certificateFormat), m.self, m.godebug, key[:])
}

func (m *certMemo) Recall(key [32]byte) ([]byte, bool) { return m.cache.Get(m.id(key)) }

func (m *certMemo) Remember(key [32]byte, value []byte) { m.cache.Put(m.id(key), value) }

// executableID names the program judging: a fixed or upgraded gitsign must
// not inherit an older one's verdicts. The source it was built from, where
// the build recorded it (module version, VCS revision), and the file it
// runs from: any new build is a new file, or the same file rewritten, so
// its size, modification time and (where files have them) inode and change
// time, which no one can set back, tell builds apart that record no
// source, or the same. On Linux the running file itself is read
// (/proc/self/exe); elsewhere, the file now at the executable's path, so a
// verdict made while an upgrade replaces gitsign could be filed under the
// new build's name.
func executableID() ([]byte, bool) {
	exe, err := executable()
	if err != nil {
		return nil, false
	}
	fi, err := os.Stat(exe)
	if err != nil {
		return nil, false
	}
	b := []byte(exe)
	b = append(b, 0)
	b = strconv.AppendInt(b, fi.Size(), 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
	b = append(b, 0)
	b = appendFileID(b, fi)
	if info, ok := debug.ReadBuildInfo(); ok {
		b = append(b, 0)
		b = append(b, info.Main.Version...)
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" || s.Key == "vcs.time" {
				b = append(b, 0)
				b = append(b, s.Value...)
			}
		}
	}
	return b, true
}

// encodeVerdict packs what a verification said: its status lines, then
// its explanation.
func encodeVerdict(status, explanation []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(status)))
	b = append(b, status...)
	return append(b, explanation...)
}

func decodeVerdict(v []byte) (status, explanation []byte, ok bool) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)-k) {
		return nil, nil, false
	}
	return v[k : k+int(n)], v[k+int(n):], true
}
