package service

import (
	"fmt"
	"testing"
	"time"
)

// typingTold tells a member's writing typingBurst times at once, then once
// every typingEvery, and forgets those whose allowance grew whole again
// when it holds typingKeys of them.
func TestTypingTold(t *testing.T) {
	var told typingTold
	start := time.Unix(1_700_000_000, 0)
	for i := range typingBurst {
		if !told.allow("a", start) {
			t.Fatalf("told %d times at once, want %d", i, typingBurst)
		}
	}
	if told.allow("a", start.Add(typingEvery-time.Nanosecond)) || !told.allow("a", start.Add(typingEvery)) || told.allow("a", start.Add(typingEvery)) {
		t.Fatal("after its burst, a key is not told once every typingEvery")
	}
	for i := range typingKeys - 1 {
		told.allow(fmt.Sprint("key ", i), start)
	}
	if !told.allow("one more", start.Add(2*typingEvery)) || len(told.full) != 2 {
		t.Fatalf("full, it remembers %d keys, want the two not whole again", len(told.full))
	}
}
