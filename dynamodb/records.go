package dynamodb

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/drsorch/drsorch"
)

func (s *Store) table(k kind) string {
	switch k.key {
	case attrPlanID:
		return s.tables.RecoveryPlans
	case attrGroupID:
		return s.tables.ProtectionGroups
	case attrAccountID:
		return s.tables.TargetAccounts
	}
	return s.tables.ExecutionHistory
}

// freeForm names the attributes of a kind whose values are not read as the
// record's integer fields (see decodeInto).
func freeForm(k kind) []string {
	if k.key == attrGroupID {
		return []string{"launchConfig", "serverSelectionTags"}
	}
	return nil
}

// recordItem converts a plan, group or account to its item; version < 0 means none.
func recordItem(rec any, version int64) (map[string]types.AttributeValue, error) {
	m, err := jsonMap(rec)
	if err != nil {
		return nil, internal(err, "encode record")
	}
	if version >= 0 {
		m[attrVersion] = json.Number(jsonInt(version))
	}
	item, err := itemFromMap(m)
	if err != nil {
		return nil, internal(err, "encode record")
	}
	return item, nil
}

func jsonInt(n int64) string { return nAV(n).(*types.AttributeValueMemberN).Value }

// decodeRecord reads an item into a plan, group or account. The plan hold
// attributes are drsorch's bookkeeping and never part of a record.
func decodeRecord(k kind, item map[string]types.AttributeValue, dst any) error {
	m := fromItem(item)
	delete(m, attrActiveExecution)
	delete(m, attrHoldStub)
	if err := decodeInto(m, dst, freeForm(k)...); err != nil {
		return internal(err, "decode "+strings.ToLower(k.label)+" "+str(item, k.key))
	}
	return nil
}

// isStub reports whether a recovery-plans item only carries a plan hold.
func isStub(item map[string]types.AttributeValue) bool {
	_, ok := item[attrHoldStub]
	return ok
}

func (s *Store) getRecord(ctx context.Context, k kind, id string, dst any) error {
	if id == "" {
		return notFound(k, id)
	}
	item, err := s.getItem(ctx, s.table(k), key(k.key, id))
	if err != nil {
		return err
	}
	if item == nil || isStub(item) {
		return notFound(k, id)
	}
	return decodeRecord(k, item, dst)
}

// listRecords reads every record of a kind (hold stubs skipped), sorted by name then id.
func listRecords[T any](ctx context.Context, s *Store, k kind, name, id func(*T) string) ([]T, error) {
	out := []T{}
	err := s.scanAll(ctx, &ddb.ScanInput{TableName: aws.String(s.table(k)), ConsistentRead: aws.Bool(true)},
		func(item map[string]types.AttributeValue) error {
			if isStub(item) {
				return nil
			}
			var v T
			if err := decodeRecord(k, item, &v); err != nil {
				return err
			}
			out = append(out, v)
			return nil
		})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b T) int {
		return cmp.Or(strings.Compare(name(&a), name(&b)), strings.Compare(id(&a), id(&b)))
	})
	return out, nil
}

// createRecord writes a new versioned record. A plan may replace a hold stub
// of its id: the stub's hold then stays on the plan.
func (s *Store) createRecord(ctx context.Context, k kind, id string, rec any, version int64) error {
	if id == "" {
		return missingID(k)
	}
	item, err := recordItem(rec, version)
	if err != nil {
		return err
	}
	wid := newWriteID()
	item[attrWriteID] = wid
	ub := writeSpec(item, k.owned(), k.key)
	cond := expression.AttributeNotExists(expression.Name(k.key))
	if k.key == attrPlanID {
		ub = ub.Remove(expression.Name(attrHoldStub))
		cond = cond.Or(expression.AttributeExists(expression.Name(attrHoldStub)))
	}
	x, err := build(expression.NewBuilder().WithUpdate(ub).WithCondition(cond))
	if err != nil {
		return internal(err, "create "+strings.ToLower(k.label))
	}
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String(s.table(k)), Key: key(k.key, id),
		UpdateExpression: x.update, ConditionExpression: x.condition,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	})
	if isConditionFailed(err) {
		cur, gerr := s.getItem(ctx, s.table(k), key(k.key, id), k.key, attrWriteID)
		switch {
		case gerr != nil:
			return gerr
		case wroteIt(cur, wid):
			return nil
		}
		return alreadyExists(k, id)
	}
	if err != nil {
		return internal(err, "create "+strings.ToLower(k.label))
	}
	return nil
}

