package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/drsorch/drsorch"
)

// quotaBook tracks, per account and region, the jobs and servers in active
// jobs that drsorch knows of, so submissions stay within DRS's quotas across
// every execution of the account.
type quotaBook struct {
	mu         sync.Mutex
	maxJobs    int
	maxServers int
	used       map[string]*usage
}

type usage struct{ jobs, servers int }

func (e *Engine) newBook() *quotaBook {
	return &quotaBook{maxJobs: drsorch.MaxConcurrentJobs, maxServers: drsorch.MaxServersInActiveJobs, used: map[string]*usage{}}
}

func (b *quotaBook) get(key string) *usage {
	u := b.used[key]
	if u == nil {
		u = &usage{}
		b.used[key] = u
	}
	return u
}

// count adds a known in-flight job.
func (b *quotaBook) count(key string, servers int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.get(key)
	u.jobs++
	u.servers += servers
}

// take reserves a job of up to want servers and returns how many servers it may hold (0: none).
func (b *quotaBook) take(key string, want int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.get(key)
	n := min(want, drsorch.MaxServersPerJob, b.maxServers-u.servers)
	if u.jobs >= b.maxJobs || n <= 0 {
		return 0
	}
	u.jobs++
	u.servers += n
	return n
}

// give returns a reservation that did not become a job.
func (b *quotaBook) give(key string, servers int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.get(key)
	u.jobs--
	u.servers -= servers
}

// saturate marks an account and region full for the rest of the cycle (DRS refused for quota).
func (b *quotaBook) saturate(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u := b.get(key)
	u.jobs, u.servers = b.maxJobs, b.maxServers
}

// bookFor counts the in-flight jobs of the given executions, with what the
// observations say about them.
func (e *Engine) bookFor(xs []*drsorch.Execution, o *observations) *quotaBook {
	b := e.newBook()
	for _, x := range xs {
		for _, w := range x.Waves {
			for _, j := range w.Jobs {
				if !j.InFlight() {
					continue
				}
				if o != nil && j.JobID != "" {
					if dj, ok := o.jobs[j.JobID]; ok && !dj.Status.Active() {
						continue
					}
				}
				b.count(x.Target(j.Region, e.cfg.AccountID).Key(), len(j.ServerIDs))
			}
		}
	}
	return b
}

// bookFromStore builds the quota book from every active execution.
func (e *Engine) bookFromStore(ctx context.Context) (*quotaBook, error) {
	xs, err := e.activeExecutions(ctx)
	if err != nil {
		return nil, err
	}
	return e.bookFor(xs, nil), nil
}

