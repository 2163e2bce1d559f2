package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/drsorch/drsorch"
)

func TestProtectionGroupCRUD(t *testing.T) {
	s := newServer(t)
	l := s.mustOK("GET", "/protection-groups", nil, 200).object(t)
	checkKeys(t, "group list", l, []string{"groups", "count"})
	if l["count"] != float64(3) {
		t.Fatalf("list %v", l)
	}
	g := l["groups"].([]any)[0].(map[string]any)
	checkKeys(t, "group", g, []string{"groupId", "protectionGroupId", "groupName", "region", "sourceServerIds", "version", "createdDate", "lastModifiedDate"})

	created := s.mustOK("POST", "/protection-groups", map[string]any{"groupName": " Spare ", "region": "us-east-1",
		"sourceServerIds": []string{s.server["web"][0]}}, http.StatusCreated).object(t)
	id, _ := created["groupId"].(string)
	if !drsorch.ValidUUID(id) || created["protectionGroupId"] != id || created["groupName"] != "Spare" || created["version"] != float64(1) {
		t.Fatalf("created %v", created)
	}
	got := s.mustOK("GET", "/protection-groups/"+id, nil, 200).object(t)
	// A GET body can be sent back as is.
	got["description"] = "edited"
	upd := s.mustOK("PUT", "/protection-groups/"+id, got, 200).object(t)
	if upd["description"] != "edited" || upd["version"] != float64(2) {
		t.Fatalf("updated %v", upd)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, msg, param   string
	}{
		{"duplicate name", "POST", "/protection-groups", map[string]any{"groupName": "spare", "region": "us-east-1", "sourceServerIds": []string{s.server["web"][1]}}, 409, drsorch.CodeAlreadyExists, `A Protection Group named "spare" already exists`, ""},
		{"duplicate id", "POST", "/protection-groups", map[string]any{"groupId": "pg-db", "groupName": "Other", "region": "us-east-1", "sourceServerIds": []string{s.server["web"][1]}}, 409, drsorch.CodeAlreadyExists, "pg-db already exists", ""},
		{"bad server id", "POST", "/protection-groups", map[string]any{"groupName": "X", "region": "us-east-1", "sourceServerIds": []string{"s-1"}}, 400, drsorch.CodeInvalidParameter, "is not a DRS source server id", "sourceServerIds[0]"},
		{"server not in DRS", "POST", "/protection-groups", map[string]any{"groupName": "X", "region": "us-east-1", "sourceServerIds": []string{"s-00000000000000099"}}, 400, drsorch.CodeInvalidParameter, "does not exist in DRS", "sourceServerIds[0]"},
		{"no selection", "POST", "/protection-groups", map[string]any{"groupName": "X", "region": "us-east-1"}, 400, drsorch.CodeInvalidParameter, "needs sourceServerIds or serverSelectionTags", "sourceServerIds"},
		{"no region", "POST", "/protection-groups", map[string]any{"groupName": "X", "sourceServerIds": []string{s.server["web"][1]}}, 400, drsorch.CodeMissingParameter, "region is required", "region"},
		{"bad region", "POST", "/protection-groups", map[string]any{"groupName": "X", "region": "moon-1", "sourceServerIds": []string{s.server["web"][1]}}, 400, drsorch.CodeInvalidParameter, "is not an AWS region", "region"},
		{"unknown field", "POST", "/protection-groups", map[string]any{"groupName": "X", "region": "us-east-1", "sourceServers": []string{s.server["web"][1]}}, 400, drsorch.CodeInvalidParameter, `Unknown field "sourceServers"`, "sourceServers"},
		{"wrong type", "POST", "/protection-groups", `{"groupName":"X","region":"us-east-1","sourceServerIds":"s-web00000000000001"}`, 400, drsorch.CodeInvalidParameter, "Invalid value for sourceServerIds: expected a list, got string", "sourceServerIds"},
		{"tags not a map", "POST", "/protection-groups", `{"groupName":"X","region":"us-east-1","serverSelectionTags":["Tier"]}`, 400, drsorch.CodeInvalidParameter, "Invalid value for serverSelectionTags: expected an object", "serverSelectionTags"},
		{"alias disagrees", "POST", "/protection-groups", map[string]any{"groupId": "a", "protectionGroupId": "b", "groupName": "X", "region": "us-east-1"}, 400, drsorch.CodeInvalidParameter, "differ", "protectionGroupId"},
		{"get unknown", "GET", "/protection-groups/nope", nil, 404, drsorch.CodeNotFound, "Protection Group with ID nope not found", ""},
		{"put unknown", "PUT", "/protection-groups/nope", map[string]any{"groupName": "X", "region": "us-east-1", "sourceServerIds": []string{s.server["web"][1]}}, 404, drsorch.CodeNotFound, "Protection Group with ID nope not found", ""},
		{"put other id", "PUT", "/protection-groups/" + id, map[string]any{"groupId": "pg-db", "groupName": "X", "region": "us-east-1"}, 400, drsorch.CodeInvalidParameter, "does not match", "groupId"},
		{"stale version", "PUT", "/protection-groups/" + id, map[string]any{"groupName": "Spare", "region": "us-east-1", "sourceServerIds": []string{s.server["web"][0]}, "version": 1}, 409, drsorch.CodeVersionConflict, "changed by someone else", ""},
		{"delete a group in use", "DELETE", "/protection-groups/pg-db", nil, 400, drsorch.CodeInvalidState, "is used by Recovery Plan plan", ""},
		{"delete unknown", "DELETE", "/protection-groups/nope", nil, 404, drsorch.CodeNotFound, "not found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := wantError(t, s.request(tc.method, tc.path, tc.body), tc.status, tc.code, tc.msg)
			if tc.param != "" {
				if d, _ := m["details"].(map[string]any); d["parameter"] != tc.param {
					t.Fatalf("details %v, want parameter %q", m["details"], tc.param)
				}
			}
		})
	}
	del := s.mustOK("DELETE", "/protection-groups/"+id, nil, 200).object(t)
	if del["groupId"] != id || del["message"] != "Protection Group "+id+" deleted" {
		t.Fatalf("delete %v", del)
	}
	wantError(t, s.request("GET", "/protection-groups/"+id, nil), 404, drsorch.CodeNotFound, "")
}

