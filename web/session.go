package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Cookie names.
const (
	sessionCookie = "planbot_session"
	stateCookie   = "planbot_oauth_state"
)

// sessionTTL is how long a login lasts at most; the user token's own
// expiry ends it sooner.
const sessionTTL = 8 * time.Hour

// stateTTL is how long a login may take between the authorize redirect
// and the callback.
const stateTTL = 10 * time.Minute

// session is what the session cookie holds, sealed: nobody without the
// key can read it (the user token is in it) or forge it.
type session struct {
	// ID is random per login; the CSRF token derives from it.
	ID      string    `json:"id"`
	Login   string    `json:"login"`
	Token   string    `json:"token"`
	Expires time.Time `json:"exp"`
}

// loginState is what the state cookie holds, sealed, between the
// authorize redirect and the callback.
type loginState struct {
	State   string    `json:"state"`
	Return  string    `json:"return"`
	Expires time.Time `json:"exp"`
}

// sealer seals and opens cookie values with AES-256-GCM: a value is
// authenticated (a changed byte is refused) and secret. Its keys derive
// from the App's client secret, so every replica opens what another
// sealed.
type sealer struct {
	aead cipher.AEAD
	csrf []byte // key of the CSRF tokens
}

func newSealer(secret []byte) (*sealer, error) {
	if len(secret) == 0 {
		return nil, errors.New("web: the client secret is empty")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("planbot web " + label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("cookie"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, csrf: derive("csrf")}, nil
}

// seal returns v as JSON, encrypted and authenticated under name (a
// cookie's value cannot be moved to another cookie).
func (s *sealer) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

// open reverses seal; it fails for anything seal did not make under name.
func (s *sealer) open(name, value string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) < s.aead.NonceSize() {
		return errors.New("malformed")
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], []byte(name))
	if err != nil {
		return errors.New("not sealed by planbot")
	}
	return json.Unmarshal(plain, v)
}

// csrfToken returns the CSRF token of a session.
func (s *sealer) csrfToken(sessionID string) string {
	m := hmac.New(sha256.New, s.csrf)
	m.Write([]byte(sessionID))
	return hex.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether token is the session's CSRF token.
func (s *sealer) validCSRF(sessionID, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.csrfToken(sessionID)))
}

// randomID returns 16 random bytes, hex-encoded.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cookie returns a cookie planbot sets: HttpOnly, SameSite=Lax, Secure
// when the page is served over TLS, expiring at exp.
func (h *Handler) cookie(r *http.Request, name, value string, exp time.Time) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode,
	}
}

// clearCookie returns the cookie that removes name.
func (h *Handler) clearCookie(r *http.Request, name string) *http.Cookie {
	return &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: h.secure(r), SameSite: http.SameSiteLaxMode}
}

// secure reports whether the page is served over TLS: directly, or, with
// an https --external-url, behind a proxy that terminates it.
func (h *Handler) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(h.ExternalURL, "https://")
}

// session returns the request's valid session, or false when there is
// none: no cookie, one planbot did not seal, or one that expired.
func (h *Handler) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	var s session
	if err := h.sealer.open(sessionCookie, c.Value, &s); err != nil {
		return session{}, false
	}
	if s.ID == "" || s.Token == "" || !h.now().Before(s.Expires) {
		return session{}, false
	}
	return s, true
}
