package drssim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
)

// Job initiators DRS reports.
const (
	initiatedByDrill     = "START_DRILL"
	initiatedByRecovery  = "START_RECOVERY"
	initiatedByTerminate = "TERMINATE_RECOVERY_INSTANCES"
)

// snapshotEvery is the interval of point-in-time snapshots; they are kept 24 hours.
const (
	snapshotEvery     = 10 * time.Minute
	snapshotRetention = 24 * time.Hour
)

// maxStartRecoveryServers is the API's own bound on sourceServers.
const maxStartRecoveryServers = 200

// StartRecovery starts a LAUNCH job for the source servers.
func (s *Sim) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.begin(ctx, APIStartRecovery, t, in, func(*region) []string {
		ids := make([]string, len(in.SourceServers))
		for i, ss := range in.SourceServers {
			ids[i] = ss.SourceServerID
		}
		return ids
	})
	if err != nil {
		return drsorch.Job{}, s.end(c, err)
	}
	j, err := s.startRecovery(c.r, c.now, in)
	if err != nil {
		return drsorch.Job{}, s.end(c, err)
	}
	return j.view(c.r, c.now), s.end(c, nil)
}

func (s *Sim) startRecovery(r *region, now time.Time, in drsorch.StartRecoveryInput) (*job, error) {
	n := len(in.SourceServers)
	switch {
	case n == 0:
		return nil, awsErr(ValidationException, "sourceServers: must contain at least 1 item")
	case n > maxStartRecoveryServers:
		return nil, awsErr(ValidationException, "sourceServers: must contain at most %d items, got %d", maxStartRecoveryServers, n)
	case s.limits.MaxServersPerJob > 0 && n > s.limits.MaxServersPerJob:
		return nil, awsErr(ServiceQuotaExceededException, "Cannot start a job with %d source servers: the quota is %d source servers per job", n, s.limits.MaxServersPerJob)
	}
	seen := make(map[string]bool, n)
	var missing []string
	for _, ss := range in.SourceServers {
		if seen[ss.SourceServerID] {
			return nil, awsErr(ValidationException, "sourceServers: source server %s is listed more than once", ss.SourceServerID)
		}
		seen[ss.SourceServerID] = true
		if r.servers[ss.SourceServerID] == nil {
			missing = append(missing, ss.SourceServerID)
		}
	}
	if len(missing) > 0 {
		return nil, awsErr(ResourceNotFoundException, "Source server(s) not found: %s", listIDs(missing))
	}
	for _, ss := range in.SourceServers {
		if ss.RecoverySnapshotID != "" && !s.snapshotExists(r, ss.SourceServerID, ss.RecoverySnapshotID, now) {
			return nil, awsErr(ValidationException, "Recovery snapshot %s does not belong to source server %s", ss.RecoverySnapshotID, ss.SourceServerID)
		}
	}
	for _, ss := range in.SourceServers {
		if j := r.busy[ss.SourceServerID]; j != nil {
			return nil, awsErr(ConflictException, "Source server %s is already participating in active job %s", ss.SourceServerID, j.ID)
		}
	}
	if err := s.checkJobQuotas(r, n); err != nil {
		return nil, err
	}

	tm := s.timings
	spread := tm.jitter()
	s.seq++
	j := &job{
		ID:          s.newJobID(r),
		Type:        drsorch.JobLaunch,
		InitiatedBy: initiatedByRecovery,
		Created:     now,
		Seq:         s.seq,
		Tags:        cloneTags(in.Tags),
		IsDrill:     in.IsDrill,
		Start:       tm.Pending,
		Servers:     make([]*jobServer, n),
	}
	if in.IsDrill {
		j.InitiatedBy = initiatedByDrill
	}
	for i, ss := range in.SourceServers {
		id := ss.SourceServerID
		srv := r.servers[id]
		js := &jobServer{
			SourceServerID:     id,
			InstanceID:         s.newInstanceID(r),
			ConversionServerID: s.newInstanceID(r),
			PrivateIP:          s.newPrivateIP(),
			InstanceType:       instanceTypeFor(id),
			SnapshotID:         ss.RecoverySnapshotID,
		}
		if old := r.bySource[id]; old != nil {
			js.Replaces = old.RecoveryInstanceID
		}
		js.CleanupEnd = j.Start
		if js.Replaces != "" {
			js.CleanupEnd += s.jittered(tm.Cleanup, spread, j.ID, id, "cleanup")
		}
		js.SnapshotEnd = js.CleanupEnd
		if reason := unfit(srv); reason != "" {
			js.FailEarly = true
			js.End = js.CleanupEnd + s.jittered(tm.Snapshot, spread, j.ID, id, "snapshot")
			js.SnapshotEnd, js.ConversionEnd = js.End, js.End
			js.FailError = fmt.Sprintf("Failed to take a snapshot of source server %s: %s", id, reason)
		} else {
			if js.SnapshotID == "" {
				js.SnapshotEnd += s.jittered(tm.Snapshot, spread, j.ID, id, "snapshot")
			}
			js.ConversionEnd = js.SnapshotEnd + s.jittered(tm.Conversion, spread, j.ID, id, "conversion")
			js.End = js.ConversionEnd + s.jittered(tm.Launch, spread, j.ID, id, "launch")
			if s.launchFails(id) {
				js.FailError = fmt.Sprintf("Failed to launch recovery instance: InsufficientInstanceCapacity: "+
					"We currently do not have sufficient %s capacity in the Availability Zone you requested.", js.InstanceType)
			}
		}
		j.End = max(j.End, js.End)
		j.Servers[i] = js
	}
	r.addJob(j)
	s.changed()
	return j, nil
}

