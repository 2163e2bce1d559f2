package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
)

func newOIDC(t *testing.T, is *drsorchtest.Issuer, clock drsorch.Clock, edit func(*auth.OIDCConfig)) *auth.OIDCVerifier {
	t.Helper()
	cfg := auth.OIDCConfig{Issuer: is.URL, Audiences: []string{drsorchtest.IssuerClientID}, Clock: clock}
	if edit != nil {
		edit(&cfg)
	}
	v, err := auth.NewOIDCVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOIDCConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.OIDCConfig
		want string
	}{
		{"no issuer", auth.OIDCConfig{Audiences: []string{"c"}}, "must be an https URL"},
		{"plain http", auth.OIDCConfig{Issuer: "http://idp.example.com", Audiences: []string{"c"}}, "must be an https URL"},
		{"no audience", auth.OIDCConfig{Issuer: "https://idp.example.com"}, "at least one audience"},
		{"blank audiences", auth.OIDCConfig{Issuer: "https://idp.example.com", Audiences: []string{" , "}}, "at least one audience"},
		{"bad token use", auth.OIDCConfig{Issuer: "https://idp.example.com", Audiences: []string{"c"}, TokenUse: []string{"refresh"}}, "token use"},
		{"plain http JWKS", auth.OIDCConfig{Issuer: "https://idp.example.com", Audiences: []string{"c"}, JWKSURL: "http://idp.example.com/k"}, "JWKS URL"},
		{"ok", auth.OIDCConfig{Issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc/", Audiences: []string{"a,b"}}, ""},
		{"loopback http", auth.OIDCConfig{Issuer: "http://127.0.0.1:9999", Audiences: []string{"c"}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := auth.NewOIDCVerifier(tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			case tc.want == "" && strings.HasSuffix(v.Issuer(), "/"):
				t.Fatalf("issuer %q keeps its slash", v.Issuer())
			}
		})
	}
}

func TestOIDCAccepts(t *testing.T) {
	is := drsorchtest.NewIssuer(t)
	clock := drsorchtest.NewClock(time.Time{})
	now := clock.Now()
	v := newOIDC(t, is, clock, nil)
	tests := []struct {
		name   string
		token  string
		caller drsorch.Caller
	}{
		{"RS256 ID token", drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, is.Claims(now, []string{"DRSOperator"}, nil)),
			drsorch.Caller{Subject: "5f0c6a2e-user", Email: "user@example.com", Username: "user", Groups: []string{"DRSOperator"}}},
		{"ES256 ID token, groups as a string", drsorchtest.Sign(t, jose.ES256, is.EC, is.ECKid, is.Claims(now, nil, func(c map[string]any) {
			c["cognito:groups"] = "DRSReadOnly, DRSAuditor"
		})), drsorch.Caller{Subject: "5f0c6a2e-user", Email: "user@example.com", Username: "user", Groups: []string{"DRSReadOnly", "DRSAuditor"}}},
		{"access token: client_id, username", drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, is.Claims(now, []string{"DRSDrillOperator"}, func(c map[string]any) {
			c["token_use"], c["client_id"], c["username"] = "access", drsorchtest.IssuerClientID, "dana"
			delete(c, "aud")
			delete(c, "email")
			delete(c, "cognito:username")
		})), drsorch.Caller{Subject: "5f0c6a2e-user", Username: "dana", Groups: []string{"DRSDrillOperator"}}},
		{"within the clock skew", drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, is.Claims(now, nil, func(c map[string]any) {
			c["exp"] = now.Add(-10 * time.Second).Unix()
		})), drsorch.Caller{Subject: "5f0c6a2e-user", Email: "user@example.com", Username: "user"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != tc.caller.Subject || c.Email != tc.caller.Email || c.Username != tc.caller.Username ||
				!slices.Equal(c.Groups, tc.caller.Groups) || c.System {
				t.Fatalf("caller %+v, want %+v", c, tc.caller)
			}
		})
	}
}

