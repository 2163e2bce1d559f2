package httpapi

import (
	"fmt"
	"html"
	"net/http"
)

// callback serves GET /execution-callback?action=resume|cancel&taskToken=…, the
// links of pause notifications. It needs no login (the token is the
// credential) and answers with a small HTML page.
func (a *api) callback(w http.ResponseWriter, r *http.Request) {
	token, _ := rawQueryValue(r.URL.RawQuery, "taskToken")
	msg, err := a.e.Callback(r.Context(), r.URL.Query().Get("action"), token)
	status, title := http.StatusOK, "Done"
	if err != nil {
		var body ErrorBody
		status, body = ErrorResponse(err)
		msg, title = body.Message, "Request failed"
		if status >= http.StatusInternalServerError {
			a.log.Error("callback failed", "error", err)
			msg = "Internal error"
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
