// Package sfn drives executions with an AWS Step Functions state machine
// (deploy/statemachine.asl.json): it starts one workflow per execution, named
// by the execution id, completes or fails the tasks that wait on task tokens,
// stops workflows and reads their status. It decides nothing: the engine does.
package sfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
)

// API is the part of the Step Functions client the adapter uses.
type API interface {
	StartExecution(ctx context.Context, in *sdk.StartExecutionInput, opts ...func(*sdk.Options)) (*sdk.StartExecutionOutput, error)
	SendTaskSuccess(ctx context.Context, in *sdk.SendTaskSuccessInput, opts ...func(*sdk.Options)) (*sdk.SendTaskSuccessOutput, error)
	SendTaskFailure(ctx context.Context, in *sdk.SendTaskFailureInput, opts ...func(*sdk.Options)) (*sdk.SendTaskFailureOutput, error)
	StopExecution(ctx context.Context, in *sdk.StopExecutionInput, opts ...func(*sdk.Options)) (*sdk.StopExecutionOutput, error)
	DescribeExecution(ctx context.Context, in *sdk.DescribeExecutionInput, opts ...func(*sdk.Options)) (*sdk.DescribeExecutionOutput, error)
}

var _ API = (*sdk.Client)(nil)

// Workflow is drsorch.Workflow on one Step Functions state machine.
type Workflow struct {
	api API
	arn string
}

var _ drsorch.Workflow = (*Workflow)(nil)

// New returns a Workflow that starts executions of the state machine stateMachineARN.
func New(api API, stateMachineARN string) *Workflow {
	return &Workflow{api: api, arn: stateMachineARN}
}

// StateMachineARN returns the state machine the workflow starts.
func (w *Workflow) StateMachineARN() string { return w.arn }

// Limits of SendTaskFailure and StopExecution.
const (
	maxErrorLen = 256
	maxCauseLen = 32768
)

// Input is the input of a workflow: the replaced system's execution input,
// plus the execution and plan ids at the top level for the state machine.
type Input struct {
	Execution            InputExecution          `json:"Execution"`
	Plan                 InputPlan               `json:"Plan"`
	IsDrill              bool                    `json:"isDrill"`
	ResumeFromWave       *int                    `json:"resumeFromWave"`
	PauseBeforeExecution bool                    `json:"pauseBeforeExecution"`
	AccountContext       *drsorch.AccountContext `json:"accountContext"`
	ExecutionID          string                  `json:"executionId"`
	PlanID               string                  `json:"planId"`
}

// InputExecution names the execution in Input.
type InputExecution struct {
	ID string `json:"Id"`
}

// InputPlan is the plan in Input, with its waves as the plan stores them.
type InputPlan struct {
	PlanID   string             `json:"planId"`
	PlanName string             `json:"planName"`
	Waves    []drsorch.PlanWave `json:"waves"`
}

// InputFor builds the workflow input of an execution. The external id and
// every other secret stay out of it.
func InputFor(x *drsorch.Execution) Input {
	waves := make([]drsorch.PlanWave, 0, len(x.Waves))
	for _, w := range x.Waves {
		waves = append(waves, drsorch.PlanWave{
			WaveNumber: w.WaveNumber, WaveName: w.WaveName, WaveDescription: w.WaveDescription,
			ProtectionGroupID: w.ProtectionGroupID, ProtectionGroupIDs: w.ProtectionGroupIDs,
			ServerIDs: w.ServerIDs, PauseBeforeWave: w.PauseBeforeWave, DependsOnWaves: w.DependsOnWaves,
			TimeoutSeconds: w.TimeoutSeconds,
		})
	}
	return Input{
		Execution:      InputExecution{ID: x.ExecutionID},
		Plan:           InputPlan{PlanID: x.PlanID, PlanName: x.PlanName, Waves: waves},
		IsDrill:        x.ExecutionType == drsorch.Drill,
		AccountContext: x.AccountContext,
		ExecutionID:    x.ExecutionID,
		PlanID:         x.PlanID,
	}
}

// Start starts the workflow of an execution, named by the execution id, and
// returns the execution ARN. Starting it again returns the same ARN.
func (w *Workflow) Start(ctx context.Context, x *drsorch.Execution) (string, error) {
	in, err := json.Marshal(InputFor(x))
	if err != nil {
		return "", drsorch.Wrap(drsorch.CodeInternal, err, "Step Functions input of execution %s does not encode", x.ExecutionID)
	}
	out, err := w.api.StartExecution(ctx, &sdk.StartExecutionInput{
		StateMachineArn: aws.String(w.arn), Name: aws.String(x.ExecutionID), Input: aws.String(string(in)),
	})
	if err != nil {
		if awsName(err) == "ExecutionAlreadyExists" {
			if arn, ok := ExecutionARN(w.arn, x.ExecutionID); ok {
				return arn, nil
			}
		}
		return "", mapError("StartExecution", err, "")
	}
	return aws.ToString(out.ExecutionArn), nil
}

