package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
)

// TerminationMetadata says whether an execution's instances may be terminated (reference §4.11.1).
type TerminationMetadata struct {
	CanTerminate         bool    `json:"canTerminate"`
	Reason               *string `json:"reason"`
	HasRecoveryInstances bool    `json:"hasRecoveryInstances"`
}

// terminationMetadata checks eligibility: the execution ended, it launched
// instances, they are not terminated yet, and no job is still running.
func terminationMetadata(x *drsorch.Execution) TerminationMetadata {
	no := func(reason string, has bool) TerminationMetadata {
		return TerminationMetadata{Reason: &reason, HasRecoveryInstances: has}
	}
	if !x.Status.Terminal() {
		return no("Execution not in terminal state", false)
	}
	if len(recoveryInstanceIDs(x)) == 0 {
		return no("No recovery instances found", false)
	}
	if x.InstancesTerminated {
		return no("Instances already terminated", true)
	}
	if hasInFlightJobs(x) {
		return no("Waves still active", true)
	}
	return TerminationMetadata{CanTerminate: true, HasRecoveryInstances: true}
}

// instanceRef is a recovery instance of an execution.
type instanceRef struct {
	id, sourceServerID, region string
	wave                       int
}

func recoveryInstanceIDs(x *drsorch.Execution) []instanceRef {
	var out []instanceRef
	seen := map[string]bool{}
	for _, w := range x.Waves {
		for _, s := range w.ServerStatuses {
			id := firstNonEmpty(s.RecoveryInstanceID, s.InstanceID)
			if !strings.HasPrefix(id, "i-") || seen[id] || s.LaunchStatus.Canonical() == drsorch.LaunchTerminated {
				continue
			}
			seen[id] = true
			out = append(out, instanceRef{id: id, sourceServerID: s.SourceServerID, region: firstNonEmpty(s.Region, w.Region), wave: w.WaveNumber})
		}
	}
	return out
}

// TerminateResult is the answer to terminate-instances.
type TerminateResult struct {
	ExecutionID       string               `json:"executionId"`
	Message           string               `json:"message"`
	Reason            string               `json:"reason,omitempty"`
	Terminated        []TerminatedInstance `json:"terminated"`
	Failed            []FailedInstance     `json:"failed"`
	Jobs              []TerminateJobView   `json:"jobs"`
	TotalFound        int                  `json:"totalFound"`
	TotalTerminated   int                  `json:"totalTerminated"`
	TotalFailed       int                  `json:"totalFailed"`
	NoInstancesFound  bool                 `json:"noInstancesFound,omitempty"`
	AlreadyTerminated bool                 `json:"alreadyTerminated,omitempty"`
}

// TerminatedInstance is an instance a TERMINATE job was started for.
type TerminatedInstance struct {
	RecoveryInstanceID string `json:"recoveryInstanceId"`
	Region             string `json:"region"`
	JobID              string `json:"jobId"`
}

// FailedInstance is an instance that could not be terminated.
type FailedInstance struct {
	RecoveryInstanceID string `json:"recoveryInstanceId"`
	Region             string `json:"region"`
	Error              string `json:"error"`
	ErrorType          string `json:"errorType,omitempty"`
}

// TerminateJobView is a TERMINATE job in responses.
type TerminateJobView struct {
	JobID  string            `json:"jobId"`
	Region string            `json:"region"`
	Type   string            `json:"type"`
	Status drsorch.JobStatus `json:"status"`
}

