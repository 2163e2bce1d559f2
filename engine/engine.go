// Package engine makes every decision about executions: starting them,
// starting and scheduling waves under DRS's quotas, polling DRS, pausing,
// resuming, cancelling, finalizing and terminating. Transports and drivers
// call it; it talks to the world only through the root package's ports.
package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/drsorch/drsorch"
)

// Config wires an Engine. Store, DRS and Workflow are required.
type Config struct {
	Store      drsorch.Store
	DRS        drsorch.DRS
	Workflow   drsorch.Workflow
	Dispatcher drsorch.Dispatcher // optional: hands a recorded start to a background worker
	Notifier   drsorch.Notifier   // optional
	Authorizer drsorch.Authorizer // optional: nil allows every caller
	Clock      drsorch.Clock
	Logger     *slog.Logger

	AccountID     string // the account drsorch runs in (default 123456789012)
	DefaultRegion string // region of waves without a protection group region (default us-east-1)

	WaveTimeout       time.Duration // per-wave timeout unless the plan wave sets one (default 24h)
	SubmitGrace       time.Duration // age after which an unconfirmed StartRecovery is reconciled (default 2m)
	PendingGrace      time.Duration // age after which a PENDING execution is started by the poll (default 2m)
	JobMissingGrace   time.Duration // how long a submitted job may be absent from DescribeJobs (default 10m)
	LogRefresh        time.Duration // how often one job's log is re-read by the poll (default 1m)
	LogCallsPerCycle  int           // DescribeJobLogItems calls per account+region per poll (default 20)
	MaxSubmitAttempts int           // attempts for a server refused with a conflict (default 10)
	Parallelism       int           // account+region groups polled at once (default 4)

	// ThrottleRetries is how many times a throttled DRS call is tried within one operation (default 4).
	ThrottleRetries int
	// Sleep waits between those tries (default: a context-aware timer).
	Sleep func(ctx context.Context, d time.Duration)

	CallbackKey     []byte // signs the resume/cancel links of pause notifications
	CallbackBaseURL string // base URL of GET /execution-callback, e.g. https://api.example.com/prod

	// NewID returns a new id for an execution or a DRS job intent (default: UUID v4).
	NewID func() string
}

// Engine is the decision maker. It is safe for concurrent use: every write is
// version-checked and retried on conflict.
type Engine struct {
	cfg   Config
	store drsorch.Store
	drs   retryingDRS
	wf    drsorch.Workflow
	clock drsorch.Clock
	log   *slog.Logger

	sweepMu   sync.Mutex
	lastSweep time.Time

	writers writers
}

// New returns an Engine with defaults filled in.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = drsorch.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "123456789012"
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "us-east-1"
	}
	setDefault(&cfg.WaveTimeout, 24*time.Hour)
	setDefault(&cfg.SubmitGrace, 2*time.Minute)
	setDefault(&cfg.PendingGrace, 2*time.Minute)
	setDefault(&cfg.JobMissingGrace, 10*time.Minute)
	setDefault(&cfg.LogRefresh, time.Minute)
	if cfg.LogCallsPerCycle == 0 {
		cfg.LogCallsPerCycle = 20
	}
	if cfg.MaxSubmitAttempts == 0 {
		cfg.MaxSubmitAttempts = 10
	}
	if cfg.Parallelism <= 0 {
		cfg.Parallelism = 4
	}
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	if cfg.NewID == nil {
		cfg.NewID = func() string { return uuid.NewString() }
	}
	if len(cfg.CallbackKey) == 0 {
		cfg.CallbackKey = randomKey()
	}
	if cfg.ThrottleRetries <= 0 {
		cfg.ThrottleRetries = 4
	}
	drs := retryingDRS{DRS: cfg.DRS, sleep: cfg.Sleep, attempts: cfg.ThrottleRetries}
	return &Engine{cfg: cfg, store: cfg.Store, drs: drs, wf: cfg.Workflow, clock: cfg.Clock, log: cfg.Logger}
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

