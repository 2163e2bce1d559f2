package sfn_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/sfn"
)

const (
	smARN   = "arn:aws:states:us-east-1:123456789012:stateMachine:drsorch-orchestration-prod"
	execARN = "arn:aws:states:us-east-1:123456789012:execution:drsorch-orchestration-prod:"
	// token looks like a real task token: long and opaque.
	token = "AQCEAAAAKgAAAAMAAAAAAAAAAT1secret-task-token-value-that-must-never-leak-0123456789abcdefghijklmnopqrstuvwxyz"
)

// fakeAPI records the calls and answers with err (when set) or a canned output.
type fakeAPI struct {
	calls []string
	start *sdk.StartExecutionInput
	ok    *sdk.SendTaskSuccessInput
	fail  *sdk.SendTaskFailureInput
	stop  *sdk.StopExecutionInput
	desc  *sdk.DescribeExecutionInput
	err   error
}

func (f *fakeAPI) StartExecution(_ context.Context, in *sdk.StartExecutionInput, _ ...func(*sdk.Options)) (*sdk.StartExecutionOutput, error) {
	f.calls, f.start = append(f.calls, "StartExecution"), in
	if f.err != nil {
		return nil, f.err
	}
	return &sdk.StartExecutionOutput{ExecutionArn: aws.String(execARN + aws.ToString(in.Name))}, nil
}

func (f *fakeAPI) SendTaskSuccess(_ context.Context, in *sdk.SendTaskSuccessInput, _ ...func(*sdk.Options)) (*sdk.SendTaskSuccessOutput, error) {
	f.calls, f.ok = append(f.calls, "SendTaskSuccess"), in
	if f.err != nil {
		return nil, f.err
	}
	return &sdk.SendTaskSuccessOutput{}, nil
}

func (f *fakeAPI) SendTaskFailure(_ context.Context, in *sdk.SendTaskFailureInput, _ ...func(*sdk.Options)) (*sdk.SendTaskFailureOutput, error) {
	f.calls, f.fail = append(f.calls, "SendTaskFailure"), in
	if f.err != nil {
		return nil, f.err
	}
	return &sdk.SendTaskFailureOutput{}, nil
}

func (f *fakeAPI) StopExecution(_ context.Context, in *sdk.StopExecutionInput, _ ...func(*sdk.Options)) (*sdk.StopExecutionOutput, error) {
	f.calls, f.stop = append(f.calls, "StopExecution"), in
	if f.err != nil {
		return nil, f.err
	}
	return &sdk.StopExecutionOutput{}, nil
}

func (f *fakeAPI) DescribeExecution(_ context.Context, in *sdk.DescribeExecutionInput, _ ...func(*sdk.Options)) (*sdk.DescribeExecutionOutput, error) {
	f.calls, f.desc = append(f.calls, "DescribeExecution"), in
	if f.err != nil {
		return nil, f.err
	}
	return &sdk.DescribeExecutionOutput{Status: types.ExecutionStatusRunning}, nil
}

// execution is a two-wave drill of one account, with a secret that must stay out of the input.
func execution() *drsorch.Execution {
	return &drsorch.Execution{
		ExecutionID: "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d", PlanID: "plan-1", PlanName: "Payments",
		ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending,
		AccountContext: &drsorch.AccountContext{AccountID: "210987654321", AssumeRoleName: "DRSOrchestrationCrossAccountRole"},
		Waves: []drsorch.ExecutionWave{
			{WaveNumber: 0, WaveName: "Databases", ProtectionGroupID: "pg-db", ServerIDs: []string{"s-00000000000000001"},
				Status: drsorch.WavePending, JobID: "drsjob-00000000000000001"},
			{WaveNumber: 1, WaveName: "Apps", ProtectionGroupIDs: []string{"pg-app", "pg-web"}, PauseBeforeWave: true,
				DependsOnWaves: []int{0}, TimeoutSeconds: 3600, Status: drsorch.WavePending},
		},
		Secrets: drsorch.ExecutionSecrets{ExternalID: "external-id-secret", TaskToken: token},
	}
}

