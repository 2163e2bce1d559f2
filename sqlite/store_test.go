package sqlite_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/sqlite"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	drsorchtest.TestStore(t, func(t *testing.T) drsorch.Store {
		return open(t, filepath.Join(t.TempDir(), "drsorch.db"))
	})
}

func TestStoreInMemory(t *testing.T) {
	drsorchtest.TestStore(t, func(t *testing.T) drsorch.Store {
		return open(t, ":memory:")
	})
}

func execution(id, planID string, status drsorch.ExecutionStatus, start int64) *drsorch.Execution {
	return &drsorch.Execution{
		ExecutionID: id, PlanID: planID, ExecutionType: drsorch.Drill, Status: status, StartTime: start,
		Secrets: drsorch.ExecutionSecrets{TaskToken: "tok-" + id},
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drsorch.db")
	ctx := t.Context()

	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	e := execution("exec-1", "plan-1", drsorch.ExecutionRunning, 10)
	p := &drsorch.RecoveryPlan{PlanID: "plan-1", PlanName: "One"}
	if err := errors.Join(s.CreateExecution(ctx, e), s.CreatePlan(ctx, p), s.UpdatePlan(ctx, p)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for i := range 3 {
		s := open(t, path)
		got, err := s.GetExecution(ctx, "exec-1")
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		if got.Secrets.TaskToken != "tok-exec-1" || got.Status != drsorch.ExecutionRunning || got.Version != 1 {
			t.Errorf("reopen %d: got %+v", i, got)
		}
		plan, err := s.GetPlan(ctx, "plan-1")
		if err != nil || plan.Version != 2 {
			t.Errorf("reopen %d: plan %+v, %v; want version 2", i, plan, err)
		}
		// The one-active rule survives too.
		err = s.CreateExecution(ctx, execution(fmt.Sprint("exec-x", i), "plan-1", drsorch.ExecutionPending, 11))
		if !drsorch.IsCode(err, drsorch.CodeAlreadyExists) {
			t.Errorf("reopen %d: second active execution: %v", i, err)
		}
		s.Close()
	}

	// Every embedded migration is recorded exactly once.
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n, distinct int
	if err := db.QueryRow(`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(files) || distinct != len(files) {
		t.Errorf("schema_migrations has %d rows (%d versions), want %d", n, distinct, len(files))
	}
	var mode string
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestErrors(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "drsorch.db"))
	ctx := t.Context()
	if err := s.CreateExecution(ctx, execution("a", "plan-1", drsorch.ExecutionRunning, 1)); err != nil {
		t.Fatal(err)
	}
	b := execution("b", "plan-1", drsorch.ExecutionCompleted, 2)
	if err := s.CreateExecution(ctx, b); err != nil {
		t.Fatal(err)
	}
	b.Status = drsorch.ExecutionPending

	cases := []struct {
		name    string
		err     error
		code    string
		message string
		planID  string
	}{
		{"plan held on create", s.CreateExecution(ctx, execution("c", "plan-1", drsorch.ExecutionPending, 3)),
			drsorch.CodeAlreadyExists, "This Recovery Plan already has an execution in progress", "plan-1"},
		{"plan held on update", s.UpdateExecution(ctx, b),
			drsorch.CodeAlreadyExists, "This Recovery Plan already has an execution in progress", "plan-1"},
		{"missing execution", func() error { _, err := s.GetExecution(ctx, "x"); return err }(),
			drsorch.CodeNotFound, "Execution with ID x not found", ""},
		{"missing plan", func() error { _, err := s.GetPlan(ctx, "x"); return err }(),
			drsorch.CodeNotFound, "Recovery Plan with ID x not found", ""},
		{"missing group", func() error { _, err := s.GetGroup(ctx, "x"); return err }(),
			drsorch.CodeNotFound, "Protection Group with ID x not found", ""},
		{"bad token", func() error {
			_, err := s.ListExecutions(ctx, drsorch.ExecutionQuery{NextToken: "!"})
			return err
		}(), drsorch.CodeInvalidParameter, "invalid nextToken", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := drsorch.AsError(c.err)
			if c.err == nil || e.Code != c.code || e.Message != c.message {
				t.Fatalf("error %v, want %s %q", c.err, c.code, c.message)
			}
			if c.planID != "" && e.Details["planId"] != c.planID {
				t.Errorf("details = %v, want planId %s", e.Details, c.planID)
			}
		})
	}

	t.Run("driver failure is INTERNAL_ERROR", func(t *testing.T) {
		closed, err := sqlite.Open(filepath.Join(t.TempDir(), "closed.db"))
		if err != nil {
			t.Fatal(err)
		}
		closed.Close()
		_, err = closed.GetExecution(ctx, "a")
		var e *drsorch.Error
		if !errors.As(err, &e) || e.Code != drsorch.CodeInternal || e.Err == nil {
			t.Errorf("error %v, want INTERNAL_ERROR with a cause", err)
		}
	})
}

func TestListOrderByName(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "drsorch.db"))
	ctx := t.Context()
	for _, p := range []struct{ id, name string }{{"p3", "Beta"}, {"p2", "Alpha"}, {"p1", "Beta"}, {"p0", "Gamma"}} {
		if err := s.CreatePlan(ctx, &drsorch.RecoveryPlan{PlanID: p.id, PlanName: p.name}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateGroup(ctx, &drsorch.ProtectionGroup{GroupID: p.id, GroupName: p.name}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutAccount(ctx, &drsorch.TargetAccount{AccountID: p.id, AccountName: p.name}); err != nil {
			t.Fatal(err)
		}
	}
	want := "p2 p1 p3 p0"
	plans, _ := s.ListPlans(ctx)
	groups, _ := s.ListGroups(ctx)
	accounts, _ := s.ListAccounts(ctx)
	var gotPlans, gotGroups, gotAccounts []string
	for i := range plans {
		gotPlans = append(gotPlans, plans[i].PlanID)
	}
	for i := range groups {
		gotGroups = append(gotGroups, groups[i].GroupID)
	}
	for i := range accounts {
		gotAccounts = append(gotAccounts, accounts[i].AccountID)
	}
	for kind, got := range map[string][]string{"plans": gotPlans, "groups": gotGroups, "accounts": gotAccounts} {
		if strings.Join(got, " ") != want {
			t.Errorf("%s listed as %v, want %s", kind, got, want)
		}
	}
}

// TestTwoHandles has two Stores on one file, as two processes would, race
// on one execution. Every update must land; none may fail with SQLITE_BUSY.
func TestTwoHandles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drsorch.db")
	a, b := open(t, path), open(t, path)
	ctx := t.Context()
	if err := a.CreateExecution(ctx, execution("hot", "plan-1", drsorch.ExecutionRunning, 1)); err != nil {
		t.Fatal(err)
	}
	const workers = 64
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		errs   []error
		tries  int
		stores = []*sqlite.Store{a, b}
	)
	for i := range workers {
		s := stores[i%2]
		wg.Go(func() {
			for {
				e, err := s.GetExecution(ctx, "hot")
				if err == nil {
					e.CompletedWaves++
					err = s.UpdateExecution(ctx, e)
				}
				mu.Lock()
				tries++
				mu.Unlock()
				if drsorch.IsCode(err, drsorch.CodeVersionConflict) {
					runtime.Gosched()
					continue
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
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
	got, err := b.GetExecution(ctx, "hot")
	if err != nil {
		t.Fatal(err)
	}
	if got.CompletedWaves != workers || got.Version != 1+workers {
		t.Errorf("counter %d at version %d, want %d at %d", got.CompletedWaves, got.Version, workers, 1+workers)
	}
	t.Logf("%d attempts for %d updates", tries, workers)
}
