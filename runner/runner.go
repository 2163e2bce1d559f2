// Package runner drives executions on one machine, in place of Step Functions
// and the EventBridge schedule: it starts the workflow of each recorded
// execution in the background and polls the active ones on a ticker. Every
// step is the engine's; the runner only decides when to call it.
//
// The runner is the engine's Dispatcher and (through Workflow) its Workflow,
// and it needs the engine to call, so it is built in two steps:
//
//	r := runner.New(nil, runner.Options{PollInterval: 2 * time.Second})
//	e := engine.New(engine.Config{Workflow: r.Workflow(), Dispatcher: r, ...})
//	r.SetEngine(e)
//	r.Start(ctx)
//	defer r.Stop()
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
)

// Options configures a Runner.
type Options struct {
	// PollInterval is how often active executions are polled (default 2s).
	PollInterval time.Duration
	// PollTimeout bounds one poll of every active execution (default 1m).
	PollTimeout time.Duration
	// Logger receives the runner's logs (default: discarded).
	Logger *slog.Logger
}

// Runner is the one-machine workflow driver and poll ticker.
type Runner struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	eng     *engine.Engine
	queue   []string      // execution ids waiting for StartWorkflow
	wake    chan struct{} // signalled when the queue grows
	running bool
	quit    chan struct{}
	done    sync.WaitGroup
}

var (
	_ drsorch.Workflow   = workflow{}
	_ drsorch.Dispatcher = (*Runner)(nil)
)

// New returns a Runner for e. e may be nil when the engine itself needs the
// runner (as its Workflow and Dispatcher); call SetEngine before Start or RunOnce.
func New(e *engine.Engine, opts Options) *Runner {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 2 * time.Second
	}
	if opts.PollTimeout <= 0 {
		opts.PollTimeout = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{opts: opts, log: opts.Logger, eng: e, wake: make(chan struct{}, 1)}
}

// SetEngine gives the runner the engine it drives.
func (r *Runner) SetEngine(e *engine.Engine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eng = e
}

func (r *Runner) engine() (*engine.Engine, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.eng == nil {
		return nil, errors.New("runner: no engine (call SetEngine first)")
	}
	return r.eng, nil
}

// system marks the runner's calls as the engine's own steps.
func system(ctx context.Context) context.Context {
	return drsorch.WithCaller(ctx, drsorch.SystemCaller)
}

// Start picks up every PENDING execution, polls the active ones at once, then
// keeps polling every PollInterval and starting dispatched executions until
// Stop. A restart therefore continues executions where they stopped. ctx
// serves the listing of pending executions; the loops run until Stop.
// Calling Start on a started runner does nothing.
func (r *Runner) Start(ctx context.Context) error {
	e, err := r.engine()
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.running {
		r.mu.Unlock()
		return nil
	}
	r.running = true
	r.quit = make(chan struct{})
	quit := r.quit
	r.mu.Unlock()

	pending, err := r.pending(system(ctx), e)
	if err != nil {
		r.log.Warn("listing pending executions failed; the poll will start them", "error", err)
	}
	for _, id := range pending {
		r.enqueue(id)
	}
	r.done.Add(2)
	go r.startLoop(quit)
	go r.pollLoop(quit)
	return nil
}

// Stop stops the loops and waits for the step in progress to finish.
// Executions keep their state in the store; a later Start continues them.
func (r *Runner) Stop() {
	r.mu.Lock()
	if !r.running {
		r.mu.Unlock()
		return
	}
	r.running = false
	close(r.quit)
	r.mu.Unlock()
	r.done.Wait()
}

