package drsorchtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// IssuerClientID is the app client id of the tokens an Issuer mints.
const IssuerClientID = "drsorch-test-client"

// Issuer is an OIDC issuer for tests, shaped like a Cognito user pool: an
// RSA and an EC signing key published as a JWKS on a local HTTP server.
type Issuer struct {
	URL    string // the issuer (iss); the JWKS is at URL + /.well-known/jwks.json
	RSA    *rsa.PrivateKey
	EC     *ecdsa.PrivateKey
	RSAKid string
	ECKid  string
	// Fetches counts the requests for the JWKS.
	Fetches atomic.Int64

	mu   sync.Mutex
	keys []jose.JSONWebKey
}

// NewIssuer starts an issuer; it stops with the test.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &Issuer{RSA: rk, EC: ek, RSAKid: "rsa-key-1", ECKid: "ec-key-1"}
	is.keys = []jose.JSONWebKey{
		{Key: &rk.PublicKey, KeyID: is.RSAKid, Algorithm: string(jose.RS256), Use: "sig"},
		{Key: &ek.PublicKey, KeyID: is.ECKid, Use: "sig"},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/jwks.json" {
			http.NotFound(w, r)
			return
		}
		is.Fetches.Add(1)
		is.mu.Lock()
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: is.keys})
		is.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	is.URL = srv.URL
	return is
}

// SetKeys replaces the published keys (raw JSON objects, so tests may publish anything).
func (is *Issuer) SetKeys(keys ...jose.JSONWebKey) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = keys
}

// Claims returns the claims of a valid ID token at now for a user of groups;
// mod, when not nil, changes them.
func (is *Issuer) Claims(now time.Time, groups []string, mod func(map[string]any)) map[string]any {
	c := map[string]any{
		"iss": is.URL, "sub": "5f0c6a2e-user", "aud": IssuerClientID, "token_use": "id",
		"email": "user@example.com", "cognito:username": "user", "cognito:groups": groups,
		"iat": now.Unix(), "auth_time": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if mod != nil {
		mod(c)
	}
	return c
}

// Sign signs claims with key (any key go-jose takes) as alg, naming kid ("" for none).
func Sign(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
