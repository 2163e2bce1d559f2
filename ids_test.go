package drsorch_test

import (
	"strings"
	"testing"

	"github.com/drsorch/drsorch"
)

func TestIDChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func(string) bool
		good  []string
		bad   []string
	}{
		{"source server", drsorch.ValidSourceServerID, []string{"s-1111111111111111a", "s-ABCDEFGHIJKLMNOPQ"},
			[]string{"", "s-111", "s-1111111111111111aa", "x-1111111111111111a", "s-111111111111111_a"}},
		{"job", drsorch.ValidJobID, []string{"drsjob-11111111111111111", "drsjob-abcdefABCDEF01234"},
			[]string{"drsjob-1", "drsjob-111111111111111111", "job-11111111111111111", "drsjob-1111111111111111-"}},
		{"instance", drsorch.ValidInstanceID, []string{"i-0123456789abcdef0", "i-12345678"},
			[]string{"i-1234567", "i-0123456789abcdef01", "i-zzzzzzzz", "s-12345678"}},
		{"account", drsorch.ValidAccountID, []string{"123456789012"}, []string{"12345678901", "1234567890123", "12345678901a"}},
		{"region", drsorch.ValidRegion, []string{"us-east-1", "ap-southeast-2", "us-gov-west-1", "eu-central-1"},
			[]string{"", "us-east", "useast-1", "US-EAST-1", "us--east-1", "us-east-12", "us-1", "us-east-1-"}},
		{"uuid", drsorch.ValidUUID, []string{"0b8f5e2a-1f0c-4a57-9b0e-7d2f4c1a9e3b"},
			[]string{"0b8f5e2a1f0c4a579b0e7d2f4c1a9e3b", "0b8f5e2a-1f0c-4a57-9b0e-7d2f4c1a9e3", "zb8f5e2a-1f0c-4a57-9b0e-7d2f4c1a9e3b"}},
		{"record", drsorch.ValidRecordID, []string{"demo-plan", "pg_1", "a", "0b8f5e2a-1f0c-4a57-9b0e-7d2f4c1a9e3b", strings.Repeat("a", 128)},
			[]string{"", "-x", ".x", "a b", "a/b", strings.Repeat("a", 129), "é"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.good {
				if !tt.check(s) {
					t.Errorf("%q refused", s)
				}
			}
			for _, s := range tt.bad {
				if tt.check(s) {
					t.Errorf("%q accepted", s)
				}
			}
		})
	}
}
