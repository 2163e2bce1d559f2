package drsorchtest

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
)

// TestStore runs the contract every drsorch.Store implementation must pass.
// newStore is called once per subtest and must return a new, empty store;
// it registers its own cleanup with t.Cleanup.
//
// The suite checks only what the Store interface promises, so it runs
// unchanged against SQLite, DynamoDB or an in-memory store.
func TestStore(t *testing.T, newStore func(t *testing.T) drsorch.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s drsorch.Store)
	}{
		{"Plans", storePlans.run},
		{"Groups", storeGroups.run},
		{"Accounts", storeTestAccounts},
		{"ExecutionRoundTrip", storeTestExecutionRoundTrip},
		{"ExecutionLegacyStatuses", storeTestLegacyStatuses},
		{"ExecutionDuplicateID", storeTestExecutionDuplicateID},
		{"ExecutionVersionChecks", storeTestExecutionVersionChecks},
		{"OneActivePerPlanOnCreate", storeTestOneActiveOnCreate},
		{"OneActivePerPlanOnUpdate", storeTestOneActiveOnUpdate},
		{"ListExecutionsPaging", storeTestListPaging},
		{"ListExecutionsLimit", storeTestListLimit},
		{"ListExecutionsFilters", storeTestListFilters},
		{"ListExecutionsBadToken", storeTestListBadToken},
		{"ConcurrentUpdates", storeTestConcurrentUpdates},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newStore(t))
		})
	}
}

// storeVersioned describes a version-checked record kind (plans, groups) to
// the CRUD test; the Store methods are given as method expressions.
type storeVersioned[T any] struct {
	newItem func(id, name string) *T
	id      func(*T) string
	version func(*T) *int64
	rename  func(*T, string)
	create  func(drsorch.Store, context.Context, *T) error
	update  func(drsorch.Store, context.Context, *T) error
	get     func(drsorch.Store, context.Context, string) (*T, error)
	list    func(drsorch.Store, context.Context) ([]T, error)
	del     func(drsorch.Store, context.Context, string) error
}

var storePlans = storeVersioned[drsorch.RecoveryPlan]{
	newItem: func(id, name string) *drsorch.RecoveryPlan {
		return &drsorch.RecoveryPlan{
			PlanID: id, PlanName: name, Description: "plan " + name, AccountID: "111122223333",
			Waves: []drsorch.PlanWave{
				{WaveNumber: 0, WaveName: "Databases", ProtectionGroupID: "pg-db", ServerIDs: []string{"s-1", "s-2"}, TimeoutSeconds: 3600},
				{WaveNumber: 1, WaveName: "Apps", ProtectionGroupIDs: []string{"pg-app", "pg-web"}, PauseBeforeWave: true, DependsOnWaves: []int{0}},
			},
			CreatedDate: 1767225600, LastModifiedDate: 1767225601,
		}
	},
	id:      func(p *drsorch.RecoveryPlan) string { return p.PlanID },
	version: func(p *drsorch.RecoveryPlan) *int64 { return &p.Version },
	rename:  func(p *drsorch.RecoveryPlan, n string) { p.PlanName = n },
	create:  drsorch.Store.CreatePlan,
	update:  drsorch.Store.UpdatePlan,
	get:     drsorch.Store.GetPlan,
	list:    drsorch.Store.ListPlans,
	del:     drsorch.Store.DeletePlan,
}

var storeGroups = storeVersioned[drsorch.ProtectionGroup]{
	newItem: func(id, name string) *drsorch.ProtectionGroup {
		return &drsorch.ProtectionGroup{
			GroupID: id, GroupName: name, Description: "group " + name, Region: "us-east-1",
			AccountID: "111122223333", AssumeRoleName: "DRSRole",
			SourceServerIDs:     []string{"s-1", "s-2"},
			ServerSelectionTags: map[string]string{"Tier": "db"},
			LaunchConfig:        map[string]any{"copyTags": true, "targetInstanceTypeRightSizingMethod": "BASIC"},
			CreatedDate:         1767225600, LastModifiedDate: 1767225601,
		}
	},
	id:      func(g *drsorch.ProtectionGroup) string { return g.GroupID },
	version: func(g *drsorch.ProtectionGroup) *int64 { return &g.Version },
	rename:  func(g *drsorch.ProtectionGroup, n string) { g.GroupName = n },
	create:  drsorch.Store.CreateGroup,
	update:  drsorch.Store.UpdateGroup,
	get:     drsorch.Store.GetGroup,
	list:    drsorch.Store.ListGroups,
	del:     drsorch.Store.DeleteGroup,
}

