package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
)

// sleeps records the engine's backoff waits instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) option() option {
	return func(cfg *engine.Config, _ *drssim.Options) {
		cfg.Sleep = func(_ context.Context, d time.Duration) {
			s.mu.Lock()
			s.d = append(s.d, d)
			s.mu.Unlock()
		}
	}
}

func (s *sleeps) take() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.d
	s.d = nil
	return d
}

func hasEvent(x *drsorch.Execution, typ string) bool {
	return slices.ContainsFunc(x.Timeline, func(ev drsorch.TimelineEvent) bool { return ev.Type == typ })
}

func TestThrottlingBacksOff(t *testing.T) {
	backoff := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}
	tests := []struct {
		name      string
		api       string
		times     int
		submitted bool // the job is submitted by the start itself
		calls     int  // calls of api by the first poll (and the start, for StartRecovery)
	}{
		{"StartRecovery throttled three times succeeds on the fourth try", drssim.APIStartRecovery, 3, true, 4},
		{"StartRecovery throttled four times waits for the next poll", drssim.APIStartRecovery, 4, false, 5},
		{"DescribeJobs throttled three times answers the same poll", drssim.APIDescribeJobs, 3, true, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sleeps
			h := newHarness(t, s.option())
			ids := h.servers("tb", 5, nil)
			h.group("g", ids, nil)
			h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
			fault := func() {
				if err := h.sim.AddFault(drssim.Fault{API: tt.api, Error: drssim.ThrottlingException, Times: tt.times}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.api == drssim.APIStartRecovery {
				fault()
			}
			id := h.start("p", drsorch.Drill)
			if tt.api != drssim.APIStartRecovery { // the start reads DRS's jobs too (conflict check)
				h.sim.ResetCalls()
				fault()
			}
			x := h.get(id)
			if got := x.Waves[0].Jobs; (len(got) == 1) != tt.submitted {
				t.Fatalf("jobs after the start: %+v", got)
			}
			if !tt.submitted && !hasEvent(x, "job_throttled") {
				t.Fatal("no job_throttled event")
			}
			h.poll(30 * time.Second)
			x = h.get(id)
			if len(x.Waves[0].Jobs) != 1 || x.Waves[0].Jobs[0].JobID == "" {
				t.Fatalf("jobs after a poll: %+v", x.Waves[0].Jobs)
			}
			if got := s.take(); !slices.Equal(got, backoff) {
				t.Fatalf("backoff %v, want %v", got, backoff)
			}
			if got := h.sim.CallCounts()[tt.api]; got != tt.calls {
				t.Fatalf("%d %s calls, want %d", got, tt.api, tt.calls)
			}
			if x = h.until(id, 30*time.Second, time.Hour, terminal); x.Status != drsorch.ExecutionCompleted {
				t.Fatalf("status %s", x.Status)
			}
		})
	}
}

func TestDRSErrorsChangeNothing(t *testing.T) {
	tests := []struct {
		api, error string
	}{
		{drssim.APIDescribeJobs, drssim.InternalServerException},
		{drssim.APIDescribeJobs, drssim.ThrottlingException}, // past the retries
		{drssim.APIDescribeJobs, drssim.AccessDeniedException},
		{drssim.APIDescribeJobLogItems, drssim.InternalServerException},
		{drssim.APIDescribeRecoveryInstances, drssim.InternalServerException},
	}
	for _, tt := range tests {
		t.Run(tt.api+" "+tt.error, func(t *testing.T) {
			h := newHarness(t)
			ids := h.servers("ie", 5, nil)
			h.group("g", ids, nil)
			h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"}, drsorch.PlanWave{ProtectionGroupID: "g"})
			id := h.start("p", drsorch.Drill)
			// DRS fails for an hour of polls, long after the job ended (and
			// longer than JobMissingGrace): nothing is decided on missing answers.
			if err := h.sim.AddFault(drssim.Fault{API: tt.api, Error: tt.error, Times: 1000}); err != nil {
				t.Fatal(err)
			}
			before := h.get(id)
			for range 60 {
				h.poll(time.Minute)
			}
			x := h.get(id)
			switch tt.api {
			case drssim.APIDescribeJobs:
				if x.Waves[0].Status != before.Waves[0].Status || x.Waves[0].Jobs[0].Status != before.Waves[0].Jobs[0].Status ||
					x.Waves[0].ServerStatuses[0].LaunchStatus != before.Waves[0].ServerStatuses[0].LaunchStatus {
					t.Fatalf("wave %s job %s moved without an answer from DRS", x.Waves[0].Status, x.Waves[0].Jobs[0].Status)
				}
			case drssim.APIDescribeRecoveryInstances:
				// EC2 details are missing, but the drill does not wait for them.
				if s := x.Waves[0].ServerStatuses[0]; s.LaunchStatus != drsorch.LaunchLaunched || s.InstanceState != "" {
					t.Fatalf("server %+v", s)
				}
			}
			h.sim.ClearFaults()
			if x = h.until(id, time.Minute, 2*time.Hour, terminal); x.Status != drsorch.ExecutionCompleted {
				t.Fatalf("status %s after the faults: %s", x.Status, x.OutcomeSummary)
			}
		})
	}
}

