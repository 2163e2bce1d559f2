// Package client is a small HTTP client of drsorch's REST API, used by the
// command-line client (`drsorch exec …`, `drsorch plan …`). Responses decode
// into the engine's result types, which carry the API's field names.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/httpapi"
)

// Client calls one drsorch server.
type Client struct {
	// BaseURL is the server, e.g. http://127.0.0.1:8080.
	BaseURL string
	// Token is the bearer token sent with every request.
	Token string
	// HTTP is the HTTP client (default: one with a 30s timeout).
	HTTP *http.Client
}

// New returns a client of the server at baseURL.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

// Error is an error answer of the API.
type Error struct {
	StatusCode int
	httpapi.ErrorBody
}

// Error returns the code and message.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.ErrorBody.Error, e.StatusCode, e.Message)
}

// Code returns the error code of err when it is an API error, "" otherwise.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ErrorBody.Error
	}
	return ""
}

// IsUnreachable reports whether err means the server could not be reached (or
// answered with a server error), so a retry later may work.
func IsUnreachable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode >= 500
	}
	return err != nil && !errors.Is(err, context.Canceled)
}

// do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach drsorch at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{StatusCode: resp.StatusCode}
		if json.Unmarshal(b, &e.ErrorBody) != nil || e.ErrorBody.Error == "" {
			e.ErrorBody.Error = http.StatusText(resp.StatusCode)
			e.Message = strings.TrimSpace(string(b))
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding the answer of %s %s: %w", method, path, err)
	}
	return nil
}

func esc(id string) string { return url.PathEscape(id) }

// Health calls GET /health.
func (c *Client) Health(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/health", nil, nil)
}

// StartExecution calls POST /executions.
func (c *Client) StartExecution(ctx context.Context, req engine.StartRequest) (*engine.StartResult, error) {
	var out engine.StartResult
	return &out, c.do(ctx, http.MethodPost, "/executions", req, &out)
}

// ListQuery filters ListExecutions.
type ListQuery struct {
	Limit     int
	NextToken string
	PlanID    string
	Statuses  []drsorch.ExecutionStatus
}

// ListExecutions calls GET /executions (one page).
func (c *Client) ListExecutions(ctx context.Context, q ListQuery) (*engine.ListResult, error) {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.NextToken != "" {
		v.Set("nextToken", q.NextToken)
	}
	if q.PlanID != "" {
		v.Set("planId", q.PlanID)
	}
	if len(q.Statuses) > 0 {
		s := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			s[i] = string(st)
		}
		v.Set("status", strings.Join(s, ","))
	}
	path := "/executions"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out engine.ListResult
	return &out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// GetExecution calls GET /executions/{id}.
func (c *Client) GetExecution(ctx context.Context, id string) (*engine.ExecutionView, error) {
	var out engine.ExecutionView
	return &out, c.do(ctx, http.MethodGet, "/executions/"+esc(id), nil, &out)
}

// Realtime calls GET /executions/{id}/realtime.
func (c *Client) Realtime(ctx context.Context, id string) (*engine.ExecutionView, error) {
	var out engine.ExecutionView
	return &out, c.do(ctx, http.MethodGet, "/executions/"+esc(id)+"/realtime", nil, &out)
}

// Pause calls POST /executions/{id}/pause.
func (c *Client) Pause(ctx context.Context, id string) (*engine.PauseResult, error) {
	var out engine.PauseResult
	return &out, c.do(ctx, http.MethodPost, "/executions/"+esc(id)+"/pause", nil, &out)
}

// Resume calls POST /executions/{id}/resume.
func (c *Client) Resume(ctx context.Context, id string) (*engine.ResumeResult, error) {
	var out engine.ResumeResult
	return &out, c.do(ctx, http.MethodPost, "/executions/"+esc(id)+"/resume", nil, &out)
}

// Cancel calls POST /executions/{id}/cancel.
func (c *Client) Cancel(ctx context.Context, id, reason string) (*engine.CancelResult, error) {
	var out engine.CancelResult
	var in any
	if reason != "" {
		in = map[string]string{"reason": reason}
	}
	return &out, c.do(ctx, http.MethodPost, "/executions/"+esc(id)+"/cancel", in, &out)
}

// Terminate calls POST /executions/{id}/terminate-instances.
func (c *Client) Terminate(ctx context.Context, id string, force bool) (*engine.TerminateResult, error) {
	var out engine.TerminateResult
	return &out, c.do(ctx, http.MethodPost, "/executions/"+esc(id)+"/terminate-instances", map[string]bool{"force": force}, &out)
}

// TerminationStatus calls GET /executions/{id}/termination-status for the execution's own TERMINATE jobs.
func (c *Client) TerminationStatus(ctx context.Context, id string) (*engine.TerminationStatus, error) {
	var out engine.TerminationStatus
	return &out, c.do(ctx, http.MethodGet, "/executions/"+esc(id)+"/termination-status", nil, &out)
}