// run checks create, get, list, update and delete with their version checks and error codes.
func (k storeVersioned[T]) run(t *testing.T, s drsorch.Store) {
	ctx := t.Context()

	_, err := k.get(s, ctx, "missing")
	storeWantCode(t, err, drsorch.CodeNotFound, "get missing")
	ghost := k.newItem("missing", "Ghost")
	*k.version(ghost) = 1
	storeWantCode(t, k.update(s, ctx, ghost), drsorch.CodeNotFound, "update missing")
	storeWantCode(t, k.del(s, ctx, "missing"), drsorch.CodeNotFound, "delete missing")

	a := k.newItem("id-a", "Alpha")
	storeWantCode(t, k.create(s, ctx, a), "", "create a")
	if v := *k.version(a); v != 1 {
		t.Errorf("after create: argument version = %d, want 1", v)
	}
	got, err := k.get(s, ctx, "id-a")
	storeWantCode(t, err, "", "get a")
	storeSameJSON(t, "get after create", got, a)

	dup := k.newItem("id-a", "Impostor")
	storeWantCode(t, k.create(s, ctx, dup), drsorch.CodeAlreadyExists, "create existing id")
	got, _ = k.get(s, ctx, "id-a")
	storeSameJSON(t, "after refused create", got, a)

	b, c := k.newItem("id-b", "Bravo"), k.newItem("id-c", "Charlie")
	storeWantCode(t, k.create(s, ctx, b), "", "create b")
	storeWantCode(t, k.create(s, ctx, c), "", "create c")
	all, err := k.list(s, ctx)
	storeWantCode(t, err, "", "list")
	storeSameSet(t, "list", all, []*T{a, b, c}, k.id)

	stale := k.newItem("id-a", "Alpha")
	*k.version(stale) = 1
	k.rename(a, "Alpha renamed")
	storeWantCode(t, k.update(s, ctx, a), "", "update a")
	if v := *k.version(a); v != 2 {
		t.Errorf("after update: argument version = %d, want 2", v)
	}
	got, _ = k.get(s, ctx, "id-a")
	storeSameJSON(t, "get after update", got, a)

	k.rename(stale, "Alpha stale")
	storeWantCode(t, k.update(s, ctx, stale), drsorch.CodeVersionConflict, "stale update")
	if v := *k.version(stale); v != 1 {
		t.Errorf("after refused update: argument version = %d, want 1 (unchanged)", v)
	}
	got, _ = k.get(s, ctx, "id-a")
	storeSameJSON(t, "after refused update", got, a)

	storeWantCode(t, k.update(s, ctx, a), "", "second update of a")
	if v := *k.version(a); v != 3 {
		t.Errorf("after second update: argument version = %d, want 3", v)
	}

	storeWantCode(t, k.del(s, ctx, "id-a"), "", "delete a")
	_, err = k.get(s, ctx, "id-a")
	storeWantCode(t, err, drsorch.CodeNotFound, "get deleted")
	storeWantCode(t, k.del(s, ctx, "id-a"), drsorch.CodeNotFound, "delete deleted")
	storeWantCode(t, k.update(s, ctx, a), drsorch.CodeNotFound, "update deleted")
	all, _ = k.list(s, ctx)
	storeSameSet(t, "list after delete", all, []*T{b, c}, k.id)
}

func storeTestAccounts(t *testing.T, s drsorch.Store) {
	ctx := t.Context()
	_, err := s.GetAccount(ctx, "000000000000")
	storeWantCode(t, err, drsorch.CodeNotFound, "get missing")
	storeWantCode(t, s.DeleteAccount(ctx, "000000000000"), drsorch.CodeNotFound, "delete missing")

	a := &drsorch.TargetAccount{
		AccountID: "111122223333", AccountName: "Production", RoleARN: "arn:aws:iam::111122223333:role/DRS",
		AssumeRoleName: "DRS", CrossAccountRoleARN: "arn:aws:iam::111122223333:role/X", ExternalID: "ext-1",
		Regions: []string{"us-east-1", "us-west-2"}, Status: "active",
	}
	b := &drsorch.TargetAccount{AccountID: "444455556666", AccountName: "Staging"}
	storeWantCode(t, s.PutAccount(ctx, a), "", "put a")
	storeWantCode(t, s.PutAccount(ctx, b), "", "put b")
	got, err := s.GetAccount(ctx, a.AccountID)
	storeWantCode(t, err, "", "get a")
	storeSameJSON(t, "get after put", got, a)

	a.AccountName, a.Regions, a.ExternalID = "Production (renamed)", []string{"eu-west-1"}, ""
	storeWantCode(t, s.PutAccount(ctx, a), "", "put a again")
	got, _ = s.GetAccount(ctx, a.AccountID)
	storeSameJSON(t, "get after replacing put", got, a)

	all, err := s.ListAccounts(ctx)
	storeWantCode(t, err, "", "list")
	id := func(a *drsorch.TargetAccount) string { return a.AccountID }
	storeSameSet(t, "list", all, []*drsorch.TargetAccount{a, b}, id)

	storeWantCode(t, s.DeleteAccount(ctx, a.AccountID), "", "delete a")
	_, err = s.GetAccount(ctx, a.AccountID)
	storeWantCode(t, err, drsorch.CodeNotFound, "get deleted")
	storeWantCode(t, s.DeleteAccount(ctx, a.AccountID), drsorch.CodeNotFound, "delete deleted")
	all, _ = s.ListAccounts(ctx)
	storeSameSet(t, "list after delete", all, []*drsorch.TargetAccount{b}, id)
}

// storeExecution returns a small execution of a plan with the given status and start time.
func storeExecution(id, planID string, status drsorch.ExecutionStatus, start int64) *drsorch.Execution {
	return &drsorch.Execution{
		ExecutionID: id, PlanID: planID, PlanName: "Plan " + planID,
		ExecutionType: drsorch.Drill, Status: status, StartTime: start,
		InitiatedBy: "tester@example.com", TotalWaves: 1,
		Waves: []drsorch.ExecutionWave{{WaveNumber: 0, WaveName: "Wave 1", ServerIDs: []string{"s-1"}, Status: drsorch.WavePending}},
	}
}

