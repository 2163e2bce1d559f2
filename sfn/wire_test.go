package sfn_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/sfn"
)

// request is one call the SDK sent.
type request struct {
	target, contentType, auth string
	body                      map[string]any
}

// wireServer answers Step Functions' awsJson1_0 protocol with canned replies by operation.
type wireServer struct {
	mu      sync.Mutex
	got     []request
	replies map[string]reply
}

type reply struct {
	status int
	body   string
}

func (s *wireServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	target := r.Header.Get("X-Amz-Target")
	s.mu.Lock()
	s.got = append(s.got, request{target: target, contentType: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization"), body: body})
	rep, ok := s.replies[strings.TrimPrefix(target, "AWSStepFunctions.")]
	s.mu.Unlock()
	if !ok {
		rep = reply{200, "{}"}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(rep.status)
	io.WriteString(w, rep.body)
}

func newWire(t *testing.T, replies map[string]reply) (*wireServer, *sfn.Workflow) {
	t.Helper()
	s := &wireServer{replies: replies}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	client := sdk.New(sdk.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      aws.NopRetryer{},
	})
	return s, sfn.New(client, smARN)
}

// TestWireFormat pins what the adapter puts on the wire through the real SDK.
func TestWireFormat(t *testing.T) {
	ctx := context.Background()
	ref := execARN + "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d"
	wantInput, err := os.ReadFile("testdata/start_input.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func(w *sfn.Workflow) error
		target string
		body   map[string]string // body fields as strings
	}{
		{"StartExecution", func(w *sfn.Workflow) error {
			arn, err := w.Start(ctx, execution())
			if err == nil && arn != ref {
				t.Errorf("ARN %q, want %q", arn, ref)
			}
			return err
		}, "AWSStepFunctions.StartExecution", map[string]string{
			"stateMachineArn": smARN, "name": "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d", "input": string(wantInput)}},
		{"SendTaskSuccess", func(w *sfn.Workflow) error {
			return w.SendTaskSuccess(ctx, token, json.RawMessage(`{"executionId":"e","planId":"p","status":"COMPLETED"}`))
		}, "AWSStepFunctions.SendTaskSuccess", map[string]string{
			"taskToken": token, "output": `{"executionId":"e","planId":"p","status":"COMPLETED"}`}},
		{"SendTaskFailure", func(w *sfn.Workflow) error {
			return w.SendTaskFailure(ctx, token, "ExecutionCancelled", "Execution cancelled by user")
		}, "AWSStepFunctions.SendTaskFailure", map[string]string{
			"taskToken": token, "error": "ExecutionCancelled", "cause": "Execution cancelled by user"}},
		{"StopExecution", func(w *sfn.Workflow) error {
			return w.Stop(ctx, ref, "UserCancelled", "Execution cancelled by user")
		}, "AWSStepFunctions.StopExecution", map[string]string{
			"executionArn": ref, "error": "UserCancelled", "cause": "Execution cancelled by user"}},
		{"DescribeExecution", func(w *sfn.Workflow) error {
			status, err := w.Describe(ctx, ref)
			if err == nil && status != "SUCCEEDED" {
				t.Errorf("status %q, want SUCCEEDED", status)
			}
			return err
		}, "AWSStepFunctions.DescribeExecution", map[string]string{"executionArn": ref}},
	}
	replies := map[string]reply{
		"StartExecution":    {200, `{"executionArn":"` + ref + `","startDate":1767225600}`},
		"StopExecution":     {200, `{"stopDate":1767225600}`},
		"DescribeExecution": {200, `{"executionArn":"` + ref + `","stateMachineArn":"` + smARN + `","status":"SUCCEEDED","startDate":1767225600}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, w := newWire(t, replies)
			if err := tc.call(w); err != nil {
				t.Fatal(err)
			}
			if len(s.got) != 1 {
				t.Fatalf("%d requests, want 1", len(s.got))
			}
			r := s.got[0]
			if r.target != tc.target {
				t.Errorf("X-Amz-Target %q, want %q", r.target, tc.target)
			}
			if r.contentType != "application/x-amz-json-1.0" {
				t.Errorf("Content-Type %q", r.contentType)
			}
			if !strings.Contains(r.auth, "/us-east-1/states/aws4_request") {
				t.Errorf("not signed for states in us-east-1: %q", r.auth)
			}
			if len(r.body) != len(tc.body) {
				t.Errorf("body fields %v, want %v", keys(r.body), keys(tc.body))
			}
			for k, want := range tc.body {
				got, _ := r.body[k].(string)
				if k == "input" {
					assertJSONEqual(t, got, want)
					continue
				}
				if got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestWireErrors pins how Step Functions' error answers map to drsorch codes.
func TestWireErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		reply    reply
		code     string
		awsError string
	}{
		{"task timed out", reply{400, `{"__type":"com.amazonaws.swf.service.v2.model#TaskTimedOut","message":"Task Timed Out"}`},
			drsorch.CodeTaskTokenGone, "TaskTimedOut"},
		{"invalid token", reply{400, `{"__type":"InvalidToken","message":"Invalid Token: '` + token + `'"}`},
			drsorch.CodeTaskTokenGone, "InvalidToken"},
		{"task does not exist", reply{400, `{"__type":"TaskDoesNotExist","message":"Task Does Not Exist"}`},
			drsorch.CodeTaskTokenGone, "TaskDoesNotExist"},
		{"throttled", reply{400, `{"__type":"ThrottlingException","message":"Rate exceeded"}`},
			drsorch.CodeWorkflow, "ThrottlingException"},
		{"server error", reply{500, `{"__type":"InternalFailure","message":"oops"}`}, drsorch.CodeWorkflow, "InternalFailure"},
		{"unnamed server error", reply{503, `{}`}, drsorch.CodeWorkflow, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, w := newWire(t, map[string]reply{"SendTaskSuccess": tc.reply})
			err := w.SendTaskSuccess(ctx, token, json.RawMessage(`{}`))
			if got := drsorch.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want %q", err, got, tc.code)
			}
			if tc.awsError != "" && drsorch.AsError(err).Details["awsError"] != tc.awsError {
				t.Errorf("awsError %v, want %s", drsorch.AsError(err).Details["awsError"], tc.awsError)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error holds the task token: %v", err)
			}
		})
	}
	t.Run("start of an existing execution", func(t *testing.T) {
		_, w := newWire(t, map[string]reply{"StartExecution": {400, `{"__type":"ExecutionAlreadyExists","message":"Execution Already Exists"}`}})
		arn, err := w.Start(ctx, execution())
		if err != nil {
			t.Fatal(err)
		}
		if want := execARN + "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d"; arn != want {
			t.Errorf("ARN %q, want %q", arn, want)
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
