package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	sdksfn "github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"
	"github.com/google/uuid"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/awslambda"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/lambdafn"
	"github.com/drsorch/drsorch/sfn"
	"github.com/drsorch/drsorch/sqlite"
)

// Files of a data directory shared by `drsorch invoke --data` and the Lambda's DRSORCH_DATA.
const (
	StoreFile    = "drsorch.db"   // the SQLite store
	SimStateFile = "drs-sim.json" // the DRS simulator's state
)

// DefaultAccountID is the current account when AWS_ACCOUNT_ID is not set.
const DefaultAccountID = "123456789012"

// Fixtures is a fixtures file of `drsorch invoke` (INTERFACES.md): the records
// to start from, the DRS simulator's state, the simulated start time and the
// scripted answers of the other AWS services.
type Fixtures struct {
	ProtectionGroups []drsorch.ProtectionGroup `json:"protectionGroups,omitempty"`
	RecoveryPlans    []drsorch.RecoveryPlan    `json:"recoveryPlans,omitempty"`
	TargetAccounts   []drsorch.TargetAccount   `json:"targetAccounts,omitempty"`
	// Executions are stored records with the replaced system's attribute
	// names, secrets (taskToken, pausedStateSnapshot, accountContext.externalId) included.
	Executions []json.RawMessage `json:"executions,omitempty"`
	DRS        *drssim.Fixture   `json:"drs,omitempty"`
	Clock      string            `json:"clock,omitempty"`
	AWS        AWSFixture        `json:"aws"`
}

// AWSFixture scripts the AWS calls other than DRS: faults first, then responses.
type AWSFixture struct {
	Faults    []AWSFault    `json:"faults,omitempty"`
	Responses []AWSResponse `json:"responses,omitempty"`
}

// AWSFault makes the next Times calls of an API fail with an AWS error name.
type AWSFault struct {
	Service string `json:"service"`
	API     string `json:"api"`
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
	Times   int    `json:"times,omitempty"` // 0 means 1
}

// AWSResponse answers calls of an API with an output (AWS member names);
// Times 0 answers every call, n the next n.
type AWSResponse struct {
	Service string                     `json:"service"`
	API     string                     `json:"api"`
	Output  map[string]json.RawMessage `json:"output"`
	Times   int                        `json:"times,omitempty"`
}

var fixtureKeys = []string{"protectionGroups", "recoveryPlans", "targetAccounts", "executions", "drs", "clock", "aws"}

// awsServices are the services "aws" may script, with their APIs.
var awsServices = map[string][]string{
	"states": {"StartExecution", "SendTaskSuccess", "SendTaskFailure", "StopExecution", "DescribeExecution"},
	"lambda": {"Invoke"},
}

// ParseFixtures decodes and checks a fixtures file; errors name the field.
func ParseFixtures(data []byte) (*Fixtures, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("fixtures: not a JSON object: %w", err)
	}
	for k := range top {
		if !slices.Contains(fixtureKeys, k) {
			return nil, fmt.Errorf("fixtures: unknown key %q (known: %s)", k, strings.Join(fixtureKeys, ", "))
		}
	}
	var f Fixtures
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("fixtures: %w", err)
	}
	if f.Clock != "" {
		if _, err := time.Parse(time.RFC3339, f.Clock); err != nil {
			return nil, fmt.Errorf("fixtures: clock: %q is not an RFC 3339 time", f.Clock)
		}
	}
	for i, g := range f.ProtectionGroups {
		if g.GroupID == "" {
			return nil, fmt.Errorf("fixtures: protectionGroups[%d].groupId is required", i)
		}
	}
	for i, p := range f.RecoveryPlans {
		if p.PlanID == "" {
			return nil, fmt.Errorf("fixtures: recoveryPlans[%d].planId is required", i)
		}
	}
	for i, a := range f.TargetAccounts {
		if !drsorch.ValidAccountID(a.AccountID) {
			return nil, fmt.Errorf("fixtures: targetAccounts[%d].accountId must be a 12-digit account id", i)
		}
	}
	for i, ft := range f.AWS.Faults {
		field := fmt.Sprintf("fixtures: aws.faults[%d]", i)
		if err := checkAWSAPI(field, ft.Service, ft.API); err != nil {
			return nil, err
		}
		if ft.Error == "" || ft.Times < 0 {
			return nil, fmt.Errorf("%s: error (an AWS error name) is required and times must not be negative", field)
		}
	}
	for i, r := range f.AWS.Responses {
		field := fmt.Sprintf("fixtures: aws.responses[%d]", i)
		if err := checkAWSAPI(field, r.Service, r.API); err != nil {
			return nil, err
		}
		if r.Times < 0 {
			return nil, fmt.Errorf("%s.times must not be negative", field)
		}
	}
	return &f, nil
}

