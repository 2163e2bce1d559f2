package runner_test

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
	"github.com/drsorch/drsorch/runner"
	"github.com/drsorch/drsorch/sqlite"
)

type env struct {
	t     *testing.T
	ctx   context.Context
	clock *drsorchtest.Clock
	sim   *drssim.Sim
	store *sqlite.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := drsorchtest.NewClock(time.Time{})
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{t: t, ctx: context.Background(), clock: clock, store: st,
		sim: drssim.New(drssim.Options{Clock: clock, Seed: 1, Timings: drssim.Timings{Jitter: -1}})}
}

// wire builds a runner and its engine the two-step way serve does.
func (v *env) wire(opts runner.Options) (*runner.Runner, *engine.Engine) {
	r := runner.New(nil, opts)
	e := engine.New(engine.Config{Store: v.store, DRS: v.sim, Workflow: r.Workflow(), Dispatcher: r, Clock: v.clock,
		Sleep: func(context.Context, time.Duration) {}})
	r.SetEngine(e)
	return r, e
}

// seed adds two waves of two servers each and a plan over them.
func (v *env) seed(e *engine.Engine) {
	v.t.Helper()
	for _, tier := range []string{"db", "web"} {
		var ids []string
		for j := 0; j < 2; j++ {
			id := fmt.Sprintf("s-%s%0*d", tier, 17-len(tier), j)
			ids = append(ids, id)
			if err := v.sim.AddSourceServers(drsorch.SourceServer{SourceServerID: id, Hostname: id,
				ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"}); err != nil {
				v.t.Fatal(err)
			}
		}
		g := &drsorch.ProtectionGroup{GroupID: "pg-" + tier, GroupName: tier, Region: "us-east-1", SourceServerIDs: ids}
		if _, err := e.SaveGroup(v.ctx, g, true); err != nil {
			v.t.Fatal(err)
		}
	}
	p := &drsorch.RecoveryPlan{PlanID: "plan", PlanName: "plan", Waves: []drsorch.PlanWave{
		{WaveNumber: 0, WaveName: "db", ProtectionGroupID: "pg-db"},
		{WaveNumber: 1, WaveName: "web", ProtectionGroupID: "pg-web"},
	}}
	if _, err := e.SavePlan(v.ctx, p, true); err != nil {
		v.t.Fatal(err)
	}
}

func (v *env) start(e *engine.Engine) string {
	v.t.Helper()
	res, err := e.StartExecution(v.ctx, engine.StartRequest{PlanID: "plan", ExecutionType: "DRILL", InitiatedBy: "test"})
	if err != nil {
		v.t.Fatal(err)
	}
	return res.ExecutionID
}

func (v *env) status(id string) drsorch.ExecutionStatus {
	v.t.Helper()
	x, err := v.store.GetExecution(v.ctx, id)
	if err != nil {
		v.t.Fatal(err)
	}
	return x.Status
}

func TestDispatchReturnsAtOnceAndRunOnceDrives(t *testing.T) {
	v := newEnv(t)
	r, e := v.wire(runner.Options{})
	v.seed(e)
	id := v.start(e)
	if s := v.status(id); s != drsorch.ExecutionPending {
		t.Fatalf("after start: %s, want PENDING (the start is the runner's job)", s)
	}
	if got := len(v.sim.Jobs(drsorch.Target{})); got != 0 {
		t.Fatalf("%d DRS jobs before the runner ran", got)
	}
	if err := r.RunOnce(v.ctx); err != nil {
		t.Fatal(err)
	}
	if s := v.status(id); s != drsorch.ExecutionRunning {
		t.Fatalf("after RunOnce: %s", s)
	}
	for i := 0; i < 200 && !v.status(id).Terminal(); i++ {
		v.clock.Advance(time.Minute)
		if err := r.RunOnce(v.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if s := v.status(id); s != drsorch.ExecutionCompleted {
		t.Fatalf("final status %s", s)
	}
	x, _ := v.store.GetExecution(v.ctx, id)
	if x.StateMachineArn != "" {
		t.Fatalf("a local execution got a workflow reference %q", x.StateMachineArn)
	}
}

// eventually waits (real time) for cond, advancing the fake clock meanwhile.
func (v *env) eventually(what string, cond func() bool) {
	v.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			v.t.Fatalf("timed out waiting for %s", what)
		}
		v.clock.Advance(30 * time.Second)
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStartPicksUpPendingAfterARestart(t *testing.T) {
	v := newEnv(t)
	// A first process records the start, then dies before its runner ran it.
	_, e1 := v.wire(runner.Options{})
	v.seed(e1)
	id := v.start(e1)

	r2, _ := v.wire(runner.Options{PollInterval: 5 * time.Millisecond})
	if err := r2.Start(v.ctx); err != nil {
		t.Fatal(err)
	}
	defer r2.Stop()
	if err := r2.Start(v.ctx); err != nil { // a second Start is a no-op
		t.Fatal(err)
	}
	v.eventually("the drill to complete", func() bool { return v.status(id).Terminal() })
	if s := v.status(id); s != drsorch.ExecutionCompleted {
		t.Fatalf("final status %s", s)
	}
	r2.Stop()
	r2.Stop() // idempotent
}

func TestRunningRunnerStartsDispatchedExecutions(t *testing.T) {
	v := newEnv(t)
	r, e := v.wire(runner.Options{PollInterval: time.Hour}) // only the dispatch path can start it
	v.seed(e)
	if err := r.Start(v.ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	id := v.start(e)
	deadline := time.Now().Add(10 * time.Second)
	for v.status(id) == drsorch.ExecutionPending {
		if time.Now().After(deadline) {
			t.Fatal("dispatched execution never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := v.status(id); s != drsorch.ExecutionRunning {
		t.Fatalf("status %s", s)
	}
}

func TestWorkflowHasNoTokensOrReferences(t *testing.T) {
	wf := runner.New(nil, runner.Options{}).Workflow()
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"task success", func() error { return wf.SendTaskSuccess(ctx, "tok", nil) }, drsorch.CodeTaskTokenGone},
		{"task failure", func() error { return wf.SendTaskFailure(ctx, "tok", "c", "x") }, drsorch.CodeTaskTokenGone},
		{"describe", func() error { _, err := wf.Describe(ctx, "ref"); return err }, drsorch.CodeNotFound},
		{"stop", func() error { return wf.Stop(ctx, "", "UserCancelled", "x") }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); drsorch.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want code %q", err, tc.code)
			}
		})
	}
	if ref, err := wf.Start(ctx, &drsorch.Execution{ExecutionID: "x"}); ref != "" || err != nil {
		t.Fatalf("Start = %q, %v", ref, err)
	}
	if err := runner.New(nil, runner.Options{}).RunOnce(ctx); err == nil {
		t.Fatal("RunOnce without an engine succeeded")
	}
}
