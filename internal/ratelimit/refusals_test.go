package ratelimit_test

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ratelimit"
)

// A key's refusals are logged one line per LogEvery, the line counting
// the refusals held back since the last; each key apart. Past as many keys
// as the server remembers, a new key's refusals are each logged rather
// than remembered: memory is bounded, and nothing is held back unknown.
func TestLimiter_LogRefusal(t *testing.T) {
	c := &clock{now: time.Unix(1_800_000_000, 0)}
	l := ratelimit.New(nil, c, slog.New(slog.NewTextHandler(io.Discard, nil)))
	want := func(key string, refusals int, log bool) {
		t.Helper()
		if n, ok := l.LogRefusal(key); n != refusals || ok != log {
			t.Fatalf("LogRefusal(%q) = %d, %t; want %d, %t", key, n, ok, refusals, log)
		}
	}
	want("a", 1, true)
	for range 5 {
		want("a", 0, false)
	}
	want("b", 1, true)
	c.now = c.now.Add(ratelimit.LogEvery - time.Second)
	want("a", 0, false)
	c.now = c.now.Add(time.Second)
	want("a", 7, true) // this one and the six held back
	want("a", 0, false)
	want("b", 1, true) // b was not refused in between
	c.now = c.now.Add(10 * ratelimit.LogEvery)
	want("a", 1, true) // the one held back is forgotten with its key

	for i := range 20_000 {
		l.LogRefusal("k" + strconv.Itoa(i))
	}
	want("new", 1, true)
	want("new", 1, true)
	c.now = c.now.Add(ratelimit.LogEvery)
	want("new", 1, true)
	want("new", 0, false)
}
