// Package simulate runs a recovery plan of any size on the DRS simulator with
// accelerated time and reports how well the engine scheduled it against DRS's
// quotas: makespan against a lower bound, quota use, duplicate launches and
// DRS calls.
package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"syscall"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drssim"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/sqlite"
)

// Options describe a simulation.
type Options struct {
	Servers      int
	Waves        int
	FailRate     float64       // probability that a server's launch fails
	ThrottleRate float64       // probability that any DRS call is throttled
	Seed         int64         // makes ids, failures and throttling repeatable
	PollInterval time.Duration // simulated time between polls (default 15s)
	MaxDuration  time.Duration // give up after this much simulated time (default 7 days)
	Logger       *slog.Logger
}

// Report is the outcome of a simulation. Times are simulated seconds.
type Report struct {
	Servers            int            `json:"servers"`
	Waves              int            `json:"waves"`
	Status             string         `json:"status"`
	OutcomeSummary     string         `json:"outcomeSummary"`
	MakespanSeconds    float64        `json:"makespanSeconds"`
	LowerBoundSeconds  float64        `json:"lowerBoundSeconds"`
	OverLowerBound     float64        `json:"overLowerBound"` // makespan / lower bound - 1
	DRSCalls           map[string]int `json:"drsCalls"`
	PollCycles         int            `json:"pollCycles"`
	DRSCallsPerCycle   float64        `json:"drsCallsPerCycle"`
	Jobs               int            `json:"jobs"`
	MaxConcurrentJobs  int            `json:"maxConcurrentJobs"`
	MaxServersInJobs   int            `json:"maxServersInJobs"`
	QuotaViolations    int            `json:"quotaViolations"`
	QuotaRefusals      int            `json:"quotaRefusals"`
	DuplicateLaunches  int            `json:"duplicateLaunches"`
	ServersLaunched    int            `json:"serversLaunched"`
	ServersFailed      int            `json:"serversFailed"`
	ThrottledCalls     int            `json:"throttledCalls"`
	PeakRSSBytes       int64          `json:"peakRSSBytes"`
	WallSeconds        float64        `json:"wallSeconds"`
	PollIntervalSecond float64        `json:"pollIntervalSeconds"`
}

// Run simulates the plan and returns its report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Servers < 1 || o.Waves < 1 || o.Waves > o.Servers {
		return nil, fmt.Errorf("need at least one server per wave: --servers %d --waves %d", o.Servers, o.Waves)
	}
	if o.FailRate < 0 || o.FailRate > 1 || o.ThrottleRate < 0 || o.ThrottleRate >= 1 {
		return nil, fmt.Errorf("--fail-rate must be in [0,1] and --throttle-rate in [0,1), got %v and %v", o.FailRate, o.ThrottleRate)
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 15 * time.Second
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = 7 * 24 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	wall := time.Now()
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // simulated time: a fixed start makes runs repeatable
	clock := drsorch.NewManualClock(epoch)
	sim := drssim.New(drssim.Options{Clock: clock, Seed: o.Seed, FailRate: o.FailRate, ThrottleRate: o.ThrottleRate, MaxCalls: 1})
	st, err := sqlite.Open(":memory:")
	if err != nil {
		return nil, err
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, DRS: sim, Workflow: noWorkflow{}, Clock: clock, Logger: o.Logger,
		Sleep: func(context.Context, time.Duration) {}})
	if err := seed(ctx, eng, sim, o); err != nil {
		return nil, err
	}
	sim.ResetCalls()
	start := clock.Now()
	res, err := eng.StartExecution(ctx, engine.StartRequest{PlanID: "sim-plan", ExecutionType: string(drsorch.Drill), InitiatedBy: "simulate"})
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	cycles := 0
	x, err := st.GetExecution(ctx, res.ExecutionID)
	if err != nil {
		return nil, err
	}
	// Each poll reports the status it left the execution in, so the record
	// (megabytes at thousands of servers) is read again only at the end.
	for status := x.Status; !status.Terminal(); {
		if clock.Now().Sub(start) > o.MaxDuration {
			return nil, fmt.Errorf("the plan did not finish within %s of simulated time (status %s)", o.MaxDuration, status)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		clock.Advance(o.PollInterval)
		found, err := eng.PollActive(ctx)
		if err != nil {
			return nil, err
		}
		cycles++
		if status, err = polledStatus(ctx, st, found, res.ExecutionID); err != nil {
			return nil, err
		}
	}
	if x, err = st.GetExecution(ctx, res.ExecutionID); err != nil {
		return nil, err
	}
	rep := &Report{Servers: o.Servers, Waves: o.Waves, Status: string(x.Status), OutcomeSummary: x.OutcomeSummary,
		MakespanSeconds: float64(x.EndTime - x.StartTime), DRSCalls: sim.CallCounts(), PollCycles: cycles,
		PollIntervalSecond: o.PollInterval.Seconds()}
	total := 0
	for _, n := range rep.DRSCalls {
		total += n
	}
	if cycles > 0 {
		rep.DRSCallsPerCycle = float64(total) / float64(cycles)
	}
	if x.OutcomeDetails != nil {
		rep.ServersLaunched, rep.ServersFailed = x.OutcomeDetails.ServersLaunched, x.OutcomeDetails.ServersFailed
	}
	errs := sim.ErrorCounts()
	rep.ThrottledCalls = errs[drssim.ThrottlingException]
	rep.QuotaRefusals = errs[drssim.ServiceQuotaExceededException]
	analyse(rep, x, sim.Jobs(drsorch.Target{}))
	rep.PeakRSSBytes = peakRSS()
	rep.WallSeconds = time.Since(wall).Seconds()
	return rep, nil
}

