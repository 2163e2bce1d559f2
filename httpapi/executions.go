package httpapi

import (
	"net/http"
	"slices"
	"strings"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
)

// startBody is the body of POST /executions. Other fields the replaced
// system's frontend sends (dryRun, topicArn) are accepted and ignored.
type startBody struct {
	PlanID        string            `json:"planId"`
	ExecutionType string            `json:"executionType"`
	InitiatedBy   drsorch.Principal `json:"initiatedBy"`
	// AccountContext is also read from "AccountContext".
	AccountContext    *drsorch.AccountContext `json:"accountContext"`
	AccountContextAlt *drsorch.AccountContext `json:"AccountContext"`
	RecoveryPoint     *drsorch.RecoveryPoint  `json:"recoveryPoint"`
	DrillTTLSeconds   int64                   `json:"drillTtlSeconds"`
}

func (b startBody) request() engine.StartRequest {
	ac := b.AccountContext
	if ac == nil {
		ac = b.AccountContextAlt
	}
	return engine.StartRequest{PlanID: b.PlanID, ExecutionType: b.ExecutionType, InitiatedBy: string(b.InitiatedBy),
		AccountContext: ac, RecoveryPoint: b.RecoveryPoint, DrillTTLSeconds: b.DrillTTLSeconds}
}

func (a *api) startExecution(r *http.Request) (int, any, error) {
	var b startBody
	if err := a.decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if b.PlanID != "" && strings.TrimSpace(b.PlanID) != "" && !drsorch.ValidRecordID(b.PlanID) {
		return 0, nil, invalidParam("planId", "planId must be an id of letters, digits, '.', '_' or '-' (at most 128 characters)")
	}
	res, err := a.e.StartExecution(r.Context(), b.request())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, res, nil
}

// executePlan is POST /recovery-plans/{id}/execute: a start of the plan in the path.
func (a *api) executePlan(r *http.Request) (int, any, error) {
	var b startBody
	if err := a.decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	id, err := recordID(r, "planId")
	if err != nil {
		return 0, nil, err
	}
	b.PlanID = id
	res, err := a.e.StartExecution(r.Context(), b.request())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, res, nil
}

// listableStatuses are the values the status filter accepts: every status a record may hold.
var listableStatuses = append(append([]drsorch.ExecutionStatus{}, drsorch.ExecutionStatuses...),
	drsorch.ExecutionLegacyPolling, drsorch.ExecutionLegacyInProgress, drsorch.ExecutionLegacyInitiated,
	drsorch.ExecutionLegacyLaunching, drsorch.ExecutionLegacyStarted, drsorch.ExecutionLegacyTerminated)

func (a *api) listExecutions(r *http.Request) (int, any, error) {
	q := r.URL.Query()
	limit, err := positiveInt(q, "limit")
	if err != nil {
		return 0, nil, err
	}
	lq := engine.ListQuery{Limit: limit, AccountID: q.Get("accountId"), PlanID: q.Get("planId")}
	if q.Has("nextToken") {
		if strings.TrimSpace(q.Get("nextToken")) == "" {
			return 0, nil, invalidParam("nextToken", "nextToken must not be empty")
		}
		if lq.NextToken, err = a.pages.Open(q.Get("nextToken")); err != nil {
			return 0, nil, err
		}
	}
	if lq.AccountID != "" && !drsorch.ValidAccountID(lq.AccountID) {
		return 0, nil, invalidParam("accountId", "accountId must be a 12-digit account id")
	}
	if lq.PlanID != "" && !drsorch.ValidRecordID(lq.PlanID) {
		return 0, nil, invalidParam("planId", "planId must be an id of letters, digits, '.', '_' or '-' (at most 128 characters)")
	}
	for _, s := range splitList(q.Get("status")) {
		st := drsorch.ExecutionStatus(strings.ToUpper(s))
		if !slices.Contains(listableStatuses, st) {
			return 0, nil, invalidParam("status", "Unknown status %q: must be one of %v", clip(s), drsorch.ExecutionStatuses)
		}
		lq.Statuses = append(lq.Statuses, st)
	}
	res, err := a.e.List(r.Context(), lq)
	if err != nil {
		if drsorch.IsCode(err, drsorch.CodeInvalidParameter) && lq.NextToken != "" {
			return 0, nil, invalidParam("nextToken", "nextToken is not a token this API issued")
		}
		return 0, nil, err
	}
	if res.NextToken != nil {
		sealed := a.pages.Seal(*res.NextToken)
		res.NextToken = &sealed
	}
	return http.StatusOK, res, nil
}