// unfit says why a server cannot be recovered, "" when it can.
func unfit(srv *drsorch.SourceServer) string {
	for _, st := range drsorch.UnhealthyReplicationStates {
		if strings.EqualFold(srv.ReplicationState, st) {
			return "data replication state is " + st
		}
	}
	if strings.EqualFold(srv.LifecycleState, "STOPPED") {
		return "lifecycle state is STOPPED"
	}
	return ""
}

// launchFails consumes a FailLaunch of the server, else draws against FailRate.
func (s *Sim) launchFails(id string) bool {
	if n := s.failLaunch[id]; n > 0 {
		if n == 1 {
			delete(s.failLaunch, id)
		} else {
			s.failLaunch[id] = n - 1
		}
		return true
	}
	return s.failRate > 0 && float64(s.failRNG.Uint64()>>11)/(1<<53) < s.failRate
}

// checkJobQuotas refuses a new job of n servers over the account's quotas.
func (s *Sim) checkJobQuotas(r *region, n int) error {
	if lim := s.limits.MaxConcurrentJobs; lim > 0 && r.activeJobs >= lim {
		return awsErr(ServiceQuotaExceededException, "Cannot start a job: %d jobs are already active; the quota is %d concurrent jobs", r.activeJobs, lim)
	}
	if lim := s.limits.MaxServersInActiveJobs; lim > 0 && r.activeServers+n > lim {
		return awsErr(ServiceQuotaExceededException, "Cannot start a job of %d source servers: %d source servers are already in active jobs; the quota is %d", n, r.activeServers, lim)
	}
	return nil
}

func serverIDsOf(servers []drsorch.SourceServer) []string {
	ids := make([]string, len(servers))
	for i := range servers {
		ids[i] = servers[i].SourceServerID
	}
	return ids
}

func listIDs(ids []string) string {
	if len(ids) > 10 {
		return strings.Join(ids[:10], ", ") + fmt.Sprintf(" and %d more", len(ids)-10)
	}
	return strings.Join(ids, ", ")
}

// DescribeJobs returns the jobs the filter selects, newest first. Unknown job ids are ignored.
func (s *Sim) DescribeJobs(ctx context.Context, t drsorch.Target, f drsorch.JobFilter) ([]drsorch.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.begin(ctx, APIDescribeJobs, t, map[string]any{"filters": f}, func(r *region) []string {
		var ids []string
		for _, id := range f.JobIDs {
			if j := r.jobs[id]; j != nil {
				ids = append(ids, j.serverIDs()...)
			}
		}
		return ids
	})
	if err == nil && len(f.JobIDs) > drsorch.MaxJobIDsPerDescribe {
		err = awsErr(ValidationException, "filters.jobIDs: must contain at most %d items, got %d", drsorch.MaxJobIDsPerDescribe, len(f.JobIDs))
	}
	if err != nil {
		return nil, s.end(c, err)
	}
	return c.r.describeJobs(f, c.now), s.end(c, nil)
}

