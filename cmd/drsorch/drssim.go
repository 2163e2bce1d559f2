package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/drsorch/drsorch/drssim"
)

// drsSimUsage is the help of `drsorch drs-sim`.
const drsSimUsage = `usage: drsorch drs-sim [--addr HOST:PORT] [--fixtures FILE] [--speed N] [--seed S] [--state FILE]

Serves the DRS simulator over DRS's own wire protocol (REST-JSON), so the AWS
CLI and SDKs work against it:

  aws drs describe-source-servers --endpoint-url http://HOST:PORT --region us-east-1

Requests are not authenticated. The region of a call is the one it is signed
for; an access key id of 12 digits is taken as the account, any other key
addresses --account. DRS's quotas (100 servers per job, 20 concurrent jobs,
500 servers in active jobs, one job per server) are enforced with DRS's own
error types. EC2 is not served.

--fixtures reads the "drs" object of a fixtures file (and its "clock", the
simulated start time), or a file holding just the "drs" object. With --state,
the simulator's state is saved to FILE after every change and restored from it
on start; fixtures are then loaded only when FILE does not exist yet.

flags:
`

// runDRSSim serves the DRS simulator over DRS's wire protocol until ctx ends.
func runDRSSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("drs-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), drsSimUsage)
		fs.PrintDefaults()
	}
	addr := fs.String("addr", "127.0.0.1:8081", "listen address; port 0 picks a free port (the URL is printed)")
	fixtures := fs.String("fixtures", "", "fixtures `FILE` to start from")
	speed := fs.Float64("speed", 1, "simulated seconds per real second")
	seed := fs.Int64("seed", 0, "seed of ids, jitter and random failures (default: random)")
	statePath := fs.String("state", "", "`FILE` the state is saved to and restored from")
	account := fs.String("account", drsSimEnv("AWS_ACCOUNT_ID", drssim.DefaultAccount), "account of calls and fixtures that name none (env AWS_ACCOUNT_ID)")
	region := fs.String("region", drsSimEnv("AWS_REGION", drssim.DefaultRegion), "region of calls and fixtures that name none (env AWS_REGION)")
	failRate := fs.Float64("fail-rate", 0, "probability that a server's launch fails")
	throttleRate := fs.Float64("throttle-rate", 0, "probability that a call fails with ThrottlingException")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error; calls are logged at info")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &exitError{code: 2, err: fmt.Errorf("drs-sim: unexpected arguments %q", fs.Args())}
	}
	switch {
	case *speed <= 0:
		return &exitError{code: 2, err: fmt.Errorf("drs-sim: --speed must be positive, got %v", *speed)}
	case *failRate < 0 || *failRate > 1:
		return &exitError{code: 2, err: fmt.Errorf("drs-sim: --fail-rate must be within [0, 1], got %v", *failRate)}
	case *throttleRate < 0 || *throttleRate > 1:
		return &exitError{code: 2, err: fmt.Errorf("drs-sim: --throttle-rate must be within [0, 1], got %v", *throttleRate)}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("drs-sim: --log-level: %w", err)}
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if !seedSet {
		*seed = time.Now().UnixNano()
	}

	var fix *drssim.Fixture
	start := time.Now()
	if *fixtures != "" {
		f, clock, err := readSimFixtures(*fixtures)
		if err != nil {
			return err
		}
		fix = &f
		if !clock.IsZero() {
			start = clock
		}
	}
	restoring := false
	if *statePath != "" {
		if _, err := os.Stat(*statePath); err == nil {
			restoring = true
		}
	}

	clock := newDRSSimClock(start, *speed)
	sim, err := drssim.Open(drssim.Options{
		Clock:          clock,
		Seed:           *seed,
		DefaultAccount: *account,
		DefaultRegion:  *region,
		FailRate:       *failRate,
		ThrottleRate:   *throttleRate,
		StatePath:      *statePath,
	})
	if err != nil {
		return fmt.Errorf("drs-sim: %w", err)
	}
	// Simulated time never goes back: a restored state continues from its own time.
	if saved := sim.Now(); saved.After(clock.Now()) {
		clock.rebase(saved)
	}
	switch {
	case restoring && fix != nil:
		logger.Info("state restored; fixtures not loaded", "state", *statePath, "fixtures", *fixtures)
	case restoring:
		logger.Info("state restored", "state", *statePath)
	case fix != nil:
		if err := sim.Load(*fix); err != nil {
			return fmt.Errorf("drs-sim: fixtures %s: %w", *fixtures, err)
		}
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("drs-sim: %w", err)
	}
	url := "http://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           logDRSCalls(logger, drssim.NewServer(sim)),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "drs-sim listening on %s\n", url)
	logger.Info("drs-sim listening", "url", url, "speed", *speed, "seed", *seed, "simulatedTime", sim.Now().Format(time.RFC3339),
		"account", *account, "region", *region, "state", *statePath)

	select {
	case err := <-serveErr:
		return fmt.Errorf("drs-sim: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		logger.Warn("drs-sim: shutdown", "error", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("drs-sim: %w", err)
	}
	if err := sim.Err(); err != nil {
		return fmt.Errorf("drs-sim: saving state to %s: %w", *statePath, err)
	}
	logger.Info("drs-sim stopped", "simulatedTime", sim.Now().Format(time.RFC3339))
	return nil
}

