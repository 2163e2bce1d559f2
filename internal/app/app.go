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
	"github.com/drsorch/drsorch/internal/fileutil"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/notify"
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
	// Store is StoreSQLite (the default, in DataDir) or StoreDynamoDB (the
	// tables named by the Lambda's variables, EXECUTION_HISTORY_TABLE…).
	Store string
	// CreateTables, with StoreDynamoDB, creates the tables that do not exist
	// yet; without it, missing tables refuse the start.
	CreateTables bool
	// DRS is DRSSim (the default: the simulator, state in DataDir) or DRSAWS
	// (DRS through the AWS SDK with the default credentials;
	// AWS_ENDPOINT_URL_DRS may point it at `drsorch drs-sim`).
	DRS string
	// SimSpeed is the simulator's simulated seconds per real second (default 60).
	SimSpeed float64
	// PollInterval is how often active executions are polled (default 2s).
	PollInterval time.Duration
	// Addr is the listen address; the links of pause notifications point at it.
	Addr string
	// Demo says whether to seed the demo inventory, groups and plan. DemoAuto
	// seeds only with the simulator; with DRSAWS, DemoOn seeds the groups and
	// the plan (their servers must be in DRS, e.g. drs-sim with examples/demo-drs.json).
	Demo DemoMode
	// Clock is the engine's clock (default: the wall clock). The simulator
	// runs on a clock scaled from it.
	Clock drsorch.Clock
	// Logger receives the logs (default: discarded).
	Logger *slog.Logger
	// OIDC, when set, makes the API accept the tokens of that issuer (a
	// Cognito user pool) besides the local ones.
	OIDC *auth.OIDCConfig
	// Getenv reads the DynamoDB table names and AWS_ACCOUNT_ID (default os.Getenv).
	Getenv func(string) string
}

// App is a wired drsorch.
type App struct {
	Engine  *engine.Engine
	Runner  *runner.Runner
	Handler http.Handler
	Store   drsorch.Store
	// Sim is the DRS simulator and SimClock its clock (both nil with real DRS).
	Sim      *drssim.Sim
	SimClock *ScaledClock
	DataDir  string
	// AdminTokenPath is where the admin token is; AdminTokenWritten says it was (re)written now.
	AdminTokenPath    string
	AdminTokenWritten bool
	// Seeded says the demo was seeded by New.
	Seeded bool

	log        *slog.Logger
	closeStore func() error
	unlock     func() // releases the data directory's lock
}

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
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	switch c.Store {
	case StoreSQLite:
		if c.CreateTables {
			return fmt.Errorf("creating tables needs store %s, not %s", StoreDynamoDB, c.Store)
		}
	case StoreDynamoDB:
	default:
		return fmt.Errorf("unknown store %q: must be %s or %s", c.Store, StoreSQLite, StoreDynamoDB)
	}
	switch c.DRS {
	case DRSSim, DRSAWS:
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
	// One process per data directory: a second one (or an old one not dead
	// yet) would drive the same executions and the same simulator.
	if a.unlock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	var awsCfg aws.Config
	if cfg.Store == StoreDynamoDB || cfg.DRS == DRSAWS {
		if awsCfg, err = loadAWSConfig(ctx, ""); err != nil {
			return nil, err
		}
	}
	switch cfg.Store {
	case StoreDynamoDB:
		st, err := openDynamoDB(ctx, awsCfg, cfg.Getenv, cfg.CreateTables)
		if err != nil {
			return nil, err
		}
		a.Store = st
	default:
		st, err := sqlite.Open(dbPath)
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		a.Store, a.closeStore = st, st.Close
	}
	// The DRS port: the simulator (on a clock scaled from the engine's), or DRS through the SDK.
	var drsPort drsorch.DRS
	submitGrace := time.Duration(0) // the engine's default, for real DRS
	accountID := ""
	switch cfg.DRS {
	case DRSAWS:
		drsPort = newAWSDRS(awsCfg, log.With("component", "drs"))
		accountID = strings.TrimSpace(cfg.Getenv(EnvAccountID))
	default:
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
		drsPort = a.Sim
		// The simulator answers at once, in this process (and the data
		// directory's lock keeps other processes out): an unconfirmed
		// submission is reconciled much sooner than on AWS.
		submitGrace = 5 * time.Second
	}
	key, keyCreated, err := auth.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if cfg.Store == StoreDynamoDB {
		newDir = keyCreated // the tables outlive data directories: "new" is the directory's first start
	}
	if a.AdminTokenPath, a.AdminTokenWritten, err = auth.EnsureAdminToken(cfg.DataDir, key, cfg.Clock.Now()); err != nil {
		return nil, err
	}
	cbKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, CallbackKeyFile))
	if err != nil {
		return nil, err
	}
	pageKey, err := loadOrCreateSecret(filepath.Join(cfg.DataDir, PageKeyFile))
	if err != nil {
		return nil, err
	}
	authn, err := serveAuthenticator(cfg, key)
	if err != nil {
		return nil, err
	}

	fp, err := readFailpoints(cfg.Getenv) // test hooks of the crash test, see failpoint.go
	if err != nil {
		return nil, err
	}
	drsPort = fp.wrap(drsPort, log)

	a.Runner = runner.New(nil, runner.Options{PollInterval: cfg.PollInterval, Logger: log.With("component", "runner")})
	a.Engine = engine.New(engine.Config{
		Store: a.Store, DRS: drsPort, Workflow: a.Runner.Workflow(), Dispatcher: a.Runner,
		Notifier: notify.NewLog(log.With("component", "notifier")), Clock: cfg.Clock, AccountID: accountID,
		Logger: log.With("component", "engine"), CallbackKey: cbKey, CallbackBaseURL: baseURL(cfg.Addr),
		Authorizer: auth.Authorizer{}, SubmitGrace: submitGrace,
	})
	a.Runner.SetEngine(a.Engine)
	a.Handler = httpapi.New(a.Engine, httpapi.Options{Auth: authn, PageKey: pageKey,
		Logger: log.With("component", "http")})

	// With real DRS the demo's servers may not exist: seed only when asked.
	if cfg.Demo == DemoOn || (cfg.Demo == DemoAuto && newDir && cfg.DRS == DRSSim) {
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
	if a.closeStore != nil {
		errs = append(errs, a.closeStore())
		a.closeStore = nil
	}
	if a.unlock != nil {
		a.unlock()
		a.unlock = nil
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
	return k, fileutil.WriteAtomic(path, []byte(hex.EncodeToString(k)+"\n"), 0o600)
}