// Terminate terminates the recovery instances of an ended execution through DRS
// TERMINATE jobs, at most 200 instances a call, per account and region. A
// RECOVERY's instances are production: they need force.
func (e *Engine) Terminate(ctx context.Context, id string, force bool) (*TerminateResult, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	normalize(x)
	if err := e.authorize(ctx, drsorch.PermTerminateInstances, x.ExecutionType); err != nil {
		return nil, err
	}
	if len(x.Waves) == 0 {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, "No waves found in execution").
			WithDetails(map[string]any{"reason": "This execution has no wave data"})
	}
	if x, err = e.reconcileTerminations(ctx, x); err != nil {
		return nil, err
	}
	if x, err = e.settleEnded(ctx, x); err != nil {
		return nil, err
	}
	if pendingTerminations(x, e.now(), e.cfg.SubmitGrace) {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, "A termination of this execution's instances is being submitted; try again in a few minutes").
			WithDetails(map[string]any{"executionId": id})
	}
	meta := terminationMetadata(x)
	if !meta.CanTerminate && !(meta.Reason != nil && *meta.Reason == "No recovery instances found") {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, "Cannot terminate instances: %s", *meta.Reason).
			WithDetails(map[string]any{"executionId": id, "currentStatus": x.Status, "terminationMetadata": meta})
	}
	if x.ExecutionType == drsorch.Recovery && !force {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, `Terminating the instances of a RECOVERY execution requires "force": true`).
			WithDetails(map[string]any{"executionId": id, "executionType": x.ExecutionType, "parameter": "force"})
	}
	refs := recoveryInstanceIDs(x)
	res := &TerminateResult{ExecutionID: id, Terminated: []TerminatedInstance{}, Failed: []FailedInstance{}, Jobs: []TerminateJobView{}}
	// Keep only instances DRS still has and that are not being terminated already.
	byRegion := map[string][]string{}
	for _, r := range refs {
		byRegion[r.region] = append(byRegion[r.region], r.id)
	}
	live := map[string][]string{}
	for _, region := range sortedKeys(byRegion) {
		t := x.Target(region, e.cfg.AccountID)
		for _, batch := range chunks(byRegion[region], drsorch.MaxIDsPerFilter) {
			got, err := e.drs.DescribeRecoveryInstances(ctx, t, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: batch})
			if err != nil {
				return nil, drsorch.Wrap(drsorch.ErrorCode(err), err, "Could not read recovery instances in %s: %s", region, drsorch.AsError(err).Message)
			}
			for _, ri := range got {
				if !strings.EqualFold(ri.EC2InstanceState, drsorch.EC2Terminated) {
					live[region] = append(live[region], ri.RecoveryInstanceID)
				}
			}
		}
	}
	for _, ids := range live {
		res.TotalFound += len(ids)
	}
	if res.TotalFound == 0 {
		res.Message = "No recovery instances to terminate"
		res.Reason = "This execution has no recovery instances to terminate. Instances may not have been launched yet, may have already been terminated, or the execution was cancelled before launch."
		res.NoInstancesFound = true
		if len(refs) > 0 && !hasInFlightJobs(x) {
			// DRS has none of them any more, and no job of the execution may
			// launch more: they are terminated, whoever did it.
			if err := e.markTerminated(ctx, id, "no recovery instance of the execution is left in DRS"); err != nil {
				return nil, err
			}
		}
		return res, nil
	}
	now := e.now()
	type call struct {
		t      drsorch.Target
		region string
		batch  []string // the live instances of the call, before those already being terminated are left out
		job    drsorch.TerminateJob
		result drsorch.Job
		err    error
	}
	var calls []*call
	for _, region := range sortedKeys(live) {
		t := x.Target(region, e.cfg.AccountID)
		for _, batch := range chunks(live[region], drsorch.MaxTerminateIDs) {
			calls = append(calls, &call{t: t, region: region, batch: batch, job: drsorch.TerminateJob{Region: region, AccountID: t.AccountID,
				Type: string(drsorch.JobTerminate), Status: drsorch.JobSubmitting, IntentID: e.cfg.NewID(), SubmittedAt: now.Unix()}})
		}
	}
	// Record the intent first: a crash after the call leaves evidence to reconcile.
	// Instances that a TERMINATE job or intent of the execution already covers
	// are left out, on the fresh copy, so two racing terminates never both call DRS for one instance.
	busy := 0
	if _, err := e.update(ctx, id, func(x *drsorch.Execution) error {
		covered := terminating(x)
		busy = 0
		for _, c := range calls {
			c.job.RecoveryInstanceIDs = nil
			for _, iid := range c.batch {
				if covered[iid] {
					busy++
				} else {
					c.job.RecoveryInstanceIDs = append(c.job.RecoveryInstanceIDs, iid)
				}
			}
			if len(c.job.RecoveryInstanceIDs) > 0 {
				x.TerminateJobs = append(x.TerminateJobs, c.job)
			}
		}
		if busy == res.TotalFound {
			return errNoChange
		}
		x.TerminationInitiatedAt = now.Unix()
		x.AddEvent(drsorch.TimelineEvent{At: now, Type: "terminate_requested", Actor: actor(ctx),
			Detail: fmt.Sprintf("%d recovery instance(s)", res.TotalFound-busy)})
		return nil
	}); err != nil {
		return nil, err
	}
	if busy == res.TotalFound {
		res.Message = "Recovery instances already terminated or being processed"
		res.AlreadyTerminated = true
		return res, nil
	}
	calls = slices.DeleteFunc(calls, func(c *call) bool { return len(c.job.RecoveryInstanceIDs) == 0 })
	for _, c := range calls {
		c.result, c.err = e.drs.TerminateRecoveryInstances(ctx, c.t, c.job.RecoveryInstanceIDs)
	}
	if _, err := e.update(ctx, id, func(x *drsorch.Execution) error {
		for _, c := range calls {
			i := slices.IndexFunc(x.TerminateJobs, func(j drsorch.TerminateJob) bool { return j.IntentID == c.job.IntentID })
			if i < 0 && c.err == nil && c.result.JobID != "" &&
				!slices.ContainsFunc(x.TerminateJobs, func(j drsorch.TerminateJob) bool { return j.JobID == c.result.JobID }) {
				// The call outlasted SubmitGrace and the intent was given up
				// before DRS had the job: record the job all the same.
				x.TerminateJobs = append(x.TerminateJobs, c.job)
				i = len(x.TerminateJobs) - 1
				x.AddEvent(drsorch.TimelineEvent{At: e.now(), Type: "terminate_late", Actor: drsorch.SystemCaller.Name(),
					Detail: fmt.Sprintf("TerminateRecoveryInstances answered with job %s after intent %s was given up", c.result.JobID, c.job.IntentID)})
			}
			if i < 0 {
				continue
			}
			if c.err != nil {
				if !uncertain(c.err) {
					x.TerminateJobs = slices.Delete(x.TerminateJobs, i, i+1)
				}
				continue
			}
			x.TerminateJobs[i].JobID = c.result.JobID
			x.TerminateJobs[i].Status = firstStatus(c.result.Status, drsorch.JobPending)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	allConflict := true
	for _, c := range calls {
		if c.err == nil {
			allConflict = false
			res.Jobs = append(res.Jobs, TerminateJobView{JobID: c.result.JobID, Region: c.region,
				Type: string(firstNonEmpty(string(c.result.Type), string(drsorch.JobTerminate))), Status: firstStatus(c.result.Status, drsorch.JobPending)})
			for _, iid := range c.job.RecoveryInstanceIDs {
				res.Terminated = append(res.Terminated, TerminatedInstance{RecoveryInstanceID: iid, Region: c.region, JobID: c.result.JobID})
			}
			continue
		}
		f := FailedInstance{Region: c.region, Error: drsorch.AsError(c.err).Message}
		if drsorch.IsCode(c.err, drsorch.CodeDRSConflict) {
			f.Error, f.ErrorType = "Already terminated or being processed", "CONFLICT"
		} else {
			allConflict = false
		}
		for _, iid := range c.job.RecoveryInstanceIDs {
			f.RecoveryInstanceID = iid
			res.Failed = append(res.Failed, f)
		}
	}
	res.TotalTerminated, res.TotalFailed = len(res.Terminated), len(res.Failed)
	if res.TotalTerminated == 0 && allConflict {
		res.Message = "Recovery instances already terminated or being processed"
		res.AlreadyTerminated = true
		return res, nil
	}
	res.Message = fmt.Sprintf("Initiated termination of %d recovery instances via DRS", res.TotalTerminated)
	return res, nil
}

// terminating returns the recovery instances a TERMINATE job or intent of the
// execution covers that may still be in flight.
func terminating(x *drsorch.Execution) map[string]bool {
	out := map[string]bool{}
	for _, tj := range x.TerminateJobs {
		if tj.Status == drsorch.JobSubmitting || tj.Status == "" || tj.Status.Active() {
			for _, id := range tj.RecoveryInstanceIDs {
				out[id] = true
			}
		}
	}
	return out
}

// markTerminated records that every recovery instance of the execution is terminated.
func (e *Engine) markTerminated(ctx context.Context, id, detail string) error {
	now := e.now()
	_, err := e.update(ctx, id, func(x *drsorch.Execution) error {
		if x.InstancesTerminated {
			return errNoChange
		}
		x.InstancesTerminated, x.InstancesTerminatedAt = true, now.Unix()
		x.AddEvent(drsorch.TimelineEvent{At: now, Type: "instances_terminated", Actor: actor(ctx), Detail: detail})
		return nil
	})
	return err
}

func firstStatus(s, def drsorch.JobStatus) drsorch.JobStatus {
	if s == "" {
		return def
	}
	return s
}

// TerminationStatus reports the progress of TERMINATE jobs.
type TerminationStatus struct {
	ExecutionID      string              `json:"executionId"`
	Jobs             []TerminationJobRow `json:"jobs"`
	TotalServers     int                 `json:"totalServers"`
	CompletedServers int                 `json:"completedServers"`
	ProgressPercent  int                 `json:"progressPercent"`
	AllCompleted     bool                `json:"allCompleted"`
	AnyFailed        bool                `json:"anyFailed"`
}

// TerminationJobRow is one TERMINATE job's progress.
type TerminationJobRow struct {
	JobID            string            `json:"jobId"`
	Status           drsorch.JobStatus `json:"status"`
	Type             drsorch.JobType   `json:"type"`
	TotalServers     int               `json:"totalServers"`
	CompletedServers int               `json:"completedServers"`
	FailedServers    int               `json:"failedServers"`
	JobCompleted     bool              `json:"jobCompleted"`
}

// TerminationStatus reports the execution's own TERMINATE jobs, or the given
// ones (in region, default the execution's region), and records when all ended.
func (e *Engine) TerminationStatus(ctx context.Context, id string, jobIDs []string, region string) (*TerminationStatus, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermViewExecutions, x.ExecutionType); err != nil {
		return nil, err
	}
	if x, err = e.reconcileTerminations(ctx, x); err != nil {
		return nil, err
	}
	byTarget := map[string][]string{}
	targets := map[string]drsorch.Target{}
	if len(jobIDs) > 0 {
		var valid []string
		for _, j := range jobIDs {
			if strings.HasPrefix(j, "drsjob-") && len(j) >= 24 {
				valid = append(valid, j)
			}
		}
		if len(valid) == 0 {
			return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "No valid DRS job IDs provided. Expected format: drsjob-xxxxxxxxxxxxxxxx").
				WithDetails(map[string]any{"parameter": "jobIds"})
		}
		if region == "" {
			region = executionRegion(x, e.cfg.DefaultRegion)
		}
		t := x.Target(region, e.cfg.AccountID)
		targets[t.Key()], byTarget[t.Key()] = t, valid
	} else {
		for _, j := range x.TerminateJobs {
			if j.JobID == "" {
				continue
			}
			t := x.Target(j.Region, e.cfg.AccountID)
			targets[t.Key()] = t
			byTarget[t.Key()] = append(byTarget[t.Key()], j.JobID)
		}
	}
	st := &TerminationStatus{ExecutionID: id, Jobs: []TerminationJobRow{}}
	statuses := map[string]drsorch.JobStatus{}
	for _, key := range sortedKeys(byTarget) {
		for _, batch := range chunks(byTarget[key], drsorch.MaxJobIDsPerDescribe) {
			jobs, err := e.drs.DescribeJobs(ctx, targets[key], drsorch.JobFilter{JobIDs: batch})
			if err != nil {
				return nil, drsorch.Wrap(drsorch.ErrorCode(err), err, "Could not read termination jobs: %s", drsorch.AsError(err).Message)
			}
			for _, j := range jobs {
				row := TerminationJobRow{JobID: j.JobID, Status: j.Status, Type: j.Type, TotalServers: len(j.ParticipatingServers), JobCompleted: j.Status == drsorch.JobCompleted}
				for _, p := range j.ParticipatingServers {
					switch p.LaunchStatus.Canonical() {
					case drsorch.LaunchTerminated:
						row.CompletedServers++
					case drsorch.LaunchFailed:
						row.FailedServers++
						st.AnyFailed = true
					}
				}
				st.Jobs = append(st.Jobs, row)
				st.TotalServers += row.TotalServers
				st.CompletedServers += row.CompletedServers
				statuses[j.JobID] = j.Status
			}
		}
	}
	st.AllCompleted = len(st.Jobs) > 0 && !slices.ContainsFunc(st.Jobs, func(r TerminationJobRow) bool { return !r.JobCompleted })
	if st.TotalServers > 0 {
		st.ProgressPercent = st.CompletedServers * 100 / st.TotalServers
	}
	if st.AllCompleted {
		st.ProgressPercent = 100
	}
	now := e.now()
	_, err = e.update(ctx, id, func(x *drsorch.Execution) error {
		changed := false
		for i := range x.TerminateJobs {
			if s, ok := statuses[x.TerminateJobs[i].JobID]; ok && x.TerminateJobs[i].Status != s {
				x.TerminateJobs[i].Status = s
				changed = true
			}
		}
		ownDone := len(jobIDs) == 0 && st.AllCompleted &&
			!slices.ContainsFunc(x.TerminateJobs, func(j drsorch.TerminateJob) bool { return j.JobID == "" }) &&
			allCovered(x) && !hasInFlightJobs(x)
		if ownDone && !x.InstancesTerminated {
			x.InstancesTerminated, x.InstancesTerminatedAt = true, now.Unix()
			x.AddEvent(drsorch.TimelineEvent{At: now, Type: "instances_terminated", Actor: actor(ctx)})
			changed = true
		}
		if !changed {
			return errNoChange
		}
		return nil
	})
	return st, err
}

