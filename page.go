package drsorch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// PageKey is the position in a list of executions (newest startTime first,
// ties by executionId descending) after which the next page starts. Every
// Store uses it, so a NextToken means the same in each.
type PageKey struct {
	StartTime   int64  `json:"s"`
	ExecutionID string `json:"e"`
}

// Token returns k as a NextToken: its JSON, base64url-encoded.
func (k PageKey) Token() string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParsePageToken reads a NextToken made by PageKey.Token. Anything else is
// INVALID_PARAMETER "invalid nextToken".
func ParsePageToken(tok string) (PageKey, error) {
	var k PageKey
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.DisallowUnknownFields()
		err = d.Decode(&k)
		if err == nil && d.More() {
			err = errors.New("trailing data")
		}
	}
	if err != nil || k.ExecutionID == "" {
		return PageKey{}, Errorf(CodeInvalidParameter, "invalid nextToken")
	}
	return k, nil
}
