package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
)

// StartRequest is the body of POST /executions (and the start_execution operation).
type StartRequest struct {
	PlanID         string                  `json:"planId"`
	ExecutionType  string                  `json:"executionType"`
	InitiatedBy    string                  `json:"initiatedBy"`
	AccountContext *drsorch.AccountContext `json:"accountContext,omitempty"`
	// RecoveryPoint launches from a point in time or named snapshots instead of the latest data.
	RecoveryPoint *drsorch.RecoveryPoint `json:"recoveryPoint,omitempty"`
	// DrillTTLSeconds terminates a drill's instances that long after it ends.
	DrillTTLSeconds int64 `json:"drillTtlSeconds,omitempty"`
}

// StartResult is the 202 answer to a start.
type StartResult struct {
	ExecutionID string                  `json:"executionId"`
	Status      drsorch.ExecutionStatus `json:"status"`
	Message     string                  `json:"message"`
	StatusURL   string                  `json:"statusUrl"`
}

var allowedTypes = []string{string(drsorch.Drill), string(drsorch.Recovery)}

// StartExecution validates a start in the replaced system's order, checks
// conflicts and DRS limits, records the execution as PENDING (one active
// execution per plan, by a conditional write) and hands it to the workflow.
func (e *Engine) StartExecution(ctx context.Context, req StartRequest) (*StartResult, error) {
	// A caller who may not start this type (or, when the type is not given
	// yet, any type) is refused before the body is validated.
	if t, ok := drsorch.ParseExecutionType(req.ExecutionType); ok {
		if err := e.authorize(ctx, startPermission(t), t); err != nil {
			return nil, err
		}
	} else if err := e.authorize(ctx, drsorch.PermStartDrill, drsorch.Drill); err != nil &&
		e.authorize(ctx, drsorch.PermStartRecovery, drsorch.Recovery) != nil {
		return nil, err
	}
	switch {
	case strings.TrimSpace(req.PlanID) == "":
		return nil, drsorch.Errorf(drsorch.CodeMissingParameter, "planId is required - specify which Recovery Plan to execute").
			WithDetails(map[string]any{"parameter": "planId"})
	case strings.TrimSpace(req.ExecutionType) == "":
		return nil, drsorch.Errorf(drsorch.CodeMissingParameter, "executionType is required - must be DRILL or RECOVERY").
			WithDetails(map[string]any{"parameter": "executionType", "allowedValues": allowedTypes})
	case strings.TrimSpace(req.InitiatedBy) == "":
		return nil, drsorch.Errorf(drsorch.CodeMissingParameter, "initiatedBy is required - identify who/what started this execution").
			WithDetails(map[string]any{"parameter": "initiatedBy"})
	}
	typ, ok := drsorch.ParseExecutionType(req.ExecutionType)
	if !ok {
		return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "executionType must be DRILL or RECOVERY, got: %s", req.ExecutionType).
			WithDetails(map[string]any{"parameter": "executionType", "providedValue": req.ExecutionType, "allowedValues": allowedTypes})
	}
	if req.DrillTTLSeconds < 0 || (req.DrillTTLSeconds > 0 && typ != drsorch.Drill) {
		return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "drillTtlSeconds must be a positive number of seconds and only applies to a DRILL").
			WithDetails(map[string]any{"parameter": "drillTtlSeconds"})
	}
	if err := checkRecoveryPoint(req.RecoveryPoint); err != nil {
		return nil, err
	}
	plan, err := e.store.GetPlan(ctx, req.PlanID)
	if drsorch.IsCode(err, drsorch.CodeNotFound) {
		return nil, drsorch.Errorf(drsorch.CodeNotFound, "Recovery Plan with ID %s not found", req.PlanID).
			WithDetails(map[string]any{"planId": req.PlanID})
	}
	if err != nil {
		return nil, err
	}
	if len(plan.Waves) == 0 {
		return nil, drsorch.Errorf(drsorch.CodeInvalidState, "Recovery Plan %q has no waves configured - add at least one wave before executing",
			firstNonEmpty(plan.PlanName, plan.PlanID)).WithDetails(map[string]any{"planId": plan.PlanID, "planName": plan.PlanName})
	}
	ac, externalID, err := e.accountContextFor(ctx, plan)
	if err != nil {
		return nil, err
	}
	if req.AccountContext != nil && req.AccountContext.AccountID != "" && req.AccountContext.AccountID != ac.AccountID {
		return nil, drsorch.Errorf(drsorch.CodeInvalidParameter, "accountContext.accountId %s does not match the plan's account %s",
			req.AccountContext.AccountID, ac.AccountID).WithDetails(map[string]any{"parameter": "accountContext.accountId"})
	}
	now := e.now()
	x := &drsorch.Execution{
		ExecutionID: e.cfg.NewID(), PlanID: plan.PlanID, PlanName: firstNonEmpty(plan.PlanName, "Unknown"),
		ExecutionType: typ, Status: drsorch.ExecutionPending, StartTime: now.Unix(),
		InitiatedBy: drsorch.Principal(req.InitiatedBy), TotalWaves: len(plan.Waves), AccountContext: ac,
		AccountID: ac.AccountID, RecoveryPoint: req.RecoveryPoint,
		Secrets: drsorch.ExecutionSecrets{ExternalID: externalID},
	}
	if c := drsorch.CallerFrom(ctx); !c.System && c.Name() != "unknown" {
		x.InitiatedBy = drsorch.Principal(c.Name())
	}
	x.DrillTTLSeconds = req.DrillTTLSeconds
	for _, pw := range plan.Waves {
		x.Waves = append(x.Waves, drsorch.ExecutionWave{
			WaveNumber: pw.WaveNumber, WaveName: firstNonEmpty(pw.WaveName, fmt.Sprintf("Wave %d", pw.WaveNumber+1)),
			WaveDescription: pw.WaveDescription, ProtectionGroupID: pw.ProtectionGroupID,
			ProtectionGroupIDs: pw.ProtectionGroupIDs, ServerIDs: append([]string{}, pw.ServerIDs...), Status: drsorch.WavePending,
			PauseBeforeWave: pw.PauseBeforeWave, DependsOnWaves: pw.DependsOnWaves, TimeoutSeconds: pw.TimeoutSeconds,
		})
	}
	normalize(x)
	if err := e.preflight(ctx, x, plan); err != nil {
		return nil, err
	}
	x.AddEvent(drsorch.TimelineEvent{At: now, Type: "created", Actor: actor(ctx), To: string(drsorch.ExecutionPending),
		Detail: fmt.Sprintf("%s of plan %s requested by %s", typ, plan.PlanID, x.InitiatedBy)})
	if err := e.store.CreateExecution(ctx, x); err != nil {
		if drsorch.IsCode(err, drsorch.CodeAlreadyExists) {
			return nil, drsorch.Errorf(drsorch.CodeAlreadyExists, "Another execution of this Recovery Plan is in progress. Please wait and try again.").
				WithDetails(map[string]any{"planId": plan.PlanID})
		}
		return nil, err
	}
	if err := e.dispatch(ctx, x); err != nil {
		return nil, err
	}
	return &StartResult{ExecutionID: x.ExecutionID, Status: drsorch.ExecutionPending,
		Message: "Execution started - check status with GET /executions/{id}", StatusURL: "/executions/" + x.ExecutionID}, nil
}

