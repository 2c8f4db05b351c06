//go:build unix

package verdicts

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Whatever is planted in the cache directory instead of a bucket is a
// miss: not followed if a link (no write lands elsewhere), not waited on if
// a FIFO, not read if oversized; the next Put replaces it.
func TestPlantedFiles(t *testing.T) {
	c, dir := open(t)
	id := NewID([]byte("planted"))
	if err := c.Put(NewID([]byte("make key and dir")), nil); err != nil {
		t.Fatal(err)
	}
	bucket := c.bucket(id)
	target := filepath.Join(dir, "elsewhere")
	os.WriteFile(target, []byte("precious\n"), 0o600)

	plant := map[string]func() error{
		"symlink":          func() error { return os.Symlink(target, bucket) },
		"dangling symlink": func() error { return os.Symlink(filepath.Join(dir, "nowhere"), bucket) },
		"fifo":             func() error { return syscall.Mkfifo(bucket, 0o600) },
		"oversized":        func() error { return os.WriteFile(bucket, bytes.Repeat([]byte("x"), 3*bucketMax), 0o600) },
		"directory":        func() error { return os.Mkdir(bucket, 0o700) },
	}
	for name, spoil := range plant {
		t.Run(name, func(t *testing.T) {
			os.RemoveAll(bucket)
			if err := spoil(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				if _, ok := Open(c.dir, c.keyFile).Get(id); ok {
					t.Error("hit")
				}
				Open(c.dir, c.keyFile).Put(id, []byte("fresh"))
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Get or Put is stuck")
			}
			if got, _ := os.ReadFile(target); string(got) != "precious\n" {
				t.Errorf("the link's target was written: %q", got)
			}
			if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
				t.Error("the dangling link's target was created")
			}
			if name == "directory" {
				return // nothing replaces a directory
			}
			if v, ok := Open(c.dir, c.keyFile).Get(id); !ok || string(v) != "fresh" {
				t.Errorf("after Put: %q, %v", v, ok)
			}
			if fi, err := os.Lstat(bucket); err != nil || !fi.Mode().IsRegular() || fi.Size() > bucketMax {
				t.Errorf("the bucket is now %v, %v", fi, err)
			}
		})
	}
}

// A key others may read, or a link to one, is not used: Get misses, Put
// makes a private key in its place.
func TestKeyMustBePrivate(t *testing.T) {
	c, dir := open(t)
	id := NewID([]byte("k"))
	if err := c.Put(id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	key, _ := os.ReadFile(c.keyFile)
	shared := filepath.Join(dir, "shared-key")
	os.WriteFile(shared, key, 0o644)
	for name, spoil := range map[string]func() error{
		"readable by others": func() error { return os.Chmod(c.keyFile, 0o644) },
		"link":               func() error { os.Remove(c.keyFile); return os.Symlink(shared, c.keyFile) },
	} {
		t.Run(name, func(t *testing.T) {
			os.Remove(c.keyFile)
			os.WriteFile(c.keyFile, key, 0o600)
			if err := spoil(); err != nil {
				t.Fatal(err)
			}
			if _, ok := Open(c.dir, c.keyFile).Get(id); ok {
				t.Fatal("an entry was accepted under a key others can read")
			}
			if err := Open(c.dir, c.keyFile).Put(NewID([]byte("other")), nil); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(c.keyFile)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Errorf("key after Put: %v, %v", fi, err)
			}
			if got, _ := os.ReadFile(shared); !bytes.Equal(got, key) {
				t.Error("the link's target was replaced")
			}
		})
	}
}

// A directory others may write to is not trusted to hold verdicts.
func TestDirectoryMustBePrivate(t *testing.T) {
	c, _ := open(t)
	id := NewID([]byte("d"))
	if err := c.Put(id, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(c.dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, ok := Open(c.dir, c.keyFile).Get(id); ok {
		t.Error("hit in a directory anyone may write to")
	}
	if err := Open(c.dir, c.keyFile).Put(id, []byte("v")); err == nil {
		t.Error("Put wrote into a directory anyone may write to")
	}
}

// root with another user's HOME (sudo) creates nothing there: a cache
// directory or key the user could not use afterwards.
func TestNothingCreatedInAnotherUsersDirectory(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a directory of another user's")
	}
	home := t.TempDir()
	if err := os.Chown(home, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	c := Open(filepath.Join(home, ".cache", "verdicts"), filepath.Join(home, ".config", "key"))
	if err := c.Put(NewID([]byte("x")), []byte("v")); err == nil {
		t.Error("Put succeeded in another user's home")
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("created in another user's home: %v", entries)
	}
}
