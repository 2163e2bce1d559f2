package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
)

// TestExecutionsShareQuotasInWaveOrder runs three executions in one account
// and region that together need more than DRS's quotas (500 servers in active
// jobs, 20 jobs): the engine never asks DRS for more than the quotas allow,
// and capacity goes to the oldest execution first, then to the next: a younger
// execution gets a job in a poll only when no older one has servers waiting.
func TestExecutionsShareQuotasInWaveOrder(t *testing.T) {
	h := newHarness(t)
	plans := []struct {
		name  string
		waves []int // servers per wave
	}{
		{"a", []int{150, 300}},
		{"b", []int{150, 300}},
		{"c", []int{150, 300}},
	}
	var ids []string
	for _, p := range plans {
		var waves []drsorch.PlanWave
		for w, n := range p.waves {
			g := fmt.Sprintf("%s-%d", p.name, w)
			h.group(g, h.servers(fmt.Sprintf("f%s%d", p.name, w), n, nil), nil)
			waves = append(waves, drsorch.PlanWave{ProtectionGroupID: g})
		}
		h.plan(p.name, waves...)
		ids = append(ids, h.start(p.name, drsorch.Drill))
		h.clock.Advance(time.Second) // start times order the executions
	}
	// A start is refused when DRS is saturated (429), so the first waves fit
	// together; the second waves (900 servers) then compete for 500 places.
	for i, id := range ids {
		if n := jobs(h.get(id)); n != 2 {
			t.Fatalf("after the starts: execution %c has %d jobs, want 2", 'a'+i, n)
		}
	}
	competed := 0

	before := map[string]int{}
	for _, id := range ids {
		before[id] = jobs(h.get(id))
	}
	for cycle := 0; ; cycle++ {
		if cycle > 1000 {
			t.Fatal("the executions did not end")
		}
		h.poll(time.Minute)
		checkQuotas(t, h.sim)
		xs := make([]*drsorch.Execution, len(ids))
		ended := 0
		for i, id := range ids {
			xs[i] = h.get(id)
			if xs[i].Status.Terminal() {
				ended++
			}
		}
		for i, y := range xs {
			if jobs(y) == before[y.ExecutionID] {
				continue
			}
			for _, older := range xs[:i] {
				if queued(older) == 0 && older.Status.Canonical() == drsorch.ExecutionRunning {
					competed++
				}
				if n := queued(older); n > 0 {
					t.Fatalf("poll %d: execution %c got a job while the older %c had %d servers waiting",
						cycle, 'a'+i, 'a'+indexOf(ids, older.ExecutionID), n)
				}
			}
		}
		for _, x := range xs {
			before[x.ExecutionID] = jobs(x)
		}
		if ended == len(ids) {
			break
		}
	}
	for i, id := range ids {
		if x := h.get(id); x.Status != drsorch.ExecutionCompleted {
			t.Errorf("execution %c: %s", 'a'+i, x.Status)
		}
	}
	if competed == 0 {
		t.Error("no younger execution ever got a job while an older one ran: the test shows nothing")
	}
	if n := h.sim.ErrorCounts()[drssim.ServiceQuotaExceededException]; n != 0 {
		t.Errorf("DRS refused %d StartRecovery calls for quota: the engine asked beyond it", n)
	}
	launched := map[string]int{}
	for _, j := range h.sim.Jobs(drsorch.Target{Region: "us-east-1"}) {
		for _, p := range j.ParticipatingServers {
			launched[p.SourceServerID]++
		}
	}
	for s, n := range launched {
		if n != 1 {
			t.Errorf("server %s launched %d times", s, n)
		}
	}
}

// jobs counts the DRS jobs of an execution, submitted or being submitted.
func jobs(x *drsorch.Execution) int {
	n := 0
	for _, w := range x.Waves {
		n += len(w.Jobs)
	}
	return n
}

// queued counts the servers of an execution's running waves that wait for a job.
func queued(x *drsorch.Execution) int {
	n := 0
	for _, w := range x.Waves {
		if !w.Status.InFlight() {
			continue
		}
		busy := map[string]bool{}
		for _, j := range w.Jobs {
			for _, id := range j.ServerIDs {
				busy[id] = true
			}
		}
		for _, s := range w.ServerStatuses {
			if s.LaunchStatus == drsorch.LaunchPending && !busy[s.SourceServerID] {
				n++
			}
		}
	}
	return n
}

// checkQuotas fails when DRS runs more jobs or servers than its quotas allow.
func checkQuotas(t *testing.T, sim *drssim.Sim) {
	t.Helper()
	var active, servers int
	for _, j := range sim.Jobs(drsorch.Target{Region: "us-east-1"}) {
		if j.Status.Active() {
			active++
			servers += len(j.ParticipatingServers)
		}
	}
	if active > drsorch.MaxConcurrentJobs || servers > drsorch.MaxServersInActiveJobs {
		t.Fatalf("%d active jobs with %d servers", active, servers)
	}
}

func indexOf(ids []string, id string) int {
	for i, v := range ids {
		if v == id {
			return i
		}
	}
	return -1
}
