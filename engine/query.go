package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/drsorch/drsorch"
)

// ExecutionView is an execution as responses show it: the stored record
// (never its secrets) with the replaced system's added fields.
type ExecutionView struct {
	drsorch.Execution
	RecoveryPlanName        string              `json:"recoveryPlanName"`
	RecoveryPlanID          string              `json:"recoveryPlanId"`
	RecoveryPlanDescription string              `json:"recoveryPlanDescription,omitempty"`
	TotalWaves              int                 `json:"totalWaves"`
	AccountName             string              `json:"accountName,omitempty"`
	SelectionMode           string              `json:"selectionMode,omitempty"`
	HasActiveDrsJobs        bool                `json:"hasActiveDrsJobs"`
	DataSource              string              `json:"dataSource,omitempty"`
	LastUpdated             int64               `json:"lastUpdated,omitempty"`
	HasRealtimeData         *bool               `json:"hasRealtimeData,omitempty"`
	StepFunctionsStatus     string              `json:"stepFunctionsStatus,omitempty"`
	TerminationMetadata     TerminationMetadata `json:"terminationMetadata"`
}

// viewer enriches executions, caching plan, group and account reads.
type viewer struct {
	e        *Engine
	plans    map[string]*drsorch.RecoveryPlan
	groups   map[string]*drsorch.ProtectionGroup
	accounts map[string]*drsorch.TargetAccount
}

func (e *Engine) newViewer() *viewer {
	return &viewer{e: e, plans: map[string]*drsorch.RecoveryPlan{}, groups: map[string]*drsorch.ProtectionGroup{}, accounts: map[string]*drsorch.TargetAccount{}}
}

// cached reads a record once per viewer; a record that cannot be read is nil.
func cached[T any](m map[string]*T, id string, get func(string) (*T, error)) *T {
	if v, ok := m[id]; ok {
		return v
	}
	v, _ := get(id)
	m[id] = v
	return v
}

func (v *viewer) plan(ctx context.Context, id string) *drsorch.RecoveryPlan {
	return cached(v.plans, id, func(id string) (*drsorch.RecoveryPlan, error) { return v.e.store.GetPlan(ctx, id) })
}

func (v *viewer) group(ctx context.Context, id string) *drsorch.ProtectionGroup {
	return cached(v.groups, id, func(id string) (*drsorch.ProtectionGroup, error) { return v.e.store.GetGroup(ctx, id) })
}

func (v *viewer) account(ctx context.Context, id string) *drsorch.TargetAccount {
	return cached(v.accounts, id, func(id string) (*drsorch.TargetAccount, error) { return v.e.store.GetAccount(ctx, id) })
}

func (v *viewer) view(ctx context.Context, x *drsorch.Execution) ExecutionView {
	normalize(x)
	vw := ExecutionView{Execution: *x, RecoveryPlanID: x.PlanID, TotalWaves: len(x.Waves), TerminationMetadata: terminationMetadata(x)}
	if vw.Waves == nil {
		vw.Waves = []drsorch.ExecutionWave{}
	}
	p := v.plan(ctx, x.PlanID)
	switch {
	case x.PlanName != "":
		vw.RecoveryPlanName = x.PlanName
	case p != nil:
		vw.RecoveryPlanName = p.PlanName
	default:
		vw.RecoveryPlanName = "Deleted Plan"
	}
	if p != nil {
		vw.RecoveryPlanDescription = p.Description
	}
	accountID := x.AccountID
	if accountID == "" && x.AccountContext != nil {
		accountID = x.AccountContext.AccountID
	}
	if a := v.account(ctx, accountID); a != nil {
		vw.AccountName = a.AccountName
	}
	vw.SelectionMode = "PLAN"
	for _, w := range x.Waves {
		for _, gid := range w.GroupIDs() {
			if g := v.group(ctx, gid); g != nil && g.UsesTags() {
				vw.SelectionMode = "TAGS"
			}
		}
	}
	vw.HasActiveDrsJobs = hasInFlightJobs(x)
	return vw
}

// Get returns an execution's details from the store ("cached"). An ARN is accepted as the id.
func (e *Engine) Get(ctx context.Context, id string) (*ExecutionView, error) {
	if strings.HasPrefix(id, "arn:") {
		id = id[strings.LastIndex(id, ":")+1:]
	}
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermViewExecutions, x.ExecutionType); err != nil {
		return nil, err
	}
	v := e.newViewer()
	vw := v.view(ctx, x)
	if p := v.plan(ctx, x.PlanID); p != nil {
		vw.TotalWaves = len(p.Waves)
	}
	vw.DataSource = "cached"
	vw.LastUpdated = x.UpdatedAt
	if vw.LastUpdated == 0 {
		vw.LastUpdated = e.now().Unix()
	}
	rt := x.Status.Active()
	vw.HasRealtimeData = &rt
	return &vw, nil
}

