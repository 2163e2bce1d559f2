package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	sdksfn "github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/awslambda"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/dynamodb"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/lambdafn"
	"github.com/drsorch/drsorch/sfn"
	"github.com/drsorch/drsorch/sqlite"
)

// Values of DRSORCH_STORE, DRSORCH_DRS and DRSORCH_WORKER.
const (
	StoreDynamoDB = "dynamodb" // the reference's tables (EXECUTION_HISTORY_TABLE…)
	StoreSQLite   = "sqlite"   // DRSORCH_DATA/drsorch.db
	StoreMemory   = "memory"   // SQLite in memory, for tests

	DRSAWS = "aws" // Elastic Disaster Recovery (with EC2 and STS for other accounts)
	DRSSim = "sim" // the simulator, on the wall clock

	WorkerLambda = "lambda" // the worker runs in an asynchronous self-invocation
	WorkerInline = "inline" // the start runs the worker in the same invocation
)

// Env is the Lambda's configuration, read from its environment: the
// replaced system's variables and drsorch's own DRSORCH_* ones.
type Env struct {
	Store       string // DRSORCH_STORE (default dynamodb)
	DRS         string // DRSORCH_DRS (default aws)
	Worker      string // DRSORCH_WORKER (default lambda)
	DataDir     string // DRSORCH_DATA: the sqlite store's and the simulator's directory
	SimFixtures string // DRSORCH_SIM_FIXTURES: a fixtures file loaded into a new store and simulator

	ExecutionHistoryTable string // EXECUTION_HISTORY_TABLE
	RecoveryPlansTable    string // RECOVERY_PLANS_TABLE
	ProtectionGroupsTable string // PROTECTION_GROUPS_TABLE
	TargetAccountsTable   string // TARGET_ACCOUNTS_TABLE

	StateMachineARN string // STATE_MACHINE_ARN
	QueryHandler    string // QUERY_HANDLER_FUNCTION_NAME
	TopicARN        string // EXECUTION_NOTIFICATIONS_TOPIC_ARN: notifications go to SNS
	APIGatewayURL   string // API_GATEWAY_URL: base of the links of pause notifications
	CallbackKey     string // DRSORCH_CALLBACK_KEY: signs those links; never logged
	FunctionName    string // AWS_LAMBDA_FUNCTION_NAME
	AccountID       string // AWS_ACCOUNT_ID (else the function ARN's account, else 123456789012)
	Region          string // AWS_REGION (else AWS_DEFAULT_REGION, else us-east-1)
}

func readEnv(getenv func(string) string) Env {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	return Env{
		Store: strings.ToLower(get(EnvStore, StoreDynamoDB)), DRS: strings.ToLower(get(EnvDRS, DRSAWS)),
		Worker: strings.ToLower(get(EnvWorker, WorkerLambda)), DataDir: get(EnvData, ""),
		SimFixtures:           get(EnvSimFixtures, ""),
		ExecutionHistoryTable: get(EnvExecutionHistoryTable, ""), RecoveryPlansTable: get(EnvRecoveryPlansTable, ""),
		ProtectionGroupsTable: get(EnvProtectionGroupsTable, ""), TargetAccountsTable: get(EnvTargetAccountsTable, ""),
		StateMachineARN: get(EnvStateMachineARN, ""), QueryHandler: get(EnvQueryHandler, ""),
		TopicARN: get(EnvTopicARN, ""), APIGatewayURL: get(EnvAPIGatewayURL, ""), CallbackKey: get(EnvCallbackKey, ""),
		FunctionName: get(EnvFunctionName, ""), AccountID: get(EnvAccountID, ""),
		Region: get(EnvRegion, get(EnvDefaultRegion, "us-east-1")),
	}
}

