package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/mock"
)

func TestStartValidation(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("va", 2, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	if err := h.store.CreatePlan(h.ctx, &drsorch.RecoveryPlan{PlanID: "empty", PlanName: "Empty plan"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		req     engine.StartRequest
		code    string
		message string
		details map[string]any
	}{
		{"planId first", engine.StartRequest{}, "MISSING_PARAMETER", "planId is required - specify which Recovery Plan to execute", map[string]any{"parameter": "planId"}},
		{"executionType second", engine.StartRequest{PlanID: "nope"}, "MISSING_PARAMETER", "executionType is required - must be DRILL or RECOVERY", map[string]any{"parameter": "executionType"}},
		{"initiatedBy third", engine.StartRequest{PlanID: "nope", ExecutionType: "bogus"}, "MISSING_PARAMETER", "initiatedBy is required - identify who/what started this execution", nil},
		{"type value", engine.StartRequest{PlanID: "nope", ExecutionType: "bogus", InitiatedBy: "me"}, "INVALID_PARAMETER", "executionType must be DRILL or RECOVERY, got: bogus", map[string]any{"providedValue": "bogus"}},
		{"plan exists", engine.StartRequest{PlanID: "nope", ExecutionType: "drill", InitiatedBy: "me"}, "NOT_FOUND", "Recovery Plan with ID nope not found", map[string]any{"planId": "nope"}},
		{"plan has waves", engine.StartRequest{PlanID: "empty", ExecutionType: "DRILL", InitiatedBy: "me"}, "INVALID_STATE", `Recovery Plan "Empty plan" has no waves configured - add at least one wave before executing`, map[string]any{"planName": "Empty plan"}},
		{"recovery point", engine.StartRequest{PlanID: "p", ExecutionType: "DRILL", InitiatedBy: "me", RecoveryPoint: &drsorch.RecoveryPoint{PointInTime: "yesterday"}}, "INVALID_PARAMETER", `recoveryPoint.pointInTime must be an RFC 3339 time, got "yesterday"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.eng.StartExecution(h.ctx, tt.req)
			e := drsorch.AsError(err)
			if e.Code != tt.code || e.Message != tt.message {
				t.Fatalf("got %s %q", e.Code, e.Message)
			}
			for k, v := range tt.details {
				if fmt.Sprint(e.Details[k]) != fmt.Sprint(v) {
					t.Errorf("details[%s] = %v, want %v", k, e.Details[k], v)
				}
			}
		})
	}
	page, _ := h.store.ListExecutions(h.ctx, drsorch.ExecutionQuery{})
	if len(page.Items) != 0 {
		t.Fatalf("a refused start left %d records", len(page.Items))
	}
}

func TestStartConflicts(t *testing.T) {
	h := newHarness(t)
	shared := h.servers("sh", 2, nil)
	own := h.servers("ow", 2, nil)
	h.group("g1", shared, nil)
	h.group("g2", append(append([]string{}, shared...), own...), nil)
	h.plan("p1", drsorch.PlanWave{ProtectionGroupID: "g1"})
	h.plan("p2", drsorch.PlanWave{ProtectionGroupID: "g2"})
	first := h.start("p1", drsorch.Drill)

	t.Run("servers in an active execution", func(t *testing.T) {
		_, err := h.eng.StartExecution(h.ctx, engine.StartRequest{PlanID: "p2", ExecutionType: "DRILL", InitiatedBy: "me"})
		e := drsorch.AsError(err)
		if e.Code != drsorch.CodeAlreadyExists || e.Message != "2 server(s) are already in active executions" {
			t.Fatalf("%s %q", e.Code, e.Message)
		}
		ce := e.Details["conflictingExecutions"].([]map[string]any)
		if len(ce) != 1 || ce[0]["executionId"] != first {
			t.Fatalf("conflictingExecutions %v", ce)
		}
	})
	t.Run("same plan already running", func(t *testing.T) {
		h.store.CreateGroup(h.ctx, &drsorch.ProtectionGroup{GroupID: "g3", GroupName: "g3", Region: "us-east-1", SourceServerIDs: own})
		_, err := h.eng.StartExecution(h.ctx, engine.StartRequest{PlanID: "p1", ExecutionType: "DRILL", InitiatedBy: "me"})
		if !drsorch.IsCode(err, drsorch.CodeAlreadyExists) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("servers in an active DRS job", func(t *testing.T) {
		h2 := newHarness(t)
		ids := h2.servers("dj", 3, nil)
		h2.group("g", ids, nil)
		h2.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
		if _, err := h2.sim.StartRecovery(h2.ctx, drsorch.Target{Region: "us-east-1"}, drsorch.StartRecoveryInput{
			SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: ids[1]}}}); err != nil {
			t.Fatal(err)
		}
		_, err := h2.eng.StartExecution(h2.ctx, engine.StartRequest{PlanID: "p", ExecutionType: "DRILL", InitiatedBy: "me"})
		e := drsorch.AsError(err)
		if e.Code != drsorch.CodeAlreadyExists || e.Message != "1 server(s) are being processed by active DRS jobs" {
			t.Fatalf("%s %q", e.Code, e.Message)
		}
		c := e.Details["conflicts"].([]map[string]any)
		if c[0]["serverId"] != ids[1] || c[0]["conflictSource"] != "drs_job" {
			t.Fatalf("conflicts %v", c)
		}
	})
}

func TestStartRefusedWhenDRSIsSaturated(t *testing.T) {
	h := newHarness(t)
	busy := h.servers("bz", 20, nil)
	for _, s := range busy {
		if _, err := h.sim.StartRecovery(h.ctx, drsorch.Target{Region: "us-east-1"}, drsorch.StartRecoveryInput{
			SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: s}}}); err != nil {
			t.Fatal(err)
		}
	}
	ids := h.servers("fr", 2, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	_, err := h.eng.StartExecution(h.ctx, engine.StartRequest{PlanID: "p", ExecutionType: "DRILL", InitiatedBy: "me"})
	e := drsorch.AsError(err)
	if e.Code != drsorch.CodeDRSQuota || e.RetryAfter != 60 || e.Message != "DRS concurrent job limit reached (20/20)" {
		t.Fatalf("%s %d %q", e.Code, e.RetryAfter, e.Message)
	}
	// When those jobs end the start goes through.
	h.clock.Advance(time.Hour)
	if _, err := h.eng.StartExecution(h.ctx, engine.StartRequest{PlanID: "p", ExecutionType: "DRILL", InitiatedBy: "me"}); err != nil {
		t.Fatal(err)
	}
}

func TestStartRefusesUnhealthyReplication(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("uh", 3, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	bad := drsorch.SourceServer{SourceServerID: ids[2], Hostname: "uh2", ReplicationState: "STALLED", LifecycleState: "READY_FOR_RECOVERY"}
	if err := h.sim.AddSourceServers(bad); err != nil {
		t.Fatal(err)
	}
	_, err := h.eng.StartExecution(h.ctx, engine.StartRequest{PlanID: "p", ExecutionType: "DRILL", InitiatedBy: "me"})
	e := drsorch.AsError(err)
	if e.Code != drsorch.CodeInvalidState || e.Message != "1 server(s) have unhealthy replication state" || e.Details["healthyCount"] != 2 {
		t.Fatalf("%s %q %v", e.Code, e.Message, e.Details)
	}
	u := e.Details["unhealthyServers"].([]map[string]any)[0]
	if u["serverId"] != ids[2] || u["reason"] != "Replication: STALLED, Lifecycle: READY_FOR_RECOVERY" {
		t.Fatalf("unhealthy %v", u)
	}
}

func TestStartRecordsCallerAndDispatches(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("cl", 1, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	var dispatched []string
	d := &mock.Dispatcher{DispatchFn: func(_ context.Context, x *drsorch.Execution) error {
		dispatched = append(dispatched, x.ExecutionID)
		return nil
	}}
	cfg := h.eng.Config()
	cfg.Dispatcher = d
	eng := engine.New(cfg)
	ctx := drsorch.WithCaller(h.ctx, drsorch.Caller{Email: "alice@example.com", Groups: []string{"DRSOperator"}})
	res, err := eng.StartExecution(ctx, engine.StartRequest{PlanID: "p", ExecutionType: "drill", InitiatedBy: "someone else"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != drsorch.ExecutionPending || res.StatusURL != "/executions/"+res.ExecutionID ||
		res.Message != "Execution started - check status with GET /executions/{id}" {
		t.Fatalf("result %+v", res)
	}
	x := h.get(res.ExecutionID)
	if x.Status != drsorch.ExecutionPending || x.InitiatedBy != "alice@example.com" || x.Timeline[0].Actor != "alice@example.com" {
		t.Fatalf("record %s %q %+v", x.Status, x.InitiatedBy, x.Timeline)
	}
	if len(dispatched) != 1 || dispatched[0] != res.ExecutionID {
		t.Fatalf("dispatched %v", dispatched)
	}
	// A failing dispatcher fails the execution and says so.
	cfg.Dispatcher = &mock.Dispatcher{DispatchFn: func(context.Context, *drsorch.Execution) error { return errors.New("invoke refused") }}
	h.clock.Advance(time.Hour)
	h.eng.Cancel(h.ctx, res.ExecutionID, "")
	_, err = engine.New(cfg).StartExecution(h.ctx, engine.StartRequest{PlanID: "p", ExecutionType: "DRILL", InitiatedBy: "me"})
	e := drsorch.AsError(err)
	if e.Code != drsorch.CodeInternal || !strings.HasPrefix(e.Message, "Failed to start execution worker: ") {
		t.Fatalf("%s %q", e.Code, e.Message)
	}
	failed := h.get(e.Details["executionId"].(string))
	if failed.Status != drsorch.ExecutionFailed || !strings.HasPrefix(failed.ErrorMessage, "Failed to start worker: ") {
		t.Fatalf("%s %q", failed.Status, failed.ErrorMessage)
	}
}
