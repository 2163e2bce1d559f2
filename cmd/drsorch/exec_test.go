package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/engine"
)

func TestExecUsage(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	t.Setenv("DRSORCH_DATA", t.TempDir()) // no admin token there
	t.Setenv("DRSORCH_TOKEN", "")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", []string{"exec"}, 2, "usage: drsorch exec COMMAND"},
		{"unknown command", []string{"exec", "launch"}, 2, `unknown exec command "launch"`},
		{"start without plan", []string{"exec", "start", "--drill"}, 2, "start needs --plan ID"},
		{"start without type", []string{"exec", "start", "--plan", "p"}, 2, "exactly one of --drill and --recovery"},
		{"start with both types", []string{"exec", "start", "--plan", "p", "--drill", "--recovery"}, 2, "exactly one of --drill and --recovery"},
		{"watch without id", []string{"exec", "watch"}, 2, "watch takes exactly one execution id"},
		{"get with two ids", []string{"exec", "get", "a", "b"}, 2, "get takes exactly one execution id"},
		{"delete nothing", []string{"exec", "delete"}, 2, "delete takes execution ids or --completed"},
		{"bad flag", []string{"exec", "list", "--limitt", "3"}, 2, "flag provided but not defined"},
		{"no token", []string{"exec", "list"}, 1, "no token: pass --token, set DRSORCH_TOKEN"},
		{"unreachable", []string{"exec", "list", "--token", "x", "--server", "http://127.0.0.1:1"}, 1, "cannot reach drsorch at http://127.0.0.1:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d\nstdout %s\nstderr %s\nwant %d and %q", r.code, r.stdout, r.stderr, tc.code, tc.want)
			}
		})
	}
}