// storeFullExecution returns an execution with every field set, nested ones included.
func storeFullExecution(id string) *drsorch.Execution {
	wave := func(n int) *int { return &n }
	at := Epoch.Add(90 * time.Second)
	start := Epoch.Unix()
	return &drsorch.Execution{
		ExecutionID: id, PlanID: "plan-full", PlanName: "Full plan",
		ExecutionType: drsorch.Recovery, Status: drsorch.ExecutionPaused,
		StartTime: start, EndTime: start + 7200,
		InitiatedBy: "alice@example.com",
		Waves: []drsorch.ExecutionWave{
			{
				WaveNumber: 1, WaveName: "Databases", WaveDescription: "first", ProtectionGroupID: "pg-db",
				ProtectionGroupIDs: []string{"pg-db", "pg-cache"}, ServerIDs: []string{"s-1", "s-2"},
				Status: drsorch.WaveCompleted, PauseBeforeWave: true, PauseApproved: true, DependsOnWaves: []int{7},
				TimeoutSeconds: 3600, JobID: "drsjob-1", StartTime: start + 1, EndTime: start + 600, Region: "us-east-1",
				StatusMessage: "all launched",
				Jobs: []drsorch.WaveJob{{
					IntentID: "intent-1", JobID: "drsjob-1", Status: drsorch.JobCompleted, Region: "us-east-1",
					AccountID: "111122223333", ServerIDs: []string{"s-1", "s-2"}, SubmittedAt: start + 1,
					EndTime: start + 600, Attempts: 2, LogsFetchedAt: start + 601, Error: "retried once",
				}},
				ServerStatuses: []drsorch.ServerStatus{{
					SourceServerID: "s-1", ServerName: "db-1", Hostname: "db-1.local", LaunchStatus: drsorch.LaunchLaunched,
					JobID: "drsjob-1", RecoveryInstanceID: "i-rec-1", InstanceID: "i-0123", PrivateIP: "10.0.0.1",
					InstanceType: "m5.large", InstanceState: "running", LaunchTime: start + 500, Region: "us-east-1",
					Phase: "LAUNCHING", LastEvent: drsorch.EventLaunchEnd, SubmittedAt: start + 1, LaunchedAt: start + 500,
					Error: "none", RecoverySnapshotID: "snap-1", Attempts: 3,
				}, {
					SourceServerID: "s-2", Hostname: "db-2.local", LaunchStatus: drsorch.LaunchFailed,
					InstanceID: "", PrivateIP: "", InstanceType: "", Error: "LAUNCH_FAILED: quota",
				}},
			},
			{
				WaveNumber: 2, WaveName: "Apps", ServerIDs: []string{"s-3"}, Status: drsorch.WavePending,
				PauseBeforeWave: true, DependsOnWaves: []int{1},
			},
		},
		TotalWaves:      2,
		AccountContext:  &drsorch.AccountContext{AccountID: "111122223333", AssumeRoleName: "DRSRole", IsCurrentAccount: true},
		AccountID:       "111122223333",
		StateMachineArn: "arn:aws:states:us-east-1:111122223333:execution:drs:" + id,
		ErrorMessage:    "one server failed", ErrorCode: "PARTIAL_LAUNCH",
		LastUpdated: start + 700, UpdatedAt: start + 701, LastPolledTime: start + 699,
		OutcomeSummary: "1 of 2 servers launched",
		OutcomeDetails: &drsorch.OutcomeDetails{
			TotalWaves: 4, WavesCompleted: 1, WavesFailed: 1, WavesCancelled: 1, WavesPending: 1,
			TotalServers: 4, ServersLaunched: 1, ServersFailed: 1, ServersCancelled: 1, ServersPending: 1,
			CompletedWaves: []drsorch.WaveOutcome{{Name: "Databases", ServersLaunched: 1, ServersFailed: 1}},
			FailedWaves:    []drsorch.WaveOutcome{},
			CancelledWaves: []drsorch.WaveOutcome{{Name: "none", ServersCancelled: 0}},
		},
		DRSJobID: "drsjob-1", DRSRegion: "us-east-1",
		PausedBeforeWave: wave(2), CompletedWaves: 1, FailedWaves: 1, DurationSeconds: 7200,
		TerminateJobs: []drsorch.TerminateJob{{
			JobID: "drsjob-t1", Region: "us-east-1", AccountID: "111122223333", Type: string(drsorch.JobTerminate),
			Status: drsorch.JobStarted, IntentID: "intent-t1", RecoveryInstanceIDs: []string{"i-rec-1"}, SubmittedAt: start + 800,
		}},
		TerminationInitiatedAt: start + 800, InstancesTerminated: true, InstancesTerminatedAt: start + 900,
		Awaiting:        drsorch.AwaitResume,
		RecoveryPoint:   &drsorch.RecoveryPoint{PointInTime: "2026-01-01T00:00:00Z", Snapshots: map[string]string{"s-1": "snap-1"}},
		DrillTTLSeconds: 3600, DrillExpiresAt: start + 86400,
		Timeline: []drsorch.TimelineEvent{
			{At: Epoch, Type: "start", Actor: "alice@example.com", From: "PENDING", To: "RUNNING"},
			{At: at, Type: "paused", Actor: "system", Wave: wave(2), From: "RUNNING", To: "PAUSED", Detail: "pause before wave 2"},
		},
		Secrets: drsorch.ExecutionSecrets{
			TaskToken: "token-" + id, PausedStateSnapshot: `{"wave":2}`, ExternalID: "ext-42", CallbackNonce: "nonce-" + id,
		},
	}
}

