package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/internal/app"
)

func open(t *testing.T, cfg app.Config) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func adminGET(t *testing.T, a *app.App, path string) *httptest.ResponseRecorder {
	t.Helper()
	tok, err := os.ReadFile(a.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, r)
	return w
}

func TestNewDataDirGetsTheDemoAndAnAdminToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	a := open(t, app.Config{DataDir: dir, Addr: "127.0.0.1:8080"})
	if !a.Seeded || !a.AdminTokenWritten || a.AdminTokenPath != filepath.Join(dir, auth.AdminTokenFile) {
		t.Fatalf("seeded=%v written=%v path=%s", a.Seeded, a.AdminTokenWritten, a.AdminTokenPath)
	}
	for _, f := range []string{app.StoreFile, app.SimClockFile, auth.KeyFile, auth.AdminTokenFile, app.CallbackKeyFile} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if runtime.GOOS != "windows" && f != app.StoreFile && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o", f, fi.Mode().Perm())
		}
	}
	servers := a.Sim.SourceServers(drsorch.Target{Region: app.DemoRegion})
	tiers := map[string]int{}
	for _, s := range servers {
		tiers[s.Tags["Tier"]]++
	}
	if len(servers) != 24 || tiers["db"] != 6 || tiers["app"] != 8 || tiers["web"] != 10 {
		t.Fatalf("inventory %v (%d servers)", tiers, len(servers))
	}
	ctx := drsorch.WithCaller(context.Background(), drsorch.SystemCaller)
	p, err := a.Engine.GetPlan(ctx, app.DemoPlanID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range p.Waves {
		names = append(names, w.WaveName)
	}
	if strings.Join(names, ",") != "Database,Application,Web" {
		t.Fatalf("waves %v", names)
	}
	gs, _ := a.Engine.ListGroups(ctx)
	byTags := 0
	for _, g := range gs {
		if g.UsesTags() {
			byTags++
		}
	}
	if len(gs) != 3 || byTags < 1 {
		t.Fatalf("%d groups, %d by tags", len(gs), byTags)
	}
	if w := adminGET(t, a, "/recovery-plans/demo-plan"); w.Code != http.StatusOK {
		t.Fatalf("GET demo plan with the admin token: %d %s", w.Code, w.Body)
	}

	// A restart keeps everything and seeds nothing.
	tok, _ := os.ReadFile(a.AdminTokenPath)
	a.Close()
	b := open(t, app.Config{DataDir: dir})
	tok2, _ := os.ReadFile(b.AdminTokenPath)
	if b.Seeded || b.AdminTokenWritten || string(tok) != string(tok2) {
		t.Fatalf("restart: seeded=%v written=%v token changed=%v", b.Seeded, b.AdminTokenWritten, string(tok) != string(tok2))
	}
	if n := len(b.Sim.SourceServers(drsorch.Target{Region: app.DemoRegion})); n != 24 {
		t.Fatalf("simulator state lost: %d servers", n)
	}
}

// system is the context of in-process calls made as the engine itself.
var system = drsorch.WithCaller(context.Background(), drsorch.SystemCaller)

func TestDemoModes(t *testing.T) {
	dir := t.TempDir()
	a := open(t, app.Config{DataDir: dir, Demo: app.DemoOff})
	if a.Seeded {
		t.Fatal("DemoOff seeded")
	}
	if _, err := a.Engine.GetPlan(system, app.DemoPlanID); !drsorch.IsCode(err, drsorch.CodeNotFound) {
		t.Fatalf("demo plan without the demo: %v", err)
	}
	a.Close()
	b := open(t, app.Config{DataDir: dir, Demo: app.DemoOn})
	if !b.Seeded {
		t.Fatal("DemoOn did not seed an existing directory")
	}
	if _, err := b.Engine.GetPlan(system, app.DemoPlanID); err != nil {
		t.Fatal(err)
	}
	b.Close()
	c := open(t, app.Config{DataDir: dir, Demo: app.DemoOn}) // seeding twice changes nothing
	p, _ := c.Engine.GetPlan(system, app.DemoPlanID)
	if p.Version != 1 {
		t.Fatalf("demo plan rewritten: version %d", p.Version)
	}
}

func TestConfigRefusals(t *testing.T) {
	noEnv := func(string) string { return "" }
	tests := []struct {
		name string
		cfg  app.Config
		want string
	}{
		{"dynamodb without tables", app.Config{Store: "dynamodb", Getenv: noEnv},
			"--store dynamodb: DynamoDB table names not set: EXECUTION_HISTORY_TABLE, RECOVERY_PLANS_TABLE, PROTECTION_GROUPS_TABLE, TARGET_ACCOUNTS_TABLE"},
		{"create tables in sqlite", app.Config{CreateTables: true}, "creating tables needs store dynamodb, not sqlite"},
		{"unknown drs", app.Config{DRS: "azure"}, `unknown DRS backend "azure"`},
		{"unknown store", app.Config{Store: "csv"}, `unknown store "csv"`},
		{"negative speed", app.Config{SimSpeed: -1}, "speed must be positive"},
		{"no data dir", app.Config{DataDir: "-"}, "a data directory is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.DataDir == "" {
				tc.cfg.DataDir = t.TempDir()
			} else if tc.cfg.DataDir == "-" {
				tc.cfg.DataDir = ""
			}
			_, err := app.New(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// TestDemoDrill runs the demo drill through the runner on a fake clock at the default speed.
func TestDemoDrill(t *testing.T) {
	clock := drsorchtest.NewClock(time.Time{})
	a := open(t, app.Config{DataDir: t.TempDir(), Clock: clock})
	ctx := drsorch.WithCaller(context.Background(), drsorch.Caller{Username: "tester", Groups: []string{"DRSOrchestrationAdmin"}})
	res, err := a.Engine.StartExecution(ctx, engineStart())
	if err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	var x *drsorch.Execution
	for i := 0; i < 600; i++ {
		if err := a.Runner.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if x, err = a.Store.GetExecution(ctx, res.ExecutionID); err != nil {
			t.Fatal(err)
		}
		if x.Status.Terminal() {
			break
		}
		clock.Advance(time.Second)
	}
	if x.Status != drsorch.ExecutionCompleted || x.OutcomeSummary != "All 3 wave(s) completed successfully. 24 server(s) launched." {
		t.Fatalf("demo drill: %s %q", x.Status, x.OutcomeSummary)
	}
	took := clock.Now().Sub(start)
	if took > 80*time.Second {
		t.Fatalf("the demo drill took %s of real time at the default speed", took)
	}
	t.Logf("demo drill: %s of real time (polled every second)", took)
	if n := len(a.Sim.Instances(drsorch.Target{Region: app.DemoRegion})); n != 24 {
		t.Fatalf("%d recovery instances", n)
	}
}
