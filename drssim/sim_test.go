package drssim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/drssim"
)

var ctx = context.Background()

// harness builds a contract-suite harness over a Sim with a fake clock.
func harness(opts drssim.Options, target drsorch.Target) func(*testing.T, drsorchtest.DRSSeed) drsorchtest.DRSHarness {
	return func(t *testing.T, seed drsorchtest.DRSSeed) drsorchtest.DRSHarness {
		clock := drsorchtest.NewClock(time.Time{})
		o := opts
		o.Clock = clock
		sim := drssim.New(o)
		servers := slices.Clone(seed.SourceServers)
		for i := range servers {
			servers[i].AccountID, servers[i].Region = target.AccountID, target.Region
		}
		if err := sim.AddSourceServers(servers...); err != nil {
			t.Fatalf("AddSourceServers: %v", err)
		}
		return drsorchtest.DRSHarness{DRS: sim, Target: target, Advance: clock.Advance, FailLaunch: sim.FailLaunch}
	}
}

func TestContract(t *testing.T) {
	tests := []struct {
		name   string
		opts   drssim.Options
		target drsorch.Target
	}{
		{"default target", drssim.Options{Seed: 1}, drsorch.Target{}},
		{"explicit target", drssim.Options{Seed: 2}, drsorch.Target{AccountID: "111122223333", Region: "eu-west-1"}},
		{"assumed role", drssim.Options{Seed: 3}, drsorch.Target{AccountID: "222233334444", Region: "us-west-2",
			RoleARN: "arn:aws:iam::222233334444:role/DRSOrchestrationCrossAccountRole", ExternalID: "x"}},
		{"no jitter", drssim.Options{Seed: 4, Timings: drssim.Timings{Jitter: -1}}, drsorch.Target{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			drsorchtest.TestDRS(t, harness(tt.opts, tt.target))
		})
	}
}

// fixture is a sim on a fake clock with n healthy servers in the default target.
type fixture struct {
	sim   *drssim.Sim
	clock *drsorchtest.Clock
	ids   []string
}

func newFixture(t testing.TB, opts drssim.Options, n int) *fixture {
	t.Helper()
	clock := drsorchtest.NewClock(time.Time{})
	opts.Clock = clock
	sim := drssim.New(opts)
	servers := drsorchtest.SourceServers("web", n)
	if err := sim.AddSourceServers(servers...); err != nil {
		t.Fatalf("AddSourceServers: %v", err)
	}
	ids := make([]string, n)
	for i, s := range servers {
		ids[i] = s.SourceServerID
	}
	return &fixture{sim: sim, clock: clock, ids: ids}
}

func startInput(drill bool, ids ...string) drsorch.StartRecoveryInput {
	in := drsorch.StartRecoveryInput{IsDrill: drill}
	for _, id := range ids {
		in.SourceServers = append(in.SourceServers, drsorch.StartRecoveryServer{SourceServerID: id})
	}
	return in
}

func (f *fixture) start(t testing.TB, ids ...string) drsorch.Job {
	t.Helper()
	j, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, ids...))
	if err != nil {
		t.Fatalf("StartRecovery: %v", err)
	}
	return j
}

func (f *fixture) job(t testing.TB, id string) drsorch.Job {
	t.Helper()
	jobs, err := f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{JobIDs: []string{id}})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("DescribeJobs(%s) = %d jobs, %v", id, len(jobs), err)
	}
	return jobs[0]
}

func (f *fixture) log(t testing.TB, id string) []drsorch.JobLogItem {
	t.Helper()
	items, err := f.sim.DescribeJobLogItems(ctx, drsorch.Target{}, id)
	if err != nil {
		t.Fatalf("DescribeJobLogItems: %v", err)
	}
	return items
}

func code(err error) string { return drsorch.ErrorCode(err) }

func awsName(err error) string { return drssim.AWSErrorName(err) }

