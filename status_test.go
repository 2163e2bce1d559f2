package drsorch_test

import (
	"testing"
	"time"

	"github.com/drsorch/drsorch"
)

var drsorchtestEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStatusSets(t *testing.T) {
	tests := []struct {
		status           drsorch.ExecutionStatus
		active, terminal bool
		holdsPlan        bool
		canonical        drsorch.ExecutionStatus
	}{
		{"PENDING", true, false, true, "PENDING"},
		{"RUNNING", true, false, true, "RUNNING"},
		{"PAUSE_PENDING", true, false, true, "PAUSE_PENDING"},
		{"PAUSED", true, false, true, "PAUSED"},
		{"CANCELLING", true, false, false, "CANCELLING"},
		{"COMPLETED", false, true, false, "COMPLETED"},
		{"PARTIAL", false, true, false, "PARTIAL"},
		{"FAILED", false, true, false, "FAILED"},
		{"CANCELLED", false, true, false, "CANCELLED"},
		{"TIMEOUT", false, true, false, "TIMEOUT"},
		{"POLLING", true, false, true, "RUNNING"},
		{"IN_PROGRESS", true, false, true, "RUNNING"},
		{"INITIATED", true, false, true, "RUNNING"},
		{"LAUNCHING", true, false, true, "RUNNING"},
		{"STARTED", true, false, true, "RUNNING"},
		{"TERMINATED", false, true, false, "TERMINATED"},
		{"completed", false, true, false, "COMPLETED"},
		{"LOCK", false, false, false, "LOCK"},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			s := tt.status
			if s.Active() != tt.active || s.Terminal() != tt.terminal || s.HoldsPlan() != tt.holdsPlan || s.Canonical() != tt.canonical {
				t.Fatalf("active=%v terminal=%v holds=%v canonical=%s", s.Active(), s.Terminal(), s.HoldsPlan(), s.Canonical())
			}
		})
	}
	for _, s := range drsorch.StoredActiveStatuses {
		if !s.Active() {
			t.Errorf("%s is in StoredActiveStatuses but not active", s)
		}
	}
}

func TestTagMatching(t *testing.T) {
	g := drsorch.ProtectionGroup{ServerSelectionTags: map[string]string{"Tier": "Web", "Env": "prod"}}
	tests := []struct {
		name string
		tags map[string]string
		want bool
	}{
		{"exact", map[string]string{"Tier": "Web", "Env": "prod"}, true},
		{"values ignore case", map[string]string{"Tier": "WEB", "Env": "Prod"}, true},
		{"keys are exact", map[string]string{"tier": "Web", "Env": "prod"}, false},
		{"keys trimmed", map[string]string{" Tier ": "Web", "Env": "prod"}, true},
		{"all tags must match", map[string]string{"Tier": "Web"}, false},
		{"extra tags are fine", map[string]string{"Tier": "Web", "Env": "prod", "Name": "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.MatchesTags(tt.tags); got != tt.want {
				t.Fatalf("got %v", got)
			}
		})
	}
}
