package auth_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/drsorchtest"
)

func newKey(t *testing.T) *auth.Key {
	t.Helper()
	k, err := auth.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// privateOf extracts the private key through the key's JWK form, to sign hand-made tokens.
func privateOf(t *testing.T, k *auth.Key) *ecdsa.PrivateKey {
	t.Helper()
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(b, &jwk); err != nil {
		t.Fatal(err)
	}
	return jwk.Key.(*ecdsa.PrivateKey)
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, claims any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestMintAndVerify(t *testing.T) {
	clock := drsorchtest.NewClock(time.Time{})
	k := newKey(t)
	v := auth.NewVerifier(k.Public(), clock)
	tests := []struct {
		name     string
		req      auth.TokenRequest
		email    string
		username string
	}{
		{"username", auth.TokenRequest{Group: auth.GroupOperator, User: "alice"}, "", "alice"},
		{"email", auth.TokenRequest{Group: auth.GroupDrillOperator, User: "bob@example.com"}, "bob@example.com", ""},
		{"default user", auth.TokenRequest{Group: auth.GroupReadOnly}, "", "drsreadonly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Now = clock.Now()
			tok, err := k.Mint(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			c, err := v.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Email != tc.email || c.Username != tc.username || !slices.Equal(c.Groups, []string{tc.req.Group}) || c.Subject == "" {
				t.Fatalf("caller %+v", c)
			}
			again, _ := k.Mint(tc.req)
			c2, _ := v.Verify(again)
			if c2.Subject != c.Subject {
				t.Fatalf("sub not stable: %s vs %s", c.Subject, c2.Subject)
			}
		})
	}
}

func TestMintRejectsUnknownGroup(t *testing.T) {
	_, err := newKey(t).Mint(auth.TokenRequest{Group: "Admins"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, g := range auth.Groups {
		if !strings.Contains(err.Error(), g) {
			t.Errorf("error %q does not name %s", err, g)
		}
	}
	if _, err := newKey(t).Mint(auth.TokenRequest{Group: auth.GroupAdmin, TTL: -time.Hour}); err == nil {
		t.Fatal("negative ttl accepted")
	}
}

func TestVerifyRejects(t *testing.T) {
	clock := drsorchtest.NewClock(time.Time{})
	now := clock.Now()
	k := newKey(t)
	priv := privateOf(t, k)
	other := newKey(t)
	v := auth.NewVerifier(k.Public(), clock)
	valid := func(mod func(c map[string]any)) map[string]any {
		c := map[string]any{"iss": auth.LocalIssuer, "aud": []string{auth.Audience}, "sub": "u-1",
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "cognito:groups": []string{auth.GroupAdmin}}
		if mod != nil {
			mod(c)
		}
		return c
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	otherTok, _ := other.Mint(auth.TokenRequest{Group: auth.GroupAdmin, Now: now})
	expired, _ := k.Mint(auth.TokenRequest{Group: auth.GroupAdmin, Now: now.Add(-13 * time.Hour)})
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"alg none", b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(`{"sub":"x","iss":"drsorch-local","aud":"drsorch","exp":9999999999}`) + ".", `"none" is not accepted`},
		{"hs256", sign(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), valid(nil)), `"HS256" is not accepted`},
		{"garbage", "not-a-token", "malformed"},
		{"other key", otherTok, "signature is invalid"},
		{"expired", expired, "expired"},
		{"wrong issuer", sign(t, jose.ES256, priv, valid(func(c map[string]any) { c["iss"] = "https://cognito-idp.example" })), "issuer"},
		{"wrong audience", sign(t, jose.ES256, priv, valid(func(c map[string]any) { c["aud"] = "someone-else" })), "audience"},
		{"no expiry", sign(t, jose.ES256, priv, valid(func(c map[string]any) { delete(c, "exp") })), "no expiry"},
		{"no subject", sign(t, jose.ES256, priv, valid(func(c map[string]any) { delete(c, "sub") })), "no subject"},
		{"future", sign(t, jose.ES256, priv, valid(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })), "not valid yet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(tc.token)
			if !drsorch.IsCode(err, drsorch.CodeUnauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want UNAUTHORIZED containing %q", err, tc.want)
			}
		})
	}
	t.Run("comma-separated groups", func(t *testing.T) {
		tok := sign(t, jose.ES256, priv, valid(func(c map[string]any) { c["cognito:groups"] = "DRSOperator, DRSAuditor" }))
		c, err := v.Verify(tok)
		if err != nil || !slices.Equal(c.Groups, []string{"DRSOperator", "DRSAuditor"}) {
			t.Fatalf("%+v %v", c, err)
		}
	})
}

func TestAuthenticateHeader(t *testing.T) {
	clock := drsorchtest.NewClock(time.Time{})
	k := newKey(t)
	v := auth.NewVerifier(k.Public(), clock)
	tok, _ := k.Mint(auth.TokenRequest{Group: auth.GroupAdmin, User: "admin", Now: clock.Now()})
	tests := []struct {
		name, header, want string
	}{
		{"missing", "", "Missing Authorization header"},
		{"basic", "Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"},
		{"empty bearer", "Bearer ", "must be 'Bearer <token>'"},
		{"ok", "Bearer " + tok, ""},
		{"lower-case scheme", "bearer " + tok, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/executions", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			c, err := v.Authenticate(r)
			if tc.want == "" {
				if err != nil || c.Username != "admin" {
					t.Fatalf("%+v %v", c, err)
				}
				return
			}
			if !drsorch.IsCode(err, drsorch.CodeUnauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestKeyAndAdminTokenFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := auth.LoadKey(dir); err == nil {
		t.Fatal("LoadKey of an empty dir succeeded")
	}
	k, created, err := auth.LoadOrCreateKey(dir)
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	k2, created, err := auth.LoadOrCreateKey(dir)
	if err != nil || created || k2.KeyID() != k.KeyID() {
		t.Fatalf("reload: created=%v err=%v kid %s vs %s", created, err, k2.KeyID(), k.KeyID())
	}
	now := time.Now()
	path, written, err := auth.EnsureAdminToken(dir, k, now)
	if err != nil || !written {
		t.Fatalf("written=%v err=%v", written, err)
	}
	if runtime.GOOS != "windows" {
		if m := mode(t, filepath.Join(dir, auth.KeyFile)); m != 0o600 {
			t.Errorf("key file mode %o", m)
		}
		if m := mode(t, path); m != 0o600 {
			t.Errorf("admin token mode %o", m)
		}
	}
	b, _ := os.ReadFile(path)
	c, err := auth.NewVerifier(k.Public(), nil).Verify(strings.TrimSpace(string(b)))
	if err != nil || !slices.Contains(c.Groups, auth.GroupAdmin) {
		t.Fatalf("admin token: %+v %v", c, err)
	}
	if _, written, _ := auth.EnsureAdminToken(dir, k, now.Add(time.Hour)); written {
		t.Error("a valid admin token was rewritten")
	}
	if _, written, _ := auth.EnsureAdminToken(dir, k, now.Add(auth.AdminTTL-24*time.Hour)); !written {
		t.Error("an admin token about to expire was not renewed")
	}
	if _, written, _ := auth.EnsureAdminToken(dir, newKey(t), now); !written {
		t.Error("an admin token of another key was not replaced")
	}
	if err := os.WriteFile(filepath.Join(dir, auth.KeyFile), []byte(`{"kty":"oct","k":"AAAA"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.LoadKey(dir); err == nil || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("symmetric key accepted: %v", err)
	}
}
