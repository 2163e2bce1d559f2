package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/lambdafn"
)

// seen is what the echo handler saw of a request.
type seen struct {
	Method, Path, Query, Host, Remote string
	Header                            http.Header
	Body                              string
	Caller                            *drsorch.Caller
	AuthErr                           string
}

// echo is an HTTP API stand-in that records the request it was given and
// answers with a body, headers and status the test chooses.
func echo(got *seen, status int, contentType, body string, extra map[string]string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host, Remote: r.RemoteAddr, Header: r.Header, Body: string(b)}
		if c, err := (lambdafn.ClaimsAuthenticator{}).Authenticate(r); err == nil {
			got.Caller = &c
		} else {
			got.AuthErr = drsorch.ErrorCode(err)
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		// A handler may set the reference's headers with other values; the envelope wins.
		w.Header().Set("Access-Control-Allow-Methods", "GET")
		for k, v := range extra {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

func noEngine(context.Context) (*engine.Engine, error) {
	return nil, errors.New("this test must not need the engine")
}

func routerWith(h http.Handler, log *slog.Logger) *lambdafn.Router {
	return lambdafn.New(lambdafn.Config{Engine: noEngine, Logger: log,
		HTTP: func(context.Context) (http.Handler, error) { return h, nil }})
}

type envelope struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

const referenceHeaders = `{"Content-Type":"application/json","Access-Control-Allow-Origin":"*",` +
	`"Access-Control-Allow-Headers":"Content-Type,Authorization","Access-Control-Allow-Methods":"GET,POST,PUT,DELETE,OPTIONS",` +
	`"X-Content-Type-Options":"nosniff","X-Frame-Options":"DENY"}`

func TestAPIGatewayRequest(t *testing.T) {
	v1Claims := `"authorizer":{"claims":{"sub":"u-1","email":"ops@example.com","cognito:username":"ops","cognito:groups":%s}}`
	tests := []struct {
		name   string
		event  string
		want   seen
		groups []string // nil: no caller expected
	}{
		{
			name: "REST v1 with multi-value query and headers, groups as a list",
			event: `{"httpMethod":"POST","path":"/executions/e-1/cancel","queryStringParameters":{"a":"1"},
				"multiValueQueryStringParameters":{"a":["1","2"],"b":["x y"]},"headers":{"Host":"api.example.com","X-One":"only"},
				"multiValueHeaders":{"Host":["api.example.com"],"X-Many":["1","2"]},"body":"{\"reason\":\"r\"}",
				"requestContext":{"httpMethod":"POST","stage":"prod","identity":{"sourceIp":"203.0.113.7"},` +
				strings.Replace(v1Claims, "%s", `["DRSOperator","DRSReadOnly"]`, 1) + `}}`,
			want: seen{Method: "POST", Path: "/executions/e-1/cancel", Query: "a=1&a=2&b=x+y", Host: "api.example.com",
				Remote: "203.0.113.7:0", Body: `{"reason":"r"}`},
			groups: []string{"DRSOperator", "DRSReadOnly"},
		},
		{
			name: "REST v1 single-value, groups as a comma string, base64 body",
			event: `{"httpMethod":"put","path":"/recovery-plans/p-1","queryStringParameters":{"q":"v"},"headers":{"X-One":"only"},
				"body":"eyJwbGFuTmFtZSI6ImFwcCJ9","isBase64Encoded":true,"requestContext":{"httpMethod":"PUT",` +
				strings.Replace(v1Claims, "%s", `"DRSPlanManager, DRSReadOnly"`, 1) + `}}`,
			want:   seen{Method: "PUT", Path: "/recovery-plans/p-1", Query: "q=v", Body: `{"planName":"app"}`},
			groups: []string{"DRSPlanManager", "DRSReadOnly"},
		},
		{
			name: "HTTP API v2 with a named stage, flattened groups, cookies",
			event: `{"version":"2.0","rawPath":"/prod/executions","rawQueryString":"limit=5&nextToken=a%2Bb",
				"headers":{"host":"abc.execute-api.us-east-1.amazonaws.com","x-one":"a,b"},"cookies":["c1=v1","c2=v2"],
				"requestContext":{"stage":"prod","http":{"method":"GET","path":"/prod/executions","sourceIp":"198.51.100.9"},
				"authorizer":{"jwt":{"claims":{"sub":"u-2","email":"dr@example.com","cognito:groups":"[DRSOrchestrationAdmin DRSAuditor]"}}}}}`,
			want: seen{Method: "GET", Path: "/executions", Query: "limit=5&nextToken=a%2Bb", Host: "abc.execute-api.us-east-1.amazonaws.com",
				Remote: "198.51.100.9:0"},
			groups: []string{"DRSOrchestrationAdmin", "DRSAuditor"},
		},
		{
			name: "function URL ($default stage), no authorizer",
			event: `{"version":"2.0","rawPath":"/health","rawQueryString":"","headers":{},
				"requestContext":{"stage":"$default","http":{"method":"GET","path":"/health"}}}`,
			want: seen{Method: "GET", Path: "/health"},
		},
		{
			name:  "a stage-like prefix that is not the stage is kept",
			event: `{"version":"2.0","rawPath":"/production/x","requestContext":{"stage":"prod","http":{"method":"GET"}}}`,
			want:  seen{Method: "GET", Path: "/production/x"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got seen
			r := routerWith(echo(&got, 201, "application/json", `{"ok":true}`+"\n", nil), nil)
			out, err := r.Handle(context.Background(), []byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if got.Method != tc.want.Method || got.Path != tc.want.Path || got.Query != tc.want.Query ||
				got.Host != tc.want.Host || got.Remote != tc.want.Remote || got.Body != tc.want.Body {
				t.Errorf("request %+v\nwant     %+v", got, tc.want)
			}
			if got.Header.Get("Host") != "" {
				t.Errorf("Host stays in the header map: %v", got.Header)
			}
			switch {
			case tc.groups == nil && got.Caller != nil:
				t.Errorf("caller %+v without claims", got.Caller)
			case tc.groups == nil && got.AuthErr != drsorch.CodeUnauthorized:
				t.Errorf("authentication error %q, want UNAUTHORIZED", got.AuthErr)
			case tc.groups != nil && (got.Caller == nil || !reflect.DeepEqual(got.Caller.Groups, tc.groups)):
				t.Errorf("caller %+v, want groups %v", got.Caller, tc.groups)
			}
			want := `{"statusCode":201,"headers":` + referenceHeaders + `,"body":"{\"ok\":true}"}`
			if string(out) != want {
				t.Errorf("envelope\n got %s\nwant %s", out, want)
			}
		})
	}
}

func TestAPIGatewayHeaders(t *testing.T) {
	v1 := []byte(`{"httpMethod":"GET","path":"/x","requestContext":{"httpMethod":"GET"}}`)
	t.Run("other headers follow the reference's six", func(t *testing.T) {
		var got seen
		out, err := routerWith(echo(&got, 429, "application/json; charset=utf-8", `{"error":"DRS_ERROR"}`,
			map[string]string{"Retry-After": "60", "Allow": "GET"}), nil).Handle(context.Background(), v1)
		if err != nil {
			t.Fatal(err)
		}
		prefix := `{"statusCode":429,"headers":` + strings.TrimSuffix(referenceHeaders, "}") + `,"Allow":"GET","Retry-After":"60"}`
		if !strings.HasPrefix(string(out), prefix) {
			t.Errorf("got %s\nwant prefix %s", out, prefix)
		}
	})
	t.Run("HTML keeps its content type, binary is base64", func(t *testing.T) {
		var got seen
		out, err := routerWith(echo(&got, 200, "text/html; charset=utf-8", "<p>ok</p>\n\xff", nil), nil).Handle(context.Background(), v1)
		if err != nil {
			t.Fatal(err)
		}
		var e envelope
		if err := json.Unmarshal(out, &e); err != nil {
			t.Fatal(err)
		}
		if e.Headers["Content-Type"] != "text/html; charset=utf-8" || !e.IsBase64Encoded || e.Body != "PHA+b2s8L3A+Cv8=" {
			t.Errorf("envelope %+v", e)
		}
		if !strings.HasPrefix(string(out), `{"statusCode":200,"headers":{"Content-Type":"text/html; charset=utf-8"`) {
			t.Errorf("Content-Type is not the first header: %s", out)
		}
	})
}

func TestAPIGatewayFailures(t *testing.T) {
	tests := []struct {
		name   string
		router *lambdafn.Router
		event  string
		status int
		code   string
	}{
		{"body not base64", routerWith(http.NotFoundHandler(), nil),
			`{"httpMethod":"POST","path":"/x","body":"%%%","isBase64Encoded":true,"requestContext":{}}`, 400, drsorch.CodeInvalidParameter},
		{"malformed event", routerWith(http.NotFoundHandler(), nil),
			`{"httpMethod":"GET","path":{"not":"a string"},"requestContext":{}}`, 400, drsorch.CodeInvalidParameter},
		{"no HTTP API in the build", lambdafn.New(lambdafn.Config{Engine: noEngine}),
			`{"httpMethod":"GET","path":"/x","requestContext":{}}`, 500, drsorch.CodeInternal},
		{"backend unavailable", lambdafn.New(lambdafn.Config{Engine: noEngine,
			HTTP: func(context.Context) (http.Handler, error) { return nil, errors.New("store down") }}),
			`{"httpMethod":"GET","path":"/x","requestContext":{}}`, 500, drsorch.CodeInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.router.Handle(context.Background(), []byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			var e envelope
			if err := json.Unmarshal(out, &e); err != nil {
				t.Fatal(err)
			}
			var body struct{ Error string }
			_ = json.Unmarshal([]byte(e.Body), &body)
			if e.StatusCode != tc.status || body.Error != tc.code {
				t.Errorf("got %d %s, want %d %s (%s)", e.StatusCode, body.Error, tc.status, tc.code, out)
			}
		})
	}
}

// TestRouting checks the order of DECISIONS §2 with events that match several rules.
func TestRouting(t *testing.T) {
	var got seen
	r := routerWith(echo(&got, 200, "application/json", `{"route":"http"}`, nil), nil)
	tests := []struct {
		name, event, want string
	}{
		{"requestContext with httpMethod wins over everything", `{"httpMethod":"GET","path":"/x","requestContext":{},"worker":true,"operation":"find"}`, `"route`},
		{"requestContext without a method is not API Gateway", `{"requestContext":{"stage":"prod"}}`, `"receivedKeys":["requestContext"]`},
		{"httpMethod without requestContext is not API Gateway", `{"httpMethod":"GET","path":"/x"}`, `"receivedKeys":["httpMethod","path"]`},
		{"a falsy worker falls through to operation", `{"worker":false,"operation":""}`, `"INVALID_EVENT_FORMAT"`},
		{"a truthy worker that is not true is refused", `{"worker":"yes","executionId":"e-1"}`, `drsorch.InvalidInput`},
		{"action beats operation", `{"action":"nope","operation":"find"}`, `UNKNOWN_ACTION`},
		{"an empty action falls through to operation", `{"action":"","operation":"nope"}`, `"INVALID_OPERATION"`},
		{"operation beats source", `{"operation":null,"source":"aws.events"}`, `"INVALID_EVENT_FORMAT"`},
		{"another source is not the schedule", `{"source":"aws.drs"}`, `"receivedKeys":["source"]`},
		{"keys keep their order", `{"zeta":1,"alpha":2,"mid":3}`, `"receivedKeys":["zeta","alpha","mid"]`},
		{"not an object", `"find"`, `"receivedKeys":"not a dict"`},
		{"null", `null`, `"receivedKeys":"not a dict"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := r.Handle(context.Background(), []byte(tc.event))
			text := string(out)
			if err != nil {
				b, _ := json.Marshal(err)
				text = string(b)
			}
			if !strings.Contains(text, tc.want) {
				t.Errorf("got %s, want it to contain %s", text, tc.want)
			}
		})
	}
}

// TestErrorsAsLambdaErrors checks which failures fail the invocation and with what type.
func TestErrorsAsLambdaErrors(t *testing.T) {
	retryable := func(err error) *lambdafn.Router {
		return lambdafn.New(lambdafn.Config{Engine: func(context.Context) (*engine.Engine, error) { return nil, err }})
	}
	tests := []struct {
		name     string
		router   *lambdafn.Router
		event    string
		wantType string // "" when a body is expected
		wantText string
	}{
		{"store outage on find", retryable(drsorch.Wrap(drsorch.CodeInternal, errors.New("disk I/O"), "the store is not available")),
			`{"operation":"find"}`, lambdafn.TypeRetryable, "INTERNAL_ERROR: the store is not available"},
		{"version conflict on advance", retryable(drsorch.Errorf(drsorch.CodeVersionConflict, "lost the race")),
			`{"action":"advance","executionId":"e-1"}`, lambdafn.TypeRetryable, "VERSION_CONFLICT"},
		{"DRS throttling in a direct invocation", retryable(drsorch.Errorf(drsorch.CodeDRSThrottled, "Rate exceeded")),
			`{"operation":"cancel_execution","executionId":"e-1"}`, lambdafn.TypeRetryable, "DRS_ERROR: Rate exceeded"},
		{"a DRS access denial behind DRS_ERROR is not retryable", retryable(drsorch.Wrap(drsorch.CodeDRS,
			drsorch.Errorf(drsorch.CodeDRSAccess, "not authorized"), "Could not check DRS jobs")),
			`{"action":"advance","executionId":"e-1"}`, lambdafn.TypeAccessDenied, "DRS_ERROR: Could not check DRS jobs"},
		{"an unclassified error is internal and retryable, its cause hidden", retryable(errors.New("secret cause")),
			`{"action":"advance","executionId":"e-1"}`, lambdafn.TypeRetryable, "INTERNAL_ERROR: internal error"},
		{"bad input is checked before the engine is needed", retryable(errors.New("unused")),
			`{"operation":"get_execution","parameters":{"executionId":5}}`, "", `"error":"INVALID_PARAMETER"`},
		{"worker bad input", retryable(errors.New("unused")),
			`{"worker":true,"executionId":"e-1","isDrill":"yes"}`, lambdafn.TypeInvalidInput, "isDrill must be true or false"},
		{"a context deadline", retryable(context.DeadlineExceeded),
			`{"source":"aws.events"}`, lambdafn.TypeRetryable, "TIMEOUT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := tc.router.Handle(context.Background(), []byte(tc.event))
			if tc.wantType == "" {
				if err != nil || !strings.Contains(string(out), tc.wantText) {
					t.Fatalf("got %s, %v; want a body containing %s", out, err, tc.wantText)
				}
				return
			}
			var le *lambdafn.Error
			if !errors.As(err, &le) {
				t.Fatalf("got %s, %v; want a Lambda error", out, err)
			}
			if le.Type != tc.wantType || !strings.Contains(le.Message, tc.wantText) {
				t.Errorf("got %s %q, want %s containing %q", le.Type, le.Message, tc.wantType, tc.wantText)
			}
			if strings.Contains(le.Message, "secret cause") || strings.Contains(le.Message, "disk I/O") {
				t.Errorf("the internal cause leaks: %q", le.Message)
			}
		})
	}
}

// TestLogsHoldNoEventData checks that neither the events nor the responses
// (task tokens, bodies, states) reach the log.
func TestLogsHoldNoEventData(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	fx, err := app.ParseFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	l, err := app.NewLocal(context.Background(), app.LocalOptions{Fixtures: fx, Logger: log,
		Getenv: func(k string) string {
			return map[string]string{"STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:sm"}[k]
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := lambdafn.New(lambdafn.Config{Engine: func(context.Context) (*engine.Engine, error) { return l.Engine, nil }, Logger: log})
	const token = "AQCEAAAAKgAAAAMAAAAAAAAAASecretTaskTokenValue"
	for _, ev := range []string{
		`{"action":"await","executionId":"6a1f0c2e-0000-4000-8000-000000000002","kind":"wave","taskToken":"` + token + `"}`,
		`{"action":"await","executionId":"6a1f0c2e-0000-4000-8000-000000000002","kind":"bogus","taskToken":"` + token + `"}`,
		`{"action":"update_wave_completion_status","execution_id":"x","plan_id":"y","status":"running","state":{"secret":"` + token + `"}}`,
		`{"operation":"get_execution","parameters":{"executionId":"6a1f0c2e-0000-4000-8000-000000000003","note":"` + token + `"}}`,
		`{"worker":true,"executionId":"bad id ` + token + `"}`,
		`{"operation":"get_execution","parameters":{"executionId":"` + token + ` x"}}`,
		`{"action":"advance","executionId":"` + token + ` x"}`,
	} {
		if _, err := r.Handle(context.Background(), []byte(ev)); err != nil {
			var le *lambdafn.Error
			if !errors.As(err, &le) {
				t.Fatalf("not a Lambda error: %v", err)
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	for _, secret := range []string{token, "ext-7f3a91c2", "PausedExecution"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

func TestPanicIsAnInternalError(t *testing.T) {
	r := lambdafn.New(lambdafn.Config{Engine: func(context.Context) (*engine.Engine, error) { panic("boom") }})
	_, err := r.Handle(context.Background(), []byte(`{"operation":"find"}`))
	var le *lambdafn.Error
	if !errors.As(err, &le) || le.Type != lambdafn.TypeRetryable || strings.Contains(le.Message, "boom") {
		t.Fatalf("got %v", err)
	}
}

// TestFindHonoursTheDeadline checks that the scheduled poll stops polling
// when the invocation is about to run out of time, leaving the rest to the next one.
func TestFindHonoursTheDeadline(t *testing.T) {
	for _, tc := range []struct {
		name       string
		deadline   time.Duration
		wantPolled int
	}{
		{"plenty of time", 30 * time.Second, 2},
		{"about to time out", time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile("testdata/fixtures.json")
			if err != nil {
				t.Fatal(err)
			}
			fx, err := app.ParseFixtures(b)
			if err != nil {
				t.Fatal(err)
			}
			l, err := app.NewLocal(context.Background(), app.LocalOptions{Fixtures: fx, Getenv: func(string) string { return "" }})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			out, err := l.Router.Handle(ctx, []byte(`{"source":"aws.events"}`))
			if err != nil {
				t.Fatal(err)
			}
			var res struct{ ExecutionsFound, ExecutionsPolled int }
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			if res.ExecutionsFound != 3 || res.ExecutionsPolled != tc.wantPolled {
				t.Errorf("found %d, polled %d; want 3 and %d", res.ExecutionsFound, res.ExecutionsPolled, tc.wantPolled)
			}
		})
	}
}

func localRouter(t *testing.T) *app.Local {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	fx, err := app.ParseFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	l, err := app.NewLocal(context.Background(), app.LocalOptions{Fixtures: fx, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestReplacedStateMachineContracts checks, beyond the golden files, the two
// promises to the replaced state machine: update_wave_completion_status gives
// back the state it got, and start_wave_recovery starts a wave once.
func TestReplacedStateMachineContracts(t *testing.T) {
	t.Run("update_wave_completion_status returns the state", func(t *testing.T) {
		l := localRouter(t)
		state := `{"execution_id":"6a1f0c2e-0000-4000-8000-000000000002","status":"running","nested":{"b":[1,2.5,"x"],"a":null},"z":1}`
		out, err := l.Router.Handle(context.Background(), []byte(`{"action":"update_wave_completion_status","execution_id":"x","plan_id":"y","status":"running","state":`+state+`}`))
		if err != nil || string(out) != state {
			t.Fatalf("got %s, %v; want the state as given", out, err)
		}
	})
	t.Run("start_wave_recovery starts the wave once", func(t *testing.T) {
		l := localRouter(t)
		ev := []byte(`{"action":"start_wave_recovery","wave_number":1,"state":{"execution_id":"6a1f0c2e-0000-4000-8000-000000000002","wave_results":[]}}`)
		first, err := l.Router.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		second, err := l.Router.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) {
			t.Errorf("the second call answered differently:\n%s\n%s", first, second)
		}
		var st struct {
			JobID         *string           `json:"job_id"`
			WaveCompleted bool              `json:"wave_completed"`
			Current       int               `json:"current_wave_number"`
			Results       []json.RawMessage `json:"wave_results"`
		}
		if err := json.Unmarshal(first, &st); err != nil {
			t.Fatal(err)
		}
		if st.JobID == nil || st.WaveCompleted || st.Current != 1 || len(st.Results) != 1 {
			t.Errorf("state %s", first)
		}
		n := 0
		for _, c := range l.Sim.Calls() {
			if c.API == "StartRecovery" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d StartRecovery calls, want 1", n)
		}
	})
}
