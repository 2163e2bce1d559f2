package engine_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
)

// hookStore runs a hook before the first UpdateExecution, so a test can slip a
// competing write in between another writer's read and its write.
type hookStore struct {
	drsorch.Store
	once sync.Once
	hook func()
}

func (s *hookStore) UpdateExecution(ctx context.Context, x *drsorch.Execution) error {
	s.once.Do(s.hook)
	return s.Store.UpdateExecution(ctx, x)
}

func TestRacingWritersLoseNothing(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	h.clock.Advance(30 * time.Minute) // wave 0 has ended in DRS
	// The poller reads the execution, then the operator's pause is written
	// before the poller's write: the poller must lose, re-read and keep the pause.
	hs := &hookStore{Store: h.store}
	cfg := h.eng.Config()
	cfg.Store = hs
	poller := engine.New(cfg)
	hs.hook = func() {
		if _, err := h.eng.Pause(h.ctx, id); err != nil {
			t.Errorf("pause: %v", err)
		}
	}
	before := h.get(id).Version
	if _, err := poller.PollActive(h.ctx); err != nil {
		t.Fatal(err)
	}
	x := h.get(id)
	if x.Status != drsorch.ExecutionPaused || x.Waves[0].Status != drsorch.WaveCompleted || x.Waves[1].Status != drsorch.WavePending {
		t.Fatalf("status %s waves %v: the pause or the poll was lost", x.Status, waveStatuses(x))
	}
	if x.Version < before+2 {
		t.Fatalf("version %d after two writes from %d", x.Version, before)
	}
	checkTimeline(t, x)
}

func TestConcurrentControlKeepsLegalTransitions(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	var wg sync.WaitGroup
	var ops atomic.Int64
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				switch (g + i) % 4 {
				case 0:
					h.eng.Pause(h.ctx, id)
				case 1:
					h.eng.Resume(h.ctx, id)
				case 2:
					h.eng.PollActive(h.ctx)
				case 3:
					if g == 31 && i == 9 {
						h.eng.Cancel(h.ctx, id, "race")
					}
				}
				ops.Add(1)
			}
		}()
	}
	wg.Wait()
	x := h.until(id, time.Minute, 3*time.Hour, func(x *drsorch.Execution) bool {
		if x.Status == drsorch.ExecutionPaused {
			h.eng.Resume(h.ctx, id)
		}
		return x.Status.Terminal()
	})
	checkTimeline(t, x)
	if ops.Load() != 320 {
		t.Fatalf("%d operations", ops.Load())
	}
}

// flakyDRS loses the answer of StartRecovery: the call may or may not reach DRS.
type flakyDRS struct {
	*drssim.Sim
	reach atomic.Bool // the call reaches DRS before the answer is lost
	lose  atomic.Int64
}

func (f *flakyDRS) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	if f.lose.Add(-1) < 0 {
		return f.Sim.StartRecovery(ctx, t, in)
	}
	if f.reach.Load() {
		f.Sim.StartRecovery(ctx, t, in)
	}
	return drsorch.Job{}, drsorch.Errorf(drsorch.CodeDRSInternal, "connection reset")
}

func TestLostStartRecoveryAnswerIsReconciledByTag(t *testing.T) {
	for _, reached := range []bool{true, false} {
		name := map[bool]string{true: "job was created", false: "call never arrived"}[reached]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			ids := h.servers("lo", 5, nil)
			h.group("g", ids, nil)
			h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
			f := &flakyDRS{Sim: h.sim}
			f.reach.Store(reached)
			f.lose.Store(1)
			cfg := h.eng.Config()
			cfg.DRS = f
			h.eng = engine.New(cfg)
			id := h.start("p", drsorch.Drill)
			x := h.get(id)
			if j := x.Waves[0].Jobs; len(j) != 1 || j[0].Status != drsorch.JobSubmitting || j[0].JobID != "" {
				t.Fatalf("intent not kept: %+v", j)
			}
			x = h.until(id, 30*time.Second, 2*time.Hour, terminal)
			if x.Status != drsorch.ExecutionCompleted {
				t.Fatalf("status %s", x.Status)
			}
			jobs := h.sim.Jobs(drsorch.Target{Region: "us-east-1"})
			if len(jobs) != 1 || len(h.sim.Instances(drsorch.Target{Region: "us-east-1"})) != 5 {
				t.Fatalf("%d jobs, %d instances: launched twice or not at all", len(jobs), len(h.sim.Instances(drsorch.Target{Region: "us-east-1"})))
			}
			want := map[bool]string{true: "job_recovered", false: "submission_lost"}[reached]
			if !slices.ContainsFunc(x.Timeline, func(ev drsorch.TimelineEvent) bool { return ev.Type == want }) {
				t.Fatalf("no %s event on the timeline", want)
			}
		})
	}
}

