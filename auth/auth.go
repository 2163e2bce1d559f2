// Package auth issues and checks the bearer tokens of drsorch's REST API.
//
// On one machine (`drsorch serve`) tokens are local: JWTs signed with an ES256
// key kept in the data directory, carrying the same claims a Cognito ID token
// carries (`cognito:groups`, `email` or `cognito:username`, `sub`), so the
// engine sees the same caller whichever way a request arrives.
package auth

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Claims of local tokens.
const (
	// LocalIssuer is the `iss` of tokens minted by a local signing key.
	LocalIssuer = "drsorch-local"
	// Audience is the `aud` of tokens minted for drsorch's API.
	Audience = "drsorch"
)

// Files kept in the data directory.
const (
	// KeyFile holds the ES256 signing key as a JWK (mode 0600).
	KeyFile = "signing-key.json"
	// AdminTokenFile holds the admin token written on the first start (mode 0600).
	AdminTokenFile = "admin-token"
)

// Token lifetimes.
const (
	// AdminTTL is the lifetime of the admin token.
	AdminTTL = 365 * 24 * time.Hour
	// DefaultTTL is the lifetime of tokens minted by `drsorch token`.
	DefaultTTL = 12 * time.Hour
	// MaxTTL bounds the lifetime of any minted token.
	MaxTTL = 2 * AdminTTL
)

// The Cognito groups drsorch knows (reference §8), most privileged first.
const (
	GroupAdmin           = "DRSOrchestrationAdmin"
	GroupRecoveryManager = "DRSRecoveryManager"
	GroupPlanManager     = "DRSPlanManager"
	GroupOperator        = "DRSOperator"
	GroupDrillOperator   = "DRSDrillOperator"
	GroupReadOnly        = "DRSReadOnly"
	GroupAuditor         = "DRSAuditor"
)

// Groups lists the valid group names.
var Groups = []string{
	GroupAdmin, GroupRecoveryManager, GroupPlanManager, GroupOperator,
	GroupDrillOperator, GroupReadOnly, GroupAuditor,
}

// ValidGroup reports whether g is one of Groups (exact spelling).
func ValidGroup(g string) bool { return slices.Contains(Groups, g) }

// CheckGroup returns an error naming the valid groups when g is not one of them.
func CheckGroup(g string) error {
	if ValidGroup(g) {
		return nil
	}
	return fmt.Errorf("unknown group %q: must be one of %s", g, strings.Join(Groups, ", "))
}
