// Package dynamodb is the drsorch.Store on Amazon DynamoDB, on the tables of
// the system drsorch replaces: the same table keys, indexes and item attribute
// names, so records that system wrote read back, and it can read ours.
//
// Items are the records' JSON forms converted attribute by attribute (numbers
// as N, objects as M, arrays as L). Every write is conditional:
//
//   - Versioned records (plans, groups, executions) are written with
//     UpdateItem, SET-ting the attributes the record has and REMOVE-ing those
//     it owns but lacks, under a condition on `version` (an item without one,
//     as the replaced system wrote them, is version 0). Attributes other
//     writers added are left alone, so they survive our updates.
//   - One active execution per plan is a condition on the plan's item in the
//     recovery-plans table: it carries `activeExecutionId`, set in the same
//     transaction (TransactWriteItems) as the execution write that takes the
//     plan and removed in the one that gives it up. When the plan has no item
//     (never created, or deleted while held) a stub item carrying only the
//     hold stands in for it; stubs never read as plans and are deleted when
//     the hold ends.
//   - An execution item that would exceed ~350 KB stores its waves (and if
//     needed its timeline) gzip-compressed in binary attributes `wavesGz` and
//     `timelineGz`, decompressed transparently on read.
//
// Every query and scan reads all pages. Errors from DynamoDB other than a
// failed condition are INTERNAL_ERROR wrapping the cause.
package dynamodb

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/drsorch/drsorch"
)

// Client is the part of the DynamoDB API the Store uses; *dynamodb.Client implements it.
type Client interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, opts ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *ddb.PutItemInput, opts ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, opts ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, opts ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, opts ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	Scan(ctx context.Context, in *ddb.ScanInput, opts ...func(*ddb.Options)) (*ddb.ScanOutput, error)
	BatchGetItem(ctx context.Context, in *ddb.BatchGetItemInput, opts ...func(*ddb.Options)) (*ddb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *ddb.TransactWriteItemsInput, opts ...func(*ddb.Options)) (*ddb.TransactWriteItemsOutput, error)
	CreateTable(ctx context.Context, in *ddb.CreateTableInput, opts ...func(*ddb.Options)) (*ddb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *ddb.DescribeTableInput, opts ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error)
}

var _ Client = (*ddb.Client)(nil)

// Tables names the four tables the Store uses.
type Tables struct {
	ExecutionHistory string // EXECUTION_HISTORY_TABLE
	RecoveryPlans    string // RECOVERY_PLANS_TABLE
	ProtectionGroups string // PROTECTION_GROUPS_TABLE
	TargetAccounts   string // TARGET_ACCOUNTS_TABLE
}

// The environment variables TablesFromEnv reads, as the replaced system's Lambda had them.
const (
	EnvExecutionHistoryTable = "EXECUTION_HISTORY_TABLE"
	EnvRecoveryPlansTable    = "RECOVERY_PLANS_TABLE"
	EnvProtectionGroupsTable = "PROTECTION_GROUPS_TABLE"
	EnvTargetAccountsTable   = "TARGET_ACCOUNTS_TABLE"
)

// TablesFromEnv reads the table names from the environment. A missing name is
// an INVALID_PARAMETER error naming the variables that are not set.
func TablesFromEnv() (Tables, error) {
	t := Tables{
		ExecutionHistory: os.Getenv(EnvExecutionHistoryTable),
		RecoveryPlans:    os.Getenv(EnvRecoveryPlansTable),
		ProtectionGroups: os.Getenv(EnvProtectionGroupsTable),
		TargetAccounts:   os.Getenv(EnvTargetAccountsTable),
	}
	return t, t.Validate()
}

// Validate reports a missing table name as INVALID_PARAMETER naming its environment variable.
func (t Tables) Validate() error {
	var missing []string
	for _, c := range []struct{ name, env string }{
		{t.ExecutionHistory, EnvExecutionHistoryTable},
		{t.RecoveryPlans, EnvRecoveryPlansTable},
		{t.ProtectionGroups, EnvProtectionGroupsTable},
		{t.TargetAccounts, EnvTargetAccountsTable},
	} {
		if c.name == "" {
			missing = append(missing, c.env)
		}
	}
	if len(missing) > 0 {
		return drsorch.Errorf(drsorch.CodeInvalidParameter, "DynamoDB table names not set: %s", strings.Join(missing, ", ")).
			WithDetails(map[string]any{"missing": missing})
	}
	return nil
}

// Store is a drsorch.Store on DynamoDB. It is safe for concurrent use, and
// several Stores (processes, Lambda instances) may share the tables.
type Store struct {
	client Client
	tables Tables
}

