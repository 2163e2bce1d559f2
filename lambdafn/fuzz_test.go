package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/internal/testenv"
	"github.com/drsorch/drsorch/lambdafn"
)

// fixtureSecrets are the secrets the shared fixtures hold (a paused
// execution's task token and snapshot, external ids): no answer and no log
// line may show them.
var fixtureSecrets = []string{
	"AQCEAAAAKgAAAAMAAAAAAAAAAStepFunctionsTaskTokenOfThePausedExecution",
	`{"execution_id":"6a1f0c2e-0000-4000-8000-000000000003","status":"paused"}`,
	`{\"execution_id\":\"6a1f0c2e-0000-4000-8000-000000000003\",\"status\":\"paused\"}`,
	"ext-7f3a91c2", "x-secret",
}

var fuzzFixtures = sync.OnceValues(func() (*app.Fixtures, error) {
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		return nil, err
	}
	return app.ParseFixtures(b)
})

// FuzzRouter feeds the Lambda router any event, on fresh local backends
// loaded with the shared fixtures each time (so a failure reproduces from its
// input alone). It must not panic, must not fail with an internal error or
// answer 5xx because of the input, and must not show a secret.
func FuzzRouter(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/events/*.json")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		steps, err := app.ParseSteps(b)
		if err != nil {
			continue
		}
		for _, s := range steps {
			if s.Event != nil {
				f.Add([]byte(s.Event))
			}
		}
	}
	env := map[string]string{}
	testenv.LoadEnvFile(f, env, "testdata/env")
	f.Fuzz(func(t *testing.T, event []byte) {
		fx, err := fuzzFixtures()
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		l, err := app.NewLocal(context.Background(), app.LocalOptions{Fixtures: fx, Logger: log, Getenv: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out, err := l.Router.Handle(context.Background(), event)
		var le *lambdafn.Error
		if err != nil && (!errors.As(err, &le) || strings.HasPrefix(le.Message, drsorch.CodeInternal)) {
			t.Fatalf("internal error: %v", err)
		}
		checkNoFailure(t, event, out, logs.Bytes())
	})
}

// checkNoFailure fails on a logged error (a panic, a 5xx, an internal
// failure), an internal error in the answer, or a secret the input did not hold.
func checkNoFailure(t *testing.T, in, out, logs []byte) {
	t.Helper()
	for _, line := range bytes.Split(logs, []byte("\n")) {
		if bytes.Contains(line, []byte(`"level":"ERROR"`)) {
			t.Fatalf("logged an error: %s", line)
		}
	}
	var env struct {
		StatusCode int     `json:"statusCode"`
		Body       *string `json:"body"`
		Error      string  `json:"error"`
	}
	if json.Unmarshal(out, &env) == nil {
		if env.Error == drsorch.CodeInternal {
			t.Fatalf("internal error: %s", out)
		}
		if env.Body != nil && env.StatusCode >= 500 && !bytes.Contains(in, []byte(`"state"`)) {
			t.Fatalf("%d: %s", env.StatusCode, out)
		}
	}
	for _, s := range fixtureSecrets {
		if bytes.Contains(in, []byte(s)) {
			continue
		}
		if bytes.Contains(out, []byte(s)) {
			t.Fatalf("the answer shows a secret: %s", out)
		}
		if bytes.Contains(logs, []byte(s)) {
			t.Fatalf("the log shows a secret: %s", logs)
		}
	}
}
