package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/notify"
	"github.com/drsorch/drsorch/runner"
	"github.com/drsorch/drsorch/sqlite"
)

// tee sends each notification to several notifiers.
type tee []drsorch.Notifier

func (t tee) Notify(ctx context.Context, n drsorch.Notification) error {
	for _, x := range t {
		if err := x.Notify(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// TestNoSecretLeaves runs a whole drill of a cross-account plan over the API
// of `drsorch serve` (engine, runner, SQLite store, simulator, log notifier,
// every component logging at debug level into one buffer), with a pause and a
// resume by an operator and a resume by the notification's link, while the
// execution holds every kind of secret: the target account's external id, a
// workflow task token, a paused-state snapshot, the callback nonce and links.
// No response body and no log line may contain any of them.
func TestNoSecretLeaves(t *testing.T) {
	const account = "222222222222"
	secrets := map[string]string{
		"externalId":          "ext-id-7b0c5e11-SECRET",
		"taskToken":           "AQCEAAAAKgAAAAMAAAAAAAAAAQ-task-token-SECRET-" + strings.Repeat("t", 80),
		"resumeTaskToken":     "AQCEAAAAKgAAAAMAAAAAAAAAAQ-resume-token-SECRET-" + strings.Repeat("r", 80),
		"pausedStateSnapshot": `{"secret_state":"snapshot-SECRET-5c1d"}`,
	}
	clock := drsorchtest.NewClock(time.Time{})
	var logs bytes.Buffer
	lw := &lockedWriter{w: &logs}
	log := slog.New(slog.NewJSONHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sim := drssim.New(drssim.Options{Clock: clock, Seed: 5, Timings: drssim.Timings{Jitter: -1}})
	run := runner.New(nil, runner.Options{Logger: log.With("component", "runner")})
	notes := &notifier{}
	eng := engine.New(engine.Config{Store: st, DRS: sim, Workflow: run.Workflow(), Dispatcher: run, Clock: clock,
		Notifier: tee{notify.NewLog(log.With("component", "notifier")), notes}, Authorizer: auth.Authorizer{},
		Logger: log.With("component", "engine"), Sleep: func(context.Context, time.Duration) {}, CallbackBaseURL: "http://drsorch.test"})
	run.SetEngine(eng)
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(eng, httpapi.Options{Auth: auth.Bearer{Local: auth.NewVerifier(key.Public(), clock)},
		Logger: log.With("component", "http"), Clock: clock})
	admin, _ := key.Mint(auth.TokenRequest{Group: auth.GroupAdmin, User: "admin@example.com", Now: clock.Now()})
	operator, _ := key.Mint(auth.TokenRequest{Group: auth.GroupOperator, User: "olga@example.com", Now: clock.Now()})
	secrets["adminToken"], secrets["operatorToken"] = admin, operator

	var bodies []string
	call := func(token, method, target, body string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		r := httptest.NewRequest(method, target, rd)
		r.RemoteAddr = "198.51.100.23:4711"
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		bodies = append(bodies, w.Body.String())
		return w.Code, w.Body.String()
	}
	must := func(token, method, target, body string, want int) string {
		t.Helper()
		code, b := call(token, method, target, body)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, target, code, b, want)
		}
		return b
	}
	system := drsorch.WithCaller(context.Background(), drsorch.SystemCaller)
	status := func(id string) drsorch.ExecutionStatus {
		x, err := st.GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return x.Status
	}
	drive := func(id string, want drsorch.ExecutionStatus) {
		t.Helper()
		for i := 0; i < 600 && status(id) != want; i++ {
			if err := run.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if status(id) != want {
				clock.Advance(time.Minute)
			}
		}
		if s := status(id); s != want {
			t.Fatalf("execution %s is %s, want %s", id, s, want)
		}
	}

	// A target account reached with an external id, and its servers.
	if err := eng.PutAccount(system, &drsorch.TargetAccount{AccountID: account, AccountName: "staging",
		RoleARN: "arn:aws:iam::" + account + ":role/DRSOrchestrationCrossAccountRole", ExternalID: secrets["externalId"]}); err != nil {
		t.Fatal(err)
	}
	for _, tier := range []string{"db", "app", "web"} {
		var ids []string
		for i := 0; i < 2; i++ {
			id := fmt.Sprintf("s-x%s%0*d", tier, 16-len(tier), i)
			ids = append(ids, `"`+id+`"`)
			if err := sim.AddSourceServers(drsorch.SourceServer{SourceServerID: id, AccountID: account, Region: "us-east-1",
				Hostname: id, ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"}); err != nil {
				t.Fatal(err)
			}
		}
		must(admin, "POST", "/protection-groups", `{"groupId":"pg-x-`+tier+`","groupName":"x-`+tier+`","region":"us-east-1","accountId":"`+account+
			`","sourceServerIds":[`+strings.Join(ids, ",")+`]}`, http.StatusCreated)
	}
	must(admin, "POST", "/recovery-plans", `{"planId":"plan-x","planName":"Cross-account","waves":[
		{"waveNumber":0,"waveName":"db","protectionGroupId":"pg-x-db"},
		{"waveNumber":1,"waveName":"app","protectionGroupId":"pg-x-app"},
		{"waveNumber":2,"waveName":"web","protectionGroupId":"pg-x-web","pauseBeforeWave":true}]}`, http.StatusCreated)

	// Start; a Step Functions-style task token waits on the first wave, and the
	// record holds a paused-state snapshot of the replaced system.
	started := must(operator, "POST", "/executions", `{"planId":"plan-x","executionType":"DRILL","initiatedBy":"whoever"}`, http.StatusAccepted)
	id := between(started, `"executionId":"`, `"`)
	drive(id, drsorch.ExecutionRunning)
	if err := eng.RegisterToken(system, id, secrets["taskToken"], drsorch.AwaitWave); err != nil {
		t.Fatal(err)
	}
	x, _ := st.GetExecution(context.Background(), id)
	if x.Secrets.ExternalID != secrets["externalId"] || x.AccountContext == nil || x.AccountContext.AccountID != account {
		t.Fatalf("the execution does not run in the target account with its external id: %+v %+v", x.AccountContext, x.Secrets)
	}
	x.Secrets.PausedStateSnapshot = secrets["pausedStateSnapshot"]
	if err := st.UpdateExecution(context.Background(), x); err != nil {
		t.Fatal(err)
	}

	reads := func() {
		t.Helper()
		for _, p := range []string{"/executions/" + id, "/executions", "/executions?planId=plan-x&limit=1", "/executions/" + id + "/realtime",
			"/executions/" + id + "/job-logs", "/executions/" + id + "/recovery-instances", "/executions/" + id + "/report",
			"/recovery-plans/plan-x", "/protection-groups", "/executions/" + id + "/termination-status"} {
			if code, b := call(operator, "GET", p, ""); code >= 500 {
				t.Fatalf("GET %s: %d %s", p, code, b)
			}
		}
	}
	reads()

	// The operator pauses; the pause takes effect when the first wave ends.
	must(operator, "POST", "/executions/"+id+"/pause", "", http.StatusOK)
	drive(id, drsorch.ExecutionPaused)
	x, _ = st.GetExecution(context.Background(), id)
	if x.Secrets.CallbackNonce == "" {
		t.Fatal("a paused execution has no callback nonce")
	}
	secrets["callbackNonce"] = x.Secrets.CallbackNonce
	reads()
	must(operator, "POST", "/executions/"+id+"/resume", "", http.StatusOK)

	// The plan pauses before the last wave; the workflow registers a token for
	// the resume, and the notification's link resumes it, once.
	drive(id, drsorch.ExecutionPaused)
	if err := eng.RegisterToken(system, id, secrets["resumeTaskToken"], drsorch.AwaitResume); err != nil {
		t.Fatal(err)
	}
	x, _ = st.GetExecution(context.Background(), id)
	secrets["callbackNonce2"] = x.Secrets.CallbackNonce
	n, ok := notes.last(drsorch.NotifyPaused)
	if !ok || n.ResumeURL == "" {
		t.Fatal("no pause notification with links")
	}
	reads()
	for name, link := range map[string]string{"resumeLink": n.ResumeURL, "cancelLink": n.CancelURL} {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name] = u.Query().Get("taskToken")
	}
	u, _ := url.Parse(n.ResumeURL)
	must("", "GET", u.RequestURI(), "", http.StatusOK)
	if code, _ := call("", "GET", u.RequestURI(), ""); code != http.StatusBadRequest {
		t.Fatalf("the link worked twice: %d", code)
	}
	drive(id, drsorch.ExecutionCompleted)
	reads()
	must(operator, "POST", "/executions/"+id+"/terminate-instances", "", http.StatusForbidden)
	must(admin, "POST", "/executions/"+id+"/terminate-instances", "", http.StatusOK)
	clock.Advance(10 * time.Minute)
	reads()

	// Who did what is on the record.
	x, _ = st.GetExecution(context.Background(), id)
	actors := map[string][]string{}
	for _, ev := range x.Timeline {
		actors[ev.To] = append(actors[ev.To], ev.Actor)
	}
	if x.InitiatedBy != "olga@example.com" || fmt.Sprint(actors[string(drsorch.ExecutionPausePending)]) != "[olga@example.com]" ||
		fmt.Sprint(actors[string(drsorch.ExecutionRunning)]) != "[system olga@example.com email_callback]" {
		t.Fatalf("initiatedBy %q, actors %v", x.InitiatedBy, actors)
	}

	out := strings.Join(bodies, "\n")
	logged := logs.String()
	if len(bodies) < 40 || strings.Count(logged, "\n") < 40 {
		t.Fatalf("only %d responses and %d log lines were captured", len(bodies), strings.Count(logged, "\n"))
	}
	for name, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("%s appears in a response", name)
		}
		if strings.Contains(logged, s) {
			t.Errorf("%s appears in the log", name)
		}
	}
	for _, field := range []string{"taskToken", "pausedStateSnapshot", "externalId", "callbackNonce"} {
		if strings.Contains(out, `"`+field+`"`) {
			t.Errorf("a response has a %q field", field)
		}
	}
	t.Logf("%d responses, %d log lines, %d secrets checked", len(bodies), strings.Count(logged, "\n"), len(secrets))
}

// between returns the text of s between two markers.
func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}