func TestStart(t *testing.T) {
	ctx := context.Background()
	want, err := os.ReadFile("testdata/start_input.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		err     error
		wantARN string
		code    string
	}{
		{name: "started", wantARN: execARN + "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d"},
		{name: "already started returns the same execution", err: &types.ExecutionAlreadyExists{Message: aws.String("exists")},
			wantARN: execARN + "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d"},
		{name: "state machine missing is a deployment error", err: &types.StateMachineDoesNotExist{Message: aws.String("no")}, code: drsorch.CodeInternal},
		{name: "too many running executions may pass later", err: &types.ExecutionLimitExceeded{Message: aws.String("limit")}, code: drsorch.CodeWorkflow},
		{name: "throttled", err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"}, code: drsorch.CodeWorkflow},
		{name: "network", err: errors.New("dial tcp: connection refused"), code: drsorch.CodeWorkflow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeAPI{err: tc.err}
			arn, err := sfn.New(api, smARN).Start(ctx, execution())
			if got := drsorch.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
			}
			if arn != tc.wantARN {
				t.Errorf("ARN %q, want %q", arn, tc.wantARN)
			}
			in := api.start
			if aws.ToString(in.StateMachineArn) != smARN || aws.ToString(in.Name) != "0b7c2d4e-5f60-4a1b-9c8d-7e6f5a4b3c2d" {
				t.Errorf("StartExecution(%q, name %q)", aws.ToString(in.StateMachineArn), aws.ToString(in.Name))
			}
			assertJSONEqual(t, aws.ToString(in.Input), string(want))
			for _, secret := range []string{"external-id-secret", token} {
				if strings.Contains(aws.ToString(in.Input), secret) {
					t.Errorf("the workflow input holds a secret: %s", aws.ToString(in.Input))
				}
			}
		})
	}
}

func TestTaskTokens(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		err      error
		code     string
		awsError string
	}{
		{name: "accepted"},
		{name: "timed out", err: &types.TaskTimedOut{Message: aws.String("Task Timed Out: '" + token + "'")},
			code: drsorch.CodeTaskTokenGone, awsError: "TaskTimedOut"},
		{name: "invalid", err: &types.InvalidToken{Message: aws.String("Invalid Token: '" + token + "'")},
			code: drsorch.CodeTaskTokenGone, awsError: "InvalidToken"},
		{name: "already completed", err: &types.TaskDoesNotExist{Message: aws.String("Task Does Not Exist: " + token)},
			code: drsorch.CodeTaskTokenGone, awsError: "TaskDoesNotExist"},
		{name: "throttled", err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded for " + token},
			code: drsorch.CodeWorkflow, awsError: "ThrottlingException"},
		{name: "output too large", err: &types.InvalidOutput{Message: aws.String("bad")},
			code: drsorch.CodeInternal, awsError: "InvalidOutput"},
	}
	calls := []struct {
		name  string
		call  func(w *sfn.Workflow) error
		check func(t *testing.T, api *fakeAPI)
	}{
		{"SendTaskSuccess", func(w *sfn.Workflow) error {
			return w.SendTaskSuccess(ctx, token, json.RawMessage(`{"executionId":"e","planId":"p","status":"RUNNING"}`))
		}, func(t *testing.T, api *fakeAPI) {
			if aws.ToString(api.ok.TaskToken) != token || aws.ToString(api.ok.Output) != `{"executionId":"e","planId":"p","status":"RUNNING"}` {
				t.Errorf("SendTaskSuccess input %+v", api.ok)
			}
		}},
		{"SendTaskFailure", func(w *sfn.Workflow) error {
			return w.SendTaskFailure(ctx, token, "ExecutionCancelled", "Execution cancelled by user")
		}, func(t *testing.T, api *fakeAPI) {
			if aws.ToString(api.fail.TaskToken) != token || aws.ToString(api.fail.Error) != "ExecutionCancelled" ||
				aws.ToString(api.fail.Cause) != "Execution cancelled by user" {
				t.Errorf("SendTaskFailure input %+v", api.fail)
			}
		}},
	}
	for _, c := range calls {
		for _, tc := range tests {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				api := &fakeAPI{err: tc.err}
				err := c.call(sfn.New(api, smARN))
				c.check(t, api)
				if got := drsorch.ErrorCode(err); got != tc.code {
					t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
				}
				if err == nil {
					return
				}
				if got := drsorch.AsError(err).Details["awsError"]; got != tc.awsError {
					t.Errorf("awsError %v, want %s", got, tc.awsError)
				}
				if strings.Contains(err.Error(), token) || strings.Contains(drsorch.AsError(err).Message, token) {
					t.Errorf("the error holds the task token: %v", err)
				}
				for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
					if strings.Contains(u.Error(), token) {
						t.Errorf("a wrapped error holds the task token: %v", u)
					}
				}
			})
		}
	}
}

