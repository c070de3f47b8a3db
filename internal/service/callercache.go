package service

import (
	"maps"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// callerCacheFor is how long a node takes a caller from its cache before it
// looks the token up again. The store confirms at every request that the
// caller still holds (parley.CallerCheck): that a member's session lasts,
// and that an app's token, its grant and its app are in force and the
// grant as it was. What a confirmation does not cover may be this
// old: whether a member is an operator (operators' sessions are never
// cached, so a member who stops being one loses the powers at once; one
// who becomes one gains them within this time, or at once on signing in
// again), and the names of a member and of an app.
const callerCacheFor = time.Minute

// callerCacheSize bounds the callers a node caches. Past it, entries that
// are stale are dropped, and if none is, the whole cache: it is only a
// cache.
const callerCacheSize = 100_000

// callerCache holds, by token hash, the callers of members' sessions and
// of apps' access tokens this node has looked up. It spares every request
// a lookup of its token before its first statement: on PostgreSQL a round
// trip, and for an app's token a join of four tables.
type callerCache struct {
	mu sync.Mutex
	m  map[string]cachedCaller
}

// cachedCaller is a caller as it was looked up.
type cachedCaller struct {
	caller parley.Caller
	// expiresAt is when the token stops working unless something ends it
	// sooner.
	expiresAt time.Time
	// seenAt is when it was looked up.
	seenAt time.Time
}

// get returns a copy of the caller of the token with the hash, with a check
// for the store to confirm, if the cache holds it and it is neither stale
// nor expired at now.
func (c *callerCache) get(tokenHash []byte, now time.Time) (*parley.Caller, bool) {
	c.mu.Lock()
	e, ok := c.m[string(tokenHash)]
	c.mu.Unlock()
	if !ok || !now.Before(e.expiresAt) || now.Sub(e.seenAt) >= callerCacheFor || now.Before(e.seenAt) {
		return nil, false
	}
	caller := e.caller
	caller.Check = &parley.CallerCheck{TokenHash: tokenHash, At: now}
	if caller.App != nil {
		caller.Check.Grant = caller.App.Grant
	}
	return &caller, true
}

// putSession caches the caller of a session that was just looked up at
// now. Operators' sessions are not cached.
func (c *callerCache) putSession(caller *parley.Caller, now time.Time) {
	if !caller.Operator {
		c.put(caller.SessionTokenHash, cachedCaller{caller: *caller, expiresAt: caller.SessionExpiresAt, seenAt: now})
	}
}

// putApp caches the caller of an app's access token that was just looked
// up at now.
func (c *callerCache) putApp(caller *parley.Caller, now time.Time) {
	c.put(caller.App.TokenHash, cachedCaller{caller: *caller, expiresAt: caller.App.Until, seenAt: now})
}

// forgetUser drops the callers of the member's sessions and of the apps'
// tokens that act for them, so that this node looks them up again at their
// next request: a change to the member's name shows there at once (and on
// other nodes within callerCacheFor). It reads the whole cache, for a
// change members make seldom.
func (c *callerCache) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	maps.DeleteFunc(c.m, func(_ string, e cachedCaller) bool { return e.caller.User.ID == userID })
}

func (c *callerCache) put(tokenHash []byte, e cachedCaller) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedCaller)
	}
	if len(c.m) >= callerCacheSize {
		for k, old := range c.m {
			if !e.seenAt.Before(old.expiresAt) || e.seenAt.Sub(old.seenAt) >= callerCacheFor {
				delete(c.m, k)
			}
		}
		if len(c.m) >= callerCacheSize {
			clear(c.m)
		}
	}
	c.m[string(tokenHash)] = e
}