func TestWaveThatCannotFinishTimesOut(t *testing.T) {
	const timeout = 1800 // the plan wave's timeoutSeconds
	tests := []struct {
		name, api, error string
		jobInFlight      bool // the wave's job was submitted and is running at the timeout
	}{
		{"quota refused for ever", drssim.APIStartRecovery, drssim.ServiceQuotaExceededException, false},
		{"DescribeJobs fails for ever", drssim.APIDescribeJobs, drssim.InternalServerException, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			ids := h.servers("to", 150, nil)
			h.group("g", ids, nil)
			h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g", TimeoutSeconds: timeout}, drsorch.PlanWave{ProtectionGroupID: "g"})
			fault := func() {
				if err := h.sim.AddFault(drssim.Fault{API: tt.api, Error: tt.error, Times: 100000}); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.jobInFlight {
				fault()
			}
			id := h.start("p", drsorch.Drill)
			if tt.jobInFlight { // the start itself needs DescribeJobs (conflict check)
				fault()
			}
			start := h.get(id).Waves[0].StartTime
			cycles := 0
			x := h.until(id, 30*time.Second, 3*time.Hour, func(x *drsorch.Execution) bool {
				cycles++
				return x.Status.Terminal()
			})
			w := x.Waves[0]
			if x.Status != drsorch.ExecutionTimeout || w.Status != drsorch.WaveTimeout || x.Waves[1].Status != drsorch.WaveCancelled {
				t.Fatalf("status %s, waves %v", x.Status, waveStatuses(x))
			}
			if took := w.EndTime - start; took < timeout || took > timeout+30 {
				t.Fatalf("the wave ended %ds after it started, its timeout is %ds", took, timeout)
			}
			// No error loop: at most one StartRecovery per job and poll cycle.
			calls := h.sim.CallCounts()[drssim.APIStartRecovery]
			if tt.jobInFlight {
				if calls != 2 || len(w.Jobs) != 2 || w.Jobs[0].Status != drsorch.JobPending {
					t.Fatalf("%d StartRecovery calls, jobs %+v", calls, w.Jobs)
				}
			} else if calls > 2*cycles || !hasEvent(x, "job_queued") {
				t.Fatalf("%d StartRecovery calls in %d poll cycles", calls, cycles)
			}
			for _, s := range w.ServerStatuses {
				if s.LaunchStatus == drsorch.LaunchFailed {
					t.Fatalf("server %s failed instead of waiting: %s", s.SourceServerID, s.Error)
				}
			}
			checkTimeline(t, x)
			if !tt.jobInFlight {
				return
			}
			// The timed-out wave's jobs ran on; once DRS answers again,
			// terminate learns their end and terminates what they launched.
			if res, err := h.eng.Terminate(h.ctx, id, false); err != nil || !res.NoInstancesFound || h.get(id).InstancesTerminated {
				t.Fatalf("terminate while DRS does not answer: %+v %v", res, err)
			}
			h.sim.ClearFaults()
			res, err := h.eng.Terminate(h.ctx, id, false)
			if err != nil || res.TotalTerminated != 150 {
				t.Fatalf("terminate after the timeout: %+v %v", res, err)
			}
		})
	}
}
