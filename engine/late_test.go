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

// slowDRS holds the first StartRecovery or TerminateRecoveryInstances call
// before it reaches DRS, until the test releases it; meanwhile other calls of
// that API are refused for quota.
type slowDRS struct {
	*drssim.Sim
	api      string
	once     sync.Once
	entered  chan struct{}
	release  chan struct{}
	mu       sync.Mutex
	blocking bool
}

func newSlowDRS(sim *drssim.Sim, api string) *slowDRS {
	return &slowDRS{Sim: sim, api: api, entered: make(chan struct{}), release: make(chan struct{})}
}

func (s *slowDRS) hold(api string) error {
	if api != s.api {
		return nil
	}
	first := false
	s.once.Do(func() { first = true })
	if !first {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.blocking {
			return drsorch.Errorf(drsorch.CodeDRSQuota, "busy")
		}
		return nil
	}
	s.mu.Lock()
	s.blocking = true
	s.mu.Unlock()
	close(s.entered)
	<-s.release
	s.mu.Lock()
	s.blocking = false
	s.mu.Unlock()
	return nil
}

func (s *slowDRS) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	if err := s.hold(drssim.APIStartRecovery); err != nil {
		return drsorch.Job{}, err
	}
	return s.Sim.StartRecovery(ctx, t, in)
}

func (s *slowDRS) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, ids []string) (drsorch.Job, error) {
	if err := s.hold(drssim.APITerminateRecoveryInstances); err != nil {
		return drsorch.Job{}, err
	}
	return s.Sim.TerminateRecoveryInstances(ctx, t, ids)
}

// A call that outlasts SubmitGrace: a poll gives its intent up (DRS has no
// job yet), then DRS accepts the call. The late answer is recorded, so the
// job is followed and its servers are not launched a second time.
func TestLateAnswerIsRecorded(t *testing.T) {
	t.Run("StartRecovery", func(t *testing.T) {
		h := newHarness(t)
		ids := h.servers("la", 5, nil)
		h.group("g", ids, nil)
		h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
		slow := newSlowDRS(h.sim, drssim.APIStartRecovery)
		cfg := h.eng.Config()
		cfg.DRS = slow
		h.eng = engine.New(cfg)
		started := make(chan string)
		go func() { started <- h.start("p", drsorch.Drill) }()
		<-slow.entered
		var id string
		for _, x := range listAll(t, h) {
			id = x.ExecutionID
		}
		h.clock.Advance(3 * time.Minute)
		if _, err := h.eng.PollActive(h.ctx); err != nil {
			t.Fatal(err)
		}
		if x := h.get(id); !hasEvent(x, "submission_lost") || len(x.Waves[0].Jobs) != 0 {
			t.Fatalf("the intent was not given up: %+v", x.Waves[0].Jobs)
		}
		close(slow.release)
		<-started
		x := h.get(id)
		if !hasEvent(x, "job_late") || len(x.Waves[0].Jobs) != 1 || x.Waves[0].Jobs[0].JobID == "" {
			t.Fatalf("the late job was not recorded: %+v", x.Waves[0].Jobs)
		}
		x = h.until(id, 30*time.Second, 2*time.Hour, terminal)
		if x.Status != drsorch.ExecutionCompleted {
			t.Fatalf("status %s", x.Status)
		}
		if n := len(h.sim.Jobs(drsorch.Target{Region: "us-east-1"})); n != 1 {
			t.Fatalf("%d LAUNCH jobs: the servers were launched again", n)
		}
		checkTimeline(t, x)
	})
	t.Run("TerminateRecoveryInstances", func(t *testing.T) {
		h := newHarness(t)
		id := completedDrill(t, h)
		slow := newSlowDRS(h.sim, drssim.APITerminateRecoveryInstances)
		cfg := h.eng.Config()
		cfg.DRS = slow
		h.eng = engine.New(cfg)
		done := make(chan error)
		go func() {
			_, err := h.eng.Terminate(h.ctx, id, false)
			done <- err
		}()
		<-slow.entered
		h.clock.Advance(3 * time.Minute)
		if _, err := h.eng.TerminationStatus(h.ctx, id, nil, ""); err != nil {
			t.Fatal(err)
		}
		if x := h.get(id); !hasEvent(x, "terminate_lost") || len(x.TerminateJobs) != 0 {
			t.Fatalf("the intent was not given up: %+v", x.TerminateJobs)
		}
		close(slow.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		x := h.get(id)
		if !hasEvent(x, "terminate_late") || len(x.TerminateJobs) != 1 || x.TerminateJobs[0].JobID == "" {
			t.Fatalf("the late job was not recorded: %+v", x.TerminateJobs)
		}
		h.clock.Advance(3 * time.Minute)
		if st, err := h.eng.TerminationStatus(h.ctx, id, nil, ""); err != nil || !st.AllCompleted || !h.get(id).InstancesTerminated {
			t.Fatalf("termination status %+v %v", st, err)
		}
		terminates := slices.DeleteFunc(h.sim.Jobs(drsorch.Target{Region: "us-east-1"}), func(j drsorch.Job) bool { return j.Type != drsorch.JobTerminate })
		if len(terminates) != 1 {
			t.Fatalf("%d TERMINATE jobs", len(terminates))
		}
	})
}

func listAll(t *testing.T, h *harness) []drsorch.Execution {
	t.Helper()
	page, err := h.store.ListExecutions(h.ctx, drsorch.ExecutionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Items
}
