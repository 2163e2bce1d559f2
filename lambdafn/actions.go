package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/drsorch/drsorch"
)

// The workflow's actions.
const (
	ActionStartWave    = "start_wave_recovery"
	ActionUpdateStatus = "update_wave_completion_status"
	ActionAdvance      = "advance"
	ActionAwait        = "await"
	ActionFail         = "fail_execution"
)

// SupportedActions lists the actions, as UNKNOWN_ACTION reports them.
var SupportedActions = []string{ActionStartWave, ActionUpdateStatus, ActionAdvance, ActionAwait, ActionFail}

// action routes {"action": NAME, …}: the replaced state machine's two
// actions, and advance/await/fail_execution of drsorch's own.
func (r *Router) action(ctx context.Context, ev object, inv *invocation) (any, error) {
	name, _ := ev.str("action")
	if name == "" {
		name = text(ev.get("action"))
	}
	inv.name = "(unknown)"
	if slices.Contains(SupportedActions, name) {
		inv.name = name
	}
	p := params(ev.values)
	if id, err := p.str("executionId"); err == nil {
		inv.setExecution(id)
	}
	ctx = drsorch.WithCaller(ctx, WorkflowCaller)
	switch name {
	case ActionStartWave:
		return r.startWave(ctx, ev, inv)
	case ActionUpdateStatus:
		return r.updateStatus(ctx, ev, inv)
	case ActionAdvance:
		id, err := p.id("executionId", false)
		if err != nil {
			return nil, err
		}
		e, err := r.cfg.Engine(ctx)
		if err != nil {
			return nil, err
		}
		return e.Advance(ctx, id)
	case ActionAwait:
		id, err := p.id("executionId", false)
		if err != nil {
			return nil, err
		}
		kind, err := p.required("kind")
		if err != nil {
			return nil, err
		}
		if kind != drsorch.AwaitWave && kind != drsorch.AwaitResume {
			return nil, invalidParam("kind", "must be %q or %q, got %q", drsorch.AwaitWave, drsorch.AwaitResume, clip(kind))
		}
		token, err := p.required("taskToken")
		if err != nil {
			return nil, err
		}
		e, err := r.cfg.Engine(ctx)
		if err != nil {
			return nil, err
		}
		if err := e.RegisterToken(ctx, id, token, kind); err != nil {
			return nil, err
		}
		return json.RawMessage(`{}`), nil
	case ActionFail:
		id, err := p.id("executionId", false)
		if err != nil {
			return nil, err
		}
		code, cause, err := failure(p)
		if err != nil {
			return nil, err
		}
		e, err := r.cfg.Engine(ctx)
		if err != nil {
			return nil, err
		}
		x, err := e.MarkFailed(ctx, id, code, cause)
		if err != nil {
			return nil, err
		}
		return map[string]any{"executionId": x.ExecutionID, "planId": x.PlanID, "status": x.Status}, nil
	}
	err := drsorch.Errorf(drsorch.CodeUnknownAction, "Unknown action: %s", name)
	return wrapped(bodyWith(err, map[string]any{"supportedActions": SupportedActions}), statusOf(err)), nil
}

// failure reads error and cause: strings, or the {"Error","Cause"} object a
// Step Functions Catch puts in its ResultPath.
func failure(p params) (code, cause string, err error) {
	if p.present("error") && kind(p["error"]) == '{' {
		var c struct{ Error, Cause string }
		if _, err := p.decode("error", &c); err != nil {
			return "", "", err
		}
		code, cause = c.Error, c.Cause
	} else if code, err = p.str("error"); err != nil {
		return "", "", err
	}
	if p.present("cause") {
		if cause, err = p.str("cause"); err != nil {
			return "", "", err
		}
	}
	return code, cause, nil
}

// wrapped is the API Gateway envelope the replaced system returned for an action's refusal.
func wrapped(body any, status int) envelope {
	b, _ := marshal(body)
	return envelope{StatusCode: status, Headers: referenceHeaders("application/json"), Body: string(b)}
}