func randomKey() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("engine: no randomness: " + err.Error())
	}
	return b
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("engine: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func (e *Engine) now() time.Time { return e.clock.Now().UTC() }

// Config returns the engine's effective configuration.
func (e *Engine) Config() Config { return e.cfg }

// maxWriteAttempts bounds the retries of a version-checked write.
const maxWriteAttempts = 25

// errNoChange tells update that fn decided to write nothing.
var errNoChange = errors.New("no change")

// update loads an execution, applies fn and writes it back, retrying on a
// version conflict with a fresh copy. fn must not do I/O: it may run several
// times. It returns the written (or, when fn returned errNoChange, the loaded) execution.
func (e *Engine) update(ctx context.Context, id string, fn func(x *drsorch.Execution) error) (*drsorch.Execution, error) {
	return e.updateFrom(ctx, id, nil, fn)
}

// updateFrom is update with a first copy the caller just read and gives up
// (it is changed in place); a stale copy costs one conflict and a re-read.
func (e *Engine) updateFrom(ctx context.Context, id string, seed *drsorch.Execution, fn func(x *drsorch.Execution) error) (*drsorch.Execution, error) {
	for attempt := 0; ; attempt++ {
		x, err := e.tryUpdate(ctx, id, seed, fn)
		seed = nil
		if !drsorch.IsCode(err, drsorch.CodeVersionConflict) || attempt >= maxWriteAttempts {
			return x, err
		}
		conflictBackoff(ctx, attempt)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// tryUpdate is one read-decide-write of updateFrom, while no other writer of
// this engine writes the execution.
func (e *Engine) tryUpdate(ctx context.Context, id string, x *drsorch.Execution, fn func(x *drsorch.Execution) error) (*drsorch.Execution, error) {
	release, err := e.writers.acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	defer release()
	if x == nil {
		if x, err = e.store.GetExecution(ctx, id); err != nil {
			return nil, err
		}
	}
	if err := fn(x); err != nil {
		if errors.Is(err, errNoChange) {
			return x, nil
		}
		return nil, err
	}
	x.UpdatedAt = e.now().Unix()
	if err := e.store.UpdateExecution(ctx, x); err != nil {
		return nil, err
	}
	return x, nil
}

// writers lets one writer of each execution at a time through: writers of one
// process would only collide otherwise, each collision costing a re-read and
// a retry. The version check still settles races with other processes (other
// Lambda invocations), and with a seed read before the writer's turn.
type writers struct {
	mu    sync.Mutex
	turns map[string]*turn
}

// turn is the token of one execution and how many writers want it.
type turn struct {
	token chan struct{}
	refs  int
}

// acquire waits for the execution's turn, or for ctx to end; release gives it back.
func (w *writers) acquire(ctx context.Context, id string) (release func(), err error) {
	w.mu.Lock()
	if w.turns == nil {
		w.turns = map[string]*turn{}
	}
	t := w.turns[id]
	if t == nil {
		t = &turn{token: make(chan struct{}, 1)}
		w.turns[id] = t
	}
	t.refs++
	w.mu.Unlock()
	leave := func() {
		w.mu.Lock()
		if t.refs--; t.refs == 0 {
			delete(w.turns, id)
		}
		w.mu.Unlock()
	}
	select {
	case t.token <- struct{}{}:
		return func() { <-t.token; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// conflictBackoff waits a little, at random, before a writer that lost a race
// tries again, so that many writers of one record (dozens of API calls and
// pollers at once) stop colliding instead of re-reading in lockstep until
// their attempts run out: no wait after the first loss, then up to 1, 2, 4 …
// 64 ms. It is real time, not the engine's clock: it spaces out real requests.
func conflictBackoff(ctx context.Context, attempt int) {
	if attempt == 0 {
		return
	}
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(time.Millisecond << min(attempt-1, 6)))))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// authorize checks a permission for the caller carried by ctx.
func (e *Engine) authorize(ctx context.Context, p drsorch.Permission, t drsorch.ExecutionType) error {
	if e.cfg.Authorizer == nil {
		return nil
	}
	return e.cfg.Authorizer.Authorize(ctx, drsorch.CallerFrom(ctx), p, t)
}

// actor is how the caller of ctx is recorded on the timeline.
func actor(ctx context.Context) string { return drsorch.CallerFrom(ctx).Name() }

func (e *Engine) notify(ctx context.Context, x *drsorch.Execution, event, msg string) {
	if e.cfg.Notifier == nil {
		return
	}
	n := drsorch.Notification{
		Event: event, ExecutionID: x.ExecutionID, PlanID: x.PlanID, PlanName: x.PlanName,
		ExecutionType: x.ExecutionType, Status: x.Status, Message: msg,
	}
	if event == drsorch.NotifyPaused {
		n.Wave = x.PausedBeforeWave
		n.ResumeURL, n.CancelURL = e.callbackLinks(x)
	}
	if err := e.cfg.Notifier.Notify(ctx, n); err != nil {
		e.log.Warn("notification failed", "executionId", x.ExecutionID, "event", event, "error", err)
	}
}

func notFound(id string) error {
	return drsorch.Errorf(drsorch.CodeNotFound, "Execution with ID %s not found", id).
		WithDetails(map[string]any{"executionId": id})
}

// load reads an execution, turning a store NOT_FOUND into the API's message.
func (e *Engine) load(ctx context.Context, id string) (*drsorch.Execution, error) {
	x, err := e.store.GetExecution(ctx, id)
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		return nil, notFound(id)
	}
	return x, err
}