// updateRecord replaces a versioned record's owned attributes if its stored version is expected.
func (s *Store) updateRecord(ctx context.Context, k kind, id string, rec any, expected int64) error {
	if id == "" {
		return notFound(k, id)
	}
	item, err := recordItem(rec, expected+1)
	if err != nil {
		return err
	}
	wid := newWriteID()
	item[attrWriteID] = wid
	cond := expression.AttributeExists(expression.Name(k.key)).And(versionIs(expected))
	if k.key == attrPlanID {
		cond = cond.And(expression.AttributeNotExists(expression.Name(attrHoldStub)))
	}
	x, err := build(expression.NewBuilder().WithUpdate(writeSpec(item, k.owned(), k.key)).WithCondition(cond))
	if err != nil {
		return internal(err, "update "+strings.ToLower(k.label))
	}
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String(s.table(k)), Key: key(k.key, id),
		UpdateExpression: x.update, ConditionExpression: x.condition,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	})
	if isConditionFailed(err) {
		cur, gerr := s.getItem(ctx, s.table(k), key(k.key, id), k.key, attrHoldStub, attrWriteID)
		switch {
		case gerr != nil:
			return gerr
		case wroteIt(cur, wid):
			return nil
		case cur == nil || isStub(cur):
			return notFound(k, id)
		}
		return versionConflict(k, id, expected)
	}
	if err != nil {
		return internal(err, "update "+strings.ToLower(k.label))
	}
	return nil
}

// deleteRecord removes a group or an account.
func (s *Store) deleteRecord(ctx context.Context, k kind, id string) error {
	if id == "" {
		return notFound(k, id)
	}
	x, err := build(expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(k.key))))
	if err != nil {
		return internal(err, "delete "+strings.ToLower(k.label))
	}
	_, err = s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName: aws.String(s.table(k)), Key: key(k.key, id),
		ConditionExpression: x.condition, ExpressionAttributeNames: x.names,
	})
	if isConditionFailed(err) {
		return notFound(k, id)
	}
	if err != nil {
		return internal(err, "delete "+strings.ToLower(k.label))
	}
	return nil
}

// GetPlan returns a plan, or NOT_FOUND.
func (s *Store) GetPlan(ctx context.Context, planID string) (*drsorch.RecoveryPlan, error) {
	var p drsorch.RecoveryPlan
	if err := s.getRecord(ctx, planKind, planID, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListPlans returns every plan, by name then id.
func (s *Store) ListPlans(ctx context.Context) ([]drsorch.RecoveryPlan, error) {
	return listRecords(ctx, s, planKind,
		func(p *drsorch.RecoveryPlan) string { return p.PlanName },
		func(p *drsorch.RecoveryPlan) string { return p.PlanID })
}

// CreatePlan stores a new plan with version 1 (or its own version when set).
func (s *Store) CreatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	v := createVersion(p.Version)
	if err := s.createRecord(ctx, planKind, p.PlanID, p, v); err != nil {
		return err
	}
	p.Version = v
	return nil
}

// UpdatePlan replaces a plan whose stored version is p.Version, then increments p.Version.
// Attributes it does not own, the plan hold among them, are kept.
func (s *Store) UpdatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	if err := s.updateRecord(ctx, planKind, p.PlanID, p, p.Version); err != nil {
		return err
	}
	p.Version++
	return nil
}