// updateStatus is update_wave_completion_status. The engine alone writes an
// execution's status, so the call writes nothing: given the workflow's state
// it returns that state unchanged (the replaced system dropped it, which broke
// its own state machine); without one it reports the stored status.
func (r *Router) updateStatus(ctx context.Context, ev object, inv *invocation) (any, error) {
	if st := ev.get("state"); st != nil && kind(st) == '{' {
		return st, nil
	}
	p := params(ev.values)
	id, _ := p.str("execution_id")
	plan, _ := p.str("plan_id")
	status, _ := p.str("status")
	if id == "" || plan == "" || status == "" {
		err := drsorch.Errorf(drsorch.CodeMissingParameters, "execution_id, plan_id, and status are required")
		return wrapped(errorBody(err), statusOf(err)), nil
	}
	inv.setExecution(id)
	q := params{"executionId": p["execution_id"], "planId": p["plan_id"]}
	if err := checkLifecycle(q); err != nil {
		return wrapped(errorBody(err), statusOf(err)), nil
	}
	e, err := r.cfg.Engine(ctx)
	if err != nil {
		return nil, err
	}
	v, err := lookup(ctx, e, q)
	if err != nil {
		if mustRaise(err) {
			return nil, err
		}
		return lifecycleError(err), nil
	}
	return struct {
		StatusCode  int                     `json:"statusCode"`
		Message     string                  `json:"message"`
		ExecutionID string                  `json:"executionId"`
		PlanID      string                  `json:"planId"`
		Status      drsorch.ExecutionStatus `json:"status"`
	}{200, fmt.Sprintf("Execution %s status is %s (drsorch's engine decides the status; %s was not written)", v.ExecutionID, v.Status, clip(status)),
		v.ExecutionID, v.PlanID, v.Status}, nil
}

// startWave is start_wave_recovery: it starts wave wave_number of
// state.execution_id (idempotently: a started wave is reported as it is) and
// returns the state with the wave's job, as the replaced system did. A failure
// that retrying cannot fix marks the state failed; one it can fails the invocation.
func (r *Router) startWave(ctx context.Context, ev object, inv *invocation) (any, error) {
	st := object{values: map[string]json.RawMessage{}}
	if v := ev.get("state"); v != nil && kind(v) != 'n' {
		var ok bool
		if st, ok = decodeObject(v); !ok {
			return nil, invalidParam("state", "must be an object")
		}
	}
	state := stateBuilder{st}
	number := 0
	if v := ev.get("wave_number"); v != nil && kind(v) != 'n' {
		n, err := params{"wave_number": v}.integer("wave_number")
		if err != nil || n < 0 {
			return state.failed("wave_number must be a non-negative integer"), nil
		}
		number = int(n)
	}
	id, ok := st.str("execution_id")
	if !ok || id == "" {
		return state.failed("state.execution_id is required"), nil
	}
	if !drsorch.ValidRecordID(id) {
		return state.failed(fmt.Sprintf("state.execution_id %q is not an execution id", clip(id))), nil
	}
	inv.setExecution(id)
	waveNumber := number
	if waves, ok := st.values["waves"]; ok {
		var list []struct {
			WaveNumber *int `json:"waveNumber"`
		}
		if json.Unmarshal(waves, &list) == nil && number < len(list) && list[number].WaveNumber != nil {
			waveNumber = *list[number].WaveNumber
		}
	}
	e, err := r.cfg.Engine(ctx)
	if err != nil {
		return nil, err
	}
	x, err := e.StartWave(ctx, id, waveNumber)
	if err != nil {
		if mustRaise(err) {
			return nil, err
		}
		return state.failed(drsorch.AsError(err).Message), nil
	}
	w := x.Wave(waveNumber)
	switch {
	case w == nil:
		return state.failed(fmt.Sprintf("wave %d is not a wave of execution %s", waveNumber, id)), nil
	case w.Status.Canonical() == drsorch.WavePending:
		if s := x.Status.Canonical(); s == drsorch.ExecutionRunning || s == drsorch.ExecutionPending {
			return nil, &Error{Type: TypeRetryable, Message: fmt.Sprintf("WAVE_NOT_STARTED: wave %d of execution %s could not be started yet (execution %s); try again", waveNumber, id, x.Status)}
		}
		return state.failed(fmt.Sprintf("Execution %s is %s; wave %d was not started", id, x.Status, waveNumber)), nil
	case w.Status.Canonical() == drsorch.WaveFailed && w.JobID == "":
		return state.failed(firstNonEmpty(w.StatusMessage, fmt.Sprintf("Wave %d failed to start", waveNumber))), nil
	case w.JobID == "" && allServersEnded(w):
		msg := "Failed to start DRS recovery (no error details)"
		for _, s := range w.ServerStatuses {
			if s.Error != "" {
				msg = s.Error
				break
			}
		}
		return state.failed(msg), nil
	}
	return state.started(number, w), nil
}

