package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRuntime is a minimal Lambda Runtime API (the part a custom runtime
// uses): it hands out queued events on /next and collects what comes back.
type fakeRuntime struct {
	srv     *http.Server
	addr    string
	events  chan []byte
	results chan invokeResult
	seq     int
	mu      sync.Mutex
}

// invokeResult is what the function answered: a response, an invocation error or an init error.
type invokeResult struct {
	kind      string // "response", "error" or "init-error"
	body      []byte
	errorType string
	at        time.Time
}

func newFakeRuntime(t testing.TB) *fakeRuntime {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntime{addr: ln.Addr().String(), events: make(chan []byte, 16), results: make(chan invokeResult, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		var ev []byte
		select {
		case ev = <-f.events:
		case <-r.Context().Done():
			return
		}
		f.mu.Lock()
		f.seq++
		id := fmt.Sprintf("req-%d", f.seq)
		f.mu.Unlock()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(30*time.Second).UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:210987654321:function:drsorch-test")
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
		w.Write(ev)
	})
	record := func(kind string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			at := time.Now()
			w.WriteHeader(http.StatusAccepted)
			f.results <- invokeResult{kind: kind, body: b, errorType: r.Header.Get("Lambda-Runtime-Function-Error-Type"), at: at}
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", record("response"))
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", record("error"))
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", record("init-error"))
	f.srv = &http.Server{Handler: mux}
	go f.srv.Serve(ln)
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// invoke queues an event and waits for the function's answer.
func (f *fakeRuntime) invoke(t testing.TB, event string) invokeResult {
	t.Helper()
	f.events <- []byte(event)
	return f.wait(t)
}

func (f *fakeRuntime) wait(t testing.TB) invokeResult {
	t.Helper()
	select {
	case r := <-f.results:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("the function did not answer")
		return invokeResult{}
	}
}

// BootstrapBuildArgs build drsorch as it is deployed to Lambda (provided.al2023):
// a static binary named bootstrap, without aws-lambda-go's RPC mode (the
// lambda.norpc tag AWS recommends for custom runtimes). Build it with
//
//	CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o bootstrap ./cmd/drsorch
var bootstrapBuildArgs = []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w"}

// builds holds each package built once per test binary, by package path.
var builds sync.Map // string → func() (string, error)

// build builds the package at pkg (relative to this directory) as bootstrap
// is built, once per test binary, and returns the executable's path.
func build(tb testing.TB, pkg string) string {
	tb.Helper()
	f, _ := builds.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		dir, err := os.MkdirTemp("", "drsorch-bootstrap-")
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", append(bootstrapBuildArgs, "-o", path, pkg)...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
		return path, nil
	}))
	path, err := f.(func() (string, error))()
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// bootstrap builds drsorch as a Lambda would deploy it: a static binary named
// bootstrap. DRSORCH_BOOTSTRAP names a binary to use instead (to measure a
// build made otherwise).
func bootstrap(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("DRSORCH_BOOTSTRAP"); p != "" {
		return p
	}
	return build(tb, ".")
}

// startFunction runs bootstrap against the runtime with the environment given.
func startFunction(t testing.TB, rt *fakeRuntime, env map[string]string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bootstrap(t))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_LAMBDA_RUNTIME_API=" + rt.addr}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, &stderr
}

