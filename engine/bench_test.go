package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/sqlite"
)

// BenchmarkPollCycle measures one poll cycle over 1,000 active executions with
// three in-flight waves (one DRS job of 10 servers each) in one account and region.
// It reports the DRS calls the cycle makes; the replaced system made at least one
// DescribeJobs per wave, here 3,000.
func BenchmarkPollCycle(b *testing.B) {
	const executions, wavesPer, serversPer = 1000, 3, 10
	ctx := context.Background()
	clock := drsorchtest.NewClock(time.Time{})
	sim := drssim.New(drssim.Options{Clock: clock, Seed: 1,
		Limits: drssim.Limits{MaxConcurrentJobs: -1, MaxServersInActiveJobs: -1}})
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	t := drsorch.Target{Region: "us-east-1"}
	n := 0
	for e := 0; e < executions; e++ {
		x := &drsorch.Execution{ExecutionID: fmt.Sprintf("exec-%04d", e), PlanID: fmt.Sprintf("plan-%04d", e),
			ExecutionType: drsorch.Drill, Status: drsorch.ExecutionRunning, StartTime: clock.Now().Unix()}
		for w := 0; w < wavesPer; w++ {
			var srvs []drsorch.SourceServer
			var req drsorch.StartRecoveryInput
			wave := drsorch.ExecutionWave{WaveNumber: w, WaveName: fmt.Sprintf("w%d", w), Status: drsorch.WaveInProgress,
				DependsOnWaves: []int{}, Region: "us-east-1", StartTime: clock.Now().Unix()}
			for s := 0; s < serversPer; s++ {
				id := fmt.Sprintf("s-%017d", n)
				n++
				srvs = append(srvs, drsorch.SourceServer{SourceServerID: id, ReplicationState: "CONTINUOUS"})
				req.SourceServers = append(req.SourceServers, drsorch.StartRecoveryServer{SourceServerID: id})
				wave.ServerIDs = append(wave.ServerIDs, id)
			}
			if err := sim.AddSourceServers(srvs...); err != nil {
				b.Fatal(err)
			}
			job, err := sim.StartRecovery(ctx, t, req)
			if err != nil {
				b.Fatal(err)
			}
			wave.JobID = job.JobID
			wave.Jobs = []drsorch.WaveJob{{IntentID: "i-" + job.JobID, JobID: job.JobID, Status: job.Status, Region: "us-east-1",
				ServerIDs: wave.ServerIDs, SubmittedAt: clock.Now().Unix()}}
			for _, id := range wave.ServerIDs {
				wave.ServerStatuses = append(wave.ServerStatuses, drsorch.ServerStatus{SourceServerID: id, JobID: job.JobID, LaunchStatus: drsorch.LaunchPending})
			}
			x.Waves = append(x.Waves, wave)
		}
		if err := st.CreateExecution(ctx, x); err != nil {
			b.Fatal(err)
		}
	}
	eng := engine.New(engine.Config{Store: st, DRS: sim, Workflow: &workflow{}, Clock: clock})
	clock.Advance(2 * time.Minute)                 // jobs are running
	if _, err := eng.PollActive(ctx); err != nil { // first cycle writes the STARTED state of every job
		b.Fatal(err)
	}
	sim.ResetCalls()
	before := sim.CallCounts()
	b.ResetTimer()
	for b.Loop() {
		clock.Advance(10 * time.Second)
		res, err := eng.PollActive(ctx)
		if err != nil || res.ExecutionsPolled != executions {
			b.Fatalf("%v %+v", err, res)
		}
	}
	b.StopTimer()
	after := sim.CallCounts()
	cycles := float64(b.N)
	b.ReportMetric(float64(after[drssim.APIDescribeJobs]-before[drssim.APIDescribeJobs])/cycles, "DescribeJobs/cycle")
	b.ReportMetric(float64(after[drssim.APIDescribeJobLogItems]-before[drssim.APIDescribeJobLogItems])/cycles, "DescribeJobLogItems/cycle")
	var total int
	for api, c := range after {
		total += c - before[api]
	}
	b.ReportMetric(float64(total)/cycles, "DRScalls/cycle")
	b.ReportMetric(float64(executions*wavesPer), "jobs")
}
