package verdicts

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func open(t *testing.T) (*Cache, string) {
	t.Helper()
	dir := t.TempDir()
	return Open(filepath.Join(dir, "cache"), filepath.Join(dir, "config", "key")), dir
}

func TestPutGet(t *testing.T) {
	c, dir := open(t)
	id := NewID([]byte("check 1"), []byte("input"))
	if _, ok := c.Get(id); ok {
		t.Fatal("hit in an empty cache")
	}
	if err := c.Put(id, []byte("good\nverdict")); err != nil {
		t.Fatal(err)
	}
	// A fresh Cache, as the next process opens it.
	c2 := Open(c.dir, c.keyFile)
	if v, ok := c2.Get(id); !ok || string(v) != "good\nverdict" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if _, ok := c2.Get(NewID([]byte("check 1"), []byte("other input"))); ok {
		t.Error("hit for another ID")
	}
	fi, err := os.Stat(filepath.Join(dir, "config", "key"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != keySize {
		t.Errorf("key file: %v %v", fi, err)
	}
	// A later Put under the same ID wins.
	c2.Put(id, []byte("newer"))
	if v, _ := Open(c.dir, c.keyFile).Get(id); string(v) != "newer" {
		t.Errorf("after a second Put: %q", v)
	}
}

func TestNewIDIsUnambiguous(t *testing.T) {
	a := NewID([]byte("ab"), []byte("c"))
	for _, parts := range [][][]byte{
		{[]byte("a"), []byte("bc")},
		{[]byte("abc")},
		{[]byte("ab"), []byte("c"), nil},
		{[]byte("ab"), []byte("c"), {}},
	} {
		if NewID(parts...) == a {
			t.Errorf("NewID(%q) collides with NewID(ab, c)", parts)
		}
	}
	if NewID([]byte("ab"), []byte("c")) != a {
		t.Error("NewID is not deterministic")
	}
}

// Every entry not made with the cache's key counts as absent: a changed
// byte anywhere in the line, a key that was replaced, a line cut short.
func TestForgedEntriesAreMisses(t *testing.T) {
	c, _ := open(t)
	id := NewID([]byte("x"))
	if err := c.Put(id, []byte("GOOD verdict")); err != nil {
		t.Fatal(err)
	}
	bucket := c.bucket(id)
	orig, err := os.ReadFile(bucket)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.TrimSuffix(orig, []byte("\n"))
	for i := range line {
		if line[i] == ' ' {
			continue
		}
		mangled := bytes.Clone(line)
		mangled[i] ^= 0x01
		os.WriteFile(bucket, append(mangled, '\n'), 0o600)
		if v, ok := Open(c.dir, c.keyFile).Get(id); ok {
			t.Fatalf("byte %d changed: still a hit, %q", i, v)
		}
	}
	for _, short := range []int{1, len(line) / 2, len(line) - 1} {
		os.WriteFile(bucket, line[:short], 0o600)
		if _, ok := Open(c.dir, c.keyFile).Get(id); ok {
			t.Errorf("line cut to %d bytes: still a hit", short)
		}
	}

	// The same entry under another key: as if the cache directory came
	// from another machine.
	os.WriteFile(bucket, orig, 0o600)
	other, _ := open(t)
	other.dir = c.dir
	if _, ok := other.Get(id); ok {
		t.Error("an entry made under another key was accepted")
	}
	// Replacing the key invalidates what was there.
	os.Remove(c.keyFile)
	fresh := Open(c.dir, c.keyFile)
	if _, ok := fresh.Get(id); ok {
		t.Error("hit with no key")
	}
	fresh.Put(NewID([]byte("y")), []byte("v")) // makes a new key
	if _, ok := Open(c.dir, c.keyFile).Get(id); ok {
		t.Error("an entry made under the old key was accepted under the new one")
	}
}

// Foreign or broken lines in a bucket cost nothing but a miss, and do not
// hide the authentic entries around them.
func TestBucketWithJunk(t *testing.T) {
	c, _ := open(t)
	id := NewID([]byte("z"))
	c.Put(id, []byte("first"))
	f, _ := os.OpenFile(c.bucket(id), os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "not an entry\n%x !!! 00\n\n", id[:])
	f.Close()
	if v, ok := c.Get(id); !ok || string(v) != "first" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
}

func TestCompactionBoundsBuckets(t *testing.T) {
	c, _ := open(t)
	value := bytes.Repeat([]byte("v"), 700)
	var ids []ID
	// IDs that all fall in one bucket.
	for i := 0; len(ids) < 400; i++ {
		id := NewID([]byte(fmt.Sprint(i)))
		if id[0] == 0x42 {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if err := c.Put(id, value); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(c.bucket(id))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > bucketMax+2048 {
			t.Fatalf("bucket size %d", fi.Size())
		}
	}
	// The newest entries survive; the oldest went.
	if _, ok := c.Get(ids[len(ids)-1]); !ok {
		t.Error("the newest entry was compacted away")
	}
	if _, ok := c.Get(ids[0]); ok {
		t.Error("the oldest entry survived 400 Puts into one bucket")
	}
	entries, _ := os.ReadDir(c.dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestConcurrentPuts(t *testing.T) {
	c, _ := open(t)
	c.Put(NewID([]byte("make the key")), nil)
	var wg sync.WaitGroup
	ids := make([]ID, 40)
	for i := range ids {
		ids[i] = NewID([]byte("concurrent"), []byte(fmt.Sprint(i)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := Open(c.dir, c.keyFile).Put(ids[i], []byte(fmt.Sprint("verdict ", i))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if v, ok := c.Get(id); !ok || string(v) != fmt.Sprint("verdict ", i) {
			t.Errorf("entry %d: %q, %v", i, v, ok)
		}
	}
}

func TestPutRefusesHugeValues(t *testing.T) {
	c, _ := open(t)
	if err := c.Put(NewID(), make([]byte, valueMax+1)); err == nil {
		t.Error("Put took a value over the limit")
	}
}

// FuzzBucket: a bucket file holding anything at all yields no value but
// one Put with the cache's key.
func FuzzBucket(f *testing.F) {
	dir := f.TempDir()
	c := Open(filepath.Join(dir, "cache"), filepath.Join(dir, "key"))
	id := NewID([]byte("fuzz"))
	if err := c.Put(id, []byte("the verdict")); err != nil {
		f.Fatal(err)
	}
	real, err := os.ReadFile(c.bucket(id))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	f.Add(append(bytes.Clone(real), real...))
	f.Add([]byte(fmt.Sprintf("%x AAAA 00\n", id[:])))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(c.bucket(id), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if v, ok := Open(c.dir, c.keyFile).Get(id); ok && string(v) != "the verdict" {
			t.Fatalf("Get returned %q, which no one Put", v)
		}
	})
}