func TestExecDrillEndToEnd(t *testing.T) {
	s := startServeRun(t, t.TempDir(), fastServe...)
	s.useServer(t)

	// start --wait watches to the end and exits 0 on COMPLETED.
	r := cli(t, "exec", "start", "--plan", "demo-plan", "--drill", "--wait", "--interval", "100ms").ok(t)
	id := strings.SplitN(r.stdout, "\n", 2)[0]
	if !drsorch.ValidUUID(id) || !strings.Contains(r.stderr, "Started DRILL of plan demo-plan") {
		t.Fatalf("start output:\n%s\n%s", r.stdout, r.stderr)
	}
	for _, want := range []string{"Wave 0 Database", "Wave 2 Web", "launched", "ended COMPLETED", "24 server(s) launched"} {
		if !strings.Contains(strings.Join(strings.Fields(r.stdout), " "), want) {
			t.Fatalf("watch output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Plain output prints a line only when something changed.
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		key := strings.Join(f[1:len(f)-1], " ") // without the clock and the elapsed time
		if seen[key] && !strings.HasPrefix(l, "Execution") {
			t.Fatalf("line printed twice without a change: %q\n%s", l, r.stdout)
		}
		seen[key] = true
	}

	r = cli(t, "exec", "list").ok(t)
	if !strings.Contains(r.stdout, id) || !strings.Contains(r.stdout, "COMPLETED") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	var x engine.ExecutionView
	if err := json.Unmarshal([]byte(cli(t, "exec", "get", id).ok(t).stdout), &x); err != nil || x.ExecutionID != id || x.Status != drsorch.ExecutionCompleted {
		t.Fatalf("get: %v %+v", err, x)
	}
	if r = cli(t, "exec", "report", id).ok(t); !strings.Contains(r.stdout, "achieved RTO") || !strings.Contains(r.stdout, "24/24 servers recovered") {
		t.Fatalf("report:\n%s", r.stdout)
	}
	if r = cli(t, "exec", "instances", id).ok(t); !strings.Contains(r.stdout, "Found 24 recovery instances") || strings.Count(r.stdout, "\n") != 26 {
		t.Fatalf("instances:\n%s", r.stdout)
	}
	if r = cli(t, "exec", "logs", id).ok(t); strings.Count(r.stdout, drsorch.EventLaunchEnd) != 24 || strings.Count(r.stdout, "wave ") != 3 {
		t.Fatalf("logs:\n%s", r.stdout)
	}
	if r = cli(t, "exec", "terminate", id, "--wait", "--interval", "100ms").ok(t); !strings.Contains(r.stdout, "Initiated termination of 24 recovery instances") ||
		!strings.Contains(r.stdout, "terminated 24/24 (100%)") {
		t.Fatalf("terminate:\n%s", r.stdout)
	}
	if r = cli(t, "exec", "terminate", id); r.code != 1 || !strings.Contains(r.stderr, "Instances already terminated") {
		t.Fatalf("terminate again: %+v", r)
	}
	if r = cli(t, "exec", "delete", id, "nope").ok(t); !strings.Contains(r.stdout, "1 deleted, not found: nope") {
		t.Fatalf("delete:\n%s", r.stdout)
	}
	if r = cli(t, "exec", "get", id); r.code != 1 || !strings.Contains(r.stderr, "NOT_FOUND (HTTP 404)") {
		t.Fatalf("get after delete: %+v", r)
	}
}

func TestExecPauseResumeCancel(t *testing.T) {
	s := startServeRun(t, t.TempDir(), "--sim-speed", "600", "--poll-interval", "100ms")
	s.useServer(t)
	id := strings.TrimSpace(cli(t, "exec", "start", "--plan", "demo-plan", "--drill").ok(t).stdout)
	// Only one active execution per plan.
	if r := cli(t, "exec", "start", "--plan", "demo-plan", "--recovery"); r.code != 1 || !strings.Contains(r.stderr, "ALREADY_EXISTS") {
		t.Fatalf("second start: %+v", r)
	}
	// Pause while the first wave runs (not in the instant between RUNNING and its start).
	waitFor(t, id, "wave 0 running", func(x *engine.ExecutionView) bool {
		return x.Status == drsorch.ExecutionRunning && len(x.Waves) > 0 && x.Waves[0].Status.InFlight()
	})
	if r := cli(t, "exec", "pause", id).ok(t); !strings.Contains(r.stdout, "Pause scheduled - will pause after wave 0 completes (PAUSE_PENDING)") {
		t.Fatalf("pause: %s", r.stdout)
	}
	waitStatus(t, id, drsorch.ExecutionPaused)
	if r := cli(t, "exec", "resume", id).ok(t); !strings.Contains(r.stdout, "Execution resumed - wave 2 will start") {
		t.Fatalf("resume: %s", r.stdout)
	}
	if r := cli(t, "exec", "cancel", id, "--reason", "enough").ok(t); !strings.Contains(r.stdout, "(CANCELLING)") && !strings.Contains(r.stdout, "(CANCELLED)") {
		t.Fatalf("cancel: %s", r.stdout)
	}
	// watch exits non-zero for an execution that did not complete.
	r := cli(t, "exec", "watch", id, "--interval", "100ms")
	if r.code != 1 || !strings.Contains(r.stdout, "ended PARTIAL") || !strings.Contains(r.stderr, "ended PARTIAL") {
		t.Fatalf("watch of a cancelled drill: %+v", r)
	}
	if r := cli(t, "exec", "list", "--status", "partial", "--plan", "demo-plan").ok(t); !strings.Contains(r.stdout, id) {
		t.Fatalf("list --status partial:\n%s", r.stdout)
	}
	if r := cli(t, "exec", "delete", "--completed").ok(t); !strings.Contains(r.stdout, "1 deleted") {
		t.Fatalf("delete --completed: %s", r.stdout)
	}
}

func TestExecTokenSources(t *testing.T) {
	s := startServeRun(t, t.TempDir())
	s.useServer(t)
	key, err := auth.LoadKey(s.data)
	if err != nil {
		t.Fatal(err)
	}
	ro, _ := key.Mint(auth.TokenRequest{Group: auth.GroupReadOnly, User: "reader"})
	other := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		code int
	}{
		{"admin token of --data", nil, nil, 0},
		{"DRSORCH_TOKEN", map[string]string{"DRSORCH_TOKEN": ro, "DRSORCH_DATA": other}, nil, 0},
		{"--token wins", map[string]string{"DRSORCH_TOKEN": "garbage"}, []string{"--token", ro}, 0},
		{"bad token", nil, []string{"--token", "garbage"}, 1},
		{"token of another server", map[string]string{"DRSORCH_DATA": other}, nil, 1},
	}
	if _, _, err := auth.LoadOrCreateKey(other); err != nil {
		t.Fatal(err)
	}
	if _, _, err := auth.EnsureAdminToken(other, mustKey(t, other), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := cli(t, append([]string{"plan", "list"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
			}
			if tc.code != 0 && !strings.Contains(r.stderr, "UNAUTHORIZED (HTTP 401)") {
				t.Fatalf("stderr %s", r.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(other, auth.AdminTokenFile)); err != nil {
		t.Fatal(err)
	}
}

func mustKey(t *testing.T, dir string) *auth.Key {
	t.Helper()
	k, err := auth.LoadKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// waitStatus polls `exec get` until the execution has the status.
func waitStatus(t *testing.T, id string, want drsorch.ExecutionStatus) {
	t.Helper()
	waitFor(t, id, string(want), func(x *engine.ExecutionView) bool { return x.Status == want })
}

// waitFor polls the execution through the CLI until cond holds.
func waitFor(t *testing.T, id, what string, cond func(*engine.ExecutionView) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var x engine.ExecutionView
		r := cli(t, "exec", "get", id).ok(t)
		if err := json.Unmarshal([]byte(r.stdout), &x); err != nil {
			t.Fatal(err)
		}
		if cond(&x) {
			return
		}
		if x.Status.Terminal() || time.Now().After(deadline) {
			t.Fatalf("execution %s is %s, waited for %s", id, x.Status, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
