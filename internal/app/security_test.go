package app_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
	"github.com/drsorch/drsorch/internal/app"
)

// newSecureServe is `drsorch serve`'s composition with an OIDC issuer configured.
func newSecureServe(t *testing.T, is *drsorchtest.Issuer, clock drsorch.Clock) *app.App {
	t.Helper()
	a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), Demo: app.DemoOn, Clock: clock,
		OIDC: &auth.OIDCConfig{Issuer: is.URL, Audiences: []string{drsorchtest.IssuerClientID}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func pemOf(t *testing.T, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// TestTokenAttacks sends forged, stale and misdirected tokens to the API of
// `drsorch serve` (local tokens and a Cognito-like issuer): every one is a 401
// that says why without quoting the token; the genuine ones get in.
func TestTokenAttacks(t *testing.T) {
	is := drsorchtest.NewIssuer(t)
	now := time.Now().UTC().Truncate(time.Second)
	clock := drsorchtest.NewClock(now)
	a := newSecureServe(t, is, clock)
	key, err := auth.LoadKey(a.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	b, _ := key.MarshalJSON()
	if err := json.Unmarshal(b, &jwk); err != nil {
		t.Fatal(err)
	}
	localPriv := jwk.Key.(*ecdsa.PrivateKey)
	admin, err := os.ReadFile(a.AdminTokenPath)
	if err != nil {
		t.Fatal(err)
	}
	otherRSA, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherEC, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	admins := []string{auth.GroupAdmin}
	id := func(mod func(map[string]any)) map[string]any { return is.Claims(now, admins, mod) }
	rs := func(c map[string]any) string { return drsorchtest.Sign(t, jose.RS256, is.RSA, is.RSAKid, c) }
	local := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"iss": auth.LocalIssuer, "aud": auth.Audience, "sub": "local-user", "cognito:username": "admin",
			"cognito:groups": admins, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if mod != nil {
			mod(c)
		}
		return c
	}
	es := func(c map[string]any) string { return drsorchtest.Sign(t, jose.ES256, localPriv, key.KeyID(), c) }
	good := rs(id(nil))
	p := strings.Split(good, ".")

	accepted := []struct{ name, header string }{
		{"the admin token of the data directory", "Bearer " + strings.TrimSpace(string(admin))},
		{"a local token", "Bearer " + es(local(nil))},
		{"an ID token of the issuer", "Bearer " + good},
		{"an access token of the issuer", "Bearer " + drsorchtest.Sign(t, jose.ES256, is.EC, is.ECKid, id(func(c map[string]any) {
			c["token_use"], c["client_id"] = "access", drsorchtest.IssuerClientID
			delete(c, "aud")
		}))},
	}
	attacks := []struct{ name, header, want string }{
		{"no token", "", "Missing Authorization header"},
		{"not a bearer token", "Basic YWRtaW46YWRtaW4=", "must be 'Bearer <token>'"},
		{"malformed", "Bearer eyJhbGciOi.not-a.jwt", "malformed"},
		{"too long", "Bearer " + strings.Repeat("x", auth.MaxTokenBytes+1), "malformed"},
		{"alg none (issuer)", "Bearer " + b64(`{"alg":"none","kid":"`+is.RSAKid+`"}`) + "." + b64(mustJSON(id(nil))) + ".", `"none" is not accepted`},
		{"alg none (local)", "Bearer " + b64(`{"alg":"none"}`) + "." + b64(mustJSON(local(nil))) + ".", `"none" is not accepted`},
		{"HS256 signed with the issuer's public key", "Bearer " + drsorchtest.Sign(t, jose.HS256, pemOf(t, &is.RSA.PublicKey), is.RSAKid, id(nil)), `"HS256" is not accepted`},
		{"HS256 signed with the local public key", "Bearer " + drsorchtest.Sign(t, jose.HS256, pemOf(t, &localPriv.PublicKey), key.KeyID(), local(nil)), `"HS256" is not accepted`},
		{"ES256 under the issuer's RSA key id", "Bearer " + drsorchtest.Sign(t, jose.ES256, otherEC, is.RSAKid, id(nil)), `"ES256" does not match`},
		{"RS256 under the issuer's EC key id", "Bearer " + drsorchtest.Sign(t, jose.RS256, otherRSA, is.ECKid, id(nil)), `"RS256" does not match`},
		{"RS256 as a local token", "Bearer " + drsorchtest.Sign(t, jose.RS256, otherRSA, "", local(nil)), `"RS256" is not accepted`},
		{"expired (issuer)", "Bearer " + rs(id(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), "expired"},
		{"expired (local)", "Bearer " + es(local(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), "expired"},
		{"not yet valid", "Bearer " + rs(id(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), "not valid yet"},
		{"wrong issuer", "Bearer " + drsorchtest.Sign(t, jose.RS256, otherRSA, "k", id(func(c map[string]any) { c["iss"] = "https://evil.example.com" })), "issuer"},
		{"wrong audience (ID token)", "Bearer " + rs(id(func(c map[string]any) { c["aud"] = "another-app" })), "audience"},
		{"wrong client (access token)", "Bearer " + rs(id(func(c map[string]any) {
			c["token_use"], c["client_id"] = "access", "another-app"
			delete(c, "aud")
		})), "audience"},
		{"wrong audience (local)", "Bearer " + es(local(func(c map[string]any) { c["aud"] = "another-api" })), "audience"},
		{"wrong token_use", "Bearer " + rs(id(func(c map[string]any) { c["token_use"] = "refresh" })), "use \"refresh\" is not accepted"},
		{"unknown key id", "Bearer " + drsorchtest.Sign(t, jose.RS256, otherRSA, "rotated-away", id(nil)), "not one of the issuer's keys"},
		{"another key under the issuer's key id", "Bearer " + drsorchtest.Sign(t, jose.RS256, otherRSA, is.RSAKid, id(nil)), "signature is invalid"},
		{"a local token of another data directory", "Bearer " + drsorchtest.Sign(t, jose.ES256, otherEC, key.KeyID(), local(nil)), "signature is invalid"},
		{"tampered payload", "Bearer " + p[0] + "." + b64(mustJSON(id(func(c map[string]any) { c["cognito:groups"] = []string{"DRSOrchestrationAdmin", "x"} }))) + "." + p[2],
			"signature is invalid"},
		{"tampered signature", "Bearer " + p[0] + "." + p[1] + "." + flipFirst(p[2]), "signature is invalid"},
	}
	do := func(header string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/executions", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		w := httptest.NewRecorder()
		a.Handler.ServeHTTP(w, r)
		return w
	}
	for _, tc := range accepted {
		t.Run("accepted/"+tc.name, func(t *testing.T) {
			if w := do(tc.header); w.Code != http.StatusOK {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
		})
	}
	for _, tc := range attacks {
		t.Run("rejected/"+tc.name, func(t *testing.T) {
			w := do(tc.header)
			var body struct{ Error, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatalf("%d %s", w.Code, w.Body)
			}
			if w.Code != http.StatusUnauthorized || body.Error != drsorch.CodeUnauthorized || !strings.Contains(body.Message, tc.want) {
				t.Fatalf("got %d %s, want 401 UNAUTHORIZED saying %q", w.Code, w.Body, tc.want)
			}
			if tok := strings.TrimPrefix(tc.header, "Bearer "); len(tok) > 16 && strings.Contains(w.Body.String(), tok) {
				t.Fatal("the answer quotes the token")
			}
		})
	}
	// An issuer token's groups go through the same matrix as local tokens'.
	ro := rs(is.Claims(now, []string{auth.GroupReadOnly}, nil))
	r := httptest.NewRequest("POST", "/executions", strings.NewReader(`{"planId":"`+app.DemoPlanID+`","executionType":"DRILL","initiatedBy":"x"}`))
	r.Header.Set("Authorization", "Bearer "+ro)
	w := httptest.NewRecorder()
	a.Handler.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "Missing required permission: start_drill") {
		t.Fatalf("read-only start: %d %s", w.Code, w.Body)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// flipFirst changes the first character of s.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
