package dynamodb_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/dynamodb"
)

func TestTablesFromEnv(t *testing.T) {
	all := map[string]string{
		dynamodb.EnvExecutionHistoryTable: "x-execution-history-dev",
		dynamodb.EnvRecoveryPlansTable:    "x-recovery-plans-dev",
		dynamodb.EnvProtectionGroupsTable: "x-protection-groups-dev",
		dynamodb.EnvTargetAccountsTable:   "x-target-accounts-dev",
	}
	cases := []struct {
		name    string
		unset   []string
		wantErr string
	}{
		{"all set", nil, ""},
		{"one missing", []string{dynamodb.EnvRecoveryPlansTable}, "RECOVERY_PLANS_TABLE"},
		{"two missing", []string{dynamodb.EnvExecutionHistoryTable, dynamodb.EnvTargetAccountsTable}, "EXECUTION_HISTORY_TABLE, TARGET_ACCOUNTS_TABLE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range all {
				t.Setenv(k, v)
			}
			for _, k := range c.unset {
				t.Setenv(k, "")
			}
			tables, err := dynamodb.TablesFromEnv()
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := dynamodb.Tables{ExecutionHistory: "x-execution-history-dev", RecoveryPlans: "x-recovery-plans-dev",
					ProtectionGroups: "x-protection-groups-dev", TargetAccounts: "x-target-accounts-dev"}
				if tables != want {
					t.Errorf("tables = %+v, want %+v", tables, want)
				}
				return
			}
			wantCode(t, err, drsorch.CodeInvalidParameter, "missing table")
			if err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not name %s", err, c.wantErr)
			}
		})
	}
}

// fullExecution has secrets, an account context and a principal the replaced system stored as an object.
func fullExecution() *drsorch.Execution {
	zero := 0
	return &drsorch.Execution{
		ExecutionID: "exec-1", PlanID: "plan-1", PlanName: "Plan", ExecutionType: drsorch.Drill,
		Status: drsorch.ExecutionPaused, StartTime: 1767225600, InitiatedBy: `{"email":"alice@example.com","userId":"u1"}`,
		TotalWaves:     1,
		Waves:          []drsorch.ExecutionWave{{WaveNumber: 0, WaveName: "Wave 1", ServerIDs: []string{"s-1"}, Status: drsorch.WaveCompleted, JobID: "drsjob-1"}},
		AccountContext: &drsorch.AccountContext{AccountID: "111122223333", AssumeRoleName: "DRSRole"},
		AccountID:      "111122223333", PausedBeforeWave: &zero, Version: 7,
		Secrets: drsorch.ExecutionSecrets{
			TaskToken: "tok", PausedStateSnapshot: `{"current_wave_number":0}`, ExternalID: "ext-1", CallbackNonce: "nonce",
		},
	}
}

func TestExecutionItemAttributes(t *testing.T) {
	noContext := fullExecution()
	noContext.AccountContext = nil
	plainPrincipal := fullExecution()
	plainPrincipal.InitiatedBy = "bob@example.com"
	noSecrets := fullExecution()
	noSecrets.Secrets = drsorch.ExecutionSecrets{}
	cases := []struct {
		name string
		e    *drsorch.Execution
		want map[string]string
	}{
		{"reference names and types", fullExecution(), map[string]string{
			"executionId": `"exec-1"`, "planId": `"plan-1"`, "status": `"PAUSED"`, "startTime": "1767225600",
			"version": "7", "pausedBeforeWave": "0", "totalWaves": "1", "waves": `[{jobId:"drsjob-1",pauseBeforeWave:false,serverIds:["s-1"],status:"COMPLETED",waveName:"Wave 1",waveNumber:0}]`,
			"taskToken": `"tok"`, "pausedStateSnapshot": `"{\"current_wave_number\":0}"`, "callbackNonce": `"nonce"`,
			"accountContext": `{accountId:"111122223333",assumeRoleName:"DRSRole",externalId:"ext-1",isCurrentAccount:false}`,
			"externalId":     "<absent>", "initiatedBy": `{email:"alice@example.com",userId:"u1"}`,
			"Secrets": "<absent>", "wavesGz": "<absent>", "endTime": "<absent>",
		}},
		{"external id without account context", noContext, map[string]string{
			"accountContext": "<absent>", "externalId": `"ext-1"`,
		}},
		{"string principal", plainPrincipal, map[string]string{"initiatedBy": `"bob@example.com"`}},
		{"no secrets", noSecrets, map[string]string{
			"taskToken": "<absent>", "pausedStateSnapshot": "<absent>", "callbackNonce": "<absent>",
			"accountContext.externalId": "<absent>",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			item, err := dynamodb.ExecutionItem(c.e)
			if err != nil {
				t.Fatal(err)
			}
			for path, want := range c.want {
				if got := avText(attr(item, path)); got != want {
					t.Errorf("%s = %s, want %s", path, got, want)
				}
			}
			back, err := dynamodb.ExecutionFromItem(item)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "round trip", back, c.e)
			if back.Secrets != c.e.Secrets {
				t.Errorf("secrets = %+v, want %+v", back.Secrets, c.e.Secrets)
			}
		})
	}
}

