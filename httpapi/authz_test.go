package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
)

// placeholder matches the {name} placeholders of drsorchtest.AuthzRoutes.
var placeholder = regexp.MustCompile(`\{[A-Za-z]+\}`)

// pattern is the ServeMux pattern an authz route is served by.
func pattern(r drsorchtest.AuthzRoute) string {
	p, _, _ := strings.Cut(r.Path, "?")
	return r.Method + " " + placeholder.ReplaceAllString(p, "{id}")
}

// TestAuthzRoutesCoverEveryRoute checks that the route × group table calls
// every route the API serves, and that docs/security.md's operations table
// (auth.Operations) says each needs the permission the table expects.
func TestAuthzRoutesCoverEveryRoute(t *testing.T) {
	called := map[string]bool{}
	for _, r := range drsorchtest.AuthzRoutes {
		called[pattern(r)] = true
		needs := auth.NeedsOf(pattern(r))
		switch {
		case needs == "":
			t.Errorf("%s is not in auth.Operations", pattern(r))
		case r.Perm == "" && !strings.HasPrefix(needs, "nothing"):
			t.Errorf("%s: public, but auth.Operations says it needs %s", pattern(r), needs)
		case r.Perm != "" && !strings.Contains(needs, "`"+string(r.Perm)+"`"):
			t.Errorf("%s needs %s, but auth.Operations says %s", pattern(r), r.Perm, needs)
		}
	}
	for _, rt := range httpapi.Routes() {
		if p := rt.Method + " " + rt.Path; !called[p] {
			t.Errorf("the route × group table does not call %s", p)
		}
	}
}

// newAuthzServer is the API with the permission matrix wired into the engine
// (as in `drsorch serve`), holding a DRILL and a RECOVERY that run, a DRILL
// and a RECOVERY that ended, a plan never run, and a spare plan and group.
// It returns the ids to fill drsorchtest.AuthzRoutes with.
func newAuthzServer(t *testing.T) (*server, map[string]string) {
	t.Helper()
	s := newServerWith(t, func(c *engine.Config, _ *httpapi.Options) { c.Authorizer = auth.Authorizer{} })
	for _, tier := range []string{"reca", "recb", "free", "spare"} {
		s.addTier(tier, 2)
	}
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-reca", "groupName": "Rec A", "region": "us-east-1",
		"sourceServerIds": s.server["reca"]}, http.StatusCreated)
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-recb", "groupName": "Rec B", "region": "us-east-1",
		"sourceServerIds": s.server["recb"]}, http.StatusCreated)
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-free", "groupName": "Free", "region": "us-east-1",
		"sourceServerIds": s.server["free"]}, http.StatusCreated)
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-spare", "groupName": "Spare", "region": "us-east-1",
		"sourceServerIds": s.server["spare"]}, http.StatusCreated)
	s.mustOK("POST", "/recovery-plans", map[string]any{"planId": "plan-rec", "planName": "Recovery", "waves": []map[string]any{
		{"waveNumber": 0, "protectionGroupId": "pg-reca"}, {"waveNumber": 1, "protectionGroupId": "pg-recb"}}}, http.StatusCreated)
	s.mustOK("POST", "/recovery-plans", map[string]any{"planId": "plan-free", "planName": "Free", "waves": []map[string]any{
		{"waveNumber": 0, "protectionGroupId": "pg-free"}}}, http.StatusCreated)
	s.mustOK("POST", "/recovery-plans", map[string]any{"planId": "plan-spare", "planName": "Spare", "waves": []map[string]any{
		{"waveNumber": 0, "protectionGroupId": "pg-free"}}}, http.StatusCreated)

	startAs := func(plan string, typ drsorch.ExecutionType) string {
		r := s.mustOK("POST", "/executions", map[string]any{"planId": plan, "executionType": typ, "initiatedBy": "setup"}, http.StatusAccepted)
		return r.object(t)["executionId"].(string)
	}
	ids := map[string]string{"freePlan": "plan-free", "plan": "plan", "group": "pg-db", "sparePlan": "plan-spare",
		"spareGroup": "pg-spare", "server": s.server["db"][0]}
	ids["endedDrill"] = startAs("plan", drsorch.Drill)
	s.drive(ids["endedDrill"], ended)
	ids["runningDrill"] = startAs("plan", drsorch.Drill)
	s.drive(ids["runningDrill"], is(drsorch.ExecutionRunning))
	ids["endedRecovery"] = startAs("plan-rec", drsorch.Recovery)
	s.drive(ids["endedRecovery"], ended)
	ids["runningRecovery"] = startAs("plan-rec", drsorch.Recovery)
	s.drive(ids["runningRecovery"], is(drsorch.ExecutionRunning))
	return s, ids
}

