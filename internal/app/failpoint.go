package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/drsorch/drsorch"
)

// Test hooks for the crash test (cmd/drsorch/crash_integration_test.go). Set
// to a positive integer N, they make `drsorch serve` kill its own process with
// SIGKILL right after the Nth successful call of that DRS operation in the
// process, before the call returns: the job exists in DRS, and the engine has
// not saved its id. They are read once, when the app is built; they are not
// flags, are never set by drsorch itself, and any other value than a positive
// integer refuses to start. Never set them outside tests.
const (
	EnvKillAfterStartRecovery = "DRSORCH_TEST_KILL_AFTER_START_RECOVERY"
	EnvKillAfterTerminate     = "DRSORCH_TEST_KILL_AFTER_TERMINATE_RECOVERY_INSTANCES"
)

// failpoints are the armed test hooks: 0 means not armed.
type failpoints struct {
	afterStart, afterTerminate int64
}

// readFailpoints reads the test hooks from the environment.
func readFailpoints(getenv func(string) string) (failpoints, error) {
	var fp failpoints
	for _, v := range []struct {
		name string
		dst  *int64
	}{{EnvKillAfterStartRecovery, &fp.afterStart}, {EnvKillAfterTerminate, &fp.afterTerminate}} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return failpoints{}, fmt.Errorf("%s is a test hook and must be a positive integer, got %q", v.name, s)
		}
		*v.dst = n
	}
	return fp, nil
}

// wrap returns d with the armed hooks, or d itself when none is.
func (fp failpoints) wrap(d drsorch.DRS, log *slog.Logger) drsorch.DRS {
	if fp.afterStart == 0 && fp.afterTerminate == 0 {
		return d
	}
	log.Warn("TEST HOOK ARMED: this process kills itself with SIGKILL after a DRS call",
		EnvKillAfterStartRecovery, fp.afterStart, EnvKillAfterTerminate, fp.afterTerminate)
	return &killingDRS{DRS: d, fp: fp, kill: killSelf}
}

// killingDRS is a DRS that kills the process after the Nth successful
// StartRecovery or TerminateRecoveryInstances, before returning its result.
type killingDRS struct {
	drsorch.DRS
	fp                 failpoints
	starts, terminates atomic.Int64
	kill               func()
}

// StartRecovery calls DRS, then kills the process after the armed number of successes.
func (k *killingDRS) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	j, err := k.DRS.StartRecovery(ctx, t, in)
	if err == nil && k.fp.afterStart > 0 && k.starts.Add(1) == k.fp.afterStart {
		k.kill()
	}
	return j, err
}

// TerminateRecoveryInstances calls DRS, then kills the process after the armed number of successes.
func (k *killingDRS) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, ids []string) (drsorch.Job, error) {
	j, err := k.DRS.TerminateRecoveryInstances(ctx, t, ids)
	if err == nil && k.fp.afterTerminate > 0 && k.terminates.Add(1) == k.fp.afterTerminate {
		k.kill()
	}
	return j, err
}

// killSelf sends SIGKILL to this process (os.Process.Kill) and never returns.
func killSelf() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	for {
		time.Sleep(time.Hour)
	}
}