func storeTestExecutionRoundTrip(t *testing.T, s drsorch.Store) {
	full := storeFullExecution("exec-full")
	// Guard the fixture itself: a field added to the records must be added here too.
	for what, v := range map[string]any{
		"Execution": *full, "ExecutionWave": full.Waves[0], "WaveJob": full.Waves[0].Jobs[0],
		"ServerStatus": full.Waves[0].ServerStatuses[0], "TerminateJob": full.TerminateJobs[0],
		"TimelineEvent": full.Timeline[1], "AccountContext": *full.AccountContext,
		"OutcomeDetails": *full.OutcomeDetails, "RecoveryPoint": *full.RecoveryPoint, "ExecutionSecrets": full.Secrets,
	} {
		zero := slices.DeleteFunc(storeZeroFields(v), func(f string) bool { return what == "Execution" && f == "Version" })
		if len(zero) > 0 {
			t.Errorf("storeFullExecution leaves %s fields unset: %v; set them so the round trip covers them", what, zero)
		}
	}
	zero := storeExecution("exec-zero", "plan-zero", drsorch.ExecutionPaused, 1)
	zero.PausedBeforeWave = new(int) // wave 0 must not read back as "no wave"
	zero.Secrets = drsorch.ExecutionSecrets{TaskToken: "only-a-token"}
	cases := []struct {
		name string
		e    *drsorch.Execution
	}{
		{"every field", full},
		{"paused before wave 0", zero},
		{"minimal without secrets", storeExecution("exec-min", "plan-min", drsorch.ExecutionCompleted, 2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			want := c.e
			storeWantCode(t, s.CreateExecution(ctx, want), "", "create")
			if want.Version != 1 {
				t.Errorf("after create: argument version = %d, want 1", want.Version)
			}
			got, err := s.GetExecution(ctx, want.ExecutionID)
			storeWantCode(t, err, "", "get")
			storeSameExecution(t, "get after create", got, want)
			if want.PausedBeforeWave != nil && (got.PausedBeforeWave == nil || *got.PausedBeforeWave != *want.PausedBeforeWave) {
				t.Errorf("pausedBeforeWave = %v, want %d", got.PausedBeforeWave, *want.PausedBeforeWave)
			}

			// Update writes the whole record, secrets included.
			got.Secrets.TaskToken = ""
			got.Secrets.CallbackNonce = "rotated"
			got.Waves[0].Status = drsorch.WaveInProgress
			got.Waves[0].ServerStatuses = append(got.Waves[0].ServerStatuses,
				drsorch.ServerStatus{SourceServerID: "s-9", Hostname: "h9", LaunchStatus: drsorch.LaunchInProgress})
			got.AddEvent(drsorch.TimelineEvent{At: Epoch.Add(time.Hour), Type: "note", Actor: "bob"})
			storeWantCode(t, s.UpdateExecution(ctx, got), "", "update")
			if got.Version != 2 {
				t.Errorf("after update: argument version = %d, want 2", got.Version)
			}
			again, err := s.GetExecution(ctx, want.ExecutionID)
			storeWantCode(t, err, "", "get after update")
			storeSameExecution(t, "get after update", again, got)
		})
	}
}

func storeTestLegacyStatuses(t *testing.T, s drsorch.Store) {
	legacy := []drsorch.ExecutionStatus{
		drsorch.ExecutionLegacyPolling, drsorch.ExecutionLegacyInProgress, drsorch.ExecutionLegacyInitiated,
		drsorch.ExecutionLegacyLaunching, drsorch.ExecutionLegacyStarted, drsorch.ExecutionLegacyTerminated,
	}
	for i, st := range legacy {
		t.Run(string(st), func(t *testing.T) {
			ctx := t.Context()
			e := storeExecution("exec-"+string(st), "plan-"+string(st), st, int64(100+i))
			storeWantCode(t, s.CreateExecution(ctx, e), "", "create")
			got, err := s.GetExecution(ctx, e.ExecutionID)
			storeWantCode(t, err, "", "get")
			if err == nil && got.Status != st {
				t.Errorf("status read back as %q, want %q unchanged", got.Status, st)
			}
			page, err := s.ListExecutions(ctx, drsorch.ExecutionQuery{Statuses: []drsorch.ExecutionStatus{st}})
			storeWantCode(t, err, "", "list by status")
			storeSameIDs(t, "list by legacy status", storeIDs(page.Items), []string{e.ExecutionID})
		})
	}
}

func storeTestExecutionDuplicateID(t *testing.T, s drsorch.Store) {
	ctx := t.Context()
	e := storeExecution("exec-dup", "plan-1", drsorch.ExecutionCompleted, 1)
	storeWantCode(t, s.CreateExecution(ctx, e), "", "create")
	dup := storeExecution("exec-dup", "plan-2", drsorch.ExecutionFailed, 2)
	storeWantCode(t, s.CreateExecution(ctx, dup), drsorch.CodeAlreadyExists, "create existing id")
	got, _ := s.GetExecution(ctx, "exec-dup")
	if got != nil && got.PlanID != "plan-1" {
		t.Errorf("refused create overwrote the record: planId = %q", got.PlanID)
	}
}

