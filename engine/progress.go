package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/drsorch/drsorch"
)

// observations is what one poll learned from DRS. Each execution applies the
// facts that concern it, so a retried write re-applies them to a fresh copy.
type observations struct {
	jobs      map[string]drsorch.Job              // by job id
	asked     map[string]bool                     // job ids DescribeJobs answered for
	logs      map[string][]drsorch.JobLogItem     // by job id
	byIntent  map[string]drsorch.Job              // jobs found by their intent tag
	scanned   map[string]time.Time                // target key → fromDate of a successful tag scan
	instances map[string]drsorch.RecoveryInstance // by recovery instance id
	instAsked map[string]bool
}

func newObservations() *observations {
	return &observations{
		jobs: map[string]drsorch.Job{}, asked: map[string]bool{}, logs: map[string][]drsorch.JobLogItem{},
		byIntent: map[string]drsorch.Job{}, scanned: map[string]time.Time{},
		instances: map[string]drsorch.RecoveryInstance{}, instAsked: map[string]bool{},
	}
}

func (o *observations) merge(p *observations) {
	for k, v := range p.jobs {
		o.jobs[k] = v
	}
	for k, v := range p.asked {
		o.asked[k] = v
	}
	for k, v := range p.logs {
		o.logs[k] = v
	}
	for k, v := range p.byIntent {
		o.byIntent[k] = v
	}
	for k, v := range p.scanned {
		o.scanned[k] = v
	}
	for k, v := range p.instances {
		o.instances[k] = v
	}
	for k, v := range p.instAsked {
		o.instAsked[k] = v
	}
}

// Tags put on every LAUNCH job, so a job can be found after a crash.
const (
	TagExecution = "drsorch:executionId"
	TagWave      = "drsorch:wave"
	TagIntent    = "drsorch:intent"
)

