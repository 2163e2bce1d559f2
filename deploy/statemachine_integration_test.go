//go:build integration

package deploy_test

// The state machine run by a real Amazon States Language interpreter: moto's
// Step Functions (moto_server with execute_state_machine on, the interpreter
// moto took from LocalStack). moto sends the Lambda invocations of its Task
// states to the port named by MOTO_PORT; this test listens there and answers
// them with drsorch's Lambda router (lambdafn) on an engine wired to SQLite,
// the DRS simulator on a fake clock, and the sfn adapter pointed at moto
// through the AWS SDK. The test plays EventBridge: it moves the clock a
// minute and sends the schedule event, as the deployed rule does every minute.
//
// Where moto 5.2.1 differs from Step Functions, the test works around it:
//   - starting an execution deep-copies the region's whole backend, which fails
//     once the region holds a started execution: each drill has its own region;
//   - StopExecution takes effect when the task the execution waits on ends,
//     not at once: the cancel drill ends the wait after the stop;
//   - SendTaskFailure drops the cause: only the error name is checked.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/lambdafn"
	"github.com/drsorch/drsorch/sfn"
	"github.com/drsorch/drsorch/sqlite"
)

const (
	account = "123456789012" // moto's default account
	// realTimeout bounds every wait on the interpreter, in real time.
	realTimeout = 90 * time.Second
)

// interpreter is moto_server plus the Lambda service this test provides to it.
type interpreter struct {
	motoURL string
	lambda  *lambdaService
	drills  atomic.Int64
}

// regions hosts one drill each: moto 5.2.1 deep-copies a region's whole Step
// Functions backend when it starts an execution, which fails once the region
// holds a started execution, so every drill has a region of its own.
var regions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ca-central-1"}

