package auth_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
)

var types = []drsorch.ExecutionType{drsorch.Drill, drsorch.Recovery, ""}

// TestMatrix checks every group and legacy name against the matrix the tests
// expect (drsorchtest.ExpectedGrants), for each permission and execution type.
func TestMatrix(t *testing.T) {
	names := append([]string{}, drsorchtest.ExpectedGroups...)
	for alias := range drsorchtest.ExpectedAliases {
		names = append(names, alias)
	}
	for _, g := range names {
		for _, p := range auth.Permissions {
			for _, typ := range types {
				want := drsorchtest.ExpectAllowed(g, p, typ)
				err := auth.Authorizer{}.Authorize(context.Background(), drsorch.Caller{Username: "u", Groups: []string{g}}, p, typ)
				if (err == nil) != want {
					t.Errorf("%s %s on %q: allowed=%v, want %v", g, p, typ, err == nil, want)
				}
			}
		}
	}
	if len(auth.Matrix) != len(drsorchtest.ExpectedGroups) {
		t.Errorf("the matrix has %d roles, the tests expect %d", len(auth.Matrix), len(drsorchtest.ExpectedGroups))
	}
	for _, r := range auth.Matrix {
		if !auth.ValidGroup(r.Group) {
			t.Errorf("role %s is not one of auth.Groups", r.Group)
		}
	}
}

func TestAuthorizer(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		caller  drsorch.Caller
		perm    drsorch.Permission
		typ     drsorch.ExecutionType
		msg     string // "" = allowed
		details map[string]any
	}{
		{"system callers are IAM's business", drsorch.SystemCaller, drsorch.PermTerminateInstances, drsorch.Recovery, "", nil},
		{"direct invocation", drsorch.Caller{Username: "direct-invocation", System: true}, drsorch.PermDeleteExecutions, "", "", nil},
		{"anonymous", drsorch.Caller{}, drsorch.PermViewExecutions, "", "Missing required permission: view_executions",
			map[string]any{"requiredPermission": "view_executions", "reason": "The caller belongs to no drsorch group"}},
		{"unknown group", drsorch.Caller{Email: "x@example.com", Groups: []string{"Admins"}}, drsorch.PermViewExecutions, "",
			"Missing required permission: view_executions", map[string]any{"requiredPermission": "view_executions"}},
		{"group names are case-sensitive", drsorch.Caller{Groups: []string{"drsorchestrationadmin"}}, drsorch.PermViewExecutions, "",
			"Missing required permission: view_executions", nil},
		{"several groups: the union", drsorch.Caller{Groups: []string{"DRSReadOnly", "DRSDrillOperator"}}, drsorch.PermStartDrill, drsorch.Drill, "", nil},
		{"drill operator pauses a drill", drsorch.Caller{Groups: []string{"DRSDrillOperator"}}, drsorch.PermStopExecution, drsorch.Drill, "", nil},
		{"drill operator and a recovery", drsorch.Caller{Groups: []string{"DRSDrillOperator"}}, drsorch.PermStopExecution, drsorch.Recovery,
			"Missing required permission: stop_execution (granted for DRILL executions only; this is a RECOVERY)",
			map[string]any{"requiredPermission": "stop_execution", "executionType": "RECOVERY"}},
		{"drill operator and an untyped execution", drsorch.Caller{Groups: []string{"DRSDrillOperator"}}, drsorch.PermStopExecution, "",
			"Missing required permission: stop_execution", nil},
		{"drill operator starts a recovery", drsorch.Caller{Groups: []string{"DRSDrillOperator"}}, drsorch.PermStartRecovery, drsorch.Recovery,
			"Missing required permission: start_recovery", map[string]any{"requiredPermission": "start_recovery", "executionType": "RECOVERY"}},
		{"a drill-only grant and a full one", drsorch.Caller{Groups: []string{"DRSDrillOperator", "DRSOperator"}}, drsorch.PermStopExecution, drsorch.Recovery, "", nil},
		{"operator terminates", drsorch.Caller{Groups: []string{"DRSOperator"}}, drsorch.PermTerminateInstances, drsorch.Drill,
			"Missing required permission: terminate_instances", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := auth.Authorizer{}.Authorize(ctx, tc.caller, tc.perm, tc.typ)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := drsorch.AsError(err)
			if e.Code != drsorch.CodeForbidden || !strings.HasPrefix(e.Message, tc.msg) {
				t.Fatalf("got %s %q, want FORBIDDEN %q", e.Code, e.Message, tc.msg)
			}
			for k, v := range tc.details {
				if e.Details[k] != v {
					t.Errorf("details[%s] = %v, want %v (%v)", k, e.Details[k], v, e.Details)
				}
			}
		})
	}
}

var updateDocs = flag.Bool("update-docs", false, "rewrite the generated tables of docs/security.md")

// The markers around the generated part of docs/security.md.
const (
	docBegin = "<!-- BEGIN GENERATED: permission matrix (auth.MatrixMarkdown; `go generate ./auth` rewrites it) -->\n"
	docEnd   = "<!-- END GENERATED: permission matrix -->"
)

// TestSecurityDoc checks that docs/security.md shows the matrix the code
// enforces. With -update-docs (go generate ./auth) it rewrites the tables.
func TestSecurityDoc(t *testing.T) {
	path := filepath.Join("..", "docs", "security.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(docBegin)), bytes.Index(doc, []byte(docEnd))
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q … %q", path, docBegin, docEnd)
	}
	want := auth.MatrixMarkdown()
	got := string(doc[i+len(docBegin) : j])
	if got == want {
		return
	}
	if *updateDocs {
		out := append(append(append([]byte{}, doc[:i+len(docBegin)]...), want...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("docs/security.md's permission tables differ from the code; run `go generate ./auth` or paste:\n%s", want)
}