// startWaves resolves and starts waves. Unless force is set, a wave starts only
// if it is still eligible when the write happens.
func (e *Engine) startWaves(ctx context.Context, x *drsorch.Execution, numbers []int, force bool) (*drsorch.Execution, error) {
	r := e.newResolver(x)
	resolved := map[int][]resolvedServer{}
	failed := map[int]error{}
	for _, n := range numbers {
		w := x.Wave(n)
		if w == nil {
			continue
		}
		servers, err := r.resolveWave(ctx, w)
		if err != nil {
			if drsorch.Transient(err) || ctx.Err() != nil {
				e.log.Warn("resolving a wave failed; will retry", "executionId", x.ExecutionID, "wave", n, "error", err)
				continue
			}
			failed[n] = err
			continue
		}
		resolved[n] = servers
	}
	if len(resolved) == 0 && len(failed) == 0 {
		return x, nil
	}
	now := e.now()
	return e.update(ctx, x.ExecutionID, func(x *drsorch.Execution) error {
		normalize(x)
		if x.Status.Canonical() != drsorch.ExecutionRunning {
			return errNoChange
		}
		eligible := eligibleWaves(x)
		changed := false
		for _, n := range numbers {
			w := x.Wave(n)
			_, ok := resolved[n]
			ferr, bad := failed[n]
			if w == nil || w.Status.Canonical() != drsorch.WavePending || (!ok && !bad) {
				continue
			}
			if !force && (!slices.Contains(eligible, n) || gated(x, n)) {
				continue
			}
			_ = w.SetStatus(drsorch.WaveStarted)
			w.StartTime = now.Unix()
			w.ServerStatuses = nil
			changed = true
			if bad {
				_ = w.SetStatus(drsorch.WaveFailed)
				w.EndTime = now.Unix()
				w.StatusMessage = drsorch.AsError(ferr).Message
				x.AddEvent(waveEvent(now, "wave_failed", w, w.StatusMessage))
				continue
			}
			servers := resolved[n]
			ids := make([]string, 0, len(servers))
			for _, s := range servers {
				ids = append(ids, s.ID)
				st := drsorch.ServerStatus{SourceServerID: s.ID, ServerName: s.Name, Hostname: s.Hostname,
					LaunchStatus: drsorch.LaunchPending, LaunchTime: now.Unix(), Region: s.Region, RecoverySnapshotID: s.Snapshot}
				if s.Err != "" {
					st.LaunchStatus, st.Error = drsorch.LaunchFailed, s.Err
				}
				w.ServerStatuses = append(w.ServerStatuses, st)
			}
			if len(servers) > 0 {
				w.Region = servers[0].Region
				w.ServerIDs = ids
			}
			x.AddEvent(waveEvent(now, "wave_started", w, fmt.Sprintf("%d server(s)", len(servers))))
			if len(servers) == 0 {
				_ = w.SetStatus(drsorch.WaveFailed)
				w.EndTime = now.Unix()
				w.StatusMessage = fmt.Sprintf("Wave %d has no server IDs", n)
				x.AddEvent(waveEvent(now, "wave_failed", w, w.StatusMessage))
			}
		}
		if !changed {
			return errNoChange
		}
		return nil
	})
}

// intent is a StartRecovery call about to be made.
type intent struct {
	wave   int
	job    drsorch.WaveJob
	target drsorch.Target
	result drsorch.Job
	err    error
}

