package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/runner"
	"github.com/drsorch/drsorch/sqlite"
)

// notifier keeps the notifications the engine sends.
type notifier struct {
	mu   sync.Mutex
	sent []drsorch.Notification
}

func (n *notifier) Notify(_ context.Context, x drsorch.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, x)
	return nil
}

func (n *notifier) last(event string) (drsorch.Notification, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.sent) - 1; i >= 0; i-- {
		if n.sent[i].Event == event {
			return n.sent[i], true
		}
	}
	return drsorch.Notification{}, false
}

// server is the API over the real engine, SQLite store, simulator and runner, on a fake clock.
type server struct {
	t      *testing.T
	clock  *drsorchtest.Clock
	sim    *drssim.Sim
	store  *sqlite.Store
	eng    *engine.Engine
	run    *runner.Runner
	notes  *notifier
	key    *auth.Key
	logs   *bytes.Buffer
	h      http.Handler
	token  string
	server map[string][]string // tier → source server ids
}

func newServer(t *testing.T) *server { return newServerWith(t, nil) }

// newServerWith is newServer with the engine's and the API's configuration
// changed by edit (nil: none) before they are built.
func newServerWith(t *testing.T, edit func(*engine.Config, *httpapi.Options)) *server {
	t.Helper()
	clock := drsorchtest.NewClock(time.Time{})
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "drsorch.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sim := drssim.New(drssim.Options{Clock: clock, Seed: 3, Timings: drssim.Timings{Jitter: -1}})
	run := runner.New(nil, runner.Options{})
	notes := &notifier{}
	key, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cfg := engine.Config{Store: st, DRS: sim, Workflow: run.Workflow(), Dispatcher: run, Notifier: notes,
		Clock: clock, Sleep: func(context.Context, time.Duration) {}, CallbackBaseURL: "http://drsorch.test"}
	opts := httpapi.Options{Auth: auth.NewVerifier(key.Public(), clock),
		Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil)), MaxBodyBytes: 64 << 10, Clock: clock}
	if edit != nil {
		edit(&cfg, &opts)
	}
	eng := engine.New(cfg)
	run.SetEngine(eng)
	h := httpapi.New(eng, opts)
	s := &server{t: t, clock: clock, sim: sim, store: st, eng: eng, run: run, notes: notes, key: key, logs: logs, h: h,
		server: map[string][]string{}}
	s.token = s.mint(auth.GroupAdmin, "admin@example.com")
	s.seed()
	return s
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (s *server) mint(group, user string) string {
	s.t.Helper()
	tok, err := s.key.Mint(auth.TokenRequest{Group: group, User: user, Now: s.clock.Now()})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// seed adds db, app and web tiers (2 servers each), groups pg-db (ids), pg-app
// (tags) and pg-web (ids) and the plan "plan" with one wave per tier.
func (s *server) seed() {
	s.t.Helper()
	for _, tier := range []string{"db", "app", "web"} {
		for i := 0; i < 2; i++ {
			id := fmt.Sprintf("s-%s%0*d", tier, 17-len(tier), i)
			s.server[tier] = append(s.server[tier], id)
			if err := s.sim.AddSourceServers(drsorch.SourceServer{SourceServerID: id, Hostname: id + ".example",
				Tags: map[string]string{"Name": fmt.Sprintf("%s-%d", tier, i), "Tier": tier}, ReplicationState: "CONTINUOUS",
				LifecycleState: "READY_FOR_RECOVERY"}); err != nil {
				s.t.Fatal(err)
			}
		}
	}
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-db", "groupName": "Databases", "region": "us-east-1",
		"sourceServerIds": s.server["db"]}, http.StatusCreated)
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-app", "groupName": "Application", "region": "us-east-1",
		"serverSelectionTags": map[string]string{"Tier": "app"}}, http.StatusCreated)
	s.mustOK("POST", "/protection-groups", map[string]any{"groupId": "pg-web", "groupName": "Web", "region": "us-east-1",
		"sourceServerIds": s.server["web"]}, http.StatusCreated)
	s.mustOK("POST", "/recovery-plans", map[string]any{"planId": "plan", "planName": "Three tiers", "waves": []map[string]any{
		{"waveNumber": 0, "waveName": "db", "protectionGroupId": "pg-db"},
		{"waveNumber": 1, "waveName": "app", "protectionGroupId": "pg-app"},
		{"waveNumber": 2, "waveName": "web", "protectionGroupId": "pg-web"},
	}}, http.StatusCreated)
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.Code, r.Body) }

// object decodes the body as a JSON object.
func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// into decodes the body into v.
func (r response) into(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %T: %v: %s", v, err, r.Body)
	}
}

// request sends a request with the admin token; body is JSON-encoded unless it is a string or []byte.
func (s *server) request(method, path string, body any) response {
	return s.requestAs(s.token, method, path, body)
}

func (s *server) requestAs(token, method, path string, body any) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req := httptest.NewRequest(method, path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req)
	return response{Code: w.Code, Header: w.Header(), Body: w.Body.Bytes()}
}

func (s *server) mustOK(method, path string, body any, want int) response {
	s.t.Helper()
	r := s.request(method, path, body)
	if r.Code != want {
		s.t.Fatalf("%s %s: got %s, want %d", method, path, r, want)
	}
	return r
}

// wantError checks an error response: status, code and a message fragment.
func wantError(t *testing.T, r response, status int, code, fragment string) map[string]any {
	t.Helper()
	if r.Code != status {
		t.Fatalf("status %s, want %d", r, status)
	}
	m := r.object(t)
	if m["error"] != code {
		t.Fatalf("error code %v, want %s: %s", m["error"], code, r.Body)
	}
	if msg, _ := m["message"].(string); !strings.Contains(msg, fragment) {
		t.Fatalf("message %q does not contain %q", msg, fragment)
	}
	return m
}

// start starts a drill of the plan over the API and returns its id.
func (s *server) start(plan string) string {
	s.t.Helper()
	r := s.mustOK("POST", "/executions", map[string]any{"planId": plan, "executionType": "DRILL", "initiatedBy": "test"}, http.StatusAccepted)
	return r.object(s.t)["executionId"].(string)
}

func (s *server) status(id string) drsorch.ExecutionStatus {
	s.t.Helper()
	x, err := s.store.GetExecution(context.Background(), id)
	if err != nil {
		s.t.Fatal(err)
	}
	return x.Status
}

// drive runs the runner, advancing the clock by a minute each time, until cond holds.
func (s *server) drive(id string, cond func(drsorch.ExecutionStatus) bool) {
	s.t.Helper()
	for i := 0; i < 600; i++ {
		if err := s.run.RunOnce(context.Background()); err != nil {
			s.t.Fatal(err)
		}
		if cond(s.status(id)) {
			return
		}
		s.clock.Advance(time.Minute)
	}
	s.t.Fatalf("execution %s stuck in %s", id, s.status(id))
}

func is(want drsorch.ExecutionStatus) func(drsorch.ExecutionStatus) bool {
	return func(s drsorch.ExecutionStatus) bool { return s == want }
}

func ended(s drsorch.ExecutionStatus) bool { return s.Terminal() }

// fixture reads a file of testdata.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keys reports the keys of m missing from want and present in forbidden.
func checkKeys(t *testing.T, what string, m map[string]any, want []string, forbidden ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing field %q", what, k)
		}
	}
	for _, k := range forbidden {
		if _, ok := m[k]; ok {
			t.Errorf("%s: field %q must not be there", what, k)
		}
	}
}