// allCovered reports whether every recovery instance of the execution is in a
// TERMINATE job DRS accepted. Instances whose call was lost (the intent was
// dropped) are not: they wait for another terminate.
func allCovered(x *drsorch.Execution) bool {
	covered := map[string]bool{}
	for _, tj := range x.TerminateJobs {
		if tj.JobID != "" {
			for _, id := range tj.RecoveryInstanceIDs {
				covered[id] = true
			}
		}
	}
	for _, r := range recoveryInstanceIDs(x) {
		if !covered[r.id] {
			return false
		}
	}
	return true
}

func executionRegion(x *drsorch.Execution, def string) string {
	for _, w := range x.Waves {
		if w.Region != "" {
			return w.Region
		}
	}
	return firstNonEmpty(x.DRSRegion, def)
}

// sweepExpiredDrills terminates the instances of drills whose time-to-live has
// passed. It runs at most every five minutes of clock time.
func (e *Engine) sweepExpiredDrills(ctx context.Context) {
	now := e.now()
	e.sweepMu.Lock()
	if now.Sub(e.lastSweep) < 5*time.Minute {
		e.sweepMu.Unlock()
		return
	}
	e.lastSweep = now
	e.sweepMu.Unlock()
	xs, err := e.listAll(ctx, drsorch.ExecutionQuery{Statuses: drsorch.TerminalExecutionStatuses})
	if err != nil {
		e.log.Warn("drill expiry sweep failed", "error", err)
		return
	}
	sys := drsorch.WithCaller(ctx, drsorch.Caller{Username: "drill-expiry", System: true})
	for _, x := range xs {
		if x.ExecutionType != drsorch.Drill || x.DrillExpiresAt == 0 || x.DrillExpiresAt > now.Unix() ||
			x.InstancesTerminated || len(x.TerminateJobs) > 0 {
			continue
		}
		if _, err := e.Terminate(sys, x.ExecutionID, false); err != nil && !drsorch.IsCode(err, drsorch.CodeInvalidState) {
			e.log.Warn("terminating an expired drill failed", "executionId", x.ExecutionID, "error", err)
		}
	}
}