// startPermission is the permission a start of the type needs.
func startPermission(t drsorch.ExecutionType) drsorch.Permission {
	if t == drsorch.Recovery {
		return drsorch.PermStartRecovery
	}
	return drsorch.PermStartDrill
}

func checkRecoveryPoint(rp *drsorch.RecoveryPoint) error {
	if rp == nil {
		return nil
	}
	if rp.PointInTime != "" {
		if _, err := time.Parse(time.RFC3339, rp.PointInTime); err != nil {
			return drsorch.Errorf(drsorch.CodeInvalidParameter, "recoveryPoint.pointInTime must be an RFC 3339 time, got %q", rp.PointInTime).
				WithDetails(map[string]any{"parameter": "recoveryPoint.pointInTime"})
		}
	}
	for sid, snap := range rp.Snapshots {
		if !drsorch.ValidSourceServerID(sid) || !drsorch.ValidSnapshotID(snap) {
			return drsorch.Errorf(drsorch.CodeInvalidParameter, "recoveryPoint.snapshots maps source server ids (s-…) to snapshot ids (pit-…); got %q: %q", sid, snap).
				WithDetails(map[string]any{"parameter": "recoveryPoint.snapshots"})
		}
	}
	return nil
}

// dispatch hands a recorded execution to the background path, or starts its workflow inline.
func (e *Engine) dispatch(ctx context.Context, x *drsorch.Execution) error {
	var err error
	if e.cfg.Dispatcher != nil {
		err = e.cfg.Dispatcher.Dispatch(ctx, x)
	} else {
		err = e.StartWorkflow(ctx, x.ExecutionID)
	}
	if err == nil {
		return nil
	}
	msg := drsorch.AsError(err).Message
	_, uerr := e.update(ctx, x.ExecutionID, func(x *drsorch.Execution) error {
		if x.Status.Canonical() != drsorch.ExecutionPending {
			return errNoChange
		}
		x.ErrorMessage = "Failed to start worker: " + msg
		x.EndTime = e.now().Unix()
		return x.SetStatus(drsorch.ExecutionFailed, e.now(), drsorch.SystemCaller.Name(), x.ErrorMessage)
	})
	if uerr != nil {
		e.log.Error("recording a failed start failed", "executionId", x.ExecutionID, "error", uerr)
	}
	return drsorch.Wrap(drsorch.CodeInternal, err, "Failed to start execution worker: %s", msg).
		WithDetails(map[string]any{"executionId": x.ExecutionID})
}

