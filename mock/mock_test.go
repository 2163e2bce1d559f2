package mock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/mock"
)

var errSentinel = errors.New("sentinel")

// call is one method of a double: set installs its func (counting calls into
// *n), invoke calls the method and returns its error.
type call struct {
	name   string
	set    func(n *int)
	invoke func() error
}

func TestDoubles(t *testing.T) {
	ctx := context.Background()
	var (
		st  mock.Store
		drs mock.DRS
		wf  mock.Workflow
		dp  mock.Dispatcher
		nt  mock.Notifier
		az  mock.Authorizer
		ck  mock.Clock
	)
	tgt := drsorch.Target{AccountID: "111122223333", Region: "us-east-1"}
	calls := []call{
		{"Store.GetPlan", func(n *int) {
			st.GetPlanFn = func(context.Context, string) (*drsorch.RecoveryPlan, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.GetPlan(ctx, "p"); return err }},
		{"Store.ListPlans", func(n *int) {
			st.ListPlansFn = func(context.Context) ([]drsorch.RecoveryPlan, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.ListPlans(ctx); return err }},
		{"Store.CreatePlan", func(n *int) {
			st.CreatePlanFn = func(context.Context, *drsorch.RecoveryPlan) error { *n++; return errSentinel }
		}, func() error { return st.CreatePlan(ctx, &drsorch.RecoveryPlan{}) }},
		{"Store.UpdatePlan", func(n *int) {
			st.UpdatePlanFn = func(context.Context, *drsorch.RecoveryPlan) error { *n++; return errSentinel }
		}, func() error { return st.UpdatePlan(ctx, &drsorch.RecoveryPlan{}) }},
		{"Store.DeletePlan", func(n *int) {
			st.DeletePlanFn = func(context.Context, string) error { *n++; return errSentinel }
		}, func() error { return st.DeletePlan(ctx, "p") }},
		{"Store.GetGroup", func(n *int) {
			st.GetGroupFn = func(context.Context, string) (*drsorch.ProtectionGroup, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.GetGroup(ctx, "g"); return err }},
		{"Store.ListGroups", func(n *int) {
			st.ListGroupsFn = func(context.Context) ([]drsorch.ProtectionGroup, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.ListGroups(ctx); return err }},
		{"Store.CreateGroup", func(n *int) {
			st.CreateGroupFn = func(context.Context, *drsorch.ProtectionGroup) error { *n++; return errSentinel }
		}, func() error { return st.CreateGroup(ctx, &drsorch.ProtectionGroup{}) }},
		{"Store.UpdateGroup", func(n *int) {
			st.UpdateGroupFn = func(context.Context, *drsorch.ProtectionGroup) error { *n++; return errSentinel }
		}, func() error { return st.UpdateGroup(ctx, &drsorch.ProtectionGroup{}) }},
		{"Store.DeleteGroup", func(n *int) {
			st.DeleteGroupFn = func(context.Context, string) error { *n++; return errSentinel }
		}, func() error { return st.DeleteGroup(ctx, "g") }},
		{"Store.GetAccount", func(n *int) {
			st.GetAccountFn = func(context.Context, string) (*drsorch.TargetAccount, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.GetAccount(ctx, "a"); return err }},
		{"Store.ListAccounts", func(n *int) {
			st.ListAccountsFn = func(context.Context) ([]drsorch.TargetAccount, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.ListAccounts(ctx); return err }},
		{"Store.PutAccount", func(n *int) {
			st.PutAccountFn = func(context.Context, *drsorch.TargetAccount) error { *n++; return errSentinel }
		}, func() error { return st.PutAccount(ctx, &drsorch.TargetAccount{}) }},
		{"Store.DeleteAccount", func(n *int) {
			st.DeleteAccountFn = func(context.Context, string) error { *n++; return errSentinel }
		}, func() error { return st.DeleteAccount(ctx, "a") }},
		{"Store.CreateExecution", func(n *int) {
			st.CreateExecutionFn = func(context.Context, *drsorch.Execution) error { *n++; return errSentinel }
		}, func() error { return st.CreateExecution(ctx, &drsorch.Execution{}) }},
		{"Store.GetExecution", func(n *int) {
			st.GetExecutionFn = func(context.Context, string) (*drsorch.Execution, error) { *n++; return nil, errSentinel }
		}, func() error { _, err := st.GetExecution(ctx, "e"); return err }},
		{"Store.UpdateExecution", func(n *int) {
			st.UpdateExecutionFn = func(context.Context, *drsorch.Execution) error { *n++; return errSentinel }
		}, func() error { return st.UpdateExecution(ctx, &drsorch.Execution{}) }},
		{"Store.DeleteExecution", func(n *int) {
			st.DeleteExecutionFn = func(context.Context, *drsorch.Execution) error { *n++; return errSentinel }
		}, func() error { return st.DeleteExecution(ctx, &drsorch.Execution{}) }},
		{"Store.ListExecutions", func(n *int) {
			st.ListExecutionsFn = func(context.Context, drsorch.ExecutionQuery) (drsorch.ExecutionPage, error) {
				*n++
				return drsorch.ExecutionPage{}, errSentinel
			}
		}, func() error { _, err := st.ListExecutions(ctx, drsorch.ExecutionQuery{}); return err }},

		{"DRS.StartRecovery", func(n *int) {
			drs.StartRecoveryFn = func(context.Context, drsorch.Target, drsorch.StartRecoveryInput) (drsorch.Job, error) {
				*n++
				return drsorch.Job{}, errSentinel
			}
		}, func() error { _, err := drs.StartRecovery(ctx, tgt, drsorch.StartRecoveryInput{}); return err }},
		{"DRS.DescribeJobs", func(n *int) {
			drs.DescribeJobsFn = func(context.Context, drsorch.Target, drsorch.JobFilter) ([]drsorch.Job, error) {
				*n++
				return nil, errSentinel
			}
		}, func() error { _, err := drs.DescribeJobs(ctx, tgt, drsorch.JobFilter{}); return err }},
		{"DRS.DescribeJobLogItems", func(n *int) {
			drs.DescribeJobLogItemsFn = func(context.Context, drsorch.Target, string) ([]drsorch.JobLogItem, error) {
				*n++
				return nil, errSentinel
			}
		}, func() error { _, err := drs.DescribeJobLogItems(ctx, tgt, "j"); return err }},
		{"DRS.DescribeRecoveryInstances", func(n *int) {
			drs.DescribeRecoveryInstancesFn = func(context.Context, drsorch.Target, drsorch.RecoveryInstanceFilter) ([]drsorch.RecoveryInstance, error) {
				*n++
				return nil, errSentinel
			}
		}, func() error {
			_, err := drs.DescribeRecoveryInstances(ctx, tgt, drsorch.RecoveryInstanceFilter{})
			return err
		}},
		{"DRS.DescribeSourceServers", func(n *int) {
			drs.DescribeSourceServersFn = func(context.Context, drsorch.Target, drsorch.SourceServerFilter) ([]drsorch.SourceServer, error) {
				*n++
				return nil, errSentinel
			}
		}, func() error { _, err := drs.DescribeSourceServers(ctx, tgt, drsorch.SourceServerFilter{}); return err }},
		{"DRS.DescribeRecoverySnapshots", func(n *int) {
			drs.DescribeRecoverySnapshotsFn = func(context.Context, drsorch.Target, drsorch.SnapshotFilter) ([]drsorch.RecoverySnapshot, error) {
				*n++
				return nil, errSentinel
			}
		}, func() error { _, err := drs.DescribeRecoverySnapshots(ctx, tgt, drsorch.SnapshotFilter{}); return err }},
		{"DRS.TerminateRecoveryInstances", func(n *int) {
			drs.TerminateRecoveryInstancesFn = func(context.Context, drsorch.Target, []string) (drsorch.Job, error) {
				*n++
				return drsorch.Job{}, errSentinel
			}
		}, func() error { _, err := drs.TerminateRecoveryInstances(ctx, tgt, []string{"i"}); return err }},

		{"Workflow.Start", func(n *int) {
			wf.StartFn = func(context.Context, *drsorch.Execution) (string, error) { *n++; return "", errSentinel }
		}, func() error { _, err := wf.Start(ctx, &drsorch.Execution{}); return err }},
		{"Workflow.SendTaskSuccess", func(n *int) {
			wf.SendTaskSuccessFn = func(context.Context, string, json.RawMessage) error { *n++; return errSentinel }
		}, func() error { return wf.SendTaskSuccess(ctx, "tok", json.RawMessage(`{}`)) }},
		{"Workflow.SendTaskFailure", func(n *int) {
			wf.SendTaskFailureFn = func(context.Context, string, string, string) error { *n++; return errSentinel }
		}, func() error { return wf.SendTaskFailure(ctx, "tok", "code", "cause") }},
		{"Workflow.Stop", func(n *int) {
			wf.StopFn = func(context.Context, string, string, string) error { *n++; return errSentinel }
		}, func() error { return wf.Stop(ctx, "ref", "code", "cause") }},
		{"Workflow.Describe", func(n *int) {
			wf.DescribeFn = func(context.Context, string) (string, error) { *n++; return "", errSentinel }
		}, func() error { _, err := wf.Describe(ctx, "ref"); return err }},

		{"Dispatcher.Dispatch", func(n *int) {
			dp.DispatchFn = func(context.Context, *drsorch.Execution) error { *n++; return errSentinel }
		}, func() error { return dp.Dispatch(ctx, &drsorch.Execution{}) }},
		{"Notifier.Notify", func(n *int) {
			nt.NotifyFn = func(context.Context, drsorch.Notification) error { *n++; return errSentinel }
		}, func() error { return nt.Notify(ctx, drsorch.Notification{}) }},
		{"Authorizer.Authorize", func(n *int) {
			az.AuthorizeFn = func(context.Context, drsorch.Caller, drsorch.Permission, drsorch.ExecutionType) error {
				*n++
				return errSentinel
			}
		}, func() error { return az.Authorize(ctx, drsorch.Caller{}, drsorch.PermStartDrill, drsorch.Drill) }},
		{"Clock.Now", func(n *int) {
			ck.NowFn = func() time.Time { *n++; return time.Time{} }
		}, func() error { ck.Now(); return errSentinel }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			msg := panicMessage(func() { c.invoke() })
			method := c.name[strings.Index(c.name, ".")+1:]
			if !strings.Contains(msg, c.name) || !strings.Contains(msg, method+"Fn is nil") {
				t.Errorf("unset func: panic %q, want one naming %s and %sFn", msg, c.name, method)
			}
			var n int
			c.set(&n)
			if err := c.invoke(); !errors.Is(err, errSentinel) {
				t.Errorf("error = %v, want the func's result", err)
			}
			if n != 1 {
				t.Errorf("func called %d times, want 1", n)
			}
		})
	}
}

// panicMessage runs f and returns what it panicked with, or "".
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}
