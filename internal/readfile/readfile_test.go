package readfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 100_000} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("waxseal\n"), n/8+1)[:n]
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
	}
	if _, err := Read(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	var pe *fs.PathError
	if _, err := Read(dir); !errors.As(err, &pe) || pe.Path != dir {
		t.Errorf("directory: %v", err)
	}
	if runtime.GOOS == "linux" {
		// A file whose size stat does not know.
		want, _ := os.ReadFile("/proc/self/mountinfo")
		got, err := Read("/proc/self/mountinfo")
		if err != nil || len(got) == 0 || len(want) == 0 {
			t.Errorf("/proc/self/mountinfo: %d bytes, %v", len(got), err)
		}
	}
}
