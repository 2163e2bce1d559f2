// Package mock holds func-field test doubles of drsorch's interfaces. Each
// method calls the func field of the same name with an Fn suffix, and panics
// with a clear message when that field is nil, so a test sets only the calls
// it expects.
package mock

import (
	"context"
	"encoding/json"
	"time"

	"github.com/drsorch/drsorch"
)

func unset(typ, method string) {
	panic("mock: " + typ + "." + method + " called but " + typ + "." + method + "Fn is nil")
}

// Store is a drsorch.Store whose methods call its func fields.
type Store struct {
	GetPlanFn    func(ctx context.Context, planID string) (*drsorch.RecoveryPlan, error)
	ListPlansFn  func(ctx context.Context) ([]drsorch.RecoveryPlan, error)
	CreatePlanFn func(ctx context.Context, p *drsorch.RecoveryPlan) error
	UpdatePlanFn func(ctx context.Context, p *drsorch.RecoveryPlan) error
	DeletePlanFn func(ctx context.Context, planID string) error

	GetGroupFn    func(ctx context.Context, groupID string) (*drsorch.ProtectionGroup, error)
	ListGroupsFn  func(ctx context.Context) ([]drsorch.ProtectionGroup, error)
	CreateGroupFn func(ctx context.Context, g *drsorch.ProtectionGroup) error
	UpdateGroupFn func(ctx context.Context, g *drsorch.ProtectionGroup) error
	DeleteGroupFn func(ctx context.Context, groupID string) error

	GetAccountFn    func(ctx context.Context, accountID string) (*drsorch.TargetAccount, error)
	ListAccountsFn  func(ctx context.Context) ([]drsorch.TargetAccount, error)
	PutAccountFn    func(ctx context.Context, a *drsorch.TargetAccount) error
	DeleteAccountFn func(ctx context.Context, accountID string) error

	CreateExecutionFn func(ctx context.Context, e *drsorch.Execution) error
	GetExecutionFn    func(ctx context.Context, executionID string) (*drsorch.Execution, error)
	UpdateExecutionFn func(ctx context.Context, e *drsorch.Execution) error
	DeleteExecutionFn func(ctx context.Context, e *drsorch.Execution) error
	ListExecutionsFn  func(ctx context.Context, q drsorch.ExecutionQuery) (drsorch.ExecutionPage, error)
}

var _ drsorch.Store = (*Store)(nil)

// GetPlan calls GetPlanFn.
func (m *Store) GetPlan(ctx context.Context, planID string) (*drsorch.RecoveryPlan, error) {
	if m.GetPlanFn == nil {
		unset("Store", "GetPlan")
	}
	return m.GetPlanFn(ctx, planID)
}

// ListPlans calls ListPlansFn.
func (m *Store) ListPlans(ctx context.Context) ([]drsorch.RecoveryPlan, error) {
	if m.ListPlansFn == nil {
		unset("Store", "ListPlans")
	}
	return m.ListPlansFn(ctx)
}

// CreatePlan calls CreatePlanFn.
func (m *Store) CreatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	if m.CreatePlanFn == nil {
		unset("Store", "CreatePlan")
	}
	return m.CreatePlanFn(ctx, p)
}

// UpdatePlan calls UpdatePlanFn.
func (m *Store) UpdatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	if m.UpdatePlanFn == nil {
		unset("Store", "UpdatePlan")
	}
	return m.UpdatePlanFn(ctx, p)
}

// DeletePlan calls DeletePlanFn.
func (m *Store) DeletePlan(ctx context.Context, planID string) error {
	if m.DeletePlanFn == nil {
		unset("Store", "DeletePlan")
	}
	return m.DeletePlanFn(ctx, planID)
}

// GetGroup calls GetGroupFn.
func (m *Store) GetGroup(ctx context.Context, groupID string) (*drsorch.ProtectionGroup, error) {
	if m.GetGroupFn == nil {
		unset("Store", "GetGroup")
	}
	return m.GetGroupFn(ctx, groupID)
}

