package password_test

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/password"
)

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
		// Made by an earlier version, with 12 MiB and three passes.
		const earlier = "$argon2id$v=19$m=12288,t=3,p=1$cGFybGV5LXRlc3Qtc2FsdA$zoRxIYxg1Bafaurig1cm36oDWYGIwAjkssDrpoDSPmU"
		if ok, err := password.Check("correct horse", earlier); err != nil || !ok {
			t.Fatalf("Check = %v, %v; want true", ok, err)
		}
		if ok, err := password.Check("correct horsE", earlier); err != nil || ok {
			t.Fatalf("Check = %v, %v; want false", ok, err)
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
