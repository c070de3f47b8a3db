package service

import (
	"fmt"
	"testing"
)

// A body of the largest size (64 KiB) holds about 10,000 names of 250
// members: each is a look in a set, not among every name before it.
func BenchmarkOtherUsernames_AFullBody(b *testing.B) {
	names := make([]string, 10_000)
	for i := range names {
		names[i] = fmt.Sprintf("member%03d", i%250)
	}
	for b.Loop() {
		if _, err := otherUsernames(names, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}