func checkAWSAPI(field, service, api string) error {
	apis, ok := awsServices[service]
	if !ok {
		return fmt.Errorf("%s.service: %q is not scriptable (states, lambda)", field, service)
	}
	if !slices.Contains(apis, api) {
		return fmt.Errorf("%s.api: %q is not an API drsorch calls on %s (%s)", field, api, service, strings.Join(apis, ", "))
	}
	return nil
}

// decodeExecution reads a stored execution record, secrets included.
func decodeExecution(raw json.RawMessage) (*drsorch.Execution, error) {
	var x drsorch.Execution
	if err := json.Unmarshal(raw, &x); err != nil {
		return nil, err
	}
	var s struct {
		TaskToken           string          `json:"taskToken"`
		PausedStateSnapshot json.RawMessage `json:"pausedStateSnapshot"`
		ExternalID          string          `json:"externalId"`
		AccountContext      struct {
			ExternalID string `json:"externalId"`
		} `json:"accountContext"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	x.Secrets.TaskToken = s.TaskToken
	x.Secrets.ExternalID = s.AccountContext.ExternalID
	if x.Secrets.ExternalID == "" {
		x.Secrets.ExternalID = s.ExternalID
	}
	if len(s.PausedStateSnapshot) > 0 && string(s.PausedStateSnapshot) != "null" {
		var str string
		if json.Unmarshal(s.PausedStateSnapshot, &str) == nil {
			x.Secrets.PausedStateSnapshot = str
		} else {
			x.Secrets.PausedStateSnapshot = string(s.PausedStateSnapshot)
		}
	}
	return &x, nil
}

// loadRecords puts the fixtures' records in the store.
func loadRecords(ctx context.Context, st drsorch.Store, f *Fixtures) error {
	for i := range f.ProtectionGroups {
		g := f.ProtectionGroups[i]
		if g.SourceServerIDs == nil {
			g.SourceServerIDs = []string{}
		}
		if err := st.CreateGroup(ctx, &g); err != nil {
			return fmt.Errorf("fixtures: protectionGroups[%d]: %w", i, err)
		}
	}
	for i := range f.RecoveryPlans {
		p := f.RecoveryPlans[i]
		if err := st.CreatePlan(ctx, &p); err != nil {
			return fmt.Errorf("fixtures: recoveryPlans[%d]: %w", i, err)
		}
	}
	for i := range f.TargetAccounts {
		a := f.TargetAccounts[i]
		if err := st.PutAccount(ctx, &a); err != nil {
			return fmt.Errorf("fixtures: targetAccounts[%d]: %w", i, err)
		}
	}
	for i, raw := range f.Executions {
		x, err := decodeExecution(raw)
		if err != nil {
			return fmt.Errorf("fixtures: executions[%d]: %w", i, err)
		}
		if x.ExecutionID == "" || x.PlanID == "" {
			return fmt.Errorf("fixtures: executions[%d]: executionId and planId are required", i)
		}
		if err := st.CreateExecution(ctx, x); err != nil {
			return fmt.Errorf("fixtures: executions[%d]: %w", i, err)
		}
	}
	return nil
}

// AWSCall is one recorded call to an AWS service other than DRS.
type AWSCall struct {
	Service string `json:"service"`
	API     string `json:"api"`
	Region  string `json:"region"`
	Account string `json:"account"`
	Input   any    `json:"input"`
	Error   string `json:"error,omitempty"`
}

// awsError is a scripted AWS failure.
type awsError struct{ name, msg string }

// recorder records the non-DRS AWS calls and answers them from the fixtures.
type recorder struct {
	mu        sync.Mutex
	region    string
	account   string
	faults    []AWSFault
	responses []AWSResponse
	calls     []AWSCall
}

func newRecorder(f AWSFixture, region, account string) *recorder {
	r := &recorder{region: region, account: account}
	for _, ft := range f.Faults {
		if ft.Times == 0 {
			ft.Times = 1
		}
		r.faults = append(r.faults, ft)
	}
	r.responses = append(r.responses, f.Responses...)
	return r
}

// call records a call and returns the scripted output (nil: use the default) or fault.
func (r *recorder) call(service, api string, input map[string]any) (map[string]json.RawMessage, *awsError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := AWSCall{Service: service, API: api, Region: r.region, Account: r.account, Input: decodeJSONStrings(input)}
	defer func() { r.calls = append(r.calls, c) }()
	for i := range r.faults {
		ft := &r.faults[i]
		if ft.Service == service && ft.API == api && ft.Times > 0 {
			ft.Times--
			c.Error = ft.Error
			return nil, &awsError{name: ft.Error, msg: firstNonEmpty(ft.Message, "scripted fault")}
		}
	}
	for i := range r.responses {
		rs := &r.responses[i]
		if rs.Service != service || rs.API != api || rs.Times < 0 {
			continue
		}
		if rs.Times > 0 {
			rs.Times--
			if rs.Times == 0 {
				rs.Times = -1 // used up
			}
		}
		return rs.Output, nil
	}
	return nil, nil
}

// Calls returns the recorded calls, oldest first.
func (r *recorder) Calls() []AWSCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// decodeJSONStrings shows the members that hold JSON text (input, output, Payload) as objects.
func decodeJSONStrings(in map[string]any) map[string]any {
	out := make(map[string]any, len(in))
	for k, v := range in {
		out[k] = v
		var text []byte
		switch s := v.(type) {
		case string:
			text = []byte(s)
		case []byte:
			text = s
		case json.RawMessage:
			text = s
		}
		if text != nil && (k == "input" || k == "output" || k == "Payload") {
			var x any
			if json.Unmarshal(text, &x) == nil {
				out[k] = x
			} else {
				out[k] = string(text)
			}
		}
	}
	return out
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// recordedLambda is the Lambda API under `drsorch invoke`: calls are recorded,
// not made. Event invocations of the function itself are queued, so they run
// after the step as the Lambda service would run them.
type recordedLambda struct {
	rec      *recorder
	self     string
	mu       sync.Mutex
	deferred [][]byte
}

var _ awslambda.Client = (*recordedLambda)(nil)

// Invoke records the call and answers it: scripted output, else 202 for
// Event and 200 with a null payload for RequestResponse.
func (l *recordedLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	input := map[string]any{"FunctionName": aws.ToString(in.FunctionName), "InvocationType": string(in.InvocationType), "Payload": in.Payload}
	if in.Qualifier != nil {
		input["Qualifier"] = *in.Qualifier
	}
	out, fault := l.rec.call("lambda", "Invoke", input)
	if fault != nil {
		return nil, &smithy.GenericAPIError{Code: fault.name, Message: fault.msg}
	}
	res := &lambda.InvokeOutput{StatusCode: 200, Payload: []byte("null")}
	if in.InvocationType == types.InvocationTypeEvent {
		res.StatusCode, res.Payload = 202, nil
	}
	if v, ok := out["StatusCode"]; ok {
		var n int32
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, fmt.Errorf("fixtures: aws lambda Invoke output StatusCode: %w", err)
		}
		res.StatusCode = n
	}
	if v, ok := out["Payload"]; ok {
		res.Payload = v
		var s string
		if json.Unmarshal(v, &s) == nil && json.Valid([]byte(s)) {
			res.Payload = []byte(s)
		}
	}
	if v, ok := out["FunctionError"]; ok {
		var s string
		_ = json.Unmarshal(v, &s)
		res.FunctionError = aws.String(s)
	}
	if in.InvocationType == types.InvocationTypeEvent && res.StatusCode == 202 && aws.ToString(in.FunctionName) == l.self {
		l.mu.Lock()
		l.deferred = append(l.deferred, slices.Clone(in.Payload))
		l.mu.Unlock()
	}
	return res, nil
}

// takeDeferred returns and forgets the queued self-invocations.
func (l *recordedLambda) takeDeferred() [][]byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := l.deferred
	l.deferred = nil
	return d
}

// recordedStates is the Step Functions API under `drsorch invoke`, behind the
// real adapter (sfn.Workflow): calls are recorded, not made, and answered from
// the fixtures or with what Step Functions would return.
type recordedStates struct {
	rec *recorder
}

var _ sfn.API = (*recordedStates)(nil)

func (s *recordedStates) call(api string, input map[string]any) (map[string]json.RawMessage, error) {
	out, fault := s.rec.call("states", api, input)
	if fault != nil {
		return nil, &smithy.GenericAPIError{Code: fault.name, Message: fault.msg}
	}
	return out, nil
}

// StartExecution answers with the ARN of the execution named in the input.
func (s *recordedStates) StartExecution(_ context.Context, in *sdksfn.StartExecutionInput, _ ...func(*sdksfn.Options)) (*sdksfn.StartExecutionOutput, error) {
	out, err := s.call("StartExecution", map[string]any{"stateMachineArn": aws.ToString(in.StateMachineArn),
		"name": aws.ToString(in.Name), "input": aws.ToString(in.Input)})
	if err != nil {
		return nil, err
	}
	arn, ok := sfn.ExecutionARN(aws.ToString(in.StateMachineArn), aws.ToString(in.Name))
	if !ok {
		arn = aws.ToString(in.StateMachineArn) + ":" + aws.ToString(in.Name)
	}
	if v, ok := out["executionArn"]; ok {
		_ = json.Unmarshal(v, &arn)
	}
	return &sdksfn.StartExecutionOutput{ExecutionArn: aws.String(arn)}, nil
}

// SendTaskSuccess answers with nothing.
func (s *recordedStates) SendTaskSuccess(_ context.Context, in *sdksfn.SendTaskSuccessInput, _ ...func(*sdksfn.Options)) (*sdksfn.SendTaskSuccessOutput, error) {
	_, err := s.call("SendTaskSuccess", map[string]any{"taskToken": aws.ToString(in.TaskToken), "output": aws.ToString(in.Output)})
	if err != nil {
		return nil, err
	}
	return &sdksfn.SendTaskSuccessOutput{}, nil
}

// SendTaskFailure answers with nothing.
func (s *recordedStates) SendTaskFailure(_ context.Context, in *sdksfn.SendTaskFailureInput, _ ...func(*sdksfn.Options)) (*sdksfn.SendTaskFailureOutput, error) {
	_, err := s.call("SendTaskFailure", map[string]any{"taskToken": aws.ToString(in.TaskToken), "error": aws.ToString(in.Error), "cause": aws.ToString(in.Cause)})
	if err != nil {
		return nil, err
	}
	return &sdksfn.SendTaskFailureOutput{}, nil
}

// StopExecution answers with nothing.
func (s *recordedStates) StopExecution(_ context.Context, in *sdksfn.StopExecutionInput, _ ...func(*sdksfn.Options)) (*sdksfn.StopExecutionOutput, error) {
	_, err := s.call("StopExecution", map[string]any{"executionArn": aws.ToString(in.ExecutionArn), "error": aws.ToString(in.Error), "cause": aws.ToString(in.Cause)})
	if err != nil {
		return nil, err
	}
	return &sdksfn.StopExecutionOutput{}, nil
}

// DescribeExecution answers with the scripted status, else RUNNING.
func (s *recordedStates) DescribeExecution(_ context.Context, in *sdksfn.DescribeExecutionInput, _ ...func(*sdksfn.Options)) (*sdksfn.DescribeExecutionOutput, error) {
	out, err := s.call("DescribeExecution", map[string]any{"executionArn": aws.ToString(in.ExecutionArn)})
	if err != nil {
		return nil, err
	}
	res := &sdksfn.DescribeExecutionOutput{ExecutionArn: in.ExecutionArn, Status: sfntypes.ExecutionStatusRunning}
	var v struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Cause  string `json:"cause"`
	}
	b, _ := json.Marshal(out)
	_ = json.Unmarshal(b, &v)
	if v.Status != "" {
		res.Status = sfntypes.ExecutionStatus(v.Status)
	}
	if v.Error != "" {
		res.Error = aws.String(v.Error)
	}
	if v.Cause != "" {
		res.Cause = aws.String(v.Cause)
	}
	return res, nil
}

// Step is one step of `drsorch invoke`: an event, or an advance of the simulated clock.
type Step struct {
	Event   json.RawMessage
	Advance time.Duration
}

// ParseSteps reads one STEPS argument: an event, or a JSON array of steps.
// A step {"advance": "10m"} (a duration, or a number of seconds) moves the clock.
func ParseSteps(data []byte) ([]Step, error) {
	data = bytes.TrimSpace(data)
	if !json.Valid(data) {
		return nil, errors.New("not JSON")
	}
	var items []json.RawMessage
	if len(data) > 0 && data[0] == '[' {
		if err := json.Unmarshal(data, &items); err != nil {
			return nil, err
		}
	} else {
		items = []json.RawMessage{data}
	}
	steps := make([]Step, 0, len(items))
	for i, it := range items {
		var adv map[string]json.RawMessage
		if json.Unmarshal(it, &adv) == nil && len(adv) == 1 && adv["advance"] != nil {
			d, err := parseAdvance(adv["advance"])
			if err != nil {
				return nil, fmt.Errorf("step %d: advance: %w", i, err)
			}
			steps = append(steps, Step{Advance: d})
			continue
		}
		steps = append(steps, Step{Event: it})
	}
	return steps, nil
}

func parseAdvance(v json.RawMessage) (time.Duration, error) {
	var s string
	var d time.Duration
	if json.Unmarshal(v, &s) == nil {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration such as \"10m\"", s)
		}
	} else {
		var secs float64
		if err := json.Unmarshal(v, &secs); err != nil {
			return 0, errors.New("must be a duration such as \"10m\" or a number of seconds")
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, errors.New("must be positive")
	}
	return d, nil
}

// LocalOptions configures the local backends of `drsorch invoke`.
type LocalOptions struct {
	Fixtures *Fixtures           // nil: start empty
	DataDir  string              // "": in memory
	Getenv   func(string) string // the Lambda's environment
	Logger   *slog.Logger        // nil discards
}

// Local is the Lambda's router on local backends: the store (in memory, or
// SQLite in a data directory), the DRS simulator on a simulated clock, and
// recorders for Step Functions and Lambda.
type Local struct {
	Router *lambdafn.Router
	Clock  *drsorch.ManualClock
	Sim    *drssim.Sim
	Store  *sqlite.Store
	Engine *engine.Engine
	aws    *recorder
	lambda *recordedLambda
}

// NewLocal builds the local backends and loads the fixtures. With a data
// directory the state persists across runs; fixtures then need a new directory.
func NewLocal(ctx context.Context, o LocalOptions) (*Local, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := o.Fixtures
	if f == nil {
		f = &Fixtures{}
	}
	env := readEnv(getenv)
	if env.AccountID == "" {
		env.AccountID = DefaultAccountID
	}
	if env.StateMachineARN != "" {
		if _, ok := sfn.ExecutionARN(env.StateMachineARN, "x"); !ok {
			return nil, fmt.Errorf("STATE_MACHINE_ARN=%q is not a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)", env.StateMachineARN)
		}
	}
	if env.Worker != WorkerLambda && env.Worker != WorkerInline {
		return nil, fmt.Errorf("DRSORCH_WORKER=%q: want lambda or inline", env.Worker)
	}
	if !drsorch.ValidAccountID(env.AccountID) {
		return nil, fmt.Errorf("AWS_ACCOUNT_ID=%q is not a 12-digit account id", env.AccountID)
	}
	if err := env.checkNotifications(); err != nil {
		return nil, err
	}
	start := time.Now().UTC().Truncate(time.Second)
	if f.Clock != "" {
		start, _ = time.Parse(time.RFC3339, f.Clock)
	}
	clock := drsorch.NewManualClock(start)
	storePath, simPath := ":memory:", ""
	fresh := true
	if o.DataDir != "" {
		if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
			return nil, err
		}
		storePath = filepath.Join(o.DataDir, StoreFile)
		simPath = filepath.Join(o.DataDir, SimStateFile)
		for _, p := range []string{storePath, simPath} {
			if _, err := os.Stat(p); err == nil {
				fresh = false
			}
		}
		if !fresh && o.Fixtures != nil {
			return nil, fmt.Errorf("--fixtures: %s already holds state; load fixtures into a new data directory", o.DataDir)
		}
	}
	st, err := sqlite.Open(storePath)
	if err != nil {
		return nil, err
	}
	sim, err := drssim.Open(drssim.Options{Clock: clock, Seed: 1, DefaultAccount: env.AccountID,
		DefaultRegion: env.Region, StatePath: simPath, MaxCalls: -1})
	if err != nil {
		st.Close()
		return nil, err
	}
	if t := sim.Now(); t.After(clock.Now()) {
		clock.Set(t) // a persisted simulator may be ahead of the start time
	}
	if f.DRS != nil {
		if err := sim.Load(*f.DRS); err != nil {
			st.Close()
			return nil, fmt.Errorf("fixtures: %w", err)
		}
	}
	if err := loadRecords(ctx, st, f); err != nil {
		st.Close()
		return nil, err
	}
	l := &Local{Clock: clock, Sim: sim, Store: st}
	l.aws = newRecorder(f.AWS, env.Region, env.AccountID)
	l.lambda = &recordedLambda{rec: l.aws, self: firstNonEmpty(env.FunctionName, "drsorch")}
	newID := func() string { return uuid.NewString() }
	if o.DataDir == "" {
		// In memory, ids are reproducible: the same steps give the same output.
		rng := rand.NewChaCha8([32]byte{'d', 'r', 's', 'o', 'r', 'c', 'h'})
		var mu sync.Mutex
		newID = func() string {
			mu.Lock()
			defer mu.Unlock()
			return uuid.Must(uuid.NewRandomFromReader(rng)).String()
		}
	}
	var wf drsorch.Workflow = engineDriven{}
	if env.StateMachineARN != "" {
		wf = sfn.New(&recordedStates{rec: l.aws}, env.StateMachineARN)
	}
	var dispatcher drsorch.Dispatcher
	if env.Worker != WorkerInline {
		dispatcher = &awslambda.Dispatcher{Client: l.lambda, FunctionName: l.lambda.self, Plans: st}
	}
	l.Engine = engine.New(engine.Config{
		Store: st, DRS: sim, Workflow: wf, Dispatcher: dispatcher, Clock: clock, Logger: log, Authorizer: auth.Authorizer{},
		Notifier: invokeNotifier(env, l.aws, clock), CallbackKey: env.callbackKey(), CallbackBaseURL: env.APIGatewayURL,
		AccountID: env.AccountID, DefaultRegion: env.Region, NewID: newID,
		Sleep: func(_ context.Context, d time.Duration) { clock.Advance(d) },
	})
	var reads lambdafn.Reads
	if env.QueryHandler != "" {
		reads = &awslambda.Reads{Client: l.lambda, FunctionName: env.QueryHandler}
	}
	eng := l.Engine
	pageKey, err := lambdaPageKey(getenv)
	if err != nil {
		st.Close()
		return nil, err
	}
	l.Router = lambdafn.New(lambdafn.Config{
		Engine:  func(context.Context) (*engine.Engine, error) { return eng, nil },
		HTTP:    httpHandler(func(context.Context) (*engine.Engine, error) { return eng, nil }, log, pageKey),
		PageKey: pageKey,
		Reads:   reads,
		// A failed invocation is printed as its line already: only errors are logged.
		Logger: slog.New(minLevel{log.Handler(), slog.LevelError}),
	})
	return l, nil
}

// minLevel drops the records of a handler below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled reports whether the level is at least the minimum and the handler takes it.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs keeps the minimum.
func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(a), h.min}
}

// WithGroup keeps the minimum.
func (h minLevel) WithGroup(n string) slog.Handler { return minLevel{h.Handler.WithGroup(n), h.min} }

// Close releases the store.
func (l *Local) Close() error { return l.Store.Close() }

// Run runs one step and returns the line to print (nil for an advance). A
// failed invocation prints as the Lambda reports it: {"errorType","errorMessage"}.
// Self-invocations the step queued (the worker of a start) run afterwards,
// as the Lambda service runs them; their results are not printed, and their
// failures are returned in async.
func (l *Local) Run(ctx context.Context, s Step) (line json.RawMessage, async []error) {
	if s.Event == nil {
		l.Clock.Advance(s.Advance)
		return nil, nil
	}
	line = l.invoke(ctx, s.Event)
	for {
		queued := l.lambda.takeDeferred()
		if len(queued) == 0 {
			break
		}
		for _, ev := range queued {
			if _, err := l.Router.Handle(ctx, ev); err != nil {
				async = append(async, err)
			}
		}
	}
	return line, async
}

func (l *Local) invoke(ctx context.Context, event []byte) json.RawMessage {
	out, err := l.Router.Handle(ctx, event)
	if err != nil {
		var le *lambdafn.Error
		if !errors.As(err, &le) {
			le = &lambdafn.Error{Type: lambdafn.TypeRetryable, Message: err.Error()}
		}
		b, _ := json.Marshal(le)
		return b
	}
	return out
}

// State is the --state line: the stored executions and the recorded calls.
func (l *Local) State(ctx context.Context) (json.RawMessage, error) {
	var xs []drsorch.Execution
	q := drsorch.ExecutionQuery{Limit: drsorch.MaxPageSize}
	for {
		page, err := l.Store.ListExecutions(ctx, q)
		if err != nil {
			return nil, err
		}
		xs = append(xs, page.Items...)
		if page.NextToken == "" {
			break
		}
		q.NextToken = page.NextToken
	}
	if xs == nil {
		xs = []drsorch.Execution{}
	}
	type drsCall struct {
		API     string `json:"api"`
		Region  string `json:"region"`
		Account string `json:"account"`
		Input   any    `json:"input"`
		Error   string `json:"error,omitempty"`
	}
	drs := []drsCall{}
	for _, c := range l.Sim.Calls() {
		drs = append(drs, drsCall{API: c.API, Region: c.Region, Account: c.Account, Input: c.Input, Error: c.Error})
	}
	aws := l.aws.Calls()
	if aws == nil {
		aws = []AWSCall{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	state := struct {
		Executions []drsorch.Execution `json:"executions"`
		DRSCalls   []drsCall           `json:"drsCalls"`
		AWSCalls   []AWSCall           `json:"awsCalls"`
	}{xs, drs, aws}
	if err := enc.Encode(state); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// InvokeOptions configures Invoke.
type InvokeOptions struct {
	Local  LocalOptions
	State  bool      // print the --state line at the end
	Stdout io.Writer // one JSON line per event
	Stderr io.Writer // failures of queued self-invocations
}

// Invoke runs the steps through the Lambda's router on local backends and
// prints each event's response as one JSON line: `drsorch invoke`.
func Invoke(ctx context.Context, o InvokeOptions, steps []Step) error {
	l, err := NewLocal(ctx, o.Local)
	if err != nil {
		return err
	}
	defer l.Close()
	w := bufio.NewWriter(o.Stdout)
	defer w.Flush()
	for _, s := range steps {
		line, async := l.Run(ctx, s)
		if line != nil {
			w.Write(line)
			w.WriteByte('\n')
		}
		for _, err := range async {
			fmt.Fprintf(o.Stderr, "drsorch invoke: a queued self-invocation failed: %v\n", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if o.State {
		line, err := l.State(ctx)
		if err != nil {
			return err
		}
		w.Write(line)
		w.WriteByte('\n')
	}
	if err := l.Sim.Err(); err != nil {
		return fmt.Errorf("saving the simulator state: %w", err)
	}
	return w.Flush()
}
