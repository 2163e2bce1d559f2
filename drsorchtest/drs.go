package drsorchtest

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/drsorch/drsorch"
)

// DRSSeed is the inventory a DRS implementation under test starts with.
type DRSSeed struct {
	// SourceServers exist in the harness's target (their Region and AccountID
	// may be empty; the harness puts them in its target).
	SourceServers []drsorch.SourceServer
}

// DRSHarness is a DRS implementation under test and the hooks that drive it.
type DRSHarness struct {
	// DRS is the implementation under test.
	DRS drsorch.DRS
	// Target is the account and region the seed's servers live in.
	Target drsorch.Target
	// Advance moves the implementation's time forward.
	Advance func(time.Duration)
	// FailLaunch makes the next launch of a source server fail; nil skips the tests that need it.
	FailLaunch func(sourceServerID string)
}

// SourceServerID returns a DRS-shaped source server id for n: "s-" and 17 hex digits.
func SourceServerID(n int) string { return fmt.Sprintf("s-%017x", n) }

// SourceServers returns n healthy source servers, numbered from 1, with Name tags
// "<prefix>-001"… and hostnames; their ids are SourceServerID(1…n).
func SourceServers(prefix string, n int) []drsorch.SourceServer {
	out := make([]drsorch.SourceServer, n)
	for i := range out {
		name := fmt.Sprintf("%s-%03d", prefix, i+1)
		out[i] = drsorch.SourceServer{
			SourceServerID:   SourceServerID(i + 1),
			Hostname:         name + ".example.internal",
			Tags:             map[string]string{"Name": name, "Tier": prefix},
			ReplicationState: "CONTINUOUS",
			LifecycleState:   "READY_FOR_RECOVERY",
		}
	}
	return out
}

var (
	jobIDPattern      = regexp.MustCompile(`^drsjob-[0-9a-zA-Z]{17}$`)
	instanceIDPattern = regexp.MustCompile(`^i-[0-9a-fA-F]{8,}$`)
)

// maxJobWait is how long any LAUNCH or TERMINATE job of up to 100 servers may take.
const maxJobWait = 30 * time.Minute

