//go:build !linux

package gpg

import "os"

func executable() (string, error) { return os.Executable() }
