package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/sqlite"
)

// The race test: 64 clients issue pause, resume, cancel and poll on the same
// executions at once, then terminate and termination-status once they ended.
// The Store is a parameter: SQLite here, DynamoDB Local under the integration
// tag (race_integration_test.go). Whatever the interleaving:
//   - every successful write of an execution has the stored version plus one,
//     so the versions written form an unbroken chain, strictly increasing;
//   - each write keeps everything the previous one wrote on the timeline, and
//     moves the status only by a legal transition;
//   - every operation that reported success left its mark on the timeline
//     (an event with the client's name as actor);
//   - the versions a client reads never go back;
//   - no recovery instance is in two TERMINATE jobs.

func TestRaceSQLite(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	runRace(t, st, raceOptions{clients: 64, ops: 10})
}

// raceOptions size a race run.
type raceOptions struct {
	clients, ops int
}

// raceStore records every successful UpdateExecution and counts lost races.
type raceStore struct {
	drsorch.Store
	mu        sync.Mutex
	writes    map[string][]written
	conflicts atomic.Int64
}

// written is what one successful write stored.
type written struct {
	version   int64
	status    drsorch.ExecutionStatus
	timeline  []drsorch.TimelineEvent
	terminate []drsorch.TerminateJob
}

func (s *raceStore) UpdateExecution(ctx context.Context, x *drsorch.Execution) error {
	err := s.Store.UpdateExecution(ctx, x)
	if drsorch.IsCode(err, drsorch.CodeVersionConflict) {
		s.conflicts.Add(1)
	}
	if err == nil {
		w := written{version: x.Version, status: x.Status, timeline: slices.Clone(x.Timeline), terminate: slices.Clone(x.TerminateJobs)}
		s.mu.Lock()
		s.writes[x.ExecutionID] = append(s.writes[x.ExecutionID], w)
		s.mu.Unlock()
	}
	return err
}

// raceOp is one client operation and its outcome.
type raceOp struct {
	client  int
	kind    string
	exec    string
	actor   string
	err     error
	status  drsorch.ExecutionStatus // the status the operation answered with
	version int64                   // for reads: the version read
	res     *engine.TerminateResult
}

