package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/drsorch/drsorch"
)

// Token uses of Cognito tokens (the `token_use` claim).
const (
	TokenUseID     = "id"
	TokenUseAccess = "access"
)

// DefaultGroupsClaim is the claim that carries a caller's groups.
const DefaultGroupsClaim = "cognito:groups"

// MaxTokenBytes bounds the length of a bearer token; longer ones are malformed.
const MaxTokenBytes = 16 << 10

// maxJWKSBytes bounds a JWKS document.
const maxJWKSBytes = 1 << 20

// oidcAlgorithms are the signature algorithms an issuer's tokens may use:
// asymmetric ones only, so a token can never be signed with a public key as
// an HMAC secret, and never "none".
var oidcAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// OIDCConfig says which tokens of an OpenID Connect issuer (a Cognito user
// pool, or any other) `drsorch serve` accepts.
type OIDCConfig struct {
	// Issuer is the exact `iss` of the tokens, e.g.
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123.
	Issuer string
	// Audiences are the accepted app client ids or audiences: a token is
	// accepted when its `aud` (ID tokens) or `client_id` (Cognito access
	// tokens) is one of them. At least one is required.
	Audiences []string
	// TokenUse lists the accepted `token_use` values (default: id and access).
	// Tokens of a Cognito issuer must carry one; others may have none.
	TokenUse []string
	// JWKSURL is where the issuer's signing keys are (default Issuer +
	// "/.well-known/jwks.json"). It must be https, except on a loopback host.
	JWKSURL string
	// GroupsClaim names the claim holding the caller's groups (default cognito:groups).
	GroupsClaim string
	// HTTPClient fetches the JWKS (default: a client with a 10s timeout).
	HTTPClient *http.Client
	// Clock is the time tokens are checked at (default: the wall clock).
	Clock drsorch.Clock
	// MinRefresh is the least time between two fetches of the JWKS, so tokens
	// naming unknown keys cannot make drsorch hammer the issuer (default 1m).
	MinRefresh time.Duration
	// MaxAge is how long fetched keys are used before they are fetched again (default 1h).
	MaxAge time.Duration
}

// OIDCVerifier checks tokens of one OIDC issuer against its JWKS: signature
// (asymmetric algorithms only, matching the key), key id, issuer, audience or
// client id, token use, expiry and not-before. Keys are cached; a token naming
// an unknown key id makes it fetch the JWKS again, at most once per MinRefresh.
type OIDCVerifier struct {
	cfg      OIDCConfig
	cognito  bool
	fetchMu  sync.Mutex // one fetch at a time
	mu       sync.Mutex // guards the fields below
	keys     map[string]jose.JSONWebKey
	fetched  time.Time // last successful fetch
	tried    time.Time // last attempt
	fetchErr error     // cause of the last failed fetch
}

