package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/httpapi"
)

// PageKeyFile holds the key that signs the API's pagination tokens (serve).
const PageKeyFile = "page-key"

// PageKeyEnv names the Lambda's pagination-token key: hex, at least 32 bytes.
const PageKeyEnv = "DRSORCH_PAGE_KEY"

// serveAuthenticator is the Authenticator of `drsorch serve`: the local
// tokens signed with the data directory's key and, when configured, the
// tokens of an OIDC issuer (a Cognito user pool).
func serveAuthenticator(cfg Config, key *auth.Key) (httpapi.Authenticator, error) {
	b := auth.Bearer{Local: auth.NewVerifier(key.Public(), cfg.Clock)}
	if cfg.OIDC != nil {
		oc := *cfg.OIDC
		if oc.Clock == nil {
			oc.Clock = cfg.Clock
		}
		v, err := auth.NewOIDCVerifier(oc)
		if err != nil {
			return nil, err
		}
		b.OIDC = v
	}
	return b, nil
}

// lambdaPageKey returns the key of the Lambda's pagination tokens:
// DRSORCH_PAGE_KEY when set, else a key derived from the deployment's
// identity (function, tables, state machine, account, region). A derived key
// is the same in every instance of the function, so tokens work across
// them, and it refuses tampered tokens and tokens of other deployments; it is
// not secret, so set DRSORCH_PAGE_KEY to make tokens unforgeable too.
func lambdaPageKey(getenv func(string) string) ([]byte, error) {
	if v := strings.TrimSpace(getenv(PageKeyEnv)); v != "" {
		k, err := hex.DecodeString(v)
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("%s must be a hex key of at least 32 bytes", PageKeyEnv)
		}
		return k, nil
	}
	m := hmac.New(sha256.New, []byte("drsorch page token key v1"))
	for _, name := range []string{EnvFunctionName, EnvExecutionHistoryTable, EnvStateMachineARN, EnvAccountID, EnvRegion} {
		m.Write([]byte(name + "=" + getenv(name) + "\x00"))
	}
	return m.Sum(nil), nil
}
