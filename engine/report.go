package engine

import (
	"context"
	"time"

	"github.com/drsorch/drsorch"
)

// Report is a drill evidence report (GET /executions/{id}/report): what ran,
// who started it, how long each wave and server took, the pauses, and the
// recovery time achieved, derived from the execution record and its timeline.
type Report struct {
	ExecutionID    string                  `json:"executionId"`
	PlanID         string                  `json:"planId"`
	PlanName       string                  `json:"planName,omitempty"`
	ExecutionType  drsorch.ExecutionType   `json:"executionType"`
	Status         drsorch.ExecutionStatus `json:"status"`
	Ended          bool                    `json:"ended"`
	InitiatedBy    string                  `json:"initiatedBy"`
	StartTime      time.Time               `json:"startTime,omitzero"`
	EndTime        time.Time               `json:"endTime,omitzero"`
	DurationSecs   int64                   `json:"durationSeconds"`
	OutcomeSummary string                  `json:"outcomeSummary,omitempty"`
	// AchievedRTOSeconds is the time from the start until the last launched
	// server was launched; null when no server launched.
	AchievedRTOSeconds *int64 `json:"achievedRtoSeconds"`
	// RTOExcludingPausesSeconds is AchievedRTOSeconds minus the time spent paused before then.
	RTOExcludingPausesSeconds *int64 `json:"rtoExcludingPausesSeconds"`
	// AllServersRecovered says whether every server of every wave launched.
	AllServersRecovered bool                    `json:"allServersRecovered"`
	PausedSeconds       int64                   `json:"pausedSeconds"`
	ServersTotal        int                     `json:"serversTotal"`
	ServersLaunched     int                     `json:"serversLaunched"`
	ServersFailed       int                     `json:"serversFailed"`
	ServersCancelled    int                     `json:"serversCancelled"`
	Waves               []WaveReport            `json:"waves"`
	Pauses              []PauseReport           `json:"pauses"`
	Timeline            []drsorch.TimelineEvent `json:"timeline"`
	GeneratedAt         time.Time               `json:"generatedAt"`
}

// WaveReport is one wave of a Report.
type WaveReport struct {
	WaveNumber       int                `json:"waveNumber"`
	WaveName         string             `json:"waveName"`
	Status           drsorch.WaveStatus `json:"status"`
	StartTime        time.Time          `json:"startTime,omitzero"`
	EndTime          time.Time          `json:"endTime,omitzero"`
	DurationSecs     int64              `json:"durationSeconds"`
	StatusMessage    string             `json:"statusMessage,omitempty"`
	JobIDs           []string           `json:"jobIds"`
	ServersTotal     int                `json:"serversTotal"`
	ServersLaunched  int                `json:"serversLaunched"`
	ServersFailed    int                `json:"serversFailed"`
	ServersCancelled int                `json:"serversCancelled"`
	Servers          []ServerReport     `json:"servers"`
}

// ServerReport is one source server of a WaveReport.
type ServerReport struct {
	SourceServerID     string               `json:"sourceServerId"`
	ServerName         string               `json:"serverName,omitempty"`
	LaunchStatus       drsorch.LaunchStatus `json:"launchStatus"`
	JobID              string               `json:"jobId,omitempty"`
	RecoveryInstanceID string               `json:"recoveryInstanceId,omitempty"`
	SubmittedAt        time.Time            `json:"submittedAt,omitzero"`
	LaunchedAt         time.Time            `json:"launchedAt,omitzero"`
	// LaunchSeconds is the time from the server's DRS job submission to its launch.
	LaunchSeconds *int64 `json:"launchSeconds"`
	// RecoveredAfterSeconds is the time from the execution's start to the server's launch.
	RecoveredAfterSeconds *int64 `json:"recoveredAfterSeconds"`
	Error                 string `json:"error,omitempty"`
}

// PauseReport is one stretch of time an execution spent paused.
type PauseReport struct {
	BeforeWave *int      `json:"beforeWave,omitempty"`
	PausedAt   time.Time `json:"pausedAt"`
	ResumedAt  time.Time `json:"resumedAt,omitzero"`
	Seconds    int64     `json:"seconds"`
	ResumedBy  string    `json:"resumedBy,omitempty"`
}

// Report returns the evidence report of an execution.
func (e *Engine) Report(ctx context.Context, id string) (*Report, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermViewExecutions, x.ExecutionType); err != nil {
		return nil, err
	}
	normalize(x)
	r := BuildReport(x, e.now())
	return &r, nil
}

