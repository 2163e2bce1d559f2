package drsorch

import "strings"

// ProtectionGroup is a set of DRS source servers, chosen by id or by tags, in one account and region.
type ProtectionGroup struct {
	GroupID             string            `json:"groupId"`
	GroupName           string            `json:"groupName"`
	Description         string            `json:"description,omitempty"`
	Region              string            `json:"region"`
	AccountID           string            `json:"accountId,omitempty"`
	AssumeRoleName      string            `json:"assumeRoleName,omitempty"`
	SourceServerIDs     []string          `json:"sourceServerIds"`
	ServerSelectionTags map[string]string `json:"serverSelectionTags,omitempty"`
	LaunchConfig        map[string]any    `json:"launchConfig,omitempty"`
	CreatedDate         int64             `json:"createdDate,omitempty"`
	LastModifiedDate    int64             `json:"lastModifiedDate,omitempty"`
	Version             int64             `json:"version"`
}

// UsesTags reports whether the group selects its servers by tags (tags win over ids).
func (g *ProtectionGroup) UsesTags() bool { return len(g.ServerSelectionTags) > 0 }

// MatchesTags reports whether a server's tags satisfy every selection tag:
// keys exact (trimmed), values compared case-insensitively.
func (g *ProtectionGroup) MatchesTags(tags map[string]string) bool {
	if len(g.ServerSelectionTags) == 0 {
		return false
	}
	trimmed := make(map[string]string, len(tags))
	for k, v := range tags {
		trimmed[strings.TrimSpace(k)] = v
	}
	for k, want := range g.ServerSelectionTags {
		got, ok := trimmed[strings.TrimSpace(k)]
		if !ok || !strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(want)) {
			return false
		}
	}
	return true
}
