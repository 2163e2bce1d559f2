package dynamodb

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/drsorch/drsorch"
)

// Execution secrets are stored where the replaced system kept them: the
// task token and the paused state snapshot (a JSON string) as top-level
// attributes, the external id inside accountContext (top-level externalId
// when the execution has no account context), the callback nonce top-level.
const (
	attrTaskToken     = "taskToken"
	attrSnapshot      = "pausedStateSnapshot"
	attrCallbackNonce = "callbackNonce"
	attrExternalID    = "externalId"
	attrAccountCtx    = "accountContext"
	attrInitiatedBy   = "initiatedBy"
	attrWaves         = "waves"
	attrTimeline      = "timeline"
	gzSuffix          = "Gz"
)

// CompressAbove is the estimated item size (bytes) above which an execution's
// waves, then its timeline, are stored gzip-compressed (wavesGz, timelineGz).
// It leaves room under DynamoDB's 400 KB item limit for attributes other
// writers add.
const CompressAbove = 350 * 1024

// MaxItemSize is DynamoDB's item size limit.
const MaxItemSize = 400 * 1024

// executionOwned lists the execution-history attributes drsorch writes.
func executionOwned() []string {
	return append(jsonNames(reflect.TypeFor[drsorch.Execution]()), attrWriteID,
		attrTaskToken, attrSnapshot, attrCallbackNonce, attrExternalID,
		attrWaves+gzSuffix, attrTimeline+gzSuffix)
}

// ExecutionItem returns the execution-history item of e at version e.Version,
// secrets included, compressed as the Store writes it. It is the mapping the
// Store uses, for tools that read or write the table directly.
func ExecutionItem(e *drsorch.Execution) (map[string]types.AttributeValue, error) {
	return encodeExecution(e, e.Version)
}

// ExecutionFromItem reads an execution-history item, as drsorch or the
// replaced system wrote it, secrets included. A missing version reads as 0.
func ExecutionFromItem(item map[string]types.AttributeValue) (*drsorch.Execution, error) {
	return decodeExecution(item)
}

func encodeExecution(e *drsorch.Execution, version int64) (map[string]types.AttributeValue, error) {
	m, err := jsonMap(e)
	if err != nil {
		return nil, internal(err, "encode execution")
	}
	m[attrVersion] = json.Number(jsonInt(version))
	if v, ok := principalValue(e.InitiatedBy); ok {
		m[attrInitiatedBy] = v
	}
	sec := e.Secrets
	for name, v := range map[string]string{
		attrTaskToken: sec.TaskToken, attrSnapshot: sec.PausedStateSnapshot, attrCallbackNonce: sec.CallbackNonce,
	} {
		if v != "" {
			m[name] = v
		}
	}
	if sec.ExternalID != "" {
		if ac, ok := m[attrAccountCtx].(map[string]any); ok {
			ac[attrExternalID] = sec.ExternalID
		} else {
			m[attrExternalID] = sec.ExternalID
		}
	}
	item, err := itemFromMap(m)
	if err != nil {
		return nil, internal(err, "encode execution")
	}
	size := itemSize(item)
	for _, c := range []struct {
		name string
		v    any
	}{{attrWaves, e.Waves}, {attrTimeline, e.Timeline}} {
		if size <= CompressAbove {
			break
		}
		if _, isNull := item[c.name].(*types.AttributeValueMemberNULL); isNull || item[c.name] == nil {
			continue
		}
		b, err := gzipJSON(c.v)
		if err != nil {
			return nil, internal(err, "compress "+c.name)
		}
		delete(item, c.name)
		item[c.name+gzSuffix] = &types.AttributeValueMemberB{Value: b}
		size = itemSize(item)
	}
	if size > MaxItemSize {
		return nil, drsorch.Errorf(drsorch.CodeInternal,
			"execution %s is too large to store: %d bytes compressed, DynamoDB's limit is %d", e.ExecutionID, size, MaxItemSize)
	}
	return item, nil
}

// principalValue returns a principal the replaced system stored as an object
// (read back as its JSON text) as that object again.
func principalValue(p drsorch.Principal) (any, bool) {
	s := strings.TrimSpace(string(p))
	if !strings.HasPrefix(s, "{") || !json.Valid([]byte(s)) {
		return nil, false
	}
	m, err := decodeJSONMap([]byte(s))
	if err != nil {
		return nil, false
	}
	return m, true
}

