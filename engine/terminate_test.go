package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
)

// crashAfterFirstTerminate plays a process that dies after its first
// TerminateRecoveryInstances reached DRS: every answer is lost, and no later
// call of the terminate reaches DRS.
type crashAfterFirstTerminate struct {
	*drssim.Sim
	calls atomic.Int64
}

func (c *crashAfterFirstTerminate) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, ids []string) (drsorch.Job, error) {
	if c.calls.Add(1) == 1 {
		c.Sim.TerminateRecoveryInstances(ctx, t, ids)
	}
	return drsorch.Job{}, drsorch.Errorf(drsorch.CodeDRS, "connection reset")
}

// terminated counts, per recovery instance, the TERMINATE jobs DRS ran for it.
func terminated(h *harness) map[string]int {
	out := map[string]int{}
	for _, j := range h.sim.Jobs(drsorch.Target{Region: "us-east-1"}) {
		if j.Type == drsorch.JobTerminate {
			for _, p := range j.ParticipatingServers {
				out[p.RecoveryInstanceID]++
			}
		}
	}
	return out
}

func bigDrill(t *testing.T, h *harness, n int) string {
	t.Helper()
	ids := h.servers("tm", n, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	id := h.start("p", drsorch.Drill)
	if x := h.until(id, time.Minute, 3*time.Hour, terminal); x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
	return id
}

// 250 instances are terminated in two calls; the process dies after the
// first reached DRS. The first job is adopted, the second intent dropped, and
// the execution is not reported terminated until a second terminate did the rest.
func TestTerminateLostAfterTheFirstBatch(t *testing.T) {
	h := newHarness(t)
	id := bigDrill(t, h, 250)
	crash := &crashAfterFirstTerminate{Sim: h.sim}
	cfg := h.eng.Config()
	cfg.DRS = crash
	dying := engine.New(cfg)
	if _, err := dying.Terminate(h.ctx, id, false); err != nil {
		t.Fatal(err)
	}
	if x := h.get(id); len(x.TerminateJobs) != 2 {
		t.Fatalf("intents %+v", x.TerminateJobs)
	}
	h.clock.Advance(5 * time.Minute) // past SubmitGrace; the first TERMINATE job ended
	st, err := h.eng.TerminationStatus(h.ctx, id, nil, "")
	if err != nil || len(st.Jobs) != 1 || !st.AllCompleted {
		t.Fatalf("status after the restart: %+v %v", st, err)
	}
	x := h.get(id)
	if x.InstancesTerminated || !hasEvent(x, "terminate_recovered") || !hasEvent(x, "terminate_lost") {
		t.Fatalf("terminated=%v after one batch of two", x.InstancesTerminated)
	}
	res, err := h.eng.Terminate(h.ctx, id, false)
	if err != nil || res.TotalTerminated != 50 {
		t.Fatalf("terminate the rest: %+v %v", res, err)
	}
	h.clock.Advance(5 * time.Minute)
	if st, err = h.eng.TerminationStatus(h.ctx, id, nil, ""); err != nil || !st.AllCompleted || !h.get(id).InstancesTerminated {
		t.Fatalf("status at the end: %+v %v", st, err)
	}
	n := terminated(h)
	if len(n) != 250 {
		t.Fatalf("%d instances terminated, want 250", len(n))
	}
	for ri, c := range n {
		if c != 1 {
			t.Errorf("instance %s in %d TERMINATE jobs", ri, c)
		}
	}
}

// A TERMINATE job of other instances of the same source servers (an earlier
// drill's) is not taken for the lost call.
func TestLostTerminateIsMatchedByInstance(t *testing.T) {
	h := newHarness(t)
	id := bigDrill(t, h, 3)
	cfg := h.eng.Config()
	cfg.DRS = &lossyTerminate{Sim: h.sim, reach: false}
	lossy := engine.New(cfg)
	if res, err := lossy.Terminate(h.ctx, id, false); err != nil || res.TotalFailed != 3 {
		t.Fatalf("lost terminate: %+v %v", res, err)
	}
	var other []drsorch.ParticipatingServer
	for _, w := range h.get(id).Waves {
		for _, s := range w.ServerStatuses {
			other = append(other, drsorch.ParticipatingServer{SourceServerID: s.SourceServerID, LaunchStatus: drsorch.LaunchTerminated,
				RecoveryInstanceID: "i-0123456789abcdef0"})
		}
	}
	if err := h.sim.Load(drssim.Fixture{Jobs: []drssim.FixtureJob{{Job: drsorch.Job{JobID: "drsjob-0000000000earlier", Type: drsorch.JobTerminate,
		Status: drsorch.JobCompleted, ParticipatingServers: other}}}}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(3 * time.Minute)
	res, err := h.eng.Terminate(h.ctx, id, false)
	if err != nil || res.TotalTerminated != 3 {
		t.Fatalf("terminate after the lost call: %+v %v", res, err)
	}
	if x := h.get(id); hasEvent(x, "terminate_recovered") || !hasEvent(x, "terminate_lost") {
		t.Fatal("the earlier drill's TERMINATE job was taken for the lost call")
	}
}

// Terminates racing on one execution call DRS once per instance.
func TestConcurrentTerminatesCallDRSOnce(t *testing.T) {
	h := newHarness(t)
	id := bigDrill(t, h, 12)
	// Every terminate reads the execution before any records its intent.
	hs := &hookStore{Store: h.store}
	cfg := h.eng.Config()
	cfg.Store = hs
	first := engine.New(cfg)
	var second *engine.TerminateResult
	hs.hook = func() {
		var err error
		if second, err = h.eng.Terminate(h.ctx, id, false); err != nil {
			t.Errorf("second terminate: %v", err)
		}
	}
	res, err := first.Terminate(h.ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if second == nil || second.TotalTerminated != 12 || res.TotalTerminated != 0 || !res.AlreadyTerminated {
		t.Fatalf("first %+v, second %+v", res, second)
	}
	if calls := h.sim.CallCounts()[drssim.APITerminateRecoveryInstances]; calls != 1 {
		t.Fatalf("%d TerminateRecoveryInstances calls", calls)
	}
}
