package drssim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/drsorch/drsorch"
)

// Fixture is the "drs" object of a fixtures file (see INTERFACES.md): an
// inventory, jobs and recovery instances to start from, scripted faults and
// phase timings. Every field is optional except the ids. Region and accountId
// default to the Sim's defaults.
type Fixture struct {
	SourceServers     []drsorch.SourceServer     `json:"sourceServers,omitempty"`
	Jobs              []FixtureJob               `json:"jobs,omitempty"`
	RecoveryInstances []drsorch.RecoveryInstance `json:"recoveryInstances,omitempty"`
	Faults            []Fault                    `json:"faults,omitempty"`
	Timings           *Timings                   `json:"timings,omitempty"`
}

// FixtureJob is a job given in fixtures. It is static: it keeps the status and
// servers given, and while its status is PENDING or STARTED it holds its servers
// and counts toward the quotas. Status defaults to COMPLETED, type to LAUNCH,
// creationDateTime to the time of loading, and a server's launchStatus to
// LAUNCHED in a completed job and PENDING otherwise.
type FixtureJob struct {
	drsorch.Job
	LogItems []drsorch.JobLogItem `json:"logItems,omitempty"`
}

// ParseFixture decodes the "drs" object of a fixtures file.
func ParseFixture(data []byte) (Fixture, error) {
	var f Fixture
	if err := json.Unmarshal(data, &f); err != nil {
		return Fixture{}, fmt.Errorf("drs fixture: %w", err)
	}
	return f, nil
}

var (
	jobTypes      = []drsorch.JobType{drsorch.JobLaunch, drsorch.JobTerminate, "CREATE_CONVERTED_SNAPSHOT"}
	jobStatuses   = []drsorch.JobStatus{drsorch.JobPending, drsorch.JobStarted, drsorch.JobCompleted}
	launchValues  = []drsorch.LaunchStatus{drsorch.LaunchPending, drsorch.LaunchInProgress, drsorch.LaunchLaunched, drsorch.LaunchFailed, drsorch.LaunchTerminated}
	ec2States     = []string{"PENDING", "RUNNING", "STOPPING", "STOPPED", "SHUTTING-DOWN", "TERMINATED", "NOT_FOUND"}
	fixturePrefix = "drs."
)

// Load adds a fixture to the state: source servers (replacing those with the
// same id), static jobs, recovery instances (replacing those with the same id),
// faults and timings. Nothing is loaded when any entry is invalid; the error
// names the bad field, e.g. "drs.jobs[0].jobID".
func (s *Sim) Load(f Fixture) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.tick()
	if err := s.checkFixture(&f); err != nil {
		return err
	}
	for _, srv := range f.SourceServers {
		s.putServer(srv)
	}
	for _, ri := range f.RecoveryInstances {
		if ri.Region == "" {
			ri.Region = s.defRegion
		}
		if ri.AccountID == "" {
			ri.AccountID = s.defAccount
		}
		if ri.EC2InstanceID == "" {
			ri.EC2InstanceID = ri.RecoveryInstanceID
		}
		if ri.EC2InstanceState == "" {
			ri.EC2InstanceState = drsorch.EC2Running
		}
		if ri.InstanceType == "" {
			ri.InstanceType = instanceTypeFor(ri.SourceServerID)
		}
		s.region(ri.AccountID, ri.Region).addInstance(&instance{RecoveryInstance: ri})
	}
	for _, fj := range f.Jobs {
		v := fj.Job
		if v.Region == "" {
			v.Region = s.defRegion
		}
		if v.AccountID == "" {
			v.AccountID = s.defAccount
		}
		if v.Type == "" {
			v.Type = drsorch.JobLaunch
		}
		if v.Status == "" {
			v.Status = drsorch.JobCompleted
		}
		if v.CreationDateTime.IsZero() {
			v.CreationDateTime = now
		}
		v.CreationDateTime = v.CreationDateTime.UTC()
		if v.ParticipatingServers == nil {
			v.ParticipatingServers = []drsorch.ParticipatingServer{}
		}
		v.ParticipatingServers = slices.Clone(v.ParticipatingServers)
		for i := range v.ParticipatingServers {
			ps := &v.ParticipatingServers[i]
			if ps.LaunchStatus == "" {
				ps.LaunchStatus = drsorch.LaunchPending
				if v.Status == drsorch.JobCompleted {
					ps.LaunchStatus = drsorch.LaunchLaunched
				}
			}
		}
		v.Tags = cloneTags(v.Tags)
		s.seq++
		s.region(v.AccountID, v.Region).addJob(&job{
			ID: v.JobID, Type: v.Type, InitiatedBy: v.InitiatedBy, Created: v.CreationDateTime, Seq: s.seq,
			Tags: v.Tags, Static: &v, StaticLog: slices.Clone(fj.LogItems),
		})
	}
	for _, ft := range f.Faults {
		if ft.Times == 0 {
			ft.Times = 1
		}
		s.faults = append(s.faults, ft)
	}
	if f.Timings != nil {
		s.timings = s.timings.merge(*f.Timings)
	}
	s.changed()
	s.persist()
	return nil
}

