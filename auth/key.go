package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/drsorch/drsorch/internal/fileutil"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// Key is a local ES256 signing key: it mints tokens and verifies them.
type Key struct {
	priv *ecdsa.PrivateKey
	kid  string
}

// ErrNoKey reports that a data directory has no signing key yet.
var ErrNoKey = errors.New("no signing key")

// GenerateKey returns a new random key.
func GenerateKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("auth: generating a key: %w", err)
	}
	return newKey(priv)
}

func newKey(priv *ecdsa.PrivateKey) (*Key, error) {
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("auth: key thumbprint: %w", err)
	}
	return &Key{priv: priv, kid: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// KeyID is the key's `kid`: its RFC 7638 thumbprint.
func (k *Key) KeyID() string { return k.kid }

// MarshalJSON writes the private key as a JWK.
func (k *Key) MarshalJSON() ([]byte, error) {
	return json.Marshal(jose.JSONWebKey{Key: k.priv, KeyID: k.kid, Algorithm: string(jose.ES256), Use: "sig"})
}

// ParseKey reads a private ES256 key written by MarshalJSON.
func ParseKey(data []byte) (*Key, error) {
	var jwk jose.JSONWebKey
	if err := json.Unmarshal(data, &jwk); err != nil {
		return nil, fmt.Errorf("auth: reading the signing key: %w", err)
	}
	priv, ok := jwk.Key.(*ecdsa.PrivateKey)
	if !ok || priv.Curve != elliptic.P256() {
		return nil, fmt.Errorf("auth: the signing key is not a private P-256 (ES256) key")
	}
	return newKey(priv)
}

// LoadKey reads the signing key of a data directory; ErrNoKey when there is none.
func LoadKey(dir string) (*Key, error) {
	path := filepath.Join(dir, KeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("auth: %w in %s", ErrNoKey, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// LoadOrCreateKey reads the signing key of a data directory, creating it
// (mode 0600) when there is none. created reports whether it was created.
func LoadOrCreateKey(dir string) (k *Key, created bool, err error) {
	k, err = LoadKey(dir)
	if err == nil || !errors.Is(err, ErrNoKey) {
		return k, false, err
	}
	if k, err = GenerateKey(); err != nil {
		return nil, false, err
	}
	data, err := k.MarshalJSON()
	if err != nil {
		return nil, false, err
	}
	switch err := createFile(filepath.Join(dir, KeyFile), data); {
	case errors.Is(err, fs.ErrExist):
		// Another process created it first: use that one.
		k, err = LoadKey(dir)
		return k, false, err
	case err != nil:
		return nil, false, err
	}
	return k, true, nil
}

// createFile writes data to a new file of mode 0600, atomically and never over an existing file.
func createFile(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

// replaceFile writes data to path (mode 0600) atomically, replacing any file there.
func replaceFile(path string, data []byte) error {
	tmp, err := writeTemp(path, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("auth: %w", err)
	}
	return nil
}

func writeTemp(path string, data []byte) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	name, err := fileutil.WriteTemp(path, data, 0o600)
	if err != nil {
		return "", fmt.Errorf("auth: writing %s: %w", path, err)
	}
	return name, nil
}

// TokenRequest says what token to mint.
type TokenRequest struct {
	// Group is the Cognito group the token carries (one of Groups).
	Group string
	// User names the caller: an email address becomes the `email` claim,
	// anything else `cognito:username`. Empty means a name derived from the group.
	User string
	// TTL is the token's lifetime (DefaultTTL when zero, at most MaxTTL).
	TTL time.Duration
	// Now is the issue time (the wall clock when zero).
	Now time.Time
}

// subjectSpace makes a user's `sub` a stable UUID derived from its name.
var subjectSpace = uuid.MustParse("6f1c2f4e-5f0e-4c55-9a57-2b8c1d0e9a11")

// Mint returns a signed token for a group.
func (k *Key) Mint(req TokenRequest) (string, error) {
	if err := CheckGroup(req.Group); err != nil {
		return "", err
	}
	ttl := req.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < 0 || ttl > MaxTTL {
		return "", fmt.Errorf("token lifetime must be between 1s and %s, got %s", MaxTTL, ttl)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now()
	}
	user := strings.TrimSpace(req.User)
	if user == "" {
		user = strings.ToLower(req.Group)
	}
	c := tokenClaims{
		Claims: jwt.Claims{
			Issuer:   LocalIssuer,
			Audience: jwt.Audience{Audience},
			Subject:  uuid.NewSHA1(subjectSpace, []byte(user)).String(),
			IssuedAt: jwt.NewNumericDate(now),
			Expiry:   jwt.NewNumericDate(now.Add(ttl)),
			ID:       uuid.NewString(),
		},
		Groups: groupsClaim{req.Group},
	}
	if strings.Contains(user, "@") {
		c.Email = user
	} else {
		c.Username = user
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.kid))
	if err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	tok, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("auth: signing a token: %w", err)
	}
	return tok, nil
}

// EnsureAdminToken makes sure the data directory holds a working admin token
// (group DRSOrchestrationAdmin, user "admin"): it writes one (mode 0600) when
// the file is missing, no longer verifies with the key, or expires within 30
// days. It returns the file's path and whether it was (re)written.
func EnsureAdminToken(dir string, k *Key, now time.Time) (path string, written bool, err error) {
	path = filepath.Join(dir, AdminTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		v := NewVerifier(k.Public(), nil)
		if c, exp, err := v.verify(strings.TrimSpace(string(b)), now); err == nil &&
			exp.Sub(now) > 30*24*time.Hour && containsGroup(c.Groups, GroupAdmin) {
			return path, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return path, false, fmt.Errorf("auth: %w", err)
	}
	tok, err := k.Mint(TokenRequest{Group: GroupAdmin, User: "admin", TTL: AdminTTL, Now: now})
	if err != nil {
		return path, false, err
	}
	if err := replaceFile(path, []byte(tok+"\n")); err != nil {
		return path, false, err
	}
	return path, true, nil
}

func containsGroup(gs []string, g string) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}

// Public returns the key's public half, for verifiers.
func (k *Key) Public() PublicKey { return PublicKey{key: &k.priv.PublicKey, kid: k.kid} }

// PublicKey verifies tokens minted by a Key.
type PublicKey struct {
	key *ecdsa.PublicKey
	kid string
}