// DescribeJobLogItems returns a job's log up to now; an unknown job has an empty log.
func (s *Sim) DescribeJobLogItems(ctx context.Context, t drsorch.Target, jobID string) ([]drsorch.JobLogItem, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.begin(ctx, APIDescribeJobLogItems, t, map[string]any{"jobID": jobID}, func(r *region) []string {
		if j := r.jobs[jobID]; j != nil {
			return j.serverIDs()
		}
		return nil
	})
	if err == nil && jobID == "" {
		err = awsErr(ValidationException, "jobID: must not be empty")
	}
	if err != nil {
		return nil, s.end(c, err)
	}
	items := []drsorch.JobLogItem{}
	if j := c.r.jobs[jobID]; j != nil {
		items = append(items, j.log(c.now)...)
	}
	return items, s.end(c, nil)
}

// DescribeRecoveryInstances returns the recovery instances the filter selects, in launch order.
func (s *Sim) DescribeRecoveryInstances(ctx context.Context, t drsorch.Target, f drsorch.RecoveryInstanceFilter) ([]drsorch.RecoveryInstance, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.begin(ctx, APIDescribeRecoveryInstances, t, map[string]any{"filters": f}, func(r *region) []string {
		var ids []string
		for _, in := range r.describeInstances(f, s.now) {
			ids = append(ids, in.SourceServerID)
		}
		return ids
	})
	if err == nil {
		switch {
		case len(f.RecoveryInstanceIDs) > drsorch.MaxIDsPerFilter:
			err = awsErr(ValidationException, "filters.recoveryInstanceIDs: must contain at most %d items, got %d", drsorch.MaxIDsPerFilter, len(f.RecoveryInstanceIDs))
		case len(f.SourceServerIDs) > drsorch.MaxIDsPerFilter:
			err = awsErr(ValidationException, "filters.sourceServerIDs: must contain at most %d items, got %d", drsorch.MaxIDsPerFilter, len(f.SourceServerIDs))
		}
	}
	if err != nil {
		return nil, s.end(c, err)
	}
	return c.r.describeInstances(f, c.now), s.end(c, nil)
}

// DescribeSourceServers returns the source servers the filter selects; unknown ids are ignored.
func (s *Sim) DescribeSourceServers(ctx context.Context, t drsorch.Target, f drsorch.SourceServerFilter) ([]drsorch.SourceServer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.begin(ctx, APIDescribeSourceServers, t, map[string]any{"filters": f}, func(r *region) []string {
		if len(f.SourceServerIDs) == 0 {
			return serverIDsOf(r.describeServers(nil))
		}
		return f.SourceServerIDs
	})
	if err == nil && len(f.SourceServerIDs) > drsorch.MaxIDsPerFilter {
		err = awsErr(ValidationException, "filters.sourceServerIDs: must contain at most %d items, got %d", drsorch.MaxIDsPerFilter, len(f.SourceServerIDs))
	}
	if err != nil {
		return nil, s.end(c, err)
	}
	return c.r.describeServers(f.SourceServerIDs), s.end(c, nil)
}

// DescribeRecoverySnapshots returns a server's point-in-time snapshots in the
// filter's range, newest first: one every 10 minutes over the last 24 hours.
// An unknown server has none.
func (s *Sim) DescribeRecoverySnapshots(ctx context.Context, t drsorch.Target, f drsorch.SnapshotFilter) ([]drsorch.RecoverySnapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	input := map[string]any{
		"sourceServerID": f.SourceServerID,
		"filters": struct {
			From time.Time `json:"fromDateTime,omitzero"`
			To   time.Time `json:"toDateTime,omitzero"`
		}{f.FromDateTime, f.ToDateTime},
		"order": "DESC",
	}
	c, err := s.begin(ctx, APIDescribeRecoverySnapshots, t, input, func(*region) []string {
		return []string{f.SourceServerID}
	})
	if err == nil && f.SourceServerID == "" {
		err = awsErr(ValidationException, "sourceServerID: must not be empty")
	}
	if err != nil {
		return nil, s.end(c, err)
	}
	out := []drsorch.RecoverySnapshot{}
	if c.r.servers[f.SourceServerID] != nil {
		s.eachSnapshot(c.r, f.SourceServerID, c.now, func(ts time.Time, id string) bool {
			if !f.ToDateTime.IsZero() && ts.After(f.ToDateTime) {
				return true
			}
			if !f.FromDateTime.IsZero() && ts.Before(f.FromDateTime) {
				return false
			}
			out = append(out, drsorch.RecoverySnapshot{SnapshotID: id, SourceServerID: f.SourceServerID, Timestamp: ts, ExpectedTimestamp: ts})
			return true
		})
	}
	return out, s.end(c, nil)
}

