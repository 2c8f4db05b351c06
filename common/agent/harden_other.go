//go:build !linux

package agent

// Harden does nothing here: the platforms other than Linux have no
// PR_SET_DUMPABLE.
func Harden() error { return nil }