func TestPhases(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 7, Timings: drssim.Timings{Jitter: -1}}, 1)
	id := f.ids[0]
	j := f.start(t, id)
	// Without jitter: pending 20s, snapshot 3m, conversion 10m, launch 5m.
	steps := []struct {
		at     time.Duration
		job    drsorch.JobStatus
		server drsorch.LaunchStatus
		last   string
	}{
		{0, drsorch.JobPending, drsorch.LaunchPending, ""},
		{19 * time.Second, drsorch.JobPending, drsorch.LaunchPending, ""},
		{20 * time.Second, drsorch.JobStarted, drsorch.LaunchPending, drsorch.EventSnapshotStart},
		{3*time.Minute + 20*time.Second, drsorch.JobStarted, drsorch.LaunchPending, drsorch.EventConversionStart},
		{13*time.Minute + 20*time.Second, drsorch.JobStarted, drsorch.LaunchInProgress, drsorch.EventLaunchStart},
		{18*time.Minute + 19*time.Second, drsorch.JobStarted, drsorch.LaunchInProgress, drsorch.EventLaunchStart},
		{18*time.Minute + 20*time.Second, drsorch.JobCompleted, drsorch.LaunchLaunched, drsorch.EventJobEnd},
	}
	for _, st := range steps {
		t.Run(st.at.String(), func(t *testing.T) {
			f.clock.Set(j.CreationDateTime.Add(st.at))
			got := f.job(t, j.JobID)
			if got.Status != st.job || got.ParticipatingServers[0].LaunchStatus != st.server {
				t.Fatalf("at +%v: job %s server %s, want %s %s", st.at, got.Status, got.ParticipatingServers[0].LaunchStatus, st.job, st.server)
			}
			if n := len(f.sim.Instances(drsorch.Target{})); (n == 1) != (st.job == drsorch.JobCompleted) {
				t.Fatalf("at +%v: %d instances", st.at, n)
			}
			items := f.log(t, j.JobID)
			last := ""
			if len(items) > 0 {
				last = items[len(items)-1].Event
			}
			if last != st.last {
				t.Fatalf("at +%v: last event %q, want %q (log %v)", st.at, last, st.last, events(items))
			}
		})
	}
	if got := f.job(t, j.JobID); !got.EndDateTime.Equal(j.CreationDateTime.Add(18*time.Minute + 20*time.Second)) {
		t.Errorf("endDateTime = %v", got.EndDateTime)
	}
	items := f.log(t, j.JobID)
	want := []string{"JOB_START", "SNAPSHOT_START", "SNAPSHOT_END", "CONVERSION_START", "CONVERSION_END", "LAUNCH_START", "LAUNCH_END", "JOB_END"}
	if got := events(items); !slices.Equal(got, want) {
		t.Fatalf("log = %v, want %v", got, want)
	}
	for _, it := range items {
		switch it.Event {
		case "CONVERSION_START", "CONVERSION_END":
			if !strings.HasPrefix(it.EventData.ConversionServerID, "i-") {
				t.Errorf("%s without conversionServerID", it.Event)
			}
		case "LAUNCH_END":
			if it.EventData.TargetInstanceID != f.job(t, j.JobID).ParticipatingServers[0].RecoveryInstanceID {
				t.Errorf("LAUNCH_END targetInstanceID %q is not the job's recovery instance", it.EventData.TargetInstanceID)
			}
		}
		if it.Event != "JOB_START" && it.Event != "JOB_END" && it.EventData.SourceServerID != id {
			t.Errorf("%s sourceServerID = %q", it.Event, it.EventData.SourceServerID)
		}
	}
	inst := f.sim.Instances(drsorch.Target{})
	if len(inst) != 1 {
		t.Fatalf("instances = %+v", inst)
	}
	in := inst[0]
	if in.RecoveryInstanceID != in.EC2InstanceID || in.EC2InstanceState != "RUNNING" || !in.IsDrill || in.JobID != j.JobID ||
		in.InstanceType == "" || !strings.HasPrefix(in.PrivateIP, "10.") || in.LaunchTime.IsZero() ||
		in.Region != drssim.DefaultRegion || in.AccountID != drssim.DefaultAccount {
		t.Errorf("instance = %+v", in)
	}
}

func TestHundredServersWithin30Minutes(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 11}, 100)
	j := f.start(t, f.ids...)
	f.clock.Advance(30 * time.Minute)
	got := f.job(t, j.JobID)
	if got.Status != drsorch.JobCompleted {
		t.Fatalf("status after 30m = %s", got.Status)
	}
	// Jitter spreads the servers' ends.
	ends := map[time.Time]bool{}
	for _, it := range f.log(t, j.JobID) {
		if it.Event == drsorch.EventLaunchEnd {
			ends[it.LogDateTime] = true
		}
	}
	if len(ends) < 50 {
		t.Errorf("only %d distinct launch end times for 100 servers", len(ends))
	}
	if n := len(f.sim.Instances(drsorch.Target{})); n != 100 {
		t.Errorf("%d instances, want 100", n)
	}
}

func TestUnhealthyServerFails(t *testing.T) {
	tests := []struct {
		name        string
		replication string
		lifecycle   string
	}{
		{"stalled", "STALLED", "READY_FOR_RECOVERY"},
		{"disconnected", "DISCONNECTED", "READY_FOR_RECOVERY"},
		{"stopped lifecycle", "CONTINUOUS", "STOPPED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, drssim.Options{}, 2)
			srv := drsorchtest.SourceServers("web", 1)[0]
			srv.ReplicationState, srv.LifecycleState = tt.replication, tt.lifecycle
			if err := f.sim.AddSourceServers(srv); err != nil {
				t.Fatal(err)
			}
			j := f.start(t, f.ids...)
			f.clock.Advance(30 * time.Minute)
			got := f.job(t, j.JobID)
			if got.ParticipatingServers[0].LaunchStatus != drsorch.LaunchFailed || got.ParticipatingServers[1].LaunchStatus != drsorch.LaunchLaunched {
				t.Fatalf("servers = %+v", got.ParticipatingServers)
			}
			items := f.log(t, j.JobID)
			i := slices.IndexFunc(items, func(it drsorch.JobLogItem) bool { return it.Event == drsorch.EventLaunchFailed })
			if i < 0 || items[i].EventData.SourceServerID != f.ids[0] || items[i].EventData.RawError == "" {
				t.Fatalf("log = %+v", items)
			}
		})
	}
}

func TestRelaunchReplacesInstance(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 5}, 1)
	first := f.start(t, f.ids...)
	f.clock.Advance(30 * time.Minute)
	old := f.sim.Instances(drsorch.Target{})
	second := f.start(t, f.ids...)
	f.clock.Advance(30 * time.Minute)
	now := f.sim.Instances(drsorch.Target{})
	if len(old) != 1 || len(now) != 1 || old[0].RecoveryInstanceID == now[0].RecoveryInstanceID || now[0].JobID != second.JobID {
		t.Fatalf("instances before %+v, after %+v (jobs %s, %s)", old, now, first.JobID, second.JobID)
	}
	ev := events(f.log(t, second.JobID))
	if !slices.Contains(ev, drsorch.EventCleanupStart) || !slices.Contains(ev, drsorch.EventCleanupEnd) {
		t.Errorf("relaunch log %v has no cleanup", ev)
	}
}

