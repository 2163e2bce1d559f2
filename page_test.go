package drsorch_test

import (
	"encoding/base64"
	"testing"

	"github.com/drsorch/drsorch"
)

func TestPageToken(t *testing.T) {
	k := drsorch.PageKey{StartTime: 1767225600, ExecutionID: "6a1f0c2e-0000-4000-8000-000000000003"}
	got, err := drsorch.ParsePageToken(k.Token())
	if err != nil || got != k {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, k)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	bad := []struct{ name, tok string }{
		{"empty", ""},
		{"not base64", "%%%"},
		{"not JSON", enc("nope")},
		{"no execution id", enc(`{"s":1}`)},
		{"unknown field", enc(`{"s":1,"e":"x","admin":true}`)},
		{"trailing data", enc(`{"s":1,"e":"x"}{"s":2,"e":"y"}`)},
		{"padded base64", base64.URLEncoding.EncodeToString([]byte(`{"s":12,"e":"x"}`))},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := drsorch.ParsePageToken(tt.tok)
			if !drsorch.IsCode(err, drsorch.CodeInvalidParameter) || drsorch.AsError(err).Message != "invalid nextToken" {
				t.Errorf("ParsePageToken(%q) = %v, want INVALID_PARAMETER invalid nextToken", tt.tok, err)
			}
		})
	}
}
