// Package drssim simulates AWS Elastic Disaster Recovery (DRS) in process.
//
// A Sim implements drsorch.DRS with DRS's own behaviour: LAUNCH jobs that go
// through PENDING, STARTED and COMPLETED with the real job-log events, recovery
// instances that appear when a launch ends, TERMINATE jobs that remove them,
// DRS's quotas and API limits with DRS's own error types, scripted faults and
// a log of every call. Time comes from an injected clock and every job's
// progress is computed from it on demand, so nothing runs in the background
// and a 30-minute drill takes microseconds under a fake clock.
//
// State is kept per account and region. A Sim is safe for concurrent use, so
// one Sim can back the engine, the CLI and an HTTP front end at once.
package drssim

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/drsorch/drsorch"
)

// The DRS operations a Sim serves, named as in the AWS API.
const (
	APIStartRecovery              = "StartRecovery"
	APIDescribeJobs               = "DescribeJobs"
	APIDescribeJobLogItems        = "DescribeJobLogItems"
	APIDescribeRecoveryInstances  = "DescribeRecoveryInstances"
	APIDescribeSourceServers      = "DescribeSourceServers"
	APIDescribeRecoverySnapshots  = "DescribeRecoverySnapshots"
	APITerminateRecoveryInstances = "TerminateRecoveryInstances"
)

// APIs lists every operation a Sim serves.
var APIs = []string{
	APIStartRecovery, APIDescribeJobs, APIDescribeJobLogItems, APIDescribeRecoveryInstances,
	APIDescribeSourceServers, APIDescribeRecoverySnapshots, APITerminateRecoveryInstances,
}

// Defaults of Options.
const (
	DefaultAccount  = "123456789012"
	DefaultRegion   = "us-east-1"
	DefaultMaxCalls = 1000
)

// Options configures a Sim. The zero value is a usable simulator on the system clock.
type Options struct {
	// Clock tells the simulated time; nil means drsorch.SystemClock.
	Clock drsorch.Clock
	// Seed makes ids, jitter, random failures and throttling deterministic.
	Seed int64
	// Timings are the phase durations; zero fields take DefaultTimings.
	Timings Timings
	// Limits are the account quotas; zero fields take DRS's defaults.
	Limits Limits
	// DefaultAccount is the account of targets without one ("123456789012" when empty).
	DefaultAccount string
	// DefaultRegion is the region of targets without one ("us-east-1" when empty).
	DefaultRegion string
	// FailRate is the probability that a server's launch fails.
	FailRate float64
	// ThrottleRate is the probability that any call fails with ThrottlingException.
	ThrottleRate float64
	// StatePath, when set, is a file the whole state is saved to atomically after
	// every call that changes it, and loaded from by Open when it exists.
	StatePath string
	// MaxCalls bounds the call log (oldest calls are dropped); 0 means
	// DefaultMaxCalls, negative means unbounded.
	MaxCalls int
}

// Limits are DRS's quotas in one account and region. A zero field means DRS's
// default (the drsorch constants); a negative field disables that quota.
type Limits struct {
	MaxServersPerJob       int `json:"maxServersPerJob,omitempty"`
	MaxConcurrentJobs      int `json:"maxConcurrentJobs,omitempty"`
	MaxServersInActiveJobs int `json:"maxServersInActiveJobs,omitempty"`
}

func (l Limits) withDefaults() Limits {
	def := func(v, d int) int {
		if v == 0 {
			return d
		}
		return v
	}
	return Limits{
		MaxServersPerJob:       def(l.MaxServersPerJob, drsorch.MaxServersPerJob),
		MaxConcurrentJobs:      def(l.MaxConcurrentJobs, drsorch.MaxConcurrentJobs),
		MaxServersInActiveJobs: def(l.MaxServersInActiveJobs, drsorch.MaxServersInActiveJobs),
	}
}

// Call is one recorded DRS call.
type Call struct {
	API     string    `json:"api"`
	Region  string    `json:"region"`
	Account string    `json:"account"`
	Input   any       `json:"input"` // the request as JSON, with the AWS API member names
	Error   string    `json:"error"` // the AWS exception name; "" on success
	At      time.Time `json:"at"`
}

// Sim is the DRS simulator. Use New or Open to make one.
type Sim struct {
	mu sync.Mutex

	clock        drsorch.Clock
	seed         int64
	limits       Limits
	defAccount   string
	defRegion    string
	failRate     float64
	throttleRate float64
	statePath    string
	maxCalls     int

	// persisted state
	now        time.Time // the latest time seen; simulated time never goes back
	seq        int64     // orders jobs and instances
	timings    Timings
	idRNG      *rand.PCG
	failRNG    *rand.PCG
	throttlRNG *rand.PCG
	faults     []Fault
	failLaunch map[string]int
	regions    map[string]*region

	calls     []Call
	counts    map[string]int
	errCounts map[string]int // by AWS exception name
	dirty     bool
	err       error
}