// NewOIDCVerifier checks the configuration and returns a verifier. It fetches
// nothing yet: the JWKS is read on the first token.
func NewOIDCVerifier(cfg OIDCConfig) (*OIDCVerifier, error) {
	cfg.Issuer = strings.TrimSpace(cfg.Issuer)
	iss, err := url.Parse(cfg.Issuer)
	if cfg.Issuer == "" || err != nil || iss.Host == "" || (iss.Scheme != "https" && !(iss.Scheme == "http" && loopback(iss.Hostname()))) {
		return nil, fmt.Errorf("auth: the OIDC issuer must be an https URL (http only on a loopback host), got %q", cfg.Issuer)
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	var auds []string
	for _, a := range cfg.Audiences {
		for _, p := range strings.Split(a, ",") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(auds, p) {
				auds = append(auds, p)
			}
		}
	}
	if len(auds) == 0 {
		return nil, errors.New("auth: an OIDC issuer needs at least one audience or app client id")
	}
	cfg.Audiences = auds
	if len(cfg.TokenUse) == 0 {
		cfg.TokenUse = []string{TokenUseID, TokenUseAccess}
	}
	for _, u := range cfg.TokenUse {
		if u != TokenUseID && u != TokenUseAccess {
			return nil, fmt.Errorf("auth: token use must be %q or %q, got %q", TokenUseID, TokenUseAccess, u)
		}
	}
	if cfg.JWKSURL == "" {
		cfg.JWKSURL = cfg.Issuer + "/.well-known/jwks.json"
	}
	ju, err := url.Parse(cfg.JWKSURL)
	if err != nil || ju.Host == "" || (ju.Scheme != "https" && !(ju.Scheme == "http" && loopback(ju.Hostname()))) {
		return nil, fmt.Errorf("auth: the JWKS URL must be an https URL (http only on a loopback host), got %q", cfg.JWKSURL)
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = DefaultGroupsClaim
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = drsorch.SystemClock
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = time.Hour
	}
	cognito := strings.HasPrefix(iss.Host, "cognito-idp.") && strings.HasSuffix(iss.Host, ".amazonaws.com")
	return &OIDCVerifier{cfg: cfg, cognito: cognito}, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Issuer returns the accepted `iss`.
func (v *OIDCVerifier) Issuer() string { return v.cfg.Issuer }

// oidcClaims are the claims of an ID or access token that drsorch reads.
type oidcClaims struct {
	jwt.Claims
	TokenUse        string `json:"token_use"`
	ClientID        string `json:"client_id"`
	Email           string `json:"email"`
	CognitoUsername string `json:"cognito:username"`
	Username        string `json:"username"`
}

// Verify checks a token and returns its caller. Failures are UNAUTHORIZED
// errors saying what is wrong, never quoting the token.
func (v *OIDCVerifier) Verify(ctx context.Context, token string) (drsorch.Caller, error) {
	if len(token) > MaxTokenBytes {
		return drsorch.Caller{}, unauthorized("Token is malformed: longer than %d bytes", MaxTokenBytes)
	}
	t, err := jwt.ParseSigned(token, oidcAlgorithms)
	if err != nil {
		if alg := headerAlg(token); alg != "" && !slices.Contains(oidcAlgorithms, jose.SignatureAlgorithm(alg)) {
			return drsorch.Caller{}, unauthorized("Token algorithm %q is not accepted (asymmetric signatures only)", clip(alg))
		}
		return drsorch.Caller{}, unauthorized("Token is malformed: not a signed JWT")
	}
	if len(t.Headers) != 1 {
		return drsorch.Caller{}, unauthorized("Token is malformed: not a signed JWT")
	}
	h := t.Headers[0]
	if h.KeyID == "" {
		return drsorch.Caller{}, unauthorized("Token has no key id (kid)")
	}
	key, err := v.key(ctx, h.KeyID)
	if err != nil {
		return drsorch.Caller{}, err
	}
	alg := jose.SignatureAlgorithm(h.Algorithm)
	if !algFits(alg, key) {
		return drsorch.Caller{}, unauthorized("Token algorithm %q does not match the issuer's key", alg)
	}
	var c oidcClaims
	raw := map[string]any{}
	if err := t.Claims(key.Key, &c, &raw); err != nil {
		return drsorch.Caller{}, unauthorized("Token signature is invalid")
	}
	if c.Expiry == nil {
		return drsorch.Caller{}, unauthorized("Token has no expiry (exp)")
	}
	err = c.Claims.ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, Time: v.cfg.Clock.Now()}, Leeway)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return drsorch.Caller{}, unauthorized("Token expired at %s", c.Expiry.Time().UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrInvalidIssuer):
		return drsorch.Caller{}, unauthorized("Token issuer %q is not accepted", clip(c.Issuer))
	case errors.Is(err, jwt.ErrNotValidYet), errors.Is(err, jwt.ErrIssuedInTheFuture):
		return drsorch.Caller{}, unauthorized("Token is not valid yet")
	case err != nil:
		return drsorch.Caller{}, unauthorized("Token is invalid")
	}
	switch {
	case c.TokenUse == "" && v.cognito:
		return drsorch.Caller{}, unauthorized("Token has no token_use")
	case c.TokenUse != "" && !slices.Contains(v.cfg.TokenUse, c.TokenUse):
		return drsorch.Caller{}, unauthorized("Token use %q is not accepted (want %s)", clip(c.TokenUse), strings.Join(v.cfg.TokenUse, " or "))
	}
	if !v.audienceOK(c) {
		return drsorch.Caller{}, unauthorized("Token audience (aud or client_id) is not accepted")
	}
	if c.Subject == "" {
		return drsorch.Caller{}, unauthorized("Token has no subject (sub)")
	}
	caller := drsorch.Caller{Subject: c.Subject, Email: c.Email, Username: c.CognitoUsername, Groups: GroupsOf(raw[v.cfg.GroupsClaim])}
	if caller.Username == "" {
		caller.Username = c.Username
	}
	return caller, nil
}

// audienceOK reports whether the token is for one of the accepted audiences:
// an ID token by its aud, a Cognito access token by its client_id.
func (v *OIDCVerifier) audienceOK(c oidcClaims) bool {
	for _, a := range c.Audience {
		if slices.Contains(v.cfg.Audiences, a) {
			return true
		}
	}
	return c.ClientID != "" && slices.Contains(v.cfg.Audiences, c.ClientID)
}

