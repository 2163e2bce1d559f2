package drsorch

import (
	"errors"
	"fmt"
)

// Error codes. The wire codes of the replaced system are kept; the DRS_* codes
// classify DRS failures for the engine and reach clients as DRS_ERROR.
const (
	CodeMissingParameter   = "MISSING_PARAMETER"
	CodeMissingParameters  = "MISSING_PARAMETERS"
	CodeInvalidParameter   = "INVALID_PARAMETER"
	CodeNotFound           = "NOT_FOUND"
	CodeAlreadyExists      = "ALREADY_EXISTS"
	CodeInvalidState       = "INVALID_STATE"
	CodeVersionConflict    = "VERSION_CONFLICT"
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	CodeUnauthorized       = "UNAUTHORIZED"
	CodeForbidden          = "FORBIDDEN"
	CodeTooManyRequests    = "TOO_MANY_REQUESTS"
	CodeInternal           = "INTERNAL_ERROR"
	CodeInvalidInvocation  = "INVALID_INVOCATION"
	CodeInvalidOperation   = "INVALID_OPERATION"
	CodeInvalidEventFormat = "INVALID_EVENT_FORMAT"
	CodeUnknownAction      = "UNKNOWN_ACTION"
	CodeWorkflow           = "STEP_FUNCTIONS_ERROR"

	CodeDRS           = "DRS_ERROR"                 // any other DRS failure (5xx, network)
	CodeDRSThrottled  = "DRS_THROTTLED"             // ThrottlingException
	CodeDRSQuota      = "DRS_QUOTA_EXCEEDED"        // ServiceQuotaExceededException, or a pre-flight limit
	CodeDRSConflict   = "DRS_CONFLICT"              // ConflictException
	CodeDRSValidation = "DRS_VALIDATION"            // ValidationException
	CodeDRSNotFound   = "DRS_RESOURCE_NOT_FOUND"    // ResourceNotFoundException
	CodeDRSAccess     = "DRS_ACCESS_DENIED"         // AccessDeniedException, UninitializedAccountException, STS failures
	CodeDRSInternal   = "DRS_INTERNAL_SERVER_ERROR" // InternalServerException
)

// Error is the one error type of drsorch. Code decides how each transport
// reports it; Err holds an internal cause that is logged, never shown.
type Error struct {
	Code       string
	Message    string
	Details    map[string]any
	RetryAfter int // seconds; set on refusals the caller may retry later
	Err        error
}

// Error returns the message with the code.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns the error with details set.
func (e *Error) WithDetails(d map[string]any) *Error {
	e.Details = d
	return e
}

// Wrap returns an Error of the given code whose internal cause is err.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of err: the Error's code, INTERNAL_ERROR for other errors, "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err is an Error with one of the codes.
func IsCode(err error, codes ...string) bool {
	c := ErrorCode(err)
	for _, x := range codes {
		if c == x {
			return true
		}
	}
	return false
}

// AsError returns err as an *Error, wrapping other errors as INTERNAL_ERROR.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

// IsDRSCode reports whether the code classifies a DRS failure.
func IsDRSCode(code string) bool {
	switch code {
	case CodeDRS, CodeDRSThrottled, CodeDRSQuota, CodeDRSConflict, CodeDRSValidation,
		CodeDRSNotFound, CodeDRSAccess, CodeDRSInternal:
		return true
	}
	return false
}

// Transient reports whether retrying the same call later may succeed:
// throttling, DRS internal errors, version conflicts and unclassified DRS failures.
func Transient(err error) bool {
	return IsCode(err, CodeDRSThrottled, CodeDRSInternal, CodeDRS, CodeVersionConflict)
}