func runRace(t *testing.T, st drsorch.Store, o raceOptions) {
	began := time.Now()
	clock := drsorchtest.NewClock(time.Time{})
	sim := drssim.New(drssim.Options{Clock: clock, Seed: 11, Timings: drssim.Timings{Jitter: -1}})
	rs := &raceStore{Store: st, writes: map[string][]written{}}
	wf := &workflow{gone: map[string]bool{}}
	// The clients share four engines, as four processes (Lambda instances)
	// would: an engine lets one writer of an execution at a time through, so
	// the version checks settle the races between engines.
	var engines []*engine.Engine
	for range 4 {
		engines = append(engines, engine.New(engine.Config{Store: rs, DRS: sim, Workflow: wf, Clock: clock, Sleep: func(context.Context, time.Duration) {}}))
	}
	eng := engines[0]
	h := &harness{t: t, ctx: context.Background(), clock: clock, sim: sim, store: rs, wf: wf, eng: eng}

	// Four plans of three waves (3, 4 and 5 servers); two stop before their second wave.
	var ids []string
	for p := 0; p < 4; p++ {
		var waves []drsorch.PlanWave
		for w, n := range []int{3, 4, 5} {
			g := fmt.Sprintf("race-%d-%d", p, w)
			h.group(g, h.servers(fmt.Sprintf("r%d%c", p, 'a'+w), n, nil), nil)
			waves = append(waves, drsorch.PlanWave{ProtectionGroupID: g, PauseBeforeWave: w == 1 && p%2 == 1})
		}
		h.plan(fmt.Sprintf("race-plan-%d", p), waves...)
		ids = append(ids, h.start(fmt.Sprintf("race-plan-%d", p), drsorch.Drill))
	}

	// Phase 1: control and polls, all at once.
	ops := raceClients(o, func(c, i int, rng *rand.Rand) raceOp {
		eng := engines[c%len(engines)]
		op := raceOp{client: c, exec: ids[rng.IntN(len(ids))], actor: fmt.Sprintf("client-%02d-op-%03d", c, i)}
		ctx := drsorch.WithCaller(context.Background(), drsorch.Caller{Username: op.actor})
		switch k := rng.IntN(100); {
		case k < 25:
			op.kind = "pause"
			var r *engine.PauseResult
			if r, op.err = eng.Pause(ctx, op.exec); r != nil {
				op.status = r.Status
			}
		case k < 50:
			op.kind = "resume"
			_, op.err = eng.Resume(ctx, op.exec)
		case k < 65:
			op.kind = "poll"
			clock.Advance(20 * time.Second)
			_, op.err = eng.PollActive(ctx)
		case k < 80:
			op.kind = "poll"
			clock.Advance(20 * time.Second)
			_, op.err = eng.PollExecution(ctx, op.exec)
		case k < 82 && op.exec == ids[0]:
			// Only the first execution is cancelled (likely while a wave runs);
			// the others run to their end.
			op.kind = "cancel"
			var r *engine.CancelResult
			if r, op.err = eng.Cancel(ctx, op.exec, "race"); r != nil {
				op.status = r.Status
			}
		default:
			op.kind = "read"
			var x *drsorch.Execution
			if x, op.err = st.GetExecution(ctx, op.exec); x != nil {
				op.version = x.Version
			}
		}
		return op
	})
	// Then drive every execution to its end: resume what is paused, poll.
	for i := 0; ; i++ {
		done := 0
		for _, id := range ids {
			x := h.get(id)
			switch {
			case x.Status.Terminal():
				done++
			case x.Status == drsorch.ExecutionPaused:
				if _, err := eng.Resume(h.ctx, id); err != nil {
					t.Fatal(err)
				}
			}
		}
		if done == len(ids) {
			break
		}
		if i > 1000 {
			t.Fatal("the executions did not end")
		}
		h.poll(time.Minute)
	}

	// Phase 2: terminate and termination-status, all at once, on the ended executions.
	ops2 := raceClients(o, func(c, i int, rng *rand.Rand) raceOp {
		eng := engines[c%len(engines)]
		op := raceOp{client: c, exec: ids[rng.IntN(len(ids))], actor: fmt.Sprintf("client-%02d-term-%03d", c, i)}
		ctx := drsorch.WithCaller(context.Background(), drsorch.Caller{Username: op.actor})
		switch k := rng.IntN(100); {
		case k < 50:
			op.kind = "terminate"
			op.res, op.err = eng.Terminate(ctx, op.exec, false)
		case k < 80:
			op.kind = "termination-status"
			clock.Advance(10 * time.Second)
			_, op.err = eng.TerminationStatus(ctx, op.exec, nil, "")
		default:
			op.kind = "read"
			var x *drsorch.Execution
			if x, op.err = st.GetExecution(ctx, op.exec); x != nil {
				op.version = x.Version
			}
		}
		return op
	})
	// Then finish the terminations as an operator would.
	for i := 0; ; i++ {
		done := 0
		for _, id := range ids {
			x := h.get(id)
			if x.InstancesTerminated || !slices.ContainsFunc(x.Waves, func(w drsorch.ExecutionWave) bool {
				return slices.ContainsFunc(w.ServerStatuses, func(s drsorch.ServerStatus) bool { return s.RecoveryInstanceID != "" })
			}) {
				done++
				continue
			}
			if st, err := eng.TerminationStatus(h.ctx, id, nil, ""); err == nil && (st.AllCompleted || len(st.Jobs) == 0) {
				eng.Terminate(h.ctx, id, false)
			}
		}
		if done == len(ids) {
			break
		}
		if i > 200 {
			for _, id := range ids {
				x := h.get(id)
				st, err := eng.TerminationStatus(h.ctx, id, nil, "")
				res, terr := eng.Terminate(h.ctx, id, false)
				t.Logf("%s: %s terminated=%v jobs=%+v\nstatus %+v %v\nterminate %+v %v", id, x.Status, x.InstancesTerminated, x.TerminateJobs, st, err, res, terr)
			}
			t.Fatal("the terminations did not end")
		}
		clock.Advance(time.Minute)
	}

	all := append(ops, ops2...)
	checkRace(t, h, rs, ids, all)
	kinds := map[string][2]int{}
	for _, op := range all {
		k := kinds[op.kind]
		if op.err == nil {
			k[0]++
		} else {
			k[1]++
		}
		kinds[op.kind] = k
	}
	writes := 0
	for _, ws := range rs.writes {
		writes += len(ws)
	}
	outcomes := map[drsorch.ExecutionStatus]int{}
	for _, id := range ids {
		outcomes[h.get(id).Status]++
	}
	t.Logf("%d clients on %d engines, %d operations (ok/refused): %v; %d writes, %d lost races re-read and re-applied; outcomes %v; %v",
		o.clients, len(engines), len(all), kinds, writes, rs.conflicts.Load(), outcomes, time.Since(began).Round(time.Millisecond))
}

// raceClients runs o.clients goroutines of o.ops operations each, released together.
func raceClients(o raceOptions, do func(client, i int, rng *rand.Rand) raceOp) []raceOp {
	var mu sync.Mutex
	var out []raceOp
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 42))
			<-gate
			var mine []raceOp
			for i := 0; i < o.ops; i++ {
				mine = append(mine, do(c, i, rng))
			}
			mu.Lock()
			out = append(out, mine...)
			mu.Unlock()
		}()
	}
	close(gate)
	wg.Wait()
	return out
}