// client returns a Step Functions client of moto in a region.
func (it *interpreter) client(region string) *sdk.Client {
	return sdk.New(sdk.Options{
		Region: region, BaseEndpoint: aws.String(it.motoURL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// startInterpreter starts the Lambda endpoint, then moto_server sending its
// Lambda invocations there, and turns moto's state machine execution on.
func startInterpreter(t *testing.T) *interpreter {
	t.Helper()
	bin := os.Getenv("DRSORCH_MOTO_SERVER")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("moto_server"); err != nil {
			t.Fatalf("moto_server (moto 5.2 with its server extras) is needed for the state machine drill: %v; .ci/asl/install.sh checks it", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	motoPort := freePort(t)
	motoURL := "http://127.0.0.1:" + strconv.Itoa(motoPort)
	target, _ := url.Parse(motoURL)
	ls := &lambdaService{fns: map[string]*function{}, proxy: httputil.NewSingleHostReverseProxy(target)}
	srv := &http.Server{Handler: ls, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	logPath := filepath.Join(t.TempDir(), "moto.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(motoPort))
	cmd.Env = append(os.Environ(), "MOTO_PORT="+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_DEFAULT_REGION=us-east-1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) // moto_server's own process group
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("moto_server log (last 4 KiB):\n%s", tail(b, 4096))
			}
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(motoURL+"/moto-api/config", "application/json",
			strings.NewReader(`{"stepfunctions":{"execute_state_machine":true}}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto_server did not answer on %s: %v", motoURL, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &interpreter{motoURL: motoURL, lambda: ls}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// lambdaService speaks the Lambda Invoke wire protocol for the functions the
// state machines name, and passes anything else on to moto.
type lambdaService struct {
	mu    sync.Mutex
	fns   map[string]*function
	proxy *httputil.ReverseProxy
}

// function is one deployed "execution handler": drsorch's router, and a hook
// that may answer an invocation instead (to inject failures).
type function struct {
	router *lambdafn.Router
	hook   func(event map[string]any) *lambdafn.Error
	calls  atomic.Int64
}

func (l *lambdaService) add(name string, f *function) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fns[name] = f
}

func (l *lambdaService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
		l.proxy.ServeHTTP(w, r)
		return
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix)
	name = name[strings.LastIndex(name, ":")+1:] // a function ARN or a name
	l.mu.Lock()
	f := l.fns[name]
	l.mu.Unlock()
	if f == nil {
		w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"Type":"User","Message":"Function not found: %s"}`, name)
		return
	}
	f.calls.Add(1)
	event, _ := io.ReadAll(r.Body)
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	var out json.RawMessage
	var ferr *lambdafn.Error
	var decoded map[string]any
	_ = json.Unmarshal(event, &decoded)
	if f.hook != nil {
		ferr = f.hook(decoded)
	}
	if ferr == nil {
		var err error
		if out, err = f.router.Handle(ctx, event); err != nil && !errors.As(err, &ferr) {
			ferr = &lambdafn.Error{Type: "Unhandled", Message: err.Error()}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amz-Executed-Version", "$LATEST")
	if ferr != nil {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		out, _ = json.Marshal(ferr)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out)
}

// drill is one execution end to end: its own state machine (moto runs one
// execution per state machine), function, store, simulator and engine.
type drill struct {
	t      *testing.T
	ctx    context.Context
	sfn    *sdk.Client
	clock  *drsorchtest.Clock
	sim    *drssim.Sim
	store  *sqlite.Store
	eng    *engine.Engine
	wf     drsorch.Workflow
	fn     *function
	smARN  string
	notes  *notes
	execID string
}

// notes records the notifications the engine sends.
type notes struct {
	mu     sync.Mutex
	events []string
}

func (n *notes) Notify(_ context.Context, m drsorch.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.events = append(n.events, m.Event)
	return nil
}

func (n *notes) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.events)
}

type drillOption struct {
	hook       func(event map[string]any) *lambdafn.Error // answers an invocation instead of drsorch when it returns an error
	definition func(map[string]any)                       // edits the definition
	workflow   func(drsorch.Workflow) drsorch.Workflow    // wraps the sfn adapter
}

func (it *interpreter) newDrill(t *testing.T, name string, opt drillOption) *drill {
	t.Helper()
	ctx := context.Background()
	n := int(it.drills.Add(1)) - 1
	if n >= len(regions) {
		t.Fatalf("more drills than regions")
	}
	region := regions[n]
	client := it.client(region)
	fnName := "drsorch-" + name
	fnARN := "arn:aws:lambda:" + region + ":" + account + ":function:" + fnName
	raw, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	def := strings.ReplaceAll(string(raw), "${ExecutionHandlerArn}", fnARN)
	if opt.definition != nil {
		var m map[string]any
		if err := json.Unmarshal([]byte(def), &m); err != nil {
			t.Fatal(err)
		}
		opt.definition(m)
		b, _ := json.Marshal(m)
		def = string(b)
	}
	sm, err := client.CreateStateMachine(ctx, &sdk.CreateStateMachineInput{
		Name: aws.String(fnName), Definition: aws.String(def),
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/drsorch-statemachine"),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	clock := drsorchtest.NewClock(time.Time{})
	sim := drssim.New(drssim.Options{Clock: clock, Seed: 11, Timings: drssim.Timings{Jitter: -1}})
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var wf drsorch.Workflow = sfn.New(client, aws.ToString(sm.StateMachineArn))
	if opt.workflow != nil {
		wf = opt.workflow(wf)
	}
	nt := &notes{}
	eng := engine.New(engine.Config{
		Store: st, DRS: sim, Workflow: wf, Notifier: nt, Clock: clock, AccountID: account,
		Sleep: func(context.Context, time.Duration) {}, CallbackBaseURL: "https://api.example.com/prod",
	})
	f := &function{router: lambdafn.New(lambdafn.Config{Engine: func(context.Context) (*engine.Engine, error) { return eng, nil }}),
		hook: opt.hook}
	it.lambda.add(fnName, f)
	d := &drill{t: t, ctx: ctx, sfn: client, clock: clock, sim: sim, store: st, eng: eng, wf: wf, fn: f,
		smARN: aws.ToString(sm.StateMachineArn), notes: nt}
	return d
}

// plan saves a plan of waves of n servers each; gate[i] pauses before wave i.
func (d *drill) plan(n int, gate ...bool) {
	d.t.Helper()
	var waves []drsorch.PlanWave
	for i, g := range gate {
		var ids []string
		var srvs []drsorch.SourceServer
		for j := 0; j < n; j++ {
			id := fmt.Sprintf("s-%017x", (i+1)*100+j)
			ids = append(ids, id)
			srvs = append(srvs, drsorch.SourceServer{SourceServerID: id, Hostname: fmt.Sprintf("w%d-%d.example", i, j),
				Tags: map[string]string{"Name": fmt.Sprintf("w%d-%d", i, j)}, ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"})
		}
		if err := d.sim.AddSourceServers(srvs...); err != nil {
			d.t.Fatal(err)
		}
		gid := fmt.Sprintf("pg-%d", i)
		if _, err := d.eng.SaveGroup(d.ctx, &drsorch.ProtectionGroup{GroupID: gid, GroupName: gid, Region: "us-east-1", SourceServerIDs: ids}, true); err != nil {
			d.t.Fatal(err)
		}
		waves = append(waves, drsorch.PlanWave{WaveNumber: i, WaveName: fmt.Sprintf("wave-%d", i), ProtectionGroupID: gid, PauseBeforeWave: g})
	}
	if _, err := d.eng.SavePlan(d.ctx, &drsorch.RecoveryPlan{PlanID: "plan-1", PlanName: "Payments", Waves: waves}, true); err != nil {
		d.t.Fatal(err)
	}
}

// start starts a drill the way POST /executions does (the worker runs inline).
func (d *drill) start() {
	d.t.Helper()
	res, err := d.eng.StartExecution(d.ctx, engine.StartRequest{PlanID: "plan-1", ExecutionType: "DRILL", InitiatedBy: "integration-test"})
	if err != nil {
		d.t.Fatal(err)
	}
	d.execID = res.ExecutionID
}

func (d *drill) get() *drsorch.Execution {
	d.t.Helper()
	x, err := d.store.GetExecution(d.ctx, d.execID)
	if err != nil {
		d.t.Fatal(err)
	}
	return x
}

// schedule is the EventBridge rule: a minute passes, then {"source":"aws.events"}.
func (d *drill) schedule() {
	d.t.Helper()
	d.clock.Advance(time.Minute)
	if _, err := d.fn.router.Handle(d.ctx, []byte(`{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`)); err != nil {
		d.t.Fatalf("scheduled find: %v", err)
	}
}

// until runs the schedule until cond holds, within realTimeout.
func (d *drill) until(what string, cond func(*drsorch.Execution) bool) *drsorch.Execution {
	d.t.Helper()
	deadline := time.Now().Add(realTimeout)
	for {
		x := d.get()
		if cond(x) {
			return x
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(x, "", " ")
			d.t.Fatalf("%s: not reached in %s\nexecution: %s\nstates entered: %v", what, realTimeout, b, d.entered())
		}
		d.schedule()
		time.Sleep(100 * time.Millisecond)
	}
}

// workflowStatus waits until the Step Functions execution has the status, read through the adapter.
func (d *drill) workflowStatus(want string) {
	d.t.Helper()
	deadline := time.Now().Add(realTimeout)
	for {
		got, err := d.wf.Describe(d.ctx, d.get().StateMachineArn)
		if err != nil {
			d.t.Fatal(err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("workflow status %s, want %s; states entered: %v", got, want, d.entered())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// history returns the Step Functions events of the execution.
func (d *drill) history() []types.HistoryEvent {
	d.t.Helper()
	var out []types.HistoryEvent
	p := sdk.NewGetExecutionHistoryPaginator(d.sfn, &sdk.GetExecutionHistoryInput{ExecutionArn: aws.String(d.get().StateMachineArn)})
	for p.HasMorePages() {
		page, err := p.NextPage(d.ctx)
		if err != nil {
			d.t.Fatalf("GetExecutionHistory: %v", err)
		}
		out = append(out, page.Events...)
	}
	return out
}

// entered lists the states the workflow entered, in order.
func (d *drill) entered() []string {
	var out []string
	for _, e := range d.history() {
		if e.StateEnteredEventDetails != nil {
			out = append(out, aws.ToString(e.StateEnteredEventDetails.Name))
		}
	}
	return out
}

func (d *drill) describe() *sdk.DescribeExecutionOutput {
	d.t.Helper()
	out, err := d.sfn.DescribeExecution(d.ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String(d.get().StateMachineArn)})
	if err != nil {
		d.t.Fatal(err)
	}
	return out
}

func awaiting(kind string) func(*drsorch.Execution) bool {
	return func(x *drsorch.Execution) bool { return x.Awaiting == kind && x.Secrets.TaskToken != "" }
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestStateMachineOnInterpreter(t *testing.T) {
	it := startInterpreter(t)

	t.Run("two-wave drill with a pause before wave 2", func(t *testing.T) {
		var advances atomic.Int64
		// The first Advance fails as a retryable Lambda error: the workflow retries it.
		d := it.newDrill(t, "drill", drillOption{hook: func(ev map[string]any) *lambdafn.Error {
			if ev["action"] == lambdafn.ActionAdvance && advances.Add(1) == 1 {
				return &lambdafn.Error{Type: lambdafn.TypeRetryable, Message: "VERSION_CONFLICT: injected"}
			}
			return nil
		}})
		d.plan(2, false, true)
		d.start()
		if want, _ := sfn.ExecutionARN(d.smARN, d.execID); d.get().StateMachineArn != want {
			t.Fatalf("recorded workflow %q, want %q", d.get().StateMachineArn, want)
		}
		x := d.until("paused before wave 1 with the workflow waiting for a resume", func(x *drsorch.Execution) bool {
			return x.Status == drsorch.ExecutionPaused && awaiting(drsorch.AwaitResume)(x)
		})
		if x.PausedBeforeWave == nil || *x.PausedBeforeWave != 1 || x.Waves[0].Status != drsorch.WaveCompleted || x.Waves[1].Status != drsorch.WavePending {
			t.Fatalf("paused before %v with waves %s, %s", x.PausedBeforeWave, x.Waves[0].Status, x.Waves[1].Status)
		}
		d.workflowStatus("RUNNING")
		if got := d.entered(); got[len(got)-1] != "WaitForResume" {
			t.Fatalf("the workflow is in %s, want WaitForResume", got[len(got)-1])
		}
		if _, err := d.eng.Resume(d.ctx, d.execID); err != nil {
			t.Fatal(err)
		}
		x = d.until("completed", func(x *drsorch.Execution) bool { return x.Status.Terminal() })
		if x.Status != drsorch.ExecutionCompleted {
			t.Fatalf("ended %s: %s", x.Status, x.ErrorMessage)
		}
		d.workflowStatus("SUCCEEDED")
		if x.Secrets.TaskToken != "" || x.Awaiting != "" {
			t.Errorf("a task token is left on the ended execution (awaiting %q)", x.Awaiting)
		}
		states := d.entered()
		t.Logf("states entered: %v", states)
		if states[0] != "Advance" || states[len(states)-1] != "Completed" {
			t.Errorf("the workflow ran %v", states)
		}
		if n := count(states, "WaitForResume"); n != 1 {
			t.Errorf("WaitForResume entered %d times, want 1", n)
		}
		if count(states, "WaitForWaves") < 2 || slices.Contains(states, "MarkFailed") {
			t.Errorf("the workflow ran %v", states)
		}
		if advances.Load() < 2 {
			t.Errorf("the failed Advance was not retried")
		}
		if h := d.history(); len(h) > 200 {
			t.Errorf("%d history events for a two-wave drill", len(h))
		}
		want := []string{drsorch.NotifyStarted, drsorch.NotifyPaused, drsorch.NotifyResumed, drsorch.NotifyCompleted}
		if got := d.notes.list(); !slices.Equal(got, want) {
			t.Errorf("notifications %v, want %v", got, want)
		}
	})

	t.Run("operator pause then cancel stops the workflow", func(t *testing.T) {
		d := it.newDrill(t, "cancel", drillOption{})
		d.plan(2, false, false)
		d.start()
		d.until("wave 0 running with the workflow waiting for it", func(x *drsorch.Execution) bool {
			return x.Waves[0].Status.Canonical() != drsorch.WavePending && !x.Waves[0].Status.Terminal() && awaiting(drsorch.AwaitWave)(x)
		})
		res, err := d.eng.Pause(d.ctx, d.execID)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != drsorch.ExecutionPausePending {
			t.Fatalf("pause answered %s, want PAUSE_PENDING", res.Status)
		}
		x := d.until("paused with the workflow waiting for a resume", func(x *drsorch.Execution) bool {
			return x.Status == drsorch.ExecutionPaused && awaiting(drsorch.AwaitResume)(x)
		})
		c, err := d.eng.Cancel(d.ctx, d.execID, "drill aborted")
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != drsorch.ExecutionCancelled {
			t.Fatalf("cancel answered %s, want CANCELLED", c.Status)
		}
		// moto notices a stop only when the task it waits on ends (Step Functions
		// itself aborts at once), so the test ends the wait. Had the workflow not
		// been stopped, it would go on to Advance and fail as ExecutionCancelled.
		if _, err := d.sfn.SendTaskSuccess(d.ctx, &sdk.SendTaskSuccessInput{TaskToken: aws.String(x.Secrets.TaskToken), Output: aws.String("{}")}); err != nil {
			t.Logf("ending the wait after the stop: %v", err)
		}
		d.workflowStatus("ABORTED")
		if states := d.entered(); states[len(states)-1] != "WaitForResume" {
			t.Errorf("the stopped workflow went on: %v", states)
		}
		if x := d.get(); x.Status != drsorch.ExecutionCancelled || x.Waves[1].Status != drsorch.WaveCancelled {
			t.Errorf("after the stop: %s with wave 1 %s", x.Status, x.Waves[1].Status)
		}
	})

	t.Run("a failed task marks the execution failed", func(t *testing.T) {
		d := it.newDrill(t, "fail", drillOption{})
		d.plan(1, false)
		d.start()
		x := d.until("the workflow waiting for wave 0", awaiting(drsorch.AwaitWave))
		// Whatever fails a task (here: its token failed from outside) reaches MarkFailed.
		if err := d.wf.SendTaskFailure(d.ctx, x.Secrets.TaskToken, "drsorch.InjectedFailure", "injected by the test"); err != nil {
			t.Fatal(err)
		}
		d.workflowStatus("FAILED")
		// (moto drops the cause of SendTaskFailure; Step Functions passes it on to $.error.Cause.)
		x = d.get()
		if x.Status != drsorch.ExecutionFailed || x.ErrorCode != "drsorch.InjectedFailure" || !strings.Contains(x.ErrorMessage, "drsorch.InjectedFailure") {
			t.Errorf("execution %s, error %q: %q", x.Status, x.ErrorCode, x.ErrorMessage)
		}
		if out := d.describe(); aws.ToString(out.Error) != "drsorch.InjectedFailure" {
			t.Errorf("workflow failed with %q: %q", aws.ToString(out.Error), aws.ToString(out.Cause))
		}
		if states := d.entered(); !slices.Contains(states, "MarkFailed") || states[len(states)-1] != "WorkflowFailed" {
			t.Errorf("the workflow ran %v", states)
		}
		if got := d.notes.list(); !slices.Contains(got, drsorch.NotifyFailed) {
			t.Errorf("notifications %v lack %s", got, drsorch.NotifyFailed)
		}
	})

	t.Run("a lost task success heals at the wait's timeout", func(t *testing.T) {
		lost := &losingWorkflow{}
		d := it.newDrill(t, "heal", drillOption{
			definition: func(m map[string]any) {
				m["States"].(map[string]any)["WaitForWaves"].(map[string]any)["TimeoutSeconds"] = 3
			},
			workflow: func(w drsorch.Workflow) drsorch.Workflow { lost.Workflow = w; return lost },
		})
		d.plan(1, false, false)
		d.start()
		x := d.until("completed", func(x *drsorch.Execution) bool { return x.Status.Terminal() })
		if x.Status != drsorch.ExecutionCompleted {
			t.Fatalf("ended %s: %s", x.Status, x.ErrorMessage)
		}
		d.workflowStatus("SUCCEEDED")
		if lost.lost.Load() != 1 {
			t.Fatalf("no task success was lost")
		}
		timedOut := false
		for _, e := range d.history() {
			if e.Type == types.HistoryEventTypeTaskTimedOut {
				timedOut = true
			}
		}
		if !timedOut {
			t.Errorf("the workflow never timed out its wait; states: %v", d.entered())
		}
	})
}

// losingWorkflow drops the first task success it is asked to send, as if the
// call had been lost after the engine believed it sent.
type losingWorkflow struct {
	drsorch.Workflow
	lost atomic.Int64
}

func (w *losingWorkflow) SendTaskSuccess(ctx context.Context, token string, out json.RawMessage) error {
	if w.lost.CompareAndSwap(0, 1) {
		return nil
	}
	return w.Workflow.SendTaskSuccess(ctx, token, out)
}