// StartWorkflow is the background half of a start (the worker): it starts the
// workflow of a PENDING execution, records RUNNING and takes the first step.
// It does nothing for an execution that is no longer PENDING.
func (e *Engine) StartWorkflow(ctx context.Context, id string) error {
	x, err := e.load(ctx, id)
	if err != nil {
		return err
	}
	if x.Status.Canonical() != drsorch.ExecutionPending {
		return nil
	}
	ref, err := e.wf.Start(ctx, x)
	if err != nil {
		msg := "Failed to start workflow: " + drsorch.AsError(err).Message
		_, uerr := e.update(ctx, id, func(x *drsorch.Execution) error {
			if x.Status.Canonical() != drsorch.ExecutionPending {
				return errNoChange
			}
			x.ErrorMessage, x.EndTime = msg, e.now().Unix()
			return x.SetStatus(drsorch.ExecutionFailed, e.now(), drsorch.SystemCaller.Name(), msg)
		})
		if uerr != nil {
			return uerr
		}
		return err
	}
	x, err = e.update(ctx, id, func(x *drsorch.Execution) error {
		if x.Status.Canonical() != drsorch.ExecutionPending {
			return errNoChange
		}
		x.StateMachineArn = ref
		return x.SetStatus(drsorch.ExecutionRunning, e.now(), drsorch.SystemCaller.Name(), "workflow started")
	})
	if err != nil {
		return err
	}
	if x.Status.Canonical() != drsorch.ExecutionRunning {
		return nil
	}
	e.notify(ctx, x, drsorch.NotifyStarted, messageFor(x, drsorch.NotifyStarted))
	_, err = e.progress(ctx, id, nil, nil)
	return err
}

