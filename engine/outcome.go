package engine

import (
	"fmt"
	"strings"

	"github.com/drsorch/drsorch"
)

// Outcome is the result of the outcome analysis of reference §6.3.
type Outcome struct {
	Status  drsorch.ExecutionStatus
	Summary string
	Details drsorch.OutcomeDetails
}

// AnalyzeOutcome decides COMPLETED, PARTIAL, FAILED or CANCELLED from the
// waves' statuses and their servers' launch statuses, with the replaced
// system's rules and summary strings.
func AnalyzeOutcome(waves []drsorch.ExecutionWave) Outcome {
	d := drsorch.OutcomeDetails{
		CompletedWaves: []drsorch.WaveOutcome{}, FailedWaves: []drsorch.WaveOutcome{}, CancelledWaves: []drsorch.WaveOutcome{},
	}
	if len(waves) == 0 {
		return Outcome{Status: drsorch.ExecutionFailed, Summary: "No waves executed", Details: d}
	}
	d.TotalWaves = len(waves)
	for _, w := range waves {
		wo := drsorch.WaveOutcome{Name: w.WaveName}
		for _, s := range w.ServerStatuses {
			d.TotalServers++
			switch s.LaunchStatus.Canonical() {
			case drsorch.LaunchLaunched:
				d.ServersLaunched++
				wo.ServersLaunched++
			case drsorch.LaunchFailed:
				d.ServersFailed++
				wo.ServersFailed++
			case drsorch.LaunchCancelled, drsorch.LaunchTerminated:
				d.ServersCancelled++
				wo.ServersCancelled++
			default:
				d.ServersPending++
			}
		}
		switch w.Status.Canonical() { // a legacy TERMINATED wave reads as CANCELLED
		case drsorch.WaveCompleted:
			d.WavesCompleted++
			d.CompletedWaves = append(d.CompletedWaves, wo)
		case drsorch.WaveFailed:
			d.WavesFailed++
			d.FailedWaves = append(d.FailedWaves, wo)
		case drsorch.WaveCancelled:
			d.WavesCancelled++
			d.CancelledWaves = append(d.CancelledWaves, wo)
		default:
			d.WavesPending++
		}
	}
	w, l := d.TotalWaves, d.ServersLaunched
	switch {
	case d.WavesCompleted == w && d.WavesFailed == 0 && d.WavesCancelled == 0:
		return Outcome{drsorch.ExecutionCompleted,
			fmt.Sprintf("All %d wave(s) completed successfully. %d server(s) launched.", w, l), d}
	case d.WavesFailed == w || (d.WavesFailed > 0 && d.WavesCompleted == 0 && l == 0):
		return Outcome{drsorch.ExecutionFailed,
			fmt.Sprintf("Execution failed. %d wave(s) failed. %d server(s) failed to launch.", d.WavesFailed, d.ServersFailed), d}
	case d.WavesCancelled == w || (d.WavesCancelled > 0 && d.WavesCompleted == 0 && d.WavesFailed == 0 && l == 0):
		return Outcome{drsorch.ExecutionCancelled,
			fmt.Sprintf("Execution cancelled. %d wave(s) cancelled.", d.WavesCancelled), d}
	case l == 0 && d.ServersFailed == 0 && d.ServersCancelled == 0 && d.TotalServers > 0:
		return Outcome{drsorch.ExecutionFailed,
			fmt.Sprintf("Execution failed. No servers completed launching (%d server(s) pending).", d.TotalServers), d}
	}
	var parts []string
	if l > 0 {
		parts = append(parts, fmt.Sprintf("%d server(s) launched successfully", l))
	}
	if d.ServersFailed > 0 {
		parts = append(parts, fmt.Sprintf("%d server(s) failed", d.ServersFailed))
	}
	if d.ServersCancelled > 0 {
		parts = append(parts, fmt.Sprintf("%d server(s) cancelled", d.ServersCancelled))
	}
	summary := "Partial execution"
	if len(parts) > 0 {
		summary = strings.Join(parts, "; ")
	}
	var waveParts []string
	if d.WavesCompleted > 0 {
		waveParts = append(waveParts, fmt.Sprintf("%d wave(s) completed", d.WavesCompleted))
	}
	if d.WavesFailed > 0 {
		waveParts = append(waveParts, fmt.Sprintf("%d wave(s) failed", d.WavesFailed))
	}
	if d.WavesCancelled > 0 {
		waveParts = append(waveParts, fmt.Sprintf("%d wave(s) cancelled", d.WavesCancelled))
	}
	if len(waveParts) > 0 {
		summary += ". Waves: " + strings.Join(waveParts, ", ") + "."
	}
	return Outcome{drsorch.ExecutionPartial, summary, d}
}
