package lambdafn

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/httpapi"
)

// Lambda error types: the errorType of a failed invocation, which a Step
// Functions Retry or Catch matches with ErrorEquals. They are stable names.
const (
	// TypeRetryable is a failure that may pass when tried again: a lost write
	// race, DRS throttling or a DRS/AWS 5xx, a store outage, a timeout.
	TypeRetryable = "drsorch.Retryable"
	// TypeInvalidInput is an event or parameter that will never work as sent.
	TypeInvalidInput = "drsorch.InvalidInput"
	// TypeNotFound is an execution (or plan) that does not exist.
	TypeNotFound = "drsorch.NotFound"
	// TypeInvalidState is an operation the execution's status does not allow.
	TypeInvalidState = "drsorch.InvalidState"
	// TypeConflict is a refusal because something is already in progress.
	TypeConflict = "drsorch.Conflict"
	// TypeAccessDenied is a refusal by drsorch's permissions or by AWS (DRS, STS).
	TypeAccessDenied = "drsorch.AccessDenied"
	// TypeDRSError is a permanent DRS failure (validation, conflict, unknown resource).
	TypeDRSError = "drsorch.DRSError"
)

// lambdaTraits is how the Lambda reports one error code.
type lambdaTraits struct {
	typ string // the Lambda error type when the invocation fails
	// raise makes the invocation fail (a Lambda error) even where other errors
	// come back as a response body: the failures to retry, not to fix.
	raise bool
}

// lambdaCodes is the one table from drsorch error codes to Lambda error types.
// A code not listed is an internal error. The body of an error that does not
// raise (its code, HTTP status and message) is the HTTP API's, so a direct
// invocation answers exactly what the same request over HTTP would.
var lambdaCodes = map[string]lambdaTraits{
	drsorch.CodeMissingParameter:   {TypeInvalidInput, false},
	drsorch.CodeMissingParameters:  {TypeInvalidInput, false},
	drsorch.CodeInvalidParameter:   {TypeInvalidInput, false},
	drsorch.CodeInvalidInvocation:  {TypeInvalidInput, false},
	drsorch.CodeInvalidOperation:   {TypeInvalidInput, false},
	drsorch.CodeInvalidEventFormat: {TypeInvalidInput, false},
	drsorch.CodeUnknownAction:      {TypeInvalidInput, false},
	drsorch.CodeMethodNotAllowed:   {TypeInvalidInput, false},
	httpapi.CodePayloadTooLarge:    {TypeInvalidInput, false},
	drsorch.CodeNotFound:           {TypeNotFound, false},
	drsorch.CodeInvalidState:       {TypeInvalidState, false},
	drsorch.CodeTaskTokenGone:      {TypeInvalidState, false},
	drsorch.CodeAlreadyExists:      {TypeConflict, false},
	drsorch.CodeUnauthorized:       {TypeAccessDenied, false},
	drsorch.CodeForbidden:          {TypeAccessDenied, false},
	drsorch.CodeDRSAccess:          {TypeAccessDenied, false},
	drsorch.CodeDRSConflict:        {TypeDRSError, false},
	drsorch.CodeDRSValidation:      {TypeDRSError, false},
	drsorch.CodeDRSNotFound:        {TypeDRSError, false},
	drsorch.CodeTooManyRequests:    {TypeRetryable, false}, // a refusal with retryAfter: answered, not raised
	drsorch.CodeDRSQuota:           {TypeRetryable, false},
	drsorch.CodeVersionConflict:    {TypeRetryable, true},
	drsorch.CodeDRSThrottled:       {TypeRetryable, true},
	drsorch.CodeDRSInternal:        {TypeRetryable, true},
	drsorch.CodeDRS:                {TypeRetryable, true},
	drsorch.CodeWorkflow:           {TypeRetryable, true},
	drsorch.CodeInternal:           {TypeRetryable, true},
}

// traits returns how err is reported. A DRS_ERROR that wraps a more specific
// DRS code (an access denial behind "could not check DRS jobs") is classified
// by the inner code, so a permanent failure is not retried.
func traits(err error) lambdaTraits {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return lambdaCodes[drsorch.CodeInternal]
	}
	code := drsorch.ErrorCode(err)
	if code == drsorch.CodeDRS {
		var e *drsorch.Error
		for cur := error(drsorch.AsError(err)); errors.As(cur, &e) && e.Err != nil; cur = e.Err {
			if inner := drsorch.ErrorCode(e.Err); inner != drsorch.CodeDRS && drsorch.IsDRSCode(inner) {
				code = inner
				break
			}
		}
	}
	if t, ok := lambdaCodes[code]; ok {
		return t
	}
	return lambdaCodes[drsorch.CodeInternal]
}

// Error is a failed invocation: the Lambda runtime reports it as
// {"errorType": Type, "errorMessage": Message}.
type Error struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

// Error returns the type and the message.
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// lambdaError turns err into the Lambda error it is reported as. The message
// is the error body's code and message, never an internal cause.
func lambdaError(err error) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	t := traits(err)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Type: t.typ, Message: "TIMEOUT: the invocation ran out of time"}
	case errors.Is(err, context.Canceled):
		return &Error{Type: t.typ, Message: "CANCELLED: the invocation was cancelled"}
	}
	_, b := httpapi.ErrorResponse(err)
	if b.Error == drsorch.CodeInternal {
		// The HTTP API hides internal messages; a failed invocation is seen
		// only by the caller's role, and the message says what failed.
		b.Message = drsorch.AsError(err).Message
	}
	return &Error{Type: t.typ, Message: b.Error + ": " + b.Message}
}

// errorBody is the one error body: {"error":CODE,"message":…,"details"?:…,
// "retryable"?,"retryAfter"?}, the HTTP API's.
func errorBody(err error) httpapi.ErrorBody {
	_, b := httpapi.ErrorResponse(err)
	return b
}

// statusOf is the HTTP status an error stands for.
func statusOf(err error) int {
	s, _ := httpapi.ErrorResponse(err)
	return s
}

// statusBody is the error body of find, poll and finalize: it also carries statusCode.
type statusBody struct {
	StatusCode int `json:"statusCode"`
	httpapi.ErrorBody
}

func lifecycleError(err error) statusBody { return statusBody{statusOf(err), errorBody(err)} }

// bodyWith returns an error body with extra top-level fields.
func bodyWith(err error, extra map[string]any) map[string]any {
	b, _ := json.Marshal(errorBody(err))
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// mustRaise reports whether err fails the invocation even where other errors
// come back as a body.
func mustRaise(err error) bool { return traits(err).raise }
