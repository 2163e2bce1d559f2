package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
)

// This file holds the pure decisions: they read and change an execution in
// memory and never do I/O, so they can be re-run on a fresh copy after a lost race.

// normalize makes records written by the replaced system look like drsorch's:
// a wave's single jobId becomes a job entry and the waves are in number order.
func normalize(x *drsorch.Execution) {
	slices.SortStableFunc(x.Waves, func(a, b drsorch.ExecutionWave) int { return a.WaveNumber - b.WaveNumber })
	for i := range x.Waves {
		w := &x.Waves[i]
		if w.JobID == "" || len(w.Jobs) > 0 {
			continue
		}
		st := drsorch.JobStarted
		if w.Status.Terminal() {
			st = drsorch.JobCompleted
		}
		ids := w.ServerIDs
		if len(w.ServerStatuses) > 0 {
			ids = nil
			for _, s := range w.ServerStatuses {
				ids = append(ids, s.SourceServerID)
			}
		}
		w.Jobs = []drsorch.WaveJob{{IntentID: "legacy-" + w.JobID, JobID: w.JobID, Status: st, Region: w.Region, ServerIDs: ids, SubmittedAt: w.StartTime}}
		for j := range w.ServerStatuses {
			if w.ServerStatuses[j].JobID == "" {
				w.ServerStatuses[j].JobID = w.JobID
			}
		}
		if w.Status.Canonical() == drsorch.WavePending {
			w.Status = drsorch.WaveInProgress
		}
	}
}

// waveInFlight reports whether a wave has started and not ended.
func waveInFlight(w *drsorch.ExecutionWave) bool {
	return w.Status.InFlight()
}

// queuedServers returns the servers of a wave waiting for a DRS job: pending,
// in no job and in no submission whose outcome is still unknown.
func queuedServers(w *drsorch.ExecutionWave) []*drsorch.ServerStatus {
	reserved := map[string]bool{}
	for _, j := range w.Jobs {
		if j.JobID == "" && j.Status == drsorch.JobSubmitting {
			for _, id := range j.ServerIDs {
				reserved[id] = true
			}
		}
	}
	var out []*drsorch.ServerStatus
	for i := range w.ServerStatuses {
		s := &w.ServerStatuses[i]
		if s.JobID == "" && !reserved[s.SourceServerID] && s.LaunchStatus.Canonical() == drsorch.LaunchPending {
			out = append(out, s)
		}
	}
	return out
}

func jobsInFlight(w *drsorch.ExecutionWave) int {
	n := 0
	for i := range w.Jobs {
		if w.Jobs[i].InFlight() {
			n++
		}
	}
	return n
}

// anyInFlight reports whether some wave of the execution is running.
func anyInFlight(x *drsorch.Execution) bool {
	for i := range x.Waves {
		if waveInFlight(&x.Waves[i]) {
			return true
		}
	}
	return false
}

// hasInFlightJobs reports whether DRS may still work on some job of the execution.
func hasInFlightJobs(x *drsorch.Execution) bool {
	for i := range x.Waves {
		if jobsInFlight(&x.Waves[i]) > 0 {
			return true
		}
	}
	return false
}

// deps returns the wave numbers a wave waits for: dependsOnWaves, or the previous wave.
func deps(x *drsorch.Execution, idx int) []int {
	w := x.Waves[idx]
	if len(w.DependsOnWaves) > 0 {
		return w.DependsOnWaves
	}
	if idx == 0 {
		return nil
	}
	return []int{x.Waves[idx-1].WaveNumber}
}

// eligibleWaves returns the PENDING waves whose dependencies all COMPLETED, in order.
func eligibleWaves(x *drsorch.Execution) []int {
	var out []int
	for i := range x.Waves {
		if x.Waves[i].Status.Canonical() != drsorch.WavePending {
			continue
		}
		ok := true
		for _, d := range deps(x, i) {
			dw := x.Wave(d)
			if dw == nil || dw.Status.Canonical() != drsorch.WaveCompleted {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, x.Waves[i].WaveNumber)
		}
	}
	return out
}

