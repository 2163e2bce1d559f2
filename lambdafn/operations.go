package lambdafn

import (
	"context"
	"strings"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
)

// operation is one operation of direct invocation.
type operation struct {
	// read operations are delegated to the query handler when one is configured.
	read bool
	// lifecycle operations (find, poll, finalize) carry statusCode at the top level.
	lifecycle bool
	// canonical is the name a delegated read is sent under ("" = its own name).
	canonical string
	// paged operations take and give nextToken, sealed as the HTTP API seals it.
	paged bool
	// check validates the parameters without side effects; run does the work.
	check func(p params) error
	run   func(ctx context.Context, e *engine.Engine, p params) (any, error)
}

// OperationNames lists the operations of direct invocation, as INVALID_OPERATION reports them.
var OperationNames = []string{
	"start_execution", "cancel_execution", "pause_execution", "resume_execution",
	"terminate_instances", "get_recovery_instances", "list_executions",
	"get_execution", "get_execution_details", "get_execution_realtime",
	"get_job_logs", "get_termination_status", "delete_executions",
	"delete_completed_executions", "find", "poll", "finalize", "pause", "resume",
}

var operations map[string]operation

func init() {
	byID := func(run func(ctx context.Context, e *engine.Engine, id string, p params) (any, error), arn bool) operation {
		return operation{
			check: func(p params) error { _, err := p.id("executionId", arn); return err },
			run: func(ctx context.Context, e *engine.Engine, p params) (any, error) {
				id, _ := p.id("executionId", arn)
				return run(ctx, e, id, p)
			},
		}
	}
	pause := byID(func(ctx context.Context, e *engine.Engine, id string, _ params) (any, error) { return e.Pause(ctx, id) }, false)
	resume := byID(func(ctx context.Context, e *engine.Engine, id string, _ params) (any, error) {
		return e.Resume(ctx, id)
	}, false)
	get := byID(func(ctx context.Context, e *engine.Engine, id string, _ params) (any, error) { return e.Get(ctx, id) }, true)
	get.read, get.canonical = true, "get_execution"

	operations = map[string]operation{
		"start_execution": {check: checkStart, run: startExecution},
		"cancel_execution": withCheck(byID(func(ctx context.Context, e *engine.Engine, id string, p params) (any, error) {
			reason, _ := p.str("reason")
			return e.Cancel(ctx, id, reason)
		}, false), func(p params) error { _, err := p.str("reason"); return err }),
		"pause_execution":  pause,
		"pause":            withCheck(pause, func(p params) error { _, err := p.str("reason"); return err }),
		"resume_execution": resume,
		"resume":           resume,
		"terminate_instances": withCheck(byID(func(ctx context.Context, e *engine.Engine, id string, p params) (any, error) {
			force, _ := p.boolean("force")
			return e.Terminate(ctx, id, force)
		}, false), func(p params) error { _, err := p.boolean("force"); return err }),
		"get_recovery_instances": byID(func(ctx context.Context, e *engine.Engine, id string, _ params) (any, error) {
			return e.RecoveryInstances(ctx, id)
		}, false),
		"list_executions":       {read: true, paged: true, check: checkList, run: listExecutions},
		"get_execution":         get,
		"get_execution_details": get,
		"get_execution_realtime": byID(func(ctx context.Context, e *engine.Engine, id string, _ params) (any, error) {
			return e.Realtime(ctx, id)
		}, true),
		"get_job_logs": withCheck(byID(func(ctx context.Context, e *engine.Engine, id string, p params) (any, error) {
			job, _ := p.str("jobId")
			return e.JobLogs(ctx, id, job)
		}, false), checkJobID),
		"get_termination_status": withCheck(byID(func(ctx context.Context, e *engine.Engine, id string, p params) (any, error) {
			jobs, _ := p.list("jobIds")
			region, _ := p.str("region")
			return e.TerminationStatus(ctx, id, jobs, region)
		}, false), checkTermination),
		"delete_executions": {check: checkDelete, run: func(ctx context.Context, e *engine.Engine, p params) (any, error) {
			ids, _ := p.list("executionIds")
			return e.Delete(ctx, ids)
		}},
		"delete_completed_executions": {check: func(params) error { return nil }, run: func(ctx context.Context, e *engine.Engine, _ params) (any, error) {
			return e.DeleteCompleted(ctx)
		}},
		"find": {lifecycle: true, check: func(params) error { return nil }, run: func(ctx context.Context, e *engine.Engine, _ params) (any, error) {
			return e.PollActive(ctx)
		}},
		"poll":     {lifecycle: true, check: checkLifecycle, run: poll},
		"finalize": {lifecycle: true, check: checkLifecycle, run: finalize},
	}
}

