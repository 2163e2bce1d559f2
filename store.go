package drsorch

import "context"

// Store keeps plans, protection groups, target accounts and executions.
//
// Writes are version-checked: Create* stores the argument's version, or 1 when
// it is 0 (setting it in the argument), and fails with ALREADY_EXISTS when the id exists; Update* succeeds
// only when the stored version equals the given one, then stores and returns
// version+1 in the argument. A lost race is a VERSION_CONFLICT error; a missing
// item NOT_FOUND (Get, Update and Delete alike). PutAccount replaces an account
// unconditionally: target accounts are configuration, not state.
//
// Reads return whole records: executions from Get and List carry their Secrets,
// so an execution read from a list can be updated without losing them.
type Store interface {
	GetPlan(ctx context.Context, planID string) (*RecoveryPlan, error)
	// ListPlans, ListGroups and ListAccounts return every record, by name then id.
	ListPlans(ctx context.Context) ([]RecoveryPlan, error)
	CreatePlan(ctx context.Context, p *RecoveryPlan) error
	UpdatePlan(ctx context.Context, p *RecoveryPlan) error
	DeletePlan(ctx context.Context, planID string) error

	GetGroup(ctx context.Context, groupID string) (*ProtectionGroup, error)
	ListGroups(ctx context.Context) ([]ProtectionGroup, error)
	CreateGroup(ctx context.Context, g *ProtectionGroup) error
	UpdateGroup(ctx context.Context, g *ProtectionGroup) error
	DeleteGroup(ctx context.Context, groupID string) error

	GetAccount(ctx context.Context, accountID string) (*TargetAccount, error)
	ListAccounts(ctx context.Context) ([]TargetAccount, error)
	PutAccount(ctx context.Context, a *TargetAccount) error
	DeleteAccount(ctx context.Context, accountID string) error

	// CreateExecution stores a new execution. When its status holds the plan
	// (ExecutionStatus.HoldsPlan) and another execution of the same plan already
	// does, it fails with ALREADY_EXISTS; this is the one-active-per-plan rule.
	CreateExecution(ctx context.Context, e *Execution) error
	GetExecution(ctx context.Context, executionID string) (*Execution, error)
	// UpdateExecution writes the whole execution, secrets included, if its version matches.
	UpdateExecution(ctx context.Context, e *Execution) error
	// DeleteExecution removes an execution if its version matches.
	DeleteExecution(ctx context.Context, e *Execution) error
	// ListExecutions returns one page, newest startTime first (ties by executionId, descending).
	ListExecutions(ctx context.Context, q ExecutionQuery) (ExecutionPage, error)
}

// ExecutionQuery filters and pages ListExecutions.
type ExecutionQuery struct {
	// Statuses keeps executions whose stored status is one of these (exact match).
	Statuses []ExecutionStatus
	PlanID   string
	// AccountID matches the top-level accountId or accountContext.accountId.
	AccountID string
	// Limit is the page size; 0 or less means 100. Stores cap it at 1000.
	Limit int
	// NextToken continues a previous page; it is opaque to callers. A token the
	// store did not issue is an INVALID_PARAMETER error.
	NextToken string
}

// ExecutionPage is one page of executions; NextToken is "" on the last page.
type ExecutionPage struct {
	Items     []Execution
	NextToken string
}

// DefaultPageSize and MaxPageSize bound ListExecutions pages.
const (
	DefaultPageSize = 100
	MaxPageSize     = 1000
)