// checkFixture validates a fixture against itself and the current state.
func (s *Sim) checkFixture(f *Fixture) error {
	key := func(account, region string) string {
		if account == "" {
			account = s.defAccount
		}
		if region == "" {
			region = s.defRegion
		}
		return account + "/" + region
	}
	seen := map[string]string{}
	dup := func(kind, k, field string) error {
		if first, ok := seen[kind+k]; ok {
			return fieldErr(field, "duplicates %s", first)
		}
		seen[kind+k] = field
		return nil
	}
	for i, srv := range f.SourceServers {
		field := fmt.Sprintf("%ssourceServers[%d]", fixturePrefix, i)
		if !drsorch.ValidSourceServerID(srv.SourceServerID) {
			return fieldErr(field+".sourceServerID", "%q is not a source server id (s- and 17 letters or digits)", srv.SourceServerID)
		}
		if err := dup("s", key(srv.AccountID, srv.Region)+"/"+srv.SourceServerID, field+".sourceServerID"); err != nil {
			return err
		}
	}
	for i, fj := range f.Jobs {
		field := fmt.Sprintf("%sjobs[%d]", fixturePrefix, i)
		if !drsorch.ValidJobID(fj.JobID) {
			return fieldErr(field+".jobID", "%q is not a job id (drsjob- and 17 letters or digits)", fj.JobID)
		}
		k := key(fj.AccountID, fj.Region)
		if err := dup("j", k+"/"+fj.JobID, field+".jobID"); err != nil {
			return err
		}
		if r := s.regions[k]; r != nil && r.jobs[fj.JobID] != nil {
			return fieldErr(field+".jobID", "job %s already exists", fj.JobID)
		}
		if fj.Type != "" && !slices.Contains(jobTypes, fj.Type) {
			return fieldErr(field+".type", "%q is not a job type (LAUNCH, TERMINATE, CREATE_CONVERTED_SNAPSHOT)", fj.Type)
		}
		if fj.Status != "" && !slices.Contains(jobStatuses, fj.Status) {
			return fieldErr(field+".status", "%q is not a job status (PENDING, STARTED, COMPLETED)", fj.Status)
		}
		for k, ps := range fj.ParticipatingServers {
			pf := fmt.Sprintf("%s.participatingServers[%d]", field, k)
			if !drsorch.ValidSourceServerID(ps.SourceServerID) {
				return fieldErr(pf+".sourceServerID", "%q is not a source server id", ps.SourceServerID)
			}
			if ps.LaunchStatus != "" && !slices.Contains(launchValues, ps.LaunchStatus) {
				return fieldErr(pf+".launchStatus", "%q is not a launch status (PENDING, IN_PROGRESS, LAUNCHED, FAILED, TERMINATED)", ps.LaunchStatus)
			}
			if ps.RecoveryInstanceID != "" && !drsorch.ValidInstanceID(ps.RecoveryInstanceID) {
				return fieldErr(pf+".recoveryInstanceID", "%q is not a recovery instance id (i- and 8 to 17 hex digits)", ps.RecoveryInstanceID)
			}
		}
		if !fj.EndDateTime.IsZero() && !fj.CreationDateTime.IsZero() && fj.EndDateTime.Before(fj.CreationDateTime) {
			return fieldErr(field+".endDateTime", "is before creationDateTime")
		}
		for k, it := range fj.LogItems {
			if it.Event == "" {
				return fieldErr(fmt.Sprintf("%s.logItems[%d].event", field, k), "must not be empty")
			}
		}
	}
	for i, ri := range f.RecoveryInstances {
		field := fmt.Sprintf("%srecoveryInstances[%d]", fixturePrefix, i)
		if !drsorch.ValidInstanceID(ri.RecoveryInstanceID) {
			return fieldErr(field+".recoveryInstanceID", "%q is not a recovery instance id (i- and 8 to 17 hex digits)", ri.RecoveryInstanceID)
		}
		if err := dup("i", key(ri.AccountID, ri.Region)+"/"+ri.RecoveryInstanceID, field+".recoveryInstanceID"); err != nil {
			return err
		}
		if ri.EC2InstanceID != "" && !drsorch.ValidInstanceID(ri.EC2InstanceID) {
			return fieldErr(field+".ec2InstanceID", "%q is not an EC2 instance id", ri.EC2InstanceID)
		}
		if ri.SourceServerID != "" && !drsorch.ValidSourceServerID(ri.SourceServerID) {
			return fieldErr(field+".sourceServerID", "%q is not a source server id", ri.SourceServerID)
		}
		if ri.JobID != "" && !drsorch.ValidJobID(ri.JobID) {
			return fieldErr(field+".jobID", "%q is not a job id", ri.JobID)
		}
		if ri.EC2InstanceState != "" && !slices.Contains(ec2States, ri.EC2InstanceState) {
			return fieldErr(field+".ec2InstanceState", "%q is not an EC2 instance state", ri.EC2InstanceState)
		}
	}
	for i, ft := range f.Faults {
		if err := ft.validate(fmt.Sprintf("%sfaults[%d]", fixturePrefix, i)); err != nil {
			return err
		}
	}
	if f.Timings != nil {
		t := *f.Timings
		for _, d := range []struct {
			name string
			v    time.Duration
		}{{"pending", t.Pending}, {"cleanup", t.Cleanup}, {"snapshot", t.Snapshot},
			{"conversion", t.Conversion}, {"launch", t.Launch}, {"terminate", t.Terminate}} {
			if d.v < 0 {
				return fieldErr(fixturePrefix+"timings."+d.name, "must not be negative")
			}
		}
	}
	return nil
}