func withCheck(op operation, extra func(p params) error) operation {
	base := op.check
	op.check = func(p params) error {
		if err := base(p); err != nil {
			return err
		}
		return extra(p)
	}
	return op
}

// direct is handle_direct_invocation: {"operation": NAME, "parameters": {…}},
// parameters also accepted at the top level ("parameters" wins on a clash).
func (r *Router) direct(ctx context.Context, ev object, inv *invocation) (any, error) {
	name, ok := ev.str("operation")
	if !ok || name == "" {
		return map[string]any{"error": drsorch.CodeInvalidEventFormat, "message": "Event must contain 'operation' field"}, nil
	}
	op, known := operations[name]
	inv.name = "(unknown)"
	if known {
		inv.name = name
	}
	if !known {
		return errorBody(drsorch.Errorf(drsorch.CodeInvalidOperation, "Unknown operation: %s", name).
			WithDetails(map[string]any{"operation": name, "validOperations": OperationNames})), nil
	}
	fail := func(err error) (any, error) {
		if mustRaise(err) {
			return nil, err
		}
		if op.lifecycle {
			return lifecycleError(err), nil
		}
		return errorBody(err), nil
	}
	p := params{}
	for k, v := range ev.values {
		if k != "operation" && k != "parameters" {
			p[k] = v
		}
	}
	if v := ev.get("parameters"); v != nil && kind(v) != 'n' {
		nested, ok := decodeObject(v)
		if !ok {
			return fail(invalidParam("parameters", "must be an object"))
		}
		for k, v := range nested.values {
			p[k] = v
		}
	}
	if id, err := p.str("executionId"); err == nil {
		inv.setExecution(id)
	}
	if err := op.check(p); err != nil {
		return fail(err)
	}
	if op.read && r.cfg.Reads != nil {
		sent := name
		if op.canonical != "" {
			sent = op.canonical
		}
		out, err := r.cfg.Reads.Read(ctx, sent, p.plain())
		if err != nil {
			return map[string]any{"error": "DELEGATION_FAILED", "message": drsorch.AsError(err).Message, "operation": name}, nil
		}
		return out, nil
	}
	e, err := r.cfg.Engine(ctx)
	if err != nil {
		return nil, err
	}
	caller := DirectCaller
	if op.lifecycle {
		caller = WorkflowCaller
	}
	if op.paged && p.present("nextToken") {
		tok, _ := p.str("nextToken")
		raw, err := r.pages.Open(tok)
		if err != nil {
			return fail(err)
		}
		p["nextToken"], _ = marshal(raw)
	}
	res, err := op.run(drsorch.WithCaller(ctx, caller), e, p)
	if err != nil {
		return fail(err)
	}
	if l, ok := res.(*engine.ListResult); ok && l.NextToken != nil {
		sealed := r.pages.Seal(*l.NextToken)
		l.NextToken = &sealed
	}
	return res, nil
}

