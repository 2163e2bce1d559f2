package engine

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/drsorch/drsorch"
)

// FindResult is the answer of the `find` operation (reference §2.2).
type FindResult struct {
	StatusCode       int          `json:"statusCode"`
	ExecutionsFound  int          `json:"executionsFound"`
	ExecutionsPolled int          `json:"executionsPolled"`
	Results          []PollResult `json:"results"`
}

// PollResult is the outcome of polling one execution.
type PollResult struct {
	ExecutionID string                  `json:"executionId"`
	Success     bool                    `json:"success"`
	Status      drsorch.ExecutionStatus `json:"status,omitempty"`
	Error       string                  `json:"error,omitempty"`
}

// activeExecutions returns every active execution (all pages).
func (e *Engine) activeExecutions(ctx context.Context) ([]*drsorch.Execution, error) {
	return e.listAll(ctx, drsorch.ExecutionQuery{Statuses: drsorch.StoredActiveStatuses})
}

func (e *Engine) listAll(ctx context.Context, q drsorch.ExecutionQuery) ([]*drsorch.Execution, error) {
	var out []*drsorch.Execution
	q.Limit = drsorch.MaxPageSize
	for {
		page, err := e.store.ListExecutions(ctx, q)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			out = append(out, &page.Items[i])
		}
		if page.NextToken == "" {
			return out, nil
		}
		q.NextToken = page.NextToken
	}
}

// PollActive polls every active execution: one batched DescribeJobs per
// account and region for all in-flight jobs, then each execution moves
// forward. It stops early, leaving the rest to the next poll, when ctx's
// deadline is near.
func (e *Engine) PollActive(ctx context.Context) (*FindResult, error) {
	xs, err := e.activeExecutions(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		normalize(x)
	}
	o := e.observeAll(ctx, xs, false)
	book := e.bookFor(xs, o)
	sort.SliceStable(xs, func(i, j int) bool { return xs[i].StartTime < xs[j].StartTime })
	res := &FindResult{StatusCode: 200, ExecutionsFound: len(xs), Results: []PollResult{}}
	for _, x := range xs {
		if deadlineNear(ctx) {
			break
		}
		r := PollResult{ExecutionID: x.ExecutionID}
		var got *drsorch.Execution
		if x.Status.Canonical() == drsorch.ExecutionPending {
			if e.now().Sub(time.Unix(x.StartTime, 0)) < e.cfg.PendingGrace {
				continue
			}
			err = e.StartWorkflow(ctx, x.ExecutionID)
			got, _ = e.store.GetExecution(ctx, x.ExecutionID)
		} else {
			got, err = e.progressFrom(ctx, x.ExecutionID, x, o, book)
		}
		if err != nil {
			r.Error = drsorch.AsError(err).Message
			e.log.Warn("polling an execution failed", "executionId", x.ExecutionID, "error", err)
		} else {
			r.Success = true
		}
		if got != nil {
			r.Status = got.Status
		}
		res.Results = append(res.Results, r)
		res.ExecutionsPolled++
	}
	e.sweepExpiredDrills(ctx)
	return res, nil
}

func deadlineNear(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < 3*time.Second
}

// PollExecution polls one execution now, reading the logs of all its running jobs.
func (e *Engine) PollExecution(ctx context.Context, id string) (*drsorch.Execution, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	normalize(x)
	if x.Status.Terminal() {
		return x, nil
	}
	o := e.observeAll(ctx, []*drsorch.Execution{x}, true)
	book, err := e.bookFromStore(ctx)
	if err != nil {
		return nil, err
	}
	return e.progress(ctx, id, o, book)
}

// jobRef is a job of some execution, as the poll sees it before asking DRS.
type jobRef struct {
	id          string
	inFlight    bool
	logsFetched int64
}

// group is everything a poll asks DRS in one account and region.
type group struct {
	target   drsorch.Target
	jobs     []jobRef
	oldest   time.Time // oldest unconfirmed submission past its grace
	launched []string  // recovery instances to enrich
}