// submit starts DRS jobs for the queued servers of the execution's running
// waves, at most 100 servers a job, as far as the quotas allow. The intent is
// recorded before each call, so a crash between the call and the save is
// reconciled by the job's tags instead of launching twice. Without a book it
// builds one from the store when there is something to submit; it returns the
// book it used, so a caller that submits again in the same step keeps what
// this submission learnt (a saturated account).
func (e *Engine) submit(ctx context.Context, x *drsorch.Execution, book *quotaBook) (*drsorch.Execution, *quotaBook, error) {
	if s := x.Status.Canonical(); s != drsorch.ExecutionRunning && s != drsorch.ExecutionPausePending {
		return x, book, nil
	}
	if !slices.ContainsFunc(x.Waves, func(w drsorch.ExecutionWave) bool { return waveInFlight(&w) && len(queuedServers(&w)) > 0 }) {
		return x, book, nil
	}
	if book == nil {
		var err error
		if book, err = e.bookFromStore(ctx); err != nil {
			return x, nil, err
		}
	}
	now := e.now()
	var planned []*intent
	for i := range x.Waves {
		w := &x.Waves[i]
		if !waveInFlight(w) {
			continue
		}
		byRegion := map[string][]string{}
		var regions []string
		for _, s := range queuedServers(w) {
			region := firstNonEmpty(s.Region, w.Region, e.cfg.DefaultRegion)
			if _, ok := byRegion[region]; !ok {
				regions = append(regions, region)
			}
			byRegion[region] = append(byRegion[region], s.SourceServerID)
		}
		for _, region := range regions {
			t := x.Target(region, e.cfg.AccountID)
			ids := byRegion[region]
			for len(ids) > 0 {
				n := book.take(t.Key(), len(ids))
				if n == 0 {
					break
				}
				planned = append(planned, &intent{wave: w.WaveNumber, target: t, job: drsorch.WaveJob{
					IntentID: e.cfg.NewID(), Status: drsorch.JobSubmitting, Region: region, AccountID: t.AccountID,
					ServerIDs: append([]string(nil), ids[:n]...), SubmittedAt: now.Unix()}})
				ids = ids[n:]
			}
		}
	}
	if len(planned) == 0 {
		return x, book, nil
	}
	var kept []*intent
	x, err := e.update(ctx, x.ExecutionID, func(x *drsorch.Execution) error {
		kept = kept[:0]
		if s := x.Status.Canonical(); s != drsorch.ExecutionRunning && s != drsorch.ExecutionPausePending {
			return errNoChange
		}
		for _, in := range planned {
			w := x.Wave(in.wave)
			if w == nil || !waveInFlight(w) {
				continue
			}
			queued := map[string]bool{}
			for _, s := range queuedServers(w) {
				queued[s.SourceServerID] = true
			}
			if !allIn(in.job.ServerIDs, queued) {
				continue
			}
			w.Jobs = append(w.Jobs, in.job)
			for _, id := range in.job.ServerIDs {
				w.Server(id).SubmittedAt = now.Unix()
			}
			kept = append(kept, in)
		}
		if len(kept) == 0 {
			return errNoChange
		}
		return nil
	})
	for _, in := range planned {
		if !slices.Contains(kept, in) {
			book.give(in.target.Key(), len(in.job.ServerIDs))
		}
	}
	if err != nil || len(kept) == 0 {
		return x, book, err
	}
	for _, in := range kept {
		in.result, in.err = e.startRecovery(ctx, x, in)
	}
	now = e.now()
	x, err = e.update(ctx, x.ExecutionID, func(x *drsorch.Execution) error {
		for _, in := range kept {
			e.recordSubmission(x, in, now)
		}
		return nil
	})
	for _, in := range kept {
		switch {
		case in.err == nil:
		case drsorch.IsCode(in.err, drsorch.CodeDRSQuota, drsorch.CodeDRSThrottled):
			// Full, or still throttled after the retries: no more
			// StartRecovery in this account and region until the next poll.
			book.saturate(in.target.Key())
		case drsorch.IsCode(in.err, drsorch.CodeDRSConflict, drsorch.CodeDRSValidation,
			drsorch.CodeDRSNotFound, drsorch.CodeDRSAccess, drsorch.CodeInvalidParameter):
			book.give(in.target.Key(), len(in.job.ServerIDs))
		}
	}
	return x, book, err
}

// hasJob reports whether a wave of the execution already follows a DRS job.
func hasJob(x *drsorch.Execution, jobID string) bool {
	for i := range x.Waves {
		if slices.ContainsFunc(x.Waves[i].Jobs, func(j drsorch.WaveJob) bool { return j.JobID == jobID }) {
			return true
		}
	}
	return false
}

func allIn(ids []string, set map[string]bool) bool {
	for _, id := range ids {
		if !set[id] {
			return false
		}
	}
	return true
}

// startRecovery calls DRS StartRecovery for an intent, tagged so the job can be found again.
func (e *Engine) startRecovery(ctx context.Context, x *drsorch.Execution, in *intent) (drsorch.Job, error) {
	req := drsorch.StartRecoveryInput{IsDrill: x.ExecutionType != drsorch.Recovery, Tags: map[string]string{
		TagExecution: x.ExecutionID, TagWave: strconv.Itoa(in.wave), TagIntent: in.job.IntentID}}
	w := x.Wave(in.wave)
	for _, id := range in.job.ServerIDs {
		srv := drsorch.StartRecoveryServer{SourceServerID: id}
		if s := w.Server(id); s != nil {
			srv.RecoverySnapshotID = s.RecoverySnapshotID
		}
		req.SourceServers = append(req.SourceServers, srv)
	}
	return e.drs.StartRecovery(ctx, in.target, req)
}

