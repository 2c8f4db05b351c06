//go:build !linux

package gitbench

// evict leaves the page cache alone where it cannot be told to drop a file.
func evict(path string) error { return nil }

// settle does nothing where the benchmark does not control the page cache.
func settle() {}
