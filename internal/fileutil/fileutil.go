// Package fileutil writes files so that a crash never leaves a torn one: the
// data goes to a temporary file in the same directory, is synced, then takes
// the final name.
package fileutil

import (
	"os"
	"path/filepath"
)

// WriteTemp writes data to a new temporary file next to path, with the given
// mode and synced to disk, and returns its name. The caller renames or links it.
func WriteTemp(path string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	err = f.Chmod(mode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// WriteAtomic replaces path with data, atomically.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := WriteTemp(path, data, mode)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