// polledStatus is the status a poll left the execution in, read from the
// store only when the poll did not report it.
func polledStatus(ctx context.Context, st drsorch.Store, res *engine.FindResult, id string) (drsorch.ExecutionStatus, error) {
	for _, r := range res.Results {
		if r.ExecutionID == id && r.Success && r.Status != "" {
			return r.Status, nil
		}
	}
	x, err := st.GetExecution(ctx, id)
	if err != nil {
		return "", err
	}
	return x.Status, nil
}

// seed creates the servers (tagged by wave), one protection group per wave
// selecting by tag, and a plan whose waves run one after the other.
func seed(ctx context.Context, eng *engine.Engine, sim *drssim.Sim, o Options) error {
	plan := &drsorch.RecoveryPlan{PlanID: "sim-plan", PlanName: "simulated plan"}
	n := 0
	for w := 0; w < o.Waves; w++ {
		size := o.Servers / o.Waves
		if w < o.Servers%o.Waves {
			size++
		}
		tag := fmt.Sprintf("wave-%d", w)
		srvs := make([]drsorch.SourceServer, 0, size)
		for i := 0; i < size; i++ {
			srvs = append(srvs, drsorch.SourceServer{SourceServerID: fmt.Sprintf("s-%017d", n), Hostname: fmt.Sprintf("host-%d", n),
				Tags: map[string]string{"Name": fmt.Sprintf("host-%d", n), "Wave": tag}, ReplicationState: "CONTINUOUS", LifecycleState: "READY_FOR_RECOVERY"})
			n++
		}
		if err := sim.AddSourceServers(srvs...); err != nil {
			return err
		}
		g := &drsorch.ProtectionGroup{GroupID: "pg-" + tag, GroupName: tag, Region: "us-east-1", ServerSelectionTags: map[string]string{"Wave": tag}}
		if _, err := eng.SaveGroup(ctx, g, true); err != nil {
			return err
		}
		plan.Waves = append(plan.Waves, drsorch.PlanWave{WaveNumber: w, WaveName: tag, ProtectionGroupID: g.GroupID})
	}
	_, err := eng.SavePlan(ctx, plan, true)
	return err
}

// analyse derives quota use, duplicate launches and the lower bound from the jobs DRS ran.
func analyse(rep *Report, x *drsorch.Execution, jobs []drsorch.Job) {
	type event struct {
		at            time.Time
		jobs, servers int
	}
	var events []event
	launches := map[string]int{}
	byWave := map[string][]drsorch.Job{}
	for _, j := range jobs {
		if j.Type != drsorch.JobLaunch {
			continue
		}
		rep.Jobs++
		end := j.EndDateTime
		if end.IsZero() {
			end = time.Unix(x.EndTime, 0)
		}
		n := len(j.ParticipatingServers)
		events = append(events, event{j.CreationDateTime, 1, n}, event{end, -1, -n})
		for _, p := range j.ParticipatingServers {
			launches[p.SourceServerID]++
		}
		byWave[j.Tags[engine.TagWave]] = append(byWave[j.Tags[engine.TagWave]], j)
	}
	sort.Slice(events, func(a, b int) bool {
		if !events[a].at.Equal(events[b].at) {
			return events[a].at.Before(events[b].at)
		}
		return events[a].jobs < events[b].jobs // ends before starts at the same instant
	})
	var cj, cs int
	for _, e := range events {
		cj += e.jobs
		cs += e.servers
		if e.jobs > 0 && (cj > drsorch.MaxConcurrentJobs || cs > drsorch.MaxServersInActiveJobs) {
			rep.QuotaViolations++
		}
		rep.MaxConcurrentJobs = max(rep.MaxConcurrentJobs, cj)
		rep.MaxServersInJobs = max(rep.MaxServersInJobs, cs)
	}
	for _, n := range launches {
		if n > 1 {
			rep.DuplicateLaunches += n - 1
		}
	}
	for _, js := range byWave {
		rep.LowerBoundSeconds += waveLowerBound(js)
	}
	if rep.LowerBoundSeconds > 0 {
		rep.OverLowerBound = rep.MakespanSeconds/rep.LowerBoundSeconds - 1
	}
}

// waveLowerBound is the shortest time a wave's jobs could take under DRS's
// quotas given their actual durations: at least the longest job, the jobs'
// server-seconds spread over 500 servers, and their job-seconds over 20 slots.
// Waves run one after the other, so the plan's bound is the sum over waves.
func waveLowerBound(jobs []drsorch.Job) float64 {
	var longest, serverSeconds, jobSeconds float64
	for _, j := range jobs {
		d := j.EndDateTime.Sub(j.CreationDateTime).Seconds()
		longest = max(longest, d)
		serverSeconds += d * float64(len(j.ParticipatingServers))
		jobSeconds += d
	}
	return max(longest, serverSeconds/drsorch.MaxServersInActiveJobs, jobSeconds/drsorch.MaxConcurrentJobs)
}

func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // kilobytes on Linux
}

// noWorkflow is the workflow of a simulation: none; the engine advances itself.
type noWorkflow struct{}

func (noWorkflow) Start(context.Context, *drsorch.Execution) (string, error)      { return "", nil }
func (noWorkflow) SendTaskSuccess(context.Context, string, json.RawMessage) error { return nil }
func (noWorkflow) SendTaskFailure(context.Context, string, string, string) error {
	return nil
}
func (noWorkflow) Stop(context.Context, string, string, string) error { return nil }
func (noWorkflow) Describe(context.Context, string) (string, error)   { return "", nil }
