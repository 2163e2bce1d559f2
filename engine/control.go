package engine

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
)

// PauseResult is the answer to a pause.
type PauseResult struct {
	ExecutionID       string                  `json:"executionId"`
	Status            drsorch.ExecutionStatus `json:"status"`
	Message           string                  `json:"message"`
	LastCompletedWave *int                    `json:"lastCompletedWave"`
}

// Pause asks an execution to stop at the next wave boundary: PAUSE_PENDING
// while a wave runs, PAUSED at once between waves.
func (e *Engine) Pause(ctx context.Context, id string) (*PauseResult, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermStopExecution, x.ExecutionType); err != nil {
		return nil, err
	}
	var res PauseResult
	var paused bool
	now := e.now()
	x, err = e.update(ctx, id, func(x *drsorch.Execution) error {
		normalize(x)
		paused = false
		if x.Status.Canonical() != drsorch.ExecutionRunning {
			return drsorch.Errorf(drsorch.CodeInvalidState, "Execution cannot be paused - status is %s", x.Status).
				WithDetails(map[string]any{"currentStatus": x.Status, "pausableStatuses": []drsorch.ExecutionStatus{drsorch.ExecutionRunning},
					"reason": "Execution must be running to pause"})
		}
		if len(x.Waves) == 0 {
			return drsorch.Errorf(drsorch.CodeInvalidState, "No waves found in execution - cannot pause")
		}
		if len(x.Waves) == 1 {
			return drsorch.Errorf(drsorch.CodeInvalidState, "Cannot pause single-wave execution - pause is only available for multi-wave recovery plans").
				WithDetails(map[string]any{"executionId": x.ExecutionID, "waveCount": 1,
					"reason": "A single-wave execution has no wave boundary to pause at"})
		}
		e.settle(x, now)
		var last *int
		var running []int
		pending := -1
		for i := range x.Waves {
			w := &x.Waves[i]
			switch {
			case w.Status.Terminal():
				n := w.WaveNumber
				last = &n
			case waveInFlight(w):
				running = append(running, w.WaveNumber)
			case pending < 0:
				pending = w.WaveNumber
			}
		}
		res = PauseResult{ExecutionID: x.ExecutionID, LastCompletedWave: last}
		if pending < 0 {
			return drsorch.Errorf(drsorch.CodeInvalidState, "Cannot pause - no pending waves remaining").
				WithDetails(map[string]any{"executionId": x.ExecutionID, "lastCompletedWave": last,
					"reason": "All waves have already completed or failed"})
		}
		if len(running) > 0 {
			res.Message = fmt.Sprintf("Pause scheduled - will pause after wave %d completes", running[len(running)-1])
			return x.SetStatus(drsorch.ExecutionPausePending, now, actor(ctx), "pause requested")
		}
		next := pending
		if el := eligibleWaves(x); len(el) > 0 {
			next = el[0]
		}
		res.Message = "Execution paused"
		paused = true
		return e.pauseAt(x, next, now, actor(ctx), fmt.Sprintf("before wave %d", next))
	})
	if err != nil {
		return nil, err
	}
	res.Status = x.Status
	if paused {
		e.notify(ctx, x, drsorch.NotifyPaused, messageFor(x, drsorch.NotifyPaused))
		if x.Secrets.TaskToken != "" && x.Awaiting == drsorch.AwaitWave {
			_, _, _ = e.handOver(ctx, id, x.Secrets.TaskToken)
		}
	}
	return &res, nil
}

// ResumeResult is the answer to a resume.
type ResumeResult struct {
	ExecutionID string                  `json:"executionId"`
	Status      drsorch.ExecutionStatus `json:"status"`
	Message     string                  `json:"message"`
	NextWave    int                     `json:"nextWave"`
}

