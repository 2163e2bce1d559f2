package drsorch

import (
	"encoding/json"
	"slices"
	"time"
)

// Execution is one run of a recovery plan, stored with the replaced system's attribute names.
type Execution struct {
	ExecutionID            string          `json:"executionId"`
	PlanID                 string          `json:"planId"`
	PlanName               string          `json:"planName,omitempty"`
	ExecutionType          ExecutionType   `json:"executionType"`
	Status                 ExecutionStatus `json:"status"`
	StartTime              int64           `json:"startTime"`
	EndTime                int64           `json:"endTime,omitempty"`
	InitiatedBy            Principal       `json:"initiatedBy"`
	Waves                  []ExecutionWave `json:"waves"`
	TotalWaves             int             `json:"totalWaves"`
	AccountContext         *AccountContext `json:"accountContext,omitempty"`
	AccountID              string          `json:"accountId,omitempty"`
	StateMachineArn        string          `json:"stateMachineArn,omitempty"`
	ErrorMessage           string          `json:"errorMessage,omitempty"`
	ErrorCode              string          `json:"errorCode,omitempty"`
	LastUpdated            int64           `json:"lastUpdated,omitempty"`
	UpdatedAt              int64           `json:"updatedAt,omitempty"`
	LastPolledTime         int64           `json:"lastPolledTime,omitempty"`
	OutcomeSummary         string          `json:"outcomeSummary,omitempty"`
	OutcomeDetails         *OutcomeDetails `json:"outcomeDetails,omitempty"`
	DRSJobID               string          `json:"drsJobId,omitempty"`
	DRSRegion              string          `json:"drsRegion,omitempty"`
	PausedBeforeWave       *int            `json:"pausedBeforeWave,omitempty"`
	CompletedWaves         int             `json:"completedWaves,omitempty"`
	FailedWaves            int             `json:"failedWaves,omitempty"`
	DurationSeconds        int64           `json:"durationSeconds,omitempty"`
	TerminateJobs          []TerminateJob  `json:"terminateJobs,omitempty"`
	TerminationInitiatedAt int64           `json:"terminationInitiatedAt,omitempty"`
	InstancesTerminated    bool            `json:"instancesTerminated,omitempty"`
	InstancesTerminatedAt  int64           `json:"instancesTerminatedAt,omitempty"`
	// Awaiting says what a registered workflow task token waits for (AwaitWave or AwaitResume).
	Awaiting string `json:"awaiting,omitempty"`
	// RecoveryPoint asks for launches from a point in time or named snapshots.
	RecoveryPoint *RecoveryPoint `json:"recoveryPoint,omitempty"`
	// DrillTTLSeconds asks for a drill's instances to be terminated that long after it ends.
	DrillTTLSeconds int64 `json:"drillTtlSeconds,omitempty"`
	// DrillExpiresAt is when they will be (epoch seconds), set when the drill ends.
	DrillExpiresAt int64           `json:"drillExpiresAt,omitempty"`
	Timeline       []TimelineEvent `json:"timeline,omitempty"`
	Version        int64           `json:"version"`
	// Secrets are persisted by stores but never marshalled to JSON.
	Secrets ExecutionSecrets `json:"-"`
}

// What a registered task token waits for.
const (
	AwaitWave   = "wave"
	AwaitResume = "resume"
)

// ExecutionSecrets are the fields that must never leave the system.
// The json names are the replaced system's attribute names, for stores.
type ExecutionSecrets struct {
	TaskToken           string `json:"taskToken,omitempty"`
	PausedStateSnapshot string `json:"pausedStateSnapshot,omitempty"`
	ExternalID          string `json:"externalId,omitempty"`
	// CallbackNonce is the one-time value the signed resume/cancel links carry.
	CallbackNonce string `json:"callbackNonce,omitempty"`
}

// Empty reports whether no secret is set.
func (s ExecutionSecrets) Empty() bool { return s == ExecutionSecrets{} }

// RecoveryPoint selects the data to launch from: a point in time (the latest
// snapshot at or before it) and/or explicit snapshots per source server.
type RecoveryPoint struct {
	PointInTime string            `json:"pointInTime,omitempty"`
	Snapshots   map[string]string `json:"snapshots,omitempty"`
}

