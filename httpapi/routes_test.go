package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
)

// routes is every authenticated route of the API.
var routes = []struct{ method, path string }{
	{"POST", "/executions"},
	{"GET", "/executions"},
	{"DELETE", "/executions?ids=x"},
	{"POST", "/executions/delete"},
	{"DELETE", "/executions/completed"},
	{"GET", "/executions/x"},
	{"GET", "/executions/x/realtime"},
	{"GET", "/executions/x/job-logs"},
	{"GET", "/executions/x/recovery-instances"},
	{"GET", "/executions/x/termination-status"},
	{"GET", "/executions/x/report"},
	{"POST", "/executions/x/cancel"},
	{"POST", "/executions/x/pause"},
	{"POST", "/executions/x/resume"},
	{"POST", "/executions/x/terminate-instances"},
	{"POST", "/recovery-plans/plan/execute"},
	{"GET", "/protection-groups"},
	{"POST", "/protection-groups"},
	{"GET", "/protection-groups/pg-db"},
	{"PUT", "/protection-groups/pg-db"},
	{"DELETE", "/protection-groups/pg-db"},
	{"GET", "/recovery-plans"},
	{"POST", "/recovery-plans"},
	{"GET", "/recovery-plans/plan"},
	{"PUT", "/recovery-plans/plan"},
	{"DELETE", "/recovery-plans/plan"},
}

var referenceHeaders = map[string]string{
	"Content-Type":                 "application/json",
	"Access-Control-Allow-Origin":  "*",
	"Access-Control-Allow-Headers": "Content-Type,Authorization",
	"Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
	"X-Content-Type-Options":       "nosniff",
	"X-Frame-Options":              "DENY",
}

func checkHeaders(t *testing.T, r response) {
	t.Helper()
	for k, v := range referenceHeaders {
		if got := r.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestEveryRouteNeedsAToken(t *testing.T) {
	s := newServer(t)
	expired := func() string {
		tok, _ := s.key.Mint(auth.TokenRequest{Group: auth.GroupAdmin, Now: s.clock.Now().Add(-24 * time.Hour)})
		return tok
	}()
	other, _ := auth.GenerateKey()
	forged, _ := other.Mint(auth.TokenRequest{Group: auth.GroupAdmin, Now: s.clock.Now()})
	for _, rt := range routes {
		for _, tc := range []struct {
			name, token, fragment string
		}{
			{"no token", "", "Missing Authorization header"},
			{"expired", expired, "expired"},
			{"other key", forged, "signature is invalid"},
		} {
			t.Run(rt.method+" "+rt.path+" "+tc.name, func(t *testing.T) {
				r := s.requestAs(tc.token, rt.method, rt.path, nil)
				wantError(t, r, http.StatusUnauthorized, drsorch.CodeUnauthorized, tc.fragment)
				checkHeaders(t, r)
			})
		}
	}
	// Nothing changed: the plan and groups are still there.
	s.mustOK("GET", "/recovery-plans/plan", nil, http.StatusOK)
	s.mustOK("GET", "/protection-groups/pg-db", nil, http.StatusOK)
}

func TestAnyGroupMayCallEveryRouteForNow(t *testing.T) {
	s := newServer(t)
	for _, g := range auth.Groups {
		t.Run(g, func(t *testing.T) {
			r := s.requestAs(s.mint(g, "user-"+strings.ToLower(g)), "GET", "/recovery-plans", nil)
			if r.Code != http.StatusOK {
				t.Fatalf("%s: %s", g, r)
			}
		})
	}
}

func TestPublicRoutes(t *testing.T) {
	s := newServer(t)
	r := s.requestAs("", "GET", "/health", nil)
	if r.Code != http.StatusOK || strings.TrimSpace(string(r.Body)) != `{"status":"ok"}` {
		t.Fatalf("health: %s", r)
	}
	checkHeaders(t, r)
	r = s.requestAs("", "GET", "/execution-callback?action=resume&taskToken=short", nil)
	if r.Code != http.StatusBadRequest || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("callback without login: %s %v", r, r.Header)
	}
}

func TestPreflight(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		path    string
		code    int
		methods string
	}{
		{"/executions", http.StatusOK, "GET,POST,DELETE,OPTIONS"},
		{"/executions/abc", http.StatusOK, "GET,OPTIONS"},
		{"/executions/abc/cancel", http.StatusOK, "POST,OPTIONS"},
		{"/protection-groups/pg-1", http.StatusOK, "GET,PUT,DELETE,OPTIONS"},
		{"/health", http.StatusOK, "GET,OPTIONS"},
		{"/nowhere", http.StatusNotFound, ""},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			r := s.requestAs("", "OPTIONS", tc.path, nil)
			if r.Code != tc.code {
				t.Fatalf("%s", r)
			}
			if tc.code == http.StatusOK {
				if got := r.Header.Get("Access-Control-Allow-Methods"); got != tc.methods {
					t.Fatalf("Allow-Methods %q, want %q", got, tc.methods)
				}
				if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Access-Control-Allow-Headers") != "Content-Type,Authorization" {
					t.Fatalf("CORS headers %v", r.Header)
				}
			}
		})
	}
}

