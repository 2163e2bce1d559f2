package httpapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/drsorch/drsorch"
)

// PageTokens makes the store's pagination tokens opaque to clients and
// tamper-evident: a token given out is the store's token with an HMAC over
// it, and a token that was changed, or issued with another key, is refused
// before it reaches the store.
type PageTokens struct {
	key []byte
}

// pagePrefix versions the format and separates it from other uses of the key.
const pagePrefix = "p1."

// maxPageTokenBytes bounds a token a client may send.
const maxPageTokenBytes = 4096

// NewPageTokens returns tokens signed with key; a key shorter than 32 bytes
// is replaced by a random one (tokens then work for this process only).
func NewPageTokens(key []byte) *PageTokens {
	if len(key) < 32 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("httpapi: no randomness: " + err.Error())
		}
	}
	return &PageTokens{key: append([]byte(nil), key...)}
}

func (p *PageTokens) mac(raw []byte) []byte {
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte("drsorch page token\x00"))
	m.Write(raw)
	return m.Sum(nil)
}

// Seal wraps a store token for a client ("" stays "").
func (p *PageTokens) Seal(raw string) string {
	if raw == "" {
		return ""
	}
	enc := base64.RawURLEncoding
	return pagePrefix + enc.EncodeToString([]byte(raw)) + "." + enc.EncodeToString(p.mac([]byte(raw)))
}

// Open returns the store token a client's token wraps, or an
// INVALID_PARAMETER error naming nextToken when it is not one Seal made.
func (p *PageTokens) Open(token string) (string, error) {
	bad := drsorch.Errorf(drsorch.CodeInvalidParameter, "nextToken is not a token this API issued").
		WithDetails(map[string]any{"parameter": "nextToken"})
	if len(token) > maxPageTokenBytes {
		return "", bad
	}
	body, ok := strings.CutPrefix(token, pagePrefix)
	if !ok {
		return "", bad
	}
	payload, sig, ok := strings.Cut(body, ".")
	if !ok {
		return "", bad
	}
	enc := base64.RawURLEncoding
	raw, err1 := enc.DecodeString(payload)
	got, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || len(raw) == 0 || !hmac.Equal(got, p.mac(raw)) {
		return "", bad
	}
	return string(raw), nil
}
