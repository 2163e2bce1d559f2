package httpapi

import (
	"fmt"
	"html"
	"math"
	"net/http"
	"strconv"

	"github.com/drsorch/drsorch"
)

// callback serves GET /execution-callback?action=resume|cancel&taskToken=…, the
// links of pause notifications. It needs no login (the token is the
// credential, checked by the engine in constant time, good for one use) and
// answers with a small HTML page. It is rate limited per client IP, so
// tokens cannot be guessed at speed: over the limit it answers 429.
func (a *api) callback(w http.ResponseWriter, r *http.Request) {
	var msg string
	var err error
	if ok, wait := a.limit.allow(clientKey(r)); !ok {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		err = &drsorch.Error{Code: drsorch.CodeTooManyRequests, RetryAfter: secs,
			Message: fmt.Sprintf("Too many requests from your address: try again in %d seconds.", secs)}
	} else {
		token, _ := rawQueryValue(r.URL.RawQuery, "taskToken")
		msg, err = a.e.Callback(r.Context(), r.URL.Query().Get("action"), token)
	}
	status, title := http.StatusOK, "Done"
	if err != nil {
		var body ErrorBody
		status, body = ErrorResponse(err)
		msg, title = body.Message, "Request failed"
		if status >= http.StatusInternalServerError {
			a.log.Error("callback failed", "error", err)
			msg = "Internal error"
		}
		if body.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(body.RetryAfter))
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, werr := fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>drsorch: %s</title></head>"+
		"<body><h1>%s</h1><p>%s</p></body></html>\n", html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
	if werr != nil {
		logWriteFailure(a.log, r, werr)
	}
}
