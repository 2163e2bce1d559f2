package drsorch_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/drsorch/drsorch"
)

// TestExecutionTransitions checks every pair of written statuses: the allowed
// ones are exactly those listed here, everything else is refused with INVALID_STATE.
func TestExecutionTransitions(t *testing.T) {
	allowed := map[[2]drsorch.ExecutionStatus]string{
		{drsorch.ExecutionPending, drsorch.ExecutionRunning}:         "start",
		{drsorch.ExecutionPending, drsorch.ExecutionFailed}:          "start_failed",
		{drsorch.ExecutionPending, drsorch.ExecutionCancelled}:       "cancelled",
		{drsorch.ExecutionRunning, drsorch.ExecutionPausePending}:    "pause_requested",
		{drsorch.ExecutionRunning, drsorch.ExecutionPaused}:          "paused",
		{drsorch.ExecutionRunning, drsorch.ExecutionCancelling}:      "cancel_requested",
		{drsorch.ExecutionRunning, drsorch.ExecutionCancelled}:       "cancelled",
		{drsorch.ExecutionRunning, drsorch.ExecutionCompleted}:       "completed",
		{drsorch.ExecutionRunning, drsorch.ExecutionPartial}:         "partial",
		{drsorch.ExecutionRunning, drsorch.ExecutionFailed}:          "failed",
		{drsorch.ExecutionRunning, drsorch.ExecutionTimeout}:         "timed_out",
		{drsorch.ExecutionPausePending, drsorch.ExecutionPaused}:     "paused",
		{drsorch.ExecutionPausePending, drsorch.ExecutionCancelling}: "cancel_requested",
		{drsorch.ExecutionPausePending, drsorch.ExecutionCancelled}:  "cancelled",
		{drsorch.ExecutionPausePending, drsorch.ExecutionCompleted}:  "completed",
		{drsorch.ExecutionPausePending, drsorch.ExecutionPartial}:    "partial",
		{drsorch.ExecutionPausePending, drsorch.ExecutionFailed}:     "failed",
		{drsorch.ExecutionPausePending, drsorch.ExecutionTimeout}:    "timed_out",
		{drsorch.ExecutionPaused, drsorch.ExecutionRunning}:          "resumed",
		{drsorch.ExecutionPaused, drsorch.ExecutionCancelled}:        "cancelled",
		{drsorch.ExecutionPaused, drsorch.ExecutionFailed}:           "failed",
		{drsorch.ExecutionCancelling, drsorch.ExecutionCancelled}:    "cancelled",
		{drsorch.ExecutionCancelling, drsorch.ExecutionPartial}:      "cancelled_partial",
		{drsorch.ExecutionCancelling, drsorch.ExecutionFailed}:       "failed",
		{drsorch.ExecutionCancelling, drsorch.ExecutionTimeout}:      "timed_out",
	}
	for _, from := range drsorch.ExecutionStatuses {
		for _, to := range drsorch.ExecutionStatuses {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				ev, err := drsorch.CheckExecutionTransition(from, to)
				want, ok := allowed[[2]drsorch.ExecutionStatus{from, to}]
				switch {
				case from == to:
					if err != nil || ev != "" {
						t.Fatalf("staying in %s: got %q, %v", from, ev, err)
					}
				case ok:
					if err != nil || ev != want {
						t.Fatalf("got %q, %v; want event %q", ev, err, want)
					}
				default:
					if !drsorch.IsCode(err, drsorch.CodeInvalidState) {
						t.Fatalf("got %q, %v; want INVALID_STATE", ev, err)
					}
				}
			})
		}
	}
	t.Run("terminal states are final", func(t *testing.T) {
		for _, from := range drsorch.TerminalExecutionStatuses {
			for _, to := range drsorch.ExecutionStatuses {
				if _, err := drsorch.CheckExecutionTransition(from, to); from != to && err == nil {
					t.Errorf("%s -> %s allowed", from, to)
				}
			}
		}
	})
	t.Run("legacy running statuses read as RUNNING", func(t *testing.T) {
		for _, s := range []drsorch.ExecutionStatus{"POLLING", "IN_PROGRESS", "INITIATED", "LAUNCHING", "STARTED", "polling"} {
			if _, err := drsorch.CheckExecutionTransition(s, drsorch.ExecutionPaused); err != nil {
				t.Errorf("%s -> PAUSED: %v", s, err)
			}
		}
	})
}