func TestWorkflowTokenHandover(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	if err := h.eng.RegisterToken(h.ctx, id, "tok-wave-0", drsorch.AwaitWave); err != nil {
		t.Fatal(err)
	}
	x := h.until(id, 30*time.Second, time.Hour, func(x *drsorch.Execution) bool { return x.Waves[0].Status.Terminal() })
	if x.Waves[1].Status != drsorch.WavePending {
		t.Fatal("the engine took the step although a workflow task was waiting")
	}
	if !slices.Equal(h.wf.success, []string{"tok-wave-0"}) || x.Secrets.TaskToken != "" {
		t.Fatalf("handover %v, token left %q", h.wf.success, x.Secrets.TaskToken)
	}
	// The workflow calls Advance, which takes the step.
	res, err := h.eng.Advance(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Next != engine.NextWait || !h.get(id).Waves[1].Status.InFlight() {
		t.Fatalf("advance %+v", res)
	}
	// A token that no longer works: the engine takes the step itself.
	if err := h.eng.RegisterToken(h.ctx, id, "tok-dead", drsorch.AwaitWave); err != nil {
		t.Fatal(err)
	}
	h.wf.gone["tok-dead"] = true
	x = h.until(id, 30*time.Second, time.Hour, func(x *drsorch.Execution) bool { return x.Waves[2].Status != drsorch.WavePending })
	if x.Secrets.TaskToken != "" {
		t.Fatal("dead token kept")
	}
	x = h.until(id, 30*time.Second, time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
	// Registering on an ended execution completes the task at once.
	if err := h.eng.RegisterToken(h.ctx, id, "tok-late", drsorch.AwaitWave); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h.wf.success, "tok-late") {
		t.Fatal("late token not completed")
	}
	if r, _ := h.eng.Advance(h.ctx, id); r.Next != engine.NextDone {
		t.Fatalf("advance on an ended execution: %+v", r)
	}
}

func TestResumeCompletesWaitingTask(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, func(w []drsorch.PlanWave) { w[1].PauseBeforeWave = true })
	id := h.start("plan", drsorch.Drill)
	h.until(id, 30*time.Second, time.Hour, status(drsorch.ExecutionPaused))
	if err := h.eng.RegisterToken(h.ctx, id, "tok-resume", drsorch.AwaitResume); err != nil {
		t.Fatal(err)
	}
	if r, _ := h.eng.Advance(h.ctx, id); r.Next != engine.NextPaused {
		t.Fatalf("advance while paused: %+v", r)
	}
	if _, err := h.eng.Resume(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	x := h.get(id)
	if !slices.Equal(h.wf.success, []string{"tok-resume"}) || x.Status != drsorch.ExecutionRunning || x.Waves[1].Status != drsorch.WavePending {
		t.Fatalf("success %v status %s waves %v", h.wf.success, x.Status, waveStatuses(x))
	}
	if _, err := h.eng.Advance(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	if x = h.get(id); !x.Waves[1].Status.InFlight() {
		t.Fatalf("wave 1 not started by Advance: %v", waveStatuses(x))
	}
}

func TestMarkFailed(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	x, err := h.eng.MarkFailed(h.ctx, id, "States.TaskFailed", "boom")
	if err != nil {
		t.Fatal(err)
	}
	if x.Status != drsorch.ExecutionFailed || x.ErrorMessage != "Workflow failed: States.TaskFailed: boom" || x.EndTime == 0 {
		t.Fatalf("%s %q", x.Status, x.ErrorMessage)
	}
	if x, _ = h.eng.MarkFailed(h.ctx, id, "again", ""); x.ErrorMessage != "Workflow failed: States.TaskFailed: boom" {
		t.Fatal("MarkFailed changed an ended execution")
	}
}

func TestLegacyRecordIsPolled(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("lg", 2, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"}, drsorch.PlanWave{ProtectionGroupID: "g"})
	job, err := h.sim.StartRecovery(h.ctx, drsorch.Target{Region: "us-east-1"}, drsorch.StartRecoveryInput{
		SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: ids[0]}, {SourceServerID: ids[1]}}, IsDrill: true})
	if err != nil {
		t.Fatal(err)
	}
	// A record as the replaced system wrote it: POLLING, one jobId per wave, no version.
	x := &drsorch.Execution{ExecutionID: "legacy-1", PlanID: "p", ExecutionType: drsorch.Drill, Status: "POLLING",
		StartTime: h.clock.Now().Unix(), Waves: []drsorch.ExecutionWave{
			{WaveNumber: 0, WaveName: "Wave 1", Status: "STARTED", JobID: job.JobID, Region: "us-east-1", StartTime: h.clock.Now().Unix(),
				ServerStatuses: []drsorch.ServerStatus{{SourceServerID: ids[0], LaunchStatus: "PENDING"}, {SourceServerID: ids[1], LaunchStatus: "PENDING"}}},
			{WaveNumber: 1, WaveName: "Wave 2", Status: "PENDING", ProtectionGroupID: "g"},
		}}
	if err := h.store.CreateExecution(h.ctx, x); err != nil {
		t.Fatal(err)
	}
	x = h.until("legacy-1", time.Minute, 2*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted || len(x.Waves[0].Jobs) != 1 || x.Waves[1].Status != drsorch.WaveCompleted {
		t.Fatalf("status %s waves %v", x.Status, waveStatuses(x))
	}
}

// lossyTerminate loses the answer of TerminateRecoveryInstances once.
type lossyTerminate struct {
	*drssim.Sim
	reach bool
	lost  atomic.Bool
}

func (f *lossyTerminate) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, ids []string) (drsorch.Job, error) {
	if f.lost.CompareAndSwap(false, true) {
		if f.reach {
			f.Sim.TerminateRecoveryInstances(ctx, t, ids)
		}
		return drsorch.Job{}, drsorch.Errorf(drsorch.CodeDRS, "connection reset")
	}
	return f.Sim.TerminateRecoveryInstances(ctx, t, ids)
}

func TestLostTerminateAnswerIsReconciled(t *testing.T) {
	for _, reach := range []bool{true, false} {
		t.Run(map[bool]string{true: "job was created", false: "call never arrived"}[reach], func(t *testing.T) {
			h := newHarness(t)
			id := completedDrill(t, h)
			cfg := h.eng.Config()
			cfg.DRS = &lossyTerminate{Sim: h.sim, reach: reach}
			h.eng = engine.New(cfg)
			res, err := h.eng.Terminate(h.ctx, id, false)
			if err != nil || res.TotalFailed != 12 {
				t.Fatalf("first terminate: %+v %v", res, err)
			}
			// The intent stays while its call may still be in flight.
			if _, err := h.eng.Terminate(h.ctx, id, false); !drsorch.IsCode(err, drsorch.CodeInvalidState) {
				t.Fatalf("terminate during the grace period: %v", err)
			}
			h.clock.Advance(3 * time.Minute)
			if reach {
				st, err := h.eng.TerminationStatus(h.ctx, id, nil, "")
				if err != nil || len(st.Jobs) != 1 || !st.AllCompleted || !h.get(id).InstancesTerminated {
					t.Fatalf("status after reconcile: %+v %v", st, err)
				}
			} else {
				res, err := h.eng.Terminate(h.ctx, id, false)
				if err != nil || res.TotalTerminated != 12 {
					t.Fatalf("terminate after the lost call: %+v %v", res, err)
				}
				h.clock.Advance(3 * time.Minute)
				if st, _ := h.eng.TerminationStatus(h.ctx, id, nil, ""); !st.AllCompleted {
					t.Fatalf("not done: %+v", st)
				}
			}
			if n := len(h.sim.Instances(drsorch.Target{Region: "us-east-1"})); n != 0 {
				t.Fatalf("%d instances left", n)
			}
		})
	}
}
