package engine_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
)

// threeWaves sets up db, app and web tiers (3, 4 and 5 servers) and a plan over them.
func threeWaves(h *harness, mod func(w []drsorch.PlanWave)) (db, app, web []string) {
	db = h.servers("db", 3, map[string]string{"Tier": "db"})
	app = h.servers("app", 4, map[string]string{"Tier": "app"})
	web = h.servers("web", 5, map[string]string{"Tier": "web"})
	h.group("pg-db", db, nil)
	h.group("pg-app", nil, map[string]string{"Tier": "APP"})
	h.group("pg-web", web, nil)
	waves := []drsorch.PlanWave{{ProtectionGroupID: "pg-db"}, {ProtectionGroupID: "pg-app"}, {ProtectionGroupID: "pg-web"}}
	if mod != nil {
		mod(waves)
	}
	h.plan("plan", waves...)
	return
}

func TestThreeWaveDrillCompletes(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	x := h.get(id)
	if x.Status != drsorch.ExecutionRunning || !x.Waves[0].Status.InFlight() || len(x.Waves[0].Jobs) != 1 {
		t.Fatalf("after start: %s %v", x.Status, waveStatuses(x))
	}
	x = h.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s: %s", x.Status, x.OutcomeSummary)
	}
	if want := "All 3 wave(s) completed successfully. 12 server(s) launched."; x.OutcomeSummary != want {
		t.Fatalf("summary %q", x.OutcomeSummary)
	}
	// Waves ran one after the other.
	for i := 1; i < 3; i++ {
		if x.Waves[i].StartTime < x.Waves[i-1].EndTime {
			t.Errorf("wave %d started before wave %d ended", i, i-1)
		}
	}
	for _, w := range x.Waves {
		for _, s := range w.ServerStatuses {
			if s.LaunchStatus != drsorch.LaunchLaunched || !strings.HasPrefix(s.RecoveryInstanceID, "i-") || s.InstanceType == "" {
				t.Errorf("server %+v", s)
			}
		}
	}
	if n := len(h.sim.Instances(drsorch.Target{Region: "us-east-1"})); n != 12 {
		t.Errorf("%d recovery instances, want 12", n)
	}
	checkTimeline(t, x)
	// Every job is tagged with the execution and its wave.
	for _, j := range h.sim.Jobs(drsorch.Target{Region: "us-east-1"}) {
		if j.Tags[engine.TagExecution] != id || j.Tags[engine.TagWave] == "" || j.Tags[engine.TagIntent] == "" {
			t.Errorf("job %s tags %v", j.JobID, j.Tags)
		}
	}
}

func TestFailedServerGivesPartial(t *testing.T) {
	h := newHarness(t)
	_, _, web := threeWaves(h, nil)
	h.sim.FailLaunch(web[2])
	id := h.start("plan", drsorch.Drill)
	x := h.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionPartial {
		t.Fatalf("status %s", x.Status)
	}
	want := "11 server(s) launched successfully; 1 server(s) failed. Waves: 2 wave(s) completed."
	if x.OutcomeSummary != want || x.ErrorMessage != want {
		t.Fatalf("summary %q", x.OutcomeSummary)
	}
	if x.Waves[2].Status != drsorch.WavePartial || !strings.Contains(x.Waves[2].StatusMessage, web[2]) {
		t.Fatalf("wave 2: %s %q", x.Waves[2].Status, x.Waves[2].StatusMessage)
	}
	if s := x.Waves[2].Server(web[2]); s.Error == "" || s.LaunchStatus != drsorch.LaunchFailed {
		t.Fatalf("failed server %+v", s)
	}
}

