// Package verdicts remembers the outcome of a check over exact inputs, so
// that the same check over the same bytes is answered by a lookup.
//
// git runs its signature program once for every signature it shows, and
// shows the same ones again and again: each `git log --show-signature`, an
// IDE's history view on every refresh, `git verify-commit` before every
// merge. The verdict of an offline verification is a function of its
// inputs alone (signature, signed object, trusted root, allowed signers,
// and the program that judged them), so a caller names those inputs with
// ID and keeps what it printed with Put; the next run over the same bytes
// prints it with Get instead of verifying again. Change any input byte, or
// the program, and the ID changes.
//
// A cache that answers "verified" without verifying is only as safe as its
// entries are authentic. Every entry carries an HMAC-SHA256 tag under a
// random 32-byte key kept apart from the entries (in the user's
// configuration directory, mode 0600), so entries written by anyone
// without that key (a cache directory restored from another machine or
// from a CI job, another user with write access) fail the tag and count as
// absent. Whoever can read the key can forge entries; they can equally
// change the configuration that names the trusted root.
//
// Entries live in 256 bucket files named by the ID's first byte, one line
// each, appended:
//
//	<ID, hex> <value, base64> <tag, hex>\n
//
// An append of one line is one write(2), so concurrent writers interleave
// whole lines; a torn or foreign line fails its tag and is skipped. A
// bucket grown past 64 KiB is rewritten with its newest half; one that
// cannot be rewritten takes no more entries past 128 KiB, so the cache
// stays under 32 MiB and a lookup reads at most one bucket of that size.
//
// The key must be a regular file of the user's that no one else may read
// or write, the directory one that no one else may write to, and every
// file in it a regular file of the user's: a link, a FIFO, a device or an
// oversized bucket planted there is a miss, never followed, waited on or
// read whole.
package verdicts

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/waxseal/waxseal/internal/atomicfile"
)

// ID names a check by everything it depends on.
type ID [sha256.Size]byte

// NewID hashes the parts, each length-prefixed so that no two different
// lists of parts share an ID. The first part should name the check and the
// version of its format.
func NewID(parts ...[]byte) ID {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var id ID
	h.Sum(id[:0])
	return id
}

// Cache is a directory of entries and the key that authenticates them.
type Cache struct {
	dir     string
	keyFile string
	key     []byte // read on first use
}

const (
	keySize = 32
	// bucketMax is the size past which a bucket is rewritten with its
	// newest half. A bucket that could not be rewritten takes no more
	// entries past twice that, which bounds what a lookup reads and the
	// cache's size (256 buckets).
	bucketMax = 64 << 10
	// valueMax bounds what one entry holds.
	valueMax = 16 << 10
)

var (
	errNotOurs    = errors.New("not a regular file of this user's")
	errNotPrivate = errors.New("readable or writable by others")
	errTooLarge   = errors.New("file too large")
)

// Open returns the cache whose entries are in dir and whose key is in
// keyFile. Nothing is read or created until Get or Put.
func Open(dir, keyFile string) *Cache {
	return &Cache{dir: dir, keyFile: keyFile}
}

// Get returns the value last Put under id, if an authentic one is there.
// Any failure to read is a miss. So is a key or a directory others could
// have written to.
func (c *Cache) Get(id ID) ([]byte, bool) {
	if !c.loadKey() || !dirOK(c.dir) {
		return nil, false
	}
	data, err := readChecked(c.bucket(id), 2*bucketMax+lineMax, false)
	if err != nil {
		return nil, false
	}
	var want [2 * len(ID{})]byte
	hex.Encode(want[:], id[:])
	var found []byte
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if !bytes.HasPrefix(line, want[:]) {
			continue
		}
		if v, ok := c.parse(line); ok {
			found = v // the last authentic entry wins
		}
	}
	return found, found != nil
}

// lineMax is the longest entry line: ID, value and tag, with separators.
const lineMax = 2*sha256.Size + (valueMax+2)/3*4 + 2*sha256.Size + 3

// parse returns the value of an entry line whose tag is authentic.
func (c *Cache) parse(line []byte) ([]byte, bool) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return nil, false
	}
	var id ID
	if hex.DecodedLen(len(f[0])) != len(id) {
		return nil, false
	}
	if _, err := hex.Decode(id[:], f[0]); err != nil {
		return nil, false
	}
	value, err := base64.StdEncoding.AppendDecode(nil, f[1])
	if err != nil {
		return nil, false
	}
	tag, err := hex.AppendDecode(nil, f[2])
	if err != nil || !hmac.Equal(tag, c.tag(id, value)) {
		return nil, false
	}
	return value, true
}

