//go:build integration && linux

package dynamodb_test

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill DynamoDB Local if the test binary dies first.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