// gated reports whether a wave must wait for an operator's resume before it starts.
// The first wave is never gated (as in the replaced system).
func gated(x *drsorch.Execution, number int) bool {
	i := x.WaveIndex(number)
	return i > 0 && x.Waves[i].PauseBeforeWave && !x.Waves[i].PauseApproved
}

func (e *Engine) waveTimeout(w *drsorch.ExecutionWave) time.Duration {
	if w.TimeoutSeconds > 0 {
		return time.Duration(w.TimeoutSeconds) * time.Second
	}
	return e.cfg.WaveTimeout
}

// settle derives wave statuses from their jobs and servers: it times out waves,
// ends waves whose servers all ended, and skips waves whose dependencies did not
// complete. It reports whether anything changed.
func (e *Engine) settle(x *drsorch.Execution, now time.Time) bool {
	changed := false
	for i := range x.Waves {
		w := &x.Waves[i]
		if !waveInFlight(w) {
			continue
		}
		if w.Status.Canonical() == drsorch.WaveStarted && slices.ContainsFunc(w.Jobs, func(j drsorch.WaveJob) bool { return j.JobID != "" }) {
			_ = w.SetStatus(drsorch.WaveInProgress)
			changed = true
		}
		if w.StartTime > 0 && now.Sub(time.Unix(w.StartTime, 0)) >= e.waveTimeout(w) {
			for _, s := range queuedServers(w) {
				_ = s.SetLaunchStatus(drsorch.LaunchCancelled)
			}
			_ = w.SetStatus(drsorch.WaveTimeout)
			w.EndTime = now.Unix()
			w.StatusMessage = fmt.Sprintf("Wave timed out after %s", e.waveTimeout(w))
			x.AddEvent(waveEvent(now, "wave_timed_out", w, w.StatusMessage))
			changed = true
			continue
		}
		if len(queuedServers(w)) > 0 || jobsInFlight(w) > 0 {
			continue
		}
		endWave(x, w, now)
		changed = true
	}
	for i := range x.Waves {
		w := &x.Waves[i]
		if w.Status.Canonical() != drsorch.WavePending {
			continue
		}
		for _, d := range deps(x, i) {
			dw := x.Wave(d)
			var reason string
			switch {
			case dw == nil:
				reason = fmt.Sprintf("Skipped: depends on unknown wave %d", d)
			case dw.Status.Terminal() && dw.Status.Canonical() != drsorch.WaveCompleted:
				reason = fmt.Sprintf("Skipped: wave %d ended %s", d, dw.Status.Canonical())
			default:
				continue
			}
			_ = w.SetStatus(drsorch.WaveCancelled)
			w.EndTime = now.Unix()
			w.StatusMessage = reason
			x.AddEvent(waveEvent(now, "wave_skipped", w, reason))
			changed = true
			break
		}
	}
	return changed
}

// endWave gives a wave whose servers all ended its final status.
func endWave(x *drsorch.Execution, w *drsorch.ExecutionWave, now time.Time) {
	var launched, cancelled int
	var failed []string
	for _, s := range w.ServerStatuses {
		switch s.LaunchStatus.Canonical() {
		case drsorch.LaunchLaunched:
			launched++
		case drsorch.LaunchCancelled:
			cancelled++
		default:
			failed = append(failed, s.SourceServerID)
		}
	}
	total := len(w.ServerStatuses)
	to := drsorch.WavePartial
	switch {
	case total > 0 && cancelled == total:
		to = drsorch.WaveCancelled
	case total > 0 && launched == total:
		to = drsorch.WaveCompleted
	case launched == 0:
		to = drsorch.WaveFailed
	}
	_ = w.SetStatus(to)
	w.EndTime = now.Unix()
	if len(failed) > 0 {
		w.StatusMessage = "Servers failed to launch: " + strings.Join(failed[:min(3, len(failed))], ", ")
	} else if total == 0 && w.StatusMessage == "" {
		w.StatusMessage = "No servers launched"
	}
	x.AddEvent(waveEvent(now, "wave_"+strings.ToLower(string(to)), w,
		fmt.Sprintf("%d/%d server(s) launched", launched, total)))
}

