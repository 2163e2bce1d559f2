package drsorchtest

import (
	"strings"

	"github.com/drsorch/drsorch"
)

// The permission matrix as the tests expect it, written out here on its own
// rather than read from auth.Matrix, so a change to the matrix has to be made
// twice: in the code and in what the tests expect.

// Grant scopes of ExpectedGrants.
const (
	AnyType   = "any"   // granted whatever the execution's type
	DrillOnly = "drill" // granted for DRILL executions only
)

// ExpectedGroups are the Cognito groups (and some legacy names) the route tests run as.
var ExpectedGroups = []string{
	"DRSOrchestrationAdmin", "DRSRecoveryManager", "DRSPlanManager", "DRSOperator",
	"DRSDrillOperator", "DRSReadOnly", "DRSAuditor",
}

// ExpectedAliases maps legacy group names to the group they stand for.
var ExpectedAliases = map[string]string{
	"aws:admin": "DRSOrchestrationAdmin", "DRS-Administrator": "DRSOrchestrationAdmin",
	"aws:admin-limited": "DRSRecoveryManager", "DRS-Infrastructure-Admin": "DRSRecoveryManager",
	"aws:power-user": "DRSPlanManager", "DRS-Recovery-Plan-Manager": "DRSPlanManager",
	"aws:operator": "DRSOperator", "DRS-Operator": "DRSOperator",
	"aws:read-only": "DRSReadOnly", "DRS-Read-Only": "DRSReadOnly",
	"DRS-Auditor": "DRSAuditor",
}

// ExpectedGrants is, per group, each permission it holds and its scope.
var ExpectedGrants = map[string]map[drsorch.Permission]string{
	"DRSOrchestrationAdmin": {
		drsorch.PermViewExecutions: AnyType, drsorch.PermStartDrill: AnyType, drsorch.PermStartRecovery: AnyType,
		drsorch.PermStopExecution: AnyType, drsorch.PermTerminateInstances: AnyType,
		drsorch.PermDeleteExecutions: AnyType, drsorch.PermManagePlans: AnyType,
	},
	"DRSRecoveryManager": {
		drsorch.PermViewExecutions: AnyType, drsorch.PermStartDrill: AnyType, drsorch.PermStartRecovery: AnyType,
		drsorch.PermStopExecution: AnyType, drsorch.PermTerminateInstances: AnyType,
		drsorch.PermDeleteExecutions: AnyType, drsorch.PermManagePlans: AnyType,
	},
	"DRSPlanManager": {
		drsorch.PermViewExecutions: AnyType, drsorch.PermStartDrill: AnyType, drsorch.PermStartRecovery: AnyType,
		drsorch.PermStopExecution: AnyType, drsorch.PermManagePlans: AnyType,
	},
	"DRSOperator": {
		drsorch.PermViewExecutions: AnyType, drsorch.PermStartDrill: AnyType, drsorch.PermStartRecovery: AnyType,
		drsorch.PermStopExecution: AnyType,
	},
	"DRSDrillOperator": {
		drsorch.PermViewExecutions: AnyType, drsorch.PermStartDrill: AnyType, drsorch.PermStopExecution: DrillOnly,
	},
	"DRSReadOnly": {drsorch.PermViewExecutions: AnyType},
	"DRSAuditor":  {drsorch.PermViewExecutions: AnyType},
}

// ExpectAllowed reports whether a member of group may use p on an execution of type t.
func ExpectAllowed(group string, p drsorch.Permission, t drsorch.ExecutionType) bool {
	if g, ok := ExpectedAliases[group]; ok {
		group = g
	}
	switch ExpectedGrants[group][p] {
	case AnyType:
		return true
	case DrillOnly:
		return t == drsorch.Drill
	}
	return false
}

// AuthzRoute is one request of the route × group tests. Path and Body may
// hold placeholders, which each environment replaces with its own ids:
// {runningDrill}, {endedDrill}, {runningRecovery}, {endedRecovery} (executions),
// {freePlan} (a plan with no execution), {plan} and {group} (in use),
// {sparePlan} and {spareGroup} (deletable), {server} (a source server of {group}).
type AuthzRoute struct {
	Method, Path, Body string
	// Perm is the permission the request needs ("" for a public route) and
	// Type the execution type it is checked for ("" when none).
	Perm drsorch.Permission
	Type drsorch.ExecutionType
}

// Name is how the route shows in test names.
func (r AuthzRoute) Name() string {
	n := r.Method + " " + r.Path
	if r.Type != "" && strings.Contains(r.Body, string(r.Type)) {
		n += " " + string(r.Type)
	}
	return n
}

// deadID is a well-formed execution id that names no execution.
const deadID = "00000000-0000-4000-8000-00000000dead"