// observe applies the observations to an execution.
func (e *Engine) observe(x *drsorch.Execution, o *observations, now time.Time) bool {
	if o == nil {
		return false
	}
	changed := false
	applied := map[string]bool{}
	for wi := range x.Waves {
		w := &x.Waves[wi]
		for ji := 0; ji < len(w.Jobs); ji++ {
			job := &w.Jobs[ji]
			switch {
			case job.JobID != "":
				if j, ok := o.jobs[job.JobID]; ok && !applied[job.JobID] {
					applied[job.JobID] = true
					changed = applyJob(x, j, now) || changed
				} else if !ok && o.asked[job.JobID] && job.InFlight() &&
					now.Sub(time.Unix(job.SubmittedAt, 0)) >= e.cfg.JobMissingGrace {
					markJobMissing(w, job, now)
					changed = true
				}
				if items, ok := o.logs[job.JobID]; ok {
					changed = applyJobLog(x, job.JobID, items, now) || changed
				}
			case job.Status == drsorch.JobSubmitting && now.Sub(time.Unix(job.SubmittedAt, 0)) >= e.cfg.SubmitGrace:
				if j, ok := o.byIntent[job.IntentID]; ok {
					adopt(x, w, job, j, now)
					if !applied[j.JobID] {
						applied[j.JobID] = true
						applyJob(x, j, now)
					}
					changed = true
					continue
				}
				key := x.Target(job.Region, e.cfg.AccountID).Key()
				if from, ok := o.scanned[key]; ok && !from.After(time.Unix(job.SubmittedAt, 0)) {
					n := w.WaveNumber
					x.AddEvent(drsorch.TimelineEvent{At: now, Type: "submission_lost", Actor: drsorch.SystemCaller.Name(), Wave: &n,
						Detail: fmt.Sprintf("no DRS job carries intent %s; %d server(s) queued again", job.IntentID, len(job.ServerIDs))})
					w.Jobs = append(w.Jobs[:ji], w.Jobs[ji+1:]...)
					ji--
					changed = true
				}
			}
		}
		for i := range w.ServerStatuses {
			s := &w.ServerStatuses[i]
			if s.LaunchStatus.Canonical() != drsorch.LaunchLaunched || s.InstanceState != "" || s.RecoveryInstanceID == "" {
				continue
			}
			if ri, ok := o.instances[s.RecoveryInstanceID]; ok {
				s.InstanceID = firstNonEmpty(ri.EC2InstanceID, s.InstanceID)
				s.InstanceType, s.PrivateIP, s.InstanceState = ri.InstanceType, ri.PrivateIP, firstNonEmpty(ri.EC2InstanceState, "UNKNOWN")
				if !ri.LaunchTime.IsZero() {
					s.LaunchTime = ri.LaunchTime.Unix()
				}
				changed = true
			} else if o.instAsked[s.RecoveryInstanceID] {
				s.InstanceState = "UNKNOWN"
				changed = true
			}
		}
	}
	if changed {
		x.LastPolledTime = now.Unix()
	}
	return changed
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// adopt records the DRS job found for an intent whose StartRecovery outcome was unknown.
func adopt(x *drsorch.Execution, w *drsorch.ExecutionWave, job *drsorch.WaveJob, j drsorch.Job, now time.Time) {
	job.JobID, job.Status, job.Error = j.JobID, j.Status, ""
	for _, id := range job.ServerIDs {
		if s := w.Server(id); s != nil && s.JobID == "" {
			s.JobID = j.JobID
		}
	}
	if w.JobID == "" {
		w.JobID = j.JobID
	}
	x.DRSJobID, x.DRSRegion = j.JobID, job.Region
	n := w.WaveNumber
	x.AddEvent(drsorch.TimelineEvent{At: now, Type: "job_recovered", Actor: drsorch.SystemCaller.Name(), Wave: &n,
		Detail: fmt.Sprintf("found DRS job %s by intent %s", j.JobID, job.IntentID)})
}

func markJobMissing(w *drsorch.ExecutionWave, job *drsorch.WaveJob, now time.Time) {
	job.Status = drsorch.JobCompleted
	job.EndTime = now.Unix()
	job.Error = "DRS job not found"
	for i := range w.ServerStatuses {
		s := &w.ServerStatuses[i]
		if s.JobID == job.JobID && !s.LaunchStatus.Terminal() {
			_ = s.SetLaunchStatus(drsorch.LaunchFailed)
			s.Error = fmt.Sprintf("DRS job %s not found", job.JobID)
		}
	}
}

// progress moves one execution forward: it applies observations, settles waves,
// then takes the next step (start waves, pause, finalize) or, when a workflow
// task waits for it, hands the step to the workflow; finally it submits queued
// servers as the quotas allow.
func (e *Engine) progress(ctx context.Context, id string, o *observations, book *quotaBook) (*drsorch.Execution, error) {
	return e.progressFrom(ctx, id, nil, o, book)
}

// progressFrom is progress starting from a copy the caller just read and gives up.
func (e *Engine) progressFrom(ctx context.Context, id string, seed *drsorch.Execution, o *observations, book *quotaBook) (*drsorch.Execution, error) {
	var x *drsorch.Execution
	for round := 0; round < 8; round++ {
		now := e.now()
		var st step
		var handover string
		var events []string
		var err error
		x, err = e.updateFrom(ctx, id, seed, func(x *drsorch.Execution) error {
			st, handover, events = step{}, "", nil
			normalize(x)
			s := x.Status.Canonical()
			if s.Terminal() || s == drsorch.ExecutionPending {
				return errNoChange
			}
			changed := e.observe(x, o, now)
			changed = e.settle(x, now) || changed
			st = nextStep(x)
			if x.Secrets.TaskToken != "" && ((x.Awaiting == drsorch.AwaitWave && !st.empty()) ||
				(x.Awaiting == drsorch.AwaitResume && x.Status.Canonical() != drsorch.ExecutionPaused)) {
				handover, st = x.Secrets.TaskToken, step{}
			}
			if st.pause != nil {
				if err := e.pauseAt(x, *st.pause, now, drsorch.SystemCaller.Name(), fmt.Sprintf("before wave %d", *st.pause)); err != nil {
					return err
				}
				events = append(events, drsorch.NotifyPaused)
				changed = true
			}
			if st.finalize {
				if err := e.finalize(x, now, drsorch.SystemCaller.Name()); err != nil {
					return err
				}
				events = append(events, finalEvent(x.Status))
				changed = true
			}
			if !changed {
				return errNoChange
			}
			return nil
		})
		seed = nil
		if err != nil {
			return x, err
		}
		for _, ev := range events {
			e.notify(ctx, x, ev, messageFor(x, ev))
		}
		if handover != "" {
			var gone bool
			if x, gone, err = e.handOver(ctx, id, handover); err != nil || !gone {
				return x, err
			}
			o = nil
			continue
		}
		if len(st.start) > 0 {
			if x, err = e.startWaves(ctx, x, st.start, false); err != nil {
				return x, err
			}
		}
		if x, book, err = e.submit(ctx, x, book); err != nil {
			return x, err
		}
		if len(st.start) == 0 {
			return x, nil
		}
		o = nil
	}
	return x, nil
}

func finalEvent(s drsorch.ExecutionStatus) string {
	switch s {
	case drsorch.ExecutionCompleted:
		return drsorch.NotifyCompleted
	case drsorch.ExecutionCancelled:
		return drsorch.NotifyCancelled
	}
	return drsorch.NotifyFailed
}

func messageFor(x *drsorch.Execution, event string) string {
	switch event {
	case drsorch.NotifyPaused:
		if x.PausedBeforeWave != nil {
			return fmt.Sprintf("Execution %s paused before wave %d", x.ExecutionID, *x.PausedBeforeWave)
		}
		return fmt.Sprintf("Execution %s paused", x.ExecutionID)
	case drsorch.NotifyStarted:
		return fmt.Sprintf("Execution %s of plan %s started (%s)", x.ExecutionID, x.PlanName, x.ExecutionType)
	case drsorch.NotifyResumed:
		return fmt.Sprintf("Execution %s resumed", x.ExecutionID)
	}
	if x.OutcomeSummary != "" {
		return fmt.Sprintf("Execution %s ended %s: %s", x.ExecutionID, x.Status, x.OutcomeSummary)
	}
	return fmt.Sprintf("Execution %s ended %s", x.ExecutionID, x.Status)
}

// taskOutput is what a completed workflow task returns to Step Functions.
func taskOutput(x *drsorch.Execution) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"executionId": x.ExecutionID, "planId": x.PlanID, "status": x.Status})
	return b
}

// handOver completes the workflow task waiting on an execution so the workflow
// takes the next step. It reports whether the token no longer works, in which
// case it is dropped and the caller takes the step itself.
func (e *Engine) handOver(ctx context.Context, id, token string) (*drsorch.Execution, bool, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, false, err
	}
	err = e.wf.SendTaskSuccess(ctx, token, taskOutput(x))
	gone := drsorch.IsCode(err, drsorch.CodeTaskTokenGone)
	if err != nil && !gone {
		e.log.Warn("handing the step to the workflow failed", "executionId", id, "error", err)
		return x, false, nil
	}
	x, err = e.update(ctx, id, func(x *drsorch.Execution) error {
		if x.Secrets.TaskToken != token {
			return errNoChange
		}
		x.Secrets.TaskToken, x.Awaiting = "", ""
		return nil
	})
	return x, gone, err
}