// ExecutionWave is a wave of an execution with its DRS jobs and servers.
type ExecutionWave struct {
	WaveNumber         int            `json:"waveNumber"`
	WaveName           string         `json:"waveName"`
	WaveDescription    string         `json:"waveDescription,omitempty"`
	ProtectionGroupID  string         `json:"protectionGroupId,omitempty"`
	ProtectionGroupIDs []string       `json:"protectionGroupIds,omitempty"`
	ServerIDs          []string       `json:"serverIds"`
	Status             WaveStatus     `json:"status"`
	PauseBeforeWave    bool           `json:"pauseBeforeWave"`
	PauseApproved      bool           `json:"pauseApproved,omitempty"`
	DependsOnWaves     []int          `json:"dependsOnWaves,omitempty"`
	TimeoutSeconds     int64          `json:"timeoutSeconds,omitempty"`
	JobID              string         `json:"jobId,omitempty"`
	Jobs               []WaveJob      `json:"jobs,omitempty"`
	StartTime          int64          `json:"startTime,omitempty"`
	EndTime            int64          `json:"endTime,omitempty"`
	Region             string         `json:"region,omitempty"`
	ServerStatuses     []ServerStatus `json:"serverStatuses,omitempty"`
	StatusMessage      string         `json:"statusMessage,omitempty"`
}

// GroupIDs returns the wave's protection groups without duplicates.
func (w *ExecutionWave) GroupIDs() []string {
	return groupIDs(w.ProtectionGroupID, w.ProtectionGroupIDs)
}

// Server returns the status entry of a source server in this wave.
func (w *ExecutionWave) Server(id string) *ServerStatus {
	for i := range w.ServerStatuses {
		if w.ServerStatuses[i].SourceServerID == id {
			return &w.ServerStatuses[i]
		}
	}
	return nil
}

// JobByIntent returns the job entry with the given intent id.
func (w *ExecutionWave) JobByIntent(intent string) *WaveJob {
	for i := range w.Jobs {
		if w.Jobs[i].IntentID == intent {
			return &w.Jobs[i]
		}
	}
	return nil
}

// JobSubmitting marks a job entry whose StartRecovery call may not have
// returned yet: the intent is recorded, the DRS job id is not.
const JobSubmitting JobStatus = "SUBMITTING"

// WaveJob is one DRS LAUNCH job of a wave (a wave of N servers has ceil(N/100) or more).
type WaveJob struct {
	IntentID      string    `json:"intentId"`
	JobID         string    `json:"jobId,omitempty"`
	Status        JobStatus `json:"status"`
	Region        string    `json:"region"`
	AccountID     string    `json:"accountId,omitempty"`
	ServerIDs     []string  `json:"serverIds"`
	SubmittedAt   int64     `json:"submittedAt"`
	EndTime       int64     `json:"endTime,omitempty"`
	Attempts      int       `json:"attempts,omitempty"`
	LogsFetchedAt int64     `json:"logsFetchedAt,omitempty"`
	Error         string    `json:"error,omitempty"`
}

// InFlight reports whether DRS may still be working on the job (or the call may not have returned).
func (j *WaveJob) InFlight() bool {
	return j.Status == JobSubmitting || j.Status.Active() || j.Status == ""
}

// ServerStatus is one source server of a started wave.
type ServerStatus struct {
	SourceServerID     string       `json:"sourceServerId"`
	ServerName         string       `json:"serverName,omitempty"`
	Hostname           string       `json:"hostname"`
	LaunchStatus       LaunchStatus `json:"launchStatus"`
	JobID              string       `json:"jobId,omitempty"`
	RecoveryInstanceID string       `json:"recoveryInstanceId,omitempty"`
	InstanceID         string       `json:"instanceId"`
	PrivateIP          string       `json:"privateIp"`
	InstanceType       string       `json:"instanceType"`
	InstanceState      string       `json:"instanceState,omitempty"`
	LaunchTime         int64        `json:"launchTime"`
	Region             string       `json:"region,omitempty"`
	// Phase is derived from the server's last job-log event (IN_PROGRESS, LAUNCHING, FAILED, PENDING).
	Phase              string `json:"phase,omitempty"`
	LastEvent          string `json:"lastEvent,omitempty"`
	SubmittedAt        int64  `json:"submittedAt,omitempty"`
	LaunchedAt         int64  `json:"launchedAt,omitempty"`
	Error              string `json:"error,omitempty"`
	RecoverySnapshotID string `json:"recoverySnapshotId,omitempty"`
	// Attempts counts StartRecovery calls refused for this server (conflicts).
	Attempts int `json:"attempts,omitempty"`
}