// RunOnce starts every dispatched execution, then polls the active ones once.
func (r *Runner) RunOnce(ctx context.Context) error {
	e, err := r.engine()
	if err != nil {
		return err
	}
	ctx = system(ctx)
	var errs []error
	for {
		id, ok := r.dequeue()
		if !ok {
			break
		}
		if err := e.StartWorkflow(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := e.PollActive(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pending returns the ids of every PENDING execution.
func (r *Runner) pending(ctx context.Context, e *engine.Engine) ([]string, error) {
	var ids []string
	q := engine.ListQuery{Statuses: []drsorch.ExecutionStatus{drsorch.ExecutionPending}, Limit: 100}
	for {
		page, err := e.List(ctx, q)
		if err != nil {
			return ids, err
		}
		for _, x := range page.Items {
			ids = append(ids, x.ExecutionID)
		}
		if page.NextToken == nil {
			return ids, nil
		}
		q.NextToken = *page.NextToken
	}
}

func (r *Runner) enqueue(id string) {
	r.mu.Lock()
	r.queue = append(r.queue, id)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *Runner) dequeue() (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) == 0 {
		return "", false
	}
	id := r.queue[0]
	r.queue = r.queue[1:]
	return id, true
}

// startLoop starts the workflow of each dispatched execution.
func (r *Runner) startLoop(quit chan struct{}) {
	defer r.done.Done()
	for {
		for {
			id, ok := r.dequeue()
			if !ok {
				break
			}
			r.startOne(id)
			select {
			case <-quit:
				return
			default:
			}
		}
		select {
		case <-quit:
			return
		case <-r.wake:
		}
	}
}

func (r *Runner) startOne(id string) {
	e, err := r.engine()
	if err != nil {
		r.log.Error("cannot start an execution", "executionId", id, "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(system(context.Background()), r.opts.PollTimeout)
	defer cancel()
	if err := e.StartWorkflow(ctx, id); err != nil {
		r.log.Warn("starting an execution failed; the poll retries it", "executionId", id, "error", err)
		return
	}
	r.log.Info("execution started", "executionId", id)
}

// pollLoop polls the active executions at once, then every PollInterval.
func (r *Runner) pollLoop(quit chan struct{}) {
	defer r.done.Done()
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		r.pollOnce()
		select {
		case <-quit:
			return
		case <-t.C:
		}
	}
}

func (r *Runner) pollOnce() {
	e, err := r.engine()
	if err != nil {
		r.log.Error("cannot poll", "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(system(context.Background()), r.opts.PollTimeout)
	defer cancel()
	res, err := e.PollActive(ctx)
	if err != nil {
		r.log.Warn("poll failed", "error", err)
		return
	}
	if res.ExecutionsPolled > 0 {
		r.log.Debug("polled", "executions", res.ExecutionsPolled)
	}
}

// Dispatch queues a recorded execution for StartWorkflow and returns at once.
// It never fails: an execution still PENDING when the process stops is picked
// up by the next Start.
func (r *Runner) Dispatch(_ context.Context, x *drsorch.Execution) error {
	r.enqueue(x.ExecutionID)
	return nil
}

// Workflow returns the runner as the engine's drsorch.Workflow. (It is a
// separate value because Runner's own Start and Stop run the runner.)
func (r *Runner) Workflow() drsorch.Workflow { return workflow{r} }

// workflow is the drsorch.Workflow of one machine: there is no separate
// workflow, so Start returns no reference and the engine takes every step
// itself on the runner's polls.
type workflow struct{ r *Runner }

// Start returns no reference: the engine's record is the whole workflow.
func (w workflow) Start(context.Context, *drsorch.Execution) (string, error) { return "", nil }

// taskTokenGone is the answer to every task token: the runner never registers one.
func taskTokenGone(op string) error {
	return drsorch.Errorf(drsorch.CodeTaskTokenGone, "%s: the local runner registers no task tokens", op)
}

// SendTaskSuccess answers that the token is gone, so the engine drops it and
// takes the step itself (a token can only come from a record written elsewhere).
func (w workflow) SendTaskSuccess(_ context.Context, _ string, _ json.RawMessage) error {
	w.r.log.Info("task success requested for a task token the local runner does not know; the engine takes the step")
	return taskTokenGone("SendTaskSuccess")
}

// SendTaskFailure answers that the token is gone (see SendTaskSuccess).
func (w workflow) SendTaskFailure(_ context.Context, _, code, _ string) error {
	w.r.log.Info("task failure requested for a task token the local runner does not know", "code", code)
	return taskTokenGone("SendTaskFailure")
}

// Stop has nothing to stop: a cancel is entirely the engine's record.
func (w workflow) Stop(_ context.Context, ref, code, _ string) error {
	w.r.log.Info("workflow stop requested; the local runner has no separate workflow", "ref", ref, "code", code)
	return nil
}

// Describe reports that there is no workflow to describe.
func (w workflow) Describe(_ context.Context, ref string) (string, error) {
	return "", drsorch.Errorf(drsorch.CodeNotFound, "the local runner keeps no workflow %q", ref)
}
