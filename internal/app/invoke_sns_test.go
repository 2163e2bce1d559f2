package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsorch/drsorch/internal/app"
)

// TestInvokeRecordsSNSNotifications runs a drill to its pause under `drsorch
// invoke`'s backends with EXECUTION_NOTIFICATIONS_TOPIC_ARN set: the
// notifications are recorded SNS Publish calls, as the Lambda would make them.
func TestInvokeRecordsSNSNotifications(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "lambda-pause-fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := app.ParseFixtures(raw)
	if err != nil {
		t.Fatal(err)
	}
	const topic = "arn:aws:sns:us-east-1:123456789012:drsorch-execution-notifications-dev"
	env := map[string]string{"DRSORCH_WORKER": "inline", "EXECUTION_NOTIFICATIONS_TOPIC_ARN": topic,
		"API_GATEWAY_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/dev", "DRSORCH_CALLBACK_KEY": testKey}
	ctx := context.Background()
	l, err := app.NewLocal(ctx, app.LocalOptions{Fixtures: f, Getenv: envOf(env)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	steps := `[{"operation":"start_execution","parameters":{"planId":"plan-pause","executionType":"DRILL","initiatedBy":"tester"}},
		{"advance":"1m"},{"operation":"find"},{"advance":"1m"},{"operation":"find"}]`
	ss, err := app.ParseSteps([]byte(steps))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if _, async := l.Run(ctx, s); len(async) > 0 {
			t.Fatal(async)
		}
	}
	state, err := l.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		AWSCalls []struct {
			Service, API string
			Input        map[string]any
		} `json:"awsCalls"`
	}
	if err := json.Unmarshal(state, &st); err != nil {
		t.Fatal(err)
	}
	var events []string
	for _, c := range st.AWSCalls {
		if c.Service != "sns" {
			continue
		}
		if c.API != "Publish" || c.Input["TopicArn"] != topic {
			t.Errorf("call %+v", c)
		}
		attrs, _ := c.Input["MessageAttributes"].(map[string]any)
		events = append(events, attrs["eventType"].(string))
	}
	if strings.Join(events, ",") != "start,pause" {
		t.Fatalf("recorded notifications %v, want start,pause", events)
	}
	if strings.Contains(string(state), "taskToken=") {
		t.Error("the recorded calls show a signed link")
	}
}
