package dynamodb_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/dynamodb"
)

// loadItem reads a DynamoDB-JSON item (as `aws dynamodb get-item` prints it) from testdata.
func loadItem(t *testing.T, name string) map[string]types.AttributeValue {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	item := map[string]types.AttributeValue{}
	for k, v := range raw {
		av, err := decodeDDBJSON(v)
		if err != nil {
			t.Fatalf("%s: attribute %s: %v", name, k, err)
		}
		item[k] = av
	}
	return item
}

// decodeDDBJSON decodes one DynamoDB-JSON attribute value such as {"S":"x"}.
func decodeDDBJSON(b json.RawMessage) (types.AttributeValue, error) {
	var typed map[string]json.RawMessage
	if err := json.Unmarshal(b, &typed); err != nil || len(typed) != 1 {
		return nil, fmt.Errorf("not a typed value: %s", b)
	}
	for tag, v := range typed {
		switch tag {
		case "S":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberS{Value: s}, err
		case "N":
			var s string
			err := json.Unmarshal(v, &s)
			return &types.AttributeValueMemberN{Value: s}, err
		case "BOOL":
			var x bool
			err := json.Unmarshal(v, &x)
			return &types.AttributeValueMemberBOOL{Value: x}, err
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}, nil
		case "B":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return nil, err
			}
			x, err := base64.StdEncoding.DecodeString(s)
			return &types.AttributeValueMemberB{Value: x}, err
		case "SS":
			var x []string
			err := json.Unmarshal(v, &x)
			return &types.AttributeValueMemberSS{Value: x}, err
		case "L":
			var raw []json.RawMessage
			if err := json.Unmarshal(v, &raw); err != nil {
				return nil, err
			}
			l := make([]types.AttributeValue, len(raw))
			for i, r := range raw {
				av, err := decodeDDBJSON(r)
				if err != nil {
					return nil, err
				}
				l[i] = av
			}
			return &types.AttributeValueMemberL{Value: l}, nil
		case "M":
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(v, &raw); err != nil {
				return nil, err
			}
			m := make(map[string]types.AttributeValue, len(raw))
			for k, r := range raw {
				av, err := decodeDDBJSON(r)
				if err != nil {
					return nil, err
				}
				m[k] = av
			}
			return &types.AttributeValueMemberM{Value: m}, nil
		}
		return nil, fmt.Errorf("unsupported type %s", tag)
	}
	return nil, nil
}

// attr returns the value at a dotted path of an item, or nil.
func attr(item map[string]types.AttributeValue, path string) types.AttributeValue {
	first, rest, nested := strings.Cut(path, ".")
	v := item[first]
	if !nested {
		return v
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		return nil
	}
	return attr(m.Value, rest)
}

