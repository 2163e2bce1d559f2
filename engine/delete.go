package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/drsorch/drsorch"
)

// DeleteResult is the answer of a delete by ids.
type DeleteResult struct {
	Message                 string          `json:"message"`
	DeletedCount            int             `json:"deletedCount"`
	TotalRequested          int             `json:"totalRequested"`
	NotFound                int             `json:"notFound"`
	ActiveSkipped           int             `json:"activeSkipped"`
	Failed                  int             `json:"failed"`
	NotFoundIDs             []string        `json:"notFoundIds,omitempty"`
	ActiveExecutionsSkipped []SkippedDelete `json:"activeExecutionsSkipped,omitempty"`
	FailedDeletes           []FailedDelete  `json:"failedDeletes,omitempty"`
	Warning                 string          `json:"warning,omitempty"`
}

// SkippedDelete is an execution a delete left alone.
type SkippedDelete struct {
	ExecutionID string                  `json:"executionId"`
	Status      drsorch.ExecutionStatus `json:"status"`
	Reason      string                  `json:"reason"`
}

// FailedDelete is an execution a delete could not remove.
type FailedDelete struct {
	ExecutionID string `json:"executionId"`
	Error       string `json:"error"`
}

// deletable says why an execution must be kept, or "" when it may go: only
// ended executions are deleted, and a CANCELLED one whose DRS job still runs is kept.
func (e *Engine) deletable(ctx context.Context, x *drsorch.Execution) string {
	normalize(x)
	if !x.Status.Terminal() {
		return "Execution is still active"
	}
	if x.Status.Canonical() != drsorch.ExecutionCancelled {
		return ""
	}
	byTarget := map[string][]string{}
	targets := map[string]drsorch.Target{}
	for _, w := range x.Waves {
		for _, j := range w.Jobs {
			if j.JobID == "" {
				continue
			}
			t := x.Target(firstNonEmpty(j.Region, w.Region, e.cfg.DefaultRegion), e.cfg.AccountID)
			targets[t.Key()] = t
			byTarget[t.Key()] = append(byTarget[t.Key()], j.JobID)
		}
	}
	for _, key := range sortedKeys(byTarget) {
		for _, batch := range chunks(byTarget[key], drsorch.MaxJobIDsPerDescribe) {
			jobs, err := e.drs.DescribeJobs(ctx, targets[key], drsorch.JobFilter{JobIDs: batch})
			if err != nil {
				return "Has active DRS jobs"
			}
			for _, j := range jobs {
				if j.Status.Active() {
					return "Has active DRS jobs"
				}
			}
		}
	}
	return ""
}

// Delete removes ended executions by id (POST /executions/delete, DELETE /executions?ids=).
func (e *Engine) Delete(ctx context.Context, ids []string) (*DeleteResult, error) {
	if err := e.authorize(ctx, drsorch.PermDeleteExecutions, ""); err != nil {
		return nil, err
	}
	var clean []string
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" {
			clean = append(clean, id)
		}
	}
	if len(clean) == 0 {
		return nil, drsorch.Errorf(drsorch.CodeMissingParameter, "No execution IDs provided for deletion").
			WithDetails(map[string]any{"parameter": "executionIds"})
	}
	res := &DeleteResult{TotalRequested: len(clean)}
	for _, id := range clean {
		x, err := e.store.GetExecution(ctx, id)
		if drsorch.IsCode(err, drsorch.CodeNotFound) {
			res.NotFoundIDs = append(res.NotFoundIDs, id)
			continue
		}
		if err != nil {
			res.FailedDeletes = append(res.FailedDeletes, FailedDelete{id, drsorch.AsError(err).Message})
			continue
		}
		if reason := e.deletable(ctx, x); reason != "" {
			res.ActiveExecutionsSkipped = append(res.ActiveExecutionsSkipped, SkippedDelete{id, x.Status, reason})
			continue
		}
		if x.PlanID == "" {
			res.FailedDeletes = append(res.FailedDeletes, FailedDelete{id, "Missing PlanId - cannot delete"})
			continue
		}
		if err := e.store.DeleteExecution(ctx, x); err != nil {
			res.FailedDeletes = append(res.FailedDeletes, FailedDelete{id, drsorch.AsError(err).Message})
			continue
		}
		res.DeletedCount++
	}
	res.NotFound, res.ActiveSkipped, res.Failed = len(res.NotFoundIDs), len(res.ActiveExecutionsSkipped), len(res.FailedDeletes)
	res.Message = fmt.Sprintf("Processed %d execution deletion requests", len(clean))
	res.Warning = warning(res.ActiveSkipped, "active execution(s) skipped", res.Failed)
	return res, nil
}

func warning(skipped int, what string, failed int) string {
	var parts []string
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", skipped, what))
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d execution(s) failed to delete", failed))
	}
	return strings.Join(parts, "; ")
}

// DeleteCompletedResult is the answer of DELETE /executions/completed.
type DeleteCompletedResult struct {
	Message               string         `json:"message"`
	DeletedCount          int            `json:"deletedCount"`
	TotalScanned          int            `json:"totalScanned"`
	CompletedFound        int            `json:"completedFound"`
	SafeToDelete          int            `json:"safeToDelete"`
	SkippedWithActiveJobs int            `json:"skippedWithActiveJobs"`
	ActivePreserved       int            `json:"activePreserved"`
	SkippedExecutionIDs   []string       `json:"skippedExecutionIds,omitempty"`
	FailedDeletes         []FailedDelete `json:"failedDeletes,omitempty"`
	Warning               string         `json:"warning,omitempty"`
}

// DeleteCompleted removes every ended execution, except CANCELLED ones whose DRS job still runs.
func (e *Engine) DeleteCompleted(ctx context.Context) (*DeleteCompletedResult, error) {
	if err := e.authorize(ctx, drsorch.PermDeleteExecutions, ""); err != nil {
		return nil, err
	}
	all, err := e.listAll(ctx, drsorch.ExecutionQuery{})
	if err != nil {
		return nil, err
	}
	res := &DeleteCompletedResult{TotalScanned: len(all)}
	for _, x := range all {
		if !x.Status.Terminal() {
			continue
		}
		res.CompletedFound++
		if reason := e.deletable(ctx, x); reason != "" {
			res.SkippedWithActiveJobs++
			res.SkippedExecutionIDs = append(res.SkippedExecutionIDs, x.ExecutionID)
			continue
		}
		res.SafeToDelete++
		if err := e.store.DeleteExecution(ctx, x); err != nil {
			res.FailedDeletes = append(res.FailedDeletes, FailedDelete{x.ExecutionID, drsorch.AsError(err).Message})
			continue
		}
		res.DeletedCount++
	}
	res.ActivePreserved = res.TotalScanned - res.CompletedFound
	res.Message = "Completed executions cleared successfully"
	res.Warning = warning(res.SkippedWithActiveJobs, "execution(s) skipped with active DRS jobs", len(res.FailedDeletes))
	return res, nil
}