func checkPollingReference(t *testing.T, e *drsorch.Execution) {
	t.Helper()
	var by map[string]any
	if err := json.Unmarshal([]byte(e.InitiatedBy), &by); err != nil || by["email"] != "alice@example.com" {
		t.Errorf("initiatedBy = %q, want the object's JSON", e.InitiatedBy)
	}
	var snap map[string]any
	if err := json.Unmarshal([]byte(e.Secrets.PausedStateSnapshot), &snap); err != nil || snap["current_wave_number"] != 0.0 {
		t.Errorf("pausedStateSnapshot = %q, want the JSON string", e.Secrets.PausedStateSnapshot)
	}
	w0, w1 := e.Wave(0), e.Wave(1)
	if w0 == nil || w1 == nil || len(w0.ServerStatuses) != 2 {
		t.Fatalf("waves read back wrong: %+v", e.Waves)
	}
	s0 := w0.ServerStatuses[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"status", e.Status, drsorch.ExecutionLegacyPolling},
		{"status reads as running", e.Status.Canonical(), drsorch.ExecutionRunning},
		{"version", e.Version, int64(0)},
		{"startTime", e.StartTime, int64(1767225600)},
		{"lastPolledTime (a float)", e.LastPolledTime, int64(1767226230)},
		{"taskToken", e.Secrets.TaskToken, "AQCEAAAAKgAAAAMAAAAAAAAAAd3token"},
		{"externalId", e.Secrets.ExternalID, "ext-7f3a9c"},
		{"accountContext.accountId", e.AccountContext.AccountID, "111122223333"},
		{"accountContext.isCurrentAccount", e.AccountContext.IsCurrentAccount, false},
		{"accountContext.assumeRoleName", e.AccountContext.AssumeRoleName, "DRSOrchestrationCrossAccountRole"},
		{"drsJobId", e.DRSJobID, "drsjob-0123456789abcdef0"},
		{"wave 0 single jobId", w0.JobID, "drsjob-0123456789abcdef0"},
		{"wave 0 jobs", len(w0.Jobs), 0},
		{"wave 0 status", w0.Status, drsorch.WaveStarted},
		{"server recoveryInstanceId", s0.RecoveryInstanceID, "i-0aaaabbbbccccdddd"},
		{"server launchStatus", s0.LaunchStatus, drsorch.LaunchLaunched},
		{"server instanceState", s0.InstanceState, "running"},
		{"server launchTime", s0.LaunchTime, int64(1767225900)},
		{"wave 1 protectionGroupId", w1.ProtectionGroupID, "pg-apps"},
		{"wave 1 pauseBeforeWave", w1.PauseBeforeWave, true},
		{"wave 1 status", w1.Status, drsorch.WavePending},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func checkCompletedReference(t *testing.T, e *drsorch.Execution) {
	t.Helper()
	if e.OutcomeDetails == nil || e.PausedBeforeWave == nil || len(e.TerminateJobs) != 1 || e.AccountContext == nil {
		t.Fatalf("completed reference read back wrong: %+v", e)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"status", e.Status, drsorch.ExecutionPartial},
		{"accountId (NULL)", e.AccountID, ""},
		{"accountContext.assumeRoleName (NULL)", e.AccountContext.AssumeRoleName, ""},
		{"accountContext.isCurrentAccount", e.AccountContext.IsCurrentAccount, true},
		{"initiatedBy", e.InitiatedBy, drsorch.Principal("bob@example.com")},
		{"outcomeDetails.serversFailed", e.OutcomeDetails.ServersFailed, 1},
		{"outcomeDetails.completedWaves[0].name", e.OutcomeDetails.CompletedWaves[0].Name, "Wave 1"},
		{"pausedBeforeWave", *e.PausedBeforeWave, 0},
		{"terminateJobs[0].status", e.TerminateJobs[0].Status, drsorch.JobCompleted},
		{"instancesTerminated", e.InstancesTerminated, true},
		{"endTime", e.EndTime, int64(1767142800)},
		{"no secrets", e.Secrets.Empty(), true},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestReferenceExecutionItems(t *testing.T) {
	cases := []struct {
		file  string
		check func(*testing.T, *drsorch.Execution)
	}{
		{"reference-execution-polling.json", checkPollingReference},
		{"reference-execution-completed.json", checkCompletedReference},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			item := loadItem(t, c.file)
			e, err := dynamodb.ExecutionFromItem(item)
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, e)
			// Written back and read again, the record is the same.
			again, err := dynamodb.ExecutionItem(e)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := dynamodb.ExecutionFromItem(again)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "second read", e2, e)
			if e2.Secrets != e.Secrets {
				t.Errorf("secrets = %+v, want %+v", e2.Secrets, e.Secrets)
			}
			if got, want := avText(again["initiatedBy"]), avText(item["initiatedBy"]); got != want {
				t.Errorf("initiatedBy written back as %s, want %s", got, want)
			}
		})
	}

	t.Run("through GetExecution", func(t *testing.T) {
		item := loadItem(t, "reference-execution-polling.json")
		lock := loadItem(t, "reference-execution-lock.json")
		f := &fakeClient{query: func(in *ddb.QueryInput) (*ddb.QueryOutput, error) {
			return &ddb.QueryOutput{Items: []map[string]types.AttributeValue{lock, item}}, nil
		}}
		e, err := dynamodb.New(f, testTables).GetExecution(t.Context(), "0f7c2a52-3c1e-4c55-9a6f-2d1f7b9e4a01")
		if err != nil {
			t.Fatal(err)
		}
		checkPollingReference(t, e)
		q := last[ddb.QueryInput](t, f, "Query")
		if !aws.ToBool(q.ConsistentRead) || q.IndexName != nil {
			t.Errorf("GetExecution queries %v consistently=%v, want the table, consistently", q.IndexName, q.ConsistentRead)
		}
	})
}