func checkStart(p params) error {
	for _, k := range []string{"planId", "executionType", "initiatedBy"} {
		if _, err := p.str(k); err != nil {
			return err
		}
	}
	if s, _ := p.str("planId"); strings.TrimSpace(s) != "" && !drsorch.ValidRecordID(s) {
		return invalidParam("planId", "must be an id of letters, digits, '.', '_' or '-' (at most 128), got %q", clip(s))
	}
	var ac drsorch.AccountContext
	if _, err := p.decode("accountContext", &ac); err != nil {
		return err
	}
	if ac.AccountID != "" && !drsorch.ValidAccountID(ac.AccountID) {
		return invalidParam("accountContext.accountId", "must be a 12-digit account id")
	}
	var rp drsorch.RecoveryPoint
	if _, err := p.decode("recoveryPoint", &rp); err != nil {
		return err
	}
	_, err := p.integer("drillTtlSeconds")
	return err
}

// startExecution is start_execution: the same as POST /executions, in the
// same validation order (the engine's).
func startExecution(ctx context.Context, e *engine.Engine, p params) (any, error) {
	req := engine.StartRequest{}
	req.PlanID, _ = p.str("planId")
	req.ExecutionType, _ = p.str("executionType")
	req.InitiatedBy, _ = p.str("initiatedBy")
	var ac drsorch.AccountContext
	if ok, _ := p.decode("accountContext", &ac); ok {
		req.AccountContext = &ac
	}
	var rp drsorch.RecoveryPoint
	if ok, _ := p.decode("recoveryPoint", &rp); ok {
		req.RecoveryPoint = &rp
	}
	req.DrillTTLSeconds, _ = p.integer("drillTtlSeconds")
	return e.StartExecution(ctx, req)
}

func checkList(p params) error {
	if _, err := p.positiveInt("limit"); err != nil {
		return err
	}
	if _, err := p.str("nextToken"); err != nil {
		return err
	}
	if a, err := p.str("accountId"); err != nil {
		return err
	} else if a != "" && !drsorch.ValidAccountID(a) {
		return invalidParam("accountId", "must be a 12-digit account id")
	}
	_, err := p.optionalID("planId")
	return err
}

func listExecutions(ctx context.Context, e *engine.Engine, p params) (any, error) {
	q := engine.ListQuery{}
	q.Limit, _ = p.positiveInt("limit")
	q.NextToken, _ = p.str("nextToken")
	q.AccountID, _ = p.str("accountId")
	q.PlanID, _ = p.optionalID("planId")
	return e.List(ctx, q)
}

func checkJobID(p params) error {
	j, err := p.str("jobId")
	if err == nil && j != "" && !drsorch.ValidJobID(j) {
		return invalidParam("jobId", "must be a DRS job id (drsjob- and 17 characters)")
	}
	return err
}

func checkTermination(p params) error {
	if _, err := p.list("jobIds"); err != nil {
		return err
	}
	r, err := p.str("region")
	if err == nil && r != "" && !drsorch.ValidRegion(r) {
		return invalidParam("region", "must be an AWS region, got %q", clip(r))
	}
	return err
}

// maxDeleteIDs bounds the ids of one delete_executions, as the HTTP API does.
const maxDeleteIDs = 1000

func checkDelete(p params) error {
	ids, err := p.list("executionIds")
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return drsorch.Errorf(drsorch.CodeMissingParameter, "No execution IDs provided for deletion").
			WithDetails(map[string]any{"parameter": "executionIds"})
	}
	if len(ids) > maxDeleteIDs {
		return invalidParam("executionIds", "holds %d ids; at most %d at a time", len(ids), maxDeleteIDs)
	}
	for _, id := range ids {
		if !drsorch.ValidRecordID(id) {
			return invalidParam("executionIds", "holds %q, which is not an execution id", clip(id))
		}
	}
	return nil
}

// checkLifecycle validates poll and finalize: executionId and planId, the
// record's key in the reference's table.
func checkLifecycle(p params) error {
	for _, k := range []string{"executionId", "planId"} {
		if _, err := p.id(k, false); err != nil {
			if drsorch.IsCode(err, drsorch.CodeMissingParameter) {
				return drsorch.Errorf(drsorch.CodeMissingParameter, "executionId and planId required").
					WithDetails(map[string]any{"parameter": k, "requiredParameters": []string{"executionId", "planId"}})
			}
			return err
		}
	}
	return nil
}