func TestWaveTransitions(t *testing.T) {
	allowed := map[[2]drsorch.WaveStatus]bool{}
	for _, tr := range drsorch.WaveTransitions {
		for _, f := range tr.From {
			allowed[[2]drsorch.WaveStatus{f, tr.To}] = true
		}
	}
	want := [][2]drsorch.WaveStatus{
		{drsorch.WavePending, drsorch.WaveStarted}, {drsorch.WavePending, drsorch.WaveCancelled},
		{drsorch.WaveStarted, drsorch.WaveInProgress}, {drsorch.WaveStarted, drsorch.WaveCompleted},
		{drsorch.WaveStarted, drsorch.WavePartial}, {drsorch.WaveStarted, drsorch.WaveFailed},
		{drsorch.WaveStarted, drsorch.WaveTimeout}, {drsorch.WaveStarted, drsorch.WaveCancelled},
		{drsorch.WaveInProgress, drsorch.WaveCompleted}, {drsorch.WaveInProgress, drsorch.WavePartial},
		{drsorch.WaveInProgress, drsorch.WaveFailed}, {drsorch.WaveInProgress, drsorch.WaveTimeout},
		{drsorch.WaveInProgress, drsorch.WaveCancelled},
	}
	if len(want) != len(allowed) {
		t.Fatalf("table has %d allowed wave transitions, test lists %d", len(allowed), len(want))
	}
	for _, from := range drsorch.WaveStatuses {
		for _, to := range drsorch.WaveStatuses {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				_, err := drsorch.CheckWaveTransition(from, to)
				ok := from == to || slices.Contains(want, [2]drsorch.WaveStatus{from, to})
				if ok != (err == nil) {
					t.Fatalf("allowed=%v, err=%v", ok, err)
				}
			})
		}
	}
}

func TestLaunchTransitions(t *testing.T) {
	want := [][2]drsorch.LaunchStatus{
		{drsorch.LaunchPending, drsorch.LaunchInProgress}, {drsorch.LaunchPending, drsorch.LaunchLaunched},
		{drsorch.LaunchPending, drsorch.LaunchFailed}, {drsorch.LaunchPending, drsorch.LaunchTerminated},
		{drsorch.LaunchPending, drsorch.LaunchCancelled}, {drsorch.LaunchInProgress, drsorch.LaunchLaunched},
		{drsorch.LaunchInProgress, drsorch.LaunchFailed}, {drsorch.LaunchInProgress, drsorch.LaunchTerminated},
		{drsorch.LaunchLaunched, drsorch.LaunchTerminated},
	}
	for _, from := range drsorch.LaunchStatuses {
		for _, to := range drsorch.LaunchStatuses {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				_, err := drsorch.CheckLaunchTransition(from, to)
				ok := from == to || slices.Contains(want, [2]drsorch.LaunchStatus{from, to})
				if ok != (err == nil) {
					t.Fatalf("allowed=%v, err=%v", ok, err)
				}
			})
		}
	}
}

func TestSetStatusRecordsTimeline(t *testing.T) {
	x := &drsorch.Execution{Status: drsorch.ExecutionRunning}
	if err := x.SetStatus(drsorch.ExecutionCompleted, drsorchtestEpoch, "alice", "done"); err != nil {
		t.Fatal(err)
	}
	if err := x.SetStatus(drsorch.ExecutionRunning, drsorchtestEpoch, "bob", ""); err == nil {
		t.Fatal("COMPLETED -> RUNNING allowed")
	}
	if x.Status != drsorch.ExecutionCompleted || len(x.Timeline) != 1 {
		t.Fatalf("status %s, timeline %+v", x.Status, x.Timeline)
	}
	ev := x.Timeline[0]
	if ev.Actor != "alice" || ev.From != "RUNNING" || ev.To != "COMPLETED" || ev.Type != "completed" {
		t.Fatalf("event %+v", ev)
	}
}