// SendTaskSuccess completes the task waiting on token with output.
func (w *Workflow) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if len(output) == 0 {
		output = json.RawMessage("{}")
	}
	_, err := w.api.SendTaskSuccess(ctx, &sdk.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(string(output))})
	return mapError("SendTaskSuccess", err, token)
}

// SendTaskFailure fails the task waiting on token with an error name and a cause.
func (w *Workflow) SendTaskFailure(ctx context.Context, token, code, cause string) error {
	_, err := w.api.SendTaskFailure(ctx, &sdk.SendTaskFailureInput{
		TaskToken: aws.String(token), Error: aws.String(cut(code, maxErrorLen)), Cause: aws.String(cut(cause, maxCauseLen)),
	})
	return mapError("SendTaskFailure", err, token)
}

// Stop stops the workflow whose execution ARN is ref.
func (w *Workflow) Stop(ctx context.Context, ref, code, cause string) error {
	_, err := w.api.StopExecution(ctx, &sdk.StopExecutionInput{
		ExecutionArn: aws.String(ref), Error: aws.String(cut(code, maxErrorLen)), Cause: aws.String(cut(cause, maxCauseLen)),
	})
	return mapError("StopExecution", err, "")
}

// Describe returns the Step Functions status of the execution ARN ref
// (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE).
func (w *Workflow) Describe(ctx context.Context, ref string) (string, error) {
	out, err := w.api.DescribeExecution(ctx, &sdk.DescribeExecutionInput{ExecutionArn: aws.String(ref)})
	if err != nil {
		return "", mapError("DescribeExecution", err, "")
	}
	return string(out.Status), nil
}

// ExecutionARN returns the ARN of the execution named name of the state
// machine stateMachineARN (arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME).
func ExecutionARN(stateMachineARN, name string) (string, bool) {
	p := strings.Split(stateMachineARN, ":")
	if len(p) < 7 || p[0] != "arn" || p[2] != "states" || p[5] != "stateMachine" || p[6] == "" {
		return "", false
	}
	return strings.Join([]string{"arn", p[1], "states", p[3], p[4], "execution", p[6], name}, ":"), true
}

// Step Functions errors that say a task token no longer works.
var tokenGone = map[string]bool{"TaskTimedOut": true, "InvalidToken": true, "TaskDoesNotExist": true}

// Step Functions errors that a later retry may not get.
var retryable = map[string]bool{
	"ThrottlingException": true, "Throttling": true, "TooManyRequestsException": true, "RequestLimitExceeded": true,
	"ServiceUnavailable": true, "ServiceUnavailableException": true, "InternalServerError": true,
	"InternalFailure": true, "ServiceException": true, "ExecutionLimitExceeded": true, "KmsThrottlingException": true,
}

// mapError turns an SDK error into a drsorch error. The task token, when
// given, is removed from everything the error carries.
func mapError(op string, err error, token string) error {
	if err == nil {
		return nil
	}
	name := awsName(err)
	cause := redacted(err, token)
	details := map[string]any{"operation": op}
	if name != "" {
		details["awsError"] = name
	}
	label := name
	if label == "" {
		label = "request failed"
	}
	switch {
	case tokenGone[name]:
		return (&drsorch.Error{Code: drsorch.CodeTaskTokenGone, Message: fmt.Sprintf("Step Functions %s: the task token no longer works (%s)", op, name), Err: cause}).
			WithDetails(details)
	case name == "ExecutionDoesNotExist":
		return (&drsorch.Error{Code: drsorch.CodeNotFound, Message: fmt.Sprintf("Step Functions %s: execution does not exist", op), Err: cause}).
			WithDetails(details)
	case name == "" || retryable[name] || httpStatus(err) >= 500 || errors.Is(err, context.DeadlineExceeded):
		details["retryable"] = true
		return (&drsorch.Error{Code: drsorch.CodeWorkflow, Message: fmt.Sprintf("Step Functions %s failed: %s", op, label), Err: cause}).
			WithDetails(details)
	}
	return (&drsorch.Error{Code: drsorch.CodeInternal, Message: fmt.Sprintf("Step Functions %s failed: %s", op, label), Err: cause}).
		WithDetails(details)
}

// awsName returns the AWS error code of err, or "" when it is not an AWS API error.
func awsName(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// redacted returns err, or, when its text holds the task token, a plain error
// with the token replaced and nothing to unwrap (the SDK error would still hold it).
func redacted(err error, token string) error {
	if token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[task token]"))
}

// cut shortens s to at most n bytes without splitting a character.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
