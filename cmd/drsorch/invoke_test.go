package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsorch/drsorch/internal/testenv"
)

// The event corpus of the Lambda router: one event (or list of steps) per
// shape, with the expected output of `drsorch invoke`.
const corpus = "../../lambdafn/testdata"

// lambdaEnv lists the environment variables invoke reads; each case sets all
// of them, so the developer's own environment cannot leak into a case.
var lambdaEnv = []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCOUNT_ID", "AWS_LAMBDA_FUNCTION_NAME",
	"STATE_MACHINE_ARN", "QUERY_HANDLER_FUNCTION_NAME", "DRSORCH_WORKER"}

// setEnvFile sets the variables of the env file at path for the test.
func setEnvFile(t *testing.T, path string) {
	t.Helper()
	env := map[string]string{}
	testenv.LoadEnvFile(t, env, path)
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// caseFixtures returns the fixtures file of a case: the shared one, with the
// case's "aws" object when it has NAME.aws.json.
func caseFixtures(t *testing.T, event string) string {
	t.Helper()
	shared := filepath.Join(corpus, "fixtures.json")
	aws, err := os.ReadFile(strings.TrimSuffix(event, ".json") + ".aws.json")
	if os.IsNotExist(err) {
		return shared
	}
	b, err := os.ReadFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["aws"] = aws
	out, _ := json.Marshal(m)
	path := filepath.Join(t.TempDir(), "fixtures.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInvokeCorpus runs every event of the corpus through `drsorch invoke`
// and compares what it prints with the golden output.
func TestInvokeCorpus(t *testing.T) {
	events, err := filepath.Glob(filepath.Join(corpus, "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range events {
		if strings.HasSuffix(ev, ".aws.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(ev), ".json")
		t.Run(name, func(t *testing.T) {
			for _, k := range lambdaEnv {
				t.Setenv(k, "")
			}
			setEnvFile(t, filepath.Join(corpus, "env"))
			setEnvFile(t, strings.TrimSuffix(ev, ".json")+".env")
			args := []string{"invoke", "--fixtures", caseFixtures(t, ev)}
			if strings.HasPrefix(name, "scenario-") {
				args = append(args, "--state")
			}
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), append(args, ev), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
			want, err := os.ReadFile(filepath.Join(corpus, "golden", name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(stdout.Bytes(), want) {
				t.Errorf("output differs from %s.jsonl\n got: %s\nwant: %s", name, stdout.String(), want)
			}
		})
	}
	if n == 0 {
		t.Fatal("no events in the corpus")
	}
}

func TestInvoke(t *testing.T) {
	for _, k := range lambdaEnv {
		t.Setenv(k, "")
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fixtures := filepath.Join(corpus, "fixtures.json")
	list := write("list.json", `{"operation":"list_executions","parameters":{"limit":1}}`)
	data := filepath.Join(dir, "data")
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     []string // substrings of stdout, one per line expected
		wantErr  string   // substring of stderr
	}{
		{name: "no arguments", args: nil, wantCode: 2, wantErr: "usage: drsorch invoke"},
		{name: "unknown flag", args: []string{"--nope"}, wantCode: 2},
		{name: "missing file", args: []string{filepath.Join(dir, "absent.json")}, wantCode: 2, wantErr: "no such file"},
		{name: "not JSON", args: []string{write("bad.json", `{"operation":`)}, wantCode: 2, wantErr: "not JSON"},
		{name: "bad advance", args: []string{write("adv.json", `[{"advance":"soon"}]`)}, wantCode: 2, wantErr: `"soon" is not a duration`},
		{name: "unknown fixtures key", args: []string{"--fixtures", write("fx.json", `{"plans":[]}`), list}, wantCode: 2, wantErr: `unknown key "plans"`},
		{name: "bad aws script", args: []string{"--fixtures", write("fx2.json", `{"aws":{"faults":[{"service":"sns","api":"Publish","error":"X"}]}}`), list},
			wantCode: 2, wantErr: `"sns" is not scriptable`},
		{name: "empty store", args: []string{list}, want: []string{`{"items":[],"count":0,"nextToken":null}`}},
		{name: "stdin", args: []string{"-"}, stdin: `[{"operation":"find"},{"advance":60},{}]`,
			want: []string{`"executionsFound":0`, `"error":"INVALID_INVOCATION"`}},
		{name: "state line", args: []string{"--state", list}, want: []string{`{"items":[]`, `{"executions":[],"drsCalls":[],"awsCalls":[]}`}},
		{name: "data dir keeps state", args: []string{"--data", data, "--fixtures", fixtures, list}, want: []string{`"count":1`}},
		{name: "data dir read again", args: []string{"--data", data, write("get.json", `{"operation":"get_execution","executionId":"6a1f0c2e-0000-4000-8000-000000000001"}`)},
			want: []string{`"planName":"blog"`}},
		{name: "fixtures into a used data dir", args: []string{"--data", data, "--fixtures", fixtures, list}, wantCode: 1, wantErr: "already holds state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stdin != "" {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				w.WriteString(tc.stdin)
				w.Close()
				old := os.Stdin
				os.Stdin = r
				t.Cleanup(func() { os.Stdin = old })
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"invoke"}, tc.args...), &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantErr)
			}
			lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
			if len(tc.want) == 0 {
				if tc.wantCode == 0 && stdout.Len() > 0 {
					t.Errorf("unexpected output %q", stdout.String())
				}
				return
			}
			if len(lines) != len(tc.want) {
				t.Fatalf("%d lines, want %d: %q", len(lines), len(tc.want), stdout.String())
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d %q lacks %q", i+1, lines[i], w)
				}
				if !json.Valid([]byte(lines[i])) {
					t.Errorf("line %d is not JSON: %q", i+1, lines[i])
				}
			}
		})
	}
}
