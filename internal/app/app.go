// Package app is drsorch's composition root: from a Config it builds the
// store, the DRS backend, the runner, the engine and the HTTP API, and it is
// the only package that imports them all.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/runner"
	"github.com/drsorch/drsorch/sqlite"
)

// CallbackKeyFile holds the key that signs the links of pause notifications.
// The data directory also holds StoreFile, SimStateFile, SimClockFile and
// auth's signing key and admin token.
const CallbackKeyFile = "callback-key"

// DemoMode says whether to seed the demo.
type DemoMode int

// Demo modes.
const (
	DemoAuto DemoMode = iota // seed a new data directory only
	DemoOn                   // seed whatever is missing
	DemoOff                  // never seed
)

// Config describes one machine's drsorch.
type Config struct {
	// DataDir holds the SQLite file, the simulator's state, the keys and the admin token.
	DataDir string
	// Store is StoreSQLite (the default); StoreDynamoDB is not in this build yet.
	Store string
	// DRS is DRSSim (the default); DRSAWS is not wired to serve yet.
	DRS string
	// SimSpeed is the simulator's simulated seconds per real second (default 60).
	SimSpeed float64
	// PollInterval is how often active executions are polled (default 2s).
	PollInterval time.Duration
	// Addr is the listen address; the links of pause notifications point at it.
	Addr string
	// Demo says whether to seed the demo inventory, groups and plan.
	Demo DemoMode
	// Clock is the engine's clock (default: the wall clock). The simulator
	// runs on a clock scaled from it.
	Clock drsorch.Clock
	// Logger receives the logs (default: discarded).
	Logger *slog.Logger
}

// App is a wired drsorch.
type App struct {
	Engine  *engine.Engine
	Runner  *runner.Runner
	Handler http.Handler
	Store   *sqlite.Store
	// Sim is the DRS simulator (nil with real DRS).
	Sim      *drssim.Sim
	SimClock *ScaledClock
	DataDir  string
	// AdminTokenPath is where the admin token is; AdminTokenWritten says it was (re)written now.
	AdminTokenPath    string
	AdminTokenWritten bool
	// Seeded says the demo was seeded by New.
	Seeded bool

	log *slog.Logger
}

// ErrNotAvailable marks a backend this build does not have yet.
var ErrNotAvailable = errors.New("not available yet in this build")

func (c *Config) defaults() error {
	if c.DataDir == "" {
		return errors.New("a data directory is required")
	}
	if c.Store == "" {
		c.Store = StoreSQLite
	}
	if c.DRS == "" {
		c.DRS = DRSSim
	}
	if c.SimSpeed == 0 {
		c.SimSpeed = 60
	}
	if c.PollInterval == 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.Clock == nil {
		c.Clock = drsorch.SystemClock
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	switch c.Store {
	case StoreSQLite:
	case StoreDynamoDB:
		return fmt.Errorf("store %q is %w; use --store %s", c.Store, ErrNotAvailable, StoreSQLite)
	default:
		return fmt.Errorf("unknown store %q: must be %s or %s", c.Store, StoreSQLite, StoreDynamoDB)
	}
	switch c.DRS {
	case DRSSim:
	case DRSAWS:
		return fmt.Errorf("DRS backend %q (real AWS DRS) is %w; use --drs %s", c.DRS, ErrNotAvailable, DRSSim)
	default:
		return fmt.Errorf("unknown DRS backend %q: must be %s or %s", c.DRS, DRSSim, DRSAWS)
	}
	if c.SimSpeed < 0 {
		return fmt.Errorf("simulator speed must be positive, got %g", c.SimSpeed)
	}
	if c.PollInterval < 0 {
		return fmt.Errorf("poll interval must be positive, got %s", c.PollInterval)
	}
	return nil
}

// New builds a drsorch from cfg. Start runs its runner; Close releases it.
func New(ctx context.Context, cfg Config) (*App, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, StoreFile)
	_, statErr := os.Stat(dbPath)
	newDir := errors.Is(statErr, fs.ErrNotExist)

	a := &App{DataDir: cfg.DataDir, log: log}
	ok := false
	defer func() {
		if !ok {
			a.Close()
		}
	}()
	var err error
	if a.Store, err = sqlite.Open(dbPath); err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	if a.SimClock, err = OpenScaledClock(cfg.DataDir, cfg.Clock, cfg.SimSpeed); err != nil {
		return nil, err
	}
	seed, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, err
	}
	a.Sim, err = drssim.Open(drssim.Options{Clock: a.SimClock, Seed: seed.Int64(), StatePath: filepath.Join(cfg.DataDir, SimStateFile)})
	if err != nil {
		return nil, fmt.Errorf("opening the simulator: %w", err)
	}
	key, _, err := auth.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if a.AdminTokenPath, a.AdminTokenWritten, err = auth.EnsureAdminToken(cfg.DataDir, key, cfg.Clock.Now()); err != nil {
		return nil, err
	}
	cbKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, CallbackKeyFile))
	if err != nil {
		return nil, err
	}

	a.Runner = runner.New(nil, runner.Options{PollInterval: cfg.PollInterval, Logger: log.With("component", "runner")})
	a.Engine = engine.New(engine.Config{
		Store: a.Store, DRS: a.Sim, Workflow: a.Runner.Workflow(), Dispatcher: a.Runner,
		Notifier: logNotifier{log: log.With("component", "notifier")}, Clock: cfg.Clock,
		Logger: log.With("component", "engine"), CallbackKey: cbKey, CallbackBaseURL: baseURL(cfg.Addr),
		// The simulator answers at once: an unconfirmed submission is reconciled sooner than on AWS.
		SubmitGrace: 15 * time.Second,
	})
	a.Runner.SetEngine(a.Engine)
	a.Handler = httpapi.New(a.Engine, httpapi.Options{Auth: auth.NewVerifier(key.Public(), cfg.Clock),
		Logger: log.With("component", "http")})

	if cfg.Demo == DemoOn || (cfg.Demo == DemoAuto && newDir) {
		if err := SeedDemo(ctx, a.Engine, a.Sim); err != nil {
			return nil, err
		}
		a.Seeded = true
	}
	ok = true
	return a, nil
}

// Start starts the runner: pending executions start, active ones are polled.
func (a *App) Start(ctx context.Context) error { return a.Runner.Start(ctx) }

// Close stops the runner and closes the store; the simulator's state is already on disk.
func (a *App) Close() error {
	var errs []error
	if a.Runner != nil {
		a.Runner.Stop()
	}
	if a.Sim != nil {
		if err := a.Sim.Err(); err != nil {
			errs = append(errs, fmt.Errorf("saving the simulator state: %w", err))
		}
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
		a.Store = nil
	}
	return errors.Join(errs...)
}

// baseURL is the URL the API is reached at on this machine, for notification links.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// loadOrCreateSecret reads a hex secret, creating a random one (mode 0600) when absent.
func loadOrCreateSecret(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("%s is not a hex secret of at least 32 bytes", path)
		}
		return k, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, writeFileAtomic(path, []byte(hex.EncodeToString(k)+"\n"), 0o600)
}

// logNotifier writes notifications to the log: on one machine there is no SNS.
// The signed resume/cancel links are credentials, so they are not logged.
type logNotifier struct{ log *slog.Logger }

// Notify logs the notification.
func (n logNotifier) Notify(_ context.Context, x drsorch.Notification) error {
	n.log.Info("execution "+x.Event, "executionId", x.ExecutionID, "planId", x.PlanID, "status", x.Status, "message", x.Message)
	return nil
}