// checkRace checks the writes, the timelines, the clients' marks and reads, and the terminations.
func checkRace(t *testing.T, h *harness, rs *raceStore, ids []string, ops []raceOp) {
	t.Helper()
	for _, id := range ids {
		x := h.get(id)
		checkTimeline(t, x)
		ws := slices.Clone(rs.writes[id])
		sort.Slice(ws, func(a, b int) bool { return ws[a].version < ws[b].version })
		for i, w := range ws {
			if w.version != int64(i)+2 { // CreateExecution wrote version 1
				t.Fatalf("execution %s: write %d stored version %d: two writers won the same version or one was lost", id, i, w.version)
			}
			if i == 0 {
				continue
			}
			prev := ws[i-1]
			if len(w.timeline) < len(prev.timeline) {
				t.Fatalf("execution %s: version %d has %d timeline events, version %d had %d: a write was lost", id, w.version, len(w.timeline), prev.version, len(prev.timeline))
			}
			for j := range prev.timeline {
				if !sameEvent(prev.timeline[j], w.timeline[j]) {
					t.Fatalf("execution %s: version %d changed timeline event %d of version %d", id, w.version, j, prev.version)
				}
			}
			if _, err := drsorch.CheckExecutionTransition(prev.status, w.status); err != nil {
				t.Fatalf("execution %s: version %d moved %s → %s", id, w.version, prev.status, w.status)
			}
		}
		if n := len(ws); n == 0 || ws[n-1].version != x.Version {
			t.Fatalf("execution %s: stored version %d, last write %d", id, x.Version, ws[len(ws)-1].version)
		}
	}

	// Every success left its mark; failures are refusals, never lost races.
	timelines := map[string][]drsorch.TimelineEvent{}
	for _, id := range ids {
		timelines[id] = h.get(id).Timeline
	}
	marked := func(op raceOp, match func(drsorch.TimelineEvent) bool) bool {
		return slices.ContainsFunc(timelines[op.exec], func(ev drsorch.TimelineEvent) bool { return ev.Actor == op.actor && match(ev) })
	}
	lastRead := map[[2]string]int64{}
	for _, op := range ops {
		if op.err != nil {
			if !drsorch.IsCode(op.err, drsorch.CodeInvalidState) {
				t.Errorf("%s by %s on %s failed with %v", op.kind, op.actor, op.exec, op.err)
			}
			continue
		}
		switch op.kind {
		case "pause":
			if !marked(op, func(ev drsorch.TimelineEvent) bool {
				return ev.To == string(drsorch.ExecutionPausePending) || ev.To == string(drsorch.ExecutionPaused)
			}) {
				t.Errorf("pause by %s on %s answered %s but left no mark", op.actor, op.exec, op.status)
			}
		case "resume":
			if !marked(op, func(ev drsorch.TimelineEvent) bool { return ev.Type == "resumed" }) {
				t.Errorf("resume by %s on %s left no mark", op.actor, op.exec)
			}
		case "cancel":
			mine := marked(op, func(ev drsorch.TimelineEvent) bool {
				return ev.To == string(drsorch.ExecutionCancelling) || ev.To == string(drsorch.ExecutionCancelled)
			})
			// A cancel of an execution already CANCELLING changes nothing.
			if !mine && op.status != drsorch.ExecutionCancelling {
				t.Errorf("cancel by %s on %s answered %s but left no mark", op.actor, op.exec, op.status)
			}
		case "terminate":
			if op.res.TotalTerminated > 0 && !marked(op, func(ev drsorch.TimelineEvent) bool { return ev.Type == "terminate_requested" }) {
				t.Errorf("terminate by %s on %s started %d terminations but left no mark", op.actor, op.exec, op.res.TotalTerminated)
			}
		case "read":
			k := [2]string{fmt.Sprint(op.client), op.exec}
			if op.version < lastRead[k] {
				t.Errorf("client %d read version %d of %s after version %d", op.client, op.version, op.exec, lastRead[k])
			}
			lastRead[k] = op.version
		}
	}

	// Each recovery instance in one TERMINATE job, asked for by one operation.
	instances := map[string]string{}
	for _, id := range ids {
		x := h.get(id)
		for _, w := range x.Waves {
			for _, s := range w.ServerStatuses {
				if s.RecoveryInstanceID != "" {
					instances[s.RecoveryInstanceID] = id
				}
			}
		}
		if len(x.TerminateJobs) > 0 && !x.InstancesTerminated {
			t.Errorf("execution %s: terminations did not complete", id)
		}
	}
	inJobs := map[string]int{}
	for _, j := range h.sim.Jobs(drsorch.Target{Region: "us-east-1"}) {
		if j.Type == drsorch.JobTerminate {
			for _, p := range j.ParticipatingServers {
				inJobs[p.RecoveryInstanceID]++
			}
		}
	}
	asked := map[string]int{}
	for _, op := range ops {
		if op.kind == "terminate" && op.err == nil {
			for _, ti := range op.res.Terminated {
				asked[ti.RecoveryInstanceID]++
			}
		}
	}
	for ri, id := range instances {
		if inJobs[ri] != 1 {
			t.Errorf("instance %s of %s is in %d TERMINATE jobs", ri, id, inJobs[ri])
		}
		if asked[ri] > 1 {
			t.Errorf("instance %s of %s was terminated by %d operations", ri, id, asked[ri])
		}
	}
	if n := len(h.sim.Instances(drsorch.Target{Region: "us-east-1"})); n != 0 {
		t.Errorf("%d recovery instances left", n)
	}
}

func sameEvent(a, b drsorch.TimelineEvent) bool {
	return a.At.Equal(b.At) && a.Type == b.Type && a.Actor == b.Actor && a.From == b.From && a.To == b.To && a.Detail == b.Detail
}