// ListGroups calls ListGroupsFn.
func (m *Store) ListGroups(ctx context.Context) ([]drsorch.ProtectionGroup, error) {
	if m.ListGroupsFn == nil {
		unset("Store", "ListGroups")
	}
	return m.ListGroupsFn(ctx)
}

// CreateGroup calls CreateGroupFn.
func (m *Store) CreateGroup(ctx context.Context, g *drsorch.ProtectionGroup) error {
	if m.CreateGroupFn == nil {
		unset("Store", "CreateGroup")
	}
	return m.CreateGroupFn(ctx, g)
}

// UpdateGroup calls UpdateGroupFn.
func (m *Store) UpdateGroup(ctx context.Context, g *drsorch.ProtectionGroup) error {
	if m.UpdateGroupFn == nil {
		unset("Store", "UpdateGroup")
	}
	return m.UpdateGroupFn(ctx, g)
}

// DeleteGroup calls DeleteGroupFn.
func (m *Store) DeleteGroup(ctx context.Context, groupID string) error {
	if m.DeleteGroupFn == nil {
		unset("Store", "DeleteGroup")
	}
	return m.DeleteGroupFn(ctx, groupID)
}

// GetAccount calls GetAccountFn.
func (m *Store) GetAccount(ctx context.Context, accountID string) (*drsorch.TargetAccount, error) {
	if m.GetAccountFn == nil {
		unset("Store", "GetAccount")
	}
	return m.GetAccountFn(ctx, accountID)
}

// ListAccounts calls ListAccountsFn.
func (m *Store) ListAccounts(ctx context.Context) ([]drsorch.TargetAccount, error) {
	if m.ListAccountsFn == nil {
		unset("Store", "ListAccounts")
	}
	return m.ListAccountsFn(ctx)
}

// PutAccount calls PutAccountFn.
func (m *Store) PutAccount(ctx context.Context, a *drsorch.TargetAccount) error {
	if m.PutAccountFn == nil {
		unset("Store", "PutAccount")
	}
	return m.PutAccountFn(ctx, a)
}

// DeleteAccount calls DeleteAccountFn.
func (m *Store) DeleteAccount(ctx context.Context, accountID string) error {
	if m.DeleteAccountFn == nil {
		unset("Store", "DeleteAccount")
	}
	return m.DeleteAccountFn(ctx, accountID)
}

// CreateExecution calls CreateExecutionFn.
func (m *Store) CreateExecution(ctx context.Context, e *drsorch.Execution) error {
	if m.CreateExecutionFn == nil {
		unset("Store", "CreateExecution")
	}
	return m.CreateExecutionFn(ctx, e)
}

// GetExecution calls GetExecutionFn.
func (m *Store) GetExecution(ctx context.Context, executionID string) (*drsorch.Execution, error) {
	if m.GetExecutionFn == nil {
		unset("Store", "GetExecution")
	}
	return m.GetExecutionFn(ctx, executionID)
}

// UpdateExecution calls UpdateExecutionFn.
func (m *Store) UpdateExecution(ctx context.Context, e *drsorch.Execution) error {
	if m.UpdateExecutionFn == nil {
		unset("Store", "UpdateExecution")
	}
	return m.UpdateExecutionFn(ctx, e)
}

// DeleteExecution calls DeleteExecutionFn.
func (m *Store) DeleteExecution(ctx context.Context, e *drsorch.Execution) error {
	if m.DeleteExecutionFn == nil {
		unset("Store", "DeleteExecution")
	}
	return m.DeleteExecutionFn(ctx, e)
}

// ListExecutions calls ListExecutionsFn.
func (m *Store) ListExecutions(ctx context.Context, q drsorch.ExecutionQuery) (drsorch.ExecutionPage, error) {
	if m.ListExecutionsFn == nil {
		unset("Store", "ListExecutions")
	}
	return m.ListExecutionsFn(ctx, q)
}

