package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
)

func completedDrill(t *testing.T, h *harness) string {
	t.Helper()
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	if x := h.until(id, time.Minute, 3*time.Hour, terminal); x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
	return id
}

func TestTerminateDrillInstances(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	if _, err := h.eng.Terminate(h.ctx, id, false); !drsorch.IsCode(err, drsorch.CodeInvalidState) {
		t.Fatalf("terminate of a running execution: %v", err)
	}
	h.until(id, time.Minute, 3*time.Hour, terminal)
	st, err := h.eng.TerminationStatus(h.ctx, id, nil, "")
	if err != nil || len(st.Jobs) != 0 || st.AllCompleted {
		t.Fatalf("status before terminate: %+v %v", st, err)
	}
	res, err := h.eng.Terminate(h.ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalFound != 12 || res.TotalTerminated != 12 || len(res.Jobs) != 1 || res.Message != "Initiated termination of 12 recovery instances via DRS" {
		t.Fatalf("terminate %+v", res)
	}
	st, err = h.eng.TerminationStatus(h.ctx, id, nil, "")
	if err != nil || st.AllCompleted || st.TotalServers != 12 {
		t.Fatalf("in progress: %+v %v", st, err)
	}
	h.clock.Advance(5 * time.Minute)
	st, err = h.eng.TerminationStatus(h.ctx, id, nil, "")
	if err != nil || !st.AllCompleted || st.ProgressPercent != 100 || st.CompletedServers != 12 {
		t.Fatalf("done: %+v %v", st, err)
	}
	x := h.get(id)
	if !x.InstancesTerminated || x.InstancesTerminatedAt == 0 {
		t.Fatal("instancesTerminated not recorded")
	}
	if n := len(h.sim.Instances(drsorch.Target{Region: "us-east-1"})); n != 0 {
		t.Fatalf("%d instances left", n)
	}
	if _, err := h.eng.Terminate(h.ctx, id, false); !drsorch.IsCode(err, drsorch.CodeInvalidState) {
		t.Fatalf("second terminate: %v", err)
	}
	if _, err := h.eng.TerminationStatus(h.ctx, id, []string{"bogus"}, ""); !drsorch.IsCode(err, drsorch.CodeInvalidParameter) {
		t.Fatalf("bad job ids: %v", err)
	}
}

func TestTerminateRecoveryNeedsForce(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("rc", 250, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	id := h.start("p", drsorch.Recovery)
	h.until(id, time.Minute, 3*time.Hour, terminal)
	_, err := h.eng.Terminate(h.ctx, id, false)
	if e := drsorch.AsError(err); e.Code != drsorch.CodeInvalidState || !strings.Contains(e.Message, `"force": true`) {
		t.Fatalf("%v", err)
	}
	res, err := h.eng.Terminate(h.ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalTerminated != 250 || len(res.Jobs) != 2 {
		t.Fatalf("250 instances must take two TERMINATE calls (≤200 each): %+v", res.Jobs)
	}
}

func TestQueries(t *testing.T) {
	h := newHarness(t)
	id := completedDrill(t, h)
	vw, err := h.eng.Get(h.ctx, "arn:aws:states:us-east-1:123456789012:execution:sm:"+id)
	if err != nil {
		t.Fatal(err)
	}
	if vw.DataSource != "cached" || vw.RecoveryPlanName != "plan" || vw.TotalWaves != 3 || !vw.TerminationMetadata.CanTerminate {
		t.Fatalf("details %+v", vw)
	}
	b, _ := json.Marshal(vw)
	for _, secret := range []string{"taskToken", "pausedStateSnapshot", "externalId", "callbackNonce"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("details contain %s", secret)
		}
	}
	if _, err := h.eng.Get(h.ctx, "missing"); drsorch.AsError(err).Message != "Execution with ID missing not found" {
		t.Fatalf("missing: %v", err)
	}
	logs, err := h.eng.JobLogs(h.ctx, id, "")
	if err != nil || len(logs.JobLogs) != 3 {
		t.Fatalf("job logs %+v %v", logs, err)
	}
	ev := logs.JobLogs[0].Events
	if len(ev) == 0 || ev[0].Event != drsorch.EventJobEnd || ev[len(ev)-1].Event != drsorch.EventJobStart {
		t.Fatalf("events not newest first: %+v", ev)
	}
	inst, err := h.eng.RecoveryInstances(h.ctx, id)
	if err != nil || inst.TotalInstances != 12 || inst.Message != "Found 12 recovery instances" || inst.Instances[0].WaveName == "" {
		t.Fatalf("instances %+v %v", inst, err)
	}
	// A second drill, then list newest first.
	h.clock.Advance(time.Hour)
	id2 := h.start("plan", drsorch.Drill)
	list, err := h.eng.List(h.ctx, engine.ListQuery{Limit: 1})
	if err != nil || list.Count != 1 || list.Items[0].ExecutionID != id2 || list.NextToken == nil || !list.Items[0].HasActiveDrsJobs {
		t.Fatalf("list %+v %v", list, err)
	}
	list, err = h.eng.List(h.ctx, engine.ListQuery{Limit: 1, NextToken: *list.NextToken})
	if err != nil || list.Items[0].ExecutionID != id || list.NextToken != nil {
		t.Fatalf("page 2 %+v %v", list, err)
	}
	// Delete: the running one is skipped, the ended one goes, unknown ids are reported.
	del, err := h.eng.Delete(h.ctx, []string{id, id2, "nope"})
	if err != nil || del.DeletedCount != 1 || del.ActiveSkipped != 1 || del.NotFound != 1 || del.Warning != "1 active execution(s) skipped" {
		t.Fatalf("delete %+v %v", del, err)
	}
	if _, err := h.eng.Delete(h.ctx, nil); !drsorch.IsCode(err, drsorch.CodeMissingParameter) {
		t.Fatalf("delete without ids: %v", err)
	}
	if c, _ := h.eng.Cancel(h.ctx, id2, ""); c.Status != drsorch.ExecutionCancelling {
		t.Fatalf("cancel during a wave: %+v", c)
	}
	// A CANCELLED record (as the replaced system wrote them) whose DRS job still runs is kept.
	job := h.get(id2).Waves[0].JobID
	legacy := &drsorch.Execution{ExecutionID: "legacy-cancelled", PlanID: "other", Status: drsorch.ExecutionCancelled,
		Waves: []drsorch.ExecutionWave{{WaveNumber: 0, Status: drsorch.WaveCancelled, JobID: job, Region: "us-east-1"}}}
	if err := h.store.CreateExecution(h.ctx, legacy); err != nil {
		t.Fatal(err)
	}
	dc, err := h.eng.DeleteCompleted(h.ctx)
	if err != nil || dc.TotalScanned != 2 || dc.CompletedFound != 1 || dc.DeletedCount != 0 || dc.SkippedWithActiveJobs != 1 || dc.ActivePreserved != 1 {
		t.Fatalf("delete completed while the cancelled execution's job runs: %+v %v", dc, err)
	}
	h.until(id2, time.Minute, time.Hour, terminal)
	dc, err = h.eng.DeleteCompleted(h.ctx)
	if err != nil || dc.DeletedCount != 2 {
		t.Fatalf("delete completed after the job ended: %+v %v", dc, err)
	}
}