// addTier adds n source servers of a tier to the simulator.
func (s *server) addTier(tier string, n int) {
	s.t.Helper()
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("s-%s%0*d", tier, 17-len(tier), i)
		s.server[tier] = append(s.server[tier], id)
		if err := s.sim.AddSourceServers(drsorch.SourceServer{SourceServerID: id, Hostname: id + ".example",
			Tags: map[string]string{"Tier": tier}, ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"}); err != nil {
			s.t.Fatal(err)
		}
	}
}

// checkAuthz checks one answer of the route × group table: a denial is 403
// FORBIDDEN naming the missing permission; anything else must not be a
// refusal of the caller (401, 403), an unknown id (404) or a failure (5xx).
func checkAuthz(t *testing.T, rt drsorchtest.AuthzRoute, group string, status int, body []byte) {
	t.Helper()
	want := rt.Perm == "" || drsorchtest.ExpectAllowed(group, rt.Perm, rt.Type)
	if !want {
		r := response{Code: status, Body: body}
		m := wantError(t, r, http.StatusForbidden, drsorch.CodeForbidden, "Missing required permission: "+string(rt.Perm))
		if d, _ := m["details"].(map[string]any); d["requiredPermission"] != string(rt.Perm) {
			t.Fatalf("details %v do not name %s", m["details"], rt.Perm)
		}
		return
	}
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound, status >= 500:
		t.Fatalf("allowed, but got %d %s", status, body)
	}
}

// TestRoutesByGroup runs every route as every group through the HTTP API of
// `drsorch serve` (local tokens, auth.Authorizer in the engine).
func TestRoutesByGroup(t *testing.T) {
	groups := append(append([]string{}, drsorchtest.ExpectedGroups...), "aws:operator", "DRS-Read-Only")
	for _, group := range groups {
		t.Run(group, func(t *testing.T) {
			s, ids := newAuthzServer(t)
			tok := s.mintGroup(group)
			for _, rt := range drsorchtest.AuthzRoutes {
				var body any
				if rt.Body != "" {
					body = drsorchtest.Fill(rt.Body, ids)
				}
				r := s.requestAs(tok, rt.Method, drsorchtest.Fill(rt.Path, ids), body)
				t.Run(rt.Name(), func(t *testing.T) { checkAuthz(t, rt, group, r.Code, r.Body) })
			}
		})
	}
}

// mintGroup mints a token for a group, legacy names included (Mint accepts
// only the current names, so those are signed by hand).
func (s *server) mintGroup(group string) string {
	s.t.Helper()
	if auth.ValidGroup(group) {
		return s.mint(group, strings.ToLower(group)+"@example.com")
	}
	return signLocal(s.t, s.key, map[string]any{"sub": "legacy-user", "cognito:username": "legacy",
		"cognito:groups": group, "iat": s.clock.Now().Unix(), "exp": s.clock.Now().Add(3600e9).Unix()})
}