var _ drsorch.Store = (*Store)(nil)

// New returns a Store on the given tables.
func New(client Client, tables Tables) *Store {
	return &Store{client: client, tables: tables}
}

// Attribute and index names of the reference's schema, and drsorch's own.
const (
	attrExecutionID = "executionId"
	attrPlanID      = "planId"
	attrGroupID     = "groupId"
	attrAccountID   = "accountId"
	attrStatus      = "status"
	attrVersion     = "version"
	attrStartTime   = "startTime"

	// attrActiveExecution on a recovery-plans item is the execution holding the plan.
	attrActiveExecution = "activeExecutionId"
	// attrHoldStub marks a recovery-plans item that only carries a hold (no plan).
	attrHoldStub = "activeExecutionStub"

	indexStatus = "StatusIndex"
	indexPlanID = "planIdIndex"

	// attrWriteID holds a random id of the write that produced the item. A
	// write whose condition fails (typically on the SDK's retry of a call
	// whose first attempt did succeed) is recognised as done by it.
	attrWriteID = "writeId"

	// legacyLockStatus is the status of the replaced system's lock rows; they are never read as executions.
	legacyLockStatus = "LOCK"
)

// maxAttempts bounds the internal retries of a write whose plan-hold
// decision was overtaken by a concurrent write, or that met a transaction
// conflict. Each attempt re-reads what it decides on.
const maxAttempts = 8

// kind describes one record kind's table.
type kind struct {
	label string // how errors name the kind
	key   string // partition key attribute
	// owned lists the attributes drsorch writes; computed on first use,
	// so a process that never touches DynamoDB does not pay for it.
	owned func() []string
}

var (
	planKind = kind{"Recovery Plan", attrPlanID, sync.OnceValue(func() []string {
		return append(jsonNames(reflect.TypeFor[drsorch.RecoveryPlan]()), attrWriteID)
	})}
	groupKind = kind{"Protection Group", attrGroupID, sync.OnceValue(func() []string {
		return append(jsonNames(reflect.TypeFor[drsorch.ProtectionGroup]()), attrWriteID)
	})}
	accountKind = kind{"Target Account", attrAccountID, sync.OnceValue(func() []string {
		return jsonNames(reflect.TypeFor[drsorch.TargetAccount]())
	})}
	execKind = kind{"Execution", attrExecutionID, sync.OnceValue(executionOwned)}
)

func notFound(k kind, id string) error {
	return drsorch.Errorf(drsorch.CodeNotFound, "%s with ID %s not found", k.label, id)
}

func alreadyExists(k kind, id string) error {
	return drsorch.Errorf(drsorch.CodeAlreadyExists, "%s with ID %s already exists", k.label, id)
}

func versionConflict(k kind, id string, version int64) error {
	return drsorch.Errorf(drsorch.CodeVersionConflict,
		"%s with ID %s was changed by another request (version %d is stale)", k.label, id, version)
}

func missingID(k kind) error {
	return drsorch.Errorf(drsorch.CodeInvalidParameter, "%s ID is required", k.label)
}

// planHeld is the refusal of a second execution holding the same plan.
func planHeld(planID string) error {
	return drsorch.Errorf(drsorch.CodeAlreadyExists, "This Recovery Plan already has an execution in progress").
		WithDetails(map[string]any{"planId": planID})
}

// internal wraps a DynamoDB failure (throttling, 5xx, validation…) as
// INTERNAL_ERROR; the cause is kept for logs and for callers that retry.
func internal(err error, op string) error {
	var de *drsorch.Error
	if errors.As(err, &de) {
		return err
	}
	return drsorch.Wrap(drsorch.CodeInternal, err, "storage failure: %s", op)
}

func isConditionFailed(err error) bool {
	var e *types.ConditionalCheckFailedException
	return errors.As(err, &e)
}

func isTransactionConflict(err error) bool {
	var e *types.TransactionConflictException
	return errors.As(err, &e)
}

// cancelReasons returns the per-action reasons of a cancelled transaction.
func cancelReasons(err error) ([]types.CancellationReason, bool) {
	var e *types.TransactionCanceledException
	if !errors.As(err, &e) {
		return nil, false
	}
	return e.CancellationReasons, true
}

// Cancellation reason codes (TransactWriteItems).
const (
	reasonNone        = "None"
	reasonCondition   = "ConditionalCheckFailed"
	reasonTxnConflict = "TransactionConflict"
)

func reasonCode(rs []types.CancellationReason, i int) string {
	if i >= len(rs) || rs[i].Code == nil {
		return reasonNone
	}
	return *rs[i].Code
}