// avText renders an attribute value compactly: "x" for strings, 12 for
// numbers, true, null, B(n bytes), [..] and {..}.
func avText(av types.AttributeValue) string {
	switch x := av.(type) {
	case nil:
		return "<absent>"
	case *types.AttributeValueMemberS:
		return fmt.Sprintf("%q", x.Value)
	case *types.AttributeValueMemberN:
		return x.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint(x.Value)
	case *types.AttributeValueMemberNULL:
		return "null"
	case *types.AttributeValueMemberB:
		return fmt.Sprintf("B(%d bytes)", len(x.Value))
	case *types.AttributeValueMemberL:
		parts := make([]string, len(x.Value))
		for i, e := range x.Value {
			parts[i] = avText(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(x.Value))
		for k := range x.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ":" + avText(x.Value[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("%T", av)
}

var placeholder = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// render substitutes the names and values of an expression back into it.
func render(expr *string, names map[string]string, values map[string]types.AttributeValue) string {
	if expr == nil {
		return ""
	}
	return placeholder.ReplaceAllStringFunc(strings.TrimSpace(*expr), func(p string) string {
		if p[0] == '#' {
			if n, ok := names[p]; ok {
				return n
			}
			return p
		}
		if v, ok := values[p]; ok {
			return avText(v)
		}
		return p
	})
}

// sameJSON fails the test unless got and want marshal to the same JSON.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	if !bytes.Equal(g, w) {
		t.Errorf("%s differs\n got: %.3000s\nwant: %.3000s", what, g, w)
	}
}

func wantCode(t *testing.T, err error, code, what string) {
	t.Helper()
	if got := drsorch.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// bigExecution returns a RUNNING execution of n servers in waves of 1,000,
// every server launched by jobs of 100, with realistic ids and fields.
func bigExecution(id, planID string, n int) *drsorch.Execution {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	e := &drsorch.Execution{
		ExecutionID: id, PlanID: planID, PlanName: "Large plan", ExecutionType: drsorch.Drill,
		Status: drsorch.ExecutionRunning, StartTime: start, InitiatedBy: "load@example.com",
		AccountContext: &drsorch.AccountContext{AccountID: "111122223333", AssumeRoleName: "DRSRole"},
		AccountID:      "111122223333",
		Secrets:        drsorch.ExecutionSecrets{TaskToken: "token-" + id, ExternalID: "ext-big"},
	}
	for w := 0; w*1000 < n; w++ {
		wave := drsorch.ExecutionWave{
			WaveNumber: w, WaveName: fmt.Sprintf("Wave %d", w+1), ProtectionGroupID: fmt.Sprintf("pg-%d", w),
			Status: drsorch.WaveInProgress, StartTime: start + int64(w)*600, Region: "us-east-1",
		}
		for i := w * 1000; i < min(n, (w+1)*1000); i++ {
			sid := fmt.Sprintf("s-%017x", 0x1000000+i*7919)
			wave.ServerIDs = append(wave.ServerIDs, sid)
			job := fmt.Sprintf("drsjob-%017x", 0x2000000+i/100)
			if i%100 == 0 {
				wave.Jobs = append(wave.Jobs, drsorch.WaveJob{
					IntentID: fmt.Sprintf("%s-w%d-j%d", id, w, i/100), JobID: job, Status: drsorch.JobStarted,
					Region: "us-east-1", AccountID: "111122223333", SubmittedAt: start + int64(i),
				})
			}
			j := &wave.Jobs[len(wave.Jobs)-1]
			j.ServerIDs = append(j.ServerIDs, sid)
			wave.ServerStatuses = append(wave.ServerStatuses, drsorch.ServerStatus{
				SourceServerID: sid, ServerName: fmt.Sprintf("app-server-%04d", i),
				Hostname:     fmt.Sprintf("ip-10-%d-%d-%d.ec2.internal", i/65536, i/256%256, i%256),
				LaunchStatus: drsorch.LaunchLaunched, JobID: job,
				RecoveryInstanceID: fmt.Sprintf("i-%017x", 0x3000000+i*104729),
				InstanceID:         fmt.Sprintf("i-%017x", 0x3000000+i*104729),
				PrivateIP:          fmt.Sprintf("10.%d.%d.%d", i/65536, i/256%256, i%256),
				InstanceType:       "m5.large", InstanceState: "running", LaunchTime: start + 900 + int64(i),
				Region: "us-east-1", Phase: "LAUNCHING", LastEvent: drsorch.EventLaunchEnd,
				SubmittedAt: start + int64(i), LaunchedAt: start + 900 + int64(i),
			})
		}
		e.Waves = append(e.Waves, wave)
	}
	e.TotalWaves = len(e.Waves)
	return e
}

// fakeClient is a dynamodb.Client whose calls return what its func fields
// say (an empty answer when nil), and records every input.
type fakeClient struct {
	mu    sync.Mutex
	calls []fakeCall

	getItem            func(*ddb.GetItemInput) (*ddb.GetItemOutput, error)
	putItem            func(*ddb.PutItemInput) (*ddb.PutItemOutput, error)
	updateItem         func(*ddb.UpdateItemInput) (*ddb.UpdateItemOutput, error)
	deleteItem         func(*ddb.DeleteItemInput) (*ddb.DeleteItemOutput, error)
	query              func(*ddb.QueryInput) (*ddb.QueryOutput, error)
	scan               func(*ddb.ScanInput) (*ddb.ScanOutput, error)
	batchGetItem       func(*ddb.BatchGetItemInput) (*ddb.BatchGetItemOutput, error)
	transactWriteItems func(*ddb.TransactWriteItemsInput) (*ddb.TransactWriteItemsOutput, error)
}

type fakeCall struct {
	op string
	in any
}

var _ dynamodb.Client = (*fakeClient)(nil)

func (f *fakeClient) record(op string, in any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fakeCall{op, in})
}

// ops returns the operations called, in order.
func (f *fakeClient) ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.op
	}
	return out
}

