// Package httpapi is drsorch's REST API on net/http: the execution routes of
// the replaced system (with its defects fixed), protection-group and
// recovery-plan CRUD, and /health. It is thin: each handler decodes the
// request, calls the engine and encodes the result. The same handler serves
// `drsorch serve` and, through the Lambda router, API Gateway.
package httpapi

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
)

// Authenticator identifies the caller of a request. Errors should be
// UNAUTHORIZED (or FORBIDDEN) drsorch errors saying what is missing or wrong.
type Authenticator interface {
	Authenticate(r *http.Request) (drsorch.Caller, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (drsorch.Caller, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(r *http.Request) (drsorch.Caller, error) { return f(r) }

// DefaultMaxBodyBytes is the default limit of a request body (1 MiB).
const DefaultMaxBodyBytes = 1 << 20

// Options configures the handler.
type Options struct {
	// Auth authenticates every route but GET /health, GET /execution-callback
	// and OPTIONS. With a nil Auth those routes answer 401.
	Auth Authenticator
	// Logger receives one line per request and the causes of internal errors
	// (default: discarded). Bodies and tokens are never logged.
	Logger *slog.Logger
	// MaxBodyBytes limits request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// PageKey signs the nextToken of GET /executions (at least 32 bytes;
	// default: a random key, so tokens work only for this process).
	PageKey []byte
	// CallbackLimit limits GET /execution-callback per client IP (default DefaultCallbackLimit).
	CallbackLimit RateLimit
	// Clock is the rate limiter's time (default: the wall clock).
	Clock drsorch.Clock
}

// The headers of every response (reference §3.1).
var commonHeaders = [][2]string{
	{"Content-Type", "application/json"},
	{"Access-Control-Allow-Origin", "*"},
	{"Access-Control-Allow-Headers", "Content-Type,Authorization"},
	{"Access-Control-Allow-Methods", "GET,POST,PUT,DELETE,OPTIONS"},
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "DENY"},
}

// probeMethods are the methods tried to tell 405 from 404 and to answer preflights.
var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}

type api struct {
	e     *engine.Engine
	o     Options
	log   *slog.Logger
	mux   *http.ServeMux
	pages *PageTokens
	limit *limiter
}

// handler is a JSON route: it returns the status and body to encode, or an error.
type handler func(r *http.Request) (int, any, error)

// New returns the REST API of an engine.
func New(e *engine.Engine, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.Clock == nil {
		o.Clock = drsorch.SystemClock
	}
	a := &api{e: e, o: o, log: o.Logger, mux: http.NewServeMux(), pages: NewPageTokens(o.PageKey),
		limit: newLimiter(o.CallbackLimit, o.Clock)}

	for _, rt := range routeTable {
		pattern := rt.Method + " " + rt.Path
		switch {
		case rt.raw != nil:
			raw := rt.raw
			a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { raw(a, w, r) })
		case rt.Public:
			a.mux.HandleFunc(pattern, a.public(func(r *http.Request) (int, any, error) { return rt.json(a, r) }))
		default:
			a.handle(pattern, func(r *http.Request) (int, any, error) { return rt.json(a, r) })
		}
	}
	return a
}

// Route is one route of the API: a method and a path pattern of net/http's
// ServeMux ({id} is a path segment).
type Route struct {
	Method string
	Path   string
	// Public says the route needs no authenticated caller (GET /health and GET
	// /execution-callback, whose signed token is the credential).
	Public bool
}

// routeTable is every route New registers. Routes exports it, so what is
// deployed in front of the API (API Gateway's methods) can be checked against it.
var routeTable = []struct {
	Route
	json func(*api, *http.Request) (int, any, error)    // a JSON route
	raw  func(*api, http.ResponseWriter, *http.Request) // a public route that writes its own response
}{
	{Route{"GET", "/health", true}, (*api).health, nil},
	{Route{"GET", "/execution-callback", true}, nil, (*api).callback},

	{Route{"POST", "/executions", false}, (*api).startExecution, nil},
	{Route{"GET", "/executions", false}, (*api).listExecutions, nil},
	{Route{"DELETE", "/executions", false}, (*api).deleteExecutionsByQuery, nil},
	{Route{"POST", "/executions/delete", false}, (*api).deleteExecutionsByBody, nil},
	{Route{"DELETE", "/executions/completed", false}, (*api).deleteCompleted, nil},
	{Route{"GET", "/executions/{id}", false}, (*api).getExecution, nil},
	{Route{"GET", "/executions/{id}/realtime", false}, (*api).realtime, nil},
	{Route{"GET", "/executions/{id}/job-logs", false}, (*api).jobLogs, nil},
	{Route{"GET", "/executions/{id}/recovery-instances", false}, (*api).recoveryInstances, nil},
	{Route{"GET", "/executions/{id}/termination-status", false}, (*api).terminationStatus, nil},
	{Route{"GET", "/executions/{id}/report", false}, (*api).report, nil},
	{Route{"POST", "/executions/{id}/cancel", false}, (*api).cancel, nil},
	{Route{"POST", "/executions/{id}/pause", false}, (*api).pause, nil},
	{Route{"POST", "/executions/{id}/resume", false}, (*api).resume, nil},
	{Route{"POST", "/executions/{id}/terminate-instances", false}, (*api).terminate, nil},
	{Route{"POST", "/recovery-plans/{id}/execute", false}, (*api).executePlan, nil},

	{Route{"GET", "/protection-groups", false}, (*api).listGroups, nil},
	{Route{"POST", "/protection-groups", false}, (*api).createGroup, nil},
	{Route{"GET", "/protection-groups/{id}", false}, (*api).getGroup, nil},
	{Route{"PUT", "/protection-groups/{id}", false}, (*api).updateGroup, nil},
	{Route{"DELETE", "/protection-groups/{id}", false}, (*api).deleteGroup, nil},
	{Route{"GET", "/recovery-plans", false}, (*api).listPlans, nil},
	{Route{"POST", "/recovery-plans", false}, (*api).createPlan, nil},
	{Route{"GET", "/recovery-plans/{id}", false}, (*api).getPlan, nil},
	{Route{"PUT", "/recovery-plans/{id}", false}, (*api).updatePlan, nil},
	{Route{"DELETE", "/recovery-plans/{id}", false}, (*api).deletePlan, nil},
}