// observeAll asks DRS about the in-flight jobs of the executions, grouped by
// account and region, in parallel across groups.
func (e *Engine) observeAll(ctx context.Context, xs []*drsorch.Execution, allLogs bool) *observations {
	now := e.now()
	groups := map[string]*group{}
	get := func(t drsorch.Target) *group {
		g := groups[t.Key()]
		if g == nil {
			g = &group{target: t}
			groups[t.Key()] = g
		}
		return g
	}
	for _, x := range xs {
		for _, w := range x.Waves {
			for _, j := range w.Jobs {
				t := x.Target(firstNonEmpty(j.Region, w.Region, e.cfg.DefaultRegion), e.cfg.AccountID)
				switch {
				case j.JobID != "" && j.InFlight():
					g := get(t)
					g.jobs = append(g.jobs, jobRef{id: j.JobID, inFlight: true, logsFetched: j.LogsFetchedAt})
				case j.JobID == "" && j.Status == drsorch.JobSubmitting && now.Sub(time.Unix(j.SubmittedAt, 0)) >= e.cfg.SubmitGrace:
					g := get(t)
					if at := time.Unix(j.SubmittedAt, 0); g.oldest.IsZero() || at.Before(g.oldest) {
						g.oldest = at
					}
				}
			}
			for _, s := range w.ServerStatuses {
				if s.LaunchStatus.Canonical() == drsorch.LaunchLaunched && s.InstanceState == "" && s.RecoveryInstanceID != "" {
					g := get(x.Target(firstNonEmpty(s.Region, w.Region, e.cfg.DefaultRegion), e.cfg.AccountID))
					g.launched = append(g.launched, s.RecoveryInstanceID)
				}
			}
		}
	}
	o := newObservations()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, e.cfg.Parallelism)
	for _, key := range sortedKeys(groups) {
		g := groups[key]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p := e.observeGroup(ctx, g, now, allLogs)
			mu.Lock()
			o.merge(p)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return o
}

func (e *Engine) observeGroup(ctx context.Context, g *group, now time.Time, allLogs bool) *observations {
	o := newObservations()
	ids := make([]string, 0, len(g.jobs))
	for _, j := range g.jobs {
		ids = append(ids, j.id)
	}
	for _, batch := range chunks(ids, drsorch.MaxJobIDsPerDescribe) {
		jobs, err := e.drs.DescribeJobs(ctx, g.target, drsorch.JobFilter{JobIDs: batch})
		if err != nil {
			e.log.Warn("DescribeJobs failed; the jobs are polled again next time", "target", g.target.Key(), "error", err)
			continue
		}
		for _, id := range batch {
			o.asked[id] = true
		}
		for _, j := range jobs {
			o.jobs[j.JobID] = j
			for _, p := range j.ParticipatingServers {
				if p.LaunchStatus.Canonical() == drsorch.LaunchLaunched && p.RecoveryInstanceID != "" && !slices.Contains(g.launched, p.RecoveryInstanceID) {
					g.launched = append(g.launched, p.RecoveryInstanceID)
				}
			}
		}
	}
	if !g.oldest.IsZero() {
		from := g.oldest.Add(-5 * time.Minute)
		jobs, err := e.drs.DescribeJobs(ctx, g.target, drsorch.JobFilter{FromDate: from})
		if err != nil {
			e.log.Warn("looking for jobs by tag failed", "target", g.target.Key(), "error", err)
		} else {
			o.scanned[g.target.Key()] = from
			for _, j := range jobs {
				if in := j.Tags[TagIntent]; in != "" {
					o.byIntent[in] = j
				}
			}
		}
	}
	for _, id := range e.logsToRead(g, o, now, allLogs) {
		items, err := e.drs.DescribeJobLogItems(ctx, g.target, id)
		if err != nil {
			e.log.Warn("DescribeJobLogItems failed", "jobId", id, "error", err)
			continue
		}
		o.logs[id] = items
	}
	for _, batch := range chunks(g.launched, drsorch.MaxIDsPerFilter) {
		got, err := e.drs.DescribeRecoveryInstances(ctx, g.target, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: batch})
		if err != nil {
			e.log.Warn("DescribeRecoveryInstances failed", "target", g.target.Key(), "error", err)
			continue
		}
		for _, id := range batch {
			o.instAsked[id] = true
		}
		for _, ri := range got {
			o.instances[ri.RecoveryInstanceID] = ri
		}
	}
	return o
}

// logsToRead picks the jobs whose logs this poll reads: jobs that just ended
// first (their final events), then the stalest running ones, within the budget.
func (e *Engine) logsToRead(g *group, o *observations, now time.Time, all bool) []string {
	type cand struct {
		id    string
		ended bool
		at    int64
	}
	var cs []cand
	for _, j := range g.jobs {
		dj, known := o.jobs[j.id]
		ended := known && !dj.Status.Active()
		if !all && !ended && now.Sub(time.Unix(j.logsFetched, 0)) < e.cfg.LogRefresh {
			continue
		}
		cs = append(cs, cand{j.id, ended, j.logsFetched})
	}
	sort.SliceStable(cs, func(a, b int) bool {
		if cs[a].ended != cs[b].ended {
			return cs[a].ended
		}
		return cs[a].at < cs[b].at
	})
	if !all && len(cs) > e.cfg.LogCallsPerCycle {
		cs = cs[:e.cfg.LogCallsPerCycle]
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.id
	}
	return out
}
