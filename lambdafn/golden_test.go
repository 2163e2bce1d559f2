package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/internal/testenv"
	"github.com/drsorch/drsorch/lambdafn"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// goldenCase is one file of testdata/events: an event, or a JSON array of
// steps, whose output is testdata/golden/NAME.jsonl. NAME.env adds to the
// environment of testdata/env; NAME.aws.json replaces the fixtures' "aws"
// object; cases named scenario-* also print the --state line.
type goldenCase struct {
	name  string
	steps []app.Step
	env   map[string]string
	aws   json.RawMessage
	state bool
}

func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	paths, err := filepath.Glob("testdata/events/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []goldenCase
	for _, p := range paths {
		if strings.HasSuffix(p, ".aws.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		steps, err := app.ParseSteps(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := goldenCase{name: name, steps: steps, env: map[string]string{}, state: strings.HasPrefix(name, "scenario-")}
		testenv.LoadEnvFile(t, c.env, "testdata/env")
		testenv.LoadEnvFile(t, c.env, strings.TrimSuffix(p, ".json")+".env")
		if b, err := os.ReadFile(strings.TrimSuffix(p, ".json") + ".aws.json"); err == nil {
			c.aws = b
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/events")
	}
	return cases
}

func fixtures(t *testing.T, aws json.RawMessage) *app.Fixtures {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	if aws != nil {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		m["aws"] = aws
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	f, err := app.ParseFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run runs a case through the Lambda's router on the local backends, as
// `drsorch invoke` does, and returns what invoke prints.
func (c goldenCase) run(t *testing.T) []byte {
	t.Helper()
	ctx := context.Background()
	l, err := app.NewLocal(ctx, app.LocalOptions{Fixtures: fixtures(t, c.aws), Getenv: func(k string) string { return c.env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out bytes.Buffer
	for _, s := range c.steps {
		line, async := l.Run(ctx, s)
		if line != nil {
			out.Write(line)
			out.WriteByte('\n')
		}
		for _, err := range async {
			t.Errorf("a queued self-invocation failed: %v", err)
		}
	}
	if c.state {
		line, err := l.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func goldenPath(name string) string { return filepath.Join("testdata", "golden", name+".jsonl") }

// compareGolden compares output with the golden file, rewriting it with -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := goldenPath(name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lambdafn -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s: line %d differs\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}

// TestEvents runs every event of testdata/events through the router and
// compares the responses with testdata/golden.
func TestEvents(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			compareGolden(t, c.name, c.run(t))
		})
	}
}

// TestGoldenFilesHaveCases keeps testdata/golden free of files no case produces.
func TestGoldenFilesHaveCases(t *testing.T) {
	names := map[string]bool{}
	for _, c := range goldenCases(t) {
		names[c.name] = true
	}
	files, _ := filepath.Glob("testdata/golden/*.jsonl")
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".jsonl"); !names[n] {
			t.Errorf("%s has no event file", f)
		}
	}
}

// TestCorpusCoversEveryShape keeps an event in the corpus for every operation,
// every action, the worker, the schedule and every route of the HTTP API.
func TestCorpusCoversEveryShape(t *testing.T) {
	var want []string
	for _, op := range lambdafn.OperationNames {
		want = append(want, "op-"+op)
	}
	for _, a := range lambdafn.SupportedActions {
		want = append(want, "action-"+a)
	}
	want = append(want, "scenario-worker", "eventbridge-scheduled-event", "invalid-invocation",
		"http-v1-post-executions", "http-v1-post-recovery-plans-execute", "http-v1-get-executions", "http-v1-get-execution",
		"http-v1-get-realtime", "http-v1-get-job-logs", "http-v1-get-recovery-instances", "http-v1-post-cancel",
		"http-v1-post-pause", "http-v1-post-resume", "http-v1-post-terminate-instances", "http-v1-get-termination-status",
		"http-v1-delete-executions", "http-v1-delete-completed", "http-v1-post-executions-delete", "http-v1-callback",
		"http-v1-health", "http-v2-get-executions", "http-v2-post-executions", "http-v2-function-url")
	for _, name := range want {
		if _, err := os.Stat(filepath.Join("testdata", "events", name+".json")); err != nil {
			t.Errorf("no event for %s: %v", name, err)
		}
	}
}