func storeTestExecutionVersionChecks(t *testing.T, s drsorch.Store) {
	ctx := t.Context()
	_, err := s.GetExecution(ctx, "missing")
	storeWantCode(t, err, drsorch.CodeNotFound, "get missing")
	ghost := storeExecution("missing", "plan-x", drsorch.ExecutionCompleted, 1)
	ghost.Version = 1
	storeWantCode(t, s.UpdateExecution(ctx, ghost), drsorch.CodeNotFound, "update missing")
	storeWantCode(t, s.DeleteExecution(ctx, ghost), drsorch.CodeNotFound, "delete missing")

	storeWantCode(t, s.CreateExecution(ctx, storeExecution("exec-v", "plan-v", drsorch.ExecutionRunning, 1)), "", "create")
	first, _ := s.GetExecution(ctx, "exec-v")
	second, _ := s.GetExecution(ctx, "exec-v")
	if first == nil || second == nil {
		t.Fatal("created execution not readable")
	}
	first.LastPolledTime = 10
	storeWantCode(t, s.UpdateExecution(ctx, first), "", "update first copy")

	second.LastPolledTime = 20
	storeWantCode(t, s.UpdateExecution(ctx, second), drsorch.CodeVersionConflict, "update stale copy")
	if second.Version != 1 {
		t.Errorf("after refused update: argument version = %d, want 1 (unchanged)", second.Version)
	}
	storeWantCode(t, s.DeleteExecution(ctx, second), drsorch.CodeVersionConflict, "delete stale copy")
	got, _ := s.GetExecution(ctx, "exec-v")
	if got == nil || got.LastPolledTime != 10 || got.Version != 2 {
		t.Fatalf("after refused writes: got %+v, want lastPolledTime 10 at version 2", got)
	}

	storeWantCode(t, s.DeleteExecution(ctx, first), "", "delete current copy")
	_, err = s.GetExecution(ctx, "exec-v")
	storeWantCode(t, err, drsorch.CodeNotFound, "get deleted")
	storeWantCode(t, s.UpdateExecution(ctx, first), drsorch.CodeNotFound, "update deleted")
	storeWantCode(t, s.DeleteExecution(ctx, first), drsorch.CodeNotFound, "delete deleted")
}

func storeTestOneActiveOnCreate(t *testing.T, s drsorch.Store) {
	ctx := t.Context()
	steps := []struct {
		id       string
		plan     string
		status   drsorch.ExecutionStatus
		wantCode string
	}{
		{"e1", "plan-p", drsorch.ExecutionPending, ""},
		{"e2", "plan-p", drsorch.ExecutionRunning, drsorch.CodeAlreadyExists},
		{"e3", "plan-p", drsorch.ExecutionPaused, drsorch.CodeAlreadyExists},
		{"e4", "plan-p", drsorch.ExecutionLegacyPolling, drsorch.CodeAlreadyExists},
		{"e5", "plan-p", drsorch.ExecutionCancelling, ""},
		{"e6", "plan-p", drsorch.ExecutionCompleted, ""},
		{"e7", "plan-p", drsorch.ExecutionFailed, ""},
		{"e8", "plan-p", drsorch.ExecutionLegacyTerminated, ""},
		{"e9", "plan-q", drsorch.ExecutionRunning, ""},
	}
	for i, st := range steps {
		t.Run(fmt.Sprintf("%s %s %s", st.id, st.plan, st.status), func(t *testing.T) {
			e := storeExecution(st.id, st.plan, st.status, int64(i))
			storeWantCode(t, s.CreateExecution(ctx, e), st.wantCode, "create")
			if st.wantCode != "" {
				_, err := s.GetExecution(ctx, st.id)
				storeWantCode(t, err, drsorch.CodeNotFound, "get refused execution")
			}
		})
	}
	t.Run("after the holder ends a new one may start", func(t *testing.T) {
		e1, err := s.GetExecution(ctx, "e1")
		storeWantCode(t, err, "", "get e1")
		if e1 == nil {
			t.FailNow()
		}
		e1.Status = drsorch.ExecutionCancelled
		storeWantCode(t, s.UpdateExecution(ctx, e1), "", "end e1")
		storeWantCode(t, s.CreateExecution(ctx, storeExecution("e10", "plan-p", drsorch.ExecutionPending, 20)), "", "create e10")
		storeWantCode(t, s.CreateExecution(ctx, storeExecution("e11", "plan-p", drsorch.ExecutionPending, 21)),
			drsorch.CodeAlreadyExists, "create e11 while e10 holds")
	})
}

