package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/drsorch/drsorch"
)

// CodePayloadTooLarge is the error code of a request body over Options.MaxBodyBytes.
const CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"

// statusByCode is the one table from error codes to HTTP statuses. Codes not
// listed are internal errors (500).
var statusByCode = map[string]int{
	drsorch.CodeMissingParameter:   http.StatusBadRequest,
	drsorch.CodeMissingParameters:  http.StatusBadRequest,
	drsorch.CodeInvalidParameter:   http.StatusBadRequest,
	drsorch.CodeInvalidState:       http.StatusBadRequest,
	drsorch.CodeInvalidOperation:   http.StatusBadRequest,
	drsorch.CodeInvalidEventFormat: http.StatusBadRequest,
	drsorch.CodeInvalidInvocation:  http.StatusBadRequest,
	drsorch.CodeUnknownAction:      http.StatusBadRequest,
	drsorch.CodeTaskTokenGone:      http.StatusBadRequest,
	drsorch.CodeUnauthorized:       http.StatusUnauthorized,
	drsorch.CodeForbidden:          http.StatusForbidden,
	drsorch.CodeNotFound:           http.StatusNotFound,
	drsorch.CodeMethodNotAllowed:   http.StatusMethodNotAllowed,
	drsorch.CodeAlreadyExists:      http.StatusConflict,
	drsorch.CodeVersionConflict:    http.StatusConflict,
	CodePayloadTooLarge:            http.StatusRequestEntityTooLarge,
	drsorch.CodeTooManyRequests:    http.StatusTooManyRequests,
	drsorch.CodeInternal:           http.StatusInternalServerError,
	drsorch.CodeWorkflow:           http.StatusBadGateway,
	drsorch.CodeDRS:                http.StatusBadGateway,
	drsorch.CodeDRSThrottled:       http.StatusTooManyRequests,
	drsorch.CodeDRSQuota:           http.StatusTooManyRequests,
	drsorch.CodeDRSConflict:        http.StatusConflict,
	drsorch.CodeDRSValidation:      http.StatusBadRequest,
	drsorch.CodeDRSNotFound:        http.StatusNotFound,
	drsorch.CodeDRSAccess:          http.StatusBadGateway,
	drsorch.CodeDRSInternal:        http.StatusBadGateway,
}

// ErrorBody is the one error body of the API: {"error":CODE,"message":…,"details"?:…},
// plus retryable/retryAfter where the replaced system had them.
type ErrorBody struct {
	Error      string         `json:"error"`
	Message    string         `json:"message"`
	Details    map[string]any `json:"details,omitempty"`
	Retryable  bool           `json:"retryable,omitempty"`
	RetryAfter int            `json:"retryAfter,omitempty"`
}

// ErrorResponse maps an error to its HTTP status and body. DRS failures are
// reported as DRS_ERROR (the DRS classification goes to details.drsError);
// internal errors say only "internal error": their cause is for the log.
func ErrorResponse(err error) (int, ErrorBody) {
	e := drsorch.AsError(err)
	status, known := statusByCode[e.Code]
	if !known || status == http.StatusInternalServerError || errors.Is(err, context.Canceled) {
		return http.StatusInternalServerError, ErrorBody{Error: drsorch.CodeInternal, Message: "internal error", Retryable: true}
	}
	b := ErrorBody{Error: e.Code, Message: e.Message, Details: e.Details, RetryAfter: e.RetryAfter}
	switch {
	case drsorch.IsDRSCode(e.Code):
		b.Error, b.Retryable = drsorch.CodeDRS, true
		if e.Code != drsorch.CodeDRS {
			d := make(map[string]any, len(e.Details)+1)
			for k, v := range e.Details {
				d[k] = v
			}
			if _, taken := d["drsError"]; !taken {
				d["drsError"] = e.Code
			}
			b.Details = d
		}
	case e.Code == drsorch.CodeWorkflow:
		b.Retryable = true
	}
	if b.RetryAfter > 0 {
		b.Retryable = true
	}
	return status, b
}

// writeError writes err as the API's error body, logging internal causes.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, body := ErrorResponse(err)
	if status >= http.StatusInternalServerError {
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "error", err)
	}
	if body.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(body.RetryAfter))
	}
	a.writeJSON(w, r, status, body)
}

// logWriteFailure records a response that could not be written.
func logWriteFailure(log *slog.Logger, r *http.Request, err error) {
	log.Warn("writing the response failed", "method", r.Method, "path", r.URL.Path, "error", err)
}