func TestSendTaskSuccessEmptyOutput(t *testing.T) {
	api := &fakeAPI{}
	if err := sfn.New(api, smARN).SendTaskSuccess(context.Background(), token, nil); err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(api.ok.Output); got != "{}" {
		t.Errorf("output %q, want {}", got)
	}
}

func TestSendTaskFailureLimits(t *testing.T) {
	api := &fakeAPI{}
	long := strings.Repeat("é", 200) // 400 bytes
	if err := sfn.New(api, smARN).SendTaskFailure(context.Background(), token, long, strings.Repeat("x", 40000)); err != nil {
		t.Fatal(err)
	}
	if e := aws.ToString(api.fail.Error); len(e) > 256 || !strings.HasPrefix(long, e) {
		t.Errorf("error name of %d bytes, or a cut character", len(e))
	}
	if c := aws.ToString(api.fail.Cause); len(c) != 32768 {
		t.Errorf("cause of %d bytes, want 32768", len(c))
	}
}

func TestStopAndDescribe(t *testing.T) {
	ctx := context.Background()
	ref := execARN + "0b7c2d4e"
	tests := []struct {
		name string
		err  error
		code string
	}{
		{name: "ok"},
		{name: "unknown execution", err: &types.ExecutionDoesNotExist{Message: aws.String("nope")}, code: drsorch.CodeNotFound},
		{name: "bad ARN", err: &types.InvalidArn{Message: aws.String("bad")}, code: drsorch.CodeInternal},
		{name: "service error", err: &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "down"}, code: drsorch.CodeWorkflow},
	}
	for _, tc := range tests {
		t.Run("Stop/"+tc.name, func(t *testing.T) {
			api := &fakeAPI{err: tc.err}
			err := sfn.New(api, smARN).Stop(ctx, ref, "UserCancelled", "Execution cancelled by user")
			if got := drsorch.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
			}
			if aws.ToString(api.stop.ExecutionArn) != ref || aws.ToString(api.stop.Error) != "UserCancelled" ||
				aws.ToString(api.stop.Cause) != "Execution cancelled by user" {
				t.Errorf("StopExecution input %+v", api.stop)
			}
		})
		t.Run("Describe/"+tc.name, func(t *testing.T) {
			api := &fakeAPI{err: tc.err}
			status, err := sfn.New(api, smARN).Describe(ctx, ref)
			if got := drsorch.ErrorCode(err); got != tc.code {
				t.Fatalf("error %v (code %q), want code %q", err, got, tc.code)
			}
			if aws.ToString(api.desc.ExecutionArn) != ref {
				t.Errorf("DescribeExecution(%q)", aws.ToString(api.desc.ExecutionArn))
			}
			if err == nil && status != "RUNNING" {
				t.Errorf("status %q, want RUNNING", status)
			}
		})
	}
}

func TestExecutionARN(t *testing.T) {
	tests := []struct {
		sm, name, want string
		ok             bool
	}{
		{smARN, "e1", execARN + "e1", true},
		{"arn:aws-cn:states:cn-north-1:123456789012:stateMachine:sm", "e1", "arn:aws-cn:states:cn-north-1:123456789012:execution:sm:e1", true},
		{"arn:aws:states:us-east-1:123456789012:stateMachine:sm:prod", "e1", "arn:aws:states:us-east-1:123456789012:execution:sm:e1", true},
		{"arn:aws:lambda:us-east-1:123456789012:function:f", "e1", "", false},
		{"not-an-arn", "e1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.sm, func(t *testing.T) {
			got, ok := sfn.ExecutionARN(tc.sm, tc.name)
			if got != tc.want || ok != tc.ok {
				t.Errorf("ExecutionARN = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func assertJSONEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("fixture not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", got, want)
	}
}