func TestEveryWaveFailedGivesFailed(t *testing.T) {
	h := newHarness(t)
	db, _, _ := threeWaves(h, nil)
	for _, id := range db {
		h.sim.FailLaunch(id)
	}
	id := h.start("plan", drsorch.Drill)
	x := h.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionFailed {
		t.Fatalf("status %s", x.Status)
	}
	if want := "Execution failed. 1 wave(s) failed. 3 server(s) failed to launch."; x.OutcomeSummary != want {
		t.Fatalf("summary %q", x.OutcomeSummary)
	}
	if got := waveStatuses(x); !slices.Equal(got, []drsorch.WaveStatus{"FAILED", "CANCELLED", "CANCELLED"}) {
		t.Fatalf("waves %v", got)
	}
	if !strings.HasPrefix(x.Waves[1].StatusMessage, "Skipped: wave 0 ended FAILED") {
		t.Fatalf("skip message %q", x.Waves[1].StatusMessage)
	}
	// Independent waves: all fail.
	h2 := newHarness(t)
	a := h2.servers("aa", 2, nil)
	b := h2.servers("bb", 2, nil)
	for _, id := range append(a, b...) {
		h2.sim.FailLaunch(id)
	}
	h2.group("ga", a, nil)
	h2.group("gb", b, nil)
	h2.plan("p", drsorch.PlanWave{ProtectionGroupID: "ga"}, drsorch.PlanWave{ProtectionGroupID: "gb", DependsOnWaves: []int{}})
	id = h2.start("p", drsorch.Drill)
	x = h2.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionFailed {
		t.Fatalf("status %s %q", x.Status, x.OutcomeSummary)
	}
}

func TestOperatorPauseAtWaveBoundary(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, nil)
	id := h.start("plan", drsorch.Drill)
	h.poll(time.Minute)
	res, err := h.eng.Pause(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != drsorch.ExecutionPausePending || res.Message != "Pause scheduled - will pause after wave 0 completes" {
		t.Fatalf("pause result %+v", res)
	}
	x := h.until(id, 30*time.Second, time.Hour, status(drsorch.ExecutionPaused))
	if x.Waves[0].Status != drsorch.WaveCompleted || x.Waves[1].Status != drsorch.WavePending {
		t.Fatalf("waves %v", waveStatuses(x))
	}
	if x.PausedBeforeWave == nil || *x.PausedBeforeWave != 1 {
		t.Fatalf("pausedBeforeWave %v", x.PausedBeforeWave)
	}
	// Stays paused however long.
	for i := 0; i < 10; i++ {
		h.poll(10 * time.Minute)
	}
	if x = h.get(id); x.Status != drsorch.ExecutionPaused || x.Waves[1].Status != drsorch.WavePending {
		t.Fatalf("not paused any more: %s %v", x.Status, waveStatuses(x))
	}
	if _, err := h.eng.Pause(h.ctx, id); !drsorch.IsCode(err, drsorch.CodeInvalidState) {
		t.Fatalf("second pause: %v", err)
	}
	rr, err := h.eng.Resume(h.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if rr.Status != drsorch.ExecutionResuming || rr.NextWave != 1 || rr.Message != "Execution resumed - wave 2 will start" {
		t.Fatalf("resume %+v", rr)
	}
	if x = h.get(id); x.Status != drsorch.ExecutionRunning || !x.Waves[1].Status.InFlight() {
		t.Fatalf("after resume %s %v", x.Status, waveStatuses(x))
	}
	x = h.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
	checkTimeline(t, x)
	if _, err := h.eng.Resume(h.ctx, id); !drsorch.IsCode(err, drsorch.CodeInvalidState) {
		t.Fatalf("resume of a completed execution: %v", err)
	}
}

func TestPauseBeforeWave(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, func(w []drsorch.PlanWave) { w[2].PauseBeforeWave = true })
	id := h.start("plan", drsorch.Drill)
	x := h.until(id, 30*time.Second, 3*time.Hour, status(drsorch.ExecutionPaused))
	if got := waveStatuses(x); !slices.Equal(got, []drsorch.WaveStatus{"COMPLETED", "COMPLETED", "PENDING"}) {
		t.Fatalf("waves %v", got)
	}
	if *x.PausedBeforeWave != 2 {
		t.Fatalf("paused before %d", *x.PausedBeforeWave)
	}
	if _, err := h.eng.Resume(h.ctx, id); err != nil {
		t.Fatal(err)
	}
	x = h.until(id, 30*time.Second, time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
}

func TestCancelDuringWave(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fail  bool
		want  drsorch.ExecutionStatus
		waves []drsorch.WaveStatus
	}{
		{"launched servers give PARTIAL", false, drsorch.ExecutionPartial, []drsorch.WaveStatus{"COMPLETED", "CANCELLED", "CANCELLED"}},
		{"nothing launched gives CANCELLED", true, drsorch.ExecutionCancelled, []drsorch.WaveStatus{"FAILED", "CANCELLED", "CANCELLED"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			db, _, _ := threeWaves(h, nil)
			if tt.fail {
				for _, s := range db {
					h.sim.FailLaunch(s)
				}
			}
			id := h.start("plan", drsorch.Drill)
			h.poll(time.Minute)
			res, err := h.eng.Cancel(h.ctx, id, "test")
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != drsorch.ExecutionCancelling || res.Message != "Execution cancelling successfully" ||
				!slices.Equal(res.Details.InProgressWaves, []int{0}) || !slices.Equal(res.Details.CancelledWaves, []int{1, 2}) {
				t.Fatalf("cancel %+v", res)
			}
			if len(h.wf.stopped) != 1 {
				t.Fatalf("workflow not stopped: %v", h.wf.stopped)
			}
			x := h.until(id, 30*time.Second, time.Hour, terminal)
			if x.Status != tt.want || !slices.Equal(waveStatuses(x), tt.waves) {
				t.Fatalf("status %s waves %v summary %q", x.Status, waveStatuses(x), x.OutcomeSummary)
			}
			if len(h.sim.Jobs(drsorch.Target{Region: "us-east-1"})) != 1 {
				t.Fatal("a wave started after the cancel")
			}
			checkTimeline(t, x)
		})
	}
}

