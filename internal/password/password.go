// Package password hashes and checks member passwords with argon2id.
//
// Hashes are PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so the
// parameters can be raised later without breaking stored hashes. Hashing is
// limited to one at a time per CPU: argon2id is memory-hard on purpose, and a
// burst of sign-ins must not multiply the server's peak memory.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Parameters from OWASP's password storage guidance for argon2id: of its
// equally strong settings, 12 MiB with three passes, which keeps a burst of
// sign-ins within the server's memory budget.
const (
	memoryKiB = 12 * 1024
	passes    = 3
	lanes     = 1
	saltLen   = 16
	keyLen    = 32
)

var slots = make(chan struct{}, runtime.GOMAXPROCS(0))

var b64 = base64.RawStdEncoding

// Hash returns the PHC-encoded argon2id hash of pw with a fresh salt.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := derive(pw, salt, memoryKiB, passes, lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Check reports whether pw matches the PHC-encoded hash. A malformed hash is
// an error, never a match.
func Check(pw, hash string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("password: not an argon2id hash")
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 {
		return false, errors.New("password: bad argon2 parameters")
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errors.New("password: bad salt")
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, errors.New("password: bad key")
	}
	got := derive(pw, salt, m, t, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

func derive(pw string, salt []byte, m, t uint32, p uint8, n uint32) []byte {
	slots <- struct{}{}
	defer func() { <-slots }()
	return argon2.IDKey([]byte(pw), salt, t, m, p, n)
}