// publicPEM is the issuer's RSA public key as PEM, the secret of a classic
// algorithm-confusion attack (HS256 "signed" with the public key).
func publicPEM(t *testing.T, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func TestOIDCRejects(t *testing.T) {
	is := drsorchtest.NewIssuer(t)
	clock := drsorchtest.NewClock(time.Time{})
	now := clock.Now()
	v := newOIDC(t, is, clock, func(c *auth.OIDCConfig) { c.TokenUse = []string{auth.TokenUseID} })
	valid := func(mod func(map[string]any)) map[string]any {
		return is.Claims(now, []string{"DRSOrchestrationAdmin"}, mod)
	}
	rs := func(c map[string]any) string { return drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, c) }
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	good := rs(valid(nil))
	parts := strings.Split(good, ".")
	tests := []struct {
		name, token, want string
	}{
		{"empty", "", "malformed"},
		{"garbage", "not.a.jwt", "malformed"},
		{"too long", strings.Repeat("a", auth.MaxTokenBytes+1), "malformed"},
		{"alg none", b64(`{"alg":"none","kid":"rsa-key-1"}`) + "." + b64(`{"iss":"`+is.URL+`","sub":"x","aud":"`+drsorchtest.IssuerClientID+`","exp":9999999999}`) + ".",
			`"none" is not accepted`},
		{"HS256 with the public key", drsorchtest.Sign(t, jose.HS256, publicPEM(t, &is.RSA.PublicKey), is.RSAKid, valid(nil)), `"HS256" is not accepted`},
		{"ES256 header on the RSA key", drsorchtest.Sign(t, jose.ES256, is.EC, is.RSAKid, valid(nil)), `"ES256" does not match`},
		{"RS256 header on the EC key", drsorchtest.Sign(t, jose.RS256, is.RSA, is.ECKid, valid(nil)), `"RS256" does not match`},
		{"ES384 on a P-256 key", drsorchtest.Sign(t, jose.ES384, p384, is.ECKid, valid(nil)), `"ES384" does not match`},
		{"PS256 on a key that says RS256", drsorchtest.Sign(t, jose.PS256, is.RSA, is.RSAKid, valid(nil)), `"PS256" does not match`},
		{"no kid", drsorchtest.Sign(t, jose.RS256, is.RSA, "", valid(nil)), "no key id"},
		{"unknown kid", drsorchtest.Sign(t, jose.RS256, other, "someone-elses-key", valid(nil)), "not one of the issuer's keys"},
		{"another key under the issuer's kid", drsorchtest.Sign(t, jose.RS256, other, is.RSAKid, valid(nil)), "signature is invalid"},
		{"tampered payload", parts[0] + "." + b64(`{"iss":"`+is.URL+`","sub":"x","aud":"`+drsorchtest.IssuerClientID+`","token_use":"id","exp":9999999999,"cognito:groups":["DRSOrchestrationAdmin"]}`) + "." + parts[2],
			"signature is invalid"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2]), "signature is invalid"},
		{"expired", rs(valid(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), "expired"},
		{"no expiry", rs(valid(func(c map[string]any) { delete(c, "exp") })), "no expiry"},
		{"not yet valid", rs(valid(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		{"issued in the future", rs(valid(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		{"wrong issuer", rs(valid(func(c map[string]any) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/other" })), "issuer"},
		{"wrong audience", rs(valid(func(c map[string]any) { c["aud"] = "another-client" })), "audience"},
		{"wrong client", rs(valid(func(c map[string]any) {
			delete(c, "aud")
			c["client_id"] = "another-client"
		})), "audience"},
		{"access token where only ID tokens go", rs(valid(func(c map[string]any) { c["token_use"] = "access" })), `use "access" is not accepted`},
		{"refresh token_use", rs(valid(func(c map[string]any) { c["token_use"] = "refresh" })), `use "refresh" is not accepted`},
		{"no subject", rs(valid(func(c map[string]any) { delete(c, "sub") })), "no subject"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.token)
			e := drsorch.AsError(err)
			if err == nil || e.Code != drsorch.CodeUnauthorized || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("got %v, want UNAUTHORIZED containing %q", err, tc.want)
			}
			if len(tc.token) > 20 && strings.Contains(e.Message, tc.token) {
				t.Fatal("the message quotes the token")
			}
		})
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

// TestCognitoTokenUse: tokens of a Cognito user pool must say what they are.
func TestCognitoTokenUse(t *testing.T) {
	is := drsorchtest.NewIssuer(t)
	clock := drsorchtest.NewClock(time.Time{})
	pool := "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool1"
	v := newOIDC(t, is, clock, func(c *auth.OIDCConfig) { c.Issuer, c.JWKSURL = pool, is.URL+"/.well-known/jwks.json" })
	c := is.Claims(clock.Now(), nil, func(c map[string]any) { c["iss"] = pool })
	if _, err := v.Verify(context.Background(), drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, c)); err != nil {
		t.Fatal(err)
	}
	delete(c, "token_use")
	if _, err := v.Verify(context.Background(), drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, c)); err == nil ||
		!strings.Contains(err.Error(), "no token_use") {
		t.Fatalf("got %v", err)
	}
}

// TestJWKSRefresh: keys are cached; an unknown key id fetches the JWKS again,
// at most once per MinRefresh, so a flood of made-up key ids cannot hammer
// the issuer; rotated keys are picked up; a failing issuer keeps the cache.
func TestJWKSRefresh(t *testing.T) {
	is := drsorchtest.NewIssuer(t)
	clock := drsorchtest.NewClock(time.Time{})
	v := newOIDC(t, is, clock, func(c *auth.OIDCConfig) { c.MinRefresh, c.MaxAge = time.Minute, time.Hour })
	ctx := context.Background()
	claims := func() map[string]any { return is.Claims(clock.Now(), nil, nil) }
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, claims())); err != nil {
			t.Fatal(err)
		}
	}
	if n := is.Fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for five tokens of one key", n)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for i := 0; i < 50; i++ {
		if _, err := v.Verify(ctx, drsorchtest.Sign(t, jose.RS256, other, "made-up-"+string(rune('a'+i%26)), claims())); err == nil {
			t.Fatal("unknown key accepted")
		}
	}
	if n := is.Fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within a minute of unknown key ids", n)
	}
	// Rotation: the issuer publishes a new key; after MinRefresh its tokens work.
	rotated := jose.JSONWebKey{Key: &other.PublicKey, KeyID: "rsa-key-2", Use: "sig"}
	is.SetKeys(rotated, jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef"), KeyID: "oct-key", Algorithm: "HS256"})
	clock.Advance(61 * time.Second)
	if _, err := v.Verify(ctx, drsorchtest.Sign(t, jose.RS256, other, "rsa-key-2", claims())); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := is.Fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a rotation", n)
	}
	// The symmetric key the JWKS published is never used.
	hs := drsorchtest.Sign(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "oct-key", claims())
	if _, err := v.Verify(ctx, hs); err == nil || !strings.Contains(err.Error(), `"HS256" is not accepted`) {
		t.Fatalf("HS256 with the JWKS's oct key: %v", err)
	}
	// The dropped key is no longer accepted once the JWKS has been read again.
	clock.Advance(61 * time.Second)
	if _, err := v.Verify(ctx, drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, claims())); err == nil {
		t.Fatal("a key the issuer dropped is accepted")
	}
}

func TestJWKSUnavailable(t *testing.T) {
	is := drsorchtest.NewIssuer(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) }))
	defer down.Close()
	clock := drsorchtest.NewClock(time.Time{})
	v := newOIDC(t, is, clock, func(c *auth.OIDCConfig) { c.JWKSURL = down.URL + "/jwks" })
	_, err := v.Verify(context.Background(), drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, is.Claims(clock.Now(), nil, nil)))
	if err == nil || drsorch.ErrorCode(err) == drsorch.CodeUnauthorized && !strings.Contains(err.Error(), "JWKS") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "JWKS") {
		t.Fatalf("the error does not say the keys are unavailable: %v", err)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
