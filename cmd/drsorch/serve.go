package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/drsorch/drsorch/internal/app"
)

// demoFlag is --demo: unset means "on for a new data directory"; --demo and
// --demo=false force it on or off.
type demoFlag struct{ mode app.DemoMode }

// String shows the flag's value: auto, true or false.
func (d *demoFlag) String() string {
	switch d.mode {
	case app.DemoOn:
		return "true"
	case app.DemoOff:
		return "false"
	}
	return "auto"
}

// Set reads true, false or auto.
func (d *demoFlag) Set(s string) error {
	if s == "auto" {
		d.mode = app.DemoAuto
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("want true, false or auto")
	}
	d.mode = app.DemoOff
	if v {
		d.mode = app.DemoOn
	}
	return nil
}

// IsBoolFlag lets --demo stand alone.
func (d *demoFlag) IsBoolFlag() bool { return true }

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr("DRSORCH_ADDR", "127.0.0.1:8080"), "listen address (env DRSORCH_ADDR)")
	data := fs.String("data", envOr("DRSORCH_DATA", defaultData), "data directory: SQLite file, simulator state, admin-token (env DRSORCH_DATA)")
	store := fs.String("store", app.StoreSQLite, "store: sqlite or dynamodb (tables named by EXECUTION_HISTORY_TABLE, RECOVERY_PLANS_TABLE, PROTECTION_GROUPS_TABLE, TARGET_ACCOUNTS_TABLE)")
	createTables := fs.Bool("create-tables", false, "with --store dynamodb: create the tables that do not exist yet")
	drs := fs.String("drs", app.DRSSim, "DRS: sim (the simulator) or aws (DRS through the AWS SDK and the default credentials; AWS_ENDPOINT_URL_DRS may point at drs-sim)")
	speed := fs.Float64("sim-speed", 60, "simulated seconds per real second")
	poll := fs.Duration("poll-interval", 2*time.Second, "how often active executions are polled (real time)")
	var demo demoFlag
	fs.Var(&demo, "demo", "seed the simulator inventory, protection groups and the 3-wave demo plan (default: on for a new data dir with --drs sim; with --drs aws only the groups and the plan, whose servers must exist in DRS)")
	oidc := oidcFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("serve takes no arguments (got %q)", pos)
	case *speed <= 0:
		return usageError("--sim-speed must be positive")
	case *poll <= 0:
		return usageError("--poll-interval must be positive")
	case *createTables && *store != app.StoreDynamoDB:
		return usageError("--create-tables needs --store dynamodb")
	}
	oidcCfg, err := oidc()
	if err != nil {
		return err
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(ctx, app.Config{DataDir: *data, Store: *store, CreateTables: *createTables, DRS: *drs, SimSpeed: *speed, PollInterval: *poll,
		Addr: *addr, Demo: demo.mode, Logger: log, OIDC: oidcCfg})
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			log.Error("closing", "error", err)
		}
		log.Info("stopped")
	}()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, MaxHeaderBytes: 64 << 10,
		WriteTimeout: 2 * time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	if err := a.Start(ctx); err != nil {
		ln.Close()
		return err
	}
	url := "http://" + ln.Addr().String()
	log.Info("drsorch serving", "url", url, "data", *data, "store", *store, "drs", *drs, "simSpeed", *speed,
		"pollInterval", *poll, "demoSeeded", a.Seeded, "adminToken", a.AdminTokenPath)
	fmt.Fprintf(stdout, "drsorch is serving on %s (data in %s)\n", url, *data)
	if a.AdminTokenWritten {
		fmt.Fprintf(stdout, "Wrote a new admin token to %s\n", a.AdminTokenPath)
	} else {
		fmt.Fprintf(stdout, "Admin token: %s\n", a.AdminTokenPath)
	}
	switch {
	case a.Seeded && a.Sim != nil:
		fmt.Fprintf(stdout, "Seeded the demo: 24 simulated servers, 3 protection groups and the plan %s\n", app.DemoPlanID)
	case a.Seeded:
		fmt.Fprintf(stdout, "Seeded the demo: 3 protection groups and the plan %s (their 24 servers come from DRS)\n", app.DemoPlanID)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "error", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
