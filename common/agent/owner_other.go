//go:build !unix

package agent

import "io/fs"

// checkPrivate has no ownership information to check on this platform.
func checkPrivate(path string, fi fs.FileInfo) error { return nil }

// ownedByMe has no ownership information to check on this platform.
func ownedByMe(fi fs.FileInfo) bool { return true }

// ownerOnly has no umask to set on this platform.
func ownerOnly() (restore func()) { return func() {} }