// last returns the input of the last call of op.
func last[T any](t *testing.T, f *fakeClient, op string) *T {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		if f.calls[i].op == op {
			return f.calls[i].in.(*T)
		}
	}
	t.Fatalf("no %s call; calls: %v", op, f.calls)
	return nil
}

func (f *fakeClient) GetItem(_ context.Context, in *ddb.GetItemInput, _ ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	f.record("GetItem", in)
	if f.getItem == nil {
		return &ddb.GetItemOutput{}, nil
	}
	return f.getItem(in)
}

func (f *fakeClient) PutItem(_ context.Context, in *ddb.PutItemInput, _ ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	f.record("PutItem", in)
	if f.putItem == nil {
		return &ddb.PutItemOutput{}, nil
	}
	return f.putItem(in)
}

func (f *fakeClient) UpdateItem(_ context.Context, in *ddb.UpdateItemInput, _ ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	f.record("UpdateItem", in)
	if f.updateItem == nil {
		return &ddb.UpdateItemOutput{}, nil
	}
	return f.updateItem(in)
}

func (f *fakeClient) DeleteItem(_ context.Context, in *ddb.DeleteItemInput, _ ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error) {
	f.record("DeleteItem", in)
	if f.deleteItem == nil {
		return &ddb.DeleteItemOutput{}, nil
	}
	return f.deleteItem(in)
}

func (f *fakeClient) Query(_ context.Context, in *ddb.QueryInput, _ ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	f.record("Query", in)
	if f.query == nil {
		return &ddb.QueryOutput{}, nil
	}
	return f.query(in)
}

func (f *fakeClient) Scan(_ context.Context, in *ddb.ScanInput, _ ...func(*ddb.Options)) (*ddb.ScanOutput, error) {
	f.record("Scan", in)
	if f.scan == nil {
		return &ddb.ScanOutput{}, nil
	}
	return f.scan(in)
}

func (f *fakeClient) BatchGetItem(_ context.Context, in *ddb.BatchGetItemInput, _ ...func(*ddb.Options)) (*ddb.BatchGetItemOutput, error) {
	f.record("BatchGetItem", in)
	if f.batchGetItem == nil {
		return &ddb.BatchGetItemOutput{}, nil
	}
	return f.batchGetItem(in)
}

func (f *fakeClient) TransactWriteItems(_ context.Context, in *ddb.TransactWriteItemsInput, _ ...func(*ddb.Options)) (*ddb.TransactWriteItemsOutput, error) {
	f.record("TransactWriteItems", in)
	if f.transactWriteItems == nil {
		return &ddb.TransactWriteItemsOutput{}, nil
	}
	return f.transactWriteItems(in)
}

func (f *fakeClient) CreateTable(_ context.Context, in *ddb.CreateTableInput, _ ...func(*ddb.Options)) (*ddb.CreateTableOutput, error) {
	f.record("CreateTable", in)
	return &ddb.CreateTableOutput{}, nil
}

func (f *fakeClient) DescribeTable(_ context.Context, in *ddb.DescribeTableInput, _ ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error) {
	f.record("DescribeTable", in)
	return &ddb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
}

var testTables = dynamodb.Tables{
	ExecutionHistory: "drs-execution-history-test", RecoveryPlans: "drs-recovery-plans-test",
	ProtectionGroups: "drs-protection-groups-test", TargetAccounts: "drs-target-accounts-test",
}
