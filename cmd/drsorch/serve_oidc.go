package main

import (
	"flag"
	"strings"

	"github.com/drsorch/drsorch/auth"
)

// oidcFlags adds the flags of an OIDC issuer (a Cognito user pool) whose
// tokens `serve` accepts besides its local ones, and returns a function that
// builds the configuration once the flags are parsed (nil without --oidc-issuer).
func oidcFlags(fs *flag.FlagSet) func() (*auth.OIDCConfig, error) {
	issuer := fs.String("oidc-issuer", envOr("DRSORCH_OIDC_ISSUER", ""),
		"accept the tokens of this OIDC issuer too, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID (env DRSORCH_OIDC_ISSUER)")
	clientID := fs.String("oidc-client-id", envOr("DRSORCH_OIDC_CLIENT_ID", ""),
		"accepted app client ids, comma-separated: the aud of ID tokens, the client_id of Cognito access tokens (env DRSORCH_OIDC_CLIENT_ID)")
	audience := fs.String("oidc-audience", envOr("DRSORCH_OIDC_AUDIENCE", ""),
		"accepted audiences, comma-separated, for issuers whose aud is not a client id (env DRSORCH_OIDC_AUDIENCE)")
	tokenUse := fs.String("oidc-token-use", envOr("DRSORCH_OIDC_TOKEN_USE", "id,access"),
		"accepted token_use values: id, access or both (env DRSORCH_OIDC_TOKEN_USE)")
	jwks := fs.String("jwks-url", envOr("DRSORCH_JWKS_URL", ""),
		"the issuer's JWKS (default: the issuer + /.well-known/jwks.json) (env DRSORCH_JWKS_URL)")
	groups := fs.String("oidc-groups-claim", envOr("DRSORCH_OIDC_GROUPS_CLAIM", auth.DefaultGroupsClaim),
		"the claim holding the caller's groups (env DRSORCH_OIDC_GROUPS_CLAIM)")
	return func() (*auth.OIDCConfig, error) {
		if *issuer == "" {
			for _, f := range [][2]string{{"--oidc-client-id", *clientID}, {"--oidc-audience", *audience}, {"--jwks-url", *jwks}} {
				if f[1] != "" {
					return nil, usageError("%s needs --oidc-issuer", f[0])
				}
			}
			return nil, nil
		}
		cfg := &auth.OIDCConfig{Issuer: *issuer, Audiences: []string{*clientID, *audience}, JWKSURL: *jwks, GroupsClaim: *groups}
		for _, u := range strings.Split(*tokenUse, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.TokenUse = append(cfg.TokenUse, u)
			}
		}
		// Check now, so a bad configuration is a usage error rather than a failed start.
		if _, err := auth.NewOIDCVerifier(*cfg); err != nil {
			return nil, usageError("%s", strings.TrimPrefix(err.Error(), "auth: "))
		}
		return cfg, nil
	}
}