// eachSnapshot calls fn for a server's snapshots, newest first, until fn returns false.
func (s *Sim) eachSnapshot(r *region, server string, now time.Time, fn func(ts time.Time, id string) bool) {
	oldest := now.Add(-snapshotRetention)
	for ts := now.Truncate(snapshotEvery); ts.After(oldest); ts = ts.Add(-snapshotEvery) {
		if !fn(ts, s.snapshotID(r.account, r.name, server, ts)) {
			return
		}
	}
}

func (s *Sim) snapshotExists(r *region, server, snapshotID string, now time.Time) bool {
	if !drsorch.ValidSnapshotID(snapshotID) {
		return false
	}
	found := false
	s.eachSnapshot(r, server, now, func(_ time.Time, id string) bool {
		found = id == snapshotID
		return !found
	})
	return found
}

// TerminateRecoveryInstances starts a TERMINATE job; when it completes the
// recovery instances are gone from DescribeRecoveryInstances.
func (s *Sim) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, recoveryInstanceIDs []string) (drsorch.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.begin(ctx, APITerminateRecoveryInstances, t, map[string]any{"recoveryInstanceIDs": recoveryInstanceIDs}, func(r *region) []string {
		var ids []string
		for _, id := range recoveryInstanceIDs {
			if in := r.instances[id]; in != nil {
				ids = append(ids, in.SourceServerID)
			}
		}
		return ids
	})
	if err != nil {
		return drsorch.Job{}, s.end(c, err)
	}
	j, err := s.terminate(c.r, c.now, recoveryInstanceIDs)
	if err != nil {
		return drsorch.Job{}, s.end(c, err)
	}
	return j.view(c.r, c.now), s.end(c, nil)
}

func (s *Sim) terminate(r *region, now time.Time, ids []string) (*job, error) {
	switch {
	case len(ids) == 0:
		return nil, awsErr(ValidationException, "recoveryInstanceIDs: must contain at least 1 item")
	case len(ids) > drsorch.MaxTerminateIDs:
		return nil, awsErr(ValidationException, "recoveryInstanceIDs: must contain at most %d items, got %d", drsorch.MaxTerminateIDs, len(ids))
	}
	var list []*instance
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if !drsorch.ValidInstanceID(id) {
			return nil, awsErr(ValidationException, "recoveryInstanceIDs: %q does not match i-[0-9a-fA-F]{8,}", id)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		in := r.instances[id]
		if in == nil {
			missing = append(missing, id)
			continue
		}
		list = append(list, in)
	}
	if len(missing) > 0 {
		return nil, awsErr(ResourceNotFoundException, "Recovery instance(s) not found: %s", listIDs(missing))
	}
	for _, in := range list {
		if in.TerminateJob != "" {
			return nil, awsErr(ConflictException, "Recovery instance %s is already being terminated by job %s", in.RecoveryInstanceID, in.TerminateJob)
		}
		if j := r.busy[in.SourceServerID]; j != nil && in.SourceServerID != "" {
			return nil, awsErr(ConflictException, "Source server %s of recovery instance %s is participating in active job %s", in.SourceServerID, in.RecoveryInstanceID, j.ID)
		}
	}
	if err := s.checkJobQuotas(r, len(list)); err != nil {
		return nil, err
	}
	tm := s.timings
	s.seq++
	j := &job{
		ID:          s.newJobID(r),
		Type:        drsorch.JobTerminate,
		InitiatedBy: initiatedByTerminate,
		Created:     now,
		Seq:         s.seq,
		Start:       min(tm.Pending, tm.Terminate/2),
		End:         tm.Terminate,
		Servers:     make([]*jobServer, len(list)),
	}
	for i, in := range list {
		j.Servers[i] = &jobServer{SourceServerID: in.SourceServerID, InstanceID: in.RecoveryInstanceID, End: tm.Terminate}
		in.TerminateJob = j.ID
	}
	r.addJob(j)
	s.changed()
	return j, nil
}
