//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/internal/testenv"
)

// The crash test runs drills of a 5-wave plan of 1,000 simulated servers
// under `drsorch serve` and kills the process with SIGKILL 50 times, at
// random moments and exactly between a StartRecovery call and the save of its
// result (the test hook app.EnvKillAfterStartRecovery), restarting it each
// time. After every drill it terminates the drill's instances with one more
// kill between TerminateRecoveryInstances and its save. Each drill must end
// as scripted (COMPLETED, or PARTIAL when a launch is made to fail), with each
// server in exactly one LAUNCH job and one recovery instance, each instance
// terminated by exactly one TERMINATE job, and no execution lost.
//
// The kill plan comes from a seed that the test logs; DRSORCH_CRASH_SEED=N
// replays it.
const (
	crashRuns        = 10
	crashKillsPerRun = 5
	crashSpeed       = 600 // simulated seconds per real second
	crashPoll        = "100ms"
	crashRegion      = "us-east-1"
)

// crashWaveSizes are the servers of the plan's waves (testdata/crash-plan.yaml):
// two or three LAUNCH jobs a wave, 12 a drill.
var crashWaveSizes = []int{150, 250, 120, 300, 180}

// crashKill is one planned kill: by the process itself after its Nth
// StartRecovery (failpoint > 0), or by the test after delay.
type crashKill struct {
	failpoint int
	delay     time.Duration
}

func (k crashKill) String() string {
	if k.failpoint > 0 {
		return fmt.Sprintf("after StartRecovery #%d of the process", k.failpoint)
	}
	return fmt.Sprintf("%v after the start", k.delay.Round(time.Millisecond))
}

// crashRun is one drill: its kills and the server whose launch is made to fail (-1: none).
type crashRun struct {
	kills    []crashKill
	failWave int
}

// crashPlan draws the kills and the scripted failures: in every drill, two of
// the five kills (at random places) are by the test hook after the 1st, 2nd
// or 3rd StartRecovery of the process, the others at a random moment up to 3 s
// after a start; a drill in three has one launch failure, in a random wave.
func crashPlan(seed uint64) []crashRun {
	rng := rand.New(rand.NewPCG(seed, 0x63726173))
	runs := make([]crashRun, crashRuns)
	for r := range runs {
		runs[r].failWave = -1
		if r%3 == 2 {
			runs[r].failWave = rng.IntN(len(crashWaveSizes))
		}
		hooked := rng.Perm(crashKillsPerRun)[:2]
		for k := range crashKillsPerRun {
			if slices.Contains(hooked, k) {
				runs[r].kills = append(runs[r].kills, crashKill{failpoint: 1 + rng.IntN(3)})
			} else {
				runs[r].kills = append(runs[r].kills, crashKill{delay: time.Duration(rng.Int64N(int64(3 * time.Second)))})
			}
		}
	}
	return runs
}

// crashServerID is the id of the ith simulated server.
func crashServerID(i int) string { return fmt.Sprintf("s-crash%012d", i) }

// crashWaveServers returns the ids of a wave's servers.
func crashWaveServers(wave int) []string {
	first := 0
	for _, n := range crashWaveSizes[:wave] {
		first += n
	}
	ids := make([]string, crashWaveSizes[wave])
	for i := range ids {
		ids[i] = crashServerID(first + i)
	}
	return ids
}

// crashHarness is the data directory, the binary and the serve process of the crash test.
type crashHarness struct {
	t     *testing.T
	bin   string
	data  string
	addr  string
	token string
	p     *process
	prev  *process // the process before p, for failure logs

	kills, fired, terminateKills, terminateCalls, restarts int
}