// AuthzRoutes are every route of the API, in an order where what one allowed
// request changes does not turn a later one into a 404: deletions come last.
var AuthzRoutes = []AuthzRoute{
	{Method: "GET", Path: "/health"},
	{Method: "GET", Path: "/execution-callback?action=resume&taskToken=not-a-token"},
	{Method: "GET", Path: "/executions", Perm: drsorch.PermViewExecutions},
	{Method: "GET", Path: "/executions/{runningDrill}", Perm: drsorch.PermViewExecutions, Type: drsorch.Drill},
	{Method: "GET", Path: "/executions/{runningRecovery}", Perm: drsorch.PermViewExecutions, Type: drsorch.Recovery},
	{Method: "GET", Path: "/executions/{runningDrill}/realtime", Perm: drsorch.PermViewExecutions, Type: drsorch.Drill},
	{Method: "GET", Path: "/executions/{endedDrill}/job-logs", Perm: drsorch.PermViewExecutions, Type: drsorch.Drill},
	{Method: "GET", Path: "/executions/{endedDrill}/recovery-instances", Perm: drsorch.PermViewExecutions, Type: drsorch.Drill},
	{Method: "GET", Path: "/executions/{endedDrill}/termination-status", Perm: drsorch.PermViewExecutions, Type: drsorch.Drill},
	{Method: "GET", Path: "/executions/{endedRecovery}/report", Perm: drsorch.PermViewExecutions, Type: drsorch.Recovery},
	{Method: "GET", Path: "/protection-groups", Perm: drsorch.PermViewExecutions},
	{Method: "GET", Path: "/protection-groups/{group}", Perm: drsorch.PermViewExecutions},
	{Method: "GET", Path: "/recovery-plans", Perm: drsorch.PermViewExecutions},
	{Method: "GET", Path: "/recovery-plans/{plan}", Perm: drsorch.PermViewExecutions},
	// Starts: RECOVERY first, so a DRILL started by an allowed caller does not
	// make the RECOVERY a conflict before its permission is checked.
	{Method: "POST", Path: "/executions", Body: `{"planId":"{freePlan}","executionType":"RECOVERY","initiatedBy":"t"}`,
		Perm: drsorch.PermStartRecovery, Type: drsorch.Recovery},
	{Method: "POST", Path: "/recovery-plans/{freePlan}/execute", Body: `{"executionType":"RECOVERY","initiatedBy":"t"}`,
		Perm: drsorch.PermStartRecovery, Type: drsorch.Recovery},
	{Method: "POST", Path: "/executions", Body: `{"planId":"{freePlan}","executionType":"DRILL","initiatedBy":"t"}`,
		Perm: drsorch.PermStartDrill, Type: drsorch.Drill},
	{Method: "POST", Path: "/recovery-plans/{freePlan}/execute", Body: `{"executionType":"DRILL","initiatedBy":"t"}`,
		Perm: drsorch.PermStartDrill, Type: drsorch.Drill},
	{Method: "POST", Path: "/executions/{runningDrill}/pause", Perm: drsorch.PermStopExecution, Type: drsorch.Drill},
	{Method: "POST", Path: "/executions/{runningDrill}/resume", Perm: drsorch.PermStopExecution, Type: drsorch.Drill},
	{Method: "POST", Path: "/executions/{runningDrill}/cancel", Body: `{"reason":"authz test"}`, Perm: drsorch.PermStopExecution, Type: drsorch.Drill},
	{Method: "POST", Path: "/executions/{runningRecovery}/pause", Perm: drsorch.PermStopExecution, Type: drsorch.Recovery},
	{Method: "POST", Path: "/executions/{runningRecovery}/resume", Perm: drsorch.PermStopExecution, Type: drsorch.Recovery},
	{Method: "POST", Path: "/executions/{runningRecovery}/cancel", Body: `{"reason":"authz test"}`, Perm: drsorch.PermStopExecution, Type: drsorch.Recovery},
	{Method: "POST", Path: "/executions/{endedDrill}/terminate-instances", Body: `{}`, Perm: drsorch.PermTerminateInstances, Type: drsorch.Drill},
	{Method: "POST", Path: "/executions/{endedRecovery}/terminate-instances", Body: `{"force":true}`, Perm: drsorch.PermTerminateInstances, Type: drsorch.Recovery},
	{Method: "POST", Path: "/protection-groups", Body: `{"groupId":"authz-group","groupName":"Authz","region":"us-east-1","sourceServerIds":["{server}"]}`,
		Perm: drsorch.PermManagePlans},
	{Method: "PUT", Path: "/protection-groups/{group}", Body: `{"groupName":"Renamed","region":"us-east-1","sourceServerIds":["{server}"]}`,
		Perm: drsorch.PermManagePlans},
	{Method: "POST", Path: "/recovery-plans", Body: `{"planId":"authz-plan","planName":"Authz","waves":[{"waveNumber":0,"protectionGroupId":"{group}"}]}`,
		Perm: drsorch.PermManagePlans},
	{Method: "PUT", Path: "/recovery-plans/{sparePlan}", Body: `{"planName":"Renamed plan","waves":[{"waveNumber":0,"protectionGroupId":"{group}"}]}`,
		Perm: drsorch.PermManagePlans},
	{Method: "DELETE", Path: "/executions?ids=" + deadID, Perm: drsorch.PermDeleteExecutions},
	{Method: "POST", Path: "/executions/delete", Body: `{"executionIds":["` + deadID + `"]}`, Perm: drsorch.PermDeleteExecutions},
	{Method: "DELETE", Path: "/recovery-plans/{sparePlan}", Perm: drsorch.PermManagePlans},
	{Method: "DELETE", Path: "/protection-groups/{spareGroup}", Perm: drsorch.PermManagePlans},
	{Method: "DELETE", Path: "/executions/completed", Perm: drsorch.PermDeleteExecutions},
}

// Fill replaces the placeholders of s with ids.
func Fill(s string, ids map[string]string) string {
	for k, v := range ids {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}
