package drsorch

import "strings"

// ExecutionStatus is the status of an execution as stored in the record.
type ExecutionStatus string

// Execution statuses drsorch writes.
const (
	ExecutionPending      ExecutionStatus = "PENDING"
	ExecutionRunning      ExecutionStatus = "RUNNING"
	ExecutionPausePending ExecutionStatus = "PAUSE_PENDING"
	ExecutionPaused       ExecutionStatus = "PAUSED"
	ExecutionCancelling   ExecutionStatus = "CANCELLING"
	ExecutionCompleted    ExecutionStatus = "COMPLETED"
	ExecutionPartial      ExecutionStatus = "PARTIAL"
	ExecutionFailed       ExecutionStatus = "FAILED"
	ExecutionCancelled    ExecutionStatus = "CANCELLED"
	ExecutionTimeout      ExecutionStatus = "TIMEOUT"
)

// Execution statuses written by the replaced system; drsorch reads them and never writes them.
const (
	ExecutionLegacyPolling    ExecutionStatus = "POLLING"
	ExecutionLegacyInProgress ExecutionStatus = "IN_PROGRESS"
	ExecutionLegacyInitiated  ExecutionStatus = "INITIATED"
	ExecutionLegacyLaunching  ExecutionStatus = "LAUNCHING"
	ExecutionLegacyStarted    ExecutionStatus = "STARTED"
	ExecutionLegacyTerminated ExecutionStatus = "TERMINATED"
)

// ExecutionResuming is returned by the resume response only; it is never stored.
const ExecutionResuming ExecutionStatus = "RESUMING"

// ExecutionStatuses lists every status drsorch writes, active ones first.
var ExecutionStatuses = []ExecutionStatus{
	ExecutionPending, ExecutionRunning, ExecutionPausePending, ExecutionPaused, ExecutionCancelling,
	ExecutionCompleted, ExecutionPartial, ExecutionFailed, ExecutionCancelled, ExecutionTimeout,
}

// ActiveExecutionStatuses is the canonical active set (written statuses only).
var ActiveExecutionStatuses = []ExecutionStatus{
	ExecutionPending, ExecutionRunning, ExecutionPausePending, ExecutionPaused, ExecutionCancelling,
}

// TerminalExecutionStatuses is the canonical terminal set (written statuses only).
var TerminalExecutionStatuses = []ExecutionStatus{
	ExecutionCompleted, ExecutionPartial, ExecutionFailed, ExecutionCancelled, ExecutionTimeout,
}

// StoredActiveStatuses is every value an active record may hold in a store,
// including the replaced system's spellings; stores query by these.
var StoredActiveStatuses = []ExecutionStatus{
	ExecutionPending, ExecutionRunning, ExecutionPausePending, ExecutionPaused, ExecutionCancelling,
	ExecutionLegacyPolling, ExecutionLegacyInProgress, ExecutionLegacyInitiated,
	ExecutionLegacyLaunching, ExecutionLegacyStarted,
}

// Canonical maps a stored status to drsorch's vocabulary: legacy running
// spellings read as RUNNING, TERMINATED as FAILED-like terminal (kept as is),
// and the case is normalised.
func (s ExecutionStatus) Canonical() ExecutionStatus {
	u := ExecutionStatus(strings.ToUpper(strings.TrimSpace(string(s))))
	switch u {
	case ExecutionLegacyPolling, ExecutionLegacyInProgress, ExecutionLegacyInitiated,
		ExecutionLegacyLaunching, ExecutionLegacyStarted:
		return ExecutionRunning
	}
	return u
}

// Active reports whether the execution is still running in any form.
func (s ExecutionStatus) Active() bool {
	switch s.Canonical() {
	case ExecutionPending, ExecutionRunning, ExecutionPausePending, ExecutionPaused, ExecutionCancelling:
		return true
	}
	return false
}

// Terminal reports whether the execution has ended. Legacy TERMINATED is terminal.
func (s ExecutionStatus) Terminal() bool {
	switch s.Canonical() {
	case ExecutionCompleted, ExecutionPartial, ExecutionFailed, ExecutionCancelled, ExecutionTimeout,
		ExecutionLegacyTerminated:
		return true
	}
	return false
}

// HoldsPlan reports whether an execution in this status blocks a new start of
// its plan: every active status except CANCELLING.
func (s ExecutionStatus) HoldsPlan() bool {
	return s.Active() && s.Canonical() != ExecutionCancelling
}

// WaveStatus is the status of one wave of an execution.
type WaveStatus string