// localEnv runs the function on the local backends, with the corpus's fixtures.
func localEnv(t testing.TB) map[string]string {
	fixtures, err := filepath.Abs(filepath.Join(corpus, "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"DRSORCH_STORE": "memory", "DRSORCH_DRS": "sim", "DRSORCH_WORKER": "inline",
		"DRSORCH_SIM_FIXTURES": fixtures, "AWS_LAMBDA_FUNCTION_NAME": "drsorch-test", "AWS_REGION": "us-east-1"}
}

func readEvent(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, "events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLambdaRuntime runs the bootstrap binary against a Runtime API and sends
// it each kind of event, one at a time.
func TestLambdaRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	rt := newFakeRuntime(t)
	_, stderr := startFunction(t, rt, localEnv(t))
	tests := []struct {
		name, event, kind, want string
	}{
		{"API Gateway REST", readEvent(t, "http-v1-get-execution"), "response", `"statusCode":200`},
		{"API Gateway HTTP API", readEvent(t, "http-v2-get-executions"), "response", `\"count\":2`},
		{"direct invocation", `{"operation":"get_execution","parameters":{"executionId":"6a1f0c2e-0000-4000-8000-000000000003"}}`,
			"response", `"status":"PAUSED"`},
		{"EventBridge", readEvent(t, "eventbridge-scheduled-event"), "response", `"executionsFound":3`},
		{"start inline, then worker-less RUNNING", `{"operation":"start_execution","parameters":{"planId":"plan-1","executionType":"DRILL","initiatedBy":"t"}}`,
			"response", `"status":"PENDING"`},
		{"a Lambda error", `{"action":"advance"}`, "error", `"errorType":"drsorch.InvalidInput"`},
		{"invalid invocation", `{}`, "response", `"INVALID_INVOCATION"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rt.invoke(t, tc.event)
			if r.kind != tc.kind || !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("%s %s, want %s containing %s\nstderr: %s", r.kind, r.body, tc.kind, tc.want, stderr)
			}
			if r.kind == "error" && r.errorType != "" && !strings.HasPrefix(r.errorType, "drsorch.") {
				t.Errorf("error type header %q", r.errorType)
			}
		})
	}
	for _, secret := range []string{"AQCEAAAA", "ext-7f3a91c2", "Bearer "} {
		if strings.Contains(stderr.String(), secret) {
			t.Errorf("the function's log holds %q", secret)
		}
	}
}

// TestLambdaRefusesToStart checks that a configuration the Lambda cannot serve
// stops it at init, with the reason sent to the Runtime API.
func TestLambdaRefusesToStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"DynamoDB without tables", map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "f"}, "EXECUTION_HISTORY_TABLE"},
		{"unknown store", map[string]string{"DRSORCH_STORE": "redis", "AWS_LAMBDA_FUNCTION_NAME": "f"}, "redis"},
		{"sqlite without a directory", map[string]string{"DRSORCH_STORE": "sqlite", "DRSORCH_DRS": "sim", "AWS_LAMBDA_FUNCTION_NAME": "f"}, "DRSORCH_DATA"},
		{"bad state machine ARN", map[string]string{"DRSORCH_STORE": "memory", "DRSORCH_DRS": "sim", "AWS_LAMBDA_FUNCTION_NAME": "f",
			"STATE_MACHINE_ARN": "my-state-machine"}, "not a state machine ARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := newFakeRuntime(t)
			cmd, stderr := startFunction(t, rt, tc.env)
			r := rt.wait(t)
			if r.kind != "init-error" || !strings.Contains(string(r.body), tc.want) {
				t.Fatalf("%s %s, want an init error naming %s", r.kind, r.body, tc.want)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("the function exited 0")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the function did not exit")
			}
			if !strings.Contains(stderr.String(), "refusing to start") {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

// peakRSS returns the process's peak resident set (VmHWM) in bytes.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM for %d", pid)
}

// productionEnv is the Lambda's configuration on AWS (DynamoDB, DRS, Step
// Functions, the worker by self-invocation). Nothing is opened at init, so
// answering {} touches no AWS service.
var productionEnv = map[string]string{
	"AWS_LAMBDA_FUNCTION_NAME": "drsorch-execution-handler", "AWS_REGION": "us-east-1",
	"EXECUTION_HISTORY_TABLE": "drsorch-execution-history", "RECOVERY_PLANS_TABLE": "drsorch-recovery-plans",
	"PROTECTION_GROUPS_TABLE": "drsorch-protection-groups", "TARGET_ACCOUNTS_TABLE": "drsorch-target-accounts",
	"STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:drsorch-orchestration",
}

// coldStarts starts the function bin n times with the production configuration,
// sends {} and returns the sorted times from process start to the answer and
// the sorted peak RSS (VmHWM) of each process.
func coldStarts(tb testing.TB, bin string, n int) ([]time.Duration, []int64) {
	tb.Helper()
	var times []time.Duration
	var rss []int64
	for i := 0; i < n; i++ {
		rt := newFakeRuntime(tb)
		rt.events <- []byte(`{}`)
		cmd := exec.Command(bin)
		cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + rt.addr}
		for k, v := range productionEnv {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		r := rt.wait(tb)
		elapsed := r.at.Sub(start)
		hwm, err := peakRSS(cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		rt.srv.Close()
		if err != nil {
			tb.Fatal(err)
		}
		if r.kind != "response" || !strings.Contains(string(r.body), "INVALID_INVOCATION") {
			tb.Fatalf("answer %s %s", r.kind, r.body)
		}
		times = append(times, elapsed)
		rss = append(rss, hwm)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	return times, rss
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// referenceColdStart is the replaced handler's cold start on a machine of
// the same kind (process start, import, first event answered).
const referenceColdStart = 850 * time.Millisecond

// BenchmarkColdStart measures a cold start as the replaced handler's was
// measured: from process start to the first event ({}) answered, and the
// process's peak RSS. It starts drsorch's bootstrap and the floor (an
// aws-lambda-go function answering a constant, testdata/coldstart-floor) in
// turn, rounds of 20 starts each, so both see the same machine; it reports
// the median of the rounds' medians of each. Run it with
//
//	go test ./cmd/drsorch -run '^$' -bench ColdStart -benchtime 200x
func BenchmarkColdStart(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc")
	}
	const round = 20
	bins := []string{bootstrap(b), build(b, "./testdata/coldstart-floor")}
	var medians [2][]time.Duration
	var rss [2][]int64
	for left := b.N; left > 0; left -= round {
		for i, bin := range bins {
			times, r := coldStarts(b, bin, min(round, left))
			medians[i] = append(medians[i], times[len(times)/2])
			rss[i] = append(rss[i], r...)
		}
	}
	for i := range bins {
		slices.Sort(medians[i])
		slices.Sort(rss[i])
	}
	med := medians[0][len(medians[0])/2]
	b.ReportMetric(ms(med), "ms-median")
	b.ReportMetric(ms(medians[0][0]), "ms-best-round")
	b.ReportMetric(ms(medians[0][len(medians[0])-1]), "ms-worst-round")
	b.ReportMetric(float64(rss[0][len(rss[0])/2])/(1<<20), "MiB-peak-RSS")
	b.ReportMetric(ms(medians[1][len(medians[1])/2]), "floor-ms-median")
	b.ReportMetric(float64(rss[1][len(rss[1])/2])/(1<<20), "floor-MiB-peak-RSS")
	b.ReportMetric(float64(referenceColdStart)/float64(med), "x-faster-than-reference")
	b.ReportMetric(0, "ns/op")
}

// TestColdStartLimits guards the cold start's memory against regressions: the
// peak RSS stays under the 20 MiB target. Time is not asserted here (a loaded
// test run makes it noisy); BenchmarkColdStart measures it and
// docs/performance.md has the figures.
func TestColdStartLimits(t *testing.T) {
	if testing.Short() || runtime.GOOS != "linux" {
		t.Skip("builds and runs the binary; reads /proc")
	}
	times, rss := coldStarts(t, bootstrap(t), 15)
	med, mib := ms(times[len(times)/2]), float64(rss[len(rss)/2])/(1<<20)
	t.Logf("cold start: median %.1f ms (min %.1f, max %.1f), peak RSS %.1f MiB", med, ms(times[0]), ms(times[len(times)-1]), mib)
	if mib >= 20 {
		t.Errorf("peak RSS %.1f MiB, want under 20 MiB", mib)
	}
}

// TestDeployedBinaryLinksNoTestCode keeps test-only packages out of the
// binary as deployed: each one linked in adds its package initialisation to
// every cold start (the shared test fixtures once cost about 2 ms).
func TestDeployedBinaryLinksNoTestCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}"}
	args = append(args, bootstrapBuildArgs[1:3]...) // -tags lambda.norpc
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 100 {
		t.Fatalf("go list found only %d packages: %q", len(deps), deps)
	}
	for _, p := range deps {
		if p == "testing" || strings.HasPrefix(p, "testing/") || strings.HasSuffix(p, "/drsorchtest") || strings.HasSuffix(p, "/mock") {
			t.Errorf("the deployed binary links %s", p)
		}
	}
}