func storeTestOneActiveOnUpdate(t *testing.T, s drsorch.Store) {
	ctx := t.Context()
	a := storeExecution("a", "plan-p", drsorch.ExecutionRunning, 1)
	b := storeExecution("b", "plan-p", drsorch.ExecutionCompleted, 2)
	c := storeExecution("c", "plan-p", drsorch.ExecutionCancelling, 3)
	for _, e := range []*drsorch.Execution{a, b, c} {
		storeWantCode(t, s.CreateExecution(ctx, e), "", "create "+e.ExecutionID)
	}

	a.LastPolledTime = 5
	storeWantCode(t, s.UpdateExecution(ctx, a), "", "update holder without leaving the holding set")

	for _, st := range []drsorch.ExecutionStatus{drsorch.ExecutionPending, drsorch.ExecutionRunning, drsorch.ExecutionLegacyPolling} {
		b.Status = st
		storeWantCode(t, s.UpdateExecution(ctx, b), drsorch.CodeAlreadyExists, "move b to "+string(st))
		if b.Version != 1 {
			t.Errorf("after refused update: argument version = %d, want 1", b.Version)
		}
	}
	c.Status = drsorch.ExecutionRunning
	storeWantCode(t, s.UpdateExecution(ctx, c), drsorch.CodeAlreadyExists, "move c back to RUNNING")
	got, _ := s.GetExecution(ctx, "b")
	if got == nil || got.Status != drsorch.ExecutionCompleted || got.Version != 1 {
		t.Errorf("refused update changed b: %+v", got)
	}

	a.Status = drsorch.ExecutionCancelling
	storeWantCode(t, s.UpdateExecution(ctx, a), "", "a leaves the holding set")
	b.Status = drsorch.ExecutionPending
	storeWantCode(t, s.UpdateExecution(ctx, b), "", "b takes the plan")
	storeWantCode(t, s.CreateExecution(ctx, storeExecution("d", "plan-p", drsorch.ExecutionPending, 4)),
		drsorch.CodeAlreadyExists, "create d while b holds")
	b.Status = drsorch.ExecutionFailed
	storeWantCode(t, s.UpdateExecution(ctx, b), "", "b ends")
	storeWantCode(t, s.CreateExecution(ctx, storeExecution("d", "plan-p", drsorch.ExecutionPending, 4)), "", "create d")
}

// storeCreateMany creates n small COMPLETED executions "exec-0000"…, in a
// shuffled order, with start times shared by threes so ties are ordered by id.
// It returns their ids newest first.
func storeCreateMany(t *testing.T, s drsorch.Store, n int) []string {
	t.Helper()
	ctx := t.Context()
	es := make([]*drsorch.Execution, n)
	for i := range es {
		es[i] = storeExecution(fmt.Sprintf("exec-%04d", i), fmt.Sprintf("plan-%d", i%5),
			drsorch.ExecutionCompleted, Epoch.Unix()+int64(i/3))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	for _, e := range es {
		if err := s.CreateExecution(ctx, e); err != nil {
			t.Fatalf("create %s: %v", e.ExecutionID, err)
		}
	}
	return storeNewestFirst(es)
}

// storeNewestFirst returns the ids in the order ListExecutions promises.
func storeNewestFirst(es []*drsorch.Execution) []string {
	sorted := slices.Clone(es)
	slices.SortFunc(sorted, func(a, b *drsorch.Execution) int {
		return cmp.Or(cmp.Compare(b.StartTime, a.StartTime), strings.Compare(b.ExecutionID, a.ExecutionID))
	})
	ids := make([]string, len(sorted))
	for i, e := range sorted {
		ids[i] = e.ExecutionID
	}
	return ids
}

// storeListAll pages through ListExecutions and returns the ids and page sizes.
func storeListAll(t *testing.T, s drsorch.Store, q drsorch.ExecutionQuery) (ids []string, sizes []int) {
	t.Helper()
	for range 10000 {
		page, err := s.ListExecutions(t.Context(), q)
		if err != nil {
			t.Fatalf("list %+v: %v", q, err)
		}
		ids = append(ids, storeIDs(page.Items)...)
		sizes = append(sizes, len(page.Items))
		if page.NextToken == "" {
			return ids, sizes
		}
		if page.NextToken == q.NextToken {
			t.Fatalf("list %+v: NextToken did not move", q)
		}
		q.NextToken = page.NextToken
	}
	t.Fatalf("list %+v: pages never end", q)
	return nil, nil
}

func storeTestListPaging(t *testing.T, s drsorch.Store) {
	want := storeCreateMany(t, s, 250)
	for _, limit := range []int{100, 7, 250, 1000} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			ids, sizes := storeListAll(t, s, drsorch.ExecutionQuery{Limit: limit})
			storeSameIDs(t, "all pages", ids, want)
			for i, n := range sizes {
				if i < len(sizes)-1 && n != limit {
					t.Errorf("page %d has %d items, want %d (only the last page may be short)", i, n, limit)
				}
				if n > limit {
					t.Errorf("page %d has %d items, more than the limit %d", i, n, limit)
				}
			}
		})
	}
	t.Run("limit 0 means the default page size", func(t *testing.T) {
		page, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{})
		storeWantCode(t, err, "", "list")
		if len(page.Items) != drsorch.DefaultPageSize || page.NextToken == "" {
			t.Errorf("got %d items, token %q; want %d and a token", len(page.Items), page.NextToken, drsorch.DefaultPageSize)
		}
		storeSameIDs(t, "first page", storeIDs(page.Items), want[:min(len(want), drsorch.DefaultPageSize)])
	})
	t.Run("records are whole", func(t *testing.T) {
		page, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{Limit: 1})
		storeWantCode(t, err, "", "list")
		if len(page.Items) != 1 {
			t.Fatalf("got %d items, want 1", len(page.Items))
		}
		got, err := s.GetExecution(t.Context(), page.Items[0].ExecutionID)
		storeWantCode(t, err, "", "get")
		storeSameExecution(t, "listed item", &page.Items[0], got)
	})
}

