package lambdafn

import (
	"context"
	"encoding/json"

	"github.com/drsorch/drsorch"
)

// WorkerCompleted is what a worker invocation returns, as the replaced system's did.
var WorkerCompleted = json.RawMessage(`{"statusCode":200,"body":"Worker completed"}`)

// worker is the background half of a start: {"worker":true,"executionId",
// "planId","executionType","isDrill","plan","cognitoUser"}. It starts the
// workflow of the PENDING execution. A malformed event fails the invocation
// before anything is read or written.
func (r *Router) worker(ctx context.Context, ev object, inv *invocation) (any, error) {
	p := params(ev.values)
	if kind(p["worker"]) != 't' {
		return nil, invalidParam("worker", "must be true")
	}
	id, err := p.id("executionId", false)
	if err != nil {
		return nil, err
	}
	inv.setExecution(id)
	plan, err := p.optionalID("planId")
	if err != nil {
		return nil, err
	}
	if t, err := p.str("executionType"); err != nil {
		return nil, err
	} else if _, ok := drsorch.ParseExecutionType(t); t != "" && !ok {
		return nil, invalidParam("executionType", "must be DRILL or RECOVERY, got %q", clip(t))
	}
	if _, err := p.boolean("isDrill"); err != nil {
		return nil, err
	}
	for _, k := range []string{"plan", "cognitoUser"} {
		if p.present(k) && kind(p[k]) != '{' {
			return nil, invalidParam(k, "must be an object")
		}
	}
	e, err := r.cfg.Engine(ctx)
	if err != nil {
		return nil, err
	}
	ctx = drsorch.WithCaller(ctx, WorkflowCaller)
	if plan != "" {
		v, err := e.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if v.PlanID != plan {
			return nil, invalidParam("planId", "is %s, but execution %s belongs to plan %s", plan, id, v.PlanID)
		}
	}
	if err := e.StartWorkflow(ctx, id); err != nil {
		return nil, err
	}
	return WorkerCompleted, nil
}
