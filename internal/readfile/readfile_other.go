//go:build !unix

package readfile

import "os"

// Read returns the contents of the named file, as os.ReadFile does.
func Read(name string) ([]byte, error) { return os.ReadFile(name) }