func waveEvent(now time.Time, typ string, w *drsorch.ExecutionWave, detail string) drsorch.TimelineEvent {
	n := w.WaveNumber
	return drsorch.TimelineEvent{At: now, Type: typ, Actor: drsorch.SystemCaller.Name(), Wave: &n, Detail: detail}
}

// step is what the execution should do next.
type step struct {
	start    []int // waves to start now
	pause    *int  // pause before this wave
	finalize bool  // nothing more will run: end the execution
}

func (s step) empty() bool { return len(s.start) == 0 && s.pause == nil && !s.finalize }

// nextStep decides the next step of an execution whose waves are settled.
func nextStep(x *drsorch.Execution) step {
	status := x.Status.Canonical()
	if status.Terminal() {
		return step{}
	}
	flying := anyInFlight(x)
	eligible := eligibleWaves(x)
	switch status {
	case drsorch.ExecutionCancelling:
		if !flying {
			return step{finalize: true}
		}
	case drsorch.ExecutionPausePending:
		if !flying {
			if len(eligible) > 0 {
				return step{pause: &eligible[0]}
			}
			return step{finalize: true}
		}
	case drsorch.ExecutionRunning:
		var s step
		for _, n := range eligible {
			if gated(x, n) {
				if s.pause == nil {
					s.pause = &n
				}
				continue
			}
			s.start = append(s.start, n)
		}
		if len(s.start) > 0 {
			s.pause = nil
			return s
		}
		if flying {
			return step{}
		}
		if s.pause != nil {
			return s
		}
		return step{finalize: true}
	}
	return step{}
}

// pauseAt moves the execution to PAUSED before a wave.
func (e *Engine) pauseAt(x *drsorch.Execution, wave int, now time.Time, who, detail string) error {
	if err := x.SetStatus(drsorch.ExecutionPaused, now, who, detail); err != nil {
		return err
	}
	w := wave
	x.PausedBeforeWave = &w
	if n := len(x.Timeline); n > 0 && x.Timeline[n-1].To == string(drsorch.ExecutionPaused) {
		tw := wave
		x.Timeline[n-1].Wave = &tw // the pause event says which wave waits
	}
	x.Secrets.CallbackNonce = randomHex(16)
	return nil
}

// finalize ends the execution with the outcome analysis.
func (e *Engine) finalize(x *drsorch.Execution, now time.Time, who string) error {
	for i := range x.Waves {
		w := &x.Waves[i]
		if w.Status.Canonical() == drsorch.WavePending {
			_ = w.SetStatus(drsorch.WaveCancelled)
			w.EndTime = now.Unix()
			if w.StatusMessage == "" {
				w.StatusMessage = "Not started"
			}
		}
	}
	out := AnalyzeOutcome(x.Waves)
	to := out.Status
	timedOut := slices.ContainsFunc(x.Waves, func(w drsorch.ExecutionWave) bool { return w.Status.Canonical() == drsorch.WaveTimeout })
	switch {
	case x.Status.Canonical() == drsorch.ExecutionCancelling:
		if to != drsorch.ExecutionPartial {
			to = drsorch.ExecutionCancelled
		}
	case timedOut && to != drsorch.ExecutionPartial:
		to = drsorch.ExecutionTimeout
	}
	if err := x.SetStatus(to, now, who, out.Summary); err != nil {
		return err
	}
	x.OutcomeSummary = out.Summary
	details := out.Details
	x.OutcomeDetails = &details
	if to != drsorch.ExecutionCompleted {
		x.ErrorMessage = out.Summary
	}
	x.EndTime = now.Unix()
	if x.StartTime > 0 {
		x.DurationSeconds = x.EndTime - x.StartTime
	}
	if x.DrillTTLSeconds > 0 {
		x.DrillExpiresAt = x.EndTime + x.DrillTTLSeconds
	}
	x.CompletedWaves = out.Details.WavesCompleted
	x.FailedWaves = out.Details.WavesFailed
	x.PausedBeforeWave = nil
	x.Secrets.CallbackNonce = ""
	return nil
}