// check refuses a configuration the Lambda cannot serve, before anything is opened.
func (e Env) check() error {
	switch e.Store {
	case StoreDynamoDB:
		if err := e.tables().Validate(); err != nil {
			return fmt.Errorf("DRSORCH_STORE=dynamodb: %s", drsorch.AsError(err).Message)
		}
	case StoreSQLite:
		if e.DataDir == "" {
			return errors.New("DRSORCH_STORE=sqlite needs DRSORCH_DATA (the directory of the database)")
		}
	case StoreMemory:
	default:
		return fmt.Errorf("DRSORCH_STORE=%q: want dynamodb, sqlite or memory", e.Store)
	}
	switch e.DRS {
	case DRSAWS:
		if e.SimFixtures != "" {
			return errors.New("DRSORCH_SIM_FIXTURES is set but DRSORCH_DRS is not sim")
		}
	case DRSSim:
	default:
		return fmt.Errorf("DRSORCH_DRS=%q: want aws or sim", e.DRS)
	}
	if e.StateMachineARN != "" {
		if _, ok := sfn.ExecutionARN(e.StateMachineARN, "x"); !ok {
			return fmt.Errorf("STATE_MACHINE_ARN=%q is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", e.StateMachineARN)
		}
	}
	switch e.Worker {
	case WorkerLambda:
		if e.FunctionName == "" {
			return errors.New("DRSORCH_WORKER=lambda needs AWS_LAMBDA_FUNCTION_NAME (the function invokes itself)")
		}
	case WorkerInline:
	default:
		return fmt.Errorf("DRSORCH_WORKER=%q: want lambda or inline", e.Worker)
	}
	if e.AccountID != "" && !drsorch.ValidAccountID(e.AccountID) {
		return fmt.Errorf("AWS_ACCOUNT_ID=%q is not a 12-digit account id", e.AccountID)
	}
	return e.checkNotifications()
}

func (e Env) tables() dynamodb.Tables {
	return dynamodb.Tables{ExecutionHistory: e.ExecutionHistoryTable, RecoveryPlans: e.RecoveryPlansTable,
		ProtectionGroups: e.ProtectionGroupsTable, TargetAccounts: e.TargetAccountsTable}
}

// NewLambda reads the Lambda's configuration and returns its router. It opens
// nothing: the store, DRS and the AWS clients are built on the first event
// that needs them, so a cold start costs only the process start. A
// configuration the Lambda cannot serve is refused here, so the function
// fails to start with a clear error.
func NewLambda(getenv func(string) string, log *slog.Logger) (*lambdafn.Router, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	env := readEnv(getenv)
	if err := env.check(); err != nil {
		return nil, err
	}
	cfg := &awsConfig{region: env.Region}
	b := &lambdaBackend{env: env, log: log, aws: cfg, lambda: &lazyLambda{cfg: cfg}}
	var reads lambdafn.Reads
	if env.QueryHandler != "" {
		reads = &awslambda.Reads{Client: b.lambda, FunctionName: env.QueryHandler}
	}
	pageKey, err := lambdaPageKey(getenv)
	if err != nil {
		return nil, err
	}
	return lambdafn.New(lambdafn.Config{Engine: b.engine, HTTP: httpHandler(b.engine, log, pageKey), Reads: reads, Logger: log,
		PageKey: pageKey}), nil
}

// lambdaBackend builds the engine on the first event that needs it.
type lambdaBackend struct {
	env    Env
	log    *slog.Logger
	aws    *awsConfig
	lambda *lazyLambda

	mu  sync.Mutex
	eng *engine.Engine
}