func (c *Cache) tag(id ID, value []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("waxseal verdict\x00"))
	m.Write(id[:])
	m.Write(value)
	return m.Sum(nil)
}

func (c *Cache) bucket(id ID) string {
	return filepath.Join(c.dir, hex.EncodeToString(id[:1]))
}

// Put records value under id, creating the key and the directory as
// needed.
func (c *Cache) Put(id ID, value []byte) error {
	if len(value) > valueMax {
		return errors.New("verdicts: value too large")
	}
	if err := c.ensureKey(); err != nil {
		return err
	}
	if !dirOK(c.dir) {
		if !mayCreate(c.dir) {
			return fmt.Errorf("verdicts: %s: not this user's to create", c.dir)
		}
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			return err
		}
		if !dirOK(c.dir) {
			return fmt.Errorf("verdicts: %s: not a directory of this user's that only this user may write to", c.dir)
		}
	}
	line := hex.AppendEncode(nil, id[:])
	line = append(line, ' ')
	line = base64.StdEncoding.AppendEncode(line, value)
	line = append(line, ' ')
	line = hex.AppendEncode(line, c.tag(id, value))
	line = append(line, '\n')

	p := c.bucket(id)
	size, err := appendChecked(p, line, 2*bucketMax)
	switch {
	case errors.Is(err, errTooLarge):
		return c.compact(p, size, line)
	case err != nil:
		// Not a file that can be appended to (a link, a FIFO, another's):
		// replaced, if the directory lets it be.
		if rerr := replace(p, line); rerr != nil {
			return err
		}
	case size+int64(len(line)) > bucketMax:
		return c.compact(p, size+int64(len(line)), nil)
	}
	return nil
}

// compact replaces a bucket of size bytes with its newest entries, up to
// half its limit, and extra. An entry appended meanwhile by another process
// may be lost: it is a cache. A bucket too large to have been written here
// is not read, only replaced.
func (c *Cache) compact(p string, size int64, extra []byte) error {
	var lines [][]byte
	if size <= 2*bucketMax+lineMax {
		// What cannot be read is dropped.
		data, _ := readChecked(p, 2*bucketMax+lineMax, false)
		for len(data) > 0 {
			var line []byte
			line, data, _ = bytes.Cut(data, []byte{'\n'})
			if _, ok := c.parse(line); ok {
				lines = append(lines, line)
			}
		}
	}
	keep := make([]byte, 0, bucketMax/2+len(extra))
	n := len(extra)
	i := len(lines)
	for i > 0 && n+len(lines[i-1])+1 <= bucketMax/2 {
		i--
		n += len(lines[i]) + 1
	}
	for _, l := range lines[i:] {
		keep = append(append(keep, l...), '\n')
	}
	keep = append(keep, extra...)
	return replace(p, keep)
}

// replace writes data to a new file and renames it over p, whatever p was.
// It does not sync: a bucket lost to a crash costs verifications again.
func replace(p string, data []byte) error { return atomicfile.WriteUnsynced(p, data, 0o600) }

// loadKey reads the key, if there is a usable one: a regular file of this
// user's, private, of the right size.
func (c *Cache) loadKey() bool {
	if c.key == nil {
		if k, err := readChecked(c.keyFile, keySize, true); err == nil && len(k) == keySize {
			c.key = k
		}
	}
	return c.key != nil
}

// ensureKey reads the key, or makes one: a new key invalidates every entry
// made under another.
func (c *Cache) ensureKey() error {
	if c.loadKey() {
		return nil
	}
	// Missing, not a key (a truncated write), or one others could read or
	// replace: make a new one, renamed over whatever was there. Two
	// processes racing here each write a whole key; the loser's entries
	// stop verifying, which costs a verification, not a wrong verdict.
	if !mayCreate(c.keyFile) {
		return fmt.Errorf("verdicts: %s: not this user's to create", c.keyFile)
	}
	k := make([]byte, keySize)
	rand.Read(k)
	if err := os.MkdirAll(filepath.Dir(c.keyFile), 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(c.keyFile, k, 0o600); err != nil {
		return err
	}
	c.key = k
	return nil
}
