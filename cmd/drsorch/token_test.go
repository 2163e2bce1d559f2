package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch/auth"
)

func TestToken(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	data := t.TempDir()
	key, _, err := auth.LoadOrCreateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	v := auth.NewVerifier(key.Public(), nil)
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		group    string
		email    string
		username string
	}{
		{"no role", []string{"--data", data}, 2, "token needs --role GROUP", "", "", ""},
		{"unknown role", []string{"--data", data, "--role", "Admin"}, 2, "must be one of DRSOrchestrationAdmin, DRSRecoveryManager, DRSPlanManager, DRSOperator, DRSDrillOperator, DRSReadOnly, DRSAuditor", "", "", ""},
		{"bad ttl", []string{"--data", data, "--role", "DRSOperator", "--ttl", "-1h"}, 2, "--ttl must be between", "", "", ""},
		{"no key", []string{"--data", filepath.Join(t.TempDir(), "empty"), "--role", "DRSOperator"}, 1, "has no signing key yet: start `drsorch serve --data", "", "", ""},
		{"operator", []string{"--data", data, "--role", "DRSOperator"}, 0, "", "DRSOperator", "", "drsoperator"},
		{"user", []string{"--role", "DRSDrillOperator", "--data", data, "--user", "dana"}, 0, "", "DRSDrillOperator", "", "dana"},
		{"email", []string{"--data", data, "--role", "DRSAuditor", "--user", "audit@example.com", "--ttl", "1h"}, 0, "", "DRSAuditor", "audit@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"token"}, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.stderr) {
				t.Fatalf("exit %d stderr %q; want %d and %q", r.code, r.stderr, tc.code, tc.stderr)
			}
			if tc.code != 0 {
				return
			}
			c, err := v.Verify(strings.TrimSpace(r.stdout))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Groups, []string{tc.group}) || c.Email != tc.email || c.Username != tc.username {
				t.Fatalf("caller %+v", c)
			}
		})
	}
	// The default lifetime is 12 hours: a token is refused after that.
	r := cli(t, "token", "--data", data, "--role", "DRSReadOnly").ok(t)
	late := auth.NewVerifier(key.Public(), clockAt(time.Now().Add(12*time.Hour+time.Minute)))
	if _, err := late.Verify(strings.TrimSpace(r.stdout)); err == nil {
		t.Fatal("a default token is still valid after 12h")
	}
	if _, err := auth.NewVerifier(key.Public(), clockAt(time.Now().Add(11*time.Hour))).Verify(strings.TrimSpace(r.stdout)); err != nil {
		t.Fatalf("a default token expired before 12h: %v", err)
	}
}

// clockAt is a clock stopped at t.
type clockAt time.Time

func (c clockAt) Now() time.Time { return time.Time(c) }
