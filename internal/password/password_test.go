package password_test

import (
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/password"
)

// earlier is "correct horse" hashed by an earlier version, with 12 MiB and
// three passes.
const earlier = "$argon2id$v=19$m=12288,t=3,p=1$cGFybGV5LXRlc3Qtc2FsdA$zoRxIYxg1Bafaurig1cm36oDWYGIwAjkssDrpoDSPmU"

func TestHashAndCheck(t *testing.T) {
	hash, err := password.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=7168,t=5,p=1$") {
		t.Fatalf("hash = %q, want an argon2id PHC string", hash)
	}
	if strings.Contains(hash, "correct horse") {
		t.Fatal("hash contains the password")
	}
	t.Run("OK", func(t *testing.T) {
		if ok, err := password.Check("correct horse", hash); err != nil || !ok {
			t.Fatalf("Check = %v, %v; want true", ok, err)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		if ok, err := password.Check("correct horsE", hash); err != nil || ok {
			t.Fatalf("Check = %v, %v; want false", ok, err)
		}
	})
	t.Run("EarlierParameters", func(t *testing.T) {
		if ok, err := password.Check("correct horse", earlier); err != nil || !ok {
			t.Fatalf("Check = %v, %v; want true", ok, err)
		}
		if ok, err := password.Check("correct horsE", earlier); err != nil || ok {
			t.Fatalf("Check = %v, %v; want false", ok, err)
		}
	})
	t.Run("NeedsRehash", func(t *testing.T) {
		if password.NeedsRehash(hash) {
			t.Errorf("NeedsRehash(%q) = true for a hash at today's cost", hash)
		}
		for _, h := range []string{
			earlier,
			"$argon2id$v=19$m=7168,t=4,p=1$cGFybGV5LXRlc3Qtc2FsdA$zoRxIYxg1Bafaurig1cm36oDWYGIwAjkssDrpoDSPmU",
			"$argon2id$v=19$m=7168,t=5,p=2$cGFybGV5LXRlc3Qtc2FsdA$zoRxIYxg1Bafaurig1cm36oDWYGIwAjkssDrpoDSPmU",
		} {
			if !password.NeedsRehash(h) {
				t.Errorf("NeedsRehash(%q) = false, want true", h)
			}
		}
		if password.NeedsRehash("plain") {
			t.Error("NeedsRehash of a malformed hash = true, want false: no password matches it")
		}
	})
	t.Run("Rehash", func(t *testing.T) {
		again, err := password.Rehash("correct horse", earlier)
		if err != nil {
			t.Fatal(err)
		}
		if password.NeedsRehash(again) || !strings.HasPrefix(again, "$argon2id$v=19$m=7168,t=5,p=1$cGFybGV5LXRlc3Qtc2FsdA$") {
			t.Errorf("Rehash = %q, want today's cost with the earlier salt", again)
		}
		if ok, err := password.Check("correct horse", again); err != nil || !ok {
			t.Errorf("Check of the rehash = %v, %v; want true", ok, err)
		}
		if twice, _ := password.Rehash("correct horse", earlier); twice != again {
			t.Errorf("Rehash twice: %q and %q, want the same", again, twice)
		}
	})
	t.Run("SaltsDiffer", func(t *testing.T) {
		other, _ := password.Hash("correct horse")
		if other == hash {
			t.Fatal("two hashes of one password are equal")
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5"} {
			if ok, err := password.Check("x", bad); err == nil || ok {
				t.Errorf("Check(%q) = %v, %v; want an error", bad, ok, err)
			}
		}
	})
}

// TestHash_CollectsAroundTheHashOnlyOnASmallHeap: on a small heap a hash's
// memory is most of it, and it is collected before and after the hash; on
// a heap many times a hash, the hash forces no collection of it.
func TestHash_CollectsAroundTheHashOnlyOnASmallHeap(t *testing.T) {
	// Only forced collections run while the test counts them.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	collections := func() uint32 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.NumGC
	}
	t.Run("SmallHeap", func(t *testing.T) {
		runtime.GC()
		before := collections()
		if _, err := password.Hash("correct horse"); err != nil {
			t.Fatal(err)
		}
		if n := collections() - before; n < 2 {
			t.Errorf("%d collections around a hash on a small heap, want 2", n)
		}
	})
	t.Run("LargeHeap", func(t *testing.T) {
		live := make([]byte, 64<<20) // nine hashes' memory, held through the hash
		runtime.GC()
		before := collections()
		if _, err := password.Hash("correct horse"); err != nil {
			t.Fatal(err)
		}
		if n := collections() - before; n != 0 {
			t.Errorf("%d collections around a hash on a heap of %d MiB, want none", n, len(live)>>20)
		}
		runtime.KeepAlive(live)
	})
}
