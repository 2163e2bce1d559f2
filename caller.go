package drsorch

import "context"

// Caller is the authenticated identity behind a request.
type Caller struct {
	Subject  string   `json:"sub,omitempty"`
	Email    string   `json:"email,omitempty"`
	Username string   `json:"username,omitempty"`
	Groups   []string `json:"groups,omitempty"`
	// System marks internal callers (workflow, scheduler, direct invocation under IAM).
	System bool `json:"system,omitempty"`
}

// Name is how the caller appears in records: email, else username, else subject.
func (c Caller) Name() string {
	switch {
	case c.Email != "":
		return c.Email
	case c.Username != "":
		return c.Username
	case c.Subject != "":
		return c.Subject
	case c.System:
		return "system"
	}
	return "unknown"
}

// SystemCaller is the identity of the engine's own steps.
var SystemCaller = Caller{Username: "system", System: true}

// Permissions checked before an operation.
type Permission string

// The permissions of the matrix.
const (
	PermViewExecutions     Permission = "view_executions"
	PermStartDrill         Permission = "start_drill"
	PermStartRecovery      Permission = "start_recovery"
	PermStopExecution      Permission = "stop_execution"
	PermTerminateInstances Permission = "terminate_instances"
	PermDeleteExecutions   Permission = "delete_executions"
	PermManagePlans        Permission = "manage_plans"
)

// Authorizer decides whether a caller may do something; execType is the
// execution's type when the operation concerns one ("" otherwise).
type Authorizer interface {
	Authorize(ctx context.Context, c Caller, p Permission, execType ExecutionType) error
}

type callerKey struct{}

// WithCaller returns a context carrying the caller.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller carried by ctx; an anonymous Caller when there is none.
func CallerFrom(ctx context.Context) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return Caller{}
}