var _ drsorch.DRS = (*Sim)(nil)

// New returns a simulator. With Options.StatePath set it loads the saved state
// like Open and panics when that state cannot be read; use Open to handle that error.
func New(opts Options) *Sim {
	s, err := Open(opts)
	if err != nil {
		panic("drssim: " + err.Error())
	}
	return s
}

// Open returns a simulator, restoring the state saved at Options.StatePath when that file exists.
func Open(opts Options) (*Sim, error) {
	s := &Sim{
		clock:        opts.Clock,
		seed:         opts.Seed,
		limits:       opts.Limits.withDefaults(),
		defAccount:   opts.DefaultAccount,
		defRegion:    opts.DefaultRegion,
		failRate:     opts.FailRate,
		throttleRate: opts.ThrottleRate,
		statePath:    opts.StatePath,
		maxCalls:     opts.MaxCalls,
		timings:      opts.Timings.withDefaults(),
		counts:       map[string]int{},
		errCounts:    map[string]int{},
	}
	if s.clock == nil {
		s.clock = drsorch.SystemClock
	}
	if s.defAccount == "" {
		s.defAccount = DefaultAccount
	}
	if s.defRegion == "" {
		s.defRegion = DefaultRegion
	}
	if s.maxCalls == 0 {
		s.maxCalls = DefaultMaxCalls
	}
	s.reset()
	if s.statePath != "" {
		if err := s.loadFile(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// reset empties the persisted state and reseeds the generators.
func (s *Sim) reset() {
	u := uint64(s.seed)
	s.idRNG = rand.NewPCG(u, 0x6964)       // "id"
	s.failRNG = rand.NewPCG(u, 0x6661696c) // "fail"
	s.throttlRNG = rand.NewPCG(u, 0x74687274)
	s.now = time.Time{}
	s.seq = 0
	s.faults = nil
	s.failLaunch = map[string]int{}
	s.regions = map[string]*region{}
}

// Err returns the last error met while saving the state to Options.StatePath, nil if none.
func (s *Sim) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Timings returns the phase durations in use.
func (s *Sim) Timings() Timings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.timings
}

// SetTimings changes the phase durations of jobs started from now on; zero fields keep their current value.
func (s *Sim) SetTimings(t Timings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timings = s.timings.merge(t)
	s.changed()
	s.persist()
}

// Now returns the simulated time: the clock's, but never earlier than a time
// the Sim has already seen (also across Snapshot and Restore).
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tick()
}

// tick returns the simulated time, never earlier than a time already seen.
func (s *Sim) tick() time.Time {
	n := s.clock.Now().UTC()
	if n.Before(s.now) {
		return s.now
	}
	if !n.Equal(s.now) {
		s.now = n
	}
	return n
}

func (s *Sim) changed() { s.dirty = true }

// resolve returns the account and region a target addresses.
func (s *Sim) resolve(t drsorch.Target) (account, region string, err error) {
	account, region = t.AccountID, t.Region
	if region == "" {
		region = s.defRegion
	}
	if t.RoleARN != "" {
		roleAccount, ok := arnAccount(t.RoleARN)
		switch {
		case !ok:
			err = awsErr(AccessDeniedException, "User is not authorized to assume role %s", t.RoleARN)
		case account == "":
			account = roleAccount
		case account != roleAccount:
			err = awsErr(AccessDeniedException, "Role %s does not belong to account %s", t.RoleARN, account)
		}
	}
	if account == "" {
		account = s.defAccount
	}
	return account, region, err
}

// arnAccount returns the account field of an ARN.
func arnAccount(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !isDigits(parts[4], 12) {
		return "", false
	}
	return parts[4], true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// region returns the state of an account and region, creating it.
func (s *Sim) region(account, name string) *region {
	key := account + "/" + name
	r := s.regions[key]
	if r == nil {
		r = newRegion(account, name)
		s.regions[key] = r
	}
	return r
}

// call is one call in progress.
type call struct {
	Call
	now time.Time
	r   *region
}

// begin starts a call: it checks the target's access and the context, settles
// the target's jobs up to now, then applies a scripted fault and random
// throttling. servers lists the source servers the call involves, for
// faults limited to one server.
func (s *Sim) begin(ctx context.Context, api string, t drsorch.Target, input any, servers func(*region) []string) (*call, error) {
	c := &call{now: s.tick()}
	c.API, c.At = api, c.now
	c.Input = rawInput(input)
	account, regionName, err := s.resolve(t)
	c.Account, c.Region = account, regionName
	if err != nil {
		return c, err
	}
	if ctx != nil && ctx.Err() != nil {
		return c, drsorch.Wrap(drsorch.CodeDRS, ctx.Err(), "%s: request cancelled", api)
	}
	c.r = s.region(account, regionName)
	s.settle(c.r, c.now)
	if err := s.takeFault(api, func() []string { return servers(c.r) }); err != nil {
		return c, err
	}
	if s.throttleRate > 0 {
		s.changed()
		if float64(s.throttlRNG.Uint64()>>11)/(1<<53) < s.throttleRate {
			return c, awsErr(ThrottlingException, "Rate exceeded")
		}
	}
	return c, nil
}

// end records the call and saves the state when it changed.
func (s *Sim) end(c *call, err error) error {
	c.Error = AWSErrorName(err)
	s.counts[c.API]++
	if c.Error != "" {
		s.errCounts[c.Error]++
	}
	s.calls = append(s.calls, c.Call)
	if s.maxCalls > 0 && len(s.calls) >= 2*s.maxCalls {
		s.calls = append([]Call(nil), s.calls[len(s.calls)-s.maxCalls:]...)
	}
	s.persist()
	return err
}

func rawInput(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": err.Error()})
	}
	return b
}

// Calls returns the recorded calls, oldest first (at most Options.MaxCalls of them).
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.calls)
	if s.maxCalls > 0 && n > s.maxCalls {
		return append([]Call(nil), s.calls[n-s.maxCalls:]...)
	}
	return append([]Call(nil), s.calls...)
}