func allServersEnded(w *drsorch.ExecutionWave) bool {
	for _, s := range w.ServerStatuses {
		if !s.LaunchStatus.Terminal() {
			return false
		}
	}
	return len(w.ServerStatuses) > 0
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// waveResult is a wave in the state's wave_results (orchestration §2.2).
type waveResult struct {
	WaveNumber     int                    `json:"waveNumber"`
	WaveName       string                 `json:"waveName"`
	Status         drsorch.WaveStatus     `json:"status"`
	JobID          any                    `json:"jobId"`
	StartTime      int64                  `json:"startTime"`
	ServerIDs      []string               `json:"serverIds"`
	Region         any                    `json:"region"`
	ServerStatuses []drsorch.ServerStatus `json:"serverStatuses"`
}

// stateBuilder changes the workflow's snake_case state, keeping every other field as given.
type stateBuilder struct{ object }

func (s stateBuilder) set(k string, v any) {
	b, err := marshal(v)
	if err != nil {
		b = json.RawMessage("null")
	}
	s.values[k] = b
}

func (s stateBuilder) result() map[string]json.RawMessage { return s.values }

// failed marks the state as the replaced system did on any failure.
func (s stateBuilder) failed(msg string) map[string]json.RawMessage {
	s.set("wave_completed", true)
	s.set("status", "failed")
	s.set("error", msg)
	return s.result()
}

// started records the wave's job in the state: the current wave, its job,
// region and servers, and its result in wave_results (replaced if present).
func (s stateBuilder) started(index int, w *drsorch.ExecutionWave) map[string]json.RawMessage {
	ids := w.ServerIDs
	if len(w.ServerStatuses) > 0 {
		ids = make([]string, 0, len(w.ServerStatuses))
		for _, ss := range w.ServerStatuses {
			ids = append(ids, ss.SourceServerID)
		}
	}
	if ids == nil {
		ids = []string{}
	}
	var job, region any
	if w.JobID != "" {
		job = w.JobID
	}
	if w.Region != "" {
		region = w.Region
	}
	statuses := w.ServerStatuses
	if statuses == nil {
		statuses = []drsorch.ServerStatus{}
	}
	result := waveResult{WaveNumber: w.WaveNumber, WaveName: w.WaveName, Status: w.Status, JobID: job,
		StartTime: w.StartTime, ServerIDs: ids, Region: region, ServerStatuses: statuses}
	var results []json.RawMessage
	if v, ok := s.values["wave_results"]; ok {
		_ = json.Unmarshal(v, &results)
	}
	replaced := false
	for i, rv := range results {
		var r struct {
			WaveNumber *int `json:"waveNumber"`
		}
		if json.Unmarshal(rv, &r) == nil && r.WaveNumber != nil && *r.WaveNumber == w.WaveNumber {
			results[i], _ = marshal(result)
			replaced = true
		}
	}
	if !replaced {
		b, _ := marshal(result)
		results = append(results, b)
	}
	s.set("current_wave_number", index)
	s.set("job_id", job)
	s.set("region", region)
	s.set("server_ids", ids)
	s.set("wave_completed", false)
	s.set("current_wave_total_wait_time", 0)
	s.set("wave_results", results)
	return s.result()
}