func decodeExecution(item map[string]types.AttributeValue) (*drsorch.Execution, error) {
	id := str(item, attrExecutionID)
	m := fromItem(item)
	for _, name := range []string{attrWaves, attrTimeline} {
		gz, ok := item[name+gzSuffix].(*types.AttributeValueMemberB)
		delete(m, name+gzSuffix)
		if !ok {
			continue
		}
		raw, err := gunzipJSON(gz.Value)
		if err != nil {
			return nil, internal(err, "decompress "+name+" of execution "+id)
		}
		m[name] = raw
	}
	var sec drsorch.ExecutionSecrets
	sec.TaskToken = str(item, attrTaskToken)
	sec.CallbackNonce = str(item, attrCallbackNonce)
	switch v := item[attrSnapshot].(type) {
	case nil, *types.AttributeValueMemberNULL:
	case *types.AttributeValueMemberS:
		sec.PausedStateSnapshot = v.Value
	default: // a snapshot stored as a map: keep its JSON text
		b, err := json.Marshal(fromAV(v))
		if err != nil {
			return nil, internal(err, "decode pausedStateSnapshot of execution "+id)
		}
		sec.PausedStateSnapshot = string(b)
	}
	if ac, ok := item[attrAccountCtx].(*types.AttributeValueMemberM); ok {
		sec.ExternalID = str(ac.Value, attrExternalID)
	}
	if sec.ExternalID == "" {
		sec.ExternalID = str(item, attrExternalID)
	}
	for _, name := range []string{attrTaskToken, attrSnapshot, attrCallbackNonce, attrExternalID, attrWriteID} {
		delete(m, name)
	}
	var e drsorch.Execution
	// Decompressed waves and timeline stay JSON text: drsorch wrote them, with whole numbers.
	if err := decodeInto(m, &e, attrInitiatedBy); err != nil {
		return nil, internal(err, "decode execution "+id)
	}
	e.Secrets = sec
	return &e, nil
}

// isLockRow reports whether an execution-history item is one of the replaced
// system's lock rows, which are never executions.
func isLockRow(item map[string]types.AttributeValue) bool {
	return str(item, attrStatus) == legacyLockStatus || strings.HasPrefix(str(item, attrExecutionID), "execution-lock-")
}

func validateExecution(e *drsorch.Execution) error {
	switch {
	case e.ExecutionID == "":
		return missingID(execKind)
	case e.PlanID == "":
		return drsorch.Errorf(drsorch.CodeInvalidParameter, "Execution %s has no planId", e.ExecutionID)
	case e.Status == "":
		return drsorch.Errorf(drsorch.CodeInvalidParameter, "Execution %s has no status", e.ExecutionID)
	}
	return nil
}

// findExecution returns the item of an execution (any plan), or nil.
func (s *Store) findExecution(ctx context.Context, executionID string, attrs ...string) (map[string]types.AttributeValue, error) {
	b := expression.NewBuilder().WithKeyCondition(expression.Key(attrExecutionID).Equal(expression.Value(sAV(executionID))))
	if len(attrs) > 0 {
		b = b.WithProjection(projection(append(attrs, attrExecutionID, attrStatus)...))
	}
	x, err := build(b)
	if err != nil {
		return nil, internal(err, "get execution")
	}
	var found map[string]types.AttributeValue
	err = s.queryAll(ctx, &ddb.QueryInput{
		TableName: aws.String(s.tables.ExecutionHistory), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: x.keyCondition, ProjectionExpression: x.projection,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	}, func(item map[string]types.AttributeValue) (bool, error) {
		if isLockRow(item) {
			return true, nil
		}
		found = item
		return false, nil
	})
	return found, err
}

// GetExecution returns an execution with its secrets, or NOT_FOUND.
func (s *Store) GetExecution(ctx context.Context, executionID string) (*drsorch.Execution, error) {
	if executionID == "" {
		return nil, notFound(execKind, executionID)
	}
	item, err := s.findExecution(ctx, executionID)
	if err != nil {
		return nil, err
	}
	if item == nil {
		return nil, notFound(execKind, executionID)
	}
	return decodeExecution(item)
}