func TestCancelWhilePaused(t *testing.T) {
	h := newHarness(t)
	threeWaves(h, func(w []drsorch.PlanWave) { w[1].PauseBeforeWave = true })
	id := h.start("plan", drsorch.Drill)
	h.until(id, 30*time.Second, time.Hour, status(drsorch.ExecutionPaused))
	if err := h.eng.RegisterToken(h.ctx, id, "token-1", drsorch.AwaitResume); err != nil {
		t.Fatal(err)
	}
	res, err := h.eng.Cancel(h.ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != drsorch.ExecutionCancelled || res.Message != "Execution cancelled successfully" {
		t.Fatalf("cancel %+v", res)
	}
	x := h.get(id)
	if got := waveStatuses(x); !slices.Equal(got, []drsorch.WaveStatus{"COMPLETED", "CANCELLED", "CANCELLED"}) {
		t.Fatalf("waves %v", got)
	}
	if x.Secrets.TaskToken != "" || x.PausedBeforeWave != nil {
		t.Fatalf("token %q paused %v", x.Secrets.TaskToken, x.PausedBeforeWave)
	}
	if len(h.wf.stopped) != 1 {
		t.Fatalf("stop calls %v", h.wf.stopped)
	}
	if _, err := h.eng.Cancel(h.ctx, id, ""); !drsorch.IsCode(err, drsorch.CodeInvalidState) {
		t.Fatalf("second cancel: %v", err)
	}
}

func TestParallelWavesByDependency(t *testing.T) {
	h := newHarness(t)
	a := h.servers("aa", 2, nil)
	b := h.servers("bb", 2, nil)
	c := h.servers("cc", 2, nil)
	d := h.servers("dd", 2, nil)
	h.group("ga", a, nil)
	h.group("gb", b, nil)
	h.group("gc", c, nil)
	h.group("gd", d, nil)
	h.plan("p",
		drsorch.PlanWave{ProtectionGroupID: "ga"},
		drsorch.PlanWave{ProtectionGroupID: "gb", DependsOnWaves: []int{0}},
		drsorch.PlanWave{ProtectionGroupID: "gc", DependsOnWaves: []int{0}},
		drsorch.PlanWave{ProtectionGroupIDs: []string{"gd"}, DependsOnWaves: []int{1, 2}})
	id := h.start("p", drsorch.Drill)
	x := h.until(id, 30*time.Second, time.Hour, func(x *drsorch.Execution) bool { return x.Waves[1].Status != drsorch.WavePending })
	if x.Waves[1].StartTime != x.Waves[2].StartTime || !x.Waves[1].Status.InFlight() || !x.Waves[2].Status.InFlight() {
		t.Fatalf("waves 1 and 2 not started together: %v", waveStatuses(x))
	}
	if x.Waves[3].Status != drsorch.WavePending {
		t.Fatal("wave 3 started before its dependencies")
	}
	x = h.until(id, 30*time.Second, 2*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s", x.Status)
	}
	if x.Waves[3].StartTime < max(x.Waves[1].EndTime, x.Waves[2].EndTime) {
		t.Fatal("wave 3 started before both dependencies ended")
	}
}

func TestLargeWaveSplitsIntoJobs(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("big", 350, map[string]string{"App": "erp"})
	h.group("g", nil, map[string]string{"App": "erp"})
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	id := h.start("p", drsorch.Drill)
	x := h.get(id)
	w := x.Waves[0]
	if len(w.Jobs) != 4 {
		t.Fatalf("%d jobs, want 4", len(w.Jobs))
	}
	var sizes []int
	for _, j := range w.Jobs {
		sizes = append(sizes, len(j.ServerIDs))
	}
	if !slices.Equal(sizes, []int{100, 100, 100, 50}) {
		t.Fatalf("job sizes %v", sizes)
	}
	x = h.until(id, 30*time.Second, 2*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted || x.OutcomeDetails.ServersLaunched != len(ids) {
		t.Fatalf("status %s launched %d", x.Status, x.OutcomeDetails.ServersLaunched)
	}
}

func TestWaveQueuesBehindJobQuota(t *testing.T) {
	h := newHarness(t)
	// 19 jobs of another tool already run in the account: one slot is left.
	other := h.servers("ot", 19, nil)
	for _, s := range other {
		if _, err := h.sim.StartRecovery(h.ctx, drsorch.Target{Region: "us-east-1"}, drsorch.StartRecoveryInput{
			SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: s}}, IsDrill: true}); err != nil {
			t.Fatal(err)
		}
	}
	ids := h.servers("qq", 250, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	id := h.start("p", drsorch.Drill)
	x := h.get(id)
	submitted := 0
	for _, j := range x.Waves[0].Jobs {
		if j.JobID != "" {
			submitted++
		}
	}
	if submitted != 1 {
		t.Fatalf("%d jobs submitted with one free slot", submitted)
	}
	x = h.until(id, 30*time.Second, 3*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted || len(x.Waves[0].Jobs) != 3 {
		t.Fatalf("status %s jobs %d", x.Status, len(x.Waves[0].Jobs))
	}
	for _, c := range h.sim.Calls() {
		if c.API == drssim.APIStartRecovery && c.Error != "" && c.Error != "ServiceQuotaExceededException" {
			t.Errorf("unexpected StartRecovery error %s", c.Error)
		}
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	h := newHarness(t)
	ids := h.servers("th", 3, nil)
	h.group("g", ids, nil)
	h.plan("p", drsorch.PlanWave{ProtectionGroupID: "g"})
	_ = h.sim.AddFault(drssim.Fault{API: drssim.APIStartRecovery, Error: "ThrottlingException", Times: 6})
	_ = h.sim.AddFault(drssim.Fault{API: drssim.APIDescribeJobs, Error: "ThrottlingException", Times: 3})
	id := h.start("p", drsorch.Drill)
	x := h.until(id, 30*time.Second, 2*time.Hour, terminal)
	if x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("status %s %q", x.Status, x.OutcomeSummary)
	}
	if n := len(x.Waves[0].Jobs); n != 1 {
		t.Fatalf("%d jobs", n)
	}
}