func (a *api) getExecution(r *http.Request) (int, any, error) {
	id, err := executionRef(r)
	if err != nil {
		return 0, nil, err
	}
	res, err := a.e.Get(r.Context(), id)
	return http.StatusOK, res, err
}

func (a *api) realtime(r *http.Request) (int, any, error) {
	id, err := executionRef(r)
	if err != nil {
		return 0, nil, err
	}
	res, err := a.e.Realtime(r.Context(), id)
	return http.StatusOK, res, err
}

func (a *api) jobLogs(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	job := strings.TrimSpace(r.URL.Query().Get("jobId"))
	if job != "" && !drsorch.ValidJobID(job) {
		return 0, nil, invalidParam("jobId", "jobId must be a DRS job id (drsjob- and 17 characters)")
	}
	res, err := a.e.JobLogs(r.Context(), id, job)
	return http.StatusOK, res, err
}

func (a *api) recoveryInstances(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.e.RecoveryInstances(r.Context(), id)
	return http.StatusOK, res, err
}

func (a *api) terminationStatus(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	q := r.URL.Query()
	var jobIDs []string
	if q.Has("jobIds") {
		if jobIDs = splitList(q.Get("jobIds")); len(jobIDs) == 0 {
			return 0, nil, invalidParam("jobIds", "No valid job IDs provided")
		}
		if len(jobIDs) > maxIDsPerRequest {
			return 0, nil, invalidParam("jobIds", "jobIds holds %d ids; at most %d at a time", len(jobIDs), maxIDsPerRequest)
		}
		bad := -1
		for i, j := range jobIDs {
			if !drsorch.ValidJobID(j) && bad < 0 {
				bad = i
			}
		}
		switch {
		case bad >= 0 && !slices.ContainsFunc(jobIDs, drsorch.ValidJobID):
			return 0, nil, invalidParam("jobIds", "No valid DRS job IDs provided. Expected format: drsjob-xxxxxxxxxxxxxxxxx")
		case bad >= 0:
			return 0, nil, invalidParam("jobIds", "jobIds[%d] is not a DRS job id (drsjob- and 17 characters)", bad)
		}
	}
	region := strings.TrimSpace(q.Get("region"))
	if region != "" && !drsorch.ValidRegion(region) {
		return 0, nil, invalidParam("region", "%q is not an AWS region", clip(region))
	}
	res, err := a.e.TerminationStatus(r.Context(), id, jobIDs, region)
	return http.StatusOK, res, err
}

func (a *api) report(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	res, err := a.e.Report(r.Context(), id)
	return http.StatusOK, res, err
}

func (a *api) cancel(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	var b struct {
		Reason string `json:"reason"`
	}
	if err := a.decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	res, err := a.e.Cancel(r.Context(), id, b.Reason)
	return http.StatusOK, res, err
}

func (a *api) pause(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	if err := a.decodeBody(r, &struct{}{}, false); err != nil {
		return 0, nil, err
	}
	res, err := a.e.Pause(r.Context(), id)
	return http.StatusOK, res, err
}

func (a *api) resume(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	if err := a.decodeBody(r, &struct{}{}, false); err != nil {
		return 0, nil, err
	}
	res, err := a.e.Resume(r.Context(), id)
	return http.StatusOK, res, err
}

func (a *api) terminate(r *http.Request) (int, any, error) {
	id, err := recordID(r, "executionId")
	if err != nil {
		return 0, nil, err
	}
	var b struct {
		Force bool `json:"force"`
	}
	if err := a.decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	res, err := a.e.Terminate(r.Context(), id, b.Force)
	return http.StatusOK, res, err
}

func (a *api) deleteExecutionsByQuery(r *http.Request) (int, any, error) {
	ids := splitList(r.URL.Query().Get("ids"))
	if err := executionIDs("ids", ids); err != nil {
		return 0, nil, err
	}
	res, err := a.e.Delete(r.Context(), ids)
	return http.StatusOK, res, err
}

func (a *api) deleteExecutionsByBody(r *http.Request) (int, any, error) {
	var b struct {
		ExecutionIDs []string `json:"executionIds"`
	}
	if err := a.decodeBody(r, &b, false); err != nil {
		return 0, nil, err
	}
	if err := executionIDs("executionIds", b.ExecutionIDs); err != nil {
		return 0, nil, err
	}
	res, err := a.e.Delete(r.Context(), b.ExecutionIDs)
	return http.StatusOK, res, err
}

func (a *api) deleteCompleted(r *http.Request) (int, any, error) {
	res, err := a.e.DeleteCompleted(r.Context())
	return http.StatusOK, res, err
}
