package engine_test

import (
	"testing"
	"time"

	"github.com/drsorch/drsorch"
)

func TestReportOfAPausedDrill(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, func(w []drsorch.PlanWave) { w[1].PauseBeforeWave = true })
	id := h.start("plan", drsorch.Drill)

	r, err := h.eng.Report(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ended || r.AchievedRTOSeconds != nil || len(r.Waves) != 3 || r.Waves[0].ServersTotal != 3 {
		t.Fatalf("report of a running drill: %+v", r)
	}

	h.until(id, 30*time.Second, 3*time.Hour, status(drsorch.ExecutionPaused))
	h.clock.Advance(10 * time.Minute)
	if _, err := h.eng.Resume(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	x := h.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
	r, err = h.eng.Report(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Ended || !r.AllServersRecovered || r.ServersTotal != 12 || r.ServersLaunched != 12 || r.Status != drsorch.ExecutionCompleted {
		t.Fatalf("totals: %+v", r)
	}
	if len(r.Pauses) != 1 || r.Pauses[0].BeforeWave == nil || *r.Pauses[0].BeforeWave != 1 || r.Pauses[0].Seconds < 600 {
		t.Fatalf("pauses: %+v", r.Pauses)
	}
	if r.PausedSeconds != r.Pauses[0].Seconds {
		t.Fatalf("pausedSeconds %d vs %d", r.PausedSeconds, r.Pauses[0].Seconds)
	}
	if r.AchievedRTOSeconds == nil || r.RTOExcludingPausesSeconds == nil ||
		*r.RTOExcludingPausesSeconds != *r.AchievedRTOSeconds-r.PausedSeconds || *r.AchievedRTOSeconds > r.DurationSecs {
		t.Fatalf("rto %v / %v, duration %d, paused %d", r.AchievedRTOSeconds, r.RTOExcludingPausesSeconds, r.DurationSecs, r.PausedSeconds)
	}
	if want := x.EndTime - x.StartTime; r.DurationSecs != want {
		t.Fatalf("duration %d, want %d", r.DurationSecs, want)
	}
	var last int64
	for i, w := range r.Waves {
		if w.Status != drsorch.WaveCompleted || w.DurationSecs <= 0 || len(w.JobIDs) != 1 || w.ServersLaunched != w.ServersTotal {
			t.Errorf("wave %d: %+v", i, w)
		}
		for _, s := range w.Servers {
			if s.LaunchSeconds == nil || *s.LaunchSeconds <= 0 || s.RecoveredAfterSeconds == nil || s.RecoveryInstanceID == "" {
				t.Errorf("server %+v", s)
				continue
			}
			last = max(last, *s.RecoveredAfterSeconds)
		}
	}
	if last != *r.AchievedRTOSeconds {
		t.Fatalf("rto %d, last server recovered after %d", *r.AchievedRTOSeconds, last)
	}
	if len(r.Timeline) == 0 {
		t.Fatal("no timeline")
	}
	if _, err := h.eng.Report(h.ctx, "nope"); !drsorch.IsCode(err, drsorch.CodeNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}
