//go:build !unix

package verdicts

import "os"

// appendLine appends line to the file at p, creating it, in one write, and
// returns the file's size after.
func appendLine(p string, line []byte) (int64, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if _, err := f.Write(line); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