// CallCounts returns how many calls of each API were made since the last ResetCalls, failed ones included.
func (s *Sim) CallCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		m[k] = v
	}
	return m
}

// ErrorCounts returns how many calls failed with each AWS exception since the last ResetCalls.
func (s *Sim) ErrorCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.errCounts))
	for k, v := range s.errCounts {
		m[k] = v
	}
	return m
}

// ResetCalls clears the call log and the counts.
func (s *Sim) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.counts = map[string]int{}
	s.errCounts = map[string]int{}
}

// AddSourceServers adds source servers, or replaces those with the same id in
// the same account and region. Empty Region and AccountID take the defaults.
func (s *Sim) AddSourceServers(servers ...drsorch.SourceServer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, srv := range servers {
		if !drsorch.ValidSourceServerID(srv.SourceServerID) {
			return fieldErr(fmt.Sprintf("sourceServers[%d].sourceServerID", i), "%q is not a source server id (s- and 17 letters or digits)", srv.SourceServerID)
		}
	}
	for _, srv := range servers {
		s.putServer(srv)
	}
	s.changed()
	s.persist()
	return nil
}

func (s *Sim) putServer(srv drsorch.SourceServer) {
	if srv.Region == "" {
		srv.Region = s.defRegion
	}
	if srv.AccountID == "" {
		srv.AccountID = s.defAccount
	}
	srv.Tags = cloneTags(srv.Tags)
	s.region(srv.AccountID, srv.Region).putServer(srv)
}

// FailLaunch makes the next launch of that source server fail (in any account and region).
func (s *Sim) FailLaunch(sourceServerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLaunch[sourceServerID]++
	s.changed()
	s.persist()
}

// SourceServers returns the source servers of a target, without recording a call.
func (s *Sim) SourceServers(t drsorch.Target) []drsorch.SourceServer {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, _ := s.peek(t)
	if r == nil {
		return nil
	}
	return r.describeServers(nil)
}

// Jobs returns every job of a target, newest first, without recording a call.
func (s *Sim) Jobs(t drsorch.Target) []drsorch.Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, now := s.peek(t)
	if r == nil {
		return nil
	}
	return r.describeJobs(drsorch.JobFilter{}, now)
}

// JobLog returns a job's log up to now, without recording a call; nil for an unknown job.
func (s *Sim) JobLog(t drsorch.Target, jobID string) []drsorch.JobLogItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, now := s.peek(t)
	if r == nil || r.jobs[jobID] == nil {
		return nil
	}
	return r.jobs[jobID].log(now)
}

// Instances returns the recovery instances of a target, without recording a call.
func (s *Sim) Instances(t drsorch.Target) []drsorch.RecoveryInstance {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, now := s.peek(t)
	if r == nil {
		return nil
	}
	return r.describeInstances(drsorch.RecoveryInstanceFilter{}, now)
}

// peek returns a target's settled region, nil when it has no state.
func (s *Sim) peek(t drsorch.Target) (*region, time.Time) {
	now := s.tick()
	account, name, err := s.resolve(t)
	if err != nil {
		return nil, now
	}
	r := s.regions[account+"/"+name]
	if r != nil {
		s.settle(r, now)
	}
	return r, now
}

func cloneTags(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
