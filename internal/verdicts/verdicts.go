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
// bucket grown past 64 KiB is rewritten with its newest half, so the cache
// stays under 16 MiB and a lookup reads at most one bucket.
package verdicts

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/waxseal/waxseal/internal/atomicfile"
	"github.com/waxseal/waxseal/internal/readfile"
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
	// newest half; a lookup reads at most twice that.
	bucketMax = 64 << 10
	// valueMax bounds what one entry holds.
	valueMax = 16 << 10
)

// Open returns the cache whose entries are in dir and whose key is in
// keyFile. Nothing is read or created until Get or Put.
func Open(dir, keyFile string) *Cache {
	return &Cache{dir: dir, keyFile: keyFile}
}

// Get returns the value last Put under id, if an authentic one is there.
// Any failure to read is a miss.
func (c *Cache) Get(id ID) ([]byte, bool) {
	if c.key == nil {
		k, err := readfile.Read(c.keyFile)
		if err != nil || len(k) != keySize {
			return nil, false
		}
		c.key = k
	}
	data, err := readfile.Read(c.bucket(id))
	if err != nil || len(data) > 2*bucketMax {
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
	line := hex.AppendEncode(nil, id[:])
	line = append(line, ' ')
	line = base64.StdEncoding.AppendEncode(line, value)
	line = append(line, ' ')
	line = hex.AppendEncode(line, c.tag(id, value))
	line = append(line, '\n')

	p := c.bucket(id)
	size, err := appendLine(p, line)
	if errors.Is(err, fs.ErrNotExist) {
		// The first entry: make the directory.
		if err = os.MkdirAll(c.dir, 0o700); err == nil {
			size, err = appendLine(p, line)
		}
	}
	if err != nil {
		return err
	}
	if size > bucketMax {
		return c.compact(p)
	}
	return nil
}

// compact rewrites a bucket with its newest entries, up to half its limit.
// An entry appended meanwhile by another process may be lost: it is a
// cache.
func (c *Cache) compact(p string) error {
	data, err := readfile.Read(p)
	if err != nil {
		return err
	}
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 2*bucketMax)
	for sc.Scan() {
		if _, ok := c.parse(sc.Bytes()); ok {
			lines = append(lines, append(sc.Bytes(), '\n'))
		}
	}
	var keep []byte
	size := 0
	i := len(lines)
	for i > 0 && size+len(lines[i-1]) <= bucketMax/2 {
		i--
		size += len(lines[i])
	}
	for _, l := range lines[i:] {
		keep = append(keep, l...)
	}
	return atomicfile.Write(p, keep, 0o600)
}

// ensureKey reads the key, or creates it: a new key invalidates every
// entry made under another.
func (c *Cache) ensureKey() error {
	if c.key != nil {
		return nil
	}
	k, err := readfile.Read(c.keyFile)
	if err == nil && len(k) == keySize {
		c.key = k
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// Missing, or not a key (a truncated write): make a new one. Two
	// processes racing here each write a whole key; the loser's entries
	// stop verifying, which costs a verification, not a wrong verdict.
	k = make([]byte, keySize)
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
