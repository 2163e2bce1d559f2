package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestServeOIDCFlags: a bad OIDC configuration is a usage error, before
// anything is opened or written.
func TestServeOIDCFlags(t *testing.T) {
	for _, k := range []string{"DRSORCH_OIDC_ISSUER", "DRSORCH_OIDC_CLIENT_ID", "DRSORCH_OIDC_AUDIENCE", "DRSORCH_JWKS_URL"} {
		t.Setenv(k, "")
	}
	data := filepath.Join(t.TempDir(), "data")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"client id without an issuer", []string{"--oidc-client-id", "abc"}, "--oidc-client-id needs --oidc-issuer"},
		{"JWKS without an issuer", []string{"--jwks-url", "https://idp.example.com/keys"}, "--jwks-url needs --oidc-issuer"},
		{"plain http issuer", []string{"--oidc-issuer", "http://idp.example.com", "--oidc-client-id", "abc"}, "must be an https URL"},
		{"no client id", []string{"--oidc-issuer", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X"}, "at least one audience"},
		{"bad token use", []string{"--oidc-issuer", "https://idp.example.com", "--oidc-client-id", "abc", "--oidc-token-use", "refresh"}, "token use"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, append([]string{"serve", "--data", data}, tc.args...)...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
