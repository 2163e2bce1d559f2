package dynamodb

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/drsorch/drsorch"
)

// ListExecutions works in two passes, because the reference's indexes have no
// sort key: it reads the keys, start times, statuses and accounts of every
// matching item (StatusIndex per status, else planIdIndex, else a scan; every
// page), sorts them newest first, cuts the page after the token's position,
// then fetches the page's whole items with consistent BatchGetItem calls.

// indexEntry is what the first pass reads of one execution.
type indexEntry struct {
	id, planID string
	start      int64
	status     string
	account    string
	ctxAccount string
}

// newer orders entries newest startTime first, ties by executionId descending.
func newer(a, b indexEntry) int {
	return cmp.Or(cmp.Compare(b.start, a.start), strings.Compare(b.id, a.id))
}

// ListExecutions returns one page of executions, newest startTime first, ties
// by executionId descending, continuing after q.NextToken.
func (s *Store) ListExecutions(ctx context.Context, q drsorch.ExecutionQuery) (drsorch.ExecutionPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = drsorch.DefaultPageSize
	}
	limit = min(limit, drsorch.MaxPageSize)
	var after *drsorch.PageKey
	if q.NextToken != "" {
		k, err := drsorch.ParsePageToken(q.NextToken)
		if err != nil {
			return drsorch.ExecutionPage{}, err
		}
		after = &k
	}

	entries, err := s.indexEntries(ctx, q)
	if err != nil {
		return drsorch.ExecutionPage{}, err
	}
	slices.SortFunc(entries, newer)
	if after != nil {
		at := indexEntry{start: after.StartTime, id: after.ExecutionID}
		i, _ := slices.BinarySearchFunc(entries, at, func(e, t indexEntry) int {
			if newer(e, t) <= 0 { // e is at or before the token's position
				return -1
			}
			return 1
		})
		entries = entries[i:]
	}
	page := drsorch.ExecutionPage{Items: []drsorch.Execution{}}
	if len(entries) > limit {
		last := entries[limit-1]
		page.NextToken = drsorch.PageKey{StartTime: last.start, ExecutionID: last.id}.Token()
		entries = entries[:limit]
	}

	items, err := s.batchGet(ctx, entries)
	if err != nil {
		return drsorch.ExecutionPage{}, err
	}
	for _, en := range entries {
		item, ok := items[en.id+"\x00"+en.planID]
		if !ok {
			continue // deleted since the first pass
		}
		if len(q.Statuses) > 0 && !slices.Contains(q.Statuses, drsorch.ExecutionStatus(str(item, attrStatus))) {
			continue // left the statuses since the index was read
		}
		e, err := decodeExecution(item)
		if err != nil {
			return drsorch.ExecutionPage{}, err
		}
		page.Items = append(page.Items, *e)
	}
	return page, nil
}

// indexEntries reads the position and filter attributes of every execution
// matching q, through the narrowest index.
func (s *Store) indexEntries(ctx context.Context, q drsorch.ExecutionQuery) ([]indexEntry, error) {
	proj := projection(attrExecutionID, attrPlanID, attrStartTime, attrStatus, attrAccountID, attrAccountCtx+"."+attrAccountID)
	seen := map[string]bool{}
	var out []indexEntry
	keep := func(item map[string]types.AttributeValue) (bool, error) {
		if isLockRow(item) {
			return true, nil
		}
		en := indexEntry{
			id: str(item, attrExecutionID), planID: str(item, attrPlanID), start: num(item, attrStartTime),
			status: str(item, attrStatus), account: str(item, attrAccountID),
		}
		if ac, ok := item[attrAccountCtx].(*types.AttributeValueMemberM); ok {
			en.ctxAccount = str(ac.Value, attrAccountID)
		}
		switch k := en.id + "\x00" + en.planID; {
		case seen[k]:
			return true, nil
		case q.PlanID != "" && en.planID != q.PlanID,
			len(q.Statuses) > 0 && !slices.Contains(q.Statuses, drsorch.ExecutionStatus(en.status)),
			q.AccountID != "" && en.account != q.AccountID && en.ctxAccount != q.AccountID:
			return true, nil
		default:
			seen[k] = true
		}
		out = append(out, en)
		return true, nil
	}

	query := func(index, attr, value string) error {
		x, err := build(expression.NewBuilder().
			WithKeyCondition(expression.Key(attr).Equal(expression.Value(sAV(value)))).
			WithProjection(proj))
		if err != nil {
			return internal(err, "list executions")
		}
		return s.queryAll(ctx, &ddb.QueryInput{
			TableName: aws.String(s.tables.ExecutionHistory), IndexName: aws.String(index),
			KeyConditionExpression: x.keyCondition, ProjectionExpression: x.projection,
			ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
		}, keep)
	}

	switch {
	case q.PlanID != "":
		if err := query(indexPlanID, attrPlanID, q.PlanID); err != nil {
			return nil, err
		}
	case len(q.Statuses) > 0:
		done := map[drsorch.ExecutionStatus]bool{}
		for _, st := range q.Statuses {
			if st == "" || done[st] {
				continue
			}
			done[st] = true
			if err := query(indexStatus, attrStatus, string(st)); err != nil {
				return nil, err
			}
		}
	default:
		x, err := build(expression.NewBuilder().WithProjection(proj))
		if err != nil {
			return nil, internal(err, "list executions")
		}
		err = s.scanAll(ctx, &ddb.ScanInput{
			TableName: aws.String(s.tables.ExecutionHistory), ConsistentRead: aws.Bool(true),
			ProjectionExpression: x.projection, ExpressionAttributeNames: x.names,
		}, func(item map[string]types.AttributeValue) error {
			_, err := keep(item)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// batchGetSize is BatchGetItem's limit of keys per call; maxBatchAttempts
// bounds the calls for one chunk whose keys come back unprocessed.
const (
	batchGetSize     = 100
	maxBatchAttempts = 20
)

// batchGet reads the whole items of the entries, consistently, keyed by
// executionId NUL planId. Unprocessed keys are asked again after a backoff.
func (s *Store) batchGet(ctx context.Context, entries []indexEntry) (map[string]map[string]types.AttributeValue, error) {
	out := make(map[string]map[string]types.AttributeValue, len(entries))
	table := s.tables.ExecutionHistory
	for chunk := range slices.Chunk(entries, batchGetSize) {
		keys := make([]map[string]types.AttributeValue, len(chunk))
		for i, en := range chunk {
			keys[i] = execKey(en.id, en.planID)
		}
		req := map[string]types.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt == maxBatchAttempts {
				return nil, drsorch.Errorf(drsorch.CodeInternal, "storage failure: read executions: keys left unprocessed")
			}
			if attempt > 0 {
				if err := backoff(ctx, attempt); err != nil {
					return nil, err
				}
			}
			res, err := s.client.BatchGetItem(ctx, &ddb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, internal(err, "read executions")
			}
			for _, item := range res.Responses[table] {
				out[str(item, attrExecutionID)+"\x00"+str(item, attrPlanID)] = item
			}
			req = res.UnprocessedKeys
			if len(req[table].Keys) == 0 {
				req = nil
			}
		}
	}
	return out, nil
}
