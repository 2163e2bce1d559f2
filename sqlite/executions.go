package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/drsorch/drsorch"
)

// planHeld is the refusal of a second execution holding the same plan.
func planHeld(planID string) error {
	return drsorch.Errorf(drsorch.CodeAlreadyExists, "This Recovery Plan already has an execution in progress").
		WithDetails(map[string]any{"planId": planID})
}

// execRow is an execution as written: the document, the secrets and the query columns.
type execRow struct {
	doc, secrets            string
	accountID, ctxAccountID string
	holdsPlan               int
}

// encodeExecution renders e as stored with the given version.
func encodeExecution(e *drsorch.Execution, version int64) (execRow, error) {
	c := *e
	c.Version = version
	doc, err := json.Marshal(&c)
	if err != nil {
		return execRow{}, internal(err, "encode execution")
	}
	secrets, err := json.Marshal(e.Secrets)
	if err != nil {
		return execRow{}, internal(err, "encode execution secrets")
	}
	r := execRow{doc: string(doc), secrets: string(secrets), accountID: e.AccountID}
	if e.AccountContext != nil {
		r.ctxAccountID = e.AccountContext.AccountID
	}
	if r.accountID == "" {
		r.accountID = r.ctxAccountID
	}
	if e.Status.HoldsPlan() {
		r.holdsPlan = 1
	}
	return r, nil
}

// decodeExecution reads a stored execution back, secrets included.
func decodeExecution(doc string, secrets sql.NullString, version int64) (*drsorch.Execution, error) {
	var e drsorch.Execution
	if err := json.Unmarshal([]byte(doc), &e); err != nil {
		return nil, internal(err, "decode execution")
	}
	if secrets.Valid && secrets.String != "" {
		if err := json.Unmarshal([]byte(secrets.String), &e.Secrets); err != nil {
			return nil, internal(err, "decode execution secrets")
		}
	}
	e.Version = version
	return &e, nil
}

// CreateExecution stores a new execution with version 1 (or its own version when set).
// An existing id, or a second execution holding the same plan, is ALREADY_EXISTS.
func (s *Store) CreateExecution(ctx context.Context, e *drsorch.Execution) error {
	if e.ExecutionID == "" {
		return missingID(execKind)
	}
	version := createVersion(e.Version)
	r, err := encodeExecution(e, version)
	if err != nil {
		return err
	}
	_, err = s.write.ExecContext(ctx,
		`INSERT INTO executions (execution_id, plan_id, status, account_id, context_account_id,
		                         start_time, holds_plan, version, doc, secrets)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ExecutionID, e.PlanID, string(e.Status), r.accountID, r.ctxAccountID,
		e.StartTime, r.holdsPlan, version, r.doc, r.secrets)
	switch {
	case isPrimaryKeyViolation(err):
		return alreadyExists(execKind, e.ExecutionID)
	case isUniqueViolation(err):
		return planHeld(e.PlanID)
	case err != nil:
		return internal(err, "create execution")
	}
	e.Version = version
	return nil
}

// GetExecution returns an execution with its secrets, or NOT_FOUND.
func (s *Store) GetExecution(ctx context.Context, executionID string) (*drsorch.Execution, error) {
	var (
		doc     string
		secrets sql.NullString
		version int64
	)
	err := s.read.QueryRowContext(ctx,
		`SELECT doc, secrets, version FROM executions WHERE execution_id = ?`, executionID).
		Scan(&doc, &secrets, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(execKind, executionID)
	}
	if err != nil {
		return nil, internal(err, "get execution")
	}
	return decodeExecution(doc, secrets, version)
}

// UpdateExecution replaces an execution, secrets included, whose stored version
// is e.Version, then increments e.Version. Moving a second execution of a plan
// into a status that holds the plan is ALREADY_EXISTS.
func (s *Store) UpdateExecution(ctx context.Context, e *drsorch.Execution) error {
	r, err := encodeExecution(e, e.Version+1)
	if err != nil {
		return err
	}
	res, err := s.write.ExecContext(ctx,
		`UPDATE executions SET plan_id = ?, status = ?, account_id = ?, context_account_id = ?,
		        start_time = ?, holds_plan = ?, version = ?, doc = ?, secrets = ?
		 WHERE execution_id = ? AND version = ?`,
		e.PlanID, string(e.Status), r.accountID, r.ctxAccountID,
		e.StartTime, r.holdsPlan, e.Version+1, r.doc, r.secrets,
		e.ExecutionID, e.Version)
	switch {
	case isUniqueViolation(err):
		return planHeld(e.PlanID)
	case err != nil:
		return internal(err, "update execution")
	}
	if err := s.checkWritten(ctx, execKind, e.ExecutionID, e.Version, res); err != nil {
		return err
	}
	e.Version++
	return nil
}

// DeleteExecution removes an execution whose stored version is e.Version.
func (s *Store) DeleteExecution(ctx context.Context, e *drsorch.Execution) error {
	res, err := s.write.ExecContext(ctx,
		`DELETE FROM executions WHERE execution_id = ? AND version = ?`, e.ExecutionID, e.Version)
	if err != nil {
		return internal(err, "delete execution")
	}
	return s.checkWritten(ctx, execKind, e.ExecutionID, e.Version, res)
}

// ListExecutions returns one page of executions, newest startTime first, ties
// by executionId descending, continuing after q.NextToken.
func (s *Store) ListExecutions(ctx context.Context, q drsorch.ExecutionQuery) (drsorch.ExecutionPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = drsorch.DefaultPageSize
	}
	limit = min(limit, drsorch.MaxPageSize)

	var (
		where []string
		args  []any
	)
	if len(q.Statuses) > 0 {
		marks := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			marks[i] = "?"
			args = append(args, string(st))
		}
		where = append(where, "status IN ("+strings.Join(marks, ", ")+")")
	}
	if q.PlanID != "" {
		where = append(where, "plan_id = ?")
		args = append(args, q.PlanID)
	}
	if q.AccountID != "" {
		where = append(where, "(account_id = ? OR context_account_id = ?)")
		args = append(args, q.AccountID, q.AccountID)
	}
	if q.NextToken != "" {
		k, err := drsorch.ParsePageToken(q.NextToken)
		if err != nil {
			return drsorch.ExecutionPage{}, err
		}
		where = append(where, "(start_time, execution_id) < (?, ?)")
		args = append(args, k.StartTime, k.ExecutionID)
	}
	query := `SELECT execution_id, start_time, doc, secrets, version FROM executions`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY start_time DESC, execution_id DESC LIMIT ?"
	args = append(args, limit+1) // one more tells whether another page follows

	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return drsorch.ExecutionPage{}, internal(err, "list executions")
	}
	defer rows.Close()
	page := drsorch.ExecutionPage{Items: []drsorch.Execution{}}
	var last drsorch.PageKey
	for rows.Next() {
		if len(page.Items) == limit {
			page.NextToken = last.Token()
			break
		}
		var (
			doc     string
			secrets sql.NullString
			version int64
		)
		if err := rows.Scan(&last.ExecutionID, &last.StartTime, &doc, &secrets, &version); err != nil {
			return drsorch.ExecutionPage{}, internal(err, "list executions")
		}
		e, err := decodeExecution(doc, secrets, version)
		if err != nil {
			return drsorch.ExecutionPage{}, err
		}
		page.Items = append(page.Items, *e)
	}
	if err := rows.Err(); err != nil {
		return drsorch.ExecutionPage{}, internal(err, "list executions")
	}
	return page, nil
}
