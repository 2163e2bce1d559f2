package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/drsorch/drsorch"
)

// kind describes the table of one record kind.
type kind struct {
	label   string // how errors name the kind, e.g. "Recovery Plan"
	table   string
	idCol   string
	nameCol string
}

var (
	planKind    = kind{"Recovery Plan", "plans", "plan_id", "plan_name"}
	groupKind   = kind{"Protection Group", "protection_groups", "group_id", "group_name"}
	accountKind = kind{"Target Account", "target_accounts", "account_id", "account_name"}
	execKind    = kind{"Execution", "executions", "execution_id", ""}
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

// getDoc reads the document and version of one record.
func (s *Store) getDoc(ctx context.Context, k kind, id string, v any) (int64, error) {
	var (
		doc     string
		version int64
	)
	err := s.read.QueryRowContext(ctx,
		`SELECT doc, `+versionCol(k)+` FROM `+k.table+` WHERE `+k.idCol+` = ?`, id).Scan(&doc, &version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound(k, id)
	}
	if err != nil {
		return 0, internal(err, "get "+k.table)
	}
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return 0, internal(err, "decode "+k.table)
	}
	return version, nil
}

// versionCol is the version column, or a constant for kinds without one.
func versionCol(k kind) string {
	if k == accountKind {
		return "0"
	}
	return "version"
}

// listDocs reads every record of a kind, ordered by name then id.
func listDocs[T any](ctx context.Context, s *Store, k kind, setVersion func(*T, int64)) ([]T, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT doc, `+versionCol(k)+` FROM `+k.table+` ORDER BY `+k.nameCol+`, `+k.idCol)
	if err != nil {
		return nil, internal(err, "list "+k.table)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		var (
			doc     string
			version int64
			v       T
		)
		if err := rows.Scan(&doc, &version); err != nil {
			return nil, internal(err, "list "+k.table)
		}
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			return nil, internal(err, "decode "+k.table)
		}
		if setVersion != nil {
			setVersion(&v, version)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, internal(err, "list "+k.table)
	}
	return out, nil
}

// insertDoc creates a versioned record; an existing id is ALREADY_EXISTS.
func (s *Store) insertDoc(ctx context.Context, k kind, id, name string, version int64, doc []byte) error {
	_, err := s.write.ExecContext(ctx,
		`INSERT INTO `+k.table+` (`+k.idCol+`, `+k.nameCol+`, version, doc) VALUES (?, ?, ?, ?)`,
		id, name, version, string(doc))
	if isPrimaryKeyViolation(err) {
		return alreadyExists(k, id)
	}
	if err != nil {
		return internal(err, "create "+k.table)
	}
	return nil
}

// updateDoc replaces a versioned record if its stored version is expected.
func (s *Store) updateDoc(ctx context.Context, k kind, id, name string, expected int64, doc []byte) error {
	res, err := s.write.ExecContext(ctx,
		`UPDATE `+k.table+` SET `+k.nameCol+` = ?, version = ?, doc = ? WHERE `+k.idCol+` = ? AND version = ?`,
		name, expected+1, string(doc), id, expected)
	if err != nil {
		return internal(err, "update "+k.table)
	}
	return s.checkWritten(ctx, k, id, expected, res)
}

// checkWritten turns a version-checked write that touched no row into
// NOT_FOUND or VERSION_CONFLICT.
func (s *Store) checkWritten(ctx context.Context, k kind, id string, expected int64, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return internal(err, "write "+k.table)
	}
	if n > 0 {
		return nil
	}
	var one int
	err = s.write.QueryRowContext(ctx, `SELECT 1 FROM `+k.table+` WHERE `+k.idCol+` = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(k, id)
	}
	if err != nil {
		return internal(err, "check "+k.table)
	}
	return versionConflict(k, id, expected)
}

