// Package lambdafn is the Lambda event router: it takes one invocation's event
// and returns the value the Lambda returns, or a typed Lambda error.
//
// Events are routed in this order, first match wins:
//
//  1. API Gateway: requestContext with httpMethod (REST, v1) or
//     requestContext.http.method (HTTP API v2, function URL) → the HTTP API,
//     answered in the reference's envelope {statusCode, headers, body}.
//  2. worker true → the background half of a start (engine.StartWorkflow).
//  3. action → the workflow's actions (start_wave_recovery,
//     update_wave_completion_status, advance, await, fail_execution).
//  4. operation → direct invocation (handle_direct_invocation): every
//     operation of the HTTP API plus find, poll, finalize.
//  5. source "aws.events" → find (poll every active execution).
//  6. anything else → INVALID_INVOCATION with the keys received.
//
// The router decides nothing about executions: it decodes, calls the engine
// and encodes. Whole events and bodies are never logged.
package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
)

// Reads serves the read operations of direct invocation elsewhere: the
// reference delegates them to the function named by QUERY_HANDLER_FUNCTION_NAME.
type Reads interface {
	// Read invokes the query handler with {"operation","parameters"} and
	// returns its parsed payload.
	Read(ctx context.Context, operation string, parameters map[string]any) (json.RawMessage, error)
}

// Config wires a Router. Engine is required; the others are optional.
type Config struct {
	// Engine returns the engine, building it on first use (nothing heavy at init).
	Engine func(ctx context.Context) (*engine.Engine, error)
	// HTTP returns the handler that serves API Gateway events (the same one as
	// `drsorch serve`); nil means this build has no HTTP API.
	HTTP func(ctx context.Context) (http.Handler, error)
	// Reads, when set, serves list_executions and get_execution by delegation.
	Reads Reads
	// Logger receives one line per invocation; nil discards.
	Logger *slog.Logger
	// PageKey signs the nextToken of list_executions, as httpapi.Options.PageKey
	// does for the HTTP API; use the same key for both (default: random).
	PageKey []byte
}

// Router routes Lambda events. It is safe for concurrent use.
type Router struct {
	cfg   Config
	log   *slog.Logger
	pages *httpapi.PageTokens
}

// New returns a Router.
func New(cfg Config) *Router {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{cfg: cfg, log: log, pages: httpapi.NewPageTokens(cfg.PageKey)}
}

// Callers recorded on the timeline for invocations that carry no user.
var (
	// DirectCaller is the identity of direct invocations: IAM and the
	// function's resource policy decide who may invoke the function.
	DirectCaller = drsorch.Caller{Username: "direct-invocation", System: true}
	// WorkflowCaller is the identity of the workflow's actions, the worker and the schedule.
	WorkflowCaller = drsorch.SystemCaller
)

// invocation is what one event is, for the log line. It holds only names
// the router knows and ids that are valid ids: never a value from the event as such.
type invocation struct {
	route, name, executionID string
	// cause is the internal cause of a failure to retry (a store or AWS
	// error), for the operator; input errors are not logged, they quote the event.
	cause string
}

// setExecution records an execution id for the log, if it is a valid id.
func (inv *invocation) setExecution(id string) {
	if drsorch.ValidRecordID(id) {
		inv.executionID = id
	}
}

// Handle runs one event and returns the Lambda's return value. A non-nil error
// is an *Error: the invocation fails with that errorType and errorMessage.
func (r *Router) Handle(ctx context.Context, event []byte) (out json.RawMessage, err error) {
	start := time.Now()
	inv := invocation{route: "invalid"}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic while handling an event", "route", inv.route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = nil, &Error{Type: TypeRetryable, Message: drsorch.CodeInternal + ": internal error"}
		}
		attrs := []any{"route", inv.route, "ms", time.Since(start).Milliseconds()}
		if inv.name != "" {
			attrs = append(attrs, "name", inv.name)
		}
		if inv.executionID != "" {
			attrs = append(attrs, "executionId", inv.executionID)
		}
		if err != nil {
			attrs = append(attrs, "errorType", err.(*Error).Type)
			if inv.cause != "" {
				attrs = append(attrs, "cause", inv.cause)
			}
			r.log.Warn("invocation failed", attrs...)
			return
		}
		r.log.Info("invocation", attrs...)
	}()
	v, err := r.route(ctx, event, &inv)
	if err != nil {
		if mustRaise(err) {
			inv.cause = err.Error()
		}
		return nil, lambdaError(err)
	}
	if raw, ok := v.(json.RawMessage); ok {
		var buf bytes.Buffer
		if cerr := json.Compact(&buf, raw); cerr != nil {
			return nil, lambdaError(drsorch.Wrap(drsorch.CodeInternal, cerr, "the response is not JSON"))
		}
		return buf.Bytes(), nil
	}
	b, merr := marshal(v)
	if merr != nil {
		return nil, lambdaError(drsorch.Wrap(drsorch.CodeInternal, merr, "the response does not encode"))
	}
	return b, nil
}

// marshal encodes v without HTML escaping, as the reference's json.dumps does.
func marshal(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func (r *Router) route(ctx context.Context, event []byte, inv *invocation) (any, error) {
	ev, ok := decodeObject(event)
	if !ok {
		return invalidInvocation(nil, false), nil
	}
	if isAPIGateway(ev) {
		inv.route = "apigateway"
		return r.serveHTTP(ctx, event, inv)
	}
	if truthy(ev.get("worker")) {
		inv.route = "worker"
		return r.worker(ctx, ev, inv)
	}
	if truthy(ev.get("action")) {
		inv.route = "action"
		return r.action(ctx, ev, inv)
	}
	if ev.has("operation") {
		inv.route = "operation"
		return r.direct(ctx, ev, inv)
	}
	if s, _ := ev.str("source"); s == "aws.events" {
		inv.route, inv.name = "schedule", "find"
		return r.find(ctx)
	}
	return invalidInvocation(ev.keys, true), nil
}

// invalidInvocation is the answer to an event no rule matches.
func invalidInvocation(keys []string, isObject bool) map[string]any {
	body := map[string]any{
		"error":   drsorch.CodeInvalidInvocation,
		"message": "Event must contain 'requestContext', 'worker', 'action', 'operation', or 'source'",
	}
	if !isObject {
		body["receivedKeys"] = "not a dict"
	} else {
		if keys == nil {
			keys = []string{}
		}
		body["receivedKeys"] = keys
	}
	return body
}

// find polls every active execution within the invocation's deadline.
func (r *Router) find(ctx context.Context) (any, error) {
	e, err := r.cfg.Engine(ctx)
	if err != nil {
		return nil, err
	}
	res, err := e.PollActive(drsorch.WithCaller(ctx, WorkflowCaller))
	if err != nil {
		if mustRaise(err) {
			return nil, err
		}
		return lifecycleError(err), nil
	}
	return res, nil
}