func TestPointInTimeSnapshots(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 3}, 2)
	f.clock.Advance(37 * time.Minute)
	now := f.clock.Now()
	all, err := f.sim.DescribeRecoverySnapshots(ctx, drsorch.Target{}, drsorch.SnapshotFilter{SourceServerID: f.ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 144 {
		t.Fatalf("%d snapshots over 24h, want 144", len(all))
	}
	for i, s := range all {
		if s.Timestamp.After(now) || s.Timestamp.Before(now.Add(-24*time.Hour)) || s.SourceServerID != f.ids[0] || !strings.HasPrefix(s.SnapshotID, "pit-") || len(s.SnapshotID) != 21 {
			t.Fatalf("snapshot %d = %+v", i, s)
		}
		if i > 0 && !s.Timestamp.Before(all[i-1].Timestamp) {
			t.Fatalf("snapshots not newest first at %d", i)
		}
	}
	ranged, err := f.sim.DescribeRecoverySnapshots(ctx, drsorch.Target{}, drsorch.SnapshotFilter{
		SourceServerID: f.ids[0], FromDateTime: now.Add(-time.Hour), ToDateTime: now.Add(-30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if len(ranged) != 3 {
		t.Fatalf("%d snapshots between -1h and -30m, want 3: %+v", len(ranged), ranged)
	}
	again, _ := f.sim.DescribeRecoverySnapshots(ctx, drsorch.Target{}, drsorch.SnapshotFilter{SourceServerID: f.ids[0]})
	if again[0].SnapshotID != all[0].SnapshotID {
		t.Error("snapshot ids are not stable")
	}

	tests := []struct {
		name     string
		server   string
		snapshot string
		code     string
	}{
		{"own snapshot", f.ids[0], ranged[1].SnapshotID, ""},
		{"another server's snapshot", f.ids[1], ranged[0].SnapshotID, drsorch.CodeDRSValidation},
		{"malformed", f.ids[1], "pit-nope", drsorch.CodeDRSValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := f.sim.StartRecovery(ctx, drsorch.Target{}, drsorch.StartRecoveryInput{
				SourceServers: []drsorch.StartRecoveryServer{{SourceServerID: tt.server, RecoverySnapshotID: tt.snapshot}}})
			if code(err) != tt.code {
				t.Fatalf("error = %v, want code %q", err, tt.code)
			}
			if err != nil {
				return
			}
			f.clock.Advance(30 * time.Minute)
			ev := events(f.log(t, j.JobID))
			if !slices.Contains(ev, drsorch.EventUsingPreviousSnapshot) || slices.Contains(ev, drsorch.EventSnapshotStart) {
				t.Errorf("log = %v, want USING_PREVIOUS_SNAPSHOT and no SNAPSHOT_START", ev)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 1}, 3)
	tests := []struct {
		name    string
		call    func() error
		code    string
		awsName string
	}{
		{"unknown source server", func() error {
			_, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[0], drsorchtest.SourceServerID(999)))
			return err
		}, drsorch.CodeDRSNotFound, "ResourceNotFoundException"},
		{"duplicate server", func() error {
			_, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[0], f.ids[0]))
			return err
		}, drsorch.CodeDRSValidation, "ValidationException"},
		{"more than 200 servers", func() error {
			ids := make([]string, 201)
			for i := range ids {
				ids[i] = drsorchtest.SourceServerID(i + 1)
			}
			_, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, ids...))
			return err
		}, drsorch.CodeDRSValidation, "ValidationException"},
		{"role of another account", func() error {
			_, err := f.sim.DescribeSourceServers(ctx, drsorch.Target{AccountID: "111122223333", RoleARN: "arn:aws:iam::999988887777:role/R"}, drsorch.SourceServerFilter{})
			return err
		}, drsorch.CodeDRSAccess, "AccessDeniedException"},
		{"malformed role", func() error {
			_, err := f.sim.DescribeJobs(ctx, drsorch.Target{RoleARN: "not-an-arn"}, drsorch.JobFilter{})
			return err
		}, drsorch.CodeDRSAccess, "AccessDeniedException"},
		{"unknown recovery instance", func() error {
			_, err := f.sim.TerminateRecoveryInstances(ctx, drsorch.Target{}, []string{"i-0123456789abcdef0"})
			return err
		}, drsorch.CodeDRSNotFound, "ResourceNotFoundException"},
		{"malformed recovery instance id", func() error {
			_, err := f.sim.TerminateRecoveryInstances(ctx, drsorch.Target{}, []string{"x-1"})
			return err
		}, drsorch.CodeDRSValidation, "ValidationException"},
		{"snapshots without server", func() error {
			_, err := f.sim.DescribeRecoverySnapshots(ctx, drsorch.Target{}, drsorch.SnapshotFilter{})
			return err
		}, drsorch.CodeDRSValidation, "ValidationException"},
		{"recovery instance filter over 200 source servers", func() error {
			ids := make([]string, 201)
			_, err := f.sim.DescribeRecoveryInstances(ctx, drsorch.Target{}, drsorch.RecoveryInstanceFilter{SourceServerIDs: ids})
			return err
		}, drsorch.CodeDRSValidation, "ValidationException"},
		{"cancelled context", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			_, err := f.sim.DescribeJobs(c, drsorch.Target{}, drsorch.JobFilter{})
			return err
		}, drsorch.CodeDRS, "InternalServerException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if code(err) != tt.code || awsName(err) != tt.awsName {
				t.Fatalf("error = %v (code %s, aws %s), want %s %s", err, code(err), awsName(err), tt.code, tt.awsName)
			}
		})
	}
	if jobs := f.sim.Jobs(drsorch.Target{}); len(jobs) != 0 {
		t.Errorf("failed calls created jobs: %v", jobs)
	}
}

func TestUnknownJobLogIsEmpty(t *testing.T) {
	f := newFixture(t, drssim.Options{}, 1)
	items, err := f.sim.DescribeJobLogItems(ctx, drsorch.Target{}, "drsjob-00000000000000000")
	if err != nil || len(items) != 0 {
		t.Fatalf("items = %v, err = %v", items, err)
	}
}

func TestDescribeJobsOrderAndDates(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 9}, 4)
	var jobs []drsorch.Job
	for _, id := range f.ids {
		jobs = append(jobs, f.start(t, id))
		f.clock.Advance(10 * time.Minute)
	}
	all, err := f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{jobs[3].JobID, jobs[2].JobID, jobs[1].JobID, jobs[0].JobID}
	if got := jobIDsOf(all); !slices.Equal(got, want) {
		t.Errorf("order = %v, want newest first %v", got, want)
	}
	ranged, _ := f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{FromDate: jobs[1].CreationDateTime, ToDate: jobs[2].CreationDateTime})
	if got := jobIDsOf(ranged); !slices.Equal(got, want[1:3]) {
		t.Errorf("range = %v, want %v", got, want[1:3])
	}
}