// CreateExecution stores a new execution with version 1 (or its own version
// when set). An existing id, or a second execution holding the same plan, is
// ALREADY_EXISTS.
func (s *Store) CreateExecution(ctx context.Context, e *drsorch.Execution) error {
	if err := validateExecution(e); err != nil {
		return err
	}
	version := createVersion(e.Version)
	item, err := encodeExecution(e, version)
	if err != nil {
		return err
	}
	wid := newWriteID()
	item[attrWriteID] = wid
	// The key is (executionId, planId): the condition below only sees this
	// plan's item, so an id used under another plan is looked for first.
	// (Ids are UUIDs; two creates of one id under two plans at once are not
	// a case to serialise.)
	if other, err := s.findExecution(ctx, e.ExecutionID, attrPlanID); err != nil {
		return err
	} else if other != nil {
		return alreadyExists(execKind, e.ExecutionID)
	}
	x, err := build(expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(attrExecutionID))))
	if err != nil {
		return internal(err, "create execution")
	}
	put := &types.Put{
		TableName: aws.String(s.tables.ExecutionHistory), Item: item,
		ConditionExpression: x.condition, ExpressionAttributeNames: x.names,
	}
	err = s.writeExecution(ctx, e, execWrite{
		put: put,
		failed: func() error {
			cur, err := s.getItem(ctx, s.tables.ExecutionHistory, execKey(e.ExecutionID, e.PlanID), attrExecutionID, attrWriteID)
			switch {
			case err != nil:
				return err
			case wroteIt(cur, wid):
				return nil
			}
			return alreadyExists(execKind, e.ExecutionID)
		},
		single: func() error {
			_, err := s.client.PutItem(ctx, &ddb.PutItemInput{
				TableName: put.TableName, Item: put.Item,
				ConditionExpression: put.ConditionExpression, ExpressionAttributeNames: put.ExpressionAttributeNames,
			})
			return err
		},
	})
	if err != nil {
		return err
	}
	e.Version = version
	return nil
}

// UpdateExecution replaces the execution's attributes, secrets included, if
// its stored version is e.Version, then increments e.Version. Attributes other
// writers added are kept. Moving a second execution of a plan into a status
// that holds the plan is ALREADY_EXISTS.
func (s *Store) UpdateExecution(ctx context.Context, e *drsorch.Execution) error {
	if e.ExecutionID == "" || e.PlanID == "" {
		return notFound(execKind, e.ExecutionID) // no item has an empty key
	}
	if err := validateExecution(e); err != nil {
		return err
	}
	expected := e.Version
	item, err := encodeExecution(e, expected+1)
	if err != nil {
		return err
	}
	wid := newWriteID()
	item[attrWriteID] = wid
	cond := expression.AttributeExists(expression.Name(attrExecutionID)).And(versionIs(expected))
	x, err := build(expression.NewBuilder().
		WithUpdate(writeSpec(item, execKind.owned(), attrExecutionID, attrPlanID)).
		WithCondition(cond))
	if err != nil {
		return internal(err, "update execution")
	}
	update := &types.Update{
		TableName: aws.String(s.tables.ExecutionHistory), Key: execKey(e.ExecutionID, e.PlanID),
		UpdateExpression: x.update, ConditionExpression: x.condition,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	}
	err = s.writeExecution(ctx, e, execWrite{
		update: update,
		failed: func() error { return s.execConflict(ctx, e.ExecutionID, e.PlanID, expected, wid) },
		single: func() error {
			_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
				TableName: update.TableName, Key: update.Key,
				UpdateExpression: update.UpdateExpression, ConditionExpression: update.ConditionExpression,
				ExpressionAttributeNames: update.ExpressionAttributeNames, ExpressionAttributeValues: update.ExpressionAttributeValues,
			})
			return err
		},
	})
	if err != nil {
		return err
	}
	e.Version++
	return nil
}

// DeleteExecution removes an execution whose stored version is e.Version,
// giving up its plan hold in the same transaction.
func (s *Store) DeleteExecution(ctx context.Context, e *drsorch.Execution) error {
	if e.ExecutionID == "" || e.PlanID == "" {
		return notFound(execKind, e.ExecutionID)
	}
	x, err := build(expression.NewBuilder().WithCondition(
		expression.AttributeExists(expression.Name(attrExecutionID)).And(versionIs(e.Version))))
	if err != nil {
		return internal(err, "delete execution")
	}
	del := &types.Delete{
		TableName: aws.String(s.tables.ExecutionHistory), Key: execKey(e.ExecutionID, e.PlanID),
		ConditionExpression: x.condition, ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	}
	// A deleted execution holds nothing: decide the hold as for a terminal status.
	gone := *e
	gone.Status = drsorch.ExecutionCancelled
	return s.writeExecution(ctx, &gone, execWrite{
		del:    del,
		failed: func() error { return s.execConflict(ctx, e.ExecutionID, e.PlanID, e.Version, nil) },
		single: func() error {
			_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
				TableName: del.TableName, Key: del.Key, ConditionExpression: del.ConditionExpression,
				ExpressionAttributeNames: del.ExpressionAttributeNames, ExpressionAttributeValues: del.ExpressionAttributeValues,
			})
			return err
		},
	})
}