func storeTestListLimit(t *testing.T, s drsorch.Store) {
	want := storeCreateMany(t, s, drsorch.MaxPageSize+1)
	page, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{Limit: drsorch.MaxPageSize + 500})
	storeWantCode(t, err, "", "list above the cap")
	if len(page.Items) != drsorch.MaxPageSize || page.NextToken == "" {
		t.Fatalf("got %d items, token %q; want %d (the cap) and a token", len(page.Items), page.NextToken, drsorch.MaxPageSize)
	}
	storeSameIDs(t, "capped page", storeIDs(page.Items), want[:drsorch.MaxPageSize])
	rest, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{Limit: drsorch.MaxPageSize + 500, NextToken: page.NextToken})
	storeWantCode(t, err, "", "list the rest")
	storeSameIDs(t, "last page", storeIDs(rest.Items), want[drsorch.MaxPageSize:])
	if rest.NextToken != "" {
		t.Errorf("last page has token %q, want none", rest.NextToken)
	}
}

func storeTestListFilters(t *testing.T, s drsorch.Store) {
	ctx := t.Context()
	mk := func(id, plan string, st drsorch.ExecutionStatus, start int64, account, ctxAccount string) *drsorch.Execution {
		e := storeExecution(id, plan, st, start)
		e.AccountID = account
		if ctxAccount != "" {
			e.AccountContext = &drsorch.AccountContext{AccountID: ctxAccount}
		}
		return e
	}
	es := []*drsorch.Execution{
		mk("e01", "plan-a", drsorch.ExecutionCompleted, 1, "111", ""),
		mk("e02", "plan-a", drsorch.ExecutionFailed, 2, "", "222"),
		mk("e03", "plan-b", drsorch.ExecutionRunning, 3, "111", "111"),
		mk("e04", "plan-b", drsorch.ExecutionCancelled, 4, "", ""),
		mk("e05", "plan-c", drsorch.ExecutionLegacyPolling, 5, "333", "444"),
		mk("e06", "plan-a", drsorch.ExecutionCancelling, 6, "", "222"),
		mk("e07", "plan-c", drsorch.ExecutionCompleted, 7, "", ""),
		mk("e08", "plan-a", drsorch.ExecutionCompleted, 7, "111", ""),
	}
	for _, e := range es {
		storeWantCode(t, s.CreateExecution(ctx, e), "", "create "+e.ExecutionID)
	}
	type sts = []drsorch.ExecutionStatus
	cases := []struct {
		name string
		q    drsorch.ExecutionQuery
		want []string
	}{
		{"no filter", drsorch.ExecutionQuery{}, []string{"e08", "e07", "e06", "e05", "e04", "e03", "e02", "e01"}},
		{"one status", drsorch.ExecutionQuery{Statuses: sts{drsorch.ExecutionCompleted}}, []string{"e08", "e07", "e01"}},
		{"status set", drsorch.ExecutionQuery{Statuses: sts{drsorch.ExecutionCompleted, drsorch.ExecutionFailed}},
			[]string{"e08", "e07", "e02", "e01"}},
		{"status match is exact", drsorch.ExecutionQuery{Statuses: sts{drsorch.ExecutionRunning}}, []string{"e03"}},
		{"legacy status", drsorch.ExecutionQuery{Statuses: sts{drsorch.ExecutionLegacyPolling}}, []string{"e05"}},
		{"stored active statuses", drsorch.ExecutionQuery{Statuses: drsorch.StoredActiveStatuses}, []string{"e06", "e05", "e03"}},
		{"status nobody has", drsorch.ExecutionQuery{Statuses: sts{drsorch.ExecutionTimeout}}, nil},
		{"plan", drsorch.ExecutionQuery{PlanID: "plan-a"}, []string{"e08", "e06", "e02", "e01"}},
		{"plan and statuses", drsorch.ExecutionQuery{PlanID: "plan-a", Statuses: sts{drsorch.ExecutionFailed, drsorch.ExecutionCancelling}},
			[]string{"e06", "e02"}},
		{"unknown plan", drsorch.ExecutionQuery{PlanID: "plan-z"}, nil},
		{"top-level account", drsorch.ExecutionQuery{AccountID: "111"}, []string{"e08", "e03", "e01"}},
		{"context account", drsorch.ExecutionQuery{AccountID: "222"}, []string{"e06", "e02"}},
		{"top-level account differing from context", drsorch.ExecutionQuery{AccountID: "333"}, []string{"e05"}},
		{"context account differing from top-level", drsorch.ExecutionQuery{AccountID: "444"}, []string{"e05"}},
		{"account and plan", drsorch.ExecutionQuery{AccountID: "111", PlanID: "plan-b"}, []string{"e03"}},
		{"account, plan and status", drsorch.ExecutionQuery{AccountID: "111", PlanID: "plan-a", Statuses: sts{drsorch.ExecutionCompleted}},
			[]string{"e08", "e01"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page, err := s.ListExecutions(ctx, c.q)
			storeWantCode(t, err, "", "list")
			storeSameIDs(t, "one page", storeIDs(page.Items), c.want)
			if page.NextToken != "" {
				t.Errorf("everything fits one page but NextToken = %q", page.NextToken)
			}
			q := c.q
			q.Limit = 2
			ids, sizes := storeListAll(t, s, q)
			storeSameIDs(t, "pages of 2", ids, c.want)
			for i, n := range sizes {
				if n > 2 {
					t.Errorf("page %d has %d items, more than the limit 2", i, n)
				}
			}
		})
	}
}