// preflight runs the start-time checks after the plan is known: conflicts
// (409), this plan's active executions (409), DRS saturation (429) and
// replication health (400), in the replaced system's order.
func (e *Engine) preflight(ctx context.Context, x *drsorch.Execution, plan *drsorch.RecoveryPlan) error {
	r := e.newResolver(x)
	servers := map[string]string{} // server id → wave name
	regions := map[string][]string{}
	for i := range x.Waves {
		w := &x.Waves[i]
		byRegion, err := r.waveServerIDs(ctx, w.GroupIDs(), w.ServerIDs)
		if err != nil {
			return err
		}
		for region, ids := range byRegion {
			for _, id := range ids {
				if _, dup := servers[id]; !dup {
					servers[id] = w.WaveName
					regions[region] = append(regions[region], id)
				}
			}
		}
	}
	active, err := e.activeExecutions(ctx)
	if err != nil {
		return err
	}
	// 1. Servers busy in another active execution or in an active DRS LAUNCH job.
	var conflicts []map[string]any
	byExec := map[string]map[string]any{}
	inUse := map[string]*drsorch.Execution{}
	inUseWave := map[string]string{}
	for _, other := range active {
		normalize(other)
		or := e.newResolver(other)
		for i := range other.Waves {
			w := &other.Waves[i]
			if w.Status.Canonical() == drsorch.WaveCancelled {
				continue
			}
			ids := w.ServerIDs
			if len(w.ServerStatuses) > 0 {
				ids = nil
				for _, s := range w.ServerStatuses {
					ids = append(ids, s.SourceServerID)
				}
			} else if len(ids) == 0 {
				byRegion, err := or.waveServerIDs(ctx, w.GroupIDs(), nil)
				if err != nil {
					continue
				}
				for _, v := range byRegion {
					ids = append(ids, v...)
				}
			}
			for _, id := range ids {
				if _, ok := inUse[id]; !ok {
					inUse[id], inUseWave[id] = other, w.WaveName
				}
			}
		}
	}
	jobsByRegion := map[string][]drsorch.Job{}
	for _, region := range sortedKeys(regions) {
		jobs, err := e.drs.DescribeJobs(ctx, x.Target(region, e.cfg.AccountID), drsorch.JobFilter{FromDate: e.now().Add(-7 * 24 * time.Hour)})
		if err != nil {
			return drsorch.Wrap(drsorch.CodeDRS, err, "Could not check DRS jobs in %s: %s", region, drsorch.AsError(err).Message)
		}
		jobsByRegion[region] = jobs
	}
	drsConflicts := map[string]map[string]any{}
	var nExec, nDRS int
	for _, region := range sortedKeys(regions) {
		busy := map[string]struct {
			job drsorch.Job
			p   drsorch.ParticipatingServer
		}{}
		for _, j := range jobsByRegion[region] {
			if j.Type != drsorch.JobLaunch || !j.Status.Active() {
				continue
			}
			for _, p := range j.ParticipatingServers {
				busy[p.SourceServerID] = struct {
					job drsorch.Job
					p   drsorch.ParticipatingServer
				}{j, p}
			}
		}
		for _, id := range regions[region] {
			if other, ok := inUse[id]; ok {
				nExec++
				conflicts = append(conflicts, map[string]any{"serverId": id, "waveName": servers[id],
					"conflictingExecutionId": other.ExecutionID, "conflictingPlanId": other.PlanID,
					"conflictingWaveName": inUseWave[id], "conflictingStatus": other.Status, "conflictSource": "execution"})
				ce := byExec[other.ExecutionID]
				if ce == nil {
					ce = map[string]any{"executionId": other.ExecutionID, "planId": other.PlanID, "servers": []string{}}
					byExec[other.ExecutionID] = ce
				}
				ce["servers"] = append(ce["servers"].([]string), id)
				continue
			}
			if b, ok := busy[id]; ok {
				nDRS++
				conflicts = append(conflicts, map[string]any{"serverId": id, "waveName": servers[id],
					"conflictingJobId": b.job.JobID, "conflictingJobStatus": b.job.Status,
					"conflictingLaunchStatus": b.p.LaunchStatus, "conflictSource": "drs_job"})
				cj := drsConflicts[b.job.JobID]
				if cj == nil {
					cj = map[string]any{"jobId": b.job.JobID, "jobStatus": b.job.Status, "servers": []string{}}
					drsConflicts[b.job.JobID] = cj
				}
				cj["servers"] = append(cj["servers"].([]string), id)
			}
		}
	}
	if len(conflicts) > 0 {
		var msg string
		switch {
		case nExec == 0:
			msg = fmt.Sprintf("%d server(s) are being processed by active DRS jobs", nDRS)
		case nDRS == 0:
			msg = fmt.Sprintf("%d server(s) are already in active executions", nExec)
		default:
			msg = fmt.Sprintf("%d server(s) are in use (executions: %d, DRS jobs: %d)", len(conflicts), nExec, nDRS)
		}
		ce := make([]map[string]any, 0, len(byExec))
		for _, k := range sortedKeys(byExec) {
			ce = append(ce, byExec[k])
		}
		cj := make([]map[string]any, 0, len(drsConflicts))
		for _, k := range sortedKeys(drsConflicts) {
			cj = append(cj, drsConflicts[k])
		}
		return drsorch.Errorf(drsorch.CodeAlreadyExists, "%s", msg).WithDetails(map[string]any{
			"conflicts": conflicts, "conflictingExecutions": ce, "conflictingDrsJobs": cj})
	}
	// 2. One active execution per plan (CANCELLING does not count).
	var same []string
	for _, other := range active {
		if other.PlanID == plan.PlanID && other.Status.HoldsPlan() {
			same = append(same, other.ExecutionID)
		}
	}
	if len(same) > 0 {
		sort.Strings(same)
		return drsorch.Errorf(drsorch.CodeAlreadyExists, "This Recovery Plan already has an execution in progress").
			WithDetails(map[string]any{"activeExecutions": same, "planId": plan.PlanID})
	}
	// 3. DRS already saturated in the plan's account and region.
	for _, region := range sortedKeys(regions) {
		var activeJobs []map[string]any
		serversInJobs := 0
		for _, j := range jobsByRegion[region] {
			if !j.Status.Active() {
				continue
			}
			activeJobs = append(activeJobs, map[string]any{"jobId": j.JobID, "status": j.Status, "type": j.Type, "serverCount": len(j.ParticipatingServers)})
			serversInJobs += len(j.ParticipatingServers)
		}
		if len(activeJobs) >= drsorch.MaxConcurrentJobs {
			return &drsorch.Error{Code: drsorch.CodeDRSQuota, RetryAfter: 60,
				Message: fmt.Sprintf("DRS concurrent job limit reached (%d/%d)", len(activeJobs), drsorch.MaxConcurrentJobs),
				Details: map[string]any{"currentJobs": len(activeJobs), "maxJobs": drsorch.MaxConcurrentJobs, "activeJobs": activeJobs, "region": region}}
		}
		if serversInJobs >= drsorch.MaxServersInActiveJobs {
			next := min(len(regions[region]), drsorch.MaxServersPerJob)
			return &drsorch.Error{Code: drsorch.CodeDRSQuota, RetryAfter: 60,
				Message: fmt.Sprintf("Would exceed max servers in all jobs (%d/%d)", serversInJobs+next, drsorch.MaxServersInActiveJobs),
				Details: map[string]any{"currentServersInJobs": serversInJobs, "newServerCount": next,
					"totalAfterNew": serversInJobs + next, "maxServers": drsorch.MaxServersInActiveJobs, "region": region}}
		}
	}
	// 4. Replication health of every server.
	var unhealthy []map[string]any
	healthy := 0
	for _, region := range sortedKeys(regions) {
		ids := regions[region]
		known, err := r.describe(ctx, x.Target(region, e.cfg.AccountID), ids)
		if err != nil {
			return drsorch.Wrap(drsorch.CodeDRS, err, "Could not check replication in %s: %s", region, drsorch.AsError(err).Message)
		}
		for _, id := range ids {
			s, ok := known[id]
			switch {
			case !ok:
				unhealthy = append(unhealthy, map[string]any{"serverId": id, "hostname": "", "replicationState": "", "lifecycleState": "",
					"reason": "Source server not found in DRS"})
			case slices.Contains(drsorch.UnhealthyReplicationStates, strings.ToUpper(s.ReplicationState)) || strings.EqualFold(s.LifecycleState, "STOPPED"):
				unhealthy = append(unhealthy, map[string]any{"serverId": id, "hostname": s.Hostname, "replicationState": s.ReplicationState,
					"lifecycleState": s.LifecycleState, "reason": fmt.Sprintf("Replication: %s, Lifecycle: %s", s.ReplicationState, s.LifecycleState)})
			default:
				healthy++
			}
		}
	}
	if len(unhealthy) > 0 {
		return drsorch.Errorf(drsorch.CodeInvalidState, "%d server(s) have unhealthy replication state", len(unhealthy)).
			WithDetails(map[string]any{"unhealthyServers": unhealthy, "healthyCount": healthy, "unhealthyCount": len(unhealthy)})
	}
	return nil
}
