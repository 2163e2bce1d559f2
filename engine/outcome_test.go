package engine_test

import (
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
)

// wave builds a wave with a status and servers of the given launch statuses.
func wave(name string, status drsorch.WaveStatus, servers ...drsorch.LaunchStatus) drsorch.ExecutionWave {
	w := drsorch.ExecutionWave{WaveName: name, Status: status}
	for _, s := range servers {
		w.ServerStatuses = append(w.ServerStatuses, drsorch.ServerStatus{LaunchStatus: s})
	}
	return w
}

const (
	L = drsorch.LaunchLaunched
	F = drsorch.LaunchFailed
	C = drsorch.LaunchCancelled
	T = drsorch.LaunchTerminated
	P = drsorch.LaunchPending
	I = drsorch.LaunchInProgress
)

func TestAnalyzeOutcome(t *testing.T) {
	tests := []struct {
		name    string
		waves   []drsorch.ExecutionWave
		status  drsorch.ExecutionStatus
		summary string
	}{
		{"no waves", nil, drsorch.ExecutionFailed, "No waves executed"},
		{"rule 1: all completed", []drsorch.ExecutionWave{wave("a", "COMPLETED", L, L), wave("b", "COMPLETED", L)},
			drsorch.ExecutionCompleted, "All 2 wave(s) completed successfully. 3 server(s) launched."},
		{"rule 1: failed servers inside completed waves are ignored", []drsorch.ExecutionWave{wave("a", "COMPLETED", L, F)},
			drsorch.ExecutionCompleted, "All 1 wave(s) completed successfully. 1 server(s) launched."},
		{"rule 1: lower-case statuses", []drsorch.ExecutionWave{wave("a", "completed", "launched")},
			drsorch.ExecutionCompleted, "All 1 wave(s) completed successfully. 1 server(s) launched."},
		{"rule 2: every wave failed", []drsorch.ExecutionWave{wave("a", "FAILED", F, F), wave("b", "FAILED", L)},
			drsorch.ExecutionFailed, "Execution failed. 2 wave(s) failed. 2 server(s) failed to launch."},
		{"rule 2: failed, nothing completed or launched", []drsorch.ExecutionWave{wave("a", "FAILED", F), wave("b", "PENDING")},
			drsorch.ExecutionFailed, "Execution failed. 1 wave(s) failed. 1 server(s) failed to launch."},
		{"rule 3: every wave cancelled", []drsorch.ExecutionWave{wave("a", "CANCELLED"), wave("b", "TERMINATED")},
			drsorch.ExecutionCancelled, "Execution cancelled. 2 wave(s) cancelled."},
		{"rule 3: cancelled, nothing completed, failed or launched", []drsorch.ExecutionWave{wave("a", "CANCELLED", C), wave("b", "PENDING")},
			drsorch.ExecutionCancelled, "Execution cancelled. 1 wave(s) cancelled."},
		{"rule 4: nothing launched, servers pending", []drsorch.ExecutionWave{wave("a", "IN_PROGRESS", P, I), wave("b", "PENDING")},
			drsorch.ExecutionFailed, "Execution failed. No servers completed launching (2 server(s) pending)."},
		{"rule 5: launched and failed", []drsorch.ExecutionWave{wave("a", "COMPLETED", L, L), wave("b", "PARTIAL", L, F)},
			drsorch.ExecutionPartial, "3 server(s) launched successfully; 1 server(s) failed. Waves: 1 wave(s) completed."},
		{"rule 5: every part", []drsorch.ExecutionWave{wave("a", "COMPLETED", L), wave("b", "FAILED", F), wave("c", "CANCELLED", C, T)},
			drsorch.ExecutionPartial, "1 server(s) launched successfully; 1 server(s) failed; 2 server(s) cancelled. Waves: 1 wave(s) completed, 1 wave(s) failed, 1 wave(s) cancelled."},
		{"rule 5: completed and cancelled waves", []drsorch.ExecutionWave{wave("a", "COMPLETED", L), wave("b", "CANCELLED")},
			drsorch.ExecutionPartial, "1 server(s) launched successfully. Waves: 1 wave(s) completed, 1 wave(s) cancelled."},
		{"rule 5: no servers, no wave parts", []drsorch.ExecutionWave{wave("a", "PENDING"), wave("b", "STARTED")},
			drsorch.ExecutionPartial, "Partial execution"},
		{"rule 5: failed servers only, waves pending", []drsorch.ExecutionWave{wave("a", "PARTIAL", F)},
			drsorch.ExecutionPartial, "1 server(s) failed"},
		{"rule 5: cancelled servers and a launched one", []drsorch.ExecutionWave{wave("a", "PARTIAL", L, C)},
			drsorch.ExecutionPartial, "1 server(s) launched successfully; 1 server(s) cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := engine.AnalyzeOutcome(tt.waves)
			if got.Status != tt.status || got.Summary != tt.summary {
				t.Fatalf("got %s %q\nwant %s %q", got.Status, got.Summary, tt.status, tt.summary)
			}
		})
	}
	t.Run("details", func(t *testing.T) {
		d := engine.AnalyzeOutcome([]drsorch.ExecutionWave{wave("a", "COMPLETED", L, L), wave("b", "FAILED", F), wave("c", "CANCELLED", C), wave("d", "PENDING", P)}).Details
		want := drsorch.OutcomeDetails{TotalWaves: 4, WavesCompleted: 1, WavesFailed: 1, WavesCancelled: 1, WavesPending: 1,
			TotalServers: 5, ServersLaunched: 2, ServersFailed: 1, ServersCancelled: 1, ServersPending: 1}
		if d.TotalWaves != want.TotalWaves || d.WavesCompleted != 1 || d.WavesFailed != 1 || d.WavesCancelled != 1 || d.WavesPending != 1 ||
			d.TotalServers != 5 || d.ServersLaunched != 2 || d.ServersFailed != 1 || d.ServersCancelled != 1 || d.ServersPending != 1 {
			t.Fatalf("details %+v", d)
		}
		if len(d.CompletedWaves) != 1 || d.CompletedWaves[0] != (drsorch.WaveOutcome{Name: "a", ServersLaunched: 2}) {
			t.Fatalf("completed waves %+v", d.CompletedWaves)
		}
		if d.FailedWaves[0] != (drsorch.WaveOutcome{Name: "b", ServersFailed: 1}) || d.CancelledWaves[0] != (drsorch.WaveOutcome{Name: "c", ServersCancelled: 1}) {
			t.Fatalf("failed %+v cancelled %+v", d.FailedWaves, d.CancelledWaves)
		}
	})
}