func TestServeSurvivesFiftySIGKILLs(t *testing.T) {
	began := time.Now()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("DRSORCH_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("DRSORCH_CRASH_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("crash test seed %d (DRSORCH_CRASH_SEED=%d replays the kill plan)", seed, seed)
	plan := crashPlan(seed)

	h := &crashHarness{t: t, bin: buildBinary(t), data: filepath.Join(t.TempDir(), "data"), addr: testenv.FreeAddr(t)}
	t.Cleanup(func() {
		if h.p != nil && h.p.cmd.ProcessState == nil {
			h.p.cmd.Process.Kill()
			<-h.p.exited
		}
		if t.Failed() {
			if h.prev != nil {
				t.Logf("output of the process before the last:\n%s", tail(h.prev.out.String(), 8000))
			}
			if h.p != nil {
				t.Logf("output of the last process:\n%s", tail(h.p.out.String(), 8000))
			}
		}
	})
	h.seedSimulator()
	h.start()
	tok, err := os.ReadFile(filepath.Join(h.data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	h.token = strings.TrimSpace(string(tok))
	h.checkSecondServeRefused()
	apply := exec.Command(h.bin, "plan", "apply", "-f", filepath.Join("testdata", "crash-plan.yaml"), "--server", h.p.url, "--data", h.data)
	if out, err := apply.CombinedOutput(); err != nil || strings.Count(string(out), ": created") != 6 {
		t.Fatalf("plan apply: %v\n%s", err, out)
	}

	ids := make([]string, crashRuns)
	var recovered, lost, termRecovered, termLost int
	outcomes := map[drsorch.ExecutionStatus]int{}
	for r, run := range plan {
		ids[r] = h.drill(r, run)
		x := h.verifyDrill(r, run, ids[r])
		outcomes[x.Status]++
		for _, ev := range x.Timeline {
			switch ev.Type {
			case "job_recovered":
				recovered++
			case "submission_lost":
				lost++
			}
		}
		h.terminate(r, ids[r])
		if x, ok := h.get(ids[r]); ok {
			for _, ev := range x.Timeline {
				switch ev.Type {
				case "terminate_recovered":
					termRecovered++
				case "terminate_lost":
					termLost++
				}
			}
		}
	}

	// No execution lost: the store holds exactly the drills started, all ended as verified.
	var list struct {
		Items []drsorch.Execution `json:"items"`
	}
	if code := h.call("GET", "/executions?limit=100", nil, &list); code != 200 || len(list.Items) != crashRuns {
		t.Fatalf("list executions: %d, %d items for %d drills", code, len(list.Items), crashRuns)
	}
	for _, x := range list.Items {
		if !slices.Contains(ids, x.ExecutionID) || !x.Status.Terminal() || !x.InstancesTerminated {
			t.Errorf("execution %s: %s, instancesTerminated %v", x.ExecutionID, x.Status, x.InstancesTerminated)
		}
	}
	h.stop()
	t.Logf("crash test: %d kills during drills (%d between StartRecovery and its save, %d at random moments) and %d between TerminateRecoveryInstances and its save; %d restarts; %d terminate calls after those kills",
		h.kills, h.fired, h.kills-h.fired, h.terminateKills, h.restarts, h.terminateCalls)
	t.Logf("crash test: %d drills of %d servers: %v; LAUNCH jobs adopted by tag %d, lost submissions launched again %d; TERMINATE jobs adopted %d, lost terminate calls made again %d; no server launched or terminated twice; %v",
		crashRuns, 1000, outcomes, recovered, lost, termRecovered, termLost, time.Since(began).Round(time.Second))
	if h.fired < crashRuns {
		t.Errorf("only %d kills between StartRecovery and its save", h.fired)
	}
}

// seedSimulator writes the simulator's state before the first start: the
// servers, tagged by wave, on the data directory's scaled clock.
func (h *crashHarness) seedSimulator() {
	h.t.Helper()
	if err := os.MkdirAll(h.data, 0o700); err != nil {
		h.t.Fatal(err)
	}
	sim := h.openSim(filepath.Join(h.data, app.SimStateFile))
	n := 0
	for w, size := range crashWaveSizes {
		srvs := make([]drsorch.SourceServer, size)
		for i := range srvs {
			srvs[i] = drsorch.SourceServer{SourceServerID: crashServerID(n), Hostname: fmt.Sprintf("crash-%d.example", n),
				Tags: map[string]string{"Name": fmt.Sprintf("crash-%d", n), "CrashWave": strconv.Itoa(w)}, Region: crashRegion,
				ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"}
			n++
		}
		if err := sim.AddSourceServers(srvs...); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := sim.Err(); err != nil {
		h.t.Fatal(err)
	}
}

// openSim opens a simulator state file on the data directory's clock.
func (h *crashHarness) openSim(path string) *drssim.Sim {
	h.t.Helper()
	clock, err := app.OpenScaledClock(h.data, nil, crashSpeed)
	if err != nil {
		h.t.Fatal(err)
	}
	sim, err := drssim.Open(drssim.Options{Clock: clock, Seed: 7, StatePath: path, MaxCalls: 1})
	if err != nil {
		h.t.Fatal(err)
	}
	return sim
}

// simCopy opens a copy of the simulator's persisted state, for checks while serve runs.
func (h *crashHarness) simCopy() *drssim.Sim {
	h.t.Helper()
	state, err := os.ReadFile(filepath.Join(h.data, app.SimStateFile))
	if err != nil {
		h.t.Fatal(err)
	}
	path := filepath.Join(h.t.TempDir(), "sim-state.json")
	if err := os.WriteFile(path, state, 0o600); err != nil {
		h.t.Fatal(err)
	}
	return h.openSim(path)
}

// start runs `drsorch serve` with extra environment and waits until it
// answers, or until it died (an armed test hook may fire before it answers).
func (h *crashHarness) start(env ...string) *process {
	h.t.Helper()
	if h.p != nil && h.p.cmd.ProcessState == nil {
		h.t.Fatal("start: the previous process still runs")
	}
	h.prev = h.p
	p := &process{out: &testenv.LockedBuffer{}, exited: make(chan error, 1), url: "http://" + h.addr}
	p.cmd = exec.Command(h.bin, "serve", "--data", h.data, "--addr", h.addr, "--sim-speed", strconv.Itoa(crashSpeed),
		"--poll-interval", crashPoll, "--demo=false")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DRSORCH_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.p = p
	h.restarts++
	go func() { p.exited <- p.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.exited:
			p.exited <- err
			return p
		default:
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("serve did not answer /health:\n%s", p.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether the current process still runs.
func (h *crashHarness) alive() bool {
	select {
	case err := <-h.p.exited:
		h.p.exited <- err
		return false
	default:
		return true
	}
}

// waitKilled waits for the current process to end and checks that SIGKILL ended it.
func (h *crashHarness) waitKilled(within time.Duration) bool {
	h.t.Helper()
	select {
	case err := <-h.p.exited:
		h.p.exited <- err
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			h.t.Fatalf("serve ended with %v, not SIGKILL:\n%s", err, tail(h.p.out.String(), 4000))
		}
		return true
	case <-time.After(within):
		return false
	}
}

// kill sends SIGKILL to the current process and waits for it.
func (h *crashHarness) kill() {
	h.t.Helper()
	if h.alive() {
		h.p.cmd.Process.Signal(syscall.SIGKILL)
	}
	if !h.waitKilled(10 * time.Second) {
		h.t.Fatal("serve did not die of SIGKILL")
	}
}

// stop ends the current process with SIGTERM, as an operator would.
func (h *crashHarness) stop() {
	h.t.Helper()
	if h.p == nil || !h.alive() {
		return
	}
	h.p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-h.p.exited:
		h.p.exited <- err
		if err != nil {
			h.t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, tail(h.p.out.String(), 4000))
		}
	case <-time.After(20 * time.Second):
		h.t.Fatal("serve did not stop within 20s of SIGTERM")
	}
}

// checkSecondServeRefused starts a second serve on the data directory while
// the first runs: it must refuse, naming the lock.
func (h *crashHarness) checkSecondServeRefused() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, "serve", "--data", h.data, "--addr", testenv.FreeAddr(h.t), "--demo=false")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another drsorch process") {
		h.t.Fatalf("a second serve on the same data directory: %v\n%s", err, out)
	}
}

// try calls the API of the current process; err is set when the call got no answer.
func (h *crashHarness) try(method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+h.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// call is try for a process that must answer.
func (h *crashHarness) call(method, path string, body, out any) int {
	h.t.Helper()
	code, err := h.try(method, path, body, out)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code
}

// get reads an execution, or reports that the process did not answer.
func (h *crashHarness) get(id string) (*drsorch.Execution, bool) {
	var x drsorch.Execution
	code, err := h.try("GET", "/executions/"+id, nil, &x)
	if err != nil || code != 200 {
		return nil, false
	}
	return &x, true
}

// drill starts a drill and kills serve at the run's moments, then lets it finish.
func (h *crashHarness) drill(r int, run crashRun) string {
	h.t.Helper()
	h.stop()
	if run.failWave >= 0 {
		// The simulator's state is edited only while no serve runs.
		sim := h.openSim(filepath.Join(h.data, app.SimStateFile))
		sim.FailLaunch(crashWaveServers(run.failWave)[7])
		if err := sim.Err(); err != nil {
			h.t.Fatal(err)
		}
	}
	h.startFor(run.kills[0])
	id := h.post(run.kills[0])
	for k, kill := range run.kills {
		if k > 0 {
			h.startFor(kill)
		}
		how, before := h.killAt(id, kill)
		h.kills++
		h.t.Logf("drill %d kill %d: %s: %s (the drill was %s)", r, k+1, kill, how, describe(before))
	}
	h.start()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if x, ok := h.get(id); ok && x.Status.Terminal() {
			return id
		} else if time.Now().After(deadline) {
			h.t.Fatalf("drill %d did not end within 3 minutes of the last restart: %s", r, describe(x))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startFor starts serve armed for a kill.
func (h *crashHarness) startFor(k crashKill) {
	if k.failpoint > 0 {
		h.start(app.EnvKillAfterStartRecovery + "=" + strconv.Itoa(k.failpoint))
		return
	}
	h.start()
}

// post starts the drill. An answer lost to a kill is looked for in the list
// of executions: an execution the API recorded must not be lost or doubled.
func (h *crashHarness) post(k crashKill) string {
	h.t.Helper()
	for attempt := 0; attempt < 5; attempt++ {
		var started struct {
			ExecutionID string `json:"executionId"`
		}
		code, err := h.try("POST", "/executions", map[string]string{"planId": "crash-plan", "executionType": "DRILL", "initiatedBy": "crash-test"}, &started)
		if err == nil {
			if code != 202 {
				h.t.Fatalf("start the drill: %d", code)
			}
			return started.ExecutionID
		}
		h.kill()
		h.kills++
		h.t.Logf("the start of a drill got no answer (%v); restarting", err)
		h.startFor(k)
		var list struct {
			Items []drsorch.Execution `json:"items"`
		}
		if code, err := h.try("GET", "/executions?planId=crash-plan", nil, &list); err == nil && code == 200 {
			for _, x := range list.Items {
				if x.Status.Active() {
					return x.ExecutionID
				}
			}
		}
	}
	h.t.Fatal("could not start the drill")
	return ""
}

// killAt kills the process as planned; it says how it went and what the
// drill looked like last before the kill.
func (h *crashHarness) killAt(id string, k crashKill) (string, *drsorch.Execution) {
	h.t.Helper()
	if k.failpoint == 0 {
		time.Sleep(k.delay)
		x, _ := h.get(id)
		h.kill()
		return "killed", x
	}
	// Wait for the process to kill itself; if the drill ends first (fewer
	// StartRecovery calls left than the hook waits for), kill it.
	deadline := time.Now().Add(2 * time.Minute)
	var last *drsorch.Execution
	for !h.waitKilled(50 * time.Millisecond) {
		x, ok := h.get(id)
		if ok {
			last = x
		}
		if (ok && x.Status.Terminal()) || time.Now().After(deadline) {
			h.kill()
			return "the hook did not fire before the drill ended; killed", last
		}
	}
	h.fired++
	return "killed itself between StartRecovery and its save", last
}

// describe summarises an execution for the log.
func describe(x *drsorch.Execution) string {
	if x == nil {
		return "not readable"
	}
	var waves []string
	for _, w := range x.Waves {
		submitting := 0
		for _, j := range w.Jobs {
			if j.Status == drsorch.JobSubmitting {
				submitting++
			}
		}
		s := fmt.Sprintf("%d:%s/%djobs", w.WaveNumber, w.Status, len(w.Jobs))
		if submitting > 0 {
			s += fmt.Sprintf("(%d submitting)", submitting)
		}
		waves = append(waves, s)
	}
	return fmt.Sprintf("%s [%s]", x.Status, strings.Join(waves, " "))
}

// verifyDrill checks an ended drill against the API and the simulator's state.
func (h *crashHarness) verifyDrill(r int, run crashRun, id string) *drsorch.Execution {
	h.t.Helper()
	x, ok := h.get(id)
	if !ok {
		h.t.Fatalf("drill %d: not readable", r)
	}
	// The scripted outcome: every server launched, or one failed launch in
	// failWave, whose later waves are then skipped.
	started, launched := 0, 0
	want := drsorch.ExecutionCompleted
	for w, n := range crashWaveSizes {
		if run.failWave >= 0 && w > run.failWave {
			break
		}
		started += n
		launched += n
	}
	if run.failWave >= 0 {
		want = drsorch.ExecutionPartial
		launched--
	}
	if x.Status != want || x.OutcomeDetails == nil || x.OutcomeDetails.ServersLaunched != launched || x.OutcomeDetails.ServersFailed != started-launched {
		h.t.Fatalf("drill %d ended %s (%s), want %s with %d server(s) launched", r, x.Status, x.OutcomeSummary, want, launched)
	}
	crashCheckTimeline(h.t, x)
	for _, w := range x.Waves {
		for _, j := range w.Jobs {
			if j.Status == drsorch.JobSubmitting || j.JobID == "" {
				h.t.Errorf("drill %d wave %d: unsettled intent %+v", r, w.WaveNumber, j)
			}
		}
	}

	// Each server in exactly one LAUNCH job of the drill, and one recovery instance.
	sim := h.simCopy()
	inJobs := map[string]int{}
	jobs := map[string]bool{}
	for _, j := range sim.Jobs(drsorch.Target{Region: crashRegion}) {
		if j.Type != drsorch.JobLaunch || j.Tags[engine.TagExecution] != id {
			continue
		}
		jobs[j.JobID] = true
		for _, p := range j.ParticipatingServers {
			inJobs[p.SourceServerID]++
		}
	}
	if len(inJobs) != started {
		h.t.Errorf("drill %d: %d servers in LAUNCH jobs, want %d", r, len(inJobs), started)
	}
	for s, n := range inJobs {
		if n != 1 {
			h.t.Errorf("drill %d: server %s launched %d times", r, s, n)
		}
	}
	instances := map[string]int{}
	for _, ri := range sim.Instances(drsorch.Target{Region: crashRegion}) {
		if jobs[ri.JobID] {
			instances[ri.SourceServerID]++
		}
	}
	if len(instances) != launched {
		h.t.Errorf("drill %d: recovery instances for %d servers, want %d", r, len(instances), launched)
	}
	for s, n := range instances {
		if n != 1 {
			h.t.Errorf("drill %d: server %s has %d recovery instances", r, s, n)
		}
	}
	if h.t.Failed() {
		h.t.FailNow()
	}
	return x
}

// terminate terminates the drill's instances with a kill between
// TerminateRecoveryInstances and the save of its job id, then checks that the
// termination completes and that no instance was terminated twice.
func (h *crashHarness) terminate(r int, id string) {
	h.t.Helper()
	h.stop()
	h.start(app.EnvKillAfterTerminate + "=1")
	code, err := h.try("POST", "/executions/"+id+"/terminate-instances", map[string]any{}, nil)
	if err == nil {
		h.t.Fatalf("drill %d: terminate answered %d instead of the process dying", r, code)
	}
	if !h.waitKilled(30 * time.Second) {
		h.t.Fatalf("drill %d: the terminate hook did not fire", r)
	}
	h.terminateKills++
	h.start()
	// The operator asks again and again, from the first moment, while the lost
	// call is reconciled (the first job is adopted by its instances, the
	// intents never called are dropped) and the rest is terminated: no instance
	// may end up in two TERMINATE jobs.
	deadline := time.Now().Add(time.Minute)
	asked := 0
	for {
		var res engine.TerminateResult
		code := h.call("POST", "/executions/"+id+"/terminate-instances", map[string]any{}, &res)
		asked++
		if code != 200 && code != 400 {
			h.t.Fatalf("drill %d: terminate again: %d %+v", r, code, res)
		}
		var st engine.TerminationStatus
		if code := h.call("GET", "/executions/"+id+"/termination-status", nil, &st); code != 200 {
			h.t.Fatalf("drill %d: termination-status: %d", r, code)
		}
		if x, ok := h.get(id); ok && x.InstancesTerminated {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("drill %d: termination did not complete: %+v", r, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	h.terminateCalls += asked
	x, _ := h.get(id)
	if !slices.ContainsFunc(x.Timeline, func(ev drsorch.TimelineEvent) bool { return ev.Type == "terminate_recovered" }) {
		h.t.Errorf("drill %d: the TERMINATE job of the lost answer was not adopted", r)
	}
	var after engine.TerminateResult
	if code := h.call("POST", "/executions/"+id+"/terminate-instances", map[string]any{}, &after); code != 400 && !(code == 200 && after.NoInstancesFound) {
		h.t.Fatalf("drill %d: terminate after the end: %d %+v", r, code, after)
	}

	// Each instance of the drill in exactly one TERMINATE job, none left.
	sim := h.simCopy()
	own := map[string]bool{}
	for _, w := range x.Waves {
		for _, s := range w.ServerStatuses {
			if s.RecoveryInstanceID != "" {
				own[s.RecoveryInstanceID] = true
			}
		}
	}
	terminated := map[string]int{}
	for _, j := range sim.Jobs(drsorch.Target{Region: crashRegion}) {
		if j.Type != drsorch.JobTerminate {
			continue
		}
		for _, p := range j.ParticipatingServers {
			if own[p.RecoveryInstanceID] {
				terminated[p.RecoveryInstanceID]++
			}
		}
	}
	if len(terminated) != len(own) {
		h.t.Errorf("drill %d: %d of %d instances in TERMINATE jobs", r, len(terminated), len(own))
	}
	for id, n := range terminated {
		if n != 1 {
			h.t.Errorf("drill %d: instance %s in %d TERMINATE jobs", r, id, n)
		}
	}
	for _, ri := range sim.Instances(drsorch.Target{Region: crashRegion}) {
		if own[ri.RecoveryInstanceID] {
			h.t.Errorf("drill %d: instance %s still exists", r, ri.RecoveryInstanceID)
		}
	}
	if h.t.Failed() {
		h.t.FailNow()
	}
}

// crashCheckTimeline checks that every status change on the timeline is legal
// and starts where the previous one ended.
func crashCheckTimeline(t *testing.T, x *drsorch.Execution) {
	t.Helper()
	prev := ""
	for _, ev := range x.Timeline {
		if ev.To == "" {
			continue
		}
		if ev.From != "" {
			if _, err := drsorch.CheckExecutionTransition(drsorch.ExecutionStatus(ev.From), drsorch.ExecutionStatus(ev.To)); err != nil {
				t.Errorf("execution %s: illegal transition on the timeline: %+v", x.ExecutionID, ev)
			}
			if prev != "" && ev.From != prev {
				t.Errorf("execution %s: the timeline jumps from %s to an event from %s", x.ExecutionID, prev, ev.From)
			}
		}
		prev = ev.To
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
