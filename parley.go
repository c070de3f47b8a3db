// Package parley holds Parley's domain: the types every layer shares, the
// rules that need no storage to check, the error codes the service layer
// returns, and the interfaces of the store and the event bus.
//
// It imports neither net/http nor database/sql. The layers around it are:
//
//	internal/httpapi, internal/web   HTTP surfaces, thin
//	internal/service                 the only place that decides who may do what
//	internal/sqlstore                Store on SQLite and on PostgreSQL
//	internal/bus                     Bus in process and on NATS JetStream
package parley

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"time"

	"github.com/google/uuid"
)

// idEncoding is lowercase base32hex without padding; it keeps the byte order
// of a UUIDv7, so IDs sort by creation time as strings.
var idEncoding = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// NewID returns a new opaque, time-ordered identifier of 26 characters.
func NewID() string {
	id := uuid.Must(uuid.NewV7())
	return idEncoding.EncodeToString(id[:])
}

// IsID reports whether s has the form of an identifier NewID returns.
func IsID(s string) bool {
	_, ok := IDBytes(s)
	return ok
}

// IDBytes returns the 16 bytes the identifier s encodes, and whether s has
// the form of one NewID returns: 26 characters of its alphabet, the last
// with none of the 2 bits set that encode no byte, so that no two strings
// give the same bytes. IDFromBytes gives s back.
func IDBytes(s string) (b [16]byte, ok bool) {
	var text [26]byte
	if len(s) != len(text) {
		return b, false
	}
	if n, err := idEncoding.Decode(b[:], []byte(s)); err != nil || n != len(b) {
		return b, false
	}
	idEncoding.Encode(text[:], b[:])
	return b, string(text[:]) == s
}

// IDFromBytes returns the identifier that encodes b, as NewID would.
func IDFromBytes(b [16]byte) string {
	return idEncoding.EncodeToString(b[:])
}

// Now returns the wall clock's time in UTC with microsecond precision, the
// precision the store keeps. A server reads the time through its Clock
// instead, so that what expires when can be tested.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Clock tells a server the time. Everything that decides whether a token,
// grant, code, authorization request, session or ticket is still good
// reads it, and so does everything that stamps a time on a record. Its
// times are in UTC with microsecond precision.
type Clock interface {
	Now() time.Time
}

// WallClock is the Clock of a real server: Now.
type WallClock struct{}

// Now returns Now().
func (WallClock) Now() time.Time { return Now() }

// RandomToken returns 256 random bits in base64url: the secret part of a
// token, a client secret, a refresh token or a CSRF token.
func RandomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: crypto/rand crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns the SHA-256 of a token, the form in which tokens,
// secrets and codes are stored. They carry 256 random bits, so a fast hash
// is enough: no guess can find one.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
