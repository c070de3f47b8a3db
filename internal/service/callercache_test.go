package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// A node takes a member's session from its cache, with a check for the
// store to make, until the entry is a minute old or the session expires;
// operators' sessions are never taken from it.
func TestCallerCache_Sessions(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	member := &parley.Caller{User: parley.UserRef{ID: "m", Username: "ann"}, SessionTokenHash: []byte("member"), SignedInAt: now, SessionExpiresAt: now.Add(time.Hour)}
	operator := &parley.Caller{User: parley.UserRef{ID: "o", Username: "otto"}, SessionTokenHash: []byte("operator"), Operator: true, SessionExpiresAt: now.Add(time.Hour)}
	var c callerCache
	c.putSession(member, now)
	c.putSession(operator, now)

	got, ok := c.get([]byte("member"), now.Add(30*time.Second))
	if !ok || got.User != member.User || !got.SignedInAt.Equal(now) || got.Check == nil {
		t.Fatalf("the member's cached session: %+v, %v; want the member with a check", got, ok)
	}
	if check := got.Check; check.Confirmed() || string(check.TokenHash) != "member" || !check.At.Equal(now.Add(30*time.Second)) {
		t.Fatalf("the check: %+v; want the session's, unconfirmed, at the request's time", check)
	}
	if again, _ := c.get([]byte("member"), now); again.Check == got.Check {
		t.Fatal("two requests share one check")
	}
	for name, at := range map[string]time.Time{
		"a minute later":       now.Add(callerCacheFor),
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

// A node takes an app's token from its cache, with a check of its grant as
// it was looked up, until the entry is a minute old or the token, or its
// grant, runs out.
func TestCallerCache_AppTokens(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	grant := &parley.Grant{ID: "g", Scopes: parley.Scopes{parley.ScopeMessagesRead}, ThreadScope: parley.ThreadScopeApp}
	app := &parley.Caller{User: parley.UserRef{ID: "m", Username: "ann"}, App: &parley.AppAccess{
		Grant: grant, TokenHash: []byte("app"), Scopes: parley.Scopes{parley.ScopeMessagesRead}, Until: now.Add(10 * time.Minute),
	}}
	var c callerCache
	c.putApp(app, now)

	got, ok := c.get([]byte("app"), now.Add(30*time.Second))
	if !ok || got.User != app.User || got.App != app.App || got.Check == nil {
		t.Fatalf("the app's cached token: %+v, %v; want the app's access with a check", got, ok)
	}
	if check := got.Check; check.Confirmed() || string(check.TokenHash) != "app" || check.Grant != grant {
		t.Fatalf("the check: %+v; want the token's, with its grant, unconfirmed", check)
	}
	for name, at := range map[string]time.Time{
		"a minute later":       now.Add(callerCacheFor),
		"once it ran out":      now.Add(10 * time.Minute),
		"before it was cached": now.Add(-time.Second),
	} {
		if _, ok := c.get([]byte("app"), at); ok {
			t.Errorf("the app's token is taken from the cache %s", name)
		}
	}
}

// Full, the cache drops its stale entries first, and everything if none is.
func TestCallerCache_Bounded(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var c callerCache
	caller := func(i int) *parley.Caller {
		return &parley.Caller{User: parley.UserRef{ID: "m"}, SessionTokenHash: []byte{byte(i), byte(i >> 8), byte(i >> 16)}, SessionExpiresAt: now.Add(time.Hour)}
	}
	for i := range callerCacheSize - 1 {
		c.putSession(caller(i), now)
	}
	fresh := now.Add(callerCacheFor / 2)
	c.putSession(caller(callerCacheSize), fresh)
	later := now.Add(callerCacheFor)
	c.putSession(caller(callerCacheSize+1), later)
	if len(c.m) != 2 {
		t.Fatalf("after a put into a full cache: %d entries; want the fresh one and the new one", len(c.m))
	}
	if _, ok := c.get(caller(callerCacheSize).SessionTokenHash, later); !ok {
		t.Error("the fresh entry was dropped")
	}
}
