//go:build integration

package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/dynamodb"
	"github.com/drsorch/drsorch/internal/testenv"
	"github.com/drsorch/drsorch/sqlite"
)

// The race test at length, on both stores: 64 clients of 40 operations per phase.
func TestRace(t *testing.T) {
	stores := []struct {
		name string
		open func(t *testing.T) drsorch.Store
	}{
		{"sqlite", func(t *testing.T) drsorch.Store {
			st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
		{"dynamodb", func(t *testing.T) drsorch.Store {
			d := testenv.NeedDynamoDBLocal(t)
			prefix := fmt.Sprintf("race-%d", os.Getpid())
			st := dynamodb.New(d.Client(), dynamodb.Tables{ExecutionHistory: prefix + "-execution-history",
				RecoveryPlans: prefix + "-recovery-plans", ProtectionGroups: prefix + "-protection-groups", TargetAccounts: prefix + "-target-accounts"})
			if err := st.CreateTables(t.Context()); err != nil {
				t.Fatal(err)
			}
			return st
		}},
	}
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			runRace(t, s.open(t), raceOptions{clients: 64, ops: 40})
		})
	}
}
