package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/sqlite"
)

// workflow is a recording Workflow: no real driver, the engine advances itself.
type workflow struct {
	mu       sync.Mutex
	started  []string
	success  []string
	failures []string
	stopped  []string
	gone     map[string]bool // tokens that no longer work
}

func (w *workflow) Start(_ context.Context, x *drsorch.Execution) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started = append(w.started, x.ExecutionID)
	return "arn:aws:states:us-east-1:123456789012:execution:sm:" + x.ExecutionID, nil
}

func (w *workflow) SendTaskSuccess(_ context.Context, token string, _ json.RawMessage) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone[token] {
		return &drsorch.Error{Code: drsorch.CodeTaskTokenGone, Message: "gone", Details: map[string]any{"awsError": "TaskTimedOut"}}
	}
	w.success = append(w.success, token)
	return nil
}

func (w *workflow) SendTaskFailure(_ context.Context, token, _, _ string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failures = append(w.failures, token)
	return nil
}

func (w *workflow) Stop(_ context.Context, ref, _, _ string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = append(w.stopped, ref)
	return nil
}

func (w *workflow) Describe(context.Context, string) (string, error) { return "RUNNING", nil }

type harness struct {
	t     *testing.T
	ctx   context.Context
	clock *drsorchtest.Clock
	sim   *drssim.Sim
	store drsorch.Store
	wf    *workflow
	eng   *engine.Engine
}

type option func(*engine.Config, *drssim.Options)

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	clock := drsorchtest.NewClock(time.Time{})
	so := drssim.Options{Clock: clock, Seed: 7, Timings: drssim.Timings{Jitter: -1}}
	cfg := engine.Config{Clock: clock, Sleep: func(context.Context, time.Duration) {}}
	for _, o := range opts {
		o(&cfg, &so)
	}
	sim := drssim.New(so)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	wf := &workflow{gone: map[string]bool{}}
	cfg.Store, cfg.DRS, cfg.Workflow = st, sim, wf
	return &harness{t: t, ctx: context.Background(), clock: clock, sim: sim, store: st, wf: wf, eng: engine.New(cfg)}
}

// servers adds n healthy source servers with the given tags and returns their ids.
func (h *harness) servers(prefix string, n int, tags map[string]string) []string {
	h.t.Helper()
	var ids []string
	var srvs []drsorch.SourceServer
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s-%s%0*d", prefix, 17-len(prefix), i)
		ids = append(ids, id)
		tg := map[string]string{"Name": fmt.Sprintf("%s-%d", prefix, i)}
		for k, v := range tags {
			tg[k] = v
		}
		srvs = append(srvs, drsorch.SourceServer{SourceServerID: id, Hostname: fmt.Sprintf("%s%d.example", prefix, i),
			Tags: tg, ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"})
	}
	if err := h.sim.AddSourceServers(srvs...); err != nil {
		h.t.Fatal(err)
	}
	return ids
}

func (h *harness) group(id string, ids []string, tags map[string]string) {
	h.t.Helper()
	g := &drsorch.ProtectionGroup{GroupID: id, GroupName: id, Region: "us-east-1", SourceServerIDs: ids, ServerSelectionTags: tags}
	if _, err := h.eng.SaveGroup(h.ctx, g, true); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) plan(id string, waves ...drsorch.PlanWave) {
	h.t.Helper()
	for i := range waves {
		waves[i].WaveNumber = i
		if waves[i].WaveName == "" {
			waves[i].WaveName = fmt.Sprintf("wave-%d", i)
		}
	}
	if _, err := h.eng.SavePlan(h.ctx, &drsorch.RecoveryPlan{PlanID: id, PlanName: id, Waves: waves}, true); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) start(plan string, typ drsorch.ExecutionType) string {
	h.t.Helper()
	res, err := h.eng.StartExecution(h.ctx, engine.StartRequest{PlanID: plan, ExecutionType: string(typ), InitiatedBy: "test"})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.ExecutionID
}

func (h *harness) get(id string) *drsorch.Execution {
	h.t.Helper()
	x, err := h.store.GetExecution(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return x
}

// poll advances the clock by step and polls once.
func (h *harness) poll(step time.Duration) {
	h.t.Helper()
	h.clock.Advance(step)
	if _, err := h.eng.PollActive(h.ctx); err != nil {
		h.t.Fatal(err)
	}
}

// until polls every step until cond holds or max simulated time passes.
func (h *harness) until(id string, step, max time.Duration, cond func(*drsorch.Execution) bool) *drsorch.Execution {
	h.t.Helper()
	for elapsed := time.Duration(0); elapsed <= max; elapsed += step {
		if x := h.get(id); cond(x) {
			return x
		}
		h.poll(step)
	}
	x := h.get(id)
	b, _ := json.MarshalIndent(x, "", " ")
	h.t.Fatalf("condition not reached after %s; execution:\n%s", max, b)
	return nil
}

func terminal(x *drsorch.Execution) bool { return x.Status.Terminal() }

func status(s drsorch.ExecutionStatus) func(*drsorch.Execution) bool {
	return func(x *drsorch.Execution) bool { return x.Status == s }
}

func waveStatuses(x *drsorch.Execution) []drsorch.WaveStatus {
	var out []drsorch.WaveStatus
	for _, w := range x.Waves {
		out = append(out, w.Status)
	}
	return out
}

// checkTimeline verifies every status change on the timeline is a legal transition
// and follows the previous one.
func checkTimeline(t *testing.T, x *drsorch.Execution) {
	t.Helper()
	prev := ""
	for _, ev := range x.Timeline {
		if ev.To == "" {
			continue
		}
		if ev.From == "" {
			prev = ev.To
			continue
		}
		if _, err := drsorch.CheckExecutionTransition(drsorch.ExecutionStatus(ev.From), drsorch.ExecutionStatus(ev.To)); err != nil {
			t.Errorf("illegal transition on timeline: %+v", ev)
		}
		if prev != "" && ev.From != prev {
			t.Errorf("timeline jumps from %s to an event starting at %s", prev, ev.From)
		}
		prev = ev.To
	}
}
