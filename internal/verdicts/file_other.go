//go:build !unix

package verdicts

import (
	"io"
	"io/fs"
	"os"
)

// Without unix's file modes and owners, the checks are what os offers: a
// regular file, not a link, of bounded size.

func regular(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "open", Path: p, Err: errNotOurs}
	}
	return nil
}

func readChecked(p string, max int64, private bool) ([]byte, error) {
	if err := regular(p); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = &fs.PathError{Op: "read", Path: p, Err: errTooLarge}
	}
	return data, err
}

func appendChecked(p string, line []byte, max int64) (int64, error) {
	if err := regular(p); err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Size() > max {
		return fi.Size(), &fs.PathError{Op: "write", Path: p, Err: errTooLarge}
	}
	_, err = f.Write(line)
	return fi.Size(), err
}

func dirOK(dir string) bool {
	fi, err := os.Lstat(dir)
	return err == nil && fi.IsDir()
}

func mayCreate(string) bool { return true }
