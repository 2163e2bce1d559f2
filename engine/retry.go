package engine

import (
	"context"
	"time"

	"github.com/drsorch/drsorch"
)

// retryingDRS retries throttled DRS calls a few times with backoff before
// giving up, so a burst of throttling does not fail an operation. Other errors
// pass through at once: a StartRecovery whose outcome is unknown must not be repeated.
type retryingDRS struct {
	drsorch.DRS
	sleep    func(context.Context, time.Duration)
	attempts int
}

var _ drsorch.DRS = retryingDRS{}

func retry[T any](r retryingDRS, ctx context.Context, call func() (T, error)) (T, error) {
	var v T
	var err error
	for i := 0; i < r.attempts; i++ {
		if v, err = call(); !drsorch.IsCode(err, drsorch.CodeDRSThrottled) || ctx.Err() != nil {
			return v, err
		}
		if i < r.attempts-1 {
			r.sleep(ctx, time.Duration(200<<i)*time.Millisecond)
		}
	}
	return v, err
}

// StartRecovery retries throttling.
func (r retryingDRS) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	return retry(r, ctx, func() (drsorch.Job, error) { return r.DRS.StartRecovery(ctx, t, in) })
}

// DescribeJobs retries throttling.
func (r retryingDRS) DescribeJobs(ctx context.Context, t drsorch.Target, f drsorch.JobFilter) ([]drsorch.Job, error) {
	return retry(r, ctx, func() ([]drsorch.Job, error) { return r.DRS.DescribeJobs(ctx, t, f) })
}

// DescribeJobLogItems retries throttling.
func (r retryingDRS) DescribeJobLogItems(ctx context.Context, t drsorch.Target, jobID string) ([]drsorch.JobLogItem, error) {
	return retry(r, ctx, func() ([]drsorch.JobLogItem, error) { return r.DRS.DescribeJobLogItems(ctx, t, jobID) })
}

// DescribeRecoveryInstances retries throttling.
func (r retryingDRS) DescribeRecoveryInstances(ctx context.Context, t drsorch.Target, f drsorch.RecoveryInstanceFilter) ([]drsorch.RecoveryInstance, error) {
	return retry(r, ctx, func() ([]drsorch.RecoveryInstance, error) { return r.DRS.DescribeRecoveryInstances(ctx, t, f) })
}

// DescribeSourceServers retries throttling.
func (r retryingDRS) DescribeSourceServers(ctx context.Context, t drsorch.Target, f drsorch.SourceServerFilter) ([]drsorch.SourceServer, error) {
	return retry(r, ctx, func() ([]drsorch.SourceServer, error) { return r.DRS.DescribeSourceServers(ctx, t, f) })
}

// DescribeRecoverySnapshots retries throttling.
func (r retryingDRS) DescribeRecoverySnapshots(ctx context.Context, t drsorch.Target, f drsorch.SnapshotFilter) ([]drsorch.RecoverySnapshot, error) {
	return retry(r, ctx, func() ([]drsorch.RecoverySnapshot, error) { return r.DRS.DescribeRecoverySnapshots(ctx, t, f) })
}

// TerminateRecoveryInstances retries throttling.
func (r retryingDRS) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, ids []string) (drsorch.Job, error) {
	return retry(r, ctx, func() (drsorch.Job, error) { return r.DRS.TerminateRecoveryInstances(ctx, t, ids) })
}