// applyJob records what DRS says about one of the execution's jobs.
func applyJob(x *drsorch.Execution, j drsorch.Job, now time.Time) bool {
	changed := false
	for wi := range x.Waves {
		w := &x.Waves[wi]
		for ji := range w.Jobs {
			wj := &w.Jobs[ji]
			if wj.JobID != j.JobID {
				continue
			}
			if wj.Status != j.Status {
				wj.Status = j.Status
				changed = true
			}
			if j.Status == drsorch.JobCompleted && wj.EndTime == 0 {
				wj.EndTime = endOr(j.EndDateTime, now)
				changed = true
			}
			for _, p := range j.ParticipatingServers {
				s := w.Server(p.SourceServerID)
				if s == nil || (s.JobID != "" && s.JobID != j.JobID) {
					continue
				}
				if applyParticipant(s, p, now) {
					changed = true
				}
			}
			if j.Status == drsorch.JobCompleted {
				for i := range w.ServerStatuses {
					s := &w.ServerStatuses[i]
					if s.JobID == j.JobID && !s.LaunchStatus.Terminal() {
						_ = s.SetLaunchStatus(drsorch.LaunchFailed)
						if s.Error == "" {
							s.Error = "DRS job completed without launching the server"
						}
						changed = true
					}
				}
			}
		}
	}
	return changed
}

func endOr(t, now time.Time) int64 {
	if t.IsZero() {
		return now.Unix()
	}
	return t.Unix()
}

func applyParticipant(s *drsorch.ServerStatus, p drsorch.ParticipatingServer, now time.Time) bool {
	changed := false
	if p.RecoveryInstanceID != "" && s.RecoveryInstanceID != p.RecoveryInstanceID {
		s.RecoveryInstanceID = p.RecoveryInstanceID
		s.InstanceID = p.RecoveryInstanceID
		changed = true
	}
	to := p.LaunchStatus.Canonical()
	if to == s.LaunchStatus.Canonical() {
		return changed
	}
	if err := s.SetLaunchStatus(to); err != nil {
		return changed // never move backwards
	}
	switch to {
	case drsorch.LaunchLaunched:
		s.LaunchedAt = now.Unix()
		s.Phase = ""
	case drsorch.LaunchFailed:
		s.Phase = string(drsorch.LaunchFailed)
	case drsorch.LaunchInProgress:
		s.Phase = "LAUNCHING"
	}
	return true
}

// phaseOf maps a server's last job-log event to its derived status (reference §6.7).
func phaseOf(event string) string {
	switch event {
	case drsorch.EventCleanupStart, drsorch.EventCleanupEnd, drsorch.EventSnapshotStart, drsorch.EventSnapshotEnd,
		drsorch.EventUsingPreviousSnapshot, drsorch.EventConversionStart, drsorch.EventConversionEnd:
		return string(drsorch.LaunchInProgress)
	case drsorch.EventLaunchStart:
		return "LAUNCHING"
	case drsorch.EventLaunchFailed, drsorch.EventServerSkipped:
		return string(drsorch.LaunchFailed)
	}
	return string(drsorch.LaunchPending)
}

// applyJobLog derives each server's phase from the last event about it.
func applyJobLog(x *drsorch.Execution, jobID string, items []drsorch.JobLogItem, now time.Time) bool {
	last := map[string]drsorch.JobLogItem{}
	for _, it := range items {
		id := it.EventData.SourceServerID
		if id == "" {
			continue
		}
		if prev, ok := last[id]; !ok || !it.LogDateTime.Before(prev.LogDateTime) {
			last[id] = it
		}
	}
	changed := false
	for wi := range x.Waves {
		w := &x.Waves[wi]
		for ji := range w.Jobs {
			if w.Jobs[ji].JobID == jobID {
				w.Jobs[ji].LogsFetchedAt = now.Unix()
				changed = true
			}
		}
		for i := range w.ServerStatuses {
			s := &w.ServerStatuses[i]
			if s.JobID != jobID {
				continue
			}
			it, ok := last[s.SourceServerID]
			if !ok {
				continue
			}
			s.LastEvent = it.Event
			if it.EventData.RawError != "" {
				s.Error = it.EventData.RawError
			}
			if s.LaunchStatus.Canonical() == drsorch.LaunchPending {
				s.Phase = phaseOf(it.Event)
			}
			changed = true
		}
	}
	return changed
}