// Resume continues a PAUSED execution: the wave it paused before may start.
// A waiting workflow task is completed; without one the engine starts the wave.
func (e *Engine) Resume(ctx context.Context, id string) (*ResumeResult, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermStopExecution, x.ExecutionType); err != nil {
		return nil, err
	}
	next := 0
	x, err = e.update(ctx, id, func(x *drsorch.Execution) error {
		normalize(x)
		if x.Status.Canonical() != drsorch.ExecutionPaused {
			return drsorch.Errorf(drsorch.CodeInvalidState, "Execution is not paused").
				WithDetails(map[string]any{"currentStatus": x.Status, "reason": "Only paused executions can be resumed"})
		}
		next = 0
		if x.PausedBeforeWave != nil {
			next = *x.PausedBeforeWave
			if w := x.Wave(next); w != nil {
				w.PauseApproved = true
			}
		} else if el := eligibleWaves(x); len(el) > 0 {
			next = el[0]
		}
		x.PausedBeforeWave = nil
		x.Secrets.CallbackNonce = ""
		return x.SetStatus(drsorch.ExecutionRunning, e.now(), actor(ctx), fmt.Sprintf("resume before wave %d", next))
	})
	if err != nil {
		return nil, err
	}
	e.notify(ctx, x, drsorch.NotifyResumed, messageFor(x, drsorch.NotifyResumed))
	if _, err := e.progress(ctx, id, nil, nil); err != nil {
		e.log.Warn("taking the step after a resume failed; the poll will retry", "executionId", id, "error", err)
	}
	return &ResumeResult{ExecutionID: id, Status: drsorch.ExecutionResuming,
		Message: fmt.Sprintf("Execution resumed - wave %d will start", next+1), NextWave: next}, nil
}

// CancelResult is the answer to a cancel.
type CancelResult struct {
	ExecutionID string                  `json:"executionId"`
	Status      drsorch.ExecutionStatus `json:"status"`
	Message     string                  `json:"message"`
	Details     CancelDetails           `json:"details"`
}

// CancelDetails lists the waves by what the cancel did to them.
type CancelDetails struct {
	CompletedWaves  []int `json:"completedWaves"`
	InProgressWaves []int `json:"inProgressWaves"`
	CancelledWaves  []int `json:"cancelledWaves"`
}

// Cancel stops an execution: waves not started are cancelled, queued servers
// are not launched, the workflow is stopped. With DRS jobs running (DRS cannot
// cancel them) the execution is CANCELLING until they end, then CANCELLED or PARTIAL.
func (e *Engine) Cancel(ctx context.Context, id, reason string) (*CancelResult, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermStopExecution, x.ExecutionType); err != nil {
		return nil, err
	}
	now := e.now()
	var token string
	var res CancelResult
	detail := "cancelled by " + actor(ctx)
	if reason != "" {
		detail += ": " + reason
	}
	x, err = e.update(ctx, id, func(x *drsorch.Execution) error {
		normalize(x)
		token = ""
		s := x.Status.Canonical()
		if !s.Active() {
			return drsorch.Errorf(drsorch.CodeInvalidState, "Execution cannot be cancelled - status is %s", x.Status).
				WithDetails(map[string]any{"currentStatus": x.Status, "cancellableStatuses": drsorch.ActiveExecutionStatuses,
					"reason": "Execution must be running, paused, or pending to cancel"})
		}
		res = CancelResult{ExecutionID: x.ExecutionID}
		if s == drsorch.ExecutionCancelling {
			return errNoChange
		}
		for i := range x.Waves {
			w := &x.Waves[i]
			switch {
			case w.Status.Canonical() == drsorch.WavePending:
				_ = w.SetStatus(drsorch.WaveCancelled)
				w.EndTime, w.StatusMessage = now.Unix(), detail
			case waveInFlight(w):
				for _, s := range queuedServers(w) {
					_ = s.SetLaunchStatus(drsorch.LaunchCancelled)
				}
			}
		}
		e.settle(x, now)
		token, x.Secrets.TaskToken, x.Awaiting = x.Secrets.TaskToken, "", ""
		x.PausedBeforeWave, x.Secrets.CallbackNonce = nil, ""
		if hasInFlightJobs(x) {
			return x.SetStatus(drsorch.ExecutionCancelling, now, actor(ctx), detail)
		}
		out := AnalyzeOutcome(x.Waves)
		details := out.Details
		x.OutcomeSummary, x.OutcomeDetails, x.ErrorMessage = out.Summary, &details, out.Summary
		x.EndTime = now.Unix()
		if x.StartTime > 0 {
			x.DurationSeconds = x.EndTime - x.StartTime
		}
		return x.SetStatus(drsorch.ExecutionCancelled, now, actor(ctx), detail)
	})
	if err != nil {
		return nil, err
	}
	for _, w := range x.Waves {
		switch {
		case waveInFlight(&w):
			res.Details.InProgressWaves = append(res.Details.InProgressWaves, w.WaveNumber)
		case w.Status.Canonical() == drsorch.WaveCancelled:
			res.Details.CancelledWaves = append(res.Details.CancelledWaves, w.WaveNumber)
		default:
			res.Details.CompletedWaves = append(res.Details.CompletedWaves, w.WaveNumber)
		}
	}
	res.Details.CompletedWaves = nonNil(res.Details.CompletedWaves)
	res.Details.InProgressWaves = nonNil(res.Details.InProgressWaves)
	res.Details.CancelledWaves = nonNil(res.Details.CancelledWaves)
	res.Status = x.Status
	res.Message = "Execution cancelling successfully"
	if x.Status == drsorch.ExecutionCancelled {
		res.Message = "Execution cancelled successfully"
		e.notify(ctx, x, drsorch.NotifyCancelled, messageFor(x, drsorch.NotifyCancelled))
	}
	e.stopWorkflow(ctx, x, token)
	return &res, nil
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// stopWorkflow stops the execution's workflow by its reference, or fails the task it waits on.
func (e *Engine) stopWorkflow(ctx context.Context, x *drsorch.Execution, token string) {
	var err error
	switch {
	case x.StateMachineArn != "":
		err = e.wf.Stop(ctx, x.StateMachineArn, "UserCancelled", "Execution cancelled by user")
	case token != "":
		err = e.wf.SendTaskFailure(ctx, token, "ExecutionCancelled", "Execution cancelled by user")
	}
	if err != nil && !drsorch.IsCode(err, drsorch.CodeTaskTokenGone) {
		e.log.Warn("stopping the workflow failed", "executionId", x.ExecutionID, "error", err)
	}
}