// execConflict explains a failed version condition: NOT_FOUND when the item
// is gone, success when the item is the one this write (id wid) produced,
// else VERSION_CONFLICT.
func (s *Store) execConflict(ctx context.Context, executionID, planID string, version int64, wid types.AttributeValue) error {
	cur, err := s.getItem(ctx, s.tables.ExecutionHistory, execKey(executionID, planID), attrExecutionID, attrWriteID)
	switch {
	case err != nil:
		return err
	case cur == nil:
		return notFound(execKind, executionID)
	case wid != nil && wroteIt(cur, wid):
		return nil
	}
	return versionConflict(execKind, executionID, version)
}

// execWrite is one conditional write of an execution item: exactly one of
// put, update and del, the same write as a single call, and what a failed
// condition on it means.
type execWrite struct {
	put    *types.Put
	update *types.Update
	del    *types.Delete
	single func() error
	failed func() error
}

func (w execWrite) transactItem() types.TransactWriteItem {
	return types.TransactWriteItem{Put: w.put, Update: w.update, Delete: w.del}
}

// writeExecution performs w, together with the plan-hold change that e's
// status calls for, atomically. The hold decision is re-read and the write
// retried when a concurrent write overtook it.
func (s *Store) writeExecution(ctx context.Context, e *drsorch.Execution, w execWrite) error {
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		var op *types.TransactWriteItem
		// A new execution that does not hold the plan has no hold to change.
		if e.Status.HoldsPlan() || w.put == nil {
			h, err := s.readHold(ctx, e.PlanID)
			if err != nil {
				return err
			}
			if op, err = s.holdChange(ctx, e, h); err != nil {
				return err
			}
		}
		if op == nil {
			err := w.single()
			switch {
			case err == nil:
				return nil
			case isConditionFailed(err):
				return w.failed()
			case isTransactionConflict(err):
				continue
			}
			return internal(err, "write execution")
		}
		_, err := s.client.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{
			TransactItems: []types.TransactWriteItem{w.transactItem(), *op},
		})
		if err == nil {
			return nil
		}
		reasons, ok := cancelReasons(err)
		if !ok {
			if isTransactionConflict(err) {
				continue
			}
			return internal(err, "write execution")
		}
		switch execCode, planCode := reasonCode(reasons, 0), reasonCode(reasons, 1); {
		case execCode == reasonCondition:
			return w.failed()
		case execCode == reasonTxnConflict || planCode == reasonTxnConflict:
			continue
		case planCode == reasonCondition:
			continue // the hold changed since it was read: decide again
		default:
			return internal(err, fmt.Sprintf("write execution (cancelled: %s, %s)", execCode, planCode))
		}
	}
	return drsorch.Errorf(drsorch.CodeVersionConflict,
		"Execution %s: the plan hold of %s kept changing; retry", e.ExecutionID, e.PlanID)
}

// planHold is the one-active-execution state of a plan id.
type planHold struct {
	exists bool   // the recovery-plans table has an item for the id
	stub   bool   // that item only carries a hold
	holder string // activeExecutionId
}

func (s *Store) readHold(ctx context.Context, planID string) (planHold, error) {
	item, err := s.getItem(ctx, s.tables.RecoveryPlans, key(attrPlanID, planID), attrPlanID, attrActiveExecution, attrHoldStub)
	if err != nil || item == nil {
		return planHold{}, err
	}
	return planHold{exists: true, stub: isStub(item), holder: str(item, attrActiveExecution)}, nil
}

// holdChange returns the recovery-plans write that goes with writing e in its
// status, given the plan's current hold: take the hold when e enters the
// holding set, give it up when it leaves, nothing otherwise. A plan held by
// another execution is ALREADY_EXISTS. Every returned write is conditioned on
// the hold read, so the transaction fails if it changed meanwhile.
func (s *Store) holdChange(ctx context.Context, e *drsorch.Execution, h planHold) (*types.TransactWriteItem, error) {
	holds := e.Status.HoldsPlan()
	switch {
	case holds && h.holder == e.ExecutionID:
		return nil, nil
	case holds && h.holder != "":
		live, err := s.stillHolds(ctx, h.holder, e.PlanID)
		if err != nil {
			return nil, err
		}
		if live {
			return nil, planHeld(e.PlanID)
		}
		// The holder ended or vanished without giving the plan up (another
		// writer changed it): take the hold over.
		return s.takeHold(e, h)
	case holds:
		if err := s.checkUnrecordedHolders(ctx, e); err != nil {
			return nil, err
		}
		return s.takeHold(e, h)
	case h.holder == e.ExecutionID:
		return s.releaseHold(e, h)
	}
	return nil, nil
}