// Wave statuses.
const (
	WavePending    WaveStatus = "PENDING"
	WaveStarted    WaveStatus = "STARTED"
	WaveInProgress WaveStatus = "IN_PROGRESS"
	WaveCompleted  WaveStatus = "COMPLETED"
	WavePartial    WaveStatus = "PARTIAL"
	WaveFailed     WaveStatus = "FAILED"
	WaveCancelled  WaveStatus = "CANCELLED"
	WaveTimeout    WaveStatus = "TIMEOUT"
)

// WaveStatuses lists every wave status drsorch writes.
var WaveStatuses = []WaveStatus{
	WavePending, WaveStarted, WaveInProgress, WaveCompleted, WavePartial, WaveFailed, WaveCancelled, WaveTimeout,
}

// Canonical maps the replaced system's wave spellings onto drsorch's:
// POLLING/INITIATED/LAUNCHING/RUNNING/ERROR read as IN_PROGRESS, TERMINATED as CANCELLED.
func (s WaveStatus) Canonical() WaveStatus {
	u := WaveStatus(strings.ToUpper(strings.TrimSpace(string(s))))
	switch u {
	case "":
		return WavePending
	case "POLLING", "INITIATED", "LAUNCHING", "RUNNING", "ERROR", "CONVERTING", "UNKNOWN", "LAUNCHED":
		return WaveInProgress
	case "TERMINATED":
		return WaveCancelled
	}
	return u
}

// InFlight reports whether the wave has been started and has not ended.
func (s WaveStatus) InFlight() bool {
	switch s.Canonical() {
	case WaveStarted, WaveInProgress:
		return true
	}
	return false
}

// Terminal reports whether the wave has ended.
func (s WaveStatus) Terminal() bool {
	switch s.Canonical() {
	case WaveCompleted, WavePartial, WaveFailed, WaveCancelled, WaveTimeout:
		return true
	}
	return false
}

// LaunchStatus is a server's launch status: DRS's values plus CANCELLED.
type LaunchStatus string

// Server launch statuses.
const (
	LaunchPending    LaunchStatus = "PENDING"
	LaunchInProgress LaunchStatus = "IN_PROGRESS"
	LaunchLaunched   LaunchStatus = "LAUNCHED"
	LaunchFailed     LaunchStatus = "FAILED"
	LaunchTerminated LaunchStatus = "TERMINATED"
	LaunchCancelled  LaunchStatus = "CANCELLED"
)

// LaunchStatuses lists every server launch status.
var LaunchStatuses = []LaunchStatus{
	LaunchPending, LaunchInProgress, LaunchLaunched, LaunchFailed, LaunchTerminated, LaunchCancelled,
}

// Canonical upper-cases the value; an empty status reads as PENDING.
func (s LaunchStatus) Canonical() LaunchStatus {
	u := LaunchStatus(strings.ToUpper(strings.TrimSpace(string(s))))
	if u == "" {
		return LaunchPending
	}
	return u
}

// Terminal reports whether the server's launch has ended.
func (s LaunchStatus) Terminal() bool {
	switch s.Canonical() {
	case LaunchLaunched, LaunchFailed, LaunchTerminated, LaunchCancelled:
		return true
	}
	return false
}

// JobStatus is a DRS job's status.
type JobStatus string

// DRS job statuses.
const (
	JobPending   JobStatus = "PENDING"
	JobStarted   JobStatus = "STARTED"
	JobCompleted JobStatus = "COMPLETED"
)

// Active reports whether DRS still works on the job (PENDING or STARTED).
func (s JobStatus) Active() bool {
	return s == JobPending || s == JobStarted
}

// JobType is a DRS job's type.
type JobType string

// DRS job types drsorch uses.
const (
	JobLaunch    JobType = "LAUNCH"
	JobTerminate JobType = "TERMINATE"
)

// ExecutionType says whether an execution is a drill or a real recovery.
type ExecutionType string

// Execution types.
const (
	Drill    ExecutionType = "DRILL"
	Recovery ExecutionType = "RECOVERY"
)

// ExecutionTypes lists the allowed execution types.
var ExecutionTypes = []ExecutionType{Drill, Recovery}

// ParseExecutionType reads a type case-insensitively.
func ParseExecutionType(s string) (ExecutionType, bool) {
	switch t := ExecutionType(strings.ToUpper(strings.TrimSpace(s))); t {
	case Drill, Recovery:
		return t, true
	}
	return "", false
}