func TestFaults(t *testing.T) {
	for _, name := range drssim.ErrorNames {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, drssim.Options{}, 2)
			if err := f.sim.AddFault(drssim.Fault{API: drssim.APIStartRecovery, Error: name, Times: 2}); err != nil {
				t.Fatal(err)
			}
			for i := range 2 {
				_, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[0]))
				if awsName(err) != name || code(err) != drssim.ErrorCode(name) || !drsorch.IsDRSCode(code(err)) {
					t.Fatalf("call %d: error = %v, want %s", i, err, name)
				}
			}
			f.start(t, f.ids[0])
			if calls := f.sim.Calls(); len(calls) != 3 || calls[0].Error != name || calls[2].Error != "" {
				t.Errorf("calls = %+v", calls)
			}
		})
	}
	t.Run("limited to one server", func(t *testing.T) {
		f := newFixture(t, drssim.Options{}, 3)
		if err := f.sim.AddFault(drssim.Fault{API: drssim.APIStartRecovery, Error: "ConflictException", SourceServerID: f.ids[2]}); err != nil {
			t.Fatal(err)
		}
		f.start(t, f.ids[0])
		_, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[1], f.ids[2]))
		if code(err) != drsorch.CodeDRSConflict {
			t.Fatalf("error = %v", err)
		}
		f.start(t, f.ids[1], f.ids[2])
		if len(f.sim.Faults()) != 0 {
			t.Errorf("faults left: %+v", f.sim.Faults())
		}
	})
	t.Run("a describe of all servers involves every server", func(t *testing.T) {
		f := newFixture(t, drssim.Options{}, 3)
		if err := f.sim.AddFault(drssim.Fault{API: drssim.APIDescribeSourceServers, Error: "InternalServerException", SourceServerID: f.ids[1]}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sim.DescribeSourceServers(ctx, drsorch.Target{}, drsorch.SourceServerFilter{SourceServerIDs: f.ids[:1]}); err != nil {
			t.Fatalf("describe of another server: %v", err)
		}
		if _, err := f.sim.DescribeSourceServers(ctx, drsorch.Target{}, drsorch.SourceServerFilter{}); code(err) != drsorch.CodeDRSInternal {
			t.Fatalf("describe of all: %v", err)
		}
	})
	t.Run("other APIs are not affected", func(t *testing.T) {
		f := newFixture(t, drssim.Options{}, 1)
		if err := f.sim.AddFault(drssim.Fault{API: drssim.APIDescribeJobs, Error: "ThrottlingException"}); err != nil {
			t.Fatal(err)
		}
		f.start(t, f.ids[0])
		if _, err := f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{}); code(err) != drsorch.CodeDRSThrottled || !drsorch.Transient(err) {
			t.Fatalf("error = %v", err)
		}
		if _, err := f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{}); err != nil {
			t.Fatalf("second call: %v", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		sim := drssim.New(drssim.Options{})
		for _, ft := range []drssim.Fault{{API: "Nope", Error: "ThrottlingException"}, {API: "DescribeJobs", Error: "Boom"}, {API: "DescribeJobs", Error: "ThrottlingException", Times: -1}} {
			if err := sim.AddFault(ft); err == nil {
				t.Errorf("AddFault(%+v) accepted", ft)
			}
		}
	})
}

func TestFailLaunchIsConsumed(t *testing.T) {
	f := newFixture(t, drssim.Options{}, 1)
	f.sim.FailLaunch(f.ids[0])
	j1 := f.start(t, f.ids[0])
	f.clock.Advance(30 * time.Minute)
	j2 := f.start(t, f.ids[0])
	f.clock.Advance(30 * time.Minute)
	if s := f.job(t, j1.JobID).ParticipatingServers[0].LaunchStatus; s != drsorch.LaunchFailed {
		t.Errorf("first launch %s, want FAILED", s)
	}
	if s := f.job(t, j2.JobID).ParticipatingServers[0].LaunchStatus; s != drsorch.LaunchLaunched {
		t.Errorf("second launch %s, want LAUNCHED", s)
	}
}

func TestRates(t *testing.T) {
	t.Run("FailRate", func(t *testing.T) {
		tests := []struct {
			rate     float64
			min, max int
		}{{0, 0, 0}, {1, 100, 100}, {0.5, 30, 70}}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.rate), func(t *testing.T) {
				f := newFixture(t, drssim.Options{Seed: 42, FailRate: tt.rate}, 100)
				j := f.start(t, f.ids...)
				f.clock.Advance(30 * time.Minute)
				failed := 0
				for _, ps := range f.job(t, j.JobID).ParticipatingServers {
					if ps.LaunchStatus == drsorch.LaunchFailed {
						failed++
					}
				}
				if failed < tt.min || failed > tt.max {
					t.Errorf("%d of 100 failed, want %d..%d", failed, tt.min, tt.max)
				}
				if n := len(f.sim.Instances(drsorch.Target{})); n != 100-failed {
					t.Errorf("%d instances for %d launched servers", n, 100-failed)
				}
			})
		}
	})
	t.Run("ThrottleRate", func(t *testing.T) {
		tests := []struct {
			rate     float64
			min, max int
		}{{0, 0, 0}, {1, 200, 200}, {0.3, 30, 90}}
		for _, tt := range tests {
			t.Run(fmt.Sprint(tt.rate), func(t *testing.T) {
				f := newFixture(t, drssim.Options{Seed: 42, ThrottleRate: tt.rate}, 1)
				throttled := 0
				for range 200 {
					if _, err := f.sim.DescribeSourceServers(ctx, drsorch.Target{}, drsorch.SourceServerFilter{}); err != nil {
						if code(err) != drsorch.CodeDRSThrottled || awsName(err) != "ThrottlingException" {
							t.Fatalf("error = %v", err)
						}
						throttled++
					}
				}
				if throttled < tt.min || throttled > tt.max {
					t.Errorf("%d of 200 throttled, want %d..%d", throttled, tt.min, tt.max)
				}
			})
		}
	})
}

