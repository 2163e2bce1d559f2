package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
)

func TestStartExecutionValidation(t *testing.T) {
	s := newServer(t)
	big := `{"planId":"plan","executionType":"DRILL","initiatedBy":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		msg    string
		param  string
	}{
		{"empty body", nil, 400, drsorch.CodeMissingParameter, "planId is required", "planId"},
		{"missing planId", map[string]any{"executionType": "DRILL", "initiatedBy": "me"}, 400, drsorch.CodeMissingParameter, "planId is required", "planId"},
		{"missing executionType", map[string]any{"planId": "plan", "initiatedBy": "me"}, 400, drsorch.CodeMissingParameter, "executionType is required - must be DRILL or RECOVERY", "executionType"},
		{"missing initiatedBy", map[string]any{"planId": "plan", "executionType": "DRILL"}, 400, drsorch.CodeMissingParameter, "initiatedBy is required", "initiatedBy"},
		{"bad type", map[string]any{"planId": "plan", "executionType": "FIRE", "initiatedBy": "me"}, 400, drsorch.CodeInvalidParameter, "executionType must be DRILL or RECOVERY, got: FIRE", "executionType"},
		{"type is a number", `{"planId":"plan","executionType":5,"initiatedBy":"me"}`, 400, drsorch.CodeInvalidParameter, "Invalid value for executionType: expected a string, got number", "executionType"},
		{"planId is a list", `{"planId":["plan"],"executionType":"DRILL","initiatedBy":"me"}`, 400, drsorch.CodeInvalidParameter, "Invalid value for planId", "planId"},
		{"malformed JSON", `{"planId":"plan",`, 400, drsorch.CodeInvalidParameter, "Invalid JSON in request body", "body"},
		{"not an object", `["plan"]`, 400, drsorch.CodeInvalidParameter, "must be a JSON object", "body"},
		{"trailing data", `{"planId":"plan"} {"x":1}`, 400, drsorch.CodeInvalidParameter, "unexpected data after the JSON object", "body"},
		{"too large", big, 413, "PAYLOAD_TOO_LARGE", "larger than the limit of 65536 bytes", ""},
		{"unknown plan", map[string]any{"planId": "nope", "executionType": "DRILL", "initiatedBy": "me"}, 404, drsorch.CodeNotFound, "Recovery Plan with ID nope not found", ""},
		{"negative ttl", map[string]any{"planId": "plan", "executionType": "DRILL", "initiatedBy": "me", "drillTtlSeconds": -1}, 400, drsorch.CodeInvalidParameter, "drillTtlSeconds", "drillTtlSeconds"},
		{"bad point in time", map[string]any{"planId": "plan", "executionType": "DRILL", "initiatedBy": "me", "recoveryPoint": map[string]any{"pointInTime": "yesterday"}}, 400, drsorch.CodeInvalidParameter, "pointInTime", "recoveryPoint.pointInTime"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := wantError(t, s.request("POST", "/executions", tc.body), tc.status, tc.code, tc.msg)
			if tc.param != "" {
				d, _ := m["details"].(map[string]any)
				if d["parameter"] != tc.param {
					t.Fatalf("details %v, want parameter %q", m["details"], tc.param)
				}
			}
		})
	}
	m := wantError(t, s.request("POST", "/executions", map[string]any{"planId": "plan", "initiatedBy": "me"}), 400, drsorch.CodeMissingParameter, "")
	if d := m["details"].(map[string]any); len(d["allowedValues"].([]any)) != 2 {
		t.Fatalf("allowedValues %v", d)
	}
	// Nothing was recorded by the refusals.
	r := s.mustOK("GET", "/executions", nil, 200)
	if n := r.object(t)["count"]; n != float64(0) {
		t.Fatalf("count %v after refused starts", n)
	}
}

func TestStartAcceptsTheReferenceFrontendBody(t *testing.T) {
	s := newServer(t)
	r := s.mustOK("POST", "/executions", `{"planId":"plan","executionType":"drill","initiatedBy":{"email":"x"},"dryRun":false,"topicArn":"arn:aws:sns:us-east-1:123456789012:t","AccountContext":{"accountId":"123456789012","isCurrentAccount":true}}`, http.StatusAccepted)
	id := r.object(t)["executionId"].(string)
	g := s.mustOK("GET", "/executions/"+id, nil, 200).object(t)
	if g["executionType"] != "DRILL" || g["initiatedBy"] != "admin@example.com" {
		t.Fatalf("type %v initiatedBy %v", g["executionType"], g["initiatedBy"])
	}
}

func TestDrillLifecycleOverTheAPI(t *testing.T) {
	s := newServer(t)
	r := s.mustOK("POST", "/executions", map[string]any{"planId": "plan", "executionType": "DRILL", "initiatedBy": "someone-else"}, http.StatusAccepted)
	checkHeaders(t, r)
	start := r.object(t)
	id, _ := start["executionId"].(string)
	if start["status"] != "PENDING" || start["message"] != "Execution started - check status with GET /executions/{id}" || start["statusUrl"] != "/executions/"+id {
		t.Fatalf("202 body %v", start)
	}

	// Details: the record plus the reference's fields, never its secrets.
	d := s.mustOK("GET", "/executions/"+id, nil, 200).object(t)
	checkKeys(t, "details", d, []string{"executionId", "planId", "planName", "executionType", "status", "startTime", "initiatedBy",
		"waves", "totalWaves", "recoveryPlanName", "recoveryPlanId", "dataSource", "lastUpdated", "hasRealtimeData", "terminationMetadata"},
		"taskToken", "pausedStateSnapshot", "externalId", "callbackNonce", "Secrets")
	if d["dataSource"] != "cached" || d["initiatedBy"] != "admin@example.com" || d["totalWaves"] != float64(3) || d["recoveryPlanName"] != "Three tiers" {
		t.Fatalf("details %v", d)
	}
	checkKeys(t, "terminationMetadata", d["terminationMetadata"].(map[string]any), []string{"canTerminate", "reason", "hasRecoveryInstances"})

	// One active execution per plan.
	wantError(t, s.request("POST", "/recovery-plans/plan/execute", map[string]any{"executionType": "DRILL", "initiatedBy": "me"}),
		409, drsorch.CodeAlreadyExists, "")

	s.drive(id, is(drsorch.ExecutionRunning))
	// Realtime is its own route, not the details.
	rt := s.mustOK("GET", "/executions/"+id+"/realtime", nil, 200).object(t)
	if rt["dataSource"] != "realtime" || rt["status"] != "RUNNING" {
		t.Fatalf("realtime %v %v", rt["dataSource"], rt["status"])
	}
	w0 := rt["waves"].([]any)[0].(map[string]any)
	checkKeys(t, "wave", w0, []string{"waveNumber", "waveName", "status", "jobId", "serverStatuses", "startTime", "region"})
	srv := w0["serverStatuses"].([]any)[0].(map[string]any)
	checkKeys(t, "server", srv, []string{"sourceServerId", "serverName", "hostname", "launchStatus", "instanceId", "privateIp", "instanceType", "launchTime"})

	// Pause while wave 0 runs: PAUSE_PENDING, then PAUSED before wave 1.
	p := s.mustOK("POST", "/executions/"+id+"/pause", nil, 200).object(t)
	checkKeys(t, "pause", p, []string{"executionId", "status", "message", "lastCompletedWave"})
	if p["status"] != "PAUSE_PENDING" || p["message"] != "Pause scheduled - will pause after wave 0 completes" {
		t.Fatalf("pause %v", p)
	}
	wantError(t, s.request("POST", "/executions/"+id+"/resume", nil), 400, drsorch.CodeInvalidState, "Execution is not paused")
	s.drive(id, is(drsorch.ExecutionPaused))
	res := s.mustOK("POST", "/executions/"+id+"/resume", `{}`, 200).object(t)
	if res["status"] != "RESUMING" || res["nextWave"] != float64(1) || res["message"] != "Execution resumed - wave 2 will start" {
		t.Fatalf("resume %v", res)
	}
	wantError(t, s.request("POST", "/executions/"+id+"/pause", `{"oops"`), 400, drsorch.CodeInvalidParameter, "Invalid JSON")
	wantError(t, s.request("POST", "/executions/"+id+"/terminate-instances", nil), 400, drsorch.CodeInvalidState, "Execution not in terminal state")

	s.drive(id, ended)
	if st := s.status(id); st != drsorch.ExecutionCompleted {
		t.Fatalf("ended %s", st)
	}
	d = s.mustOK("GET", "/executions/"+id, nil, 200).object(t)
	if d["status"] != "COMPLETED" || d["outcomeSummary"] != "All 3 wave(s) completed successfully. 6 server(s) launched." {
		t.Fatalf("final %v %v", d["status"], d["outcomeSummary"])
	}
	if tm := d["terminationMetadata"].(map[string]any); tm["canTerminate"] != true || tm["reason"] != nil {
		t.Fatalf("terminationMetadata %v", tm)
	}

	// Job logs, recovery instances, report.
	jl := s.mustOK("GET", "/executions/"+id+"/job-logs", nil, 200).object(t)
	logs := jl["jobLogs"].([]any)
	if jl["executionId"] != id || len(logs) != 3 {
		t.Fatalf("job logs %v", jl)
	}
	first := logs[0].(map[string]any)
	checkKeys(t, "job log", first, []string{"waveNumber", "jobId", "events"})
	ev := first["events"].([]any)[0].(map[string]any)
	checkKeys(t, "event", ev, []string{"event", "eventData", "logDateTime"})
	one := s.mustOK("GET", "/executions/"+id+"/job-logs?jobId="+url.QueryEscape(first["jobId"].(string)), nil, 200).object(t)
	if n := len(one["jobLogs"].([]any)); n != 1 {
		t.Fatalf("jobId filter gave %d logs", n)
	}
	ri := s.mustOK("GET", "/executions/"+id+"/recovery-instances", nil, 200).object(t)
	if ri["totalInstances"] != float64(6) || ri["message"] != "Found 6 recovery instances" {
		t.Fatalf("instances %v", ri)
	}
	inst := ri["instances"].([]any)[0].(map[string]any)
	checkKeys(t, "instance", inst, []string{"instanceId", "recoveryInstanceId", "sourceServerId", "region", "waveName", "waveNumber", "jobId", "status", "serverName"})
	if inst["status"] != "LAUNCHED" {
		t.Fatalf("instance %v", inst)
	}
	rep := s.mustOK("GET", "/executions/"+id+"/report", nil, 200).object(t)
	checkKeys(t, "report", rep, []string{"executionId", "status", "startTime", "endTime", "durationSeconds", "achievedRtoSeconds",
		"rtoExcludingPausesSeconds", "pausedSeconds", "waves", "pauses", "timeline", "allServersRecovered"})
	if rep["allServersRecovered"] != true || len(rep["pauses"].([]any)) != 1 || len(rep["waves"].([]any)) != 3 {
		t.Fatalf("report %v", rep)
	}

	// Terminate the drill's instances, then follow the termination.
	tr := s.mustOK("POST", "/executions/"+id+"/terminate-instances", `{"force":false}`, 200).object(t)
	checkKeys(t, "terminate", tr, []string{"executionId", "message", "terminated", "failed", "jobs", "totalFound", "totalTerminated", "totalFailed"})
	if tr["totalTerminated"] != float64(6) || tr["message"] != "Initiated termination of 6 recovery instances via DRS" {
		t.Fatalf("terminate %v", tr)
	}
	wantError(t, s.request("POST", "/executions/"+id+"/terminate-instances", `{"force":"yes"}`), 400, drsorch.CodeInvalidParameter, "Invalid value for force: expected true or false")
	ts := s.mustOK("GET", "/executions/"+id+"/termination-status", nil, 200).object(t)
	checkKeys(t, "termination status", ts, []string{"executionId", "jobs", "totalServers", "completedServers", "progressPercent", "allCompleted", "anyFailed"})
	if ts["allCompleted"] != false {
		t.Fatalf("termination done at once: %v", ts)
	}
	jobID := tr["jobs"].([]any)[0].(map[string]any)["jobId"].(string)
	s.clock.Advance(10 * time.Minute)
	ts = s.mustOK("GET", "/executions/"+id+"/termination-status?jobIds="+jobID+"&region=us-east-1", nil, 200).object(t)
	if ts["allCompleted"] != true || ts["progressPercent"] != float64(100) || ts["completedServers"] != float64(6) {
		t.Fatalf("termination status %v", ts)
	}
	s.mustOK("GET", "/executions/"+id+"/termination-status", nil, 200)
	wantError(t, s.request("POST", "/executions/"+id+"/terminate-instances", nil), 400, drsorch.CodeInvalidState, "Instances already terminated")
	wantError(t, s.request("GET", "/executions/"+id+"/termination-status?jobIds=,", nil), 400, drsorch.CodeInvalidParameter, "No valid job IDs provided")
	wantError(t, s.request("GET", "/executions/"+id+"/termination-status?jobIds=job-1", nil), 400, drsorch.CodeInvalidParameter, "No valid DRS job IDs provided")
	wantError(t, s.request("GET", "/executions/"+id+"/termination-status?region=mars", nil), 400, drsorch.CodeInvalidParameter, `"mars" is not an AWS region`)

	// The list shows it; then it is deleted.
	l := s.mustOK("GET", "/executions", nil, 200).object(t)
	checkKeys(t, "list", l, []string{"items", "count", "nextToken"})
	if l["count"] != float64(1) || l["nextToken"] != nil {
		t.Fatalf("list %v", l)
	}
	item := l["items"].([]any)[0].(map[string]any)
	checkKeys(t, "list item", item, []string{"executionId", "recoveryPlanName", "recoveryPlanId", "selectionMode", "hasActiveDrsJobs", "terminationMetadata"}, "taskToken")
	if item["selectionMode"] != "TAGS" {
		t.Fatalf("selectionMode %v (pg-app selects by tags)", item["selectionMode"])
	}
	del := s.mustOK("POST", "/executions/delete", map[string]any{"executionIds": []string{id, "nope"}}, 200).object(t)
	checkKeys(t, "delete", del, []string{"message", "deletedCount", "totalRequested", "notFound", "activeSkipped", "failed", "notFoundIds"})
	if del["deletedCount"] != float64(1) || del["notFound"] != float64(1) || del["message"] != "Processed 2 execution deletion requests" {
		t.Fatalf("delete %v", del)
	}
	wantError(t, s.request("GET", "/executions/"+id, nil), 404, drsorch.CodeNotFound, "Execution with ID "+id+" not found")
}

func TestCancelAndDeleteRoutes(t *testing.T) {
	s := newServer(t)
	id := s.start("plan")
	s.drive(id, is(drsorch.ExecutionRunning))
	c := s.mustOK("POST", "/executions/"+id+"/cancel", map[string]any{"reason": "test"}, 200).object(t)
	checkKeys(t, "cancel", c, []string{"executionId", "status", "message", "details"})
	details := c["details"].(map[string]any)
	if c["status"] != "CANCELLING" || c["message"] != "Execution cancelling successfully" ||
		len(details["inProgressWaves"].([]any)) != 1 || len(details["cancelledWaves"].([]any)) != 2 {
		t.Fatalf("cancel %v", c)
	}
	// Active executions are skipped by deletes.
	del := s.mustOK("DELETE", "/executions?ids="+id+",,", nil, 200).object(t)
	if del["activeSkipped"] != float64(1) || del["warning"] != "1 active execution(s) skipped" {
		t.Fatalf("delete active %v", del)
	}
	s.drive(id, ended)
	if st := s.status(id); st != drsorch.ExecutionPartial {
		t.Fatalf("cancelled drill ended %s, want PARTIAL (wave 0 launched)", st)
	}
	wantError(t, s.request("POST", "/executions/"+id+"/cancel", nil), 400, drsorch.CodeInvalidState, "Execution cannot be cancelled - status is PARTIAL")
	wantError(t, s.request("DELETE", "/executions", nil), 400, drsorch.CodeMissingParameter, "No execution IDs provided for deletion")
	wantError(t, s.request("DELETE", "/executions?ids=,", nil), 400, drsorch.CodeMissingParameter, "No execution IDs provided")
	wantError(t, s.request("POST", "/executions/delete", `{}`), 400, drsorch.CodeMissingParameter, "No execution IDs provided")
	wantError(t, s.request("POST", "/executions/delete", `{"executionIds":"a,b"}`), 400, drsorch.CodeInvalidParameter, "Invalid value for executionIds: expected a list")
	dc := s.mustOK("DELETE", "/executions/completed", nil, 200).object(t)
	checkKeys(t, "delete completed", dc, []string{"message", "deletedCount", "totalScanned", "completedFound", "safeToDelete", "skippedWithActiveJobs", "activePreserved"})
	if dc["deletedCount"] != float64(1) || dc["message"] != "Completed executions cleared successfully" {
		t.Fatalf("delete completed %v", dc)
	}
}

func TestUnknownExecutionIDs(t *testing.T) {
	s := newServer(t)
	for _, rt := range []struct{ method, path string }{
		{"GET", "/executions/nope"},
		{"GET", "/executions/arn:aws:states:us-east-1:123456789012:execution:sm:nope"},
		{"GET", "/executions/nope/realtime"},
		{"GET", "/executions/nope/job-logs"},
		{"GET", "/executions/nope/recovery-instances"},
		{"GET", "/executions/nope/termination-status"},
		{"GET", "/executions/nope/report"},
		{"POST", "/executions/nope/cancel"},
		{"POST", "/executions/nope/pause"},
		{"POST", "/executions/nope/resume"},
		{"POST", "/executions/nope/terminate-instances"},
	} {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			m := wantError(t, s.request(rt.method, rt.path, nil), 404, drsorch.CodeNotFound, "Execution with ID nope not found")
			if d, _ := m["details"].(map[string]any); d["executionId"] != "nope" {
				t.Fatalf("details %v", m["details"])
			}
		})
	}
}

func TestListParameters(t *testing.T) {
	s := newServer(t)
	// Three ended executions of the plan.
	for i := 0; i < 3; i++ {
		id := s.start("plan")
		s.drive(id, is(drsorch.ExecutionRunning))
		s.mustOK("POST", "/executions/"+id+"/cancel", nil, 200)
		s.drive(id, ended)
		s.clock.Advance(time.Minute)
	}
	tests := []struct {
		query  string
		status int
		msg    string
	}{
		{"limit=abc", 400, `limit must be a positive integer, got "abc"`},
		{"limit=0", 400, `limit must be a positive integer, got "0"`},
		{"limit=-3", 400, "limit must be a positive integer"},
		{"limit=1.5", 400, "limit must be a positive integer"},
		{"nextToken=garbage", 400, "nextToken is not a token this API issued"},
		{"nextToken=", 400, "nextToken must not be empty"},
		{"status=EXPLODED", 400, `Unknown status "EXPLODED"`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			m := wantError(t, s.request("GET", "/executions?"+tc.query, nil), tc.status, drsorch.CodeInvalidParameter, tc.msg)
			if d, _ := m["details"].(map[string]any); d["parameter"] != strings.Split(tc.query, "=")[0] {
				t.Fatalf("details %v", m["details"])
			}
		})
	}
	// Paging: two pages of one and two.
	p1 := s.mustOK("GET", "/executions?limit=1", nil, 200).object(t)
	tok, _ := p1["nextToken"].(string)
	if p1["count"] != float64(1) || tok == "" {
		t.Fatalf("page 1 %v", p1)
	}
	p2 := s.mustOK("GET", "/executions?limit=5&nextToken="+url.QueryEscape(tok), nil, 200).object(t)
	if p2["count"] != float64(2) || p2["nextToken"] != nil {
		t.Fatalf("page 2 %v", p2)
	}
	if p1["items"].([]any)[0].(map[string]any)["executionId"] == p2["items"].([]any)[0].(map[string]any)["executionId"] {
		t.Fatal("pages overlap")
	}
	for q, want := range map[string]float64{"status=partial,CANCELLED": 3, "status=COMPLETED": 0, "planId=other": 0, "planId=plan&limit=500": 3} {
		if got := s.mustOK("GET", "/executions?"+q, nil, 200).object(t)["count"]; got != want {
			t.Errorf("%s: count %v, want %v", q, got, want)
		}
	}
}

func TestCallbackLinks(t *testing.T) {
	s := newServer(t)
	s.mustOK("PUT", "/recovery-plans/plan", map[string]any{"planName": "Three tiers", "waves": []map[string]any{
		{"waveNumber": 0, "waveName": "db", "protectionGroupId": "pg-db"},
		{"waveNumber": 1, "waveName": "app", "protectionGroupId": "pg-app", "pauseBeforeWave": true},
	}}, 200)
	id := s.start("plan")
	s.drive(id, is(drsorch.ExecutionPaused))
	n, ok := s.notes.last(drsorch.NotifyPaused)
	if !ok || n.ResumeURL == "" || n.CancelURL == "" {
		t.Fatalf("no pause notification with links: %+v", n)
	}
	link, err := url.Parse(n.ResumeURL)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query string
		status      int
		text        string
	}{
		{"bad action", "action=explode&taskToken=x", 400, "Invalid action. Must be &#39;resume&#39; or &#39;cancel&#39;."},
		{"no token", "action=resume", 400, "Missing task token."},
		{"blank token", "action=resume&taskToken=%20%20", 400, "taskToken is required and cannot be empty."},
		{"short token", "action=resume&taskToken=abc", 400, "taskToken is invalid or expired (length 3 &lt; 100)."},
		{"wrong action for the link", "action=cancel&" + strings.TrimPrefix(link.RawQuery, "action=resume&"), 400, "Task token is invalid or expired"},
		{"unknown raw token", "action=resume&taskToken=" + strings.Repeat("A", 120), 400, "Task token is invalid or expired"},
		{"resume", link.RawQuery, 200, "Execution has been resumed successfully."},
		{"used twice", link.RawQuery, 400, "Task token is invalid or expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.requestAs("", "GET", "/execution-callback?"+tc.query, nil)
			if r.Code != tc.status || !strings.Contains(string(r.Body), tc.text) {
				t.Fatalf("%s", r)
			}
			if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	if st := s.status(id); st != drsorch.ExecutionRunning {
		t.Fatalf("after the resume link: %s", st)
	}
}

func TestDRSRefusalsAndFailures(t *testing.T) {
	t.Run("saturated account is 429 DRS_ERROR with retryAfter", func(t *testing.T) {
		s := newServer(t)
		f, err := drssim.ParseFixture(fixture(t, "saturated-drs.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.sim.Load(f); err != nil {
			t.Fatal(err)
		}
		r := s.request("POST", "/executions", map[string]any{"planId": "plan", "executionType": "DRILL", "initiatedBy": "me"})
		m := wantError(t, r, http.StatusTooManyRequests, drsorch.CodeDRS, "DRS concurrent job limit reached (20/20)")
		if m["retryable"] != true || m["retryAfter"] != float64(60) || r.Header.Get("Retry-After") != "60" {
			t.Fatalf("body %v header %q", m, r.Header.Get("Retry-After"))
		}
		if d := m["details"].(map[string]any); d["currentJobs"] != float64(20) || d["maxJobs"] != float64(20) || d["drsError"] != drsorch.CodeDRSQuota {
			t.Fatalf("details %v", d)
		}
	})
	t.Run("unhealthy replication is 400 INVALID_STATE", func(t *testing.T) {
		s := newServer(t)
		f, _ := drssim.ParseFixture(fixture(t, "unhealthy-db.json"))
		if err := s.sim.Load(f); err != nil {
			t.Fatal(err)
		}
		m := wantError(t, s.request("POST", "/executions", map[string]any{"planId": "plan", "executionType": "RECOVERY", "initiatedBy": "me"}),
			400, drsorch.CodeInvalidState, "1 server(s) have unhealthy replication state")
		if d := m["details"].(map[string]any); d["unhealthyCount"] != float64(1) {
			t.Fatalf("details %v", d)
		}
	})
	t.Run("DRS access denied is 502 DRS_ERROR", func(t *testing.T) {
		s := newServer(t)
		f, _ := drssim.ParseFixture(fixture(t, "describe-jobs-denied.json"))
		if err := s.sim.Load(f); err != nil {
			t.Fatal(err)
		}
		m := wantError(t, s.request("POST", "/executions", map[string]any{"planId": "plan", "executionType": "DRILL", "initiatedBy": "me"}),
			http.StatusBadGateway, drsorch.CodeDRS, "Could not check DRS jobs in us-east-1")
		if m["retryable"] != true {
			t.Fatalf("body %v", m)
		}
	})
	t.Run("a broken store is a 500 that says nothing more", func(t *testing.T) {
		s := newServer(t)
		s.store.Close()
		r := s.request("GET", "/executions", nil)
		m := wantError(t, r, 500, drsorch.CodeInternal, "internal error")
		if m["message"] != "internal error" || m["retryable"] != true || strings.Contains(string(r.Body), "sql") {
			t.Fatalf("body %s", r.Body)
		}
		if !strings.Contains(s.logs.String(), "storage failure") {
			t.Fatalf("cause not logged:\n%s", s.logs)
		}
	})
}