func (b *lambdaBackend) engine(ctx context.Context) (*engine.Engine, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eng != nil {
		return b.eng, nil
	}
	env := b.env
	if env.AccountID == "" {
		env.AccountID = DefaultAccountID
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			if parts := strings.Split(lc.InvokedFunctionArn, ":"); len(parts) > 4 && drsorch.ValidAccountID(parts[4]) {
				env.AccountID = parts[4]
			}
		}
	}
	var closers []func() error
	fail := func(err error) (*engine.Engine, error) {
		for _, c := range closers {
			c()
		}
		return nil, err
	}

	// The store.
	var st drsorch.Store
	fresh := true
	switch env.Store {
	case StoreDynamoDB:
		cfg, err := b.aws.get(ctx)
		if err != nil {
			return nil, err
		}
		st, fresh = dynamodb.New(ddb.NewFromConfig(cfg), env.tables()), false
	default:
		path := ":memory:"
		if env.Store == StoreSQLite {
			if err := os.MkdirAll(env.DataDir, 0o700); err != nil {
				return nil, drsorch.Wrap(drsorch.CodeInternal, err, "the data directory cannot be created")
			}
			path = filepath.Join(env.DataDir, StoreFile)
			if _, err := os.Stat(path); err == nil {
				fresh = false
			}
		}
		s, err := sqlite.Open(path)
		if err != nil {
			return nil, err
		}
		st = s
		closers = append(closers, s.Close)
	}

	// DRS.
	var drs drsorch.DRS
	switch env.DRS {
	case DRSAWS:
		d, err := NewAWSDRS(ctx, env.Region, b.log.With("component", "drs"))
		if err != nil {
			return fail(drsorch.Wrap(drsorch.CodeInternal, err, "the DRS client cannot be built"))
		}
		drs = d
	case DRSSim:
		simPath := ""
		if env.DataDir != "" {
			simPath = filepath.Join(env.DataDir, SimStateFile)
			if _, err := os.Stat(simPath); err == nil {
				fresh = false
			}
		}
		sim, err := drssim.Open(drssim.Options{Seed: 1, DefaultAccount: env.AccountID, DefaultRegion: env.Region, StatePath: simPath})
		if err != nil {
			return fail(drsorch.Wrap(drsorch.CodeInternal, err, "the DRS simulator cannot be opened"))
		}
		if env.SimFixtures != "" && fresh {
			if err := loadFixtureFile(ctx, env.SimFixtures, st, sim, env.Store != StoreDynamoDB); err != nil {
				return fail(err)
			}
		}
		drs = sim
	}

	// The workflow: Step Functions, or the engine alone on the EventBridge schedule.
	var wf drsorch.Workflow = engineDriven{}
	if env.StateMachineARN != "" {
		cfg, err := b.aws.get(ctx)
		if err != nil {
			return fail(err)
		}
		wf = sfn.New(sdksfn.NewFromConfig(cfg), env.StateMachineARN)
	}
	var dispatcher drsorch.Dispatcher
	if env.Worker == WorkerLambda {
		dispatcher = &awslambda.Dispatcher{Client: b.lambda, FunctionName: env.FunctionName, Plans: st}
	}
	notifier, err := b.notifier(ctx)
	if err != nil {
		return fail(err)
	}
	b.eng = engine.New(engine.Config{Store: st, DRS: drs, Workflow: wf, Dispatcher: dispatcher, Notifier: notifier,
		Logger: b.log.With("component", "engine"), AccountID: env.AccountID, DefaultRegion: env.Region,
		CallbackKey: env.callbackKey(), CallbackBaseURL: env.APIGatewayURL,
		// API Gateway requests are checked against the permission matrix; direct
		// invocations and the workflow's actions run as system callers (IAM decides).
		Authorizer: auth.Authorizer{}})
	b.log.Info("backends ready", "store", env.Store, "drs", env.DRS, "worker", env.Worker,
		"stepFunctions", env.StateMachineARN != "", "notifications", env.TopicARN != "", "account", env.AccountID, "region", env.Region)
	return b.eng, nil
}

// loadFixtureFile loads DRSORCH_SIM_FIXTURES: its "drs" object into a new
// simulator and, with records, its records into a new local store.
func loadFixtureFile(ctx context.Context, path string, st drsorch.Store, sim *drssim.Sim, records bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return drsorch.Wrap(drsorch.CodeInternal, err, "DRSORCH_SIM_FIXTURES cannot be read")
	}
	f, err := ParseFixtures(data)
	if err != nil {
		return drsorch.Wrap(drsorch.CodeInternal, err, "DRSORCH_SIM_FIXTURES: %s", err.Error())
	}
	if f.DRS != nil {
		if err := sim.Load(*f.DRS); err != nil {
			return drsorch.Wrap(drsorch.CodeInternal, err, "DRSORCH_SIM_FIXTURES: %s", err.Error())
		}
	}
	if records {
		if err := loadRecords(ctx, st, f); err != nil {
			return drsorch.Wrap(drsorch.CodeInternal, err, "DRSORCH_SIM_FIXTURES: %s", err.Error())
		}
	}
	return nil
}