// scenario runs a fixed sequence of calls and returns everything observable.
func scenario(t *testing.T, seed int64) string {
	t.Helper()
	f := newFixture(t, drssim.Options{Seed: seed, FailRate: 0.3, ThrottleRate: 0.2}, 10)
	var out []any
	for i := range 5 {
		j, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(i%2 == 0, f.ids[2*i:2*i+2]...))
		out = append(out, j, drsorch.ErrorCode(err))
		f.clock.Advance(7 * time.Minute)
	}
	f.clock.Advance(30 * time.Minute)
	out = append(out, f.sim.Jobs(drsorch.Target{}), f.sim.Instances(drsorch.Target{}))
	for _, j := range f.sim.Jobs(drsorch.Target{}) {
		out = append(out, f.sim.JobLog(drsorch.Target{}, j.JobID))
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeterminism(t *testing.T) {
	a, b, c := scenario(t, 1), scenario(t, 1), scenario(t, 2)
	if a != b {
		t.Error("two runs with seed 1 differ")
	}
	if a == c {
		t.Error("seeds 1 and 2 give the same run")
	}
}

func TestTargetsAreIsolated(t *testing.T) {
	f := newFixture(t, drssim.Options{}, 1)
	other := drsorch.Target{AccountID: "999988887777", Region: "ap-southeast-2"}
	srv := drsorchtest.SourceServers("db", 1)[0]
	srv.AccountID, srv.Region = other.AccountID, other.Region
	if err := f.sim.AddSourceServers(srv); err != nil {
		t.Fatal(err)
	}
	f.start(t, f.ids[0]) // the same id in the default target
	if _, err := f.sim.StartRecovery(ctx, other, startInput(false, srv.SourceServerID)); err != nil {
		t.Fatalf("same server id in another account: %v", err)
	}
	if n := len(f.sim.Jobs(other)); n != 1 {
		t.Errorf("%d jobs in the other target", n)
	}
	for _, tg := range []drsorch.Target{{}, {AccountID: drssim.DefaultAccount}, {Region: drssim.DefaultRegion}} {
		if n := len(f.sim.Jobs(tg)); n != 1 {
			t.Errorf("target %+v: %d jobs, want the default target's 1", tg, n)
		}
	}
	// A role's account is the account when the target names none.
	roleOnly := drsorch.Target{Region: other.Region, RoleARN: "arn:aws:iam::" + other.AccountID + ":role/R"}
	servers, err := f.sim.DescribeSourceServers(ctx, roleOnly, drsorch.SourceServerFilter{})
	if err != nil || len(servers) != 1 || servers[0].AccountID != other.AccountID {
		t.Errorf("role-only target: %v, %v", servers, err)
	}
	calls := f.sim.Calls()
	if last := calls[len(calls)-1]; last.Account != other.AccountID || last.Region != other.Region {
		t.Errorf("last call recorded as %s/%s", last.Account, last.Region)
	}
}

func TestLimits(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		f := newFixture(t, drssim.Options{Limits: drssim.Limits{MaxServersPerJob: -1, MaxConcurrentJobs: -1, MaxServersInActiveJobs: -1}}, 1000)
		f.start(t, f.ids[:200]...)
		for i := 200; i < 1000; i += 10 {
			f.start(t, f.ids[i:i+10]...)
		}
		if n := len(f.sim.Jobs(drsorch.Target{})); n != 81 {
			t.Errorf("%d jobs, want 81", n)
		}
	})
	t.Run("lowered", func(t *testing.T) {
		f := newFixture(t, drssim.Options{Limits: drssim.Limits{MaxServersPerJob: 2, MaxConcurrentJobs: 2, MaxServersInActiveJobs: 3}}, 6)
		if _, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[:3]...)); code(err) != drsorch.CodeDRSQuota {
			t.Fatalf("3 servers: %v", err)
		}
		f.start(t, f.ids[:2]...)
		if _, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[2:4]...)); code(err) != drsorch.CodeDRSQuota {
			t.Fatalf("4 servers in active jobs: %v", err)
		}
		f.start(t, f.ids[2])
		if _, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, f.ids[3])); code(err) != drsorch.CodeDRSQuota {
			t.Fatalf("third job: %v", err)
		}
		f.clock.Advance(30 * time.Minute)
		f.start(t, f.ids[3:5]...)
	})
}