// GroupsOf reads a groups claim: a list of strings, a JSON array string, a
// "[a b]" string (HTTP APIs flatten lists so) or a comma-separated string.
func GroupsOf(v any) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch g := v.(type) {
	case []any:
		for _, x := range g {
			if s, ok := x.(string); ok {
				add(s)
			}
		}
	case []string:
		for _, s := range g {
			add(s)
		}
	case string:
		g = strings.TrimSpace(g)
		var list []string
		switch {
		case strings.HasPrefix(g, "[") && json.Unmarshal([]byte(g), &list) == nil:
			for _, s := range list {
				add(s)
			}
		case strings.HasPrefix(g, "[") && strings.HasSuffix(g, "]"): // HTTP APIs flatten lists to "[a b]"
			for _, s := range strings.FieldsFunc(g[1:len(g)-1], func(r rune) bool { return r == ' ' || r == ',' }) {
				add(s)
			}
		default:
			for _, s := range strings.Split(g, ",") {
				add(s)
			}
		}
	}
	return out
}

// algFits reports whether a signature algorithm is one the key may verify:
// RSA keys (2048 bits or more) take RS*/PS*, EC keys the ES* of their curve,
// Ed25519 keys EdDSA; a key that names its algorithm takes that one only.
func algFits(alg jose.SignatureAlgorithm, k jose.JSONWebKey) bool {
	if k.Algorithm != "" && k.Algorithm != string(alg) {
		return false
	}
	switch key := k.Key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
			return key.N.BitLen() >= 2048
		}
	case *ecdsa.PublicKey:
		switch alg {
		case jose.ES256:
			return key.Curve == elliptic.P256()
		case jose.ES384:
			return key.Curve == elliptic.P384()
		case jose.ES512:
			return key.Curve == elliptic.P521()
		}
	case ed25519.PublicKey:
		return alg == jose.EdDSA
	}
	return false
}

// key returns the issuer's key with the id, fetching the JWKS when the key is
// unknown or the cached keys are old, at most once per MinRefresh.
func (v *OIDCVerifier) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	now := v.cfg.Clock.Now()
	v.mu.Lock()
	k, known := v.keys[kid]
	fresh := known && now.Sub(v.fetched) < v.cfg.MaxAge
	v.mu.Unlock()
	if fresh {
		return k, nil
	}
	if err := v.refresh(ctx, now); err != nil && !known {
		return jose.JSONWebKey{}, err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// After a failed fetch the cached keys stay in use; after a successful
	// one a key the issuer dropped is no longer accepted.
	if k, ok := v.keys[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, unauthorized("Token key id is not one of the issuer's keys")
}

// refresh fetches the JWKS unless it was tried less than MinRefresh ago.
func (v *OIDCVerifier) refresh(ctx context.Context, now time.Time) error {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.mu.Lock()
	recent := !v.tried.IsZero() && now.Sub(v.tried) < v.cfg.MinRefresh
	lastErr := v.fetchErr
	v.mu.Unlock()
	if recent {
		if lastErr != nil && len(v.snapshot()) == 0 {
			return drsorch.Wrap(drsorch.CodeInternal, lastErr, "the issuer's keys (JWKS) are not available")
		}
		return nil
	}
	keys, err := v.fetch(ctx)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.tried = now
	v.fetchErr = err
	if err != nil {
		return drsorch.Wrap(drsorch.CodeInternal, err, "the issuer's keys (JWKS) are not available")
	}
	v.keys, v.fetched = keys, now
	return nil
}

func (v *OIDCVerifier) snapshot() map[string]jose.JSONWebKey {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.keys
}

// fetch reads the JWKS and keeps its public signing keys that have a key id.
// Symmetric and private keys are dropped: a JWKS can never make drsorch
// accept an HMAC-signed token.
func (v *OIDCVerifier) fetch(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the JWKS: %w", err)
	}
	if len(b) > maxJWKSBytes {
		return nil, fmt.Errorf("the JWKS is larger than %d bytes", maxJWKSBytes)
	}
	// Keys are decoded one by one, so one key drsorch cannot use does not hide the others.
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("the JWKS is not a JSON key set: %w", err)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || k.KeyID == "" || !k.IsPublic() || !k.Valid() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		switch k.Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			keys[k.KeyID] = k
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWKS holds no public signing key with a key id")
	}
	return keys, nil
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
