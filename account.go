package drsorch

import "strings"

// TargetAccount is an AWS account whose DRS servers drsorch may recover, reached by assuming a role.
type TargetAccount struct {
	AccountID           string   `json:"accountId"`
	AccountName         string   `json:"accountName,omitempty"`
	RoleARN             string   `json:"roleArn,omitempty"`
	AssumeRoleName      string   `json:"assumeRoleName,omitempty"`
	CrossAccountRoleARN string   `json:"crossAccountRoleArn,omitempty"`
	ExternalID          string   `json:"externalId,omitempty"`
	Regions             []string `json:"regions,omitempty"`
	Status              string   `json:"status,omitempty"`
}

// DefaultCrossAccountRole is the role assumed when a target account names none.
const DefaultCrossAccountRole = "DRSOrchestrationCrossAccountRole"

// RoleName returns the role to assume: the last segment of roleArn, else
// assumeRoleName, else the last segment of crossAccountRoleArn.
func (a *TargetAccount) RoleName() string {
	if a.RoleARN != "" {
		return lastSegment(a.RoleARN)
	}
	if a.AssumeRoleName != "" {
		return a.AssumeRoleName
	}
	if a.CrossAccountRoleARN != "" {
		return lastSegment(a.CrossAccountRoleARN)
	}
	return ""
}

func lastSegment(arn string) string {
	return arn[strings.LastIndex(arn, "/")+1:]
}

// AccountContext says in which account an execution's DRS calls run.
// The external id is kept in ExecutionSecrets, never here.
type AccountContext struct {
	AccountID        string `json:"accountId"`
	AssumeRoleName   string `json:"assumeRoleName,omitempty"`
	IsCurrentAccount bool   `json:"isCurrentAccount"`
}

// Target addresses DRS in one account and region; RoleARN empty means the default credentials.
type Target struct {
	AccountID  string
	Region     string
	RoleARN    string
	ExternalID string
}

// Key identifies the account and region, the unit DRS quotas and batching apply to.
func (t Target) Key() string { return t.AccountID + "/" + t.Region }

// RoleARNFor builds the ARN of a role in an account.
func RoleARNFor(accountID, role string) string {
	return "arn:aws:iam::" + accountID + ":role/" + role
}