func TestTerminate(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 8}, 3)
	f.start(t, f.ids...)
	f.clock.Advance(30 * time.Minute)
	inst := f.sim.Instances(drsorch.Target{})
	ids := []string{inst[0].RecoveryInstanceID, inst[1].RecoveryInstanceID, inst[0].RecoveryInstanceID}
	j, err := f.sim.TerminateRecoveryInstances(ctx, drsorch.Target{}, ids)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != drsorch.JobPending || j.InitiatedBy != "TERMINATE_RECOVERY_INSTANCES" || len(j.ParticipatingServers) != 2 {
		t.Fatalf("job = %+v", j)
	}
	for _, ps := range j.ParticipatingServers {
		if ps.RecoveryInstanceID == "" || ps.LaunchStatus != drsorch.LaunchPending {
			t.Errorf("participant %+v", ps)
		}
	}
	// The source server of an instance being terminated cannot be launched.
	if _, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, inst[0].SourceServerID)); code(err) != drsorch.CodeDRSConflict {
		t.Errorf("launch during terminate: %v", err)
	}
	f.clock.Advance(time.Minute)
	mid, _ := f.sim.DescribeRecoveryInstances(ctx, drsorch.Target{}, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: ids[:1]})
	if len(mid) != 1 || mid[0].EC2InstanceState != "SHUTTING-DOWN" {
		t.Errorf("during terminate: %+v", mid)
	}
	if got := f.job(t, j.JobID); got.Status != drsorch.JobStarted || got.ParticipatingServers[0].LaunchStatus != drsorch.LaunchInProgress {
		t.Errorf("during terminate: job %+v", got)
	}
	f.clock.Advance(drssim.DefaultTimings().Terminate)
	done := f.job(t, j.JobID)
	if done.Status != drsorch.JobCompleted || done.ParticipatingServers[0].LaunchStatus != drsorch.LaunchTerminated {
		t.Errorf("after terminate: %+v", done)
	}
	left := f.sim.Instances(drsorch.Target{})
	if len(left) != 1 || left[0].RecoveryInstanceID != inst[2].RecoveryInstanceID {
		t.Errorf("instances left: %+v", left)
	}
	if ev := events(f.log(t, j.JobID)); !slices.Equal(ev, []string{"JOB_START", "JOB_END"}) {
		t.Errorf("terminate log %v", ev)
	}
	if _, err := f.sim.TerminateRecoveryInstances(ctx, drsorch.Target{}, ids[:1]); code(err) != drsorch.CodeDRSNotFound {
		t.Errorf("terminating a removed instance: %v", err)
	}
}

const fixtureJSON = `{
  "sourceServers": [{"sourceServerID":"s-1111111111111111a","hostname":"db1","region":"us-east-1",
                     "tags":{"Name":"db1"},"replicationState":"CONTINUOUS","lifecycleState":"READY_FOR_RECOVERY"},
                    {"sourceServerID":"s-2222222222222222b","hostname":"app1"},
                    {"sourceServerID":"s-3333333333333333c","hostname":"far","region":"eu-west-1","accountId":"222222222222"}],
  "jobs": [{"jobID":"drsjob-11111111111111111","type":"LAUNCH","status":"COMPLETED",
            "creationDateTime":"2025-12-31T20:00:00Z","endDateTime":"2025-12-31T20:20:00Z",
            "tags":{"drsorch:executionId":"e-1"},
            "participatingServers":[{"sourceServerID":"s-1111111111111111a","launchStatus":"LAUNCHED",
                                     "recoveryInstanceID":"i-0123456789abcdef0"}],
            "logItems":[{"event":"JOB_START","logDateTime":"2025-12-31T20:00:20Z"},{"event":"JOB_END","logDateTime":"2025-12-31T20:20:00Z"}]},
           {"jobID":"drsjob-2222222222222222b","status":"STARTED",
            "participatingServers":[{"sourceServerID":"s-2222222222222222b"}]}],
  "recoveryInstances": [{"recoveryInstanceID":"i-0123456789abcdef0","ec2InstanceID":"i-0123456789abcdef0",
                         "sourceServerID":"s-1111111111111111a","jobID":"drsjob-11111111111111111",
                         "isDrill":true,"ec2InstanceState":"RUNNING"}],
  "faults": [{"api":"StartRecovery","error":"ThrottlingException","times":2}],
  "timings": {"snapshot":"1m","conversion":"2m","launch":90,"jitter":-1}
}`

