package lambdafn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/internal/testenv"
)

// The records the route × group table adds to the shared fixtures: a
// RECOVERY that runs, and a plan and a group nothing uses.
const authzRecords = `{
 "protectionGroups": [
  {"groupId":"pg-rec","groupName":"rec","region":"us-east-1","sourceServerIds":["s-6666666666666666a"]},
  {"groupId":"pg-spare","groupName":"spare","region":"us-east-1","sourceServerIds":["s-7777777777777777a"]}],
 "recoveryPlans": [
  {"planId":"plan-rec","planName":"rec","waves":[{"waveNumber":0,"waveName":"rec","protectionGroupId":"pg-rec","serverIds":["s-6666666666666666a"]},
                                                 {"waveNumber":1,"waveName":"rec2","protectionGroupId":"pg-rec","serverIds":[]}]},
  {"planId":"plan-spare","planName":"spare","waves":[{"waveNumber":0,"waveName":"spare","protectionGroupId":"pg-pend"}]}],
 "executions": [
  {"executionId":"6a1f0c2e-0000-4000-8000-0000000000a1","planId":"plan-rec","planName":"rec","executionType":"RECOVERY","status":"RUNNING",
   "startTime":1772364600,"initiatedBy":"ops@example.com","totalWaves":2,"accountContext":{"accountId":"123456789012","isCurrentAccount":true},
   "waves":[{"waveNumber":0,"waveName":"rec","protectionGroupId":"pg-rec","status":"STARTED","jobId":"drsjob-6666666666666666a","startTime":1772364720,
             "region":"us-east-1","serverIds":["s-6666666666666666a"],"serverStatuses":[{"sourceServerId":"s-6666666666666666a","launchStatus":"IN_PROGRESS"}]},
            {"waveNumber":1,"waveName":"rec2","protectionGroupId":"pg-rec","serverIds":["s-6666666666666666a"],"status":"PENDING"}]}]
}`

// authzIDs fill drsorchtest.AuthzRoutes for the shared fixtures.
var authzIDs = map[string]string{
	"runningDrill": "6a1f0c2e-0000-4000-8000-000000000002", "endedDrill": "6a1f0c2e-0000-4000-8000-000000000001",
	"runningRecovery": "6a1f0c2e-0000-4000-8000-0000000000a1", "endedRecovery": "6a1f0c2e-0000-4000-8000-000000000004",
	"freePlan": "plan-1", "plan": "plan-run", "group": "pg-db", "sparePlan": "plan-spare", "spareGroup": "pg-spare",
	"server": "s-1111111111111111a",
}

