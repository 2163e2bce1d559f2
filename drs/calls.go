package drs

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsdrs "github.com/aws/aws-sdk-go-v2/service/drs"
	"github.com/aws/aws-sdk-go-v2/service/drs/types"

	"github.com/drsorch/drsorch"
)

// StartRecovery starts a LAUNCH job for the source servers.
func (a *Adapter) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	const op = "StartRecovery"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return drsorch.Job{}, err
	}
	switch n := len(in.SourceServers); {
	case n == 0:
		return drsorch.Job{}, c.invalid(op, "sourceServers: must contain at least 1 item")
	case n > maxStartRecoveryServers:
		return drsorch.Job{}, c.invalid(op, "sourceServers: must contain at most %d items, got %d", maxStartRecoveryServers, n)
	}
	req := &awsdrs.StartRecoveryInput{
		IsDrill:       aws.Bool(in.IsDrill),
		SourceServers: make([]types.StartRecoveryRequestSourceServer, len(in.SourceServers)),
		Tags:          cloneTags(in.Tags),
	}
	for i, s := range in.SourceServers {
		req.SourceServers[i].SourceServerID = aws.String(s.SourceServerID)
		if s.RecoverySnapshotID != "" {
			req.SourceServers[i].RecoverySnapshotID = aws.String(s.RecoverySnapshotID)
		}
	}
	out, err := c.drs.StartRecovery(ctx, req, a.mutating)
	if err != nil {
		return drsorch.Job{}, c.fail(op, err)
	}
	if out.Job == nil {
		return drsorch.Job{}, drsorch.Errorf(drsorch.CodeDRS, "DRS %s in %s returned no job", op, c.where())
	}
	return c.job(*out.Job), nil
}

// DescribeJobs returns every job the filter selects, newest first.
func (a *Adapter) DescribeJobs(ctx context.Context, t drsorch.Target, f drsorch.JobFilter) ([]drsorch.Job, error) {
	const op = "DescribeJobs"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return nil, err
	}
	if n := len(f.JobIDs); n > drsorch.MaxJobIDsPerDescribe {
		return nil, c.invalid(op, "filters.jobIDs: must contain at most %d items, got %d", drsorch.MaxJobIDsPerDescribe, n)
	}
	req := &awsdrs.DescribeJobsInput{}
	if len(f.JobIDs) > 0 || !f.FromDate.IsZero() || !f.ToDate.IsZero() {
		req.Filters = &types.DescribeJobsRequestFilters{JobIDs: f.JobIDs, FromDate: formatTime(f.FromDate), ToDate: formatTime(f.ToDate)}
	}
	p := awsdrs.NewDescribeJobsPaginator(c.drs, req, func(o *awsdrs.DescribeJobsPaginatorOptions) {
		o.Limit, o.StopOnDuplicateToken = a.opts.PageSize, true
	})
	out := []drsorch.Job{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, j := range page.Items {
			out = append(out, c.job(j))
		}
	}
	return out, nil
}

// DescribeJobLogItems returns a job's whole log.
func (a *Adapter) DescribeJobLogItems(ctx context.Context, t drsorch.Target, jobID string) ([]drsorch.JobLogItem, error) {
	const op = "DescribeJobLogItems"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return nil, err
	}
	if jobID == "" {
		return nil, c.invalid(op, "jobID: must not be empty")
	}
	p := awsdrs.NewDescribeJobLogItemsPaginator(c.drs, &awsdrs.DescribeJobLogItemsInput{JobID: aws.String(jobID)}, func(o *awsdrs.DescribeJobLogItemsPaginatorOptions) {
		o.Limit, o.StopOnDuplicateToken = a.opts.PageSize, true
	})
	out := []drsorch.JobLogItem{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, l := range page.Items {
			out = append(out, logItem(l))
		}
	}
	return out, nil
}

// DescribeRecoveryInstances returns every recovery instance the filter
// selects, with EC2's instance type, private IP, state and launch time.
func (a *Adapter) DescribeRecoveryInstances(ctx context.Context, t drsorch.Target, f drsorch.RecoveryInstanceFilter) ([]drsorch.RecoveryInstance, error) {
	const op = "DescribeRecoveryInstances"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return nil, err
	}
	switch {
	case len(f.RecoveryInstanceIDs) > drsorch.MaxIDsPerFilter:
		return nil, c.invalid(op, "filters.recoveryInstanceIDs: must contain at most %d items, got %d", drsorch.MaxIDsPerFilter, len(f.RecoveryInstanceIDs))
	case len(f.SourceServerIDs) > drsorch.MaxIDsPerFilter:
		return nil, c.invalid(op, "filters.sourceServerIDs: must contain at most %d items, got %d", drsorch.MaxIDsPerFilter, len(f.SourceServerIDs))
	}
	req := &awsdrs.DescribeRecoveryInstancesInput{}
	if len(f.RecoveryInstanceIDs) > 0 || len(f.SourceServerIDs) > 0 {
		req.Filters = &types.DescribeRecoveryInstancesRequestFilters{RecoveryInstanceIDs: f.RecoveryInstanceIDs, SourceServerIDs: f.SourceServerIDs}
	}
	p := awsdrs.NewDescribeRecoveryInstancesPaginator(c.drs, req, func(o *awsdrs.DescribeRecoveryInstancesPaginatorOptions) {
		o.Limit, o.StopOnDuplicateToken = a.opts.PageSize, true
	})
	out := []drsorch.RecoveryInstance{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, r := range page.Items {
			out = append(out, c.recoveryInstance(r))
		}
	}
	a.enrich(ctx, c, out)
	return out, nil
}

