package app

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LockFile is the file of the data directory that a running drsorch holds
// locked (an advisory lock the kernel releases when the process ends, even by
// SIGKILL), so two processes never work on one data directory at once. It
// holds the process id of its holder.
const LockFile = "drsorch.lock"

// ErrDataDirLocked is the refusal to open a data directory another process holds.
var ErrDataDirLocked = errors.New("the data directory is in use by another drsorch process")

// lockDataDir takes the data directory's lock, or fails with ErrDataDirLocked
// naming the holder. release gives it back.
func lockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory lock: %w", err)
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory lock %s: %w", path, err)
	}
	if held {
		b, _ := os.ReadFile(path)
		f.Close()
		holder := "another process"
		if pid := strings.TrimSpace(string(b)); pid != "" {
			holder = "process " + pid
		}
		return nil, fmt.Errorf("%w: %s holds %s; stop it first, or use another data directory", ErrDataDirLocked, holder, path)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(fmt.Sprintf("%d\n", os.Getpid())), 0)
	}
	return func() {
		unlock(f)
		f.Close()
	}, nil
}