// newAuthzLocal is the Lambda's router on local backends (as `drsorch
// invoke` builds it: auth.Authorizer in the engine, the HTTP API behind API
// Gateway's claims) loaded with the shared fixtures and authzRecords.
func newAuthzLocal(t *testing.T) *app.Local {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	f, err := app.ParseFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	more, err := app.ParseFixtures([]byte(authzRecords))
	if err != nil {
		t.Fatal(err)
	}
	f.ProtectionGroups = append(f.ProtectionGroups, more.ProtectionGroups...)
	f.RecoveryPlans = append(f.RecoveryPlans, more.RecoveryPlans...)
	f.Executions = append(f.Executions, more.Executions...)
	env := map[string]string{}
	testenv.LoadEnvFile(t, env, "testdata/env")
	l, err := app.NewLocal(context.Background(), app.LocalOptions{Fixtures: f, Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// apiEvent is a REST API (v1) event whose Cognito authorizer verified a user of the groups.
func apiEvent(t *testing.T, method, target, body string, groups any) []byte {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	q := map[string]string{}
	for k, v := range u.Query() {
		q[k] = v[0]
	}
	ev := map[string]any{
		"httpMethod": method, "path": u.Path, "queryStringParameters": q, "headers": map[string]string{"Content-Type": "application/json"},
		"requestContext": map[string]any{"httpMethod": method, "stage": "prod", "identity": map[string]any{"sourceIp": "203.0.113.9"},
			"authorizer": map[string]any{"claims": map[string]any{"sub": "u-authz", "email": "caller@example.com",
				"cognito:username": "caller", "cognito:groups": groups}}},
	}
	if body != "" {
		ev["body"] = body
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLambdaRoutesByGroup runs every route as every group through API
// Gateway events, with the groups as API Gateway passes them (a list or a
// comma-separated string).
func TestLambdaRoutesByGroup(t *testing.T) {
	groups := append(append([]string{}, drsorchtest.ExpectedGroups...), "DRS-Administrator", "aws:read-only")
	for i, group := range groups {
		t.Run(group, func(t *testing.T) {
			l := newAuthzLocal(t)
			var claim any = group // REST APIs pass one group as a string…
			if i%2 == 1 {
				claim = []any{group} // …or a list
			}
			for _, rt := range drsorchtest.AuthzRoutes {
				ev := apiEvent(t, rt.Method, drsorchtest.Fill(rt.Path, authzIDs), drsorchtest.Fill(rt.Body, authzIDs), claim)
				out, err := l.Router.Handle(context.Background(), ev)
				t.Run(rt.Name(), func(t *testing.T) {
					if err != nil {
						t.Fatalf("invocation failed: %v", err)
					}
					var env envelope
					if err := json.Unmarshal(out, &env); err != nil {
						t.Fatalf("not an envelope: %s", out)
					}
					checkLambdaAuthz(t, rt, group, env)
				})
			}
		})
	}
}

func checkLambdaAuthz(t *testing.T, rt drsorchtest.AuthzRoute, group string, env envelope) {
	t.Helper()
	if rt.Perm == "" || drsorchtest.ExpectAllowed(group, rt.Perm, rt.Type) {
		switch s := env.StatusCode; {
		case s == http.StatusUnauthorized, s == http.StatusForbidden, s == http.StatusNotFound, s >= 500:
			t.Fatalf("allowed, but got %d %s", s, env.Body)
		}
		return
	}
	var body struct {
		Error   string         `json:"error"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	}
	if err := json.Unmarshal([]byte(env.Body), &body); err != nil {
		t.Fatalf("body: %v: %s", err, env.Body)
	}
	if env.StatusCode != http.StatusForbidden || body.Error != drsorch.CodeForbidden ||
		!strings.HasPrefix(body.Message, "Missing required permission: "+string(rt.Perm)) || body.Details["requiredPermission"] != string(rt.Perm) {
		t.Fatalf("want 403 FORBIDDEN naming %s, got %d %s", rt.Perm, env.StatusCode, env.Body)
	}
}

// TestLambdaIdentityAndDirectInvocation: the caller API Gateway verified is
// recorded as initiatedBy and on the timeline; direct invocations, which IAM
// authorises, are not subject to the matrix and are recorded as such.
func TestLambdaIdentityAndDirectInvocation(t *testing.T) {
	l := newAuthzLocal(t)
	ev := apiEvent(t, "POST", "/executions", `{"planId":"plan-1","executionType":"DRILL","initiatedBy":"spoofed"}`, "DRSDrillOperator")
	out, err := l.Router.Handle(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	_ = json.Unmarshal(out, &env)
	var started struct {
		ExecutionID string `json:"executionId"`
	}
	if env.StatusCode != http.StatusAccepted || json.Unmarshal([]byte(env.Body), &started) != nil {
		t.Fatalf("start: %s", out)
	}
	x, err := l.Store.GetExecution(context.Background(), started.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	if x.InitiatedBy != "caller@example.com" || x.Timeline[0].Actor != "caller@example.com" {
		t.Fatalf("initiatedBy %q, timeline %+v", x.InitiatedBy, x.Timeline)
	}
	// A direct invocation may pause the RECOVERY a DRSDrillOperator may not:
	// the function's resource policy and IAM are the control there.
	out, err = l.Router.Handle(context.Background(), []byte(`{"operation":"pause_execution","parameters":{"executionId":"`+authzIDs["runningRecovery"]+`"}}`))
	if err != nil || strings.Contains(string(out), drsorch.CodeForbidden) {
		t.Fatalf("direct pause: %s %v", out, err)
	}
	x, _ = l.Store.GetExecution(context.Background(), authzIDs["runningRecovery"])
	if last := x.Timeline[len(x.Timeline)-1]; last.Actor != "direct-invocation" {
		t.Fatalf("timeline %+v", x.Timeline)
	}
}
