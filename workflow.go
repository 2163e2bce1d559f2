package drsorch

import (
	"context"
	"encoding/json"
)

// Workflow drives executions from outside the engine: Step Functions on AWS,
// the in-process runner on one machine.
type Workflow interface {
	// Start begins the workflow of a PENDING execution and returns its reference
	// (the Step Functions execution ARN), or "" when there is none.
	Start(ctx context.Context, e *Execution) (string, error)
	// SendTaskSuccess completes a waiting task with an output.
	SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error
	// SendTaskFailure fails a waiting task.
	SendTaskFailure(ctx context.Context, token, code, cause string) error
	// Stop ends a running workflow.
	Stop(ctx context.Context, ref, code, cause string) error
	// Describe returns the workflow's own status (RUNNING, SUCCEEDED, FAILED…).
	Describe(ctx context.Context, ref string) (string, error)
}

// CodeTaskTokenGone marks a task token that no longer works: used, timed out or unknown.
const CodeTaskTokenGone = "TASK_TOKEN_GONE"

// Dispatcher hands a recorded start to the background path (the Lambda worker,
// the runner's queue) so that the request that recorded it returns at once.
type Dispatcher interface {
	Dispatch(ctx context.Context, e *Execution) error
}

// Notifier tells people about an execution (SNS on AWS, the log on one machine).
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Notification events.
const (
	NotifyStarted   = "started"
	NotifyPaused    = "paused"
	NotifyResumed   = "resumed"
	NotifyCompleted = "completed"
	NotifyFailed    = "failed"
	NotifyCancelled = "cancelled"
)

// Notification is one message about an execution.
type Notification struct {
	Event         string          `json:"eventType"`
	ExecutionID   string          `json:"executionId"`
	PlanID        string          `json:"planId"`
	PlanName      string          `json:"planName,omitempty"`
	ExecutionType ExecutionType   `json:"executionType"`
	Status        ExecutionStatus `json:"status"`
	Wave          *int            `json:"pausedBeforeWave,omitempty"`
	Message       string          `json:"message"`
	ResumeURL     string          `json:"resumeUrl,omitempty"`
	CancelURL     string          `json:"cancelUrl,omitempty"`
}