// TestDRS is the contract every drsorch.DRS implementation passes: the
// simulator, and the AWS adapter pointed at the simulator's HTTP endpoint.
// newHarness is called once per subtest with the inventory that subtest needs.
// It tests DRS behaviour only: statuses, events, quotas and errors as DRS
// reports them, never timings beyond "a job ends within 30 minutes".
func TestDRS(t *testing.T, newHarness func(t *testing.T, seed DRSSeed) DRSHarness) {
	ctx := context.Background()
	setup := func(t *testing.T, n int) (DRSHarness, []string) {
		t.Helper()
		servers := SourceServers("app", n)
		h := newHarness(t, DRSSeed{SourceServers: servers})
		ids := make([]string, n)
		for i, s := range servers {
			ids[i] = s.SourceServerID
		}
		return h, ids
	}

	t.Run("DescribeSourceServers", func(t *testing.T) {
		h, ids := setup(t, 5)
		tests := []struct {
			name   string
			filter []string
			want   []string
		}{
			{"all", nil, ids},
			{"filtered", []string{ids[1], ids[3]}, []string{ids[1], ids[3]}},
			{"unknown ids are ignored", []string{ids[0], SourceServerID(999)}, []string{ids[0]}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := h.DRS.DescribeSourceServers(ctx, h.Target, drsorch.SourceServerFilter{SourceServerIDs: tt.filter})
				if err != nil {
					t.Fatalf("DescribeSourceServers: %v", err)
				}
				if gotIDs := serverIDs(got); !sameSet(gotIDs, tt.want) {
					t.Fatalf("servers = %v, want %v", gotIDs, tt.want)
				}
				for _, s := range got {
					if s.Tags["Name"] == "" || s.Name() != s.Tags["Name"] {
						t.Errorf("server %s: Name tag lost: %+v", s.SourceServerID, s.Tags)
					}
					if s.ReplicationState != "CONTINUOUS" {
						t.Errorf("server %s: replicationState = %q, want CONTINUOUS", s.SourceServerID, s.ReplicationState)
					}
				}
			})
		}
	})

	t.Run("StartRecovery returns a pending job with its tags", func(t *testing.T) {
		h, ids := setup(t, 3)
		tags := map[string]string{"drsorch:executionId": "exec-1", "drsorch:wave": "0"}
		job := mustStart(t, h, ids, true, tags)
		if !jobIDPattern.MatchString(job.JobID) {
			t.Errorf("jobID = %q, want drsjob- and 17 letters or digits", job.JobID)
		}
		if job.Type != drsorch.JobLaunch {
			t.Errorf("type = %q, want LAUNCH", job.Type)
		}
		if job.Status != drsorch.JobPending {
			t.Errorf("status = %q, want PENDING", job.Status)
		}
		if got := participants(job); !sameSet(got, ids) {
			t.Errorf("participating servers = %v, want %v", got, ids)
		}
		for _, ps := range job.ParticipatingServers {
			if ps.LaunchStatus != drsorch.LaunchPending {
				t.Errorf("server %s launchStatus = %q, want PENDING", ps.SourceServerID, ps.LaunchStatus)
			}
		}
		if !equalTags(job.Tags, tags) {
			t.Errorf("returned tags = %v, want %v", job.Tags, tags)
		}
		got := describeJob(t, h, job.JobID)
		if !equalTags(got.Tags, tags) {
			t.Errorf("described tags = %v, want %v", got.Tags, tags)
		}
		if got.CreationDateTime.IsZero() {
			t.Error("creationDateTime is not set")
		}
	})

	t.Run("LAUNCH job completes with every server launched", func(t *testing.T) {
		h, ids := setup(t, 3)
		job := mustStart(t, h, ids, true, nil)
		done := waitJob(t, h, job.JobID)
		for _, ps := range done.ParticipatingServers {
			if ps.LaunchStatus != drsorch.LaunchLaunched {
				t.Errorf("server %s launchStatus = %q, want LAUNCHED", ps.SourceServerID, ps.LaunchStatus)
			}
		}
		if done.EndDateTime.IsZero() || done.EndDateTime.Before(done.CreationDateTime) {
			t.Errorf("endDateTime = %v, creationDateTime = %v", done.EndDateTime, done.CreationDateTime)
		}
		items := mustLog(t, h, job.JobID)
		checkLogOrder(t, items)
		for _, id := range ids {
			start, end := eventIndex(items, drsorch.EventLaunchStart, id), eventIndex(items, drsorch.EventLaunchEnd, id)
			if end < 0 {
				t.Errorf("no LAUNCH_END for %s in %v", id, events(items))
			}
			if start >= 0 && end >= 0 && start > end {
				t.Errorf("LAUNCH_START after LAUNCH_END for %s", id)
			}
		}
	})

	t.Run("failed launch", func(t *testing.T) {
		h, ids := setup(t, 2)
		if h.FailLaunch == nil {
			t.Skip("the harness cannot make a launch fail")
		}
		h.FailLaunch(ids[0])
		job := mustStart(t, h, ids, true, nil)
		done := waitJob(t, h, job.JobID)
		want := map[string]drsorch.LaunchStatus{ids[0]: drsorch.LaunchFailed, ids[1]: drsorch.LaunchLaunched}
		for _, ps := range done.ParticipatingServers {
			if ps.LaunchStatus != want[ps.SourceServerID] {
				t.Errorf("server %s launchStatus = %q, want %q", ps.SourceServerID, ps.LaunchStatus, want[ps.SourceServerID])
			}
		}
		items := mustLog(t, h, job.JobID)
		checkLogOrder(t, items)
		if eventIndex(items, drsorch.EventLaunchFailed, ids[0]) < 0 {
			t.Errorf("no LAUNCH_FAILED for %s in %v", ids[0], events(items))
		}
		if eventIndex(items, drsorch.EventLaunchEnd, ids[0]) >= 0 {
			t.Errorf("LAUNCH_END for the failed server %s", ids[0])
		}
		inst, err := h.DRS.DescribeRecoveryInstances(ctx, h.Target, drsorch.RecoveryInstanceFilter{SourceServerIDs: []string{ids[0]}})
		if err != nil {
			t.Fatalf("DescribeRecoveryInstances: %v", err)
		}
		for _, in := range inst {
			if in.JobID == job.JobID {
				t.Errorf("failed server %s has recovery instance %s from job %s", ids[0], in.RecoveryInstanceID, job.JobID)
			}
		}
	})

	t.Run("recovery instances after launch", func(t *testing.T) {
		for _, drill := range []bool{true, false} {
			t.Run(fmt.Sprintf("isDrill=%v", drill), func(t *testing.T) {
				h, ids := setup(t, 3)
				job := mustStart(t, h, ids, drill, nil)
				done := waitJob(t, h, job.JobID)
				all := mustInstances(t, h, drsorch.RecoveryInstanceFilter{SourceServerIDs: ids})
				if got := instanceSources(all); !sameSet(got, ids) {
					t.Fatalf("instances for servers %v, want %v", got, ids)
				}
				byServer := map[string]string{}
				for _, ps := range done.ParticipatingServers {
					byServer[ps.SourceServerID] = ps.RecoveryInstanceID
				}
				for _, in := range all {
					if !instanceIDPattern.MatchString(in.RecoveryInstanceID) || !instanceIDPattern.MatchString(in.EC2InstanceID) {
						t.Errorf("instance ids %q / %q are not EC2 ids", in.RecoveryInstanceID, in.EC2InstanceID)
					}
					if in.IsDrill != drill {
						t.Errorf("instance %s isDrill = %v, want %v", in.RecoveryInstanceID, in.IsDrill, drill)
					}
					if in.JobID != job.JobID {
						t.Errorf("instance %s jobID = %q, want %q", in.RecoveryInstanceID, in.JobID, job.JobID)
					}
					if want := byServer[in.SourceServerID]; want != "" && want != in.RecoveryInstanceID {
						t.Errorf("server %s: job names instance %s, DescribeRecoveryInstances %s", in.SourceServerID, want, in.RecoveryInstanceID)
					}
				}
				one := mustInstances(t, h, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: []string{all[0].RecoveryInstanceID}})
				if len(one) != 1 || one[0].RecoveryInstanceID != all[0].RecoveryInstanceID {
					t.Errorf("filter by recovery instance id returned %v", instanceIDs(one))
				}
			})
		}
	})

	t.Run("DescribeJobs by ids ignores unknown ids", func(t *testing.T) {
		h, ids := setup(t, 3)
		var jobs []string
		for _, id := range ids {
			jobs = append(jobs, mustStart(t, h, []string{id}, true, nil).JobID)
		}
		unknown := "drsjob-00000000000000000"
		got, err := h.DRS.DescribeJobs(ctx, h.Target, drsorch.JobFilter{JobIDs: []string{jobs[0], unknown, jobs[2]}})
		if err != nil {
			t.Fatalf("DescribeJobs: %v", err)
		}
		if gotIDs := jobIDs(got); !sameSet(gotIDs, []string{jobs[0], jobs[2]}) {
			t.Errorf("jobs = %v, want %v", gotIDs, []string{jobs[0], jobs[2]})
		}
	})

	t.Run("DescribeJobs fromDate", func(t *testing.T) {
		h, ids := setup(t, 2)
		old := mustStart(t, h, ids[:1], true, nil)
		h.Advance(time.Hour)
		recent := mustStart(t, h, ids[1:], true, nil)
		got, err := h.DRS.DescribeJobs(ctx, h.Target, drsorch.JobFilter{FromDate: recent.CreationDateTime.Add(-time.Minute)})
		if err != nil {
			t.Fatalf("DescribeJobs: %v", err)
		}
		gotIDs := jobIDs(got)
		if !slices.Contains(gotIDs, recent.JobID) || slices.Contains(gotIDs, old.JobID) {
			t.Errorf("jobs from %v = %v, want %s and not %s", recent.CreationDateTime.Add(-time.Minute), gotIDs, recent.JobID, old.JobID)
		}
	})

	t.Run("quotas", func(t *testing.T) {
		t.Run("more than 100 servers in one job", func(t *testing.T) {
			h, ids := setup(t, drsorch.MaxServersPerJob+1)
			_, err := start(h, ids, true, nil)
			wantCode(t, err, drsorch.CodeDRSQuota)
		})
		t.Run("a server already in an active job", func(t *testing.T) {
			h, ids := setup(t, 2)
			mustStart(t, h, ids[:1], true, nil)
			_, err := start(h, ids, true, nil)
			wantCode(t, err, drsorch.CodeDRSConflict)
		})
		t.Run("the 21st concurrent job", func(t *testing.T) {
			h, ids := setup(t, drsorch.MaxConcurrentJobs+1)
			var last drsorch.Job
			for _, id := range ids[:drsorch.MaxConcurrentJobs] {
				last = mustStart(t, h, []string{id}, true, nil)
			}
			_, err := start(h, ids[drsorch.MaxConcurrentJobs:], true, nil)
			wantCode(t, err, drsorch.CodeDRSQuota)
			waitJob(t, h, last.JobID)
			mustStart(t, h, ids[drsorch.MaxConcurrentJobs:], true, nil)
		})
		t.Run("more than 500 servers in active jobs", func(t *testing.T) {
			h, ids := setup(t, drsorch.MaxServersInActiveJobs+1)
			per := drsorch.MaxServersPerJob
			for i := 0; i < drsorch.MaxServersInActiveJobs; i += per {
				mustStart(t, h, ids[i:i+per], true, nil)
			}
			_, err := start(h, ids[drsorch.MaxServersInActiveJobs:], true, nil)
			wantCode(t, err, drsorch.CodeDRSQuota)
		})
	})

	t.Run("API limits", func(t *testing.T) {
		h, _ := setup(t, 1)
		many := func(n int, f func(int) string) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = f(i)
			}
			return out
		}
		tests := []struct {
			name string
			call func() error
		}{
			{"DescribeJobs with 1001 job ids", func() error {
				_, err := h.DRS.DescribeJobs(ctx, h.Target, drsorch.JobFilter{JobIDs: many(drsorch.MaxJobIDsPerDescribe+1, func(i int) string { return fmt.Sprintf("drsjob-%017x", i) })})
				return err
			}},
			{"DescribeSourceServers with 201 ids", func() error {
				_, err := h.DRS.DescribeSourceServers(ctx, h.Target, drsorch.SourceServerFilter{SourceServerIDs: many(drsorch.MaxIDsPerFilter+1, SourceServerID)})
				return err
			}},
			{"DescribeRecoveryInstances with 201 ids", func() error {
				_, err := h.DRS.DescribeRecoveryInstances(ctx, h.Target, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: many(drsorch.MaxIDsPerFilter+1, func(i int) string { return fmt.Sprintf("i-%017x", i) })})
				return err
			}},
			{"TerminateRecoveryInstances with 201 ids", func() error {
				_, err := h.DRS.TerminateRecoveryInstances(ctx, h.Target, many(drsorch.MaxTerminateIDs+1, func(i int) string { return fmt.Sprintf("i-%017x", i) }))
				return err
			}},
			{"StartRecovery without servers", func() error {
				_, err := start(h, nil, true, nil)
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), drsorch.CodeDRSValidation) })
		}
	})

	t.Run("terminate recovery instances", func(t *testing.T) {
		h, ids := setup(t, 2)
		waitJob(t, h, mustStart(t, h, ids, true, nil).JobID)
		inst := instanceIDs(mustInstances(t, h, drsorch.RecoveryInstanceFilter{SourceServerIDs: ids}))
		if len(inst) != len(ids) {
			t.Fatalf("%d recovery instances, want %d", len(inst), len(ids))
		}
		job, err := h.DRS.TerminateRecoveryInstances(ctx, h.Target, inst)
		if err != nil {
			t.Fatalf("TerminateRecoveryInstances: %v", err)
		}
		if job.Type != drsorch.JobTerminate || !jobIDPattern.MatchString(job.JobID) {
			t.Errorf("job = %s %q, want a TERMINATE job", job.JobID, job.Type)
		}
		if got := participants(job); !sameSet(got, ids) {
			t.Errorf("participating servers = %v, want %v", got, ids)
		}
		done := waitJob(t, h, job.JobID)
		for _, ps := range done.ParticipatingServers {
			if ps.LaunchStatus != drsorch.LaunchTerminated {
				t.Errorf("server %s launchStatus = %q, want TERMINATED", ps.SourceServerID, ps.LaunchStatus)
			}
		}
		for _, in := range mustInstances(t, h, drsorch.RecoveryInstanceFilter{RecoveryInstanceIDs: inst}) {
			if in.EC2InstanceState != "TERMINATED" {
				t.Errorf("instance %s still listed as %q after its TERMINATE job", in.RecoveryInstanceID, in.EC2InstanceState)
			}
		}
	})

	t.Run("terminating an instance twice conflicts", func(t *testing.T) {
		h, ids := setup(t, 1)
		waitJob(t, h, mustStart(t, h, ids, true, nil).JobID)
		inst := instanceIDs(mustInstances(t, h, drsorch.RecoveryInstanceFilter{SourceServerIDs: ids}))
		if len(inst) != 1 {
			t.Fatalf("%d recovery instances, want 1", len(inst))
		}
		if _, err := h.DRS.TerminateRecoveryInstances(ctx, h.Target, inst); err != nil {
			t.Fatalf("TerminateRecoveryInstances: %v", err)
		}
		_, err := h.DRS.TerminateRecoveryInstances(ctx, h.Target, inst)
		wantCode(t, err, drsorch.CodeDRSConflict)
	})
}