// Routes returns every route the handler serves, in registration order. Any
// path also answers OPTIONS (CORS preflight) without authentication.
func Routes() []Route {
	out := make([]Route, len(routeTable))
	for i, rt := range routeTable {
		out[i] = rt.Route
	}
	return out
}

// handle registers an authenticated JSON route.
func (a *api) handle(pattern string, h handler) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		c, err := a.authenticate(r)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		if sw, ok := w.(*statusWriter); ok {
			sw.caller = c.Name()
		}
		r = r.WithContext(drsorch.WithCaller(r.Context(), c))
		a.serve(w, r, h)
	})
}

// public wraps a JSON route that needs no authentication.
func (a *api) public(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, h) }
}

func (a *api) serve(w http.ResponseWriter, r *http.Request, h handler) {
	status, body, err := h(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.writeJSON(w, r, status, body)
}

func (a *api) authenticate(r *http.Request) (drsorch.Caller, error) {
	if a.o.Auth == nil {
		return drsorch.Caller{}, drsorch.Errorf(drsorch.CodeUnauthorized, "No authenticator is configured: every request is refused")
	}
	c, err := a.o.Auth.Authenticate(r)
	if err == nil {
		return c, nil
	}
	if drsorch.IsCode(err, drsorch.CodeUnauthorized, drsorch.CodeForbidden) {
		return c, err
	}
	a.log.Warn("authentication failed", "path", r.URL.Path, "error", err)
	return c, drsorch.Errorf(drsorch.CodeUnauthorized, "Authentication failed")
}

// ServeHTTP sets the common headers, answers preflights, 404 and 405, and
// dispatches the rest to the routes.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			a.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
			if !sw.wrote {
				a.writeError(sw, r, fmt.Errorf("panic: %v", p))
			}
		}
		a.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"durationMs", time.Since(start).Milliseconds(), "caller", sw.caller)
	}()
	h := sw.Header()
	for _, kv := range commonHeaders {
		h.Set(kv[0], kv[1])
	}
	if r.Method == http.MethodOptions {
		a.preflight(sw, r)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern != "" {
		a.mux.ServeHTTP(sw, r)
		return
	}
	if _, err := a.authenticate(r); err != nil {
		a.writeError(sw, r, err)
		return
	}
	if allowed := a.allowed(r); len(allowed) > 0 {
		sw.Header().Set("Allow", strings.Join(allowed, ", "))
		a.writeError(sw, r, drsorch.Errorf(drsorch.CodeMethodNotAllowed, "Method %s is not allowed on %s (allowed: %s)",
			r.Method, r.URL.Path, strings.Join(allowed, ", ")))
		return
	}
	a.writeError(sw, r, drsorch.Errorf(drsorch.CodeNotFound, "No handler for %s %s", r.Method, r.URL.Path))
}

// allowed returns the methods that have a route for the request's path.
func (a *api) allowed(r *http.Request) []string {
	var out []string
	for _, m := range probeMethods {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// preflight answers a CORS preflight: 200 with the path's methods, no authentication.
func (a *api) preflight(w http.ResponseWriter, r *http.Request) {
	allowed := a.allowed(r)
	if len(allowed) == 0 {
		a.writeError(w, r, drsorch.Errorf(drsorch.CodeNotFound, "No handler for %s %s", r.Method, r.URL.Path))
		return
	}
	w.Header().Set("Access-Control-Allow-Methods", strings.Join(append(allowed, http.MethodOptions), ","))
	w.WriteHeader(http.StatusOK)
}

// writeJSON encodes body with the status.
func (a *api) writeJSON(w http.ResponseWriter, r *http.Request, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		a.log.Error("encoding a response failed", "method", r.Method, "path", r.URL.Path, "error", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"INTERNAL_ERROR","message":"internal error","retryable":true}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(append(b, '\n')); err != nil {
		logWriteFailure(a.log, r, err)
	}
}

// statusWriter records the status written, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	caller string
}

// WriteHeader records the status and writes it.
func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and writes b.
func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (a *api) health(*http.Request) (int, any, error) {
	return http.StatusOK, map[string]string{"status": "ok"}, nil
}
