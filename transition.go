package drsorch

import (
	"slices"
	"time"
)

// Transition is one allowed status change: an event, the states it may leave and the state it enters.
type Transition[S ~string] struct {
	Event string
	From  []S
	To    S
}

// ExecutionTransitions is every allowed change of an execution's status.
var ExecutionTransitions = []Transition[ExecutionStatus]{
	{"start", []ExecutionStatus{ExecutionPending}, ExecutionRunning},
	{"start_failed", []ExecutionStatus{ExecutionPending}, ExecutionFailed},
	{"pause_requested", []ExecutionStatus{ExecutionRunning}, ExecutionPausePending},
	{"paused", []ExecutionStatus{ExecutionRunning, ExecutionPausePending}, ExecutionPaused},
	{"resumed", []ExecutionStatus{ExecutionPaused}, ExecutionRunning},
	{"cancel_requested", []ExecutionStatus{ExecutionRunning, ExecutionPausePending}, ExecutionCancelling},
	{"cancelled", []ExecutionStatus{ExecutionPending, ExecutionRunning, ExecutionPausePending, ExecutionPaused, ExecutionCancelling}, ExecutionCancelled},
	{"cancelled_partial", []ExecutionStatus{ExecutionCancelling}, ExecutionPartial},
	{"completed", []ExecutionStatus{ExecutionRunning, ExecutionPausePending}, ExecutionCompleted},
	{"partial", []ExecutionStatus{ExecutionRunning, ExecutionPausePending}, ExecutionPartial},
	{"failed", []ExecutionStatus{ExecutionRunning, ExecutionPausePending, ExecutionPaused, ExecutionCancelling}, ExecutionFailed},
	{"timed_out", []ExecutionStatus{ExecutionRunning, ExecutionPausePending, ExecutionCancelling}, ExecutionTimeout},
}

// WaveTransitions is every allowed change of a wave's status.
var WaveTransitions = []Transition[WaveStatus]{
	{"started", []WaveStatus{WavePending}, WaveStarted},
	{"in_progress", []WaveStatus{WaveStarted}, WaveInProgress},
	{"completed", []WaveStatus{WaveStarted, WaveInProgress}, WaveCompleted},
	{"partial", []WaveStatus{WaveStarted, WaveInProgress}, WavePartial},
	{"failed", []WaveStatus{WaveStarted, WaveInProgress}, WaveFailed},
	{"timed_out", []WaveStatus{WaveStarted, WaveInProgress}, WaveTimeout},
	{"cancelled", []WaveStatus{WavePending, WaveStarted, WaveInProgress}, WaveCancelled},
}

// LaunchTransitions is every allowed change of a server's launch status.
var LaunchTransitions = []Transition[LaunchStatus]{
	{"in_progress", []LaunchStatus{LaunchPending}, LaunchInProgress},
	{"launched", []LaunchStatus{LaunchPending, LaunchInProgress}, LaunchLaunched},
	{"failed", []LaunchStatus{LaunchPending, LaunchInProgress}, LaunchFailed},
	{"terminated", []LaunchStatus{LaunchPending, LaunchInProgress, LaunchLaunched}, LaunchTerminated},
	{"cancelled", []LaunchStatus{LaunchPending}, LaunchCancelled},
}

func findTransition[S ~string](table []Transition[S], from, to S) (Transition[S], bool) {
	for _, t := range table {
		if t.To == to && slices.Contains(t.From, from) {
			return t, true
		}
	}
	return Transition[S]{}, false
}

// CheckExecutionTransition returns the event of an allowed change, or an INVALID_STATE error.
// Staying in the same status is always allowed and returns "".
func CheckExecutionTransition(from, to ExecutionStatus) (string, error) {
	from, to = from.Canonical(), to.Canonical()
	if from == to {
		return "", nil
	}
	if t, ok := findTransition(ExecutionTransitions, from, to); ok {
		return t.Event, nil
	}
	return "", Errorf(CodeInvalidState, "execution cannot move from %s to %s", from, to)
}

// CheckWaveTransition returns the event of an allowed wave change, or an INVALID_STATE error.
func CheckWaveTransition(from, to WaveStatus) (string, error) {
	from, to = from.Canonical(), to.Canonical()
	if from == to {
		return "", nil
	}
	if t, ok := findTransition(WaveTransitions, from, to); ok {
		return t.Event, nil
	}
	return "", Errorf(CodeInvalidState, "wave cannot move from %s to %s", from, to)
}

// CheckLaunchTransition returns the event of an allowed server change, or an INVALID_STATE error.
func CheckLaunchTransition(from, to LaunchStatus) (string, error) {
	from, to = from.Canonical(), to.Canonical()
	if from == to {
		return "", nil
	}
	if t, ok := findTransition(LaunchTransitions, from, to); ok {
		return t.Event, nil
	}
	return "", Errorf(CodeInvalidState, "server cannot move from %s to %s", from, to)
}

// SetStatus moves the execution to a new status if the transition is allowed,
// recording it on the timeline; an illegal change leaves the execution untouched.
func (e *Execution) SetStatus(to ExecutionStatus, at time.Time, actor, detail string) error {
	from := e.Status.Canonical()
	ev, err := CheckExecutionTransition(from, to)
	if err != nil {
		return err
	}
	if ev == "" {
		return nil
	}
	e.Status = to
	e.Timeline = append(e.Timeline, TimelineEvent{At: at.UTC(), Type: ev, Actor: actor, From: string(from), To: string(to), Detail: detail})
	return nil
}

// SetStatus moves the wave to a new status if the transition is allowed.
func (w *ExecutionWave) SetStatus(to WaveStatus) error {
	ev, err := CheckWaveTransition(w.Status, to)
	if err != nil {
		return err
	}
	if ev != "" {
		w.Status = to
	}
	return nil
}

// SetLaunchStatus moves the server to a new launch status if the transition is allowed.
func (s *ServerStatus) SetLaunchStatus(to LaunchStatus) error {
	ev, err := CheckLaunchTransition(s.LaunchStatus, to)
	if err != nil {
		return err
	}
	if ev != "" {
		s.LaunchStatus = to
	}
	return nil
}
