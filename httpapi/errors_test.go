package httpapi_test

import (
	"errors"
	"net/http"
	"reflect"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/httpapi"
)

func TestErrorResponse(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.1:443: secret-host unreachable")
	tests := []struct {
		name   string
		err    error
		status int
		body   httpapi.ErrorBody
	}{
		{"missing parameter", drsorch.Errorf(drsorch.CodeMissingParameter, "planId is required"), 400,
			httpapi.ErrorBody{Error: "MISSING_PARAMETER", Message: "planId is required"}},
		{"not found", drsorch.Errorf(drsorch.CodeNotFound, "gone").WithDetails(map[string]any{"executionId": "x"}), 404,
			httpapi.ErrorBody{Error: "NOT_FOUND", Message: "gone", Details: map[string]any{"executionId": "x"}}},
		{"invalid state", drsorch.Errorf(drsorch.CodeInvalidState, "no"), 400, httpapi.ErrorBody{Error: "INVALID_STATE", Message: "no"}},
		{"already exists", drsorch.Errorf(drsorch.CodeAlreadyExists, "busy"), 409, httpapi.ErrorBody{Error: "ALREADY_EXISTS", Message: "busy"}},
		{"version conflict", drsorch.Errorf(drsorch.CodeVersionConflict, "stale"), 409, httpapi.ErrorBody{Error: "VERSION_CONFLICT", Message: "stale"}},
		{"unauthorized", drsorch.Errorf(drsorch.CodeUnauthorized, "who"), 401, httpapi.ErrorBody{Error: "UNAUTHORIZED", Message: "who"}},
		{"forbidden", drsorch.Errorf(drsorch.CodeForbidden, "no"), 403, httpapi.ErrorBody{Error: "FORBIDDEN", Message: "no"}},
		{"method", drsorch.Errorf(drsorch.CodeMethodNotAllowed, "no"), 405, httpapi.ErrorBody{Error: "METHOD_NOT_ALLOWED", Message: "no"}},
		{"quota with retry", &drsorch.Error{Code: drsorch.CodeDRSQuota, Message: "full", RetryAfter: 60}, 429,
			httpapi.ErrorBody{Error: "DRS_ERROR", Message: "full", Details: map[string]any{"drsError": "DRS_QUOTA_EXCEEDED"}, Retryable: true, RetryAfter: 60}},
		{"throttled", drsorch.Errorf(drsorch.CodeDRSThrottled, "slow down"), 429,
			httpapi.ErrorBody{Error: "DRS_ERROR", Message: "slow down", Details: map[string]any{"drsError": "DRS_THROTTLED"}, Retryable: true}},
		{"drs conflict", drsorch.Errorf(drsorch.CodeDRSConflict, "busy"), 409,
			httpapi.ErrorBody{Error: "DRS_ERROR", Message: "busy", Details: map[string]any{"drsError": "DRS_CONFLICT"}, Retryable: true}},
		{"drs validation", drsorch.Errorf(drsorch.CodeDRSValidation, "bad"), 400,
			httpapi.ErrorBody{Error: "DRS_ERROR", Message: "bad", Details: map[string]any{"drsError": "DRS_VALIDATION"}, Retryable: true}},
		{"drs not found", drsorch.Errorf(drsorch.CodeDRSNotFound, "none"), 404,
			httpapi.ErrorBody{Error: "DRS_ERROR", Message: "none", Details: map[string]any{"drsError": "DRS_RESOURCE_NOT_FOUND"}, Retryable: true}},
		{"drs access", drsorch.Errorf(drsorch.CodeDRSAccess, "denied"), 502,
			httpapi.ErrorBody{Error: "DRS_ERROR", Message: "denied", Details: map[string]any{"drsError": "DRS_ACCESS_DENIED"}, Retryable: true}},
		{"plain drs", drsorch.Wrap(drsorch.CodeDRS, cause, "DRS failed"), 502, httpapi.ErrorBody{Error: "DRS_ERROR", Message: "DRS failed", Retryable: true}},
		{"workflow", drsorch.Errorf(drsorch.CodeWorkflow, "sfn down"), 502, httpapi.ErrorBody{Error: "STEP_FUNCTIONS_ERROR", Message: "sfn down", Retryable: true}},
		{"internal with message", drsorch.Wrap(drsorch.CodeInternal, cause, "storage failure: %s", cause), 500,
			httpapi.ErrorBody{Error: "INTERNAL_ERROR", Message: "internal error", Retryable: true}},
		{"plain error", cause, 500, httpapi.ErrorBody{Error: "INTERNAL_ERROR", Message: "internal error", Retryable: true}},
		{"unknown code", drsorch.Errorf("SOMETHING_NEW", "x"), 500, httpapi.ErrorBody{Error: "INTERNAL_ERROR", Message: "internal error", Retryable: true}},
		{"too large", drsorch.Errorf(httpapi.CodePayloadTooLarge, "big"), http.StatusRequestEntityTooLarge, httpapi.ErrorBody{Error: "PAYLOAD_TOO_LARGE", Message: "big"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := httpapi.ErrorResponse(tc.err)
			if status != tc.status || !reflect.DeepEqual(body, tc.body) {
				t.Fatalf("got %d %+v, want %d %+v", status, body, tc.status, tc.body)
			}
		})
	}
}
