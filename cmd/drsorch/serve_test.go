package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch/internal/testenv"
)

// These tests run the commands in process, through run, as the binary would.

// serveRun is `drsorch serve` running in this process.
type serveRun struct {
	url, data string
	out       *testenv.LockedBuffer
	stop      context.CancelFunc
	done      chan int
}

// fastServe are serve flags that run the demo drill in a few seconds.
var fastServe = []string{"--sim-speed", "3000", "--poll-interval", "100ms"}

// startServeRun runs serve with args until the test ends and waits for /health.
// Unless args set them, --data is data and --addr a free port.
func startServeRun(t *testing.T, data string, args ...string) *serveRun {
	t.Helper()
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	addr := testenv.FreeAddr(t)
	if os.Getenv("DRSORCH_ADDR") != "" {
		t.Setenv("DRSORCH_ADDR", addr)
	} else {
		args = append([]string{"--addr", addr}, args...)
	}
	if data != "" {
		args = append([]string{"--data", data}, args...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &serveRun{url: "http://" + addr, data: data, out: &testenv.LockedBuffer{}, stop: cancel, done: make(chan int, 1)}
	go func() { s.done <- run(ctx, append([]string{"serve"}, args...), s.out, s.out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop within 20s of its context ending")
		}
		if t.Failed() {
			t.Logf("serve output:\n%s", s.out)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case code := <-s.done:
			t.Fatalf("serve exited early with %d:\n%s", code, s.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /health:\n%s", s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// useServer points the client commands at s through the environment.
func (s *serveRun) useServer(t *testing.T) {
	t.Setenv("DRSORCH_URL", s.url)
	t.Setenv("DRSORCH_DATA", s.data)
	t.Setenv("DRSORCH_TOKEN", "")
}

// cliResult is a finished command.
type cliResult struct {
	stdout, stderr string
	code           int
}

// cli runs a drsorch command in process.
func cli(t *testing.T, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return cliResult{stdout: out.String(), stderr: errb.String(), code: code}
}

func (r cliResult) ok(t *testing.T) cliResult {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	return r
}

func TestServeRefusesBadFlags(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	for _, k := range []string{"EXECUTION_HISTORY_TABLE", "RECOVERY_PLANS_TABLE", "PROTECTION_GROUPS_TABLE", "TARGET_ACCOUNTS_TABLE"} {
		t.Setenv(k, "")
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"zero speed", []string{"--sim-speed", "0"}, 2, "--sim-speed must be positive"},
		{"negative poll", []string{"--poll-interval", "-1s"}, 2, "--poll-interval must be positive"},
		{"argument", []string{"now"}, 2, "serve takes no arguments"},
		{"bad demo", []string{"--demo=maybe"}, 2, "want true, false or auto"},
		{"unknown flag", []string{"--port", "1"}, 2, "flag provided but not defined: -port"},
		{"create tables in sqlite", []string{"--create-tables"}, 2, "--create-tables needs --store dynamodb"},
		{"dynamodb without tables", []string{"--store", "dynamodb"}, 1, "--store dynamodb: DynamoDB table names not set: EXECUTION_HISTORY_TABLE"},
		{"unknown drs", []string{"--drs", "gcp"}, 1, `unknown DRS backend "gcp"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", t.TempDir(), "--addr", testenv.FreeAddr(t)}, tc.args...)
			r := cli(t, args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
		})
	}
	// The port is taken: serve says so.
	busy := startServeRun(t, t.TempDir())
	r := cli(t, "serve", "--data", t.TempDir(), "--addr", strings.TrimPrefix(busy.url, "http://"))
	if r.code != 1 || !strings.Contains(r.stderr, "address already in use") {
		t.Fatalf("busy port: %+v", r)
	}
}

func TestServeTakesItsSettingsFromTheEnvironment(t *testing.T) {
	data := filepath.Join(t.TempDir(), "from-env")
	t.Setenv("DRSORCH_DATA", data)
	t.Setenv("DRSORCH_ADDR", "set-by-startServeRun")
	s := startServeRun(t, "")
	s.data = data
	if _, err := os.Stat(filepath.Join(data, "admin-token")); err != nil {
		t.Fatalf("no admin token in DRSORCH_DATA: %v", err)
	}
	out := s.out.String()
	for _, want := range []string{"drsorch is serving on " + s.url, "Wrote a new admin token to " + filepath.Join(data, "admin-token"),
		"Seeded the demo"} {
		if !strings.Contains(out, want) {
			t.Fatalf("serve did not print %q:\n%s", want, out)
		}
	}
	s.useServer(t)
	if r := cli(t, "plan", "list").ok(t); !strings.Contains(r.stdout, "demo-plan") {
		t.Fatalf("plan list: %+v", r)
	}
	// Logs never carry the token.
	tok, _ := os.ReadFile(filepath.Join(data, "admin-token"))
	if strings.Contains(s.out.String(), strings.TrimSpace(string(tok))) {
		t.Fatal("the admin token is in the output")
	}
}

func TestServeDemoFlag(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		seeded bool
	}{
		{"off", []string{"--demo=false"}, false},
		{"on", []string{"--demo"}, true},
		{"auto", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := startServeRun(t, t.TempDir(), tc.args...)
			s.useServer(t)
			r := cli(t, "plan", "list").ok(t)
			if strings.Contains(r.stdout, "demo-plan") != tc.seeded || strings.Contains(s.out.String(), "Seeded the demo") != tc.seeded {
				t.Fatalf("seeded=%v; plan list:\n%s", tc.seeded, r.stdout)
			}
		})
	}
}

func TestServeStopsCleanly(t *testing.T) {
	s := startServeRun(t, t.TempDir())
	s.stop()
	select {
	case code := <-s.done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, s.out)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	s.done <- 0 // for the cleanup
	if !strings.Contains(s.out.String(), "shutting down") || !strings.Contains(s.out.String(), "msg=stopped") {
		t.Fatalf("no shutdown in the log:\n%s", s.out)
	}
}