// JobLogs calls GET /executions/{id}/job-logs, for one job when jobID is set.
func (c *Client) JobLogs(ctx context.Context, id, jobID string) (*engine.JobLogs, error) {
	path := "/executions/" + esc(id) + "/job-logs"
	if jobID != "" {
		path += "?jobId=" + url.QueryEscape(jobID)
	}
	var out engine.JobLogs
	return &out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// RecoveryInstances calls GET /executions/{id}/recovery-instances.
func (c *Client) RecoveryInstances(ctx context.Context, id string) (*engine.Instances, error) {
	var out engine.Instances
	return &out, c.do(ctx, http.MethodGet, "/executions/"+esc(id)+"/recovery-instances", nil, &out)
}

// Report calls GET /executions/{id}/report.
func (c *Client) Report(ctx context.Context, id string) (*engine.Report, error) {
	var out engine.Report
	return &out, c.do(ctx, http.MethodGet, "/executions/"+esc(id)+"/report", nil, &out)
}

// Delete calls POST /executions/delete.
func (c *Client) Delete(ctx context.Context, ids []string) (*engine.DeleteResult, error) {
	var out engine.DeleteResult
	return &out, c.do(ctx, http.MethodPost, "/executions/delete", map[string][]string{"executionIds": ids}, &out)
}

// DeleteCompleted calls DELETE /executions/completed.
func (c *Client) DeleteCompleted(ctx context.Context) (*engine.DeleteCompletedResult, error) {
	var out engine.DeleteCompletedResult
	return &out, c.do(ctx, http.MethodDelete, "/executions/completed", nil, &out)
}

// ListGroups calls GET /protection-groups.
func (c *Client) ListGroups(ctx context.Context) ([]drsorch.ProtectionGroup, error) {
	var out httpapi.GroupList
	if err := c.do(ctx, http.MethodGet, "/protection-groups", nil, &out); err != nil {
		return nil, err
	}
	gs := make([]drsorch.ProtectionGroup, len(out.Groups))
	for i, g := range out.Groups {
		gs[i] = g.ProtectionGroup
	}
	return gs, nil
}

// GetGroup calls GET /protection-groups/{id}.
func (c *Client) GetGroup(ctx context.Context, id string) (*drsorch.ProtectionGroup, error) {
	var out httpapi.GroupBody
	if err := c.do(ctx, http.MethodGet, "/protection-groups/"+esc(id), nil, &out); err != nil {
		return nil, err
	}
	return &out.ProtectionGroup, nil
}

// CreateGroup calls POST /protection-groups.
func (c *Client) CreateGroup(ctx context.Context, g *drsorch.ProtectionGroup) (*drsorch.ProtectionGroup, error) {
	var out httpapi.GroupBody
	if err := c.do(ctx, http.MethodPost, "/protection-groups", g, &out); err != nil {
		return nil, err
	}
	return &out.ProtectionGroup, nil
}

// UpdateGroup calls PUT /protection-groups/{id}.
func (c *Client) UpdateGroup(ctx context.Context, g *drsorch.ProtectionGroup) (*drsorch.ProtectionGroup, error) {
	var out httpapi.GroupBody
	if err := c.do(ctx, http.MethodPut, "/protection-groups/"+esc(g.GroupID), g, &out); err != nil {
		return nil, err
	}
	return &out.ProtectionGroup, nil
}

// DeleteGroup calls DELETE /protection-groups/{id}.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/protection-groups/"+esc(id), nil, nil)
}

// ListPlans calls GET /recovery-plans.
func (c *Client) ListPlans(ctx context.Context) ([]drsorch.RecoveryPlan, error) {
	var out httpapi.PlanList
	return out.RecoveryPlans, c.do(ctx, http.MethodGet, "/recovery-plans", nil, &out)
}

// GetPlan calls GET /recovery-plans/{id}.
func (c *Client) GetPlan(ctx context.Context, id string) (*drsorch.RecoveryPlan, error) {
	var out drsorch.RecoveryPlan
	return &out, c.do(ctx, http.MethodGet, "/recovery-plans/"+esc(id), nil, &out)
}

// CreatePlan calls POST /recovery-plans.
func (c *Client) CreatePlan(ctx context.Context, p *drsorch.RecoveryPlan) (*drsorch.RecoveryPlan, error) {
	var out drsorch.RecoveryPlan
	return &out, c.do(ctx, http.MethodPost, "/recovery-plans", p, &out)
}

// UpdatePlan calls PUT /recovery-plans/{id}.
func (c *Client) UpdatePlan(ctx context.Context, p *drsorch.RecoveryPlan) (*drsorch.RecoveryPlan, error) {
	var out drsorch.RecoveryPlan
	return &out, c.do(ctx, http.MethodPut, "/recovery-plans/"+esc(p.PlanID), p, &out)
}

// DeletePlan calls DELETE /recovery-plans/{id}.
func (c *Client) DeletePlan(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/recovery-plans/"+esc(id), nil, nil)
}