func start(h DRSHarness, ids []string, drill bool, tags map[string]string) (drsorch.Job, error) {
	in := drsorch.StartRecoveryInput{IsDrill: drill, Tags: tags}
	for _, id := range ids {
		in.SourceServers = append(in.SourceServers, drsorch.StartRecoveryServer{SourceServerID: id})
	}
	return h.DRS.StartRecovery(context.Background(), h.Target, in)
}

func mustStart(t *testing.T, h DRSHarness, ids []string, drill bool, tags map[string]string) drsorch.Job {
	t.Helper()
	job, err := start(h, ids, drill, tags)
	if err != nil {
		t.Fatalf("StartRecovery(%d servers): %v", len(ids), err)
	}
	return job
}

func describeJob(t *testing.T, h DRSHarness, id string) drsorch.Job {
	t.Helper()
	jobs, err := h.DRS.DescribeJobs(context.Background(), h.Target, drsorch.JobFilter{JobIDs: []string{id}})
	if err != nil {
		t.Fatalf("DescribeJobs(%s): %v", id, err)
	}
	if len(jobs) != 1 || jobs[0].JobID != id {
		t.Fatalf("DescribeJobs(%s) = %v", id, jobIDs(jobs))
	}
	return jobs[0]
}

// waitJob advances time a minute at a time until the job completes, checking
// that statuses only move forward, and fails after 30 minutes.
func waitJob(t *testing.T, h DRSHarness, id string) drsorch.Job {
	t.Helper()
	rank := map[drsorch.JobStatus]int{drsorch.JobPending: 0, drsorch.JobStarted: 1, drsorch.JobCompleted: 2}
	prev := describeJob(t, h, id)
	for waited := time.Duration(0); ; waited += time.Minute {
		if prev.Status == drsorch.JobCompleted {
			for _, ps := range prev.ParticipatingServers {
				if !ps.LaunchStatus.Terminal() {
					t.Fatalf("job %s COMPLETED with server %s %s", id, ps.SourceServerID, ps.LaunchStatus)
				}
			}
			return prev
		}
		if waited >= maxJobWait {
			t.Fatalf("job %s still %s after %v", id, prev.Status, maxJobWait)
		}
		h.Advance(time.Minute)
		cur := describeJob(t, h, id)
		if rank[cur.Status] < rank[prev.Status] {
			t.Fatalf("job %s went from %s back to %s", id, prev.Status, cur.Status)
		}
		before := map[string]drsorch.LaunchStatus{}
		for _, ps := range prev.ParticipatingServers {
			before[ps.SourceServerID] = ps.LaunchStatus
		}
		for _, ps := range cur.ParticipatingServers {
			if b := before[ps.SourceServerID]; b.Terminal() && b != ps.LaunchStatus {
				t.Fatalf("server %s went from %s to %s", ps.SourceServerID, b, ps.LaunchStatus)
			}
		}
		prev = cur
	}
}