// awsConfig is the AWS configuration, loaded on first use.
type awsConfig struct {
	region string
	mu     sync.Mutex
	cfg    *aws.Config
}

func (a *awsConfig) get(ctx context.Context) (aws.Config, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cfg != nil {
		return *a.cfg, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(a.region))
	if err != nil {
		return aws.Config{}, drsorch.Wrap(drsorch.CodeInternal, err, "the AWS configuration cannot be loaded")
	}
	a.cfg = &cfg
	return cfg, nil
}

// lazyLambda is the Lambda API client, built on first use.
type lazyLambda struct {
	cfg    *awsConfig
	mu     sync.Mutex
	client *lambda.Client
}

// Invoke builds the client if needed and invokes.
func (l *lazyLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, opts ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	l.mu.Lock()
	if l.client == nil {
		cfg, err := l.cfg.get(ctx)
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.client = lambda.NewFromConfig(cfg)
	}
	c := l.client
	l.mu.Unlock()
	return c.Invoke(ctx, in, opts...)
}

// engineDriven is the workflow when no state machine is configured: nothing
// runs outside the engine, which takes every step itself when the EventBridge
// schedule's find polls. A task token (left by the replaced system's state
// machine) cannot be used, so it is reported gone and the engine goes on alone.
type engineDriven struct{}

func errNoStateMachine() error {
	return &drsorch.Error{Code: drsorch.CodeTaskTokenGone, Message: "no Step Functions state machine is configured",
		Details: map[string]any{"awsError": "NoStateMachine"}}
}

// Start has no workflow to start.
func (engineDriven) Start(context.Context, *drsorch.Execution) (string, error) { return "", nil }

// SendTaskSuccess reports the token unusable.
func (engineDriven) SendTaskSuccess(context.Context, string, json.RawMessage) error {
	return errNoStateMachine()
}

// SendTaskFailure reports the token unusable.
func (engineDriven) SendTaskFailure(context.Context, string, string, string) error {
	return errNoStateMachine()
}

// Stop cannot stop a Step Functions execution without a client for it.
func (engineDriven) Stop(_ context.Context, ref, _, _ string) error {
	return drsorch.Errorf(drsorch.CodeWorkflow, "cannot stop %s: no Step Functions state machine is configured", ref)
}

// Describe cannot describe a Step Functions execution without a client for it.
func (engineDriven) Describe(_ context.Context, ref string) (string, error) {
	return "", drsorch.Errorf(drsorch.CodeWorkflow, "cannot describe %s: no Step Functions state machine is configured", ref)
}

// LambdaMaxBodyBytes bounds request bodies from API Gateway: Lambda's own
// payload limit for a synchronous invocation is 6 MB.
const LambdaMaxBodyBytes = 6 << 20

// httpHandler returns how the router gets the HTTP API for API Gateway
// events: the same handler as `drsorch serve`, built once with the engine,
// authenticating by the claims API Gateway's authorizer already verified.
// pageKey signs its pagination tokens.
func httpHandler(eng func(context.Context) (*engine.Engine, error), log *slog.Logger, pageKey []byte) func(context.Context) (http.Handler, error) {
	var mu sync.Mutex
	var h http.Handler
	return func(ctx context.Context) (http.Handler, error) {
		mu.Lock()
		defer mu.Unlock()
		if h != nil {
			return h, nil
		}
		e, err := eng(ctx)
		if err != nil {
			return nil, err
		}
		h = httpapi.New(e, httpapi.Options{Auth: lambdafn.ClaimsAuthenticator{}, Logger: log, MaxBodyBytes: LambdaMaxBodyBytes,
			PageKey: pageKey})
		return h, nil
	}
}