func (s *Store) takeHold(e *drsorch.Execution, h planHold) (*types.TransactWriteItem, error) {
	id := sAV(e.ExecutionID)
	var (
		ub   expression.UpdateBuilder
		cond expression.ConditionBuilder
	)
	switch {
	case !h.exists:
		ub = expression.Set(expression.Name(attrActiveExecution), expression.Value(id)).
			Set(expression.Name(attrHoldStub), expression.Value(&types.AttributeValueMemberBOOL{Value: true}))
		cond = expression.AttributeNotExists(expression.Name(attrPlanID))
	case h.holder == "":
		ub = expression.Set(expression.Name(attrActiveExecution), expression.Value(id))
		cond = expression.AttributeExists(expression.Name(attrPlanID)).
			And(expression.AttributeNotExists(expression.Name(attrActiveExecution)))
	default:
		ub = expression.Set(expression.Name(attrActiveExecution), expression.Value(id))
		cond = expression.Name(attrActiveExecution).Equal(expression.Value(sAV(h.holder)))
	}
	x, err := build(expression.NewBuilder().WithUpdate(ub).WithCondition(cond))
	if err != nil {
		return nil, internal(err, "take plan hold")
	}
	return &types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.tables.RecoveryPlans), Key: key(attrPlanID, e.PlanID),
		UpdateExpression: x.update, ConditionExpression: x.condition,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	}}, nil
}

func (s *Store) releaseHold(e *drsorch.Execution, h planHold) (*types.TransactWriteItem, error) {
	mine := expression.Name(attrActiveExecution).Equal(expression.Value(sAV(e.ExecutionID)))
	if h.stub {
		x, err := build(expression.NewBuilder().WithCondition(
			mine.And(expression.AttributeExists(expression.Name(attrHoldStub)))))
		if err != nil {
			return nil, internal(err, "release plan hold")
		}
		return &types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(s.tables.RecoveryPlans), Key: key(attrPlanID, e.PlanID),
			ConditionExpression: x.condition, ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
		}}, nil
	}
	x, err := build(expression.NewBuilder().
		WithUpdate(expression.Remove(expression.Name(attrActiveExecution))).
		WithCondition(mine.And(expression.AttributeNotExists(expression.Name(attrHoldStub)))))
	if err != nil {
		return nil, internal(err, "release plan hold")
	}
	return &types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.tables.RecoveryPlans), Key: key(attrPlanID, e.PlanID),
		UpdateExpression: x.update, ConditionExpression: x.condition,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	}}, nil
}

// stillHolds reports whether the recorded holder of a plan exists and is in a holding status.
func (s *Store) stillHolds(ctx context.Context, executionID, planID string) (bool, error) {
	item, err := s.getItem(ctx, s.tables.ExecutionHistory, execKey(executionID, planID), attrExecutionID, attrStatus)
	if err != nil || item == nil {
		return false, err
	}
	return drsorch.ExecutionStatus(str(item, attrStatus)).HoldsPlan(), nil
}

// checkUnrecordedHolders refuses to take a plan that an execution holds
// without the plan item saying so: one the replaced system started, which
// knew nothing of activeExecutionId. The plan's executions are found through
// planIdIndex and each candidate is confirmed with a consistent read, since
// the index may lag.
func (s *Store) checkUnrecordedHolders(ctx context.Context, e *drsorch.Execution) error {
	x, err := build(expression.NewBuilder().
		WithKeyCondition(expression.Key(attrPlanID).Equal(expression.Value(sAV(e.PlanID)))).
		WithProjection(projection(attrExecutionID, attrPlanID, attrStatus)))
	if err != nil {
		return internal(err, "check plan holders")
	}
	var candidates []string
	err = s.queryAll(ctx, &ddb.QueryInput{
		TableName: aws.String(s.tables.ExecutionHistory), IndexName: aws.String(indexPlanID),
		KeyConditionExpression: x.keyCondition, ProjectionExpression: x.projection,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	}, func(item map[string]types.AttributeValue) (bool, error) {
		id := str(item, attrExecutionID)
		if id != e.ExecutionID && !isLockRow(item) && drsorch.ExecutionStatus(str(item, attrStatus)).HoldsPlan() {
			candidates = append(candidates, id)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, id := range candidates {
		live, err := s.stillHolds(ctx, id, e.PlanID)
		if err != nil {
			return err
		}
		if live {
			return planHeld(e.PlanID)
		}
	}
	return nil
}
