//go:build !linux

package cli

// watchParent does nothing where the kernel cannot signal a parent's exit.
func watchParent(onGone func()) (gone bool, stop func()) { return false, func() {} }
