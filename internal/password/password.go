// Package password hashes and checks member passwords with argon2id.
//
// Hashes are PHC strings ($argon2id$v=19$m=…,t=…,p=…$salt$hash), so the
// parameters can be raised later without breaking stored hashes. Hashes run
// within a memory budget: argon2id is memory-hard on purpose, and a burst of
// sign-ins must not multiply the server's peak memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/semaphore"
)

// cost is how much memory and how many passes argon2id takes.
type cost struct{ memoryKiB, passes uint32 }

// newHashes is the cost of new hashes, from OWASP's password storage
// guidance for argon2id: of its equally strong settings (about 36
// MiB-passes each), 7 MiB with five passes, the one of least memory.
// Earlier versions used 12 MiB with three passes; those hashes still
// check, with their own parameters, and NeedsRehash says so, for the
// password to be hashed again at this cost (Rehash).
var newHashes = cost{memoryKiB: 7 * 1024, passes: 5}

const (
	lanes   = 1
	saltLen = 16
	keyLen  = 32
)

// UseLeastCostInTests makes new hashes as cheap as argon2id allows (8 KiB,
// one pass) for the rest of a test binary, which must call it before any
// hash (from an init function); outside a test binary it panics. Tests
// that start many servers and sign many members in spent a third of their
// CPU, and more in the collections around each hash, on hashing at the
// real cost; what they test is what the server does with hashes, the same
// at any cost. This package's own tests hold the real cost.
func UseLeastCostInTests() {
	if !testing.Testing() {
		panic("password: UseLeastCostInTests outside a test binary")
	}
	newHashes = cost{memoryKiB: 8 * lanes, passes: 1}
}

// budgetKiB is the memory the hashes running at once may take together.
// Each hash takes its m (newHashes' for a new one, what a stored hash says
// for a check), so with the parameters above one runs at a time, and a
// stored hash whose m is over the budget runs alone.
const budgetKiB = 8 * 1024

var budget = semaphore.NewWeighted(budgetKiB)

var b64 = base64.RawStdEncoding

// Hash returns the PHC-encoded argon2id hash of pw with a fresh salt.
func Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	return hashWith(pw, salt), nil
}

// Rehash returns pw hashed as Hash hashes it now, but with the salt of
// hash, the hash pw matched (one NeedsRehash said to hash again): two
// checks of one password against one hash make the same new hash, so
// that each may find the other's stored in its stead and know it for
// the same password.
func Rehash(pw, hash string) (string, error) {
	h, err := parse(hash)
	if err != nil {
		return "", err
	}
	return hashWith(pw, h.salt), nil
}

// hashWith returns the PHC-encoded argon2id hash of pw with salt, at the
// cost of new hashes.
func hashWith(pw string, salt []byte) string {
	c := newHashes
	key := derive(pw, salt, c.memoryKiB, c.passes, lanes, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, c.memoryKiB, c.passes, lanes, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Check reports whether pw matches the PHC-encoded hash. A malformed hash is
// an error, never a match.
func Check(pw, hash string) (bool, error) {
	h, err := parse(hash)
	if err != nil {
		return false, err
	}
	got := derive(pw, h.salt, h.memoryKiB, h.passes, h.lanes, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// NeedsRehash reports whether hash, one Check accepts, was made with other
// parameters than Hash uses now (an earlier version's cost): a password
// that matches it is to be hashed again, for every account's check to
// take the same time. A malformed hash needs none: no password matches it.
func NeedsRehash(hash string) bool {
	h, err := parse(hash)
	return err == nil && (h.cost != newHashes || h.lanes != lanes || len(h.key) != keyLen)
}

// phc is an argon2id hash read from its PHC string.
type phc struct {
	cost
	lanes     uint8
	salt, key []byte
}

// parse reads a PHC-encoded argon2id hash of this package's version.
func parse(hash string) (phc, error) {
	var h phc
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return h, errors.New("password: not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memoryKiB, &h.passes, &h.lanes); err != nil || h.memoryKiB == 0 || h.passes == 0 || h.lanes == 0 {
		return h, errors.New("password: bad argon2 parameters")
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil {
		return h, errors.New("password: bad salt")
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) == 0 {
		return h, errors.New("password: bad key")
	}
	return h, nil
}

// derive runs argon2id within the budget, between two collections when
// the heap is small. argon2 allocates its m KiB afresh on every call and
// drops them on return, and the server collects garbage rarely (GOGC=200
// under a memory limit). On a small heap, a hash's memory is most of it:
// the collection before frees what was dropped since the last one (the
// previous hash's memory, start-up's buffers), for this hash to reuse
// instead of growing the heap; the one after frees this hash's memory at
// once and sets the next collection's target from a heap without it, not
// from one that held it (three times that heap at GOGC=200). On a large
// heap (a node holding thousands of connections) the hash is a small part
// of it, the collector's own pacing absorbs it, and two forced collections
// of the whole heap on every sign-in would cost far more than they save.
func derive(pw string, salt []byte, m, t uint32, p uint8, n uint32) []byte {
	cost := min(int64(m), budgetKiB)
	_ = budget.Acquire(context.Background(), cost) // fails only when its context ends
	defer budget.Release(cost)
	collect := heapIsSmall(m)
	if collect {
		runtime.GC()
	}
	key := argon2.IDKey([]byte(pw), salt, t, m, p, n)
	if collect {
		runtime.GC()
	}
	return key
}

// smallHeapHashes is how many hashes' memory a heap may hold, live, and
// still count as small: above it, a hash adds a quarter of the heap or
// less.
const smallHeapHashes = 4

// heapIsSmall reports whether the live heap, as of the last collection,
// is at most smallHeapHashes times a hash of m KiB.
func heapIsSmall(m uint32) bool {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Kind() != metrics.KindUint64 || sample[0].Value.Uint64() <= smallHeapHashes*uint64(m)<<10
}
