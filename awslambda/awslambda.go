// Package awslambda invokes Lambda functions for drsorch: the asynchronous
// self-invocation that runs the worker half of a start (a drsorch.Dispatcher),
// and the synchronous invocation of a query handler that serves delegated reads.
package awslambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
)

// Client is the part of the Lambda API client awslambda uses (*lambda.Client satisfies it).
type Client interface {
	Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

var _ Client = (*lambda.Client)(nil)

// Plans reads recovery plans (a drsorch.Store satisfies it).
type Plans interface {
	GetPlan(ctx context.Context, planID string) (*drsorch.RecoveryPlan, error)
}

// Dispatcher starts the worker of a recorded start by invoking the function
// itself asynchronously (InvocationType Event) with the replaced system's
// worker payload. Lambda accepting the event (202) is success; the worker
// then runs in its own invocation.
type Dispatcher struct {
	Client       Client
	FunctionName string // the function's own name (AWS_LAMBDA_FUNCTION_NAME)
	// Plans, when set, supplies the "plan" field of the payload; a plan that
	// cannot be read is sent as null (the worker does not need it).
	Plans Plans
}

var _ drsorch.Dispatcher = (*Dispatcher)(nil)

// WorkerEvent is the payload of the worker invocation.
type WorkerEvent struct {
	Worker        bool                  `json:"worker"`
	ExecutionID   string                `json:"executionId"`
	PlanID        string                `json:"planId"`
	ExecutionType drsorch.ExecutionType `json:"executionType"`
	IsDrill       bool                  `json:"isDrill"`
	Plan          *drsorch.RecoveryPlan `json:"plan"`
	CognitoUser   CognitoUser           `json:"cognitoUser"`
}

// CognitoUser is who asked for the start, as the replaced system passed it on.
type CognitoUser struct {
	Email    string `json:"email"`
	UserID   string `json:"userId"`
	Username string `json:"username"`
}

// cognitoUser describes the caller of ctx: a system caller as "system", an
// unknown field as "unknown", as the replaced system did.
func cognitoUser(c drsorch.Caller) CognitoUser {
	if c.System {
		return CognitoUser{Email: "system", UserID: "system", Username: or(c.Username, "system")}
	}
	return CognitoUser{Email: or(c.Email, "unknown"), UserID: or(c.Subject, "unknown"), Username: or(c.Username, "unknown")}
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Dispatch invokes the worker for the execution. Anything but a 202 is an error.
func (d *Dispatcher) Dispatch(ctx context.Context, x *drsorch.Execution) error {
	if d.FunctionName == "" {
		return drsorch.Errorf(drsorch.CodeInternal, "no function to invoke for the worker (AWS_LAMBDA_FUNCTION_NAME is not set)")
	}
	ev := WorkerEvent{Worker: true, ExecutionID: x.ExecutionID, PlanID: x.PlanID, ExecutionType: x.ExecutionType,
		IsDrill: x.ExecutionType == drsorch.Drill, CognitoUser: cognitoUser(drsorch.CallerFrom(ctx))}
	if d.Plans != nil {
		if p, err := d.Plans.GetPlan(ctx, x.PlanID); err == nil {
			ev.Plan = p
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return drsorch.Wrap(drsorch.CodeInternal, err, "the worker event does not encode")
	}
	out, err := d.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(d.FunctionName),
		InvocationType: types.InvocationTypeEvent,
		Payload:        payload,
	})
	if err != nil {
		return invokeError(err, "Lambda Invoke of %s", d.FunctionName)
	}
	if out.StatusCode != 202 {
		return drsorch.Errorf(drsorch.CodeInternal, "Lambda Invoke of %s returned status %d, not 202", d.FunctionName, out.StatusCode)
	}
	return nil
}

// Reads serves delegated read operations by a synchronous invocation
// (RequestResponse) of the query handler with {"operation","parameters"}.
type Reads struct {
	Client       Client
	FunctionName string // QUERY_HANDLER_FUNCTION_NAME
}

// Read invokes the query handler and returns its parsed payload. A function
// error (the handler failed) is an error carrying the handler's message.
func (r *Reads) Read(ctx context.Context, operation string, parameters map[string]any) (json.RawMessage, error) {
	if parameters == nil {
		parameters = map[string]any{}
	}
	payload, err := json.Marshal(map[string]any{"operation": operation, "parameters": parameters})
	if err != nil {
		return nil, drsorch.Wrap(drsorch.CodeInvalidParameter, err, "the parameters do not encode")
	}
	out, err := r.Client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(r.FunctionName),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return nil, invokeError(err, "Lambda Invoke of %s", r.FunctionName)
	}
	if out.FunctionError != nil {
		var fe struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		_ = json.Unmarshal(out.Payload, &fe)
		return nil, drsorch.Errorf(drsorch.CodeInternal, "%s failed (%s): %s", r.FunctionName, or(fe.ErrorType, *out.FunctionError), or(fe.ErrorMessage, "no message"))
	}
	if out.StatusCode != 200 {
		return nil, drsorch.Errorf(drsorch.CodeInternal, "Lambda Invoke of %s returned status %d, not 200", r.FunctionName, out.StatusCode)
	}
	if !json.Valid(out.Payload) {
		return nil, drsorch.Errorf(drsorch.CodeInternal, "%s returned a payload that is not JSON", r.FunctionName)
	}
	return json.RawMessage(out.Payload), nil
}

// invokeError classifies a failed Invoke call: throttling and service faults
// may pass later, anything else (no such function, access denied) will not.
func invokeError(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	var api smithy.APIError
	if errors.As(err, &api) {
		code := drsorch.CodeInternal
		switch api.ErrorCode() {
		case "ResourceNotFoundException", "InvalidRequestContentException", "RequestTooLargeException":
			code = drsorch.CodeInvalidParameter
		case "AccessDeniedException", "KMSAccessDeniedException":
			code = drsorch.CodeForbidden
		}
		return drsorch.Wrap(code, err, "%s failed: %s: %s", msg, api.ErrorCode(), api.ErrorMessage()).
			WithDetails(map[string]any{"awsError": api.ErrorCode()})
	}
	return drsorch.Wrap(drsorch.CodeInternal, err, "%s failed: %s", msg, err.Error())
}