// recordSubmission writes the outcome of a StartRecovery call into a fresh copy.
func (e *Engine) recordSubmission(x *drsorch.Execution, in *intent, now time.Time) {
	w := x.Wave(in.wave)
	if w == nil {
		return
	}
	job := w.JobByIntent(in.job.IntentID)
	n := w.WaveNumber
	event := func(typ, detail string) {
		x.AddEvent(drsorch.TimelineEvent{At: now, Type: typ, Actor: drsorch.SystemCaller.Name(), Wave: &n, Detail: detail})
	}
	if job == nil && in.err == nil && in.result.JobID != "" && !hasJob(x, in.result.JobID) {
		// The call took longer than SubmitGrace and a poll gave the intent up
		// before DRS had the job: the job exists all the same. Record it, so
		// its servers are followed instead of queued (and launched) again.
		w.Jobs = append(w.Jobs, in.job)
		job = &w.Jobs[len(w.Jobs)-1]
		event("job_late", fmt.Sprintf("StartRecovery answered with DRS job %s after intent %s was given up; the job is followed", in.result.JobID, in.job.IntentID))
	}
	if job == nil || job.JobID != "" {
		return
	}
	drop := func() {
		idx := slices.IndexFunc(w.Jobs, func(j drsorch.WaveJob) bool { return j.IntentID == in.job.IntentID })
		w.Jobs = slices.Delete(w.Jobs, idx, idx+1)
	}
	err := in.err
	switch {
	case err == nil:
		job.JobID, job.Status, job.Error = in.result.JobID, in.result.Status, ""
		if job.Status == "" {
			job.Status = drsorch.JobPending
		}
		for _, id := range job.ServerIDs {
			if s := w.Server(id); s != nil && (s.JobID == "" || s.JobID == in.result.JobID) {
				s.JobID = in.result.JobID
			}
		}
		for _, p := range in.result.ParticipatingServers {
			if s := w.Server(p.SourceServerID); s != nil && s.JobID == in.result.JobID {
				applyParticipant(s, p, now)
			}
		}
		if w.JobID == "" {
			w.JobID = in.result.JobID
		}
		x.DRSJobID, x.DRSRegion = in.result.JobID, job.Region
		event("job_submitted", fmt.Sprintf("DRS job %s for %d server(s) in %s", in.result.JobID, len(job.ServerIDs), job.Region))
	case drsorch.IsCode(err, drsorch.CodeDRSQuota):
		drop()
		event("job_queued", fmt.Sprintf("%d server(s) wait for DRS quota: %s", len(in.job.ServerIDs), drsorch.AsError(err).Message))
	case drsorch.IsCode(err, drsorch.CodeDRSThrottled):
		drop()
		event("job_throttled", fmt.Sprintf("%d server(s) queued again after throttling", len(in.job.ServerIDs)))
	case drsorch.IsCode(err, drsorch.CodeDRSConflict):
		drop()
		for _, id := range in.job.ServerIDs {
			s := w.Server(id)
			s.Attempts++
			s.Error = drsorch.AsError(err).Message
			if s.Attempts >= e.cfg.MaxSubmitAttempts {
				_ = s.SetLaunchStatus(drsorch.LaunchFailed)
			}
		}
		event("job_conflict", fmt.Sprintf("%d server(s) busy in another DRS job: %s", len(in.job.ServerIDs), drsorch.AsError(err).Message))
	case drsorch.IsCode(err, drsorch.CodeDRSValidation, drsorch.CodeDRSNotFound, drsorch.CodeDRSAccess, drsorch.CodeInvalidParameter):
		drop()
		for _, id := range in.job.ServerIDs {
			s := w.Server(id)
			_ = s.SetLaunchStatus(drsorch.LaunchFailed)
			s.Error = drsorch.AsError(err).Message
		}
		event("job_refused", fmt.Sprintf("DRS refused %d server(s): %s", len(in.job.ServerIDs), drsorch.AsError(err).Message))
	default:
		// The call may or may not have created a job: keep the intent and
		// reconcile it by its tag once SubmitGrace has passed.
		job.Attempts++
		job.Error = drsorch.AsError(err).Message
		event("job_uncertain", fmt.Sprintf("StartRecovery outcome unknown (%s); will reconcile by tag", job.Error))
	}
}