// DRS is a drsorch.DRS whose methods call its func fields.
type DRS struct {
	StartRecoveryFn              func(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error)
	DescribeJobsFn               func(ctx context.Context, t drsorch.Target, f drsorch.JobFilter) ([]drsorch.Job, error)
	DescribeJobLogItemsFn        func(ctx context.Context, t drsorch.Target, jobID string) ([]drsorch.JobLogItem, error)
	DescribeRecoveryInstancesFn  func(ctx context.Context, t drsorch.Target, f drsorch.RecoveryInstanceFilter) ([]drsorch.RecoveryInstance, error)
	DescribeSourceServersFn      func(ctx context.Context, t drsorch.Target, f drsorch.SourceServerFilter) ([]drsorch.SourceServer, error)
	DescribeRecoverySnapshotsFn  func(ctx context.Context, t drsorch.Target, f drsorch.SnapshotFilter) ([]drsorch.RecoverySnapshot, error)
	TerminateRecoveryInstancesFn func(ctx context.Context, t drsorch.Target, recoveryInstanceIDs []string) (drsorch.Job, error)
}

var _ drsorch.DRS = (*DRS)(nil)

// StartRecovery calls StartRecoveryFn.
func (m *DRS) StartRecovery(ctx context.Context, t drsorch.Target, in drsorch.StartRecoveryInput) (drsorch.Job, error) {
	if m.StartRecoveryFn == nil {
		unset("DRS", "StartRecovery")
	}
	return m.StartRecoveryFn(ctx, t, in)
}

// DescribeJobs calls DescribeJobsFn.
func (m *DRS) DescribeJobs(ctx context.Context, t drsorch.Target, f drsorch.JobFilter) ([]drsorch.Job, error) {
	if m.DescribeJobsFn == nil {
		unset("DRS", "DescribeJobs")
	}
	return m.DescribeJobsFn(ctx, t, f)
}

// DescribeJobLogItems calls DescribeJobLogItemsFn.
func (m *DRS) DescribeJobLogItems(ctx context.Context, t drsorch.Target, jobID string) ([]drsorch.JobLogItem, error) {
	if m.DescribeJobLogItemsFn == nil {
		unset("DRS", "DescribeJobLogItems")
	}
	return m.DescribeJobLogItemsFn(ctx, t, jobID)
}

// DescribeRecoveryInstances calls DescribeRecoveryInstancesFn.
func (m *DRS) DescribeRecoveryInstances(ctx context.Context, t drsorch.Target, f drsorch.RecoveryInstanceFilter) ([]drsorch.RecoveryInstance, error) {
	if m.DescribeRecoveryInstancesFn == nil {
		unset("DRS", "DescribeRecoveryInstances")
	}
	return m.DescribeRecoveryInstancesFn(ctx, t, f)
}

// DescribeSourceServers calls DescribeSourceServersFn.
func (m *DRS) DescribeSourceServers(ctx context.Context, t drsorch.Target, f drsorch.SourceServerFilter) ([]drsorch.SourceServer, error) {
	if m.DescribeSourceServersFn == nil {
		unset("DRS", "DescribeSourceServers")
	}
	return m.DescribeSourceServersFn(ctx, t, f)
}

// DescribeRecoverySnapshots calls DescribeRecoverySnapshotsFn.
func (m *DRS) DescribeRecoverySnapshots(ctx context.Context, t drsorch.Target, f drsorch.SnapshotFilter) ([]drsorch.RecoverySnapshot, error) {
	if m.DescribeRecoverySnapshotsFn == nil {
		unset("DRS", "DescribeRecoverySnapshots")
	}
	return m.DescribeRecoverySnapshotsFn(ctx, t, f)
}

// TerminateRecoveryInstances calls TerminateRecoveryInstancesFn.
func (m *DRS) TerminateRecoveryInstances(ctx context.Context, t drsorch.Target, recoveryInstanceIDs []string) (drsorch.Job, error) {
	if m.TerminateRecoveryInstancesFn == nil {
		unset("DRS", "TerminateRecoveryInstances")
	}
	return m.TerminateRecoveryInstancesFn(ctx, t, recoveryInstanceIDs)
}

