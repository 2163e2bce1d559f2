package client_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/client"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/internal/app"
)

// inProcess is an http.RoundTripper that serves requests with a handler, so
// the client talks to the API without a socket.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	r.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	p.h.ServeHTTP(w, r)
	return w.Result(), nil
}

type planKit struct {
	fixtures *app.Fixtures
	key      *auth.Key
	planner  string
}

var planFuzzKit = sync.OnceValues(func() (*planKit, error) {
	b, err := os.ReadFile("../lambdafn/testdata/fixtures.json")
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
	planner, err := k.Mint(auth.TokenRequest{Group: auth.GroupPlanManager, User: "planner@example.com", Now: now})
	return &planKit{fixtures: f, key: k, planner: planner}, err
})

// FuzzPlanFile feeds any plan file to `drsorch plan apply`'s parser and, when
// it parses, applies it through the REST API, whose plan and group validation
// (the engine's) then sees it; the file's JSON form is also posted as a plan
// as it is. Nothing may panic, and no answer may be a 5xx or an internal error.
func FuzzPlanFile(f *testing.F) {
	for _, p := range []string{"../examples/plan.yaml", "../cmd/drsorch/testdata/plan-list.json"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"protectionGroups:\n  - {groupId: g, groupName: G, region: us-east-1, sourceServerIds: [s-1111111111111111a]}\nrecoveryPlan:\n  planId: p\n  planName: P\n  waves: [{waveNumber: 0, protectionGroupId: g}]\n",
		`{"recoveryPlans":[{"planId":"a","planName":"A","waves":[{"waveNumber":0,"protectionGroupId":"pg-db","dependsOnWaves":[0]}]}]}`,
		"- protectionGroups: [{groupId: g}]\n- recoveryPlan: {planId: p}\n",
		`{"recoveryPlan":{"planId":"plan-1","planName":"shop","waves":[{"waveNumber":0,"protectionGroupIds":["pg-db","pg-app"],"serverIds":["s-2222222222222222a"]}]}}`,
		"recoveryPlan: &a {planId: p, planName: *a}\n",
		"a: &a [*a, *a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := planFuzzKit()
		if err != nil {
			t.Fatal(err)
		}
		b, perr := client.ParseBundle(data)
		doc, jerr := yaml.YAMLToJSON(data)
		if perr != nil && (jerr != nil || !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{"))) {
			return
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
			Logger: log, Clock: l.Clock, MaxBodyBytes: 1 << 20})
		c := client.New("http://drsorch.test", k.planner)
		c.HTTP = &http.Client{Transport: inProcess{h}}
		check := func(err error) {
			t.Helper()
			var ae *client.Error
			if errors.As(err, &ae) && ae.StatusCode >= 500 {
				t.Fatalf("%v", err)
			}
			if err != nil && !errors.As(err, &ae) {
				t.Fatalf("not an API answer: %v", err)
			}
		}
		if perr == nil {
			_, err := c.Apply(context.Background(), b, false)
			check(err)
		}
		if jerr == nil && bytes.HasPrefix(bytes.TrimSpace(doc), []byte("{")) {
			r := httptest.NewRequest("POST", "/recovery-plans", bytes.NewReader(doc))
			r.Header.Set("Authorization", "Bearer "+k.planner)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code >= 500 {
				t.Fatalf("POST /recovery-plans: %d %s", w.Code, w.Body)
			}
		}
		for _, line := range bytes.Split(logs.Bytes(), []byte("\n")) {
			if bytes.Contains(line, []byte(`"level":"ERROR"`)) {
				t.Fatalf("logged an error: %s", line)
			}
		}
	})
}
