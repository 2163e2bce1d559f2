package lambdafn_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/drsorch/drsorch"
)

// TestLambdaCallbackRateLimit: behind API Gateway the callback route is
// limited per source IP of the request context.
func TestLambdaCallbackRateLimit(t *testing.T) {
	l := newAuthzLocal(t)
	get := func(ip string) envelope {
		t.Helper()
		ev := `{"httpMethod":"GET","path":"/execution-callback","queryStringParameters":{"action":"bogus","taskToken":"` +
			strings.Repeat("z", 120) + `"},"requestContext":{"httpMethod":"GET","identity":{"sourceIp":"` + ip + `"}}}`
		out, err := l.Router.Handle(context.Background(), []byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		var env envelope
		if err := json.Unmarshal(out, &env); err != nil {
			t.Fatal(err)
		}
		return env
	}
	for i := 0; i < 10; i++ {
		if env := get("192.0.2.10"); env.StatusCode != http.StatusBadRequest {
			t.Fatalf("request %d: %d %s", i, env.StatusCode, env.Body)
		}
	}
	env := get("192.0.2.10")
	if env.StatusCode != http.StatusTooManyRequests || env.Headers["Retry-After"] == "" ||
		!strings.HasPrefix(env.Headers["Content-Type"], "text/html") || !strings.Contains(env.Body, "Too many requests") {
		t.Fatalf("over the limit: %+v", env)
	}
	if env := get("192.0.2.11"); env.StatusCode != http.StatusBadRequest {
		t.Fatalf("another source IP: %d", env.StatusCode)
	}
}

// TestLambdaPageTokens: list_executions gives out sealed tokens, the same as
// the HTTP API's (one key), and refuses changed ones.
func TestLambdaPageTokens(t *testing.T) {
	l := newAuthzLocal(t)
	handle := func(ev string) map[string]any {
		t.Helper()
		out, err := l.Router.Handle(context.Background(), []byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	page := handle(`{"operation":"list_executions","parameters":{"limit":2}}`)
	tok, _ := page["nextToken"].(string)
	if !strings.HasPrefix(tok, "p1.") {
		t.Fatalf("page %v", page)
	}
	if next := handle(`{"operation":"list_executions","parameters":{"limit":2,"nextToken":"` + tok + `"}}`); next["count"] != float64(2) {
		t.Fatalf("page 2: %v", next)
	}
	// The HTTP API behind API Gateway takes the same token.
	ev := apiEvent(t, "GET", "/executions?limit=2&nextToken="+url.QueryEscape(tok), "", "DRSReadOnly")
	out, _ := l.Router.Handle(context.Background(), ev)
	var env envelope
	if json.Unmarshal(out, &env) != nil || env.StatusCode != http.StatusOK {
		t.Fatalf("API Gateway page 2: %s", out)
	}
	bad := handle(`{"operation":"list_executions","parameters":{"nextToken":"` + tok[:len(tok)-2] + `xx"}}`)
	if bad["error"] != drsorch.CodeInvalidParameter || !strings.Contains(bad["message"].(string), "nextToken") {
		t.Fatalf("tampered token: %v", bad)
	}
	raw := handle(`{"operation":"list_executions","parameters":{"nextToken":"eyJzIjoxLCJlIjoieCJ9"}}`)
	if raw["error"] != drsorch.CodeInvalidParameter {
		t.Fatalf("a store token without the HMAC: %v", raw)
	}
}