// lookup reads the execution named by executionId and planId; a planId that
// is not the execution's is NOT_FOUND, as the reference's keyed read was.
func lookup(ctx context.Context, e *engine.Engine, p params) (*engine.ExecutionView, error) {
	id, _ := p.id("executionId", false)
	plan, _ := p.id("planId", false)
	v, err := e.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if v.PlanID != plan {
		return nil, drsorch.Errorf(drsorch.CodeNotFound, "Execution with ID %s not found", id).
			WithDetails(map[string]any{"executionId": id, "planId": plan})
	}
	return v, nil
}

// pollResult is the answer of poll (reference §6.6.2).
type pollResult struct {
	StatusCode       int                     `json:"statusCode"`
	ExecutionID      string                  `json:"executionId"`
	Status           drsorch.ExecutionStatus `json:"status"`
	Waves            []drsorch.ExecutionWave `json:"waves"`
	AllWavesComplete bool                    `json:"allWavesComplete"`
	OutcomeSummary   string                  `json:"outcomeSummary,omitempty"`
	OutcomeDetails   *drsorch.OutcomeDetails `json:"outcomeDetails,omitempty"`
}

// finalizeResult is the answer of finalize (reference §6.6.3).
type finalizeResult struct {
	StatusCode       int                     `json:"statusCode"`
	ExecutionID      string                  `json:"executionId"`
	Status           drsorch.ExecutionStatus `json:"status"`
	TotalWaves       int                     `json:"totalWaves"`
	OutcomeSummary   string                  `json:"outcomeSummary"`
	OutcomeDetails   *drsorch.OutcomeDetails `json:"outcomeDetails,omitempty"`
	AlreadyFinalized bool                    `json:"alreadyFinalized,omitempty"`
}

// poll polls one execution now and reports its waves.
func poll(ctx context.Context, e *engine.Engine, p params) (any, error) {
	if _, err := lookup(ctx, e, p); err != nil {
		return nil, err
	}
	id, _ := p.id("executionId", false)
	x, err := e.PollExecution(ctx, id)
	if err != nil {
		return nil, err
	}
	res := pollResult{StatusCode: 200, ExecutionID: x.ExecutionID, Status: x.Status, Waves: nonNilWaves(x.Waves), AllWavesComplete: allWavesEnded(x)}
	if x.Status.Terminal() {
		res.OutcomeSummary, res.OutcomeDetails = x.OutcomeSummary, x.OutcomeDetails
	}
	return res, nil
}

// finalize polls one execution, which ends it when every wave has ended, and
// reports the outcome; an execution with waves still to run cannot be finalized.
func finalize(ctx context.Context, e *engine.Engine, p params) (any, error) {
	before, err := lookup(ctx, e, p)
	if err != nil {
		return nil, err
	}
	id, _ := p.id("executionId", false)
	x := &before.Execution
	already := x.Status.Terminal()
	if !already {
		if x, err = e.PollExecution(ctx, id); err != nil {
			return nil, err
		}
	}
	if !x.Status.Terminal() {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, "Cannot finalize - not all waves complete").
			WithDetails(map[string]any{"executionId": id, "currentStatus": x.Status})
	}
	return finalizeResult{StatusCode: 200, ExecutionID: x.ExecutionID, Status: x.Status, TotalWaves: len(x.Waves),
		OutcomeSummary: x.OutcomeSummary, OutcomeDetails: x.OutcomeDetails, AlreadyFinalized: already}, nil
}

func nonNilWaves(w []drsorch.ExecutionWave) []drsorch.ExecutionWave {
	if w == nil {
		return []drsorch.ExecutionWave{}
	}
	return w
}

// allWavesEnded reports whether every wave of the execution has ended.
func allWavesEnded(x *drsorch.Execution) bool {
	for _, w := range x.Waves {
		if !w.Status.Terminal() {
			return false
		}
	}
	return true
}