func TestFixtureLoad(t *testing.T) {
	fx, err := drssim.ParseFixture([]byte(fixtureJSON))
	if err != nil {
		t.Fatal(err)
	}
	clock := drsorchtest.NewClock(time.Time{})
	sim := drssim.New(drssim.Options{Clock: clock})
	if err := sim.Load(fx); err != nil {
		t.Fatalf("Load: %v", err)
	}
	def := drsorch.Target{}
	if n := len(sim.SourceServers(def)); n != 2 {
		t.Errorf("%d servers in the default target, want 2", n)
	}
	if n := len(sim.SourceServers(drsorch.Target{AccountID: "222222222222", Region: "eu-west-1"})); n != 1 {
		t.Errorf("%d servers in 222222222222/eu-west-1, want 1", n)
	}
	jobs := sim.Jobs(def)
	if len(jobs) != 2 || jobs[0].JobID != "drsjob-2222222222222222b" || jobs[0].Status != drsorch.JobStarted ||
		jobs[1].Status != drsorch.JobCompleted || jobs[1].Tags["drsorch:executionId"] != "e-1" ||
		jobs[1].Region != "us-east-1" || jobs[1].AccountID != drssim.DefaultAccount {
		t.Fatalf("jobs = %+v", jobs)
	}
	items, err := sim.DescribeJobLogItems(ctx, def, "drsjob-11111111111111111")
	if err != nil || len(items) != 2 {
		t.Errorf("static log = %v, %v", items, err)
	}
	if inst := sim.Instances(def); len(inst) != 1 || !inst[0].IsDrill {
		t.Errorf("instances = %+v", inst)
	}
	// The static STARTED job holds its server and stays STARTED.
	clock.Advance(24 * time.Hour)
	if got := sim.Jobs(def)[0]; got.Status != drsorch.JobStarted {
		t.Errorf("static job became %s", got.Status)
	}
	for i := range 3 {
		_, err := sim.StartRecovery(ctx, def, startInput(true, "s-2222222222222222b"))
		want := map[int]string{0: drsorch.CodeDRSThrottled, 1: drsorch.CodeDRSThrottled, 2: drsorch.CodeDRSConflict}[i]
		if code(err) != want {
			t.Errorf("call %d: %v, want %s", i, err, want)
		}
	}
	j, err := sim.StartRecovery(ctx, def, startInput(true, "s-1111111111111111a"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(20*time.Second + 1*time.Minute + 1*time.Minute + 2*time.Minute + 90*time.Second)
	if got := sim.Jobs(def)[0]; got.JobID != j.JobID || got.Status != drsorch.JobCompleted {
		t.Errorf("with the fixture's timings the job is %s", got.Status)
	}
	if tm := sim.Timings(); tm.Snapshot != time.Minute || tm.Launch != 90*time.Second || tm.Pending != 20*time.Second {
		t.Errorf("timings = %+v", tm)
	}
}

func TestFixtureErrors(t *testing.T) {
	tests := []struct {
		name  string
		json  string
		field string
	}{
		{"server id", `{"sourceServers":[{"sourceServerID":"s-1"}]}`, "drs.sourceServers[0].sourceServerID"},
		{"duplicate server", `{"sourceServers":[{"sourceServerID":"s-1111111111111111a"},{"sourceServerID":"s-1111111111111111a"}]}`, "drs.sourceServers[1].sourceServerID"},
		{"job id", `{"jobs":[{"jobID":"job-1"}]}`, "drs.jobs[0].jobID"},
		{"job type", `{"jobs":[{"jobID":"drsjob-11111111111111111","type":"FLY"}]}`, "drs.jobs[0].type"},
		{"job status", `{"jobs":[{"jobID":"drsjob-11111111111111111","status":"RUNNING"}]}`, "drs.jobs[0].status"},
		{"participant id", `{"jobs":[{"jobID":"drsjob-11111111111111111","participatingServers":[{"sourceServerID":"x"}]}]}`, "drs.jobs[0].participatingServers[0].sourceServerID"},
		{"launch status", `{"jobs":[{"jobID":"drsjob-11111111111111111","participatingServers":[{"sourceServerID":"s-1111111111111111a","launchStatus":"DONE"}]}]}`, "drs.jobs[0].participatingServers[0].launchStatus"},
		{"instance id", `{"recoveryInstances":[{"recoveryInstanceID":"vm-1"}]}`, "drs.recoveryInstances[0].recoveryInstanceID"},
		{"instance state", `{"recoveryInstances":[{"recoveryInstanceID":"i-0123456789abcdef0","ec2InstanceState":"ON"}]}`, "drs.recoveryInstances[0].ec2InstanceState"},
		{"fault api", `{"faults":[{"api":"Launch","error":"ThrottlingException"}]}`, "drs.faults[0].api"},
		{"fault error", `{"faults":[{"api":"StartRecovery","error":"Oops"}]}`, "drs.faults[0].error"},
		{"timings", `{"timings":{"snapshot":"soon"}}`, "timings.snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := drssim.New(drssim.Options{})
			fx, err := drssim.ParseFixture([]byte(tt.json))
			if err == nil {
				err = sim.Load(fx)
			}
			if err == nil || !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error = %v, want one naming %s", err, tt.field)
			}
			if n := len(sim.SourceServers(drsorch.Target{})); n != 0 {
				t.Errorf("a bad fixture loaded %d servers", n)
			}
		})
	}
	t.Run("existing job", func(t *testing.T) {
		sim := drssim.New(drssim.Options{})
		fx := drssim.Fixture{Jobs: []drssim.FixtureJob{{Job: drsorch.Job{JobID: "drsjob-11111111111111111"}}}}
		if err := sim.Load(fx); err != nil {
			t.Fatal(err)
		}
		if err := sim.Load(fx); err == nil || !strings.Contains(err.Error(), "drs.jobs[0].jobID") {
			t.Fatalf("second load: %v", err)
		}
	})
}

func TestTimingsJSON(t *testing.T) {
	tm := drssim.DefaultTimings()
	b, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"snapshot":"3m0s"`) {
		t.Errorf("json = %s", b)
	}
	var back drssim.Timings
	if err := json.Unmarshal(b, &back); err != nil || back != tm {
		t.Errorf("round trip = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"launch":"-1m"}`), &back); err == nil {
		t.Error("negative duration accepted")
	}
}

func TestSnapshotRestore(t *testing.T) {
	run := func(sim *drssim.Sim, clock *drsorchtest.Clock, ids []string) string {
		var out []any
		j, err := sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, ids...))
		out = append(out, j, code(err))
		clock.Advance(30 * time.Minute)
		out = append(out, sim.Jobs(drsorch.Target{}), sim.Instances(drsorch.Target{}))
		b, _ := json.Marshal(out)
		return string(b)
	}
	f := newFixture(t, drssim.Options{Seed: 77, FailRate: 0.5}, 6)
	if err := f.sim.AddFault(drssim.Fault{API: drssim.APIDescribeJobs, Error: "InternalServerException", Times: 3}); err != nil {
		t.Fatal(err)
	}
	inflight := f.start(t, f.ids[:3]...)
	f.clock.Advance(5 * time.Minute)
	data, err := f.sim.Snapshot()
	if err != nil {
		t.Fatal(err)
	}

	clock2 := drsorchtest.NewClock(f.clock.Now())
	restored := drssim.New(drssim.Options{Clock: clock2, FailRate: 0.5})
	if err := restored.Restore(data); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if got, want := restored.Jobs(drsorch.Target{}), f.sim.Jobs(drsorch.Target{}); !jsonEqual(got, want) {
		t.Fatalf("restored jobs %+v, want %+v", got, want)
	}
	if len(restored.Faults()) != 1 {
		t.Errorf("faults after restore: %+v", restored.Faults())
	}
	// Both continue identically: same ids, same failures, same completion.
	a := run(f.sim, f.clock, f.ids[3:])
	b := run(restored, clock2, f.ids[3:])
	if a != b {
		t.Errorf("original and restored sims diverge:\n%s\n%s", a, b)
	}
	if got := restored.Jobs(drsorch.Target{}); got[1].JobID != inflight.JobID || got[1].Status != drsorch.JobCompleted {
		t.Errorf("in-flight job after restore: %+v", got[1])
	}
	if err := restored.Restore([]byte(`{"version":99}`)); err == nil {
		t.Error("restored a state of an unknown version")
	}
}

func TestStatePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "drs.json")
	clock := drsorchtest.NewClock(time.Time{})
	opts := drssim.Options{Clock: clock, Seed: 5, StatePath: path}
	sim := drssim.New(opts)
	if err := sim.AddSourceServers(drsorchtest.SourceServers("web", 2)...); err != nil {
		t.Fatal(err)
	}
	j, err := sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, drsorchtest.SourceServerID(1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Err(); err != nil {
		t.Fatalf("save: %v", err)
	}
	clock.Advance(time.Minute)

	// A restart finds the in-flight job and lets it finish.
	again, err := drssim.Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	jobs := again.Jobs(drsorch.Target{})
	if len(jobs) != 1 || jobs[0].JobID != j.JobID || jobs[0].Status != drsorch.JobStarted {
		t.Fatalf("after restart: %+v", jobs)
	}
	if _, err := again.StartRecovery(ctx, drsorch.Target{}, startInput(true, drsorchtest.SourceServerID(1))); code(err) != drsorch.CodeDRSConflict {
		t.Errorf("the restarted sim forgot the active job: %v", err)
	}
	clock.Advance(30 * time.Minute)
	if n := len(again.Instances(drsorch.Target{})); n != 1 {
		t.Errorf("%d instances after the job ends", n)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d files, want only the state", len(entries))
	}
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := drssim.Open(opts); err == nil {
		t.Error("Open accepted a corrupt state file")
	}
}

func TestCallLog(t *testing.T) {
	f := newFixture(t, drssim.Options{}, 2)
	in := startInput(true, f.ids...)
	in.Tags = map[string]string{"k": "v"}
	j, err := f.sim.StartRecovery(ctx, drsorch.Target{}, in)
	if err != nil {
		t.Fatal(err)
	}
	f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{JobIDs: []string{j.JobID}})
	f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{JobIDs: make([]string, 1001)})
	f.sim.TerminateRecoveryInstances(ctx, drsorch.Target{}, []string{"i-0123456789abcdef0"})
	calls := f.sim.Calls()
	if len(calls) != 4 {
		t.Fatalf("%d calls", len(calls))
	}
	b, err := json.Marshal(calls)
	if err != nil {
		t.Fatal(err)
	}
	var decoded []map[string]any
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	first := decoded[0]
	input := first["input"].(map[string]any)
	if first["api"] != "StartRecovery" || first["region"] != drssim.DefaultRegion || first["account"] != drssim.DefaultAccount ||
		input["isDrill"] != true || len(input["sourceServers"].([]any)) != 2 || first["error"] != "" || first["at"] == nil {
		t.Errorf("first call = %s", b)
	}
	if ids := decoded[1]["input"].(map[string]any)["filters"].(map[string]any)["jobIDs"].([]any); len(ids) != 1 || ids[0] != j.JobID {
		t.Errorf("DescribeJobs input = %v", decoded[1]["input"])
	}
	if decoded[2]["error"] != "ValidationException" || decoded[3]["error"] != "ResourceNotFoundException" {
		t.Errorf("errors = %v, %v", decoded[2]["error"], decoded[3]["error"])
	}
	if _, ok := decoded[3]["input"].(map[string]any)["recoveryInstanceIDs"]; !ok {
		t.Errorf("terminate input = %v", decoded[3]["input"])
	}
	counts := f.sim.CallCounts()
	if counts["DescribeJobs"] != 2 || counts["StartRecovery"] != 1 || counts["TerminateRecoveryInstances"] != 1 {
		t.Errorf("counts = %v", counts)
	}
	f.sim.ResetCalls()
	if len(f.sim.Calls()) != 0 || len(f.sim.CallCounts()) != 0 {
		t.Error("ResetCalls kept calls")
	}
}

func TestMaxCalls(t *testing.T) {
	sim := drssim.New(drssim.Options{MaxCalls: 5})
	for range 23 {
		sim.DescribeSourceServers(ctx, drsorch.Target{}, drsorch.SourceServerFilter{})
	}
	if n := len(sim.Calls()); n != 5 {
		t.Errorf("%d calls kept, want 5", n)
	}
	if n := sim.CallCounts()[drssim.APIDescribeSourceServers]; n != 23 {
		t.Errorf("count %d, want 23", n)
	}
}

func TestConcurrentUse(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 1}, 40)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				id := f.ids[g*5+i]
				if _, err := f.sim.StartRecovery(ctx, drsorch.Target{}, startInput(true, id)); err != nil && code(err) != drsorch.CodeDRSQuota {
					t.Errorf("StartRecovery: %v", err)
				}
				f.sim.DescribeJobs(ctx, drsorch.Target{}, drsorch.JobFilter{})
				f.sim.DescribeRecoveryInstances(ctx, drsorch.Target{}, drsorch.RecoveryInstanceFilter{})
				f.clock.Advance(time.Minute)
			}
		})
	}
	wg.Wait()
	if n := len(f.sim.Jobs(drsorch.Target{})); n < 20 || n > 40 {
		t.Errorf("%d jobs", n)
	}
}

func TestJitterSpread(t *testing.T) {
	f := newFixture(t, drssim.Options{Seed: 3}, 100)
	j := f.start(t, f.ids...)
	f.clock.Advance(time.Hour)
	var first, last time.Time
	for _, it := range f.log(t, j.JobID) {
		if it.Event == drsorch.EventLaunchEnd {
			if first.IsZero() || it.LogDateTime.Before(first) {
				first = it.LogDateTime
			}
			if it.LogDateTime.After(last) {
				last = it.LogDateTime
			}
		}
	}
	tm := drssim.DefaultTimings()
	total := float64(tm.Snapshot + tm.Conversion + tm.Launch)
	lo, hi := first.Sub(j.CreationDateTime)-tm.Pending, last.Sub(j.CreationDateTime)-tm.Pending
	if float64(lo) < 0.8*total || float64(hi) > 1.2*total || math.Abs(float64(hi-lo)) < 0.1*total {
		t.Errorf("launch ends spread over %v..%v for a nominal %v", lo, hi, time.Duration(total))
	}
}

func events(items []drsorch.JobLogItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Event
	}
	return out
}

func jobIDsOf(jobs []drsorch.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.JobID
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
