package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
)

// TestCallbackRateLimit: GET /execution-callback is limited per client IP;
// over the limit it answers 429 with an HTML page and Retry-After.
func TestCallbackRateLimit(t *testing.T) {
	s := newServerWith(t, func(_ *engine.Config, o *httpapi.Options) {
		o.CallbackLimit = httpapi.RateLimit{Burst: 3, Every: 10 * time.Second}
	})
	get := func(ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/execution-callback?action=resume&taskToken="+strings.Repeat("x", 120), nil)
		r.RemoteAddr = ip
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		return w
	}
	for i := 0; i < 3; i++ {
		if w := get("203.0.113.5:1000"); w.Code != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := get("203.0.113.5:2000") // another port, the same client
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "10" ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || !strings.Contains(w.Body.String(), "Too many requests") {
		t.Fatalf("over the limit: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if w := get("203.0.113.6:1000"); w.Code != http.StatusBadRequest {
		t.Fatalf("another client: %d", w.Code)
	}
	// IPv6 clients are counted by their /64.
	for i := 0; i < 3; i++ {
		get("[2001:db8:1:2::" + string(rune('a'+i)) + "]:1")
	}
	if w := get("[2001:db8:1:2::ffff]:1"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("a /64 is one client: %d", w.Code)
	}
	s.clock.Advance(10 * time.Second)
	if w := get("203.0.113.5:1000"); w.Code != http.StatusBadRequest {
		t.Fatalf("after the wait: %d %s", w.Code, w.Body)
	}
}

// TestPageTokensAreTamperEvident: the nextToken of GET /executions is the
// store's token under an HMAC; a changed or foreign one is 400 before it
// reaches the store.
func TestPageTokensAreTamperEvident(t *testing.T) {
	s := newServer(t)
	for i := 0; i < 2; i++ {
		id := s.start("plan")
		s.drive(id, is(drsorch.ExecutionRunning))
		s.mustOK("POST", "/executions/"+id+"/cancel", nil, 200)
		s.drive(id, ended)
	}
	tok, _ := s.mustOK("GET", "/executions?limit=1", nil, 200).object(t)["nextToken"].(string)
	if !strings.HasPrefix(tok, "p1.") {
		t.Fatalf("token %q", tok)
	}
	if p2 := s.mustOK("GET", "/executions?limit=1&nextToken="+url.QueryEscape(tok), nil, 200).object(t); p2["count"] != float64(1) {
		t.Fatalf("page 2 %v", p2)
	}
	payload, sig, _ := strings.Cut(strings.TrimPrefix(tok, "p1."), ".")
	foreign := httpapi.NewPageTokens([]byte(strings.Repeat("k", 32))).Seal(`{"s":1,"e":"x"}`)
	for name, bad := range map[string]string{
		"store token without the HMAC": payload,
		"changed payload":              "p1." + flipFirst(payload) + "." + sig,
		"changed signature":            "p1." + payload + "." + flipFirst(sig),
		"truncated":                    tok[:len(tok)-3],
		"another deployment's token":   foreign,
		"huge":                         "p1." + strings.Repeat("A", 5000) + "." + sig,
	} {
		t.Run(name, func(t *testing.T) {
			m := wantError(t, s.request("GET", "/executions?nextToken="+url.QueryEscape(bad), nil), 400, drsorch.CodeInvalidParameter,
				"nextToken is not a token this API issued")
			if d, _ := m["details"].(map[string]any); d["parameter"] != "nextToken" {
				t.Fatalf("details %v", m["details"])
			}
		})
	}
}

// TestHostileInput: ids, query parameters and bodies that are not what the
// API takes are 400s naming the parameter (413 for a body over the limit),
// never a 5xx or a store error.
func TestHostileInput(t *testing.T) {
	s := newServer(t)
	long := strings.Repeat("a", 129)
	tests := []struct {
		method, target string
		body           any
		status         int
		param          string
	}{
		{"GET", "/executions/" + long, nil, 400, "executionId"},
		{"GET", "/executions/bad%20id", nil, 400, "executionId"},
		{"GET", "/executions/x'%20OR%20'1'='1", nil, 400, "executionId"},
		{"GET", "/executions/..%2F..%2Fetc/realtime", nil, 400, "executionId"},
		{"GET", "/executions/arn:aws:states:us-east-1:1:execution:sm:bad%20id", nil, 400, "executionId"},
		{"POST", "/executions/%00/pause", nil, 400, "executionId"},
		{"POST", "/executions/-x/cancel", nil, 400, "executionId"},
		{"GET", "/executions/e-1/job-logs?jobId=drsjob-1%3Brm", nil, 400, "jobId"},
		{"GET", "/executions/e-1/termination-status?jobIds=drsjob-11111111111111111,nope", nil, 400, "jobIds"},
		{"GET", "/executions?accountId=12", nil, 400, "accountId"},
		{"GET", "/executions?planId=" + long, nil, 400, "planId"},
		{"GET", "/executions?limit=99999999999999999999", nil, 400, "limit"},
		{"DELETE", "/executions?ids=ok-1,not%20ok", nil, 400, "ids"},
		{"POST", "/executions/delete", `{"executionIds":["ok",""]}`, 200, ""},
		{"POST", "/executions/delete", `{"executionIds":["a/b"]}`, 400, "executionIds"},
		{"POST", "/executions/delete", `{"executionIds":"e-1"}`, 400, "executionIds"},
		{"POST", "/executions/delete", `{"executionIds":[` + strings.Repeat(`"a",`, 1000) + `"a"]}`, 400, "executionIds"},
		{"GET", "/recovery-plans/" + long, nil, 400, "planId"},
		{"DELETE", "/protection-groups/%2e%2e", nil, 400, "groupId"},
		{"POST", "/recovery-plans/bad%20plan/execute", `{"executionType":"DRILL","initiatedBy":"x"}`, 400, "planId"},
		{"POST", "/executions", `{"planId":"plan","executionType":"DRILL","initiatedBy":"x","drillTtlSeconds":"1h"}`, 400, "drillTtlSeconds"},
		{"POST", "/executions", `{"planId":["plan"]}`, 400, "planId"},
		{"POST", "/executions", `[]`, 400, "body"},
		{"POST", "/executions", `{"planId":"plan"} {"x":1}`, 400, "body"},
		{"POST", "/executions/e-1/terminate-instances", `{"force":"yes"}`, 400, "force"},
		{"POST", "/recovery-plans", `{"planId":"p","planName":"x","waves":[],"admin":true}`, 400, "admin"},
		{"POST", "/protection-groups", `{"groupName":"g","region":"us-east-1","sourceServerIds":["i-0123456789abcdef0"]}`, 400, "sourceServerIds[0]"},
		{"POST", "/recovery-plans", `{"planName":"deep","waves":[{"waveNumber":0,"protectionGroupId":"pg-db","serverIds":["s-x"]}]}`, 400, "waves[0].serverIds[0]"},
		{"POST", "/executions", `{"planId":"plan","executionType":"DRILL","initiatedBy":"x","recoveryPoint":{"snapshots":{"s-db00000000000000":"snap"}}}`, 400, "recoveryPoint.snapshots"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			r := s.request(tc.method, tc.target, tc.body)
			if r.Code != tc.status {
				t.Fatalf("got %s, want %d", r, tc.status)
			}
			if tc.param == "" {
				return
			}
			m := r.object(t)
			if d, _ := m["details"].(map[string]any); m["error"] != drsorch.CodeInvalidParameter || d["parameter"] != tc.param {
				t.Fatalf("want INVALID_PARAMETER naming %s, got %s", tc.param, r.Body)
			}
		})
	}
	t.Run("body over the limit", func(t *testing.T) {
		big := `{"reason":"` + strings.Repeat("x", 70<<10) + `"}`
		wantError(t, s.request("POST", "/executions/e-1/cancel", big), http.StatusRequestEntityTooLarge, httpapi.CodePayloadTooLarge, "larger than the limit")
	})
}

// flipFirst changes the first character of s.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