// Next steps a workflow is told to take after Advance.
const (
	NextWait   = "wait"   // wait for the running waves (register a task token)
	NextPaused = "paused" // wait for a resume (register a task token)
	NextDone   = "done"   // the execution ended
)

// AdvanceResult tells the workflow what to do next.
type AdvanceResult struct {
	ExecutionID string                  `json:"executionId"`
	PlanID      string                  `json:"planId"`
	Status      drsorch.ExecutionStatus `json:"status"`
	Next        string                  `json:"next"`
}

// Advance takes whatever step the execution needs now (the workflow's Task
// state calls it) and says what the workflow should wait for next.
func (e *Engine) Advance(ctx context.Context, id string) (*AdvanceResult, error) {
	if _, err := e.load(ctx, id); err != nil {
		return nil, err
	}
	x, err := e.progress(ctx, id, nil, nil)
	if err != nil {
		return nil, err
	}
	return advanceResult(x), nil
}

func advanceResult(x *drsorch.Execution) *AdvanceResult {
	r := &AdvanceResult{ExecutionID: x.ExecutionID, PlanID: x.PlanID, Status: x.Status, Next: NextWait}
	switch {
	case x.Status.Terminal():
		r.Next = NextDone
	case x.Status.Canonical() == drsorch.ExecutionPaused:
		r.Next = NextPaused
	}
	return r
}

// RegisterToken records the task token of a workflow task waiting on the
// execution (kind AwaitWave or AwaitResume). When what it waits for has
// already happened, the task is completed at once instead.
func (e *Engine) RegisterToken(ctx context.Context, id, token, kind string) error {
	if token == "" {
		return drsorch.Errorf(drsorch.CodeMissingParameter, "taskToken is required").WithDetails(map[string]any{"parameter": "taskToken"})
	}
	if kind != drsorch.AwaitWave && kind != drsorch.AwaitResume {
		return drsorch.Errorf(drsorch.CodeInvalidParameter, "kind must be %q or %q, got %q", drsorch.AwaitWave, drsorch.AwaitResume, kind).
			WithDetails(map[string]any{"parameter": "kind"})
	}
	immediate := false
	x, err := e.update(ctx, id, func(x *drsorch.Execution) error {
		s := x.Status.Canonical()
		immediate = s.Terminal() || (kind == drsorch.AwaitWave && s == drsorch.ExecutionPaused) ||
			(kind == drsorch.AwaitResume && s != drsorch.ExecutionPaused)
		if immediate {
			return errNoChange
		}
		x.Secrets.TaskToken, x.Awaiting = token, kind
		return nil
	})
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		return notFound(id)
	}
	if err != nil {
		return err
	}
	if immediate {
		if err := e.wf.SendTaskSuccess(ctx, token, taskOutput(x)); err != nil && !drsorch.IsCode(err, drsorch.CodeTaskTokenGone) {
			return err
		}
	}
	return nil
}