func storeTestListBadToken(t *testing.T, s drsorch.Store) {
	storeCreateMany(t, s, 3)
	cases := []struct{ name, token string }{
		{"not base64", "%%% not a token %%%"},
		{"base64 of garbage", base64.RawURLEncoding.EncodeToString([]byte("garbage"))},
		{"base64 of a number", base64.RawURLEncoding.EncodeToString([]byte("42"))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{NextToken: c.token})
			storeWantCode(t, err, drsorch.CodeInvalidParameter, "list with a bad token")
		})
	}
}

// storeTestConcurrentUpdates has 64 goroutines each append one timeline
// event to the same execution by read-modify-write, retrying on VERSION_CONFLICT.
// No update may be lost.
func storeTestConcurrentUpdates(t *testing.T, s drsorch.Store) {
	const workers = 64
	ctx := t.Context()
	e := storeExecution("exec-hot", "plan-hot", drsorch.ExecutionRunning, 1)
	storeWantCode(t, s.CreateExecution(ctx, e), "", "create")

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for i := range workers {
		wg.Go(func() {
			actor := fmt.Sprintf("worker-%02d", i)
			for attempt := 0; ; attempt++ {
				if attempt == 10000 {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: no success after %d attempts", actor, attempt))
					mu.Unlock()
					return
				}
				cur, err := s.GetExecution(ctx, e.ExecutionID)
				if err == nil {
					cur.AddEvent(drsorch.TimelineEvent{At: Epoch.Add(time.Duration(i) * time.Second), Type: "tick", Actor: actor})
					err = s.UpdateExecution(ctx, cur)
				}
				if drsorch.IsCode(err, drsorch.CodeVersionConflict) {
					runtime.Gosched()
					continue
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", actor, err))
					mu.Unlock()
				}
				return
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	got, err := s.GetExecution(ctx, e.ExecutionID)
	storeWantCode(t, err, "", "get")
	if got == nil {
		t.FailNow()
	}
	if len(got.Timeline) != workers || got.Version != 1+workers {
		t.Fatalf("after %d updates: %d events at version %d, want %d events at version %d",
			workers, len(got.Timeline), got.Version, workers, 1+workers)
	}
	seen := map[string]bool{}
	for _, ev := range got.Timeline {
		if seen[ev.Actor] {
			t.Errorf("%s appended twice", ev.Actor)
		}
		seen[ev.Actor] = true
	}
}

// storeZeroFields returns the names of the exported fields of a struct that hold their zero value.
func storeZeroFields(v any) []string {
	rv := reflect.ValueOf(v)
	var zero []string
	for i := range rv.NumField() {
		if f := rv.Type().Field(i); f.IsExported() && rv.Field(i).IsZero() {
			zero = append(zero, f.Name)
		}
	}
	return zero
}

// storeWantCode fails the test unless err has the code ("" means no error).
func storeWantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := drsorch.ErrorCode(err); got != code {
		if code == "" {
			t.Errorf("%s: unexpected error %v", what, err)
		} else {
			t.Errorf("%s: error %v (code %q), want code %s", what, err, got, code)
		}
	}
}

// storeSameJSON fails the test unless got and want marshal to the same JSON.
func storeSameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("%s: marshal: %v", what, err)
	}
	w, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatalf("%s: marshal: %v", what, err)
	}
	if string(g) != string(w) {
		t.Errorf("%s: record differs\n got: %s\nwant: %s", what, g, w)
	}
}

// storeSameExecution compares executions field by field, secrets included.
func storeSameExecution(t *testing.T, what string, got, want *drsorch.Execution) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no execution", what)
		return
	}
	storeSameJSON(t, what, got, want)
	if got.Secrets != want.Secrets {
		t.Errorf("%s: secrets = %+v, want %+v", what, got.Secrets, want.Secrets)
	}
}

// storeSameSet compares a listed set of records with the expected ones, in any order.
func storeSameSet[T any](t *testing.T, what string, got []T, want []*T, id func(*T) string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d", what, len(got), len(want))
		return
	}
	byID := map[string]*T{}
	for i := range got {
		byID[id(&got[i])] = &got[i]
	}
	for _, w := range want {
		g, ok := byID[id(w)]
		if !ok {
			t.Errorf("%s: %s missing", what, id(w))
			continue
		}
		storeSameJSON(t, what+" "+id(w), g, w)
	}
}

func storeIDs(es []drsorch.Execution) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ExecutionID
	}
	return ids
}

// storeSameIDs compares id sequences, reporting the first difference.
func storeSameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("%s: %s listed twice", what, id)
			return
		}
		seen[id] = true
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Errorf("%s: item %d is %s, want %s (got %d items, want %d)", what, i, got[i], want[i], len(got), len(want))
			return
		}
	}
	t.Errorf("%s: got %d items, want %d: %v", what, len(got), len(want), storeHead(got))
}

func storeHead(ids []string) []string {
	return ids[:min(len(ids), 20)]
}