// backoff waits before retry attempt n (n >= 1), with jitter.
func backoff(ctx context.Context, n int) error {
	d := time.Duration(min(1<<min(n, 10), 64)) * 5 * time.Millisecond
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return internal(ctx.Err(), "retry")
	case <-t.C:
		return nil
	}
}

// newWriteID returns a random id for one write (see attrWriteID).
func newWriteID() types.AttributeValue {
	var b [16]byte
	cryptorand.Read(b[:])
	return sAV(hex.EncodeToString(b[:]))
}

// wroteIt reports whether the item was produced by the write with the given id.
func wroteIt(item map[string]types.AttributeValue, id types.AttributeValue) bool {
	return item != nil && str(item, attrWriteID) != "" && str(item, attrWriteID) == id.(*types.AttributeValueMemberS).Value
}

// createVersion is the version a created record gets: 1, or the caller's own.
func createVersion(v int64) int64 {
	if v <= 0 {
		return 1
	}
	return v
}

// versionIs is the condition that the stored version equals v; a missing
// version attribute counts as 0 (items of the replaced system have none).
func versionIs(v int64) expression.ConditionBuilder {
	eq := expression.Name(attrVersion).Equal(expression.Value(nAV(v)))
	if v == 0 {
		return expression.Or(expression.AttributeNotExists(expression.Name(attrVersion)), eq)
	}
	return eq
}

// writeSpec builds the update expression that makes the owned attributes of
// an item equal to item: SET each attribute it has (but the keys), REMOVE
// each owned one it lacks. Attributes outside owned are not touched.
func writeSpec(item map[string]types.AttributeValue, owned []string, keys ...string) expression.UpdateBuilder {
	var ub expression.UpdateBuilder
	names := make([]string, 0, len(item))
	for k := range item {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(keys, k) {
			ub = ub.Set(expression.Name(k), expression.Value(item[k]))
		}
	}
	for _, k := range owned {
		if _, ok := item[k]; !ok && !slices.Contains(keys, k) {
			ub = ub.Remove(expression.Name(k))
		}
	}
	return ub
}

// built is a built expression in the shape the SDK's inputs take.
type built struct {
	update, condition, keyCondition, projection *string
	names                                       map[string]string
	values                                      map[string]types.AttributeValue
}

func build(b expression.Builder) (built, error) {
	x, err := b.Build()
	if err != nil {
		return built{}, fmt.Errorf("build expression: %w", err)
	}
	return built{
		update: x.Update(), condition: x.Condition(), keyCondition: x.KeyCondition(), projection: x.Projection(),
		names: x.Names(), values: x.Values(),
	}, nil
}

func key(name, value string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{name: sAV(value)}
}

func execKey(executionID, planID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrExecutionID: sAV(executionID), attrPlanID: sAV(planID)}
}

// getItem reads one item with a strongly consistent read; nil when absent.
func (s *Store) getItem(ctx context.Context, table string, k map[string]types.AttributeValue, attrs ...string) (map[string]types.AttributeValue, error) {
	in := &ddb.GetItemInput{TableName: aws.String(table), Key: k, ConsistentRead: aws.Bool(true)}
	if len(attrs) > 0 {
		x, err := build(expression.NewBuilder().WithProjection(projection(attrs...)))
		if err != nil {
			return nil, err
		}
		in.ProjectionExpression, in.ExpressionAttributeNames = x.projection, x.names
	}
	out, err := s.client.GetItem(ctx, in)
	if err != nil {
		return nil, internal(err, "get item from "+table)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

func projection(attrs ...string) expression.ProjectionBuilder {
	names := make([]expression.NameBuilder, len(attrs))
	for i, a := range attrs {
		names[i] = expression.Name(a)
	}
	return expression.NamesList(names[0], names[1:]...)
}

// scanAll reads every item of a table, page by page.
func (s *Store) scanAll(ctx context.Context, in *ddb.ScanInput, each func(map[string]types.AttributeValue) error) error {
	for {
		out, err := s.client.Scan(ctx, in)
		if err != nil {
			return internal(err, "scan "+aws.ToString(in.TableName))
		}
		for _, item := range out.Items {
			if err := each(item); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		next := *in
		next.ExclusiveStartKey = out.LastEvaluatedKey
		in = &next
	}
}

// queryAll reads every item a query matches, page by page.
func (s *Store) queryAll(ctx context.Context, in *ddb.QueryInput, each func(map[string]types.AttributeValue) (more bool, err error)) error {
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return internal(err, "query "+aws.ToString(in.TableName))
		}
		for _, item := range out.Items {
			more, err := each(item)
			if err != nil || !more {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		next := *in
		next.ExclusiveStartKey = out.LastEvaluatedKey
		in = &next
	}
}