// Workflow is a drsorch.Workflow whose methods call its func fields.
type Workflow struct {
	StartFn           func(ctx context.Context, e *drsorch.Execution) (string, error)
	SendTaskSuccessFn func(ctx context.Context, token string, output json.RawMessage) error
	SendTaskFailureFn func(ctx context.Context, token, code, cause string) error
	StopFn            func(ctx context.Context, ref, code, cause string) error
	DescribeFn        func(ctx context.Context, ref string) (string, error)
}

var _ drsorch.Workflow = (*Workflow)(nil)

// Start calls StartFn.
func (m *Workflow) Start(ctx context.Context, e *drsorch.Execution) (string, error) {
	if m.StartFn == nil {
		unset("Workflow", "Start")
	}
	return m.StartFn(ctx, e)
}

// SendTaskSuccess calls SendTaskSuccessFn.
func (m *Workflow) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if m.SendTaskSuccessFn == nil {
		unset("Workflow", "SendTaskSuccess")
	}
	return m.SendTaskSuccessFn(ctx, token, output)
}

// SendTaskFailure calls SendTaskFailureFn.
func (m *Workflow) SendTaskFailure(ctx context.Context, token, code, cause string) error {
	if m.SendTaskFailureFn == nil {
		unset("Workflow", "SendTaskFailure")
	}
	return m.SendTaskFailureFn(ctx, token, code, cause)
}

// Stop calls StopFn.
func (m *Workflow) Stop(ctx context.Context, ref, code, cause string) error {
	if m.StopFn == nil {
		unset("Workflow", "Stop")
	}
	return m.StopFn(ctx, ref, code, cause)
}

// Describe calls DescribeFn.
func (m *Workflow) Describe(ctx context.Context, ref string) (string, error) {
	if m.DescribeFn == nil {
		unset("Workflow", "Describe")
	}
	return m.DescribeFn(ctx, ref)
}

// Dispatcher is a drsorch.Dispatcher whose method calls DispatchFn.
type Dispatcher struct {
	DispatchFn func(ctx context.Context, e *drsorch.Execution) error
}

var _ drsorch.Dispatcher = (*Dispatcher)(nil)

// Dispatch calls DispatchFn.
func (m *Dispatcher) Dispatch(ctx context.Context, e *drsorch.Execution) error {
	if m.DispatchFn == nil {
		unset("Dispatcher", "Dispatch")
	}
	return m.DispatchFn(ctx, e)
}

// Notifier is a drsorch.Notifier whose method calls NotifyFn.
type Notifier struct {
	NotifyFn func(ctx context.Context, n drsorch.Notification) error
}

var _ drsorch.Notifier = (*Notifier)(nil)

// Notify calls NotifyFn.
func (m *Notifier) Notify(ctx context.Context, n drsorch.Notification) error {
	if m.NotifyFn == nil {
		unset("Notifier", "Notify")
	}
	return m.NotifyFn(ctx, n)
}

// Authorizer is a drsorch.Authorizer whose method calls AuthorizeFn.
type Authorizer struct {
	AuthorizeFn func(ctx context.Context, c drsorch.Caller, p drsorch.Permission, execType drsorch.ExecutionType) error
}

var _ drsorch.Authorizer = (*Authorizer)(nil)

// Authorize calls AuthorizeFn.
func (m *Authorizer) Authorize(ctx context.Context, c drsorch.Caller, p drsorch.Permission, execType drsorch.ExecutionType) error {
	if m.AuthorizeFn == nil {
		unset("Authorizer", "Authorize")
	}
	return m.AuthorizeFn(ctx, c, p, execType)
}

// Clock is a drsorch.Clock whose method calls NowFn.
type Clock struct {
	NowFn func() time.Time
}

var _ drsorch.Clock = (*Clock)(nil)

// Now calls NowFn.
func (m *Clock) Now() time.Time {
	if m.NowFn == nil {
		unset("Clock", "Now")
	}
	return m.NowFn()
}