func TestCompression(t *testing.T) {
	cases := []struct {
		name       string
		servers    int
		compressed bool
	}{
		{"small execution stays plain", 50, false},
		{"4,000 servers are compressed", 4000, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := bigExecution("exec-big", "plan-big", c.servers)
			plain, _ := json.Marshal(e.Waves)
			item, err := dynamodb.ExecutionItem(e)
			if err != nil {
				t.Fatal(err)
			}
			_, gz := item["wavesGz"].(*types.AttributeValueMemberB)
			if gz != c.compressed || (item["waves"] == nil) != c.compressed {
				t.Fatalf("waves %s, wavesGz %s; want compressed=%v", avText(item["waves"])[:min(40, len(avText(item["waves"])))], avText(item["wavesGz"]), c.compressed)
			}
			if c.compressed {
				size := len(item["wavesGz"].(*types.AttributeValueMemberB).Value)
				t.Logf("%d servers: waves JSON %d bytes, wavesGz %d bytes", c.servers, len(plain), size)
				if size > dynamodb.CompressAbove {
					t.Errorf("compressed waves take %d bytes, more than %d", size, dynamodb.CompressAbove)
				}
			}
			back, err := dynamodb.ExecutionFromItem(item)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, "round trip", back, e)
		})
	}

	t.Run("corrupt wavesGz is an internal error", func(t *testing.T) {
		item, _ := dynamodb.ExecutionItem(bigExecution("x", "p", 1))
		delete(item, "waves")
		item["wavesGz"] = &types.AttributeValueMemberB{Value: []byte("not gzip")}
		_, err := dynamodb.ExecutionFromItem(item)
		wantCode(t, err, drsorch.CodeInternal, "decode corrupt wavesGz")
	})
}

