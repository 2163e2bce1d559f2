package lambdafn

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/drsorch/drsorch/auth"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/drsorch/drsorch"
)

// isAPIGateway reports rule 1: requestContext with httpMethod (REST) or
// requestContext.http.method (HTTP API, function URL). httpMethod without
// requestContext is not API Gateway.
func isAPIGateway(ev object) bool {
	rc, ok := ev.object("requestContext")
	if !ok {
		return false
	}
	if m, ok := ev.str("httpMethod"); ok && m != "" {
		return true
	}
	if h, ok := rc.object("http"); ok {
		if m, ok := h.str("method"); ok && m != "" {
			return true
		}
	}
	return false
}

// apiEvent is the part of an API Gateway REST (v1) or HTTP API (v2) event the router reads.
type apiEvent struct {
	Version                         string              `json:"version"`
	HTTPMethod                      string              `json:"httpMethod"`
	Path                            string              `json:"path"`
	RawPath                         string              `json:"rawPath"`
	RawQueryString                  string              `json:"rawQueryString"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	Cookies                         []string            `json:"cookies"`
	Body                            *string             `json:"body"`
	IsBase64Encoded                 bool                `json:"isBase64Encoded"`
	RequestContext                  struct {
		Stage     string `json:"stage"`
		RequestID string `json:"requestId"`
		HTTP      *struct {
			Method   string `json:"method"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
		Identity struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"`
		Authorizer struct {
			Claims map[string]any `json:"claims"`
			JWT    struct {
				Claims map[string]any `json:"claims"`
			} `json:"jwt"`
		} `json:"authorizer"`
	} `json:"requestContext"`
}

type claimsKey struct{}

// Claims are the token claims API Gateway's authorizer verified, as the event carries them.
type Claims map[string]any

// ClaimsFrom returns the claims carried by a request's context, nil when there are none.
func ClaimsFrom(ctx context.Context) Claims {
	c, _ := ctx.Value(claimsKey{}).(Claims)
	return c
}

// ClaimsAuthenticator authenticates requests made from API Gateway events by
// the claims its authorizer already verified (Cognito): the token itself is
// not checked again. It satisfies httpapi's Authenticator.
type ClaimsAuthenticator struct{}

// Authenticate returns the caller named by the verified claims.
func (ClaimsAuthenticator) Authenticate(r *http.Request) (drsorch.Caller, error) {
	c := ClaimsFrom(r.Context())
	if c == nil {
		return drsorch.Caller{}, drsorch.Errorf(drsorch.CodeUnauthorized, "No verified identity: the route needs a Cognito authorizer in API Gateway")
	}
	caller := drsorch.Caller{Subject: c.str("sub"), Email: c.str("email"), Username: c.str("cognito:username")}
	if caller.Username == "" {
		caller.Username = c.str("username")
	}
	caller.Groups = auth.GroupsOf(c["cognito:groups"])
	if caller.Subject == "" && caller.Email == "" && caller.Username == "" {
		return drsorch.Caller{}, drsorch.Errorf(drsorch.CodeUnauthorized, "The verified claims name no user (sub, email or cognito:username)")
	}
	return caller, nil
}

func (c Claims) str(k string) string {
	s, _ := c[k].(string)
	return strings.TrimSpace(s)
}

// serveHTTP answers an API Gateway event with the HTTP API, in the envelope.
func (r *Router) serveHTTP(ctx context.Context, event []byte, inv *invocation) (any, error) {
	var a apiEvent
	if err := json.Unmarshal(event, &a); err != nil {
		return errorEnvelope(drsorch.Errorf(drsorch.CodeInvalidParameter, "Malformed API Gateway event")), nil
	}
	req, err := a.request(ctx)
	if err != nil {
		return errorEnvelope(err), nil
	}
	inv.name = clip(req.Method + " " + req.URL.Path)
	if r.cfg.HTTP == nil {
		return errorEnvelope(drsorch.Errorf(drsorch.CodeInternal, "This build of drsorch has no HTTP API")), nil
	}
	h, err := r.cfg.HTTP(ctx)
	if err != nil {
		r.log.Error("building the HTTP API failed", "error", err)
		return errorEnvelope(drsorch.Errorf(drsorch.CodeInternal, "The service is not available: %s", drsorch.AsError(err).Message)), nil
	}
	w := newRecorder()
	h.ServeHTTP(w, req)
	return w.envelope(), nil
}