func TestUnknownPathsAndMethods(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		method, path string
		status       int
		code, msg    string
		allow        string
	}{
		{"GET", "/nowhere", 404, drsorch.CodeNotFound, "No handler for GET /nowhere", ""},
		{"GET", "/drs/jobs", 404, drsorch.CodeNotFound, "No handler for GET /drs/jobs", ""},
		{"POST", "/executions/x/explode", 404, drsorch.CodeNotFound, "No handler for POST /executions/x/explode", ""},
		{"PUT", "/executions", 405, drsorch.CodeMethodNotAllowed, "PUT is not allowed", "GET, POST, DELETE"},
		{"GET", "/executions/x/cancel", 405, drsorch.CodeMethodNotAllowed, "GET is not allowed", "POST"},
		{"PATCH", "/recovery-plans/plan", 405, drsorch.CodeMethodNotAllowed, "PATCH is not allowed", "GET, PUT, DELETE"},
		{"DELETE", "/health", 405, drsorch.CodeMethodNotAllowed, "DELETE is not allowed", "GET"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			r := s.request(tc.method, tc.path, nil)
			wantError(t, r, tc.status, tc.code, tc.msg)
			checkHeaders(t, r)
			if got := r.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
	// Without a token an unknown path is refused before anything is said about it.
	wantError(t, s.requestAs("", "GET", "/nowhere", nil), 401, drsorch.CodeUnauthorized, "Missing")
}

func TestRequestLogKeepsSecretsOut(t *testing.T) {
	s := newServer(t)
	id := s.start("plan")
	s.request("GET", "/executions/"+id+"?secret=q", nil)
	s.requestAs("", "GET", "/execution-callback?action=resume&taskToken=SECRET-TOKEN-VALUE", nil)
	logs := s.logs.String()
	for _, leak := range []string{s.token, "SECRET-TOKEN-VALUE", "secret=q", "initiatedBy"} {
		if strings.Contains(logs, leak) {
			t.Errorf("log contains %q:\n%s", leak, logs)
		}
	}
	if !strings.Contains(logs, "path=/executions/"+id) || !strings.Contains(logs, "caller=admin@example.com") {
		t.Errorf("request not logged:\n%s", logs)
	}
}

// failingAuth reports a failure that is not the caller's fault.
type failingAuth struct{}

func (failingAuth) Authenticate(*http.Request) (drsorch.Caller, error) {
	return drsorch.Caller{}, drsorch.Wrap(drsorch.CodeInternal, nil, "jwks fetch from https://internal.example failed")
}

func TestAuthenticatorFailuresAndMissingAuthenticator(t *testing.T) {
	eng := engine.New(engine.Config{})
	for name, o := range map[string]httpapi.Options{"failing": {Auth: failingAuth{}}, "none": {}} {
		t.Run(name, func(t *testing.T) {
			h := httpapi.New(eng, o)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", "/executions", nil))
			r := response{Code: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
			wantError(t, r, http.StatusUnauthorized, drsorch.CodeUnauthorized, "")
			if strings.Contains(string(r.Body), "internal.example") {
				t.Fatalf("cause leaked: %s", r.Body)
			}
		})
	}
}