// StartWave starts one wave now, whatever its dependencies, for a workflow that
// orders waves itself (the replaced system's start_wave_recovery). It is
// idempotent: a wave already started is returned as it is.
func (e *Engine) StartWave(ctx context.Context, id string, number int) (*drsorch.Execution, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	normalize(x)
	w := x.Wave(number)
	if w == nil {
		return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "wave_number %d is not a wave of execution %s", number, id).
			WithDetails(map[string]any{"parameter": "wave_number"})
	}
	if w.Status.Canonical() != drsorch.WavePending || x.Status.Canonical() != drsorch.ExecutionRunning {
		return x, nil
	}
	if x, err = e.startWaves(ctx, x, []int{number}, true); err != nil {
		return nil, err
	}
	x, _, err = e.submit(ctx, x, nil)
	return x, err
}

// MarkFailed ends an active execution as FAILED because its workflow failed.
func (e *Engine) MarkFailed(ctx context.Context, id, code, cause string) (*drsorch.Execution, error) {
	now := e.now()
	msg := strings.TrimSpace("Workflow failed: " + strings.Trim(code+": "+cause, ": "))
	x, err := e.update(ctx, id, func(x *drsorch.Execution) error {
		normalize(x)
		if !x.Status.Active() {
			return errNoChange
		}
		out := AnalyzeOutcome(x.Waves)
		details := out.Details
		x.OutcomeSummary, x.OutcomeDetails = out.Summary, &details
		x.ErrorMessage, x.ErrorCode, x.EndTime = msg, code, now.Unix()
		x.Secrets.TaskToken, x.Awaiting, x.Secrets.CallbackNonce = "", "", ""
		return x.SetStatus(drsorch.ExecutionFailed, now, drsorch.SystemCaller.Name(), msg)
	})
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		return nil, notFound(id)
	}
	if err == nil && x.Status == drsorch.ExecutionFailed {
		e.notify(ctx, x, drsorch.NotifyFailed, messageFor(x, drsorch.NotifyFailed))
	}
	return x, err
}

// Callback actions.
const (
	CallbackResume = "resume"
	CallbackCancel = "cancel"
)

type callbackClaims struct {
	ExecutionID string `json:"e"`
	Action      string `json:"a"`
	Nonce       string `json:"n"`
}

func (e *Engine) signCallback(c callbackClaims) string {
	b, _ := json.Marshal(c)
	payload := base64.RawURLEncoding.EncodeToString(b)
	m := hmac.New(sha256.New, e.cfg.CallbackKey)
	m.Write([]byte(payload))
	return payload + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (e *Engine) verifyCallback(token string) (callbackClaims, bool) {
	var c callbackClaims
	payload, sig, ok := strings.Cut(token, ".")
	if !ok {
		return c, false
	}
	m := hmac.New(sha256.New, e.cfg.CallbackKey)
	m.Write([]byte(payload))
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, m.Sum(nil)) {
		return c, false
	}
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, false
	}
	return c, true
}

// callbackLinks returns the signed resume and cancel links of a paused execution.
func (e *Engine) callbackLinks(x *drsorch.Execution) (resume, cancel string) {
	if x.Secrets.CallbackNonce == "" {
		return "", ""
	}
	link := func(action string) string {
		tok := e.signCallback(callbackClaims{ExecutionID: x.ExecutionID, Action: action, Nonce: x.Secrets.CallbackNonce})
		return strings.TrimRight(e.cfg.CallbackBaseURL, "/") + "/execution-callback?action=" + action + "&taskToken=" + url.QueryEscape(tok)
	}
	return link(CallbackResume), link(CallbackCancel)
}

