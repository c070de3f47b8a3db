package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// A node takes a member's session from its cache, with a check for the
// store to make, until the entry is a minute old or the session expires;
// operators' sessions are never taken from it.
func TestSessionCache(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	member := &parley.Caller{User: parley.UserRef{ID: "m", Username: "ann"}, SessionTokenHash: []byte("member"), SignedInAt: now}
	operator := &parley.Caller{User: parley.UserRef{ID: "o", Username: "otto"}, SessionTokenHash: []byte("operator"), Operator: true}
	var c sessionCache
	c.put(member, now.Add(time.Hour), now)
	c.put(operator, now.Add(time.Hour), now)

	got, ok := c.get([]byte("member"), now.Add(30*time.Second))
	if !ok || got.User != member.User || !got.SignedInAt.Equal(now) || got.SessionCheck == nil {
		t.Fatalf("the member's cached session: %+v, %v; want the member with a check", got, ok)
	}
	if check := got.SessionCheck; check.Confirmed() || string(check.TokenHash) != "member" || !check.At.Equal(now.Add(30*time.Second)) {
		t.Fatalf("the check: %+v; want the session's, unconfirmed, at the request's time", check)
	}
	if again, _ := c.get([]byte("member"), now); again.SessionCheck == got.SessionCheck {
		t.Fatal("two requests share one check")
	}
	for name, at := range map[string]time.Time{
		"a minute later":       now.Add(sessionCacheFor),
		"after it expired":     now.Add(2 * time.Hour),
		"before it was cached": now.Add(-time.Second),
	} {
		if _, ok := c.get([]byte("member"), at); ok {
			t.Errorf("the member's session is taken from the cache %s", name)
		}
	}
	if _, ok := c.get([]byte("operator"), now); ok {
		t.Error("an operator's session is taken from the cache")
	}
	if _, ok := c.get([]byte("unknown"), now); ok {
		t.Error("an unknown token is in the cache")
	}
}

// Full, the cache drops its stale entries first, and everything if none is.
func TestSessionCache_Bounded(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var c sessionCache
	caller := func(i int) *parley.Caller {
		return &parley.Caller{User: parley.UserRef{ID: "m"}, SessionTokenHash: []byte{byte(i), byte(i >> 8), byte(i >> 16)}}
	}
	for i := range sessionCacheSize - 1 {
		c.put(caller(i), now.Add(time.Hour), now)
	}
	fresh := now.Add(sessionCacheFor / 2)
	c.put(caller(sessionCacheSize), now.Add(time.Hour), fresh)
	later := now.Add(sessionCacheFor)
	c.put(caller(sessionCacheSize+1), now.Add(time.Hour), later)
	if len(c.m) != 2 {
		t.Fatalf("after a put into a full cache: %d entries; want the fresh one and the new one", len(c.m))
	}
	if _, ok := c.get(caller(sessionCacheSize).SessionTokenHash, later); !ok {
		t.Error("the fresh entry was dropped")
	}
}
