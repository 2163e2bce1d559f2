package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/client"
)

func TestParseBundle(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		groups, plans int
		err           string
	}{
		{"yaml bundle", "protectionGroups:\n  - {groupId: g, groupName: G, region: us-east-1}\nrecoveryPlan:\n  planId: p\n  planName: P\n", 1, 1, ""},
		{"json bundle", `{"recoveryPlans":[{"planId":"a"},{"planId":"b"}]}`, 0, 2, ""},
		{"yaml list", "- protectionGroups: [{groupId: g}]\n- recoveryPlan: {planId: p}\n", 1, 1, ""},
		{"plan and plans", `{"recoveryPlan":{"planId":"a"},"recoveryPlans":[{"planId":"b"}]}`, 0, 2, ""},
		{"empty", "  \n", 0, 0, "the file is empty"},
		{"no records", `{"protectionGroups":[]}`, 0, 0, "holds no protectionGroups"},
		{"unknown top-level", `{"plans":[]}`, 0, 0, `unknown field "plans"`},
		{"unknown nested", `{"recoveryPlan":{"planId":"p","waves":[{"waveNo":1}]}}`, 0, 0, `unknown field "waveNo"`},
		{"wrong type", `{"recoveryPlan":{"planId":"p","waves":{}}}`, 0, 0, "cannot unmarshal object"},
		{"missing group id", `{"protectionGroups":[{"groupName":"G"}]}`, 0, 0, `protectionGroups[0] ("G"): groupId is required`},
		{"duplicate group", `{"protectionGroups":[{"groupId":"g"},{"groupId":"g"}]}`, 0, 0, `groupId "g" appears twice`},
		{"missing plan id", `[{"recoveryPlan":{"planName":"P"}}]`, 0, 0, `recoveryPlans[0] ("P"): planId is required`},
		{"tabs", "recoveryPlan:\n\tplanId: p\n", 0, 0, "neither YAML nor JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := client.ParseBundle([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b.ProtectionGroups) != tc.groups || len(b.Plans()) != tc.plans {
				t.Fatalf("%d groups, %d plans", len(b.ProtectionGroups), len(b.Plans()))
			}
		})
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			w.Write([]byte(`{"error":"UNAUTHORIZED","message":"who are you"}`))
			return
		}
		switch r.URL.Path {
		case "/executions/busy":
			w.Header().Set("Retry-After", "60")
			w.WriteHeader(429)
			w.Write([]byte(`{"error":"DRS_ERROR","message":"full","retryable":true,"retryAfter":60,"details":{"currentJobs":20}}`))
		case "/executions/proxy":
			w.WriteHeader(502)
			w.Write([]byte("<html>bad gateway</html>"))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"NOT_FOUND","message":"Execution with ID x not found"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := client.New(srv.URL+"/", "tok")
	tests := []struct {
		name        string
		c           *client.Client
		id          string
		code        string
		status      int
		unreachable bool
	}{
		{"not found", c, "x", drsorch.CodeNotFound, 404, false},
		{"quota", c, "busy", drsorch.CodeDRS, 429, false},
		{"proxy error", c, "proxy", "Bad Gateway", 502, true},
		{"bad token", client.New(srv.URL, "nope"), "x", drsorch.CodeUnauthorized, 401, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.GetExecution(ctx, tc.id)
			var e *client.Error
			if !errors.As(err, &e) || e.StatusCode != tc.status || client.Code(err) != tc.code || client.IsUnreachable(err) != tc.unreachable {
				t.Fatalf("got %#v", err)
			}
		})
	}
	_, err := c.GetExecution(ctx, "busy")
	var e *client.Error
	errors.As(err, &e)
	if !e.Retryable || e.RetryAfter != 60 || e.Details["currentJobs"] != float64(20) || err.Error() != "DRS_ERROR (HTTP 429): full" {
		t.Fatalf("quota error %+v: %v", e, err)
	}
	down := client.New("http://127.0.0.1:1", "tok")
	if err := down.Health(ctx); !client.IsUnreachable(err) || client.Code(err) != "" {
		t.Fatalf("down: %v", err)
	}
}
