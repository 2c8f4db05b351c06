package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waxseal/waxseal/internal/tufrepo"
)

// clock is a settable wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type signedMeta struct {
	Version int64
	Expires time.Time
	Meta    map[string]struct{ Version int64 }
}

func meta(t *testing.T, files map[string][]byte, name string) signedMeta {
	t.Helper()
	b, ok := files[name]
	if !ok {
		t.Fatalf("%s is not served", name)
	}
	var m struct{ Signed signedMeta }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m.Signed
}

// TestTUFResigning drives the repository with a clock: a new, larger
// version a day later, with the previous one's snapshot and targets still
// served; unexpired metadata however long no one asked; a new version when
// the clock goes back; expiry windows as documented.
func TestTUFResigning(t *testing.T) {
	dir := t.TempDir()
	c := &clock{t: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	r, err := openTUF(dir, map[string][]byte{"trusted_root.json": []byte("{}")}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := r.current()
	ts := meta(t, files, "timestamp.json")
	if ts.Expires.Before(c.now().Add(6 * 24 * time.Hour)) {
		t.Errorf("timestamp expires %v, less than six days ahead of %v", ts.Expires, c.now())
	}
	if root := meta(t, files, tufrepo.RootFile); root.Expires.Before(c.now().Add(9 * 365 * 24 * time.Hour)) {
		t.Errorf("root expires %v, less than nine years ahead", root.Expires)
	}

	c.add(23 * time.Hour)
	if again, _ := r.current(); meta(t, again, "timestamp.json").Version != ts.Version {
		t.Error("a new version within the day")
	}

	c.add(2 * time.Hour)
	files, _ = r.current()
	ts2 := meta(t, files, "timestamp.json")
	if ts2.Version <= ts.Version || !ts2.Expires.After(ts.Expires) {
		t.Errorf("after 25 hours: version %d expiring %v, was %d expiring %v", ts2.Version, ts2.Expires, ts.Version, ts.Expires)
	}
	old := ts.Meta["snapshot.json"].Version
	for _, name := range []string{"%d.snapshot.json", "%d.targets.json"} {
		meta(t, files, strings.Replace(name, "%d", strconv.FormatInt(old, 10), 1)) // a client mid-update still finds them
	}

	// Nobody asked for eight days (a laptop asleep, say): what is served
	// next is not expired.
	c.add(8 * 24 * time.Hour)
	files, _ = r.current()
	if ts3 := meta(t, files, "timestamp.json"); !ts3.Expires.After(c.now()) || ts3.Version <= ts2.Version {
		t.Errorf("after eight idle days: version %d expiring %v at %v", ts3.Version, ts3.Expires, c.now())
	}

	// The clock goes back a week: a new version, still larger.
	last := meta(t, files, "timestamp.json").Version
	c.add(-7 * 24 * time.Hour)
	files, _ = r.current()
	if v := meta(t, files, "timestamp.json").Version; v <= last {
		t.Errorf("after the clock went back: version %d, was %d", v, last)
	}

	// A restart keeps counting up, whatever the clock says.
	c.add(-30 * 24 * time.Hour)
	r2, err := openTUF(dir, r.targets, c.now)
	if err != nil {
		t.Fatal(err)
	}
	files2, _ := r2.current()
	if v := meta(t, files2, "timestamp.json").Version; v <= meta(t, files, "timestamp.json").Version {
		t.Errorf("after a restart with the clock behind: version %d", v)
	}
}

// TestTUFOpenErrors: a lost key, a damaged version file and an expired
// root each stop the server with what to do.
func TestTUFOpenErrors(t *testing.T) {
	targets := map[string][]byte{"trusted_root.json": []byte("{}")}
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	fresh := func() string {
		dir := t.TempDir()
		if _, err := openTUF(dir, targets, c.now); err != nil {
			t.Fatal(err)
		}
		return dir
	}

	dir := fresh()
	os.Remove(filepath.Join(dir, "tuf-key.pem"))
	if _, err := openTUF(dir, targets, c.now); err == nil || !strings.Contains(err.Error(), "tuf-key.pem is missing") || !strings.Contains(err.Error(), "restore the key") {
		t.Errorf("lost key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tuf-key.pem")); err == nil {
		t.Error("a new key was made beside a root that names another")
	}

	dir, other := fresh(), fresh()
	key, _ := os.ReadFile(filepath.Join(other, "tuf-key.pem"))
	os.WriteFile(filepath.Join(dir, "tuf-key.pem"), key, 0o600)
	if _, err := openTUF(dir, targets, c.now); err == nil || !strings.Contains(err.Error(), "does not name the key") {
		t.Errorf("another data directory's key: %v", err)
	}

	dir = fresh()
	os.WriteFile(filepath.Join(dir, "version"), []byte("garbage\n"), 0o644)
	if _, err := openTUF(dir, targets, c.now); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("damaged version file: %v", err)
	}

	dir = fresh()
	later := &clock{t: c.now().Add(tufRootValidity + time.Hour)}
	if _, err := openTUF(dir, targets, later.now); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired root: %v", err)
	}
}