// deleteDoc removes a record by id; a missing one is NOT_FOUND.
func (s *Store) deleteDoc(ctx context.Context, k kind, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM `+k.table+` WHERE `+k.idCol+` = ?`, id)
	if err != nil {
		return internal(err, "delete "+k.table)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return internal(err, "delete "+k.table)
	}
	if n == 0 {
		return notFound(k, id)
	}
	return nil
}

// createVersion is the version a Create stores: the given one, or 1 when unset.
func createVersion(v int64) int64 {
	if v == 0 {
		return 1
	}
	return v
}

// GetPlan returns a plan, or NOT_FOUND.
func (s *Store) GetPlan(ctx context.Context, planID string) (*drsorch.RecoveryPlan, error) {
	var p drsorch.RecoveryPlan
	v, err := s.getDoc(ctx, planKind, planID, &p)
	if err != nil {
		return nil, err
	}
	p.Version = v
	return &p, nil
}

// ListPlans returns every plan, ordered by name then id.
func (s *Store) ListPlans(ctx context.Context) ([]drsorch.RecoveryPlan, error) {
	return listDocs(ctx, s, planKind, func(p *drsorch.RecoveryPlan, v int64) { p.Version = v })
}

// CreatePlan stores a new plan with version 1 (or its own version when set).
func (s *Store) CreatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	if p.PlanID == "" {
		return missingID(planKind)
	}
	c := *p
	c.Version = createVersion(p.Version)
	doc, err := json.Marshal(&c)
	if err != nil {
		return internal(err, "encode plan")
	}
	if err := s.insertDoc(ctx, planKind, c.PlanID, c.PlanName, c.Version, doc); err != nil {
		return err
	}
	p.Version = c.Version
	return nil
}

// UpdatePlan replaces a plan whose stored version is p.Version, then increments p.Version.
func (s *Store) UpdatePlan(ctx context.Context, p *drsorch.RecoveryPlan) error {
	c := *p
	c.Version = p.Version + 1
	doc, err := json.Marshal(&c)
	if err != nil {
		return internal(err, "encode plan")
	}
	if err := s.updateDoc(ctx, planKind, p.PlanID, p.PlanName, p.Version, doc); err != nil {
		return err
	}
	p.Version = c.Version
	return nil
}

// DeletePlan removes a plan, or fails with NOT_FOUND.
func (s *Store) DeletePlan(ctx context.Context, planID string) error {
	return s.deleteDoc(ctx, planKind, planID)
}

// GetGroup returns a protection group, or NOT_FOUND.
func (s *Store) GetGroup(ctx context.Context, groupID string) (*drsorch.ProtectionGroup, error) {
	var g drsorch.ProtectionGroup
	v, err := s.getDoc(ctx, groupKind, groupID, &g)
	if err != nil {
		return nil, err
	}
	g.Version = v
	return &g, nil
}

// ListGroups returns every protection group, ordered by name then id.
func (s *Store) ListGroups(ctx context.Context) ([]drsorch.ProtectionGroup, error) {
	return listDocs(ctx, s, groupKind, func(g *drsorch.ProtectionGroup, v int64) { g.Version = v })
}

// CreateGroup stores a new protection group with version 1 (or its own version when set).
func (s *Store) CreateGroup(ctx context.Context, g *drsorch.ProtectionGroup) error {
	if g.GroupID == "" {
		return missingID(groupKind)
	}
	c := *g
	c.Version = createVersion(g.Version)
	doc, err := json.Marshal(&c)
	if err != nil {
		return internal(err, "encode protection group")
	}
	if err := s.insertDoc(ctx, groupKind, c.GroupID, c.GroupName, c.Version, doc); err != nil {
		return err
	}
	g.Version = c.Version
	return nil
}

// UpdateGroup replaces a group whose stored version is g.Version, then increments g.Version.
func (s *Store) UpdateGroup(ctx context.Context, g *drsorch.ProtectionGroup) error {
	c := *g
	c.Version = g.Version + 1
	doc, err := json.Marshal(&c)
	if err != nil {
		return internal(err, "encode protection group")
	}
	if err := s.updateDoc(ctx, groupKind, g.GroupID, g.GroupName, g.Version, doc); err != nil {
		return err
	}
	g.Version = c.Version
	return nil
}

// DeleteGroup removes a protection group, or fails with NOT_FOUND.
func (s *Store) DeleteGroup(ctx context.Context, groupID string) error {
	return s.deleteDoc(ctx, groupKind, groupID)
}

// GetAccount returns a target account, or NOT_FOUND.
func (s *Store) GetAccount(ctx context.Context, accountID string) (*drsorch.TargetAccount, error) {
	var a drsorch.TargetAccount
	if _, err := s.getDoc(ctx, accountKind, accountID, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ListAccounts returns every target account, ordered by name then id.
func (s *Store) ListAccounts(ctx context.Context) ([]drsorch.TargetAccount, error) {
	return listDocs[drsorch.TargetAccount](ctx, s, accountKind, nil)
}

// PutAccount creates or replaces a target account (accounts carry no version).
func (s *Store) PutAccount(ctx context.Context, a *drsorch.TargetAccount) error {
	if a.AccountID == "" {
		return missingID(accountKind)
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return internal(err, "encode target account")
	}
	_, err = s.write.ExecContext(ctx,
		`INSERT INTO target_accounts (account_id, account_name, doc) VALUES (?, ?, ?)
		 ON CONFLICT (account_id) DO UPDATE SET account_name = excluded.account_name, doc = excluded.doc`,
		a.AccountID, a.AccountName, string(doc))
	if err != nil {
		return internal(err, "put target account")
	}
	return nil
}

// DeleteAccount removes a target account, or fails with NOT_FOUND.
func (s *Store) DeleteAccount(ctx context.Context, accountID string) error {
	return s.deleteDoc(ctx, accountKind, accountID)
}