// settleEnded brings up to date the jobs an ended execution still has in
// flight: those of a wave that timed out, or a job whose StartRecovery answer
// came after its wave ended. The poll covers active executions only, so
// terminate asks DRS itself before it decides whether the instances may go.
func (e *Engine) settleEnded(ctx context.Context, x *drsorch.Execution) (*drsorch.Execution, error) {
	if !x.Status.Terminal() || !hasInFlightJobs(x) {
		return x, nil
	}
	o := e.observeAll(ctx, []*drsorch.Execution{x}, false)
	now := e.now()
	return e.update(ctx, x.ExecutionID, func(x *drsorch.Execution) error {
		normalize(x)
		if !e.observe(x, o, now) {
			return errNoChange
		}
		return nil
	})
}

// pendingTerminations reports a TERMINATE call whose outcome is not known yet and may still be in flight.
func pendingTerminations(x *drsorch.Execution, now time.Time, grace time.Duration) bool {
	return slices.ContainsFunc(x.TerminateJobs, func(j drsorch.TerminateJob) bool {
		return j.JobID == "" && now.Sub(time.Unix(j.SubmittedAt, 0)) < grace
	})
}

// reconcileTerminations settles TERMINATE intents whose call outcome was lost
// (a crash between the call and the save): a TERMINATE job DRS started for one
// of the intent's instances since just before the intent is adopted; without
// one, the intent is dropped so the instances can be terminated again.
func (e *Engine) reconcileTerminations(ctx context.Context, x *drsorch.Execution) (*drsorch.Execution, error) {
	now := e.now()
	sources := map[string]string{} // recovery instance → source server
	for _, w := range x.Waves {
		for _, s := range w.ServerStatuses {
			if id := firstNonEmpty(s.RecoveryInstanceID, s.InstanceID); id != "" {
				sources[id] = s.SourceServerID
			}
		}
	}
	found := map[string]drsorch.Job{} // intent → job
	decided := map[string]bool{}
	known := map[string]bool{} // TERMINATE jobs already adopted by an entry
	for _, tj := range x.TerminateJobs {
		if tj.JobID != "" {
			known[tj.JobID] = true
		}
	}
	for _, tj := range x.TerminateJobs {
		if tj.JobID != "" || now.Sub(time.Unix(tj.SubmittedAt, 0)) < e.cfg.SubmitGrace {
			continue
		}
		jobs, err := e.drs.DescribeJobs(ctx, x.Target(tj.Region, e.cfg.AccountID),
			drsorch.JobFilter{FromDate: time.Unix(tj.SubmittedAt, 0).Add(-5 * time.Minute)})
		if err != nil {
			e.log.Warn("reconciling a termination failed; will retry", "executionId", x.ExecutionID, "error", err)
			continue
		}
		instances, servers := map[string]bool{}, map[string]bool{}
		for _, id := range tj.RecoveryInstanceIDs {
			instances[id], servers[sources[id]] = true, true
		}
		// A TERMINATE job names the instances it terminates; match on them, so
		// an older job for the same source servers (an earlier drill's
		// instances) is never taken for this one. Only when DRS does not name
		// them does the source server decide.
		covers := func(p drsorch.ParticipatingServer) bool {
			if p.RecoveryInstanceID != "" {
				return instances[p.RecoveryInstanceID]
			}
			return servers[p.SourceServerID]
		}
		decided[tj.IntentID] = true
		for _, j := range jobs {
			if j.Type == drsorch.JobTerminate && !known[j.JobID] && slices.ContainsFunc(j.ParticipatingServers, covers) {
				found[tj.IntentID] = j
				known[j.JobID] = true
				break
			}
		}
	}
	if len(decided) == 0 {
		return x, nil
	}
	return e.update(ctx, x.ExecutionID, func(x *drsorch.Execution) error {
		changed := false
		for i := 0; i < len(x.TerminateJobs); i++ {
			tj := &x.TerminateJobs[i]
			if tj.JobID != "" || !decided[tj.IntentID] {
				continue
			}
			changed = true
			if j, ok := found[tj.IntentID]; ok {
				tj.JobID, tj.Status = j.JobID, firstStatus(j.Status, drsorch.JobPending)
				x.AddEvent(drsorch.TimelineEvent{At: now, Type: "terminate_recovered", Actor: drsorch.SystemCaller.Name(),
					Detail: fmt.Sprintf("found TERMINATE job %s for intent %s", j.JobID, tj.IntentID)})
				continue
			}
			x.AddEvent(drsorch.TimelineEvent{At: now, Type: "terminate_lost", Actor: drsorch.SystemCaller.Name(),
				Detail: fmt.Sprintf("no TERMINATE job for intent %s; its %d instance(s) may be terminated again", tj.IntentID, len(tj.RecoveryInstanceIDs))})
			x.TerminateJobs = slices.Delete(x.TerminateJobs, i, i+1)
			i--
		}
		if !changed {
			return errNoChange
		}
		return nil
	})
}

// uncertain reports a DRS failure after which the call may still have taken
// effect (a 5xx or a lost connection), as opposed to a refusal.
func uncertain(err error) bool {
	return drsorch.IsCode(err, drsorch.CodeDRS, drsorch.CodeDRSInternal) || drsorch.ErrorCode(err) == drsorch.CodeInternal
}