// Realtime polls the execution now, then returns its details ("realtime").
func (e *Engine) Realtime(ctx context.Context, id string) (*ExecutionView, error) {
	if strings.HasPrefix(id, "arn:") {
		id = id[strings.LastIndex(id, ":")+1:]
	}
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermViewExecutions, x.ExecutionType); err != nil {
		return nil, err
	}
	if x.Status.Active() {
		if x, err = e.PollExecution(ctx, id); err != nil {
			return nil, err
		}
	}
	vw := e.newViewer().view(ctx, x)
	vw.DataSource = "realtime"
	vw.LastUpdated = e.now().Unix()
	if x.StateMachineArn != "" && x.Status.Active() {
		if s, err := e.wf.Describe(ctx, x.StateMachineArn); err == nil {
			vw.StepFunctionsStatus = s
		}
	}
	return &vw, nil
}

// ListQuery filters GET /executions.
type ListQuery struct {
	Limit     int
	NextToken string
	AccountID string
	PlanID    string
	Statuses  []drsorch.ExecutionStatus
}

// ListResult is a page of executions.
type ListResult struct {
	Items     []ExecutionView `json:"items"`
	Count     int             `json:"count"`
	NextToken *string         `json:"nextToken"`
}

// List returns executions newest first, limit default 50, at most 100 a page.
func (e *Engine) List(ctx context.Context, q ListQuery) (*ListResult, error) {
	if err := e.authorize(ctx, drsorch.PermViewExecutions, ""); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	q.Limit = min(q.Limit, 100)
	page, err := e.store.ListExecutions(ctx, drsorch.ExecutionQuery{Statuses: q.Statuses, PlanID: q.PlanID,
		AccountID: q.AccountID, Limit: q.Limit, NextToken: q.NextToken})
	if err != nil {
		return nil, err
	}
	v := e.newViewer()
	res := &ListResult{Items: make([]ExecutionView, 0, len(page.Items))}
	for i := range page.Items {
		res.Items = append(res.Items, v.view(ctx, &page.Items[i]))
	}
	res.Count = len(res.Items)
	if page.NextToken != "" {
		res.NextToken = &page.NextToken
	}
	return res, nil
}

// JobLogs is the answer of GET /executions/{id}/job-logs.
type JobLogs struct {
	ExecutionID string       `json:"executionId"`
	JobLogs     []WaveJobLog `json:"jobLogs"`
}

// WaveJobLog is the log of one DRS job of a wave.
type WaveJobLog struct {
	WaveNumber int        `json:"waveNumber"`
	JobID      string     `json:"jobId"`
	Events     []LogEvent `json:"events"`
	Error      string     `json:"error,omitempty"`
}

// LogEvent is one job-log event as responses show it.
type LogEvent struct {
	Event              string               `json:"event"`
	EventData          drsorch.JobEventData `json:"eventData"`
	LogDateTime        string               `json:"logDateTime"`
	SourceServerID     string               `json:"sourceServerId,omitempty"`
	Error              string               `json:"error,omitempty"`
	ConversionServerID string               `json:"conversionServerId,omitempty"`
}

// JobLogs reads the logs of the execution's jobs (all pages), newest event first.
func (e *Engine) JobLogs(ctx context.Context, id, jobID string) (*JobLogs, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermViewExecutions, x.ExecutionType); err != nil {
		return nil, err
	}
	normalize(x)
	res := &JobLogs{ExecutionID: id, JobLogs: []WaveJobLog{}}
	for _, w := range x.Waves {
		for _, j := range w.Jobs {
			if j.JobID == "" || (jobID != "" && j.JobID != jobID) {
				continue
			}
			wl := WaveJobLog{WaveNumber: w.WaveNumber, JobID: j.JobID, Events: []LogEvent{}}
			items, err := e.drs.DescribeJobLogItems(ctx, x.Target(firstNonEmpty(j.Region, w.Region, e.cfg.DefaultRegion), e.cfg.AccountID), j.JobID)
			if err != nil {
				wl.Error = drsorch.AsError(err).Message
			}
			for i := len(items) - 1; i >= 0; i-- { // newest first; ties keep DRS's order reversed
				it := items[i]
				ev := LogEvent{Event: firstNonEmpty(it.Event, "UNKNOWN"), EventData: it.EventData,
					SourceServerID: it.EventData.SourceServerID, Error: it.EventData.RawError, ConversionServerID: it.EventData.ConversionServerID}
				if !it.LogDateTime.IsZero() {
					ev.LogDateTime = it.LogDateTime.UTC().Format("2006-01-02T15:04:05.000Z")
				}
				wl.Events = append(wl.Events, ev)
			}
			sort.SliceStable(wl.Events, func(a, b int) bool { return wl.Events[a].LogDateTime > wl.Events[b].LogDateTime })
			res.JobLogs = append(res.JobLogs, wl)
		}
	}
	return res, nil
}