// Callback serves the links of pause notifications (no login: the token is
// the credential). A signed link works once; a raw Step Functions task token
// of the replaced system is honoured too. It returns the message to show.
func (e *Engine) Callback(ctx context.Context, action, token string) (string, error) {
	if action != CallbackResume && action != CallbackCancel {
		return "", drsorch.Errorf(drsorch.CodeInvalidParameter, "Invalid action. Must be 'resume' or 'cancel'.")
	}
	if token == "" {
		return "", drsorch.Errorf(drsorch.CodeMissingParameter, "Missing task token.")
	}
	if strings.TrimSpace(token) == "" {
		return "", drsorch.Errorf(drsorch.CodeInvalidParameter, "taskToken is required and cannot be empty.")
	}
	if len(token) < 100 {
		return "", drsorch.Errorf(drsorch.CodeInvalidParameter, "taskToken is invalid or expired (length %d < 100).", len(token))
	}
	ctx = drsorch.WithCaller(ctx, drsorch.Caller{Username: "email_callback", System: true})
	if c, ok := e.verifyCallback(token); ok {
		if c.Action != action {
			return "", drsorch.Errorf(drsorch.CodeInvalidParameter, "Task token is invalid or expired")
		}
		var nonceOK bool
		_, err := e.update(ctx, c.ExecutionID, func(x *drsorch.Execution) error {
			nonceOK = x.Secrets.CallbackNonce != "" &&
				subtle.ConstantTimeCompare([]byte(x.Secrets.CallbackNonce), []byte(c.Nonce)) == 1
			if !nonceOK {
				return errNoChange
			}
			x.Secrets.CallbackNonce = ""
			return nil
		})
		if err != nil && !drsorch.IsCode(err, drsorch.CodeNotFound) {
			return "", err
		}
		if !nonceOK {
			return "", drsorch.Errorf(drsorch.CodeInvalidParameter, "Task token is invalid or expired")
		}
		return e.callbackAct(ctx, c.ExecutionID, action)
	}
	xs, err := e.listAll(ctx, drsorch.ExecutionQuery{Statuses: []drsorch.ExecutionStatus{drsorch.ExecutionPaused}})
	if err != nil {
		return "", err
	}
	for _, x := range xs {
		if x.Secrets.TaskToken != "" && subtle.ConstantTimeCompare([]byte(x.Secrets.TaskToken), []byte(token)) == 1 {
			return e.callbackAct(ctx, x.ExecutionID, action)
		}
	}
	if action == CallbackResume {
		out, _ := json.Marshal(map[string]string{"action": "resume", "timestamp": e.now().Format(time.RFC3339), "resumedBy": "email_callback"})
		err = e.wf.SendTaskSuccess(ctx, token, out)
	} else {
		err = e.wf.SendTaskFailure(ctx, token, "ExecutionCancelled", "User cancelled execution via email notification")
	}
	if err != nil {
		return "", tokenError(err)
	}
	return callbackMessage(action), nil
}

func (e *Engine) callbackAct(ctx context.Context, id, action string) (string, error) {
	var err error
	if action == CallbackResume {
		_, err = e.Resume(ctx, id)
	} else {
		_, err = e.Cancel(ctx, id, "cancelled from the notification link")
	}
	if err != nil {
		return "", err
	}
	return callbackMessage(action), nil
}

func callbackMessage(action string) string {
	if action == CallbackResume {
		return "Execution has been resumed successfully."
	}
	return "Execution has been cancelled."
}

// tokenError words a task-token failure as the replaced system did.
func tokenError(err error) error {
	if !drsorch.IsCode(err, drsorch.CodeTaskTokenGone) {
		return err
	}
	msg := "Task token is invalid or expired"
	switch drsorch.AsError(err).Details["awsError"] {
	case "TaskTimedOut":
		msg = "Task has timed out"
	case "TaskDoesNotExist":
		msg = "Task no longer exists or has already completed"
	}
	return drsorch.Errorf(drsorch.CodeInvalidParameter, "%s", msg)
}