func mustLog(t *testing.T, h DRSHarness, id string) []drsorch.JobLogItem {
	t.Helper()
	items, err := h.DRS.DescribeJobLogItems(context.Background(), h.Target, id)
	if err != nil {
		t.Fatalf("DescribeJobLogItems(%s): %v", id, err)
	}
	return items
}

// checkLogOrder wants JOB_START first, JOB_END last and times that never go back.
func checkLogOrder(t *testing.T, items []drsorch.JobLogItem) {
	t.Helper()
	ev := events(items)
	if len(items) < 2 || items[0].Event != drsorch.EventJobStart || items[len(items)-1].Event != drsorch.EventJobEnd {
		t.Fatalf("log = %v, want JOB_START … JOB_END", ev)
	}
	for i := 1; i < len(items); i++ {
		if items[i].LogDateTime.Before(items[i-1].LogDateTime) {
			t.Fatalf("log times go back at %d (%s %v after %s %v)", i, items[i].Event, items[i].LogDateTime, items[i-1].Event, items[i-1].LogDateTime)
		}
	}
}

func eventIndex(items []drsorch.JobLogItem, event, server string) int {
	for i, it := range items {
		if it.Event == event && it.EventData.SourceServerID == server {
			return i
		}
	}
	return -1
}

func events(items []drsorch.JobLogItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Event
	}
	return out
}

