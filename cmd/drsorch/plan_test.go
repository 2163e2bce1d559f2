package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanApplyIsIdempotent(t *testing.T) {
	s := startServeRun(t, t.TempDir())
	s.useServer(t)
	example := filepath.Join("..", "..", "examples", "plan.yaml")

	r := cli(t, "plan", "apply", "-f", example).ok(t)
	want := "protection group example-databases: created\nprotection group example-storefront: created\nrecovery plan example-plan: created\n"
	if r.stdout != want {
		t.Fatalf("first apply:\n%s", r.stdout)
	}
	r = cli(t, "plan", "apply", "-f", example).ok(t)
	if strings.Count(r.stdout, ": unchanged") != 3 {
		t.Fatalf("second apply:\n%s", r.stdout)
	}

	// An edit updates only what changed; --dry-run writes nothing.
	data, _ := os.ReadFile(example)
	edited := writeFile(t, "edited.yaml", strings.Replace(string(data), "Four web servers, listed by id", "Four web servers", 1))
	r = cli(t, "plan", "apply", "-f", edited, "--dry-run").ok(t)
	if !strings.Contains(r.stdout, "protection group example-storefront: would be updated") || !strings.Contains(r.stdout, "recovery plan example-plan: unchanged") {
		t.Fatalf("dry run:\n%s", r.stdout)
	}
	if r = cli(t, "plan", "apply", "-f", example).ok(t); strings.Count(r.stdout, ": unchanged") != 3 {
		t.Fatalf("the dry run wrote:\n%s", r.stdout)
	}
	if r = cli(t, "plan", "apply", "-f", edited).ok(t); !strings.Contains(r.stdout, "example-storefront: updated") || strings.Count(r.stdout, ": unchanged") != 2 {
		t.Fatalf("apply edited:\n%s", r.stdout)
	}

	// A JSON list of bundles, with unnamed and unordered waves, is idempotent too.
	list := filepath.Join("testdata", "plan-list.json")
	if r = cli(t, "plan", "apply", "-f", list).ok(t); strings.Count(r.stdout, ": created") != 3 {
		t.Fatalf("json list:\n%s", r.stdout)
	}
	if r = cli(t, "plan", "apply", "-f", list).ok(t); strings.Count(r.stdout, ": unchanged") != 3 {
		t.Fatalf("json list again:\n%s", r.stdout)
	}

	// plan get writes a file that applies as is, in YAML and JSON.
	for _, format := range []string{"yaml", "json"} {
		out := cli(t, "plan", "get", "example-plan", "-o", format).ok(t).stdout
		if strings.Contains(out, "version") || strings.Contains(out, "createdDate") {
			t.Fatalf("%s export has server-managed fields:\n%s", format, out)
		}
		if r = cli(t, "plan", "apply", "-f", writeFile(t, "export."+format, out)).ok(t); strings.Count(r.stdout, ": unchanged") != 3 {
			t.Fatalf("apply of the %s export:\n%s", format, r.stdout)
		}
	}

	if r = cli(t, "plan", "list").ok(t); !strings.Contains(r.stdout, "example-plan") || !strings.Contains(r.stdout, "json-plan-b") {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if r = cli(t, "plan", "delete", "json-plan-a").ok(t); r.stdout != "recovery plan json-plan-a: deleted\n" {
		t.Fatalf("delete: %s", r.stdout)
	}
	if r = cli(t, "plan", "get", "json-plan-a"); r.code != 1 || !strings.Contains(r.stderr, "Recovery Plan with ID json-plan-a not found") {
		t.Fatalf("get deleted: %+v", r)
	}
}

func TestPlanApplyRefusesBadFiles(t *testing.T) {
	s := startServeRun(t, t.TempDir())
	s.useServer(t)
	tests := []struct {
		name, content, want string
		code                int
	}{
		{"not yaml", "protectionGroups: [", "neither YAML nor JSON", 1},
		{"empty", "", "the file is empty", 1},
		{"nothing in it", "{}", "holds no protectionGroups and no recoveryPlan", 1},
		{"unknown field", "recoveryPlan:\n  planId: p\n  planName: P\n  wavez: []\n", `unknown field "wavez"`, 1},
		{"no group id", "protectionGroups:\n  - groupName: G\n    region: us-east-1\n", "groupId is required", 1},
		{"no plan id", "recoveryPlan:\n  planName: P\n", "planId is required", 1},
		{"twice the same plan", "recoveryPlans:\n  - planId: p\n  - planId: p\n", `planId "p" appears twice`, 1},
		{"refused by the server", "recoveryPlan:\n  planId: p\n  planName: P\n  waves:\n    - waveNumber: 0\n      protectionGroupId: nope\n",
			"Protection Group nope not found", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, "plan", "apply", "-f", writeFile(t, "plan.yaml", tc.content))
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d stderr %q; want %q", r.code, r.stderr, tc.want)
			}
		})
	}
	if r := cli(t, "plan", "apply"); r.code != 2 || !strings.Contains(r.stderr, "apply needs -f FILE") {
		t.Fatalf("no file: %+v", r)
	}
	if r := cli(t, "plan", "get", "demo-plan", "-o", "xml"); r.code != 2 {
		t.Fatalf("bad format: %+v", r)
	}
}
