package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/notify"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const topic = "arn:aws:sns:us-east-1:123456789012:drsorch-execution-notifications-prod"

const (
	resumeURL = "https://api.example.com/prod/execution-callback?action=resume&taskToken=eyJlIjoiZTEiLCJhIjoicmVzdW1lIn0.c2ln"
	cancelURL = "https://api.example.com/prod/execution-callback?action=cancel&taskToken=eyJlIjoiZTEiLCJhIjoiY2FuY2VsIn0.c2ln"
)

func wave(n int) *int { return &n }

func notification(event string) drsorch.Notification {
	n := drsorch.Notification{
		Event: event, ExecutionID: "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d", PlanID: "plan-1", PlanName: "Payments",
		ExecutionType: drsorch.Drill, Status: drsorch.ExecutionRunning, Message: "Execution 0b7c2d4e " + event,
	}
	switch event {
	case drsorch.NotifyPaused:
		n.Status, n.Wave, n.ResumeURL, n.CancelURL = drsorch.ExecutionPaused, wave(1), resumeURL, cancelURL
	case drsorch.NotifyCompleted:
		n.Status = drsorch.ExecutionCompleted
	case drsorch.NotifyFailed:
		n.Status = drsorch.ExecutionFailed
	case drsorch.NotifyCancelled:
		n.Status = drsorch.ExecutionCancelled
	}
	return n
}

// fakeSNS records what is published.
type fakeSNS struct {
	in  []*sns.PublishInput
	err error
}