// Instances is the answer of GET /executions/{id}/recovery-instances.
type Instances struct {
	ExecutionID    string         `json:"executionId"`
	Instances      []InstanceView `json:"instances"`
	TotalInstances int            `json:"totalInstances"`
	Message        string         `json:"message"`
}

// InstanceView is a recovery instance of an execution.
type InstanceView struct {
	InstanceID         string `json:"instanceId"`
	RecoveryInstanceID string `json:"recoveryInstanceId"`
	SourceServerID     string `json:"sourceServerId"`
	Region             string `json:"region"`
	WaveName           string `json:"waveName"`
	WaveNumber         int    `json:"waveNumber"`
	JobID              string `json:"jobId"`
	Status             string `json:"status"`
	ServerName         string `json:"serverName,omitempty"`
	InstanceType       string `json:"instanceType,omitempty"`
	PrivateIP          string `json:"privateIp,omitempty"`
	EC2State           string `json:"ec2State,omitempty"`
	IsDrill            bool   `json:"isDrill"`
}

// RecoveryInstances lists the instances the execution's jobs launched, as DRS sees them now.
func (e *Engine) RecoveryInstances(ctx context.Context, id string) (*Instances, error) {
	x, err := e.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := e.authorize(ctx, drsorch.PermViewExecutions, x.ExecutionType); err != nil {
		return nil, err
	}
	normalize(x)
	res := &Instances{ExecutionID: id, Instances: []InstanceView{}}
	if len(x.Waves) == 0 {
		res.Message = "No waves found in execution"
		return res, nil
	}
	type srv struct {
		wave drsorch.ExecutionWave
		s    drsorch.ServerStatus
	}
	bySource := map[string]srv{}
	ours := map[string]bool{}
	regions := map[string][]string{}
	for _, w := range x.Waves {
		for _, j := range w.Jobs {
			if j.JobID != "" {
				ours[j.JobID] = true
			}
		}
		for _, s := range w.ServerStatuses {
			if s.JobID == "" {
				continue
			}
			bySource[s.SourceServerID] = srv{w, s}
			region := firstNonEmpty(s.Region, w.Region, e.cfg.DefaultRegion)
			regions[region] = append(regions[region], s.SourceServerID)
		}
	}
	for _, region := range sortedKeys(regions) {
		t := x.Target(region, e.cfg.AccountID)
		for _, batch := range chunks(regions[region], drsorch.MaxIDsPerFilter) {
			got, err := e.drs.DescribeRecoveryInstances(ctx, t, drsorch.RecoveryInstanceFilter{SourceServerIDs: batch})
			if err != nil {
				return nil, drsorch.Wrap(drsorch.ErrorCode(err), err, "Could not read recovery instances in %s: %s", region, drsorch.AsError(err).Message)
			}
			for _, ri := range got {
				if ri.JobID != "" && !ours[ri.JobID] {
					continue
				}
				o := bySource[ri.SourceServerID]
				res.Instances = append(res.Instances, InstanceView{
					InstanceID: firstNonEmpty(ri.EC2InstanceID, ri.RecoveryInstanceID), RecoveryInstanceID: ri.RecoveryInstanceID,
					SourceServerID: ri.SourceServerID, Region: region, WaveName: o.wave.WaveName, WaveNumber: o.wave.WaveNumber,
					JobID: ri.JobID, Status: string(drsorch.LaunchLaunched), ServerName: o.s.ServerName,
					InstanceType: ri.InstanceType, PrivateIP: ri.PrivateIP, EC2State: ri.EC2InstanceState, IsDrill: ri.IsDrill,
				})
			}
		}
	}
	res.TotalInstances = len(res.Instances)
	res.Message = "No recovery instances found"
	if res.TotalInstances > 0 {
		res.Message = fmt.Sprintf("Found %d recovery instances", res.TotalInstances)
	}
	return res, nil
}