// request rebuilds the HTTP request of the event, its verified claims in the context.
func (a *apiEvent) request(ctx context.Context) (*http.Request, error) {
	method, path, query := a.HTTPMethod, a.Path, ""
	if a.RequestContext.HTTP != nil && a.RequestContext.HTTP.Method != "" {
		method = a.RequestContext.HTTP.Method
		path = a.RawPath
		// HTTP APIs put a named stage in rawPath; routes do not have it.
		if st := a.RequestContext.Stage; st != "" && st != "$default" {
			if rest, ok := strings.CutPrefix(path, "/"+st); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
				path = rest
			}
		}
		query = a.RawQueryString
	} else {
		q := url.Values{}
		if len(a.MultiValueQueryStringParameters) > 0 {
			for k, vs := range a.MultiValueQueryStringParameters {
				q[k] = append(q[k], vs...)
			}
		} else {
			for k, v := range a.QueryStringParameters {
				q.Set(k, v)
			}
		}
		query = q.Encode()
	}
	if path == "" {
		path = "/"
	}
	var body []byte
	if a.Body != nil {
		body = []byte(*a.Body)
		if a.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*a.Body)
			if err != nil {
				return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "The body is marked base64 but does not decode")
			}
			body = b
		}
	}
	u := &url.URL{Path: path, RawQuery: query}
	if ctx == nil {
		ctx = context.Background()
	}
	if c := a.RequestContext.Authorizer.JWT.Claims; len(c) > 0 {
		ctx = context.WithValue(ctx, claimsKey{}, Claims(c))
	} else if c := a.RequestContext.Authorizer.Claims; len(c) > 0 {
		ctx = context.WithValue(ctx, claimsKey{}, Claims(c))
	}
	req, err := http.NewRequestWithContext(ctx, strings.ToUpper(method), u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "The request line is malformed: %s %s", clip(method), clip(path))
	}
	req.URL.Path = path
	req.RequestURI = u.RequestURI()
	if len(a.MultiValueHeaders) > 0 {
		for k, vs := range a.MultiValueHeaders {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	} else {
		for k, v := range a.Headers {
			req.Header.Set(k, v)
		}
	}
	if len(a.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(a.Cookies, "; "))
	}
	req.Host = req.Header.Get("Host")
	req.Header.Del("Host")
	req.ContentLength = int64(len(body))
	if ip := firstNonEmpty(a.RequestContext.Identity.SourceIP, sourceIP(a)); ip != "" {
		req.RemoteAddr = ip + ":0"
	}
	return req, nil
}

func sourceIP(a *apiEvent) string {
	if a.RequestContext.HTTP != nil {
		return a.RequestContext.HTTP.SourceIP
	}
	return ""
}

// recorder captures the HTTP API's response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

// Header returns the response headers.
func (w *recorder) Header() http.Header { return w.header }

// WriteHeader records the status; only the first call counts.
func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

// Write appends to the body, with status 200 unless one was written.
func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// envelope is the API Gateway proxy response: {statusCode, headers, body}.
type envelope struct {
	StatusCode      int     `json:"statusCode"`
	Headers         headers `json:"headers"`
	Body            string  `json:"body"`
	IsBase64Encoded bool    `json:"isBase64Encoded,omitempty"`
}

// header is one response header.
type header struct{ name, value string }

// headers keep their order when encoded.
type headers []header

// MarshalJSON encodes the headers as an object in their order.
func (h headers) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range h {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := marshal(x.name)
		v, _ := marshal(x.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// referenceHeaders are the fixed headers of every JSON response of the
// replaced system, in its order (reference §3.1).
func referenceHeaders(contentType string) headers {
	return headers{
		{"Content-Type", contentType},
		{"Access-Control-Allow-Origin", "*"},
		{"Access-Control-Allow-Headers", "Content-Type,Authorization"},
		{"Access-Control-Allow-Methods", "GET,POST,PUT,DELETE,OPTIONS"},
		{"X-Content-Type-Options", "nosniff"},
		{"X-Frame-Options", "DENY"},
	}
}

// envelope builds the response: a JSON answer gets exactly the reference's
// headers (then any other header the API set, such as Retry-After); another
// content type (the callback's HTML page) keeps the API's own headers.
func (w *recorder) envelope() envelope {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	ct := w.header.Get("Content-Type")
	var out headers
	skip := map[string]bool{}
	isJSON := ct == "" || strings.HasPrefix(strings.ToLower(ct), "application/json")
	if isJSON {
		out = referenceHeaders("application/json")
		for _, h := range out {
			skip[http.CanonicalHeaderKey(h.name)] = true
		}
	} else {
		out = headers{{"Content-Type", ct}}
		skip["Content-Type"] = true
	}
	var names []string
	for k := range w.header {
		if !skip[http.CanonicalHeaderKey(k)] && k != "Content-Length" {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		out = append(out, header{k, strings.Join(w.header[k], ", ")})
	}
	e := envelope{StatusCode: status, Headers: out}
	body := w.body.Bytes()
	if isJSON { // the body is the document alone, as the replaced system's json.dumps wrote it
		body = bytes.TrimSuffix(body, []byte("\n"))
	}
	if utf8.Valid(body) {
		e.Body = string(body)
	} else {
		e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return e
}

// errorEnvelope answers an API Gateway event the router could not hand to the HTTP API.
func errorEnvelope(err error) envelope {
	b, _ := marshal(errorBody(err))
	return envelope{StatusCode: statusOf(err), Headers: referenceHeaders("application/json"), Body: string(b)}
}
