package service

import (
	"fmt"
	"testing"
	"time"
)

// typingTold tells a member's writing once a second at most, and forgets
// those told longer ago when it holds typingKeys of them.
func TestTypingTold(t *testing.T) {
	var told typingTold
	start := time.Unix(1_700_000_000, 0)
	if !told.first("a", start) || told.first("a", start.Add(typingEvery-time.Nanosecond)) || !told.first("a", start.Add(typingEvery)) {
		t.Fatal("a key is told again within typingEvery, or not after it")
	}
	for i := range typingKeys - 1 {
		told.first(fmt.Sprint("key ", i), start)
	}
	if !told.first("one more", start.Add(typingEvery+typingEvery/2)) || len(told.at) != 2 {
		t.Fatalf("full, it remembers %d keys, want the two told within typingEvery", len(told.at))
	}
}