func (f *fakeSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.in = append(f.in, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

func TestSNSNotify(t *testing.T) {
	clock := drsorchtest.NewClock(time.Time{})
	tests := []struct {
		event, eventType, title string
	}{
		{drsorch.NotifyStarted, "start", "DRILL STARTED"},
		{drsorch.NotifyPaused, "pause", "EXECUTION PAUSED - ACTION REQUIRED"},
		{drsorch.NotifyResumed, "resume", "EXECUTION RESUMED"},
		{drsorch.NotifyCompleted, "complete", "DRILL COMPLETED"},
		{drsorch.NotifyFailed, "fail", "DRILL FAILED"},
		{drsorch.NotifyCancelled, "cancel", "DRILL CANCELLED"},
	}
	for _, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			api := &fakeSNS{}
			n := notification(tc.event)
			if err := notify.NewSNS(api, topic).WithClock(clock).Notify(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			if len(api.in) != 1 {
				t.Fatalf("%d publishes, want 1", len(api.in))
			}
			in := api.in[0]
			if aws.ToString(in.TopicArn) != topic || aws.ToString(in.MessageStructure) != "json" {
				t.Errorf("published to %q with structure %q", aws.ToString(in.TopicArn), aws.ToString(in.MessageStructure))
			}
			if want := "[DRS] Recovery Plan: Payments - " + tc.eventType; aws.ToString(in.Subject) != want {
				t.Errorf("subject %q, want %q", aws.ToString(in.Subject), want)
			}
			attrs := map[string]string{}
			for k, v := range in.MessageAttributes {
				if aws.ToString(v.DataType) != "String" {
					t.Errorf("attribute %s of type %s", k, aws.ToString(v.DataType))
				}
				attrs[k] = aws.ToString(v.StringValue)
			}
			want := map[string]string{"eventType": tc.eventType, "recoveryPlanId": "plan-1", "executionId": n.ExecutionID}
			if len(attrs) != len(want) {
				t.Errorf("attributes %v, want %v", attrs, want)
			}
			for k, v := range want {
				if attrs[k] != v {
					t.Errorf("attribute %s = %q, want %q", k, attrs[k], v)
				}
			}
			var msg map[string]string
			if err := json.Unmarshal([]byte(aws.ToString(in.Message)), &msg); err != nil {
				t.Fatalf("message is not JSON: %v", err)
			}
			if len(msg) != 2 || msg["default"] == "" || msg["default"] != msg["email"] {
				t.Fatalf("message %v: want the same text under default and email", msg)
			}
			text := msg["default"]
			for _, s := range []string{tc.title, fmt.Sprintf("%-17s %s", "Execution ID:", n.ExecutionID),
				fmt.Sprintf("%-17s %s", "Time:", "2026-01-01T00:00:00Z"), n.Message} {
				if !strings.Contains(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			if strings.Contains(strings.ReplaceAll(text, "\r\n", ""), "\n") {
				t.Errorf("text has a bare LF line break")
			}
			links := strings.Contains(text, resumeURL) && strings.Contains(text, cancelURL)
			if links != (tc.event == drsorch.NotifyPaused) {
				t.Errorf("resume/cancel links present: %v", links)
			}
		})
	}
}

// TestSNSPausedText pins the whole paused message against testdata/paused.txt (-update rewrites it).
func TestSNSPausedText(t *testing.T) {
	text := notify.Text(notification(drsorch.NotifyPaused), drsorchtest.Epoch)
	got := strings.ReplaceAll(text, "\r\n", "\n")
	if *update {
		if err := os.WriteFile("testdata/paused.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/paused.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("paused text differs from testdata/paused.txt:\n%s", got)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct {
		name, plan, want string
	}{
		{"plain", "Payments", "[DRS] Recovery Plan: Payments - start"},
		{"no name uses the id", "", "[DRS] Recovery Plan: plan-1 - start"},
		{"line breaks", "Pay\nments", "[DRS] Recovery Plan: Pay ments - start"},
		{"not ASCII", "Zahlungsverkehr Ü", "[DRS] Recovery Plan: Zahlungsverkehr ? - start"},
		{"too long", strings.Repeat("x", 100), "[DRS] Recovery Plan: " + strings.Repeat("x", 76) + "..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := notification(drsorch.NotifyStarted)
			n.PlanName = tc.plan
			got := notify.Subject(n)
			if got != tc.want {
				t.Errorf("Subject = %q, want %q", got, tc.want)
			}
			if len(got) > 100 {
				t.Errorf("subject of %d characters", len(got))
			}
		})
	}
}

func TestSNSSkipsEmptyAttributes(t *testing.T) {
	api := &fakeSNS{}
	n := notification(drsorch.NotifyStarted)
	n.PlanID = ""
	if err := notify.NewSNS(api, topic).Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if _, ok := api.in[0].MessageAttributes["recoveryPlanId"]; ok {
		t.Errorf("an empty recoveryPlanId attribute is sent (SNS refuses it)")
	}
}

func TestSNSPublishError(t *testing.T) {
	api := &fakeSNS{err: &smithy.GenericAPIError{Code: "AuthorizationError", Message: "not allowed"}}
	err := notify.NewSNS(api, topic).Notify(context.Background(), notification(drsorch.NotifyFailed))
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(drsorch.AsError(err).Message, "AuthorizationError") {
		t.Errorf("error %q does not name the AWS error", drsorch.AsError(err).Message)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("the SDK error is not kept as the cause")
	}
}

func TestLog(t *testing.T) {
	tests := []struct {
		event string
		want  map[string]any
		not   []string
	}{
		{drsorch.NotifyStarted, map[string]any{"eventType": "started", "planId": "plan-1", "status": "RUNNING"},
			[]string{"resumeUrl", "cancelUrl", "pausedBeforeWave"}},
		{drsorch.NotifyPaused, map[string]any{"eventType": "paused", "status": "PAUSED", "pausedBeforeWave": 1.0,
			"hasCallbackLinks": true}, []string{"resumeUrl", "cancelUrl"}},
		{drsorch.NotifyCompleted, map[string]any{"eventType": "completed", "status": "COMPLETED", "executionType": "DRILL"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.event, func(t *testing.T) {
			var buf bytes.Buffer
			l := notify.NewLog(slog.New(slog.NewJSONHandler(&buf, nil)))
			n := notification(tc.event)
			if err := l.Notify(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("not one JSON line: %v: %s", err, buf.String())
			}
			// The links are credentials: no part of them is logged.
			for _, link := range []string{n.ResumeURL, n.CancelURL} {
				if link == "" {
					continue
				}
				u, _ := url.Parse(link)
				if tok := u.Query().Get("taskToken"); tok != "" && strings.Contains(buf.String(), tok) {
					t.Errorf("a link's token is logged: %s", buf.String())
				}
			}
			if line["level"] != "INFO" || line["msg"] != "execution "+tc.event+": "+n.Message || line["executionId"] != n.ExecutionID {
				t.Errorf("line %v", line)
			}
			for k, v := range tc.want {
				if line[k] != v {
					t.Errorf("%s = %v, want %v", k, line[k], v)
				}
			}
			for _, k := range tc.not {
				if _, ok := line[k]; ok {
					t.Errorf("%s is logged", k)
				}
			}
		})
	}
}
