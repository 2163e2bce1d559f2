//go:build integration

package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/internal/testenv"
)

// process is a `drsorch serve` started as a separate process.
type process struct {
	cmd    *exec.Cmd
	out    *testenv.LockedBuffer
	exited chan error
	url    string
}

// buildBinary builds drsorch into the test's temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "drsorch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startKillable runs `drsorch serve` at 600 simulated seconds per second on addr.
func startKillable(t *testing.T, bin, data, addr string) *process {
	t.Helper()
	p := &process{out: &testenv.LockedBuffer{}, exited: make(chan error, 1), url: "http://" + addr}
	p.cmd = exec.Command(bin, "serve", "--data", data, "--addr", addr, "--sim-speed", "600", "--poll-interval", "200ms")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", p.out)
		}
	})
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
			t.Fatalf("serve exited early: %v\n%s", err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /health:\n%s", p.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type api struct {
	t     *testing.T
	base  string
	token string
}

func (a api) call(method, path string, body any, out any) int {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

type execution struct {
	ExecutionID    string `json:"executionId"`
	Status         string `json:"status"`
	OutcomeSummary string `json:"outcomeSummary"`
	Waves          []struct {
		WaveNumber     int    `json:"waveNumber"`
		Status         string `json:"status"`
		ServerStatuses []struct {
			SourceServerID string `json:"sourceServerId"`
			LaunchStatus   string `json:"launchStatus"`
			LastEvent      string `json:"lastEvent"`
		} `json:"serverStatuses"`
	} `json:"waves"`
}

// TestServeSurvivesSIGKILLMidWave starts a demo drill, kills `serve` with
// SIGKILL while the second wave runs, starts it again, and checks that the
// drill completes with exactly one recovery instance per source server.
func TestServeSurvivesSIGKILLMidWave(t *testing.T) {
	bin := buildBinary(t)
	data := filepath.Join(t.TempDir(), "data")
	addr := testenv.FreeAddr(t)
	first := startKillable(t, bin, data, addr)
	tok, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	a := api{t: t, base: "http://" + addr, token: strings.TrimSpace(string(tok))}

	var started struct {
		ExecutionID string `json:"executionId"`
		Status      string `json:"status"`
	}
	if code := a.call("POST", "/executions", map[string]string{"planId": "demo-plan", "executionType": "DRILL", "initiatedBy": "integration"}, &started); code != 202 {
		t.Fatalf("start: %d %+v", code, started)
	}
	id := started.ExecutionID

	// Wait until the second wave is under way in DRS, then kill the process.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var x execution
		a.call("GET", "/executions/"+id, nil, &x)
		if len(x.Waves) == 3 && x.Waves[0].Status == "COMPLETED" && x.Waves[1].Status == "IN_PROGRESS" &&
			len(x.Waves[1].ServerStatuses) > 0 && x.Waves[1].ServerStatuses[0].LastEvent != "" {
			t.Logf("killing serve while wave 1 runs (first server's last event %s)", x.Waves[1].ServerStatuses[0].LastEvent)
			break
		}
		if x.Status != "" && x.Status != "PENDING" && x.Status != "RUNNING" {
			t.Fatalf("the drill ended before it could be interrupted: %+v", x)
		}
		if time.Now().After(deadline) {
			t.Fatalf("wave 1 never started: %+v", x)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-first.exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("serve did not die of SIGKILL: %v", err)
	}

	second := startKillable(t, bin, data, addr)
	if strings.Contains(second.out.String(), "Seeded the demo") {
		t.Fatal("the restart seeded the demo again")
	}

	// The command-line client watches the drill to its end.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	watch := exec.CommandContext(ctx, bin, "exec", "watch", id, "--server", a.base, "--data", data, "--interval", "200ms")
	out, err := watch.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ended COMPLETED") {
		t.Fatalf("exec watch: %v\n%s", err, out)
	}

	var x execution
	a.call("GET", "/executions/"+id, nil, &x)
	if x.Status != "COMPLETED" || x.OutcomeSummary != "All 3 wave(s) completed successfully. 24 server(s) launched." {
		t.Fatalf("after the restart: %s %q", x.Status, x.OutcomeSummary)
	}

	// Exactly one recovery instance per source server, as the API reports them...
	var inst struct {
		TotalInstances int `json:"totalInstances"`
		Instances      []struct {
			SourceServerID     string `json:"sourceServerId"`
			RecoveryInstanceID string `json:"recoveryInstanceId"`
		} `json:"instances"`
	}
	if code := a.call("GET", "/executions/"+id+"/recovery-instances", nil, &inst); code != 200 {
		t.Fatalf("recovery-instances: %d", code)
	}
	perServer := map[string]int{}
	for _, in := range inst.Instances {
		perServer[in.SourceServerID]++
	}
	if inst.TotalInstances != 24 || len(perServer) != 24 {
		t.Fatalf("%d instances for %d servers: %v", inst.TotalInstances, len(perServer), perServer)
	}
	for s, n := range perServer {
		if n != 1 {
			t.Errorf("server %s has %d recovery instances", s, n)
		}
	}

	// ...and as the simulator persisted them (read from a copy of its state
	// file, on the data directory's scaled clock): one LAUNCH job per wave and
	// one recovery instance per source server.
	state, err := os.ReadFile(filepath.Join(data, app.SimStateFile))
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(t.TempDir(), "copy.json")
	if err := os.WriteFile(statePath, state, 0o600); err != nil {
		t.Fatal(err)
	}
	clock, err := app.OpenScaledClock(data, nil, 600)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := drssim.Open(drssim.Options{Clock: clock, StatePath: statePath})
	if err != nil {
		t.Fatal(err)
	}
	target := drsorch.Target{Region: app.DemoRegion}
	launches := 0
	for _, j := range sim.Jobs(target) {
		if j.Type == drsorch.JobLaunch {
			launches++
		}
	}
	instances := map[string]int{}
	for _, ri := range sim.Instances(target) {
		instances[ri.SourceServerID]++
	}
	if launches != 3 || len(instances) != 24 {
		t.Fatalf("simulator state: %d LAUNCH jobs, instances %v", launches, instances)
	}
	for s, n := range instances {
		if n != 1 {
			t.Errorf("simulator: server %s has %d recovery instances", s, n)
		}
	}

	// A SIGTERM stops serve cleanly.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second.exited:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15s of SIGTERM")
	}
}