func mustInstances(t *testing.T, h DRSHarness, f drsorch.RecoveryInstanceFilter) []drsorch.RecoveryInstance {
	t.Helper()
	out, err := h.DRS.DescribeRecoveryInstances(context.Background(), h.Target, f)
	if err != nil {
		t.Fatalf("DescribeRecoveryInstances: %v", err)
	}
	return out
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := drsorch.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %s", err, got, code)
	}
}

func serverIDs(s []drsorch.SourceServer) []string {
	out := make([]string, len(s))
	for i := range s {
		out[i] = s[i].SourceServerID
	}
	return out
}

func jobIDs(jobs []drsorch.Job) []string {
	out := make([]string, len(jobs))
	for i := range jobs {
		out[i] = jobs[i].JobID
	}
	return out
}

func participants(j drsorch.Job) []string {
	out := make([]string, len(j.ParticipatingServers))
	for i, ps := range j.ParticipatingServers {
		out[i] = ps.SourceServerID
	}
	return out
}

func instanceIDs(in []drsorch.RecoveryInstance) []string {
	out := make([]string, len(in))
	for i := range in {
		out[i] = in[i].RecoveryInstanceID
	}
	return out
}

func instanceSources(in []drsorch.RecoveryInstance) []string {
	out := make([]string, len(in))
	for i := range in {
		out[i] = in[i].SourceServerID
	}
	return out
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

func equalTags(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