// DescribeSourceServers returns every source server the filter selects.
func (a *Adapter) DescribeSourceServers(ctx context.Context, t drsorch.Target, f drsorch.SourceServerFilter) ([]drsorch.SourceServer, error) {
	const op = "DescribeSourceServers"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return nil, err
	}
	if n := len(f.SourceServerIDs); n > drsorch.MaxIDsPerFilter {
		return nil, c.invalid(op, "filters.sourceServerIDs: must contain at most %d items, got %d", drsorch.MaxIDsPerFilter, n)
	}
	req := &awsdrs.DescribeSourceServersInput{}
	if len(f.SourceServerIDs) > 0 {
		req.Filters = &types.DescribeSourceServersRequestFilters{SourceServerIDs: f.SourceServerIDs}
	}
	p := awsdrs.NewDescribeSourceServersPaginator(c.drs, req, func(o *awsdrs.DescribeSourceServersPaginatorOptions) {
		o.Limit, o.StopOnDuplicateToken = a.opts.PageSize, true
	})
	out := []drsorch.SourceServer{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, s := range page.Items {
			out = append(out, c.sourceServer(s))
		}
	}
	return out, nil
}

// DescribeRecoverySnapshots returns a source server's snapshots in the filter's range, newest first.
func (a *Adapter) DescribeRecoverySnapshots(ctx context.Context, t drsorch.Target, f drsorch.SnapshotFilter) ([]drsorch.RecoverySnapshot, error) {
	const op = "DescribeRecoverySnapshots"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return nil, err
	}
	if f.SourceServerID == "" {
		return nil, c.invalid(op, "sourceServerID: must not be empty")
	}
	req := &awsdrs.DescribeRecoverySnapshotsInput{SourceServerID: aws.String(f.SourceServerID), Order: types.RecoverySnapshotsOrderDesc}
	if !f.FromDateTime.IsZero() || !f.ToDateTime.IsZero() {
		req.Filters = &types.DescribeRecoverySnapshotsRequestFilters{FromDateTime: formatTime(f.FromDateTime), ToDateTime: formatTime(f.ToDateTime)}
	}
	p := awsdrs.NewDescribeRecoverySnapshotsPaginator(c.drs, req, func(o *awsdrs.DescribeRecoverySnapshotsPaginatorOptions) {
		o.Limit, o.StopOnDuplicateToken = a.opts.PageSize, true
	})
	out := []drsorch.RecoverySnapshot{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, c.fail(op, err)
		}
		for _, s := range page.Items {
			out = append(out, snapshot(s))
		}
	}
	return out, nil
}

// TerminateRecoveryInstances starts a TERMINATE job for the recovery instances.
func (a *Adapter) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, recoveryInstanceIDs []string) (drsorch.Job, error) {
	const op = "TerminateRecoveryInstances"
	c, err := a.clientsFor(op, t)
	if err != nil {
		return drsorch.Job{}, err
	}
	switch n := len(recoveryInstanceIDs); {
	case n == 0:
		return drsorch.Job{}, c.invalid(op, "recoveryInstanceIDs: must contain at least 1 item")
	case n > drsorch.MaxTerminateIDs:
		return drsorch.Job{}, c.invalid(op, "recoveryInstanceIDs: must contain at most %d items, got %d", drsorch.MaxTerminateIDs, n)
	}
	out, err := c.drs.TerminateRecoveryInstances(ctx, &awsdrs.TerminateRecoveryInstancesInput{RecoveryInstanceIDs: recoveryInstanceIDs}, a.mutating)
	if err != nil {
		return drsorch.Job{}, c.fail(op, err)
	}
	if out.Job == nil {
		return drsorch.Job{}, drsorch.Errorf(drsorch.CodeDRS, "DRS %s in %s returned no job", op, c.where())
	}
	return c.job(*out.Job), nil
}
