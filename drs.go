package drsorch

import (
	"context"
	"time"
)

// DRS quotas and API limits.
const (
	MaxServersPerJob       = 100  // source servers in one LAUNCH job
	MaxConcurrentJobs      = 20   // PENDING or STARTED jobs per account and region
	MaxServersInActiveJobs = 500  // servers across active jobs per account and region
	MaxJobIDsPerDescribe   = 1000 // job ids in one DescribeJobs filter
	MaxIDsPerFilter        = 200  // ids in one DescribeSourceServers/DescribeRecoveryInstances filter
	MaxTerminateIDs        = 200  // recovery instances in one TerminateRecoveryInstances call
)

// DRS is Elastic Disaster Recovery in one account and region at a time. Every
// Describe call returns all pages. Failures are *Error with a DRS_* code.
type DRS interface {
	StartRecovery(ctx context.Context, t Target, in StartRecoveryInput) (Job, error)
	DescribeJobs(ctx context.Context, t Target, f JobFilter) ([]Job, error)
	DescribeJobLogItems(ctx context.Context, t Target, jobID string) ([]JobLogItem, error)
	DescribeRecoveryInstances(ctx context.Context, t Target, f RecoveryInstanceFilter) ([]RecoveryInstance, error)
	DescribeSourceServers(ctx context.Context, t Target, f SourceServerFilter) ([]SourceServer, error)
	DescribeRecoverySnapshots(ctx context.Context, t Target, f SnapshotFilter) ([]RecoverySnapshot, error)
	TerminateRecoveryInstances(ctx context.Context, t Target, recoveryInstanceIDs []string) (Job, error)
}

// StartRecoveryInput is a StartRecovery request.
type StartRecoveryInput struct {
	SourceServers []StartRecoveryServer `json:"sourceServers"`
	IsDrill       bool                  `json:"isDrill"`
	Tags          map[string]string     `json:"tags,omitempty"`
}

// StartRecoveryServer is one server of a StartRecovery request.
type StartRecoveryServer struct {
	SourceServerID     string `json:"sourceServerID"`
	RecoverySnapshotID string `json:"recoverySnapshotID,omitempty"`
}

// JobFilter selects jobs; empty JobIDs means all jobs.
type JobFilter struct {
	JobIDs   []string  `json:"jobIDs,omitempty"`
	FromDate time.Time `json:"fromDate,omitzero"`
	ToDate   time.Time `json:"toDate,omitzero"`
}

// RecoveryInstanceFilter selects recovery instances; empty means all.
type RecoveryInstanceFilter struct {
	RecoveryInstanceIDs []string `json:"recoveryInstanceIDs,omitempty"`
	SourceServerIDs     []string `json:"sourceServerIDs,omitempty"`
}

// SourceServerFilter selects source servers; empty means all.
type SourceServerFilter struct {
	SourceServerIDs []string `json:"sourceServerIDs,omitempty"`
}

// SnapshotFilter selects the recovery snapshots of one source server in a time range.
type SnapshotFilter struct {
	SourceServerID string    `json:"sourceServerID"`
	FromDateTime   time.Time `json:"fromDateTime,omitzero"`
	ToDateTime     time.Time `json:"toDateTime,omitzero"`
}

// Job is a DRS job.
type Job struct {
	JobID                string                `json:"jobID"`
	Type                 JobType               `json:"type"`
	Status               JobStatus             `json:"status"`
	InitiatedBy          string                `json:"initiatedBy,omitempty"`
	CreationDateTime     time.Time             `json:"creationDateTime,omitzero"`
	EndDateTime          time.Time             `json:"endDateTime,omitzero"`
	ParticipatingServers []ParticipatingServer `json:"participatingServers"`
	Tags                 map[string]string     `json:"tags,omitempty"`
	Region               string                `json:"region,omitempty"`
	AccountID            string                `json:"accountId,omitempty"`
}

