//go:build !unix

package app

import "os"

// tryLock does not lock where flock is not available: one process per data
// directory is then the operator's care.
func tryLock(*os.File) (held bool, err error) { return false, nil }

func unlock(*os.File) {}