func TestRecoveryPlanCRUD(t *testing.T) {
	s := newServer(t)
	l := s.mustOK("GET", "/recovery-plans", nil, 200).object(t)
	checkKeys(t, "plan list", l, []string{"recoveryPlans", "count"})
	if l["count"] != float64(1) {
		t.Fatalf("list %v", l)
	}
	p := l["recoveryPlans"].([]any)[0].(map[string]any)
	checkKeys(t, "plan", p, []string{"planId", "planName", "waves", "version", "createdDate", "lastModifiedDate"})
	w := p["waves"].([]any)[0].(map[string]any)
	checkKeys(t, "plan wave", w, []string{"waveNumber", "waveName", "protectionGroupId", "pauseBeforeWave"})

	body := map[string]any{"planName": "Web only", "description": "d", "waves": []map[string]any{
		{"waveNumber": 0, "protectionGroupIds": []string{"pg-app", "pg-web"}, "serverIds": []string{s.server["web"][0]}},
	}}
	created := s.mustOK("POST", "/recovery-plans", body, http.StatusCreated).object(t)
	id, _ := created["planId"].(string)
	cw := created["waves"].([]any)[0].(map[string]any)
	if !drsorch.ValidUUID(id) || created["version"] != float64(1) || cw["waveName"] != "Wave 1" {
		t.Fatalf("created %v", created)
	}
	got := s.mustOK("GET", "/recovery-plans/"+id, nil, 200).object(t)
	got["description"] = "edited"
	upd := s.mustOK("PUT", "/recovery-plans/"+id, got, 200).object(t)
	if upd["description"] != "edited" || upd["version"] != float64(2) {
		t.Fatalf("updated %v", upd)
	}
	wave := func(n int, pg string, extra map[string]any) map[string]any {
		w := map[string]any{"waveNumber": n, "waveName": "w", "protectionGroupId": pg}
		for k, v := range extra {
			w[k] = v
		}
		return w
	}
	plan := func(waves ...map[string]any) map[string]any {
		return map[string]any{"planName": "P2", "waves": waves}
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code, msg, param   string
	}{
		{"no waves", "POST", "/recovery-plans", plan(), 400, drsorch.CodeInvalidParameter, "at least one wave", "waves"},
		{"no name", "POST", "/recovery-plans", map[string]any{"waves": []any{wave(0, "pg-db", nil)}}, 400, drsorch.CodeMissingParameter, "planName is required", "planName"},
		{"duplicate name", "POST", "/recovery-plans", map[string]any{"planName": "three TIERS", "waves": []any{wave(0, "pg-db", nil)}}, 409, drsorch.CodeAlreadyExists, "already exists", ""},
		{"unknown group", "POST", "/recovery-plans", plan(wave(0, "pg-nope", nil)), 400, drsorch.CodeInvalidParameter, "Protection Group pg-nope not found", ""},
		{"wave without group", "POST", "/recovery-plans", plan(map[string]any{"waveNumber": 0}), 400, drsorch.CodeInvalidParameter, "needs protectionGroupId", "waves[0].protectionGroupId"},
		{"duplicate wave numbers", "POST", "/recovery-plans", plan(wave(0, "pg-db", nil), wave(0, "pg-web", nil)), 400, drsorch.CodeInvalidParameter, "wave number 0 is used by waves[0] too", "waves[1].waveNumber"},
		{"dependency out of range", "POST", "/recovery-plans", plan(wave(0, "pg-db", nil), wave(1, "pg-web", map[string]any{"dependsOnWaves": []int{7}})), 400, drsorch.CodeInvalidParameter, "depends on wave 7, which the plan does not have", "waves[1].dependsOnWaves"},
		{"dependency cycle", "POST", "/recovery-plans", plan(wave(0, "pg-db", map[string]any{"dependsOnWaves": []int{1}}), wave(1, "pg-web", map[string]any{"dependsOnWaves": []int{0}})), 400, drsorch.CodeInvalidParameter, "cycle", "dependsOnWaves"},
		{"bad server id", "POST", "/recovery-plans", plan(wave(0, "pg-db", map[string]any{"serverIds": []string{"i-123"}})), 400, drsorch.CodeInvalidParameter, "is not a DRS source server id", "waves[0].serverIds[0]"},
		{"server outside the group", "POST", "/recovery-plans", plan(wave(0, "pg-db", map[string]any{"serverIds": []string{s.server["web"][0]}})), 400, drsorch.CodeInvalidParameter, "is not in the wave's protection groups", "waves[0].serverIds[0]"},
		{"waveNumber is a string", "POST", "/recovery-plans", `{"planName":"P2","waves":[{"waveNumber":"0","protectionGroupId":"pg-db"}]}`, 400, drsorch.CodeInvalidParameter, "expected an integer, got string", "waves.waveNumber"},
		{"unknown wave field", "POST", "/recovery-plans", `{"planName":"P2","waves":[{"waveNumber":0,"protectionGroupId":"pg-db","pauseBefore":true}]}`, 400, drsorch.CodeInvalidParameter, `Unknown field "pauseBefore"`, "pauseBefore"},
		{"get unknown", "GET", "/recovery-plans/nope", nil, 404, drsorch.CodeNotFound, "Recovery Plan with ID nope not found", ""},
		{"put unknown", "PUT", "/recovery-plans/nope", plan(wave(0, "pg-db", nil)), 404, drsorch.CodeNotFound, "Recovery Plan with ID nope not found", ""},
		{"put other id", "PUT", "/recovery-plans/" + id, map[string]any{"planId": "plan", "planName": "x", "waves": []any{wave(0, "pg-db", nil)}}, 400, drsorch.CodeInvalidParameter, "does not match", "planId"},
		{"delete unknown", "DELETE", "/recovery-plans/nope", nil, 404, drsorch.CodeNotFound, "not found", ""},
		{"execute unknown", "POST", "/recovery-plans/nope/execute", map[string]any{"executionType": "DRILL", "initiatedBy": "me"}, 404, drsorch.CodeNotFound, "Recovery Plan with ID nope not found", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := wantError(t, s.request(tc.method, tc.path, tc.body), tc.status, tc.code, tc.msg)
			if tc.param != "" {
				if d, _ := m["details"].(map[string]any); d["parameter"] != tc.param {
					t.Fatalf("details %v, want parameter %q", m["details"], tc.param)
				}
			}
		})
	}

	// A plan with an active execution cannot be deleted; once it ended it can.
	r := s.mustOK("POST", "/recovery-plans/"+id+"/execute", map[string]any{"planId": "ignored", "executionType": "DRILL", "initiatedBy": "me"}, http.StatusAccepted)
	exec := r.object(t)["executionId"].(string)
	if x := s.mustOK("GET", "/executions/"+exec, nil, 200).object(t); x["planId"] != id {
		t.Fatalf("execute started plan %v", x["planId"])
	}
	wantError(t, s.request("DELETE", "/recovery-plans/"+id, nil), 400, drsorch.CodeInvalidState, "has an active execution")
	s.drive(exec, ended)
	del := s.mustOK("DELETE", "/recovery-plans/"+id, nil, 200).object(t)
	if del["planId"] != id || del["message"] != "Recovery Plan "+id+" deleted" {
		t.Fatalf("delete %v", del)
	}
	wantError(t, s.request("GET", "/recovery-plans/"+id, nil), 404, drsorch.CodeNotFound, "")
}
