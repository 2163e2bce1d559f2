package simulate_test

import (
	"context"
	"testing"

	"github.com/drsorch/drsorch/internal/simulate"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		opts    simulate.Options
		status  string
		maxOver float64
	}{
		{"clean", simulate.Options{Servers: 600, Waves: 2, Seed: 3}, "COMPLETED", 0.05},
		{"throttled", simulate.Options{Servers: 600, Waves: 2, Seed: 3, ThrottleRate: 0.3}, "COMPLETED", 0.05},
		// Every wave fills DRS's 500 servers in active jobs, as in the 4,000-server run.
		{"quota-filling waves, throttled", simulate.Options{Servers: 1000, Waves: 2, Seed: 4, ThrottleRate: 0.3}, "COMPLETED", 0.05},
		{"failures", simulate.Options{Servers: 300, Waves: 3, Seed: 5, FailRate: 0.05}, "PARTIAL", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := simulate.Run(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Status != tt.status {
				t.Fatalf("status %s (%s)", rep.Status, rep.OutcomeSummary)
			}
			if rep.QuotaViolations != 0 || rep.DuplicateLaunches != 0 || rep.MaxConcurrentJobs > 20 || rep.MaxServersInJobs > 500 {
				t.Fatalf("quota use %+v", rep)
			}
			if rep.LowerBoundSeconds <= 0 || rep.MakespanSeconds < rep.LowerBoundSeconds || rep.OverLowerBound > tt.maxOver {
				t.Fatalf("makespan %v lower bound %v", rep.MakespanSeconds, rep.LowerBoundSeconds)
			}
			if tt.opts.ThrottleRate > 0 && rep.ThrottledCalls == 0 {
				t.Fatal("no call was throttled")
			}
			// Batched polls: a few DRS calls a cycle, and StartRecovery about
			// once a job (a throttled call is tried four times).
			if rep.DRSCallsPerCycle > 6 || rep.DRSCalls["StartRecovery"] > 4*rep.Jobs || rep.QuotaRefusals != 0 {
				t.Fatalf("DRS calls %v, %.1f a cycle, for %d jobs; %d quota refusals", rep.DRSCalls, rep.DRSCallsPerCycle, rep.Jobs, rep.QuotaRefusals)
			}
			// A wave with failed servers stops the waves after it, so only a clean run launches every server.
			if got := rep.ServersLaunched + rep.ServersFailed; (tt.opts.FailRate == 0 && got != tt.opts.Servers) || got > tt.opts.Servers {
				t.Fatalf("%d launched + %d failed of %d", rep.ServersLaunched, rep.ServersFailed, tt.opts.Servers)
			}
		})
	}
	if _, err := simulate.Run(context.Background(), simulate.Options{Servers: 2, Waves: 3}); err == nil {
		t.Fatal("more waves than servers accepted")
	}
}