// ParticipatingServer is a server's state in a job.
type ParticipatingServer struct {
	SourceServerID     string       `json:"sourceServerID"`
	LaunchStatus       LaunchStatus `json:"launchStatus"`
	RecoveryInstanceID string       `json:"recoveryInstanceID,omitempty"`
}

// Job log events drsorch reads.
const (
	EventJobStart              = "JOB_START"
	EventServerSkipped         = "SERVER_SKIPPED"
	EventCleanupStart          = "CLEANUP_START"
	EventCleanupEnd            = "CLEANUP_END"
	EventSnapshotStart         = "SNAPSHOT_START"
	EventSnapshotEnd           = "SNAPSHOT_END"
	EventUsingPreviousSnapshot = "USING_PREVIOUS_SNAPSHOT"
	EventConversionStart       = "CONVERSION_START"
	EventConversionEnd         = "CONVERSION_END"
	EventLaunchStart           = "LAUNCH_START"
	EventLaunchEnd             = "LAUNCH_END"
	EventLaunchFailed          = "LAUNCH_FAILED"
	EventJobEnd                = "JOB_END"
)

// JobLogItem is one event of a job's log.
type JobLogItem struct {
	Event       string       `json:"event"`
	EventData   JobEventData `json:"eventData"`
	LogDateTime time.Time    `json:"logDateTime,omitzero"`
}

// JobEventData is the data of a job-log event.
type JobEventData struct {
	SourceServerID     string `json:"sourceServerID,omitempty"`
	ConversionServerID string `json:"conversionServerID,omitempty"`
	TargetInstanceID   string `json:"targetInstanceID,omitempty"`
	RawError           string `json:"rawError,omitempty"`
}

// RecoveryInstance is an EC2 instance DRS launched, enriched with EC2's view of it.
type RecoveryInstance struct {
	RecoveryInstanceID string    `json:"recoveryInstanceID"`
	EC2InstanceID      string    `json:"ec2InstanceID"`
	EC2InstanceState   string    `json:"ec2InstanceState,omitempty"`
	SourceServerID     string    `json:"sourceServerID"`
	JobID              string    `json:"jobID,omitempty"`
	IsDrill            bool      `json:"isDrill"`
	InstanceType       string    `json:"instanceType,omitempty"`
	PrivateIP          string    `json:"privateIp,omitempty"`
	LaunchTime         time.Time `json:"launchTime,omitzero"`
	Region             string    `json:"region,omitempty"`
	AccountID          string    `json:"accountId,omitempty"`
}

// EC2 instance states of a recovery instance that drsorch reads.
const (
	EC2Running    = "RUNNING"
	EC2Terminated = "TERMINATED"
	EC2NotFound   = "NOT_FOUND"
)

// Replication states DRS reports that make a server unfit to recover.
var UnhealthyReplicationStates = []string{"DISCONNECTED", "STOPPED", "STALLED", "NOT_STARTED"}

// SourceServer is a server DRS replicates.
type SourceServer struct {
	SourceServerID   string            `json:"sourceServerID"`
	Hostname         string            `json:"hostname,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	ReplicationState string            `json:"replicationState,omitempty"`
	LifecycleState   string            `json:"lifecycleState,omitempty"`
	SourceInstanceID string            `json:"sourceInstanceID,omitempty"`
	IPAddress        string            `json:"ipAddress,omitempty"`
	Region           string            `json:"region,omitempty"`
	AccountID        string            `json:"accountId,omitempty"`
}

// Name returns the server's Name tag, else its hostname, else its id.
func (s *SourceServer) Name() string {
	if n := s.Tags["Name"]; n != "" {
		return n
	}
	if s.Hostname != "" {
		return s.Hostname
	}
	return s.SourceServerID
}

// RecoverySnapshot is a point-in-time snapshot of a source server.
type RecoverySnapshot struct {
	SnapshotID        string    `json:"snapshotID"`
	SourceServerID    string    `json:"sourceServerID"`
	Timestamp         time.Time `json:"timestamp"`
	ExpectedTimestamp time.Time `json:"expectedTimestamp,omitzero"`
}