// TerminateJob is a DRS TERMINATE job started for an execution's recovery instances.
type TerminateJob struct {
	JobID               string    `json:"jobId,omitempty"`
	Region              string    `json:"region"`
	AccountID           string    `json:"accountId,omitempty"`
	Type                string    `json:"type"`
	Status              JobStatus `json:"status"`
	IntentID            string    `json:"intentId,omitempty"`
	RecoveryInstanceIDs []string  `json:"recoveryInstanceIds,omitempty"`
	SubmittedAt         int64     `json:"submittedAt,omitempty"`
}

// TimelineEvent is one entry of an execution's history: a transition or an action, with who and when.
type TimelineEvent struct {
	At     time.Time `json:"at"`
	Type   string    `json:"type"`
	Actor  string    `json:"actor"`
	Wave   *int      `json:"wave,omitempty"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// OutcomeDetails counts waves and servers by outcome (reference §6.3).
type OutcomeDetails struct {
	TotalWaves       int           `json:"totalWaves"`
	WavesCompleted   int           `json:"wavesCompleted"`
	WavesFailed      int           `json:"wavesFailed"`
	WavesCancelled   int           `json:"wavesCancelled"`
	WavesPending     int           `json:"wavesPending"`
	TotalServers     int           `json:"totalServers"`
	ServersLaunched  int           `json:"serversLaunched"`
	ServersFailed    int           `json:"serversFailed"`
	ServersCancelled int           `json:"serversCancelled"`
	ServersPending   int           `json:"serversPending"`
	CompletedWaves   []WaveOutcome `json:"completedWaves"`
	FailedWaves      []WaveOutcome `json:"failedWaves"`
	CancelledWaves   []WaveOutcome `json:"cancelledWaves"`
}

// WaveOutcome summarises one wave in OutcomeDetails.
type WaveOutcome struct {
	Name             string `json:"name"`
	ServersLaunched  int    `json:"serversLaunched"`
	ServersFailed    int    `json:"serversFailed"`
	ServersCancelled int    `json:"serversCancelled"`
}

// Principal is who started an execution. Records of the replaced system may
// hold any JSON value here; non-strings are kept as their JSON text.
type Principal string

// UnmarshalJSON accepts a string or any other JSON value.
func (p *Principal) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*p = Principal(s)
		return nil
	}
	if string(b) == "null" {
		*p = ""
		return nil
	}
	*p = Principal(b)
	return nil
}

// Wave returns the execution wave with the given number.
func (e *Execution) Wave(number int) *ExecutionWave {
	for i := range e.Waves {
		if e.Waves[i].WaveNumber == number {
			return &e.Waves[i]
		}
	}
	return nil
}

// AddEvent appends a timeline entry.
func (e *Execution) AddEvent(ev TimelineEvent) {
	ev.At = ev.At.UTC()
	e.Timeline = append(e.Timeline, ev)
}

// Clone returns a deep copy, so a decision can be retried on a fresh copy.
func (e *Execution) Clone() *Execution {
	b, err := json.Marshal(e)
	if err != nil {
		panic("drsorch: execution does not marshal: " + err.Error())
	}
	var c Execution
	if err := json.Unmarshal(b, &c); err != nil {
		panic("drsorch: execution does not unmarshal: " + err.Error())
	}
	c.Secrets = e.Secrets
	return &c
}

// Target returns where the execution's DRS calls go in a region.
func (e *Execution) Target(region, currentAccount string) Target {
	t := Target{AccountID: currentAccount, Region: region}
	if e.AccountContext == nil || e.AccountContext.AccountID == "" || e.AccountContext.AccountID == currentAccount {
		return t
	}
	t.AccountID = e.AccountContext.AccountID
	role := e.AccountContext.AssumeRoleName
	if role == "" {
		role = DefaultCrossAccountRole
	}
	t.RoleARN = RoleARNFor(t.AccountID, role)
	t.ExternalID = e.Secrets.ExternalID
	return t
}

// WaveIndex returns the position of a wave number in e.Waves, or -1.
func (e *Execution) WaveIndex(number int) int {
	return slices.IndexFunc(e.Waves, func(w ExecutionWave) bool { return w.WaveNumber == number })
}