// readSimFixtures reads the "drs" object and the "clock" of a fixtures file,
// or a file that is just the "drs" object.
func readSimFixtures(path string) (drssim.Fixture, time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return drssim.Fixture{}, time.Time{}, fmt.Errorf("drs-sim: %w", err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return drssim.Fixture{}, time.Time{}, fmt.Errorf("drs-sim: fixtures %s: %w", path, err)
	}
	var clock time.Time
	if raw, ok := top["clock"]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return drssim.Fixture{}, time.Time{}, fmt.Errorf("drs-sim: fixtures %s: clock: want a time like \"2026-01-01T00:00:00Z\": %w", path, err)
		}
		if clock, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return drssim.Fixture{}, time.Time{}, fmt.Errorf("drs-sim: fixtures %s: clock: %w", path, err)
		}
	}
	drs, ok := top["drs"]
	if !ok {
		for _, k := range []string{"sourceServers", "jobs", "recoveryInstances", "faults", "timings"} {
			if _, found := top[k]; found {
				drs = data // the file is the "drs" object itself
				break
			}
		}
	}
	if len(drs) == 0 || string(drs) == "null" {
		return drssim.Fixture{}, clock, nil
	}
	f, err := drssim.ParseFixture(drs)
	if err != nil {
		return drssim.Fixture{}, time.Time{}, fmt.Errorf("drs-sim: fixtures %s: %w", path, err)
	}
	return f, clock, nil
}

func drsSimEnv(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// drsSimClock runs speed simulated seconds per real second from a start time.
type drsSimClock struct {
	mu    sync.Mutex
	base  time.Time // simulated time at origin
	real  time.Time // real time at origin (monotonic)
	speed float64
}

func newDRSSimClock(start time.Time, speed float64) *drsSimClock {
	return &drsSimClock{base: start.UTC(), real: time.Now(), speed: speed}
}

// Now returns the simulated time.
func (c *drsSimClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Duration(float64(time.Since(c.real)) * c.speed))
}

// rebase makes t the simulated time now.
func (c *drsSimClock) rebase(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.real = t.UTC(), time.Now()
}

// logDRSCalls logs each call: the operation, the status, the DRS exception if any and the duration.
func logDRSCalls(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &drsSimRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		attrs := []any{"op", strings.TrimPrefix(r.URL.Path, "/"), "status", rec.status, "duration", time.Since(start).Round(time.Microsecond)}
		if e := rec.Header().Get("X-Amzn-ErrorType"); e != "" {
			attrs = append(attrs, "awsError", e)
		}
		log.Info("drs call", attrs...)
	})
}

type drsSimRecorder struct {
	http.ResponseWriter
	status int
}

func (r *drsSimRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