// holdItem is a recovery-plans item as readHold sees it.
func holdItem(planID, holder string, stub bool) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{"planId": &types.AttributeValueMemberS{Value: planID}}
	if holder != "" {
		item["activeExecutionId"] = &types.AttributeValueMemberS{Value: holder}
	}
	if stub {
		item["activeExecutionStub"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	return item
}

// byTable answers GetItem per table.
func byTable(items map[string]map[string]types.AttributeValue) func(*ddb.GetItemInput) (*ddb.GetItemOutput, error) {
	return func(in *ddb.GetItemInput) (*ddb.GetItemOutput, error) {
		return &ddb.GetItemOutput{Item: items[aws.ToString(in.TableName)]}, nil
	}
}

func renderUpdate(u *types.Update) (update, cond string) {
	return render(u.UpdateExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues),
		render(u.ConditionExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues)
}

func TestUpdateExecutionWrites(t *testing.T) {
	cases := []struct {
		name        string
		version     int64
		status      drsorch.ExecutionStatus
		plan        map[string]types.AttributeValue
		wantOps     []string
		wantExecIf  string
		wantPlanOp  string // "" when no plan write
		wantPlanSet string
		wantPlanIf  string
	}{
		{
			name: "item without version, plan already held by it", version: 0, status: drsorch.ExecutionRunning,
			plan:       holdItem("plan-1", "exec-1", false),
			wantOps:    []string{"GetItem", "UpdateItem"},
			wantExecIf: `(attribute_exists (executionId)) AND ((attribute_not_exists (version)) OR (version = 0))`,
		},
		{
			name: "versioned item leaves the holding set", version: 4, status: drsorch.ExecutionCompleted,
			plan:        holdItem("plan-1", "exec-1", false),
			wantOps:     []string{"GetItem", "TransactWriteItems"},
			wantExecIf:  `(attribute_exists (executionId)) AND (version = 4)`,
			wantPlanOp:  "Update",
			wantPlanSet: `REMOVE activeExecutionId`,
			wantPlanIf:  `(activeExecutionId = "exec-1") AND (attribute_not_exists (activeExecutionStub))`,
		},
		{
			name: "leaving the holding set deletes a hold stub", version: 2, status: drsorch.ExecutionCancelling,
			plan:       holdItem("plan-1", "exec-1", true),
			wantOps:    []string{"GetItem", "TransactWriteItems"},
			wantExecIf: `(attribute_exists (executionId)) AND (version = 2)`,
			wantPlanOp: "Delete",
			wantPlanIf: `(activeExecutionId = "exec-1") AND (attribute_exists (activeExecutionStub))`,
		},
		{
			name: "ended execution that does not hold writes alone", version: 3, status: drsorch.ExecutionFailed,
			plan:       holdItem("plan-1", "exec-9", false),
			wantOps:    []string{"GetItem", "UpdateItem"},
			wantExecIf: `(attribute_exists (executionId)) AND (version = 3)`,
		},
		{
			name: "entering the holding set takes a free plan", version: 5, status: drsorch.ExecutionPending,
			plan:        holdItem("plan-1", "", false),
			wantOps:     []string{"GetItem", "Query", "TransactWriteItems"},
			wantExecIf:  `(attribute_exists (executionId)) AND (version = 5)`,
			wantPlanOp:  "Update",
			wantPlanSet: `SET activeExecutionId = "exec-1"`,
			wantPlanIf:  `(attribute_exists (planId)) AND (attribute_not_exists (activeExecutionId))`,
		},
		{
			name: "entering the holding set without a plan item creates a stub", version: 5, status: drsorch.ExecutionRunning,
			plan:        nil,
			wantOps:     []string{"GetItem", "Query", "TransactWriteItems"},
			wantExecIf:  `(attribute_exists (executionId)) AND (version = 5)`,
			wantPlanOp:  "Update",
			wantPlanSet: `SET activeExecutionId = "exec-1", activeExecutionStub = true`,
			wantPlanIf:  `attribute_not_exists (planId)`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeClient{getItem: byTable(map[string]map[string]types.AttributeValue{testTables.RecoveryPlans: c.plan})}
			e := fullExecution()
			e.Version, e.Status = c.version, c.status
			e.Secrets.TaskToken = ""
			if err := dynamodb.New(f, testTables).UpdateExecution(t.Context(), e); err != nil {
				t.Fatal(err)
			}
			if e.Version != c.version+1 {
				t.Errorf("version = %d, want %d", e.Version, c.version+1)
			}
			if got := strings.Join(f.ops(), " "); got != strings.Join(c.wantOps, " ") {
				t.Fatalf("calls %s, want %s", got, strings.Join(c.wantOps, " "))
			}
			var exec *types.Update
			if c.wantPlanOp == "" {
				in := last[ddb.UpdateItemInput](t, f, "UpdateItem")
				exec = &types.Update{TableName: in.TableName, Key: in.Key, UpdateExpression: in.UpdateExpression,
					ConditionExpression: in.ConditionExpression, ExpressionAttributeNames: in.ExpressionAttributeNames,
					ExpressionAttributeValues: in.ExpressionAttributeValues}
			} else {
				tx := last[ddb.TransactWriteItemsInput](t, f, "TransactWriteItems")
				if len(tx.TransactItems) != 2 {
					t.Fatalf("transaction of %d items, want 2", len(tx.TransactItems))
				}
				exec = tx.TransactItems[0].Update
				p := tx.TransactItems[1]
				switch c.wantPlanOp {
				case "Update":
					if p.Update == nil {
						t.Fatalf("plan write is not an Update: %+v", p)
					}
					set, cond := renderUpdate(p.Update)
					if set != c.wantPlanSet || cond != c.wantPlanIf {
						t.Errorf("plan write\n got: %s IF %s\nwant: %s IF %s", set, cond, c.wantPlanSet, c.wantPlanIf)
					}
				case "Delete":
					if p.Delete == nil {
						t.Fatalf("plan write is not a Delete: %+v", p)
					}
					if cond := render(p.Delete.ConditionExpression, p.Delete.ExpressionAttributeNames, p.Delete.ExpressionAttributeValues); cond != c.wantPlanIf {
						t.Errorf("plan delete IF %s, want %s", cond, c.wantPlanIf)
					}
				}
				table := ""
				if p.Update != nil {
					table = aws.ToString(p.Update.TableName)
				} else if p.Delete != nil {
					table = aws.ToString(p.Delete.TableName)
				}
				if table != testTables.RecoveryPlans {
					t.Errorf("plan write on table %q", table)
				}
			}
			update, cond := renderUpdate(exec)
			if cond != c.wantExecIf {
				t.Errorf("execution condition\n got: %s\nwant: %s", cond, c.wantExecIf)
			}
			if aws.ToString(exec.TableName) != testTables.ExecutionHistory || avText(exec.Key["planId"]) != `"plan-1"` {
				t.Errorf("execution write on %s key %v", aws.ToString(exec.TableName), exec.Key)
			}
			// Owned attributes are set or removed; keys and other writers' attributes are not touched.
			for _, want := range []string{"status = ", "version = " + jsonNumber(c.version+1), "accountContext = ", "callbackNonce = "} {
				if !strings.Contains(update, want) {
					t.Errorf("update lacks %q: %s", want, update)
				}
			}
			remove := update[strings.Index(update, "REMOVE"):]
			for _, want := range []string{"taskToken", "endTime", "wavesGz", "timelineGz", "externalId"} {
				if !strings.Contains(remove, want) {
					t.Errorf("update does not remove %s: %s", want, remove)
				}
			}
			for _, never := range []string{"executionId =", "planId =", "TTL", "activeExecutionId", "Secrets"} {
				if strings.Contains(update, never) {
					t.Errorf("update touches %q: %s", never, update)
				}
			}
		})
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestCreateExecutionWrites(t *testing.T) {
	reason := func(code string) types.CancellationReason { return types.CancellationReason{Code: aws.String(code)} }
	cases := []struct {
		name     string
		status   drsorch.ExecutionStatus
		plans    []map[string]types.AttributeValue // readHold answers, one per attempt
		holder   map[string]types.AttributeValue   // the recorded holder's item
		tx       []error                           // TransactWriteItems answers, one per call
		putFails bool                              // PutItem's condition fails, on an item this put wrote
		wantOps  string
		wantCode string
	}{
		{
			name: "not holding: a conditional put", status: drsorch.ExecutionCompleted,
			wantOps: "Query PutItem",
		},
		{
			name: "a retried put that had succeeded", status: drsorch.ExecutionCompleted, putFails: true,
			wantOps: "Query PutItem GetItem",
		},
		{
			name: "holding: put and take the plan together", status: drsorch.ExecutionPending,
			plans:   []map[string]types.AttributeValue{holdItem("plan-1", "", false)},
			tx:      []error{nil},
			wantOps: "Query GetItem Query TransactWriteItems",
		},
		{
			name: "lost the race for the plan", status: drsorch.ExecutionPending,
			plans: []map[string]types.AttributeValue{holdItem("plan-1", "", false), holdItem("plan-1", "exec-other", false)},
			holder: map[string]types.AttributeValue{
				"executionId": &types.AttributeValueMemberS{Value: "exec-other"}, "status": &types.AttributeValueMemberS{Value: "RUNNING"},
			},
			tx: []error{&types.TransactionCanceledException{
				Message:             aws.String("Transaction cancelled"),
				CancellationReasons: []types.CancellationReason{reason("None"), reason("ConditionalCheckFailed")},
			}},
			wantOps:  "Query GetItem Query TransactWriteItems GetItem GetItem",
			wantCode: drsorch.CodeAlreadyExists,
		},
		{
			name: "a transaction conflict is retried", status: drsorch.ExecutionRunning,
			plans: []map[string]types.AttributeValue{holdItem("plan-1", "", false), holdItem("plan-1", "", false)},
			tx: []error{&types.TransactionCanceledException{
				CancellationReasons: []types.CancellationReason{reason("None"), reason("TransactionConflict")},
			}, nil},
			wantOps: "Query GetItem Query TransactWriteItems GetItem Query TransactWriteItems",
		},
		{
			name: "the execution exists", status: drsorch.ExecutionPending,
			plans: []map[string]types.AttributeValue{holdItem("plan-1", "", false)},
			tx: []error{&types.TransactionCanceledException{
				CancellationReasons: []types.CancellationReason{reason("ConditionalCheckFailed"), reason("None")},
			}},
			wantOps:  "Query GetItem Query TransactWriteItems GetItem",
			wantCode: drsorch.CodeAlreadyExists,
		},
		{
			name: "throttled inside the transaction", status: drsorch.ExecutionPending,
			plans: []map[string]types.AttributeValue{holdItem("plan-1", "", false)},
			tx: []error{&types.TransactionCanceledException{
				CancellationReasons: []types.CancellationReason{reason("ThrottlingError"), reason("None")},
			}},
			wantOps:  "Query GetItem Query TransactWriteItems",
			wantCode: drsorch.CodeInternal,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			planReads, txCalls := 0, 0
			var put map[string]types.AttributeValue
			f := &fakeClient{
				getItem: func(in *ddb.GetItemInput) (*ddb.GetItemOutput, error) {
					if aws.ToString(in.TableName) == testTables.RecoveryPlans {
						planReads++
						return &ddb.GetItemOutput{Item: c.plans[min(planReads, len(c.plans))-1]}, nil
					}
					if put != nil {
						return &ddb.GetItemOutput{Item: put}, nil
					}
					return &ddb.GetItemOutput{Item: c.holder}, nil
				},
				putItem: func(in *ddb.PutItemInput) (*ddb.PutItemOutput, error) {
					if !c.putFails {
						return &ddb.PutItemOutput{}, nil
					}
					put = in.Item
					return nil, &types.ConditionalCheckFailedException{}
				},
				transactWriteItems: func(*ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error) {
					txCalls++
					return &ddb.TransactWriteItemsOutput{}, c.tx[txCalls-1]
				},
			}
			e := fullExecution()
			e.Version, e.Status = 0, c.status
			err := dynamodb.New(f, testTables).CreateExecution(t.Context(), e)
			wantCode(t, err, c.wantCode, "create")
			if got := strings.Join(f.ops(), " "); got != c.wantOps {
				t.Errorf("calls %s, want %s", got, c.wantOps)
			}
			if c.wantCode == "" && e.Version != 1 {
				t.Errorf("version = %d, want 1", e.Version)
			}
			if c.wantCode != "" && e.Version != 0 {
				t.Errorf("refused create changed the version to %d", e.Version)
			}
			if c.name == "lost the race for the plan" && err != nil {
				de := drsorch.AsError(err)
				if de.Message != "This Recovery Plan already has an execution in progress" || de.Details["planId"] != "plan-1" {
					t.Errorf("refusal = %q %v", de.Message, de.Details)
				}
			}
			if c.wantCode == drsorch.CodeInternal {
				var tce *types.TransactionCanceledException
				if !errors.As(err, &tce) {
					t.Errorf("internal error does not wrap the cancellation: %v", err)
				}
			}
			for i, call := range f.calls {
				if tx, ok := call.in.(*ddb.TransactWriteItemsInput); ok {
					put := tx.TransactItems[0].Put
					if put == nil || render(put.ConditionExpression, put.ExpressionAttributeNames, nil) != "attribute_not_exists (executionId)" {
						t.Errorf("call %d: execution put %+v", i, put)
					}
				}
			}
		})
	}
}

func TestStorageErrorsAreInternal(t *testing.T) {
	throttled := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	server := &smithy.GenericAPIError{Code: "InternalServerError", Message: "boom", Fault: smithy.FaultServer}
	cases := []struct {
		name string
		err  error
		call func(*dynamodb.Store) error
	}{
		{"throttled get", throttled, func(s *dynamodb.Store) error { _, err := s.GetPlan(t.Context(), "p"); return err }},
		{"5xx on scan", server, func(s *dynamodb.Store) error { _, err := s.ListGroups(t.Context()); return err }},
		{"throttled update", throttled, func(s *dynamodb.Store) error {
			return s.UpdatePlan(t.Context(), &drsorch.RecoveryPlan{PlanID: "p", Version: 1})
		}},
		{"5xx on list", server, func(s *dynamodb.Store) error {
			_, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fail := func() error { return c.err }
			f := &fakeClient{
				getItem:    func(*ddb.GetItemInput) (*ddb.GetItemOutput, error) { return nil, fail() },
				scan:       func(*ddb.ScanInput) (*ddb.ScanOutput, error) { return nil, fail() },
				updateItem: func(*ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error) { return nil, fail() },
			}
			err := c.call(dynamodb.New(f, testTables))
			wantCode(t, err, drsorch.CodeInternal, c.name)
			if !errors.Is(err, c.err) {
				t.Errorf("error %v does not wrap the cause", err)
			}
		})
	}
}

var writeIDRe = regexp.MustCompile(`writeId = "([0-9a-f]+)"`)

func TestConditionFailureMeaning(t *testing.T) {
	changed := map[string]types.AttributeValue{"planId": &types.AttributeValueMemberS{Value: "p"}, "writeId": &types.AttributeValueMemberS{Value: "someone-else"}}
	cases := []struct {
		name     string
		current  map[string]types.AttributeValue
		ours     bool // the current item carries this write's id
		wantCode string
	}{
		{"item gone", nil, false, drsorch.CodeNotFound},
		{"item changed", changed, false, drsorch.CodeVersionConflict},
		{"only a hold stub", holdItem("p", "e", true), false, drsorch.CodeNotFound},
		{"a retried call that had succeeded", changed, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var sent string
			f := &fakeClient{
				updateItem: func(in *ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error) {
					if m := writeIDRe.FindStringSubmatch(render(in.UpdateExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)); m != nil {
						sent = m[1]
					}
					return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
				},
				getItem: func(*ddb.GetItemInput) (*ddb.GetItemOutput, error) {
					item := maps.Clone(c.current)
					if c.ours {
						item["writeId"] = &types.AttributeValueMemberS{Value: sent}
					}
					return &ddb.GetItemOutput{Item: item}, nil
				},
			}
			p := &drsorch.RecoveryPlan{PlanID: "p", PlanName: "P", Version: 3}
			err := dynamodb.New(f, testTables).UpdatePlan(t.Context(), p)
			wantCode(t, err, c.wantCode, "update plan")
			if sent == "" {
				t.Error("the update carries no writeId")
			}
			if want := map[bool]int64{true: 4, false: 3}[c.wantCode == ""]; p.Version != want {
				t.Errorf("version = %d, want %d", p.Version, want)
			}
			in := last[ddb.UpdateItemInput](t, f, "UpdateItem")
			update := render(in.UpdateExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
			cond := render(in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
			if want := `((attribute_exists (planId)) AND (version = 3)) AND (attribute_not_exists (activeExecutionStub))`; cond != want {
				t.Errorf("condition\n got: %s\nwant: %s", cond, want)
			}
			for _, never := range []string{"activeExecutionId", "activeExecutionStub", "notificationEmail", "planId ="} {
				if strings.Contains(update, never) {
					t.Errorf("plan update touches %s: %s", never, update)
				}
			}
		})
	}
}

func TestPlansHideHolds(t *testing.T) {
	plan := loadItem(t, "reference-plan.json")
	plan["activeExecutionId"] = &types.AttributeValueMemberS{Value: "exec-1"}
	pages := [][]map[string]types.AttributeValue{
		{plan, holdItem("plan-stub", "exec-2", true)},
		{{"planId": &types.AttributeValueMemberS{Value: "plan-a"}, "planName": &types.AttributeValueMemberS{Value: "Alpha"}}},
		{{"planId": &types.AttributeValueMemberS{Value: "plan-z"}, "planName": &types.AttributeValueMemberS{Value: "Alpha"}}},
	}
	f := &fakeClient{
		scan: func(in *ddb.ScanInput) (*ddb.ScanOutput, error) {
			i := 0
			if in.ExclusiveStartKey != nil {
				i = int(num(in.ExclusiveStartKey["page"]))
			}
			out := &ddb.ScanOutput{Items: pages[i]}
			if i+1 < len(pages) {
				out.LastEvaluatedKey = map[string]types.AttributeValue{"page": &types.AttributeValueMemberN{Value: jsonNumber(int64(i + 1))}}
			}
			return out, nil
		},
		getItem: func(in *ddb.GetItemInput) (*ddb.GetItemOutput, error) {
			if avText(in.Key["planId"]) == `"plan-stub"` {
				return &ddb.GetItemOutput{Item: holdItem("plan-stub", "exec-2", true)}, nil
			}
			return &ddb.GetItemOutput{Item: plan}, nil
		},
	}
	s := dynamodb.New(f, testTables)
	plans, err := s.ListPlans(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range plans {
		ids = append(ids, p.PlanID)
	}
	if got := strings.Join(ids, " "); got != "plan-a plan-z 5b8e9c1a-7d2f-4e3b-8a6c-1f2e3d4c5b6a" {
		t.Errorf("listed %s, want every page, stubs skipped, by name then id", got)
	}
	if n := strings.Count(strings.Join(f.ops(), " "), "Scan"); n != 3 {
		t.Errorf("%d scans, want 3 pages", n)
	}
	for _, call := range f.calls {
		if in, ok := call.in.(*ddb.ScanInput); ok && !aws.ToBool(in.ConsistentRead) {
			t.Error("plans scanned without consistent reads")
		}
	}
	p, err := s.GetPlan(t.Context(), "5b8e9c1a-7d2f-4e3b-8a6c-1f2e3d4c5b6a")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "activeExecution") || p.Version != 3 || p.LastModifiedDate != 1767100000 {
		t.Errorf("plan read back as %s", b)
	}
	_, err = s.GetPlan(t.Context(), "plan-stub")
	wantCode(t, err, drsorch.CodeNotFound, "get a hold stub")
}

func num(av types.AttributeValue) int64 {
	var n int64
	json.Unmarshal([]byte(av.(*types.AttributeValueMemberN).Value), &n)
	return n
}

// execIndexItem is what the list's first pass reads of an execution.
func execIndexItem(id, plan, status string, start int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"executionId": &types.AttributeValueMemberS{Value: id}, "planId": &types.AttributeValueMemberS{Value: plan},
		"status": &types.AttributeValueMemberS{Value: status}, "startTime": &types.AttributeValueMemberN{Value: jsonNumber(start)},
	}
}

func TestListExecutions(t *testing.T) {
	// Two statuses, the first answered in two pages; a lock row among them.
	byStatus := map[string][][]map[string]types.AttributeValue{
		"RUNNING": {
			{execIndexItem("e1", "p", "RUNNING", 10), execIndexItem("e3", "p", "RUNNING", 30)},
			{execIndexItem("e2", "q", "RUNNING", 30), execIndexItem("execution-lock-p", "p", "LOCK", 40)},
		},
		"PAUSED": {{execIndexItem("e4", "r", "PAUSED", 20)}},
	}
	batchCalls := 0
	f := &fakeClient{
		query: func(in *ddb.QueryInput) (*ddb.QueryOutput, error) {
			st := strings.Trim(avText(in.ExpressionAttributeValues[":0"]), `"`)
			pages := byStatus[st]
			i := 0
			if in.ExclusiveStartKey != nil {
				i = 1
			}
			out := &ddb.QueryOutput{Items: pages[i]}
			if i+1 < len(pages) {
				out.LastEvaluatedKey = map[string]types.AttributeValue{"x": &types.AttributeValueMemberS{Value: "next"}}
			}
			return out, nil
		},
		batchGetItem: func(in *ddb.BatchGetItemInput) (*ddb.BatchGetItemOutput, error) {
			batchCalls++
			keys := in.RequestItems[testTables.ExecutionHistory].Keys
			out := &ddb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
			// The first call leaves its last key unprocessed.
			if batchCalls == 1 && len(keys) > 1 {
				out.UnprocessedKeys = map[string]types.KeysAndAttributes{testTables.ExecutionHistory: {Keys: keys[len(keys)-1:]}}
				keys = keys[:len(keys)-1]
			}
			for _, k := range keys {
				id := strings.Trim(avText(k["executionId"]), `"`)
				for _, pages := range byStatus {
					for _, page := range pages {
						for _, item := range page {
							if avText(item["executionId"]) == avText(k["executionId"]) {
								full := execIndexItem(id, strings.Trim(avText(item["planId"]), `"`), strings.Trim(avText(item["status"]), `"`), num(item["startTime"]))
								full["executionType"] = &types.AttributeValueMemberS{Value: "DRILL"}
								out.Responses[testTables.ExecutionHistory] = append(out.Responses[testTables.ExecutionHistory], full)
							}
						}
					}
				}
			}
			return out, nil
		},
	}
	s := dynamodb.New(f, testTables)
	q := drsorch.ExecutionQuery{Statuses: []drsorch.ExecutionStatus{"RUNNING", "PAUSED", "RUNNING"}, Limit: 3}
	page, err := s.ListExecutions(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range page.Items {
		ids = append(ids, e.ExecutionID)
	}
	if got := strings.Join(ids, " "); got != "e3 e2 e4" || page.NextToken == "" {
		t.Errorf("first page %q token %q, want e3 e2 e4 and a token", got, page.NextToken)
	}
	if batchCalls != 2 {
		t.Errorf("%d BatchGetItem calls, want 2 (unprocessed keys asked again)", batchCalls)
	}
	queries := 0
	for _, call := range f.calls {
		if in, ok := call.in.(*ddb.QueryInput); ok {
			queries++
			if aws.ToString(in.IndexName) != "StatusIndex" {
				t.Errorf("queried %s, want StatusIndex", aws.ToString(in.IndexName))
			}
		}
	}
	if queries != 3 {
		t.Errorf("%d queries, want 3 (RUNNING in two pages, PAUSED once; duplicates once)", queries)
	}
	q.NextToken = page.NextToken
	page, err = s.ListExecutions(t.Context(), q)
	if err != nil || len(page.Items) != 1 || page.Items[0].ExecutionID != "e1" || page.NextToken != "" {
		t.Errorf("second page: %v %+v", err, page)
	}

	for _, tok := range []string{"%%%", base64.RawURLEncoding.EncodeToString([]byte(`{"s":1}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"s":1,"e":"x","z":2}`)), base64.RawURLEncoding.EncodeToString([]byte(`[1]`))} {
		_, err := s.ListExecutions(t.Context(), drsorch.ExecutionQuery{NextToken: tok})
		wantCode(t, err, drsorch.CodeInvalidParameter, "token "+tok)
	}
}

func TestCreateTables(t *testing.T) {
	f := &fakeClient{}
	if err := dynamodb.New(f, testTables).CreateTables(t.Context()); err != nil {
		t.Fatal(err)
	}
	var schema []string
	for _, call := range f.calls {
		in, ok := call.in.(*ddb.CreateTableInput)
		if !ok {
			continue
		}
		line := aws.ToString(in.TableName) + " " + string(in.BillingMode)
		for _, k := range in.KeySchema {
			line += " " + aws.ToString(k.AttributeName) + "/" + string(k.KeyType)
		}
		for _, g := range in.GlobalSecondaryIndexes {
			line += " " + aws.ToString(g.IndexName) + "(" + aws.ToString(g.KeySchema[0].AttributeName) + "," + string(g.Projection.ProjectionType) + ")"
		}
		schema = append(schema, line)
	}
	want := []string{
		"drs-execution-history-test PAY_PER_REQUEST executionId/HASH planId/RANGE StatusIndex(status,ALL) planIdIndex(planId,ALL)",
		"drs-recovery-plans-test PAY_PER_REQUEST planId/HASH",
		"drs-protection-groups-test PAY_PER_REQUEST groupId/HASH",
		"drs-target-accounts-test PAY_PER_REQUEST accountId/HASH",
	}
	sameJSON(t, "tables", schema, want)
}
