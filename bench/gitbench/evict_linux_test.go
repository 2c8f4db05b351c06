package gitbench

import (
	"os"

	"golang.org/x/sys/unix"
)

// evict drops a binary's pages from the page cache, so that every program
// measured starts from the same state, as after a reboot: one just written
// by the linker or by cp runs up to 0.5 ms faster or slower per exec than
// the same bytes read back from disk, which would otherwise decide
// comparisons between builds.
func evict(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// settle writes out what the file system holds dirty and commits its
// journal, so that none of that work lands inside the next measurement.
func settle() { unix.Sync() }
