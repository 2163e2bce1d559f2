//go:build !linux

package testenv

import "os/exec"

// setDeathSignal does nothing where the kernel cannot tie a child's life to its parent's.
func setDeathSignal(*exec.Cmd) {}
