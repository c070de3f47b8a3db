package apptest

import (
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/password"
)

// A test binary that uses apptest hashes at argon2id's least cost, and its
// hashes still check.
func TestPasswords_HashedAtLeastCost(t *testing.T) {
	hash, err := password.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=8,t=1,p=1$") {
		t.Fatalf("hash = %q, want argon2id's least cost", hash)
	}
	if ok, err := password.Check("correct horse", hash); err != nil || !ok {
		t.Fatalf("Check = %v, %v", ok, err)
	}
}
