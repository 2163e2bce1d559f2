package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/drsorch/drsorch"
)

// tokenClaims are the claims of a token, named as in a Cognito ID token.
type tokenClaims struct {
	jwt.Claims
	Groups   groupsClaim `json:"cognito:groups,omitempty"`
	Email    string      `json:"email,omitempty"`
	Username string      `json:"cognito:username,omitempty"`
}

// groupsClaim reads `cognito:groups` given as a list or as a comma-separated string.
type groupsClaim []string

// UnmarshalJSON accepts ["a","b"] or "a,b".
func (g *groupsClaim) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*g = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("cognito:groups must be a list or a comma-separated string")
	}
	*g = nil
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*g = append(*g, p)
		}
	}
	return nil
}

// Leeway is the clock skew tolerated on `exp`, `nbf` and `iat`.
const Leeway = 30 * time.Second

// Verifier checks bearer tokens signed by one key: the signature (ES256
// only), expiry, issuer and audience. It is the Authenticator of `drsorch serve`.
type Verifier struct {
	key      PublicKey
	clock    drsorch.Clock
	issuer   string
	audience string
}

// NewVerifier returns a Verifier of tokens signed by key, on clock (the wall clock when nil).
func NewVerifier(key PublicKey, clock drsorch.Clock) *Verifier {
	if clock == nil {
		clock = drsorch.SystemClock
	}
	return &Verifier{key: key, clock: clock, issuer: LocalIssuer, audience: Audience}
}

func unauthorized(format string, args ...any) error {
	return drsorch.Errorf(drsorch.CodeUnauthorized, format, args...)
}

// Authenticate reads the `Authorization: Bearer <token>` header and returns the
// caller the token names. Failures are UNAUTHORIZED errors saying what is wrong.
func (v *Verifier) Authenticate(r *http.Request) (drsorch.Caller, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return drsorch.Caller{}, err
	}
	return v.Verify(tok)
}

// BearerToken returns the token of the request's `Authorization: Bearer
// <token>` header, or an UNAUTHORIZED error saying what is missing.
func BearerToken(r *http.Request) (string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", unauthorized("Missing Authorization header: send 'Authorization: Bearer <token>' (the admin token is in the data directory's %s file)", AdminTokenFile)
	}
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", unauthorized("Authorization header must be 'Bearer <token>'")
	}
	return tok, nil
}

// Bearer is the Authenticator of `drsorch serve`: it accepts the local
// tokens of `drsorch token` (Local) and, when configured, the tokens of an
// OIDC issuer such as a Cognito user pool (OIDC). A token goes to the
// verifier of the issuer its `iss` names; that verifier checks everything,
// the issuer included.
type Bearer struct {
	Local *Verifier     // nil: no local tokens
	OIDC  *OIDCVerifier // nil: no OIDC issuer
}

// Authenticate verifies the request's bearer token.
func (b Bearer) Authenticate(r *http.Request) (drsorch.Caller, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return drsorch.Caller{}, err
	}
	iss := claimedIssuer(tok)
	switch {
	case b.OIDC != nil && iss == b.OIDC.Issuer():
		return b.OIDC.Verify(r.Context(), tok)
	case b.Local != nil && (iss == LocalIssuer || iss == ""):
		return b.Local.Verify(tok) // an unreadable token is refused there, saying why
	case b.OIDC != nil && iss == "":
		return b.OIDC.Verify(r.Context(), tok)
	case iss != "":
		return drsorch.Caller{}, unauthorized("Token issuer %q is not accepted", clip(iss))
	}
	return drsorch.Caller{}, unauthorized("No token issuer is configured: every request is refused")
}

// claimedIssuer returns the `iss` a compact JWT claims, unverified ("" when unreadable).
func claimedIssuer(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// Verify checks a token and returns its caller.
func (v *Verifier) Verify(token string) (drsorch.Caller, error) {
	c, _, err := v.verify(token, v.clock.Now())
	if err != nil {
		return drsorch.Caller{}, err
	}
	caller := drsorch.Caller{Subject: c.Subject, Email: c.Email, Username: c.Username, Groups: []string(c.Groups)}
	if caller.Subject == "" {
		return drsorch.Caller{}, unauthorized("Token has no subject (sub)")
	}
	return caller, nil
}

func (v *Verifier) verify(token string, now time.Time) (tokenClaims, time.Time, error) {
	var c tokenClaims
	if len(token) > MaxTokenBytes {
		return c, time.Time{}, unauthorized("Token is malformed: longer than %d bytes", MaxTokenBytes)
	}
	t, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		if alg := headerAlg(token); alg != "" && alg != string(jose.ES256) {
			return c, time.Time{}, unauthorized("Token algorithm %q is not accepted (ES256 required)", clip(alg))
		}
		return c, time.Time{}, unauthorized("Token is malformed: not a signed JWT")
	}
	if err := t.Claims(v.key.key, &c); err != nil {
		return c, time.Time{}, unauthorized("Token signature is invalid")
	}
	if c.Expiry == nil {
		return c, time.Time{}, unauthorized("Token has no expiry (exp)")
	}
	err = c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{v.audience}, Time: now}, Leeway)
	switch {
	case err == nil:
		return c, c.Expiry.Time(), nil
	case errors.Is(err, jwt.ErrExpired):
		return c, time.Time{}, unauthorized("Token expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return c, time.Time{}, unauthorized("Token issuer %q is not accepted", clip(c.Issuer))
	case errors.Is(err, jwt.ErrInvalidAudience):
		return c, time.Time{}, unauthorized("Token audience %v is not accepted (want %q)", []string(c.Audience), v.audience)
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return c, time.Time{}, unauthorized("Token is not valid yet")
	}
	return c, time.Time{}, unauthorized("Token is invalid")
}

// headerAlg returns the `alg` of a compact JWS header, "" when unreadable.
func headerAlg(token string) string {
	head, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.Alg
}