// DeletePlan removes a plan. A plan held by an execution leaves a stub
// carrying only the hold, so the one-active rule still holds for its id
// until the execution gives the plan up.
func (s *Store) DeletePlan(ctx context.Context, planID string) error {
	if planID == "" {
		return notFound(planKind, planID)
	}
	table := s.tables.RecoveryPlans
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
		}
		x, err := build(expression.NewBuilder().WithCondition(expression.And(
			expression.AttributeExists(expression.Name(attrPlanID)),
			expression.AttributeNotExists(expression.Name(attrHoldStub)),
			expression.AttributeNotExists(expression.Name(attrActiveExecution)))))
		if err != nil {
			return internal(err, "delete recovery plan")
		}
		_, err = s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
			TableName: aws.String(table), Key: key(attrPlanID, planID),
			ConditionExpression: x.condition, ExpressionAttributeNames: x.names,
		})
		if err == nil {
			return nil
		}
		if isTransactionConflict(err) {
			continue
		}
		if !isConditionFailed(err) {
			return internal(err, "delete recovery plan")
		}
		cur, err := s.getItem(ctx, table, key(attrPlanID, planID))
		if err != nil {
			return err
		}
		if cur == nil || isStub(cur) {
			return notFound(planKind, planID)
		}
		holder := str(cur, attrActiveExecution)
		if holder == "" {
			continue // the hold ended meanwhile: delete again
		}
		// Strip the plan down to its hold.
		ub := expression.Set(expression.Name(attrHoldStub), expression.Value(&types.AttributeValueMemberBOOL{Value: true}))
		for name := range cur {
			if name != attrPlanID && name != attrActiveExecution {
				ub = ub.Remove(expression.Name(name))
			}
		}
		x, err = build(expression.NewBuilder().WithUpdate(ub).WithCondition(expression.And(
			expression.Name(attrActiveExecution).Equal(expression.Value(sAV(holder))),
			expression.AttributeNotExists(expression.Name(attrHoldStub)))))
		if err != nil {
			return internal(err, "delete recovery plan")
		}
		_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName: aws.String(table), Key: key(attrPlanID, planID),
			UpdateExpression: x.update, ConditionExpression: x.condition,
			ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
		})
		if err == nil {
			return nil
		}
		if !isConditionFailed(err) && !isTransactionConflict(err) {
			return internal(err, "delete recovery plan")
		}
	}
	return drsorch.Errorf(drsorch.CodeVersionConflict, "Recovery Plan with ID %s kept changing during delete", planID)
}

// GetGroup returns a protection group, or NOT_FOUND.
func (s *Store) GetGroup(ctx context.Context, groupID string) (*drsorch.ProtectionGroup, error) {
	var g drsorch.ProtectionGroup
	if err := s.getRecord(ctx, groupKind, groupID, &g); err != nil {
		return nil, err
	}
	return &g, nil
}

// ListGroups returns every protection group, by name then id.
func (s *Store) ListGroups(ctx context.Context) ([]drsorch.ProtectionGroup, error) {
	return listRecords(ctx, s, groupKind,
		func(g *drsorch.ProtectionGroup) string { return g.GroupName },
		func(g *drsorch.ProtectionGroup) string { return g.GroupID })
}

// CreateGroup stores a new protection group with version 1 (or its own version when set).
func (s *Store) CreateGroup(ctx context.Context, g *drsorch.ProtectionGroup) error {
	v := createVersion(g.Version)
	if err := s.createRecord(ctx, groupKind, g.GroupID, g, v); err != nil {
		return err
	}
	g.Version = v
	return nil
}

// UpdateGroup replaces a protection group whose stored version is g.Version, then increments g.Version.
func (s *Store) UpdateGroup(ctx context.Context, g *drsorch.ProtectionGroup) error {
	if err := s.updateRecord(ctx, groupKind, g.GroupID, g, g.Version); err != nil {
		return err
	}
	g.Version++
	return nil
}

// DeleteGroup removes a protection group, or fails with NOT_FOUND.
func (s *Store) DeleteGroup(ctx context.Context, groupID string) error {
	return s.deleteRecord(ctx, groupKind, groupID)
}

// GetAccount returns a target account, or NOT_FOUND.
func (s *Store) GetAccount(ctx context.Context, accountID string) (*drsorch.TargetAccount, error) {
	var a drsorch.TargetAccount
	if err := s.getRecord(ctx, accountKind, accountID, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAccounts returns every target account, by name then id.
func (s *Store) ListAccounts(ctx context.Context) ([]drsorch.TargetAccount, error) {
	return listRecords(ctx, s, accountKind,
		func(a *drsorch.TargetAccount) string { return a.AccountName },
		func(a *drsorch.TargetAccount) string { return a.AccountID })
}

// PutAccount creates or replaces a target account without a version check.
// Attributes it does not own (the replaced system's stagingAccounts…) are kept.
func (s *Store) PutAccount(ctx context.Context, a *drsorch.TargetAccount) error {
	if a.AccountID == "" {
		return missingID(accountKind)
	}
	item, err := recordItem(a, -1)
	if err != nil {
		return err
	}
	x, err := build(expression.NewBuilder().WithUpdate(writeSpec(item, accountKind.owned(), attrAccountID)))
	if err != nil {
		return internal(err, "put target account")
	}
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName: aws.String(s.tables.TargetAccounts), Key: key(attrAccountID, a.AccountID),
		UpdateExpression:         x.update,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
	})
	if err != nil {
		return internal(err, "put target account")
	}
	return nil
}

// DeleteAccount removes a target account, or fails with NOT_FOUND.
func (s *Store) DeleteAccount(ctx context.Context, accountID string) error {
	return s.deleteRecord(ctx, accountKind, accountID)
}
