package drs

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
)

// validationException is DRS's name for a request that breaks the API's constraints.
const validationException = "ValidationException"

// errorCodes maps DRS exception names to drsorch codes; other names are DRS_ERROR.
var errorCodes = map[string]string{
	"ThrottlingException":           drsorch.CodeDRSThrottled,
	"ServiceQuotaExceededException": drsorch.CodeDRSQuota,
	"ConflictException":             drsorch.CodeDRSConflict,
	validationException:             drsorch.CodeDRSValidation,
	"ResourceNotFoundException":     drsorch.CodeDRSNotFound,
	"AccessDeniedException":         drsorch.CodeDRSAccess,
	"UninitializedAccountException": drsorch.CodeDRSAccess,
	"InternalServerException":       drsorch.CodeDRSInternal,
}

// ErrorCode returns the drsorch code of a DRS exception name (DRS_ERROR for unknown names).
func ErrorCode(awsName string) string {
	if c, ok := errorCodes[awsName]; ok {
		return c
	}
	return drsorch.CodeDRS
}

// apiCode returns the AWS error code err carries, "" when it carries none.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// fail classifies a failed SDK call as a *drsorch.Error naming the call and
// where it ran; the SDK error is kept as the internal cause.
func (c *clientSet) fail(op string, err error) *drsorch.Error {
	var ar *assumeRoleError
	if errors.As(err, &ar) {
		e := &drsorch.Error{
			Code:    drsorch.CodeDRSAccess,
			Message: fmt.Sprintf("DRS %s in %s: assuming role %s failed", op, c.where(), ar.role),
			Err:     err,
		}
		if name := apiCode(ar.err); name != "" {
			e.Message += ": " + name
			e.Details = map[string]any{"awsError": name}
		}
		return e
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		name := ae.ErrorCode()
		msg := fmt.Sprintf("DRS %s in %s failed: %s", op, c.where(), name)
		if m := ae.ErrorMessage(); m != "" && m != name {
			msg += ": " + m
		}
		return &drsorch.Error{Code: ErrorCode(name), Message: msg, Details: map[string]any{"awsError": name}, Err: err}
	}
	var ip smithy.InvalidParamsError
	if errors.As(err, &ip) {
		return &drsorch.Error{
			Code:    drsorch.CodeDRSValidation,
			Message: fmt.Sprintf("DRS %s in %s: invalid request: %v", op, c.where(), ip),
			Details: map[string]any{"awsError": validationException},
			Err:     err,
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return drsorch.Wrap(drsorch.CodeDRS, err, "DRS %s in %s: request cancelled", op, c.where())
	}
	return drsorch.Wrap(drsorch.CodeDRS, err, "DRS %s in %s failed: the request did not complete", op, c.where())
}

// invalid is the validationException DRS would return for a request over the API's limits.
func (c *clientSet) invalid(op, format string, args ...any) *drsorch.Error {
	return &drsorch.Error{
		Code:    drsorch.CodeDRSValidation,
		Message: fmt.Sprintf("DRS %s in %s: %s", op, c.where(), fmt.Sprintf(format, args...)),
		Details: map[string]any{"awsError": validationException},
	}
}