func epoch(s int64) time.Time {
	if s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

func secondsPtr(d time.Duration) *int64 {
	s := int64(d / time.Second)
	return &s
}

// BuildReport derives the evidence report of an execution as of now.
func BuildReport(x *drsorch.Execution, now time.Time) Report {
	now = now.UTC()
	r := Report{
		ExecutionID: x.ExecutionID, PlanID: x.PlanID, PlanName: x.PlanName, ExecutionType: x.ExecutionType,
		Status: x.Status, Ended: x.Status.Terminal(), InitiatedBy: string(x.InitiatedBy),
		StartTime: epoch(x.StartTime), EndTime: epoch(x.EndTime), OutcomeSummary: x.OutcomeSummary,
		Waves: []WaveReport{}, Pauses: []PauseReport{}, Timeline: x.Timeline, GeneratedAt: now,
	}
	if r.Timeline == nil {
		r.Timeline = []drsorch.TimelineEvent{}
	}
	end := r.EndTime
	if end.IsZero() {
		end = now
	}
	if !r.StartTime.IsZero() {
		r.DurationSecs = int64(end.Sub(r.StartTime) / time.Second)
	}
	// Pauses: from each transition into PAUSED to the next one out of it.
	var open *PauseReport
	for _, ev := range x.Timeline {
		switch {
		case ev.To == string(drsorch.ExecutionPaused):
			p := PauseReport{PausedAt: ev.At.UTC()}
			if ev.Wave != nil {
				p.BeforeWave = ev.Wave
			}
			open = &p
		case open != nil && ev.From == string(drsorch.ExecutionPaused):
			open.ResumedAt, open.ResumedBy = ev.At.UTC(), ev.Actor
			open.Seconds = int64(open.ResumedAt.Sub(open.PausedAt) / time.Second)
			r.Pauses = append(r.Pauses, *open)
			open = nil
		}
	}
	if open != nil {
		open.Seconds = int64(end.Sub(open.PausedAt) / time.Second)
		r.Pauses = append(r.Pauses, *open)
	}
	if x.PausedBeforeWave != nil && len(r.Pauses) > 0 && r.Pauses[len(r.Pauses)-1].ResumedAt.IsZero() {
		n := *x.PausedBeforeWave
		r.Pauses[len(r.Pauses)-1].BeforeWave = &n
	}
	for _, p := range r.Pauses {
		r.PausedSeconds += p.Seconds
	}
	var lastLaunch time.Time
	for _, w := range x.Waves {
		wr := WaveReport{WaveNumber: w.WaveNumber, WaveName: w.WaveName, Status: w.Status, StartTime: epoch(w.StartTime),
			EndTime: epoch(w.EndTime), StatusMessage: w.StatusMessage, JobIDs: []string{}, Servers: []ServerReport{}}
		if !wr.StartTime.IsZero() {
			wend := wr.EndTime
			if wend.IsZero() {
				wend = end
			}
			wr.DurationSecs = int64(wend.Sub(wr.StartTime) / time.Second)
		}
		for _, j := range w.Jobs {
			if j.JobID != "" {
				wr.JobIDs = append(wr.JobIDs, j.JobID)
			}
		}
		for _, s := range w.ServerStatuses {
			sr := ServerReport{SourceServerID: s.SourceServerID, ServerName: s.ServerName, LaunchStatus: s.LaunchStatus,
				JobID: s.JobID, RecoveryInstanceID: s.RecoveryInstanceID, SubmittedAt: epoch(s.SubmittedAt), Error: s.Error}
			wr.ServersTotal++
			switch s.LaunchStatus.Canonical() {
			case drsorch.LaunchLaunched:
				wr.ServersLaunched++
				sr.LaunchedAt = epoch(s.LaunchedAt)
			case drsorch.LaunchFailed:
				wr.ServersFailed++
			case drsorch.LaunchCancelled, drsorch.LaunchTerminated:
				wr.ServersCancelled++
			}
			if !sr.LaunchedAt.IsZero() {
				if !sr.SubmittedAt.IsZero() {
					sr.LaunchSeconds = secondsPtr(sr.LaunchedAt.Sub(sr.SubmittedAt))
				}
				if !r.StartTime.IsZero() {
					sr.RecoveredAfterSeconds = secondsPtr(sr.LaunchedAt.Sub(r.StartTime))
				}
				if sr.LaunchedAt.After(lastLaunch) {
					lastLaunch = sr.LaunchedAt
				}
			}
			wr.Servers = append(wr.Servers, sr)
		}
		r.ServersTotal += wr.ServersTotal
		r.ServersLaunched += wr.ServersLaunched
		r.ServersFailed += wr.ServersFailed
		r.ServersCancelled += wr.ServersCancelled
		r.Waves = append(r.Waves, wr)
	}
	if !lastLaunch.IsZero() && !r.StartTime.IsZero() {
		rto := int64(lastLaunch.Sub(r.StartTime) / time.Second)
		r.AchievedRTOSeconds = &rto
		// Whole seconds paused before the last launch, counted as the pauses are reported.
		var paused int64
		for _, p := range r.Pauses {
			stop := p.ResumedAt
			if stop.IsZero() || stop.After(lastLaunch) {
				stop = lastLaunch
			}
			if stop.After(p.PausedAt) {
				paused += int64(stop.Sub(p.PausedAt) / time.Second)
			}
		}
		excl := max(rto-paused, 0)
		r.RTOExcludingPausesSeconds = &excl
	}
	r.AllServersRecovered = r.ServersTotal > 0 && r.ServersLaunched == r.ServersTotal
	for _, w := range x.Waves {
		if len(w.ServerStatuses) == 0 {
			r.AllServersRecovered = false
		}
	}
	return r
}