// TestDrillOperatorAndARecovery is the drill-only permission on its own: a
// DRSDrillOperator runs drills but may not start, pause, cancel or terminate a RECOVERY.
func TestDrillOperatorAndARecovery(t *testing.T) {
	s, ids := newAuthzServer(t)
	tok := s.mint(auth.GroupDrillOperator, "dana@example.com")
	denied := []struct{ method, path, body, perm string }{
		{"POST", "/executions", `{"planId":"plan-free","executionType":"RECOVERY","initiatedBy":"dana"}`, "start_recovery"},
		{"POST", "/executions", `{"planId":"plan-free","executionType":"recovery","initiatedBy":"dana"}`, "start_recovery"},
		{"POST", "/executions/" + ids["runningRecovery"] + "/pause", "", "stop_execution"},
		{"POST", "/executions/" + ids["runningRecovery"] + "/resume", "", "stop_execution"},
		{"POST", "/executions/" + ids["runningRecovery"] + "/cancel", "", "stop_execution"},
		{"POST", "/executions/" + ids["endedRecovery"] + "/terminate-instances", `{"force":true}`, "terminate_instances"},
		{"POST", "/executions/" + ids["endedDrill"] + "/terminate-instances", `{}`, "terminate_instances"},
	}
	for _, tc := range denied {
		t.Run("denied "+tc.method+" "+tc.path+" "+tc.body, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			m := wantError(t, s.requestAs(tok, tc.method, tc.path, body), http.StatusForbidden, drsorch.CodeForbidden,
				"Missing required permission: "+tc.perm)
			if d, _ := m["details"].(map[string]any); d["requiredPermission"] != tc.perm {
				t.Fatalf("details %v", m["details"])
			}
		})
	}
	if x, _ := s.store.GetExecution(t.Context(), ids["runningRecovery"]); x.Status != drsorch.ExecutionRunning {
		t.Fatalf("the RECOVERY is %s after the refused requests", x.Status)
	}
	// Drills are theirs: start one, pause it, resume it, cancel it.
	r := s.requestAs(tok, "POST", "/executions", map[string]any{"planId": "plan-free", "executionType": "DRILL", "initiatedBy": "ignored"})
	if r.Code != http.StatusAccepted {
		t.Fatalf("start a drill: %s", r)
	}
	id := r.object(t)["executionId"].(string)
	if x, _ := s.store.GetExecution(t.Context(), id); x.InitiatedBy != "dana@example.com" || x.Timeline[0].Actor != "dana@example.com" {
		t.Fatalf("initiatedBy %q, timeline %+v", x.InitiatedBy, x.Timeline)
	}
	for _, path := range []string{"/executions/" + ids["runningDrill"] + "/pause", "/executions/" + ids["runningDrill"] + "/cancel"} {
		if r := s.requestAs(tok, "POST", path, nil); r.Code != http.StatusOK {
			t.Fatalf("%s: %s", path, r)
		}
	}
	// The timeline records who paused and who cancelled.
	x, _ := s.store.GetExecution(t.Context(), ids["runningDrill"])
	byTarget := map[string]string{}
	for _, ev := range x.Timeline {
		byTarget[ev.To] = ev.Actor
	}
	if byTarget[string(drsorch.ExecutionPausePending)] != "dana@example.com" ||
		(byTarget[string(drsorch.ExecutionCancelling)] != "dana@example.com" && byTarget[string(drsorch.ExecutionCancelled)] != "dana@example.com") {
		t.Fatalf("the timeline does not record the caller: %+v", x.Timeline)
	}
}

// signLocal signs claims with a local key, as `drsorch token` would, for
// tokens Mint refuses to make (legacy group names, unknown groups).
func signLocal(t *testing.T, k *auth.Key, claims map[string]any) string {
	t.Helper()
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(b, &jwk); err != nil {
		t.Fatal(err)
	}
	claims["iss"], claims["aud"] = auth.LocalIssuer, auth.Audience
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jwk.Key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestDenialWithoutKnownGroup: a valid token whose groups drsorch does not know may do nothing.
func TestDenialWithoutKnownGroup(t *testing.T) {
	s, _ := newAuthzServer(t)
	tok := s.mintGroup("SomeOtherGroup")
	m := wantError(t, s.requestAs(tok, "GET", "/executions", nil), http.StatusForbidden, drsorch.CodeForbidden,
		"Missing required permission: view_executions")
	if d, _ := m["details"].(map[string]any); d["reason"] != "The caller belongs to no drsorch group" {
		t.Fatalf("details %v", m["details"])
	}
}

// TestTerminateARecovery: the instances of a RECOVERY need terminate_instances
// and "force": true; the permission is checked first, force next.
func TestTerminateARecovery(t *testing.T) {
	s, ids := newAuthzServer(t)
	path := "/executions/" + ids["endedRecovery"] + "/terminate-instances"
	operator := s.mint(auth.GroupOperator, "olga@example.com")
	manager := s.mint(auth.GroupRecoveryManager, "rita@example.com")
	wantError(t, s.requestAs(operator, "POST", path, `{"force":true}`), http.StatusForbidden, drsorch.CodeForbidden,
		"Missing required permission: terminate_instances")
	wantError(t, s.requestAs(manager, "POST", path, `{}`), http.StatusBadRequest, drsorch.CodeInvalidState, `"force": true`)
	r := s.requestAs(manager, "POST", path, `{"force":true}`)
	if r.Code != http.StatusOK {
		t.Fatalf("forced: %s", r)
	}
	x, _ := s.store.GetExecution(t.Context(), ids["endedRecovery"])
	if last := x.Timeline[len(x.Timeline)-1]; last.Type != "terminate_requested" || last.Actor != "rita@example.com" {
		t.Fatalf("timeline %+v", x.Timeline[len(x.Timeline)-1])
	}
}
