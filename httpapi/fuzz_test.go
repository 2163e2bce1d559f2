package httpapi_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/internal/app"
)

// The Lambda router's fixtures: executions in every state, plans, groups, a
// target account, and the secrets an execution may hold.
const sharedFixtures = "../lambdafn/testdata/fixtures.json"

// fixtureSecrets are the secrets of the shared fixtures: no answer and no log
// line may show them.
var fixtureSecrets = []string{
	"AQCEAAAAKgAAAAMAAAAAAAAAAStepFunctionsTaskTokenOfThePausedExecution",
	`{"execution_id":"6a1f0c2e-0000-4000-8000-000000000003","status":"paused"}`,
	`{\"execution_id\":\"6a1f0c2e-0000-4000-8000-000000000003\",\"status\":\"paused\"}`,
	"ext-7f3a91c2", "x-secret",
}

// fuzzKit is what every input of FuzzAPI shares: the fixtures, a signing key
// and a token per caller.
type fuzzKit struct {
	fixtures *app.Fixtures
	key      *auth.Key
	tokens   []string // "" (none), then one token per group, then a forged one
}

var kit = sync.OnceValues(func() (*fuzzKit, error) {
	b, err := os.ReadFile(sharedFixtures)
	if err != nil {
		return nil, err
	}
	f, err := app.ParseFixtures(b)
	if err != nil {
		return nil, err
	}
	k, err := auth.GenerateKey()
	if err != nil {
		return nil, err
	}
	now, _ := time.Parse(time.RFC3339, f.Clock)
	kit := &fuzzKit{fixtures: f, key: k, tokens: []string{""}}
	for _, g := range auth.Groups {
		tok, err := k.Mint(auth.TokenRequest{Group: g, User: strings.ToLower(g) + "@example.com", Now: now, TTL: 100 * 365 * 24 * time.Hour / 50})
		if err != nil {
			return nil, err
		}
		kit.tokens = append(kit.tokens, tok)
	}
	kit.tokens = append(kit.tokens, kit.tokens[1][:len(kit.tokens[1])-4]+"AAAA")
	return kit, nil
})

// FuzzAPI sends the REST API of `drsorch serve` (local tokens, the permission
// matrix in the engine) any method, target, body and caller, on fresh
// backends loaded with the shared fixtures each time. It must not panic, must
// not answer 5xx, and must not show a secret.
func FuzzAPI(f *testing.F) {
	ids := map[string]string{
		"runningDrill": "6a1f0c2e-0000-4000-8000-000000000002", "endedDrill": "6a1f0c2e-0000-4000-8000-000000000001",
		"runningRecovery": "6a1f0c2e-0000-4000-8000-000000000005", "endedRecovery": "6a1f0c2e-0000-4000-8000-000000000004",
		"freePlan": "plan-1", "plan": "plan-run", "group": "pg-db", "sparePlan": "plan-pend", "spareGroup": "pg-pend",
		"server": "s-1111111111111111a",
	}
	for i, rt := range drsorchtest.AuthzRoutes {
		f.Add(rt.Method, drsorchtest.Fill(rt.Path, ids), []byte(drsorchtest.Fill(rt.Body, ids)), uint8(1+i%9))
	}
	for _, s := range []struct{ method, target, body string }{
		{"GET", "/executions/6a1f0c2e-0000-4000-8000-000000000003", ""},
		{"POST", "/executions/6a1f0c2e-0000-4000-8000-000000000003/resume", "{}"},
		{"GET", "/execution-callback?action=cancel&taskToken=AQCEAAAAKgAAAAMAAAAAAAAAAStepFunctionsTaskTokenOfThePausedExecution", ""},
		{"GET", "/executions?limit=1&nextToken=p1.e30.AAAA&status=PAUSED,RUNNING", ""},
		{"POST", "/recovery-plans", `{"planId":"p2","planName":"n","waves":[{"waveNumber":0,"protectionGroupIds":["pg-db","pg-app"],"dependsOnWaves":[1]},{"waveNumber":1,"protectionGroupId":"pg-app","dependsOnWaves":[0]}]}`},
		{"PUT", "/protection-groups/pg-db", `{"groupName":"db","region":"us-east-1","accountId":"222222222222","serverSelectionTags":{"Tier":"db"}}`},
		{"POST", "/executions", `{"planId":"plan-1","executionType":"DRILL","initiatedBy":{"email":"x"},"recoveryPoint":{"pointInTime":"2026-01-01T00:00:00Z"},"drillTtlSeconds":60}`},
		{"OPTIONS", "/executions/x/pause", ""},
		{"PATCH", "/executions", "{}"},
	} {
		f.Add(s.method, s.target, []byte(s.body), uint8(1))
	}
	f.Fuzz(func(t *testing.T, method, target string, body []byte, who uint8) {
		k, err := kit()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		req, err := http.NewRequest(method, target, bytes.NewReader(body))
		if err != nil {
			return // not a request an HTTP server would parse
		}
		req.RemoteAddr = "192.0.2.1:1234"
		if tok := k.tokens[int(who)%len(k.tokens)]; tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		var logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		l, err := app.NewLocal(context.Background(), app.LocalOptions{Fixtures: k.fixtures, Logger: log,
			Getenv: func(k string) string { return map[string]string{"DRSORCH_WORKER": "inline"}[k] }})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		h := httpapi.New(l.Engine, httpapi.Options{Auth: auth.Bearer{Local: auth.NewVerifier(k.key.Public(), l.Clock)},
			Logger: log, Clock: l.Clock, MaxBodyBytes: 64 << 10})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
		}
		in := append([]byte(target), body...)
		for _, line := range bytes.Split(logs.Bytes(), []byte("\n")) {
			if bytes.Contains(line, []byte(`"level":"ERROR"`)) {
				t.Fatalf("logged an error: %s", line)
			}
		}
		for _, s := range fixtureSecrets {
			if bytes.Contains(in, []byte(s)) {
				continue
			}
			if strings.Contains(w.Body.String(), s) || bytes.Contains(logs.Bytes(), []byte(s)) {
				t.Fatalf("a secret is shown: %s\n%s", w.Body, logs.Bytes())
			}
		}
		for _, tok := range k.tokens[1:] {
			if strings.Contains(w.Body.String(), tok) || bytes.Contains(logs.Bytes(), []byte(tok)) {
				t.Fatal("a bearer token is shown")
			}
		}
	})
}
