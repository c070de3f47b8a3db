package service

import (
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// sessionCacheFor is how long a node takes a member's session from its
// cache before it looks the session up again. Who a session's member is
// never changes, and whether the session still lasts is confirmed by the
// store at every request (parley.SessionCheck); what may change is whether
// the member is an operator. Operators' sessions are never cached, so a
// member who stops being one loses the powers at once; one who becomes one
// gains them within this time, or at once on signing in again.
const sessionCacheFor = time.Minute

// sessionCacheSize bounds the sessions a node caches. Past it, entries
// that are stale are dropped, and if none is, the whole cache: it is only
// a cache.
const sessionCacheSize = 100_000

// sessionCache holds, by token hash, the callers of members' sessions this
// node has looked up. It spares every request of a member a lookup of
// their session before its first statement: on PostgreSQL a round trip.
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

// cachedSession is a session as it was looked up.
type cachedSession struct {
	caller    parley.Caller
	expiresAt time.Time
	// seenAt is when it was looked up.
	seenAt time.Time
}

// get returns a copy of the caller of the session with the token hash, with
// a check for the store to confirm, if the cache holds it and it is neither
// stale nor expired at now.
func (c *sessionCache) get(tokenHash []byte, now time.Time) (*parley.Caller, bool) {
	c.mu.Lock()
	e, ok := c.m[string(tokenHash)]
	c.mu.Unlock()
	if !ok || !now.Before(e.expiresAt) || now.Sub(e.seenAt) >= sessionCacheFor || now.Before(e.seenAt) {
		return nil, false
	}
	caller := e.caller
	caller.SessionCheck = &parley.SessionCheck{TokenHash: tokenHash, At: now}
	return &caller, true
}

// put caches the caller of a session that was just looked up at now and
// lasts until expiresAt. Operators' sessions are not cached.
func (c *sessionCache) put(caller *parley.Caller, expiresAt, now time.Time) {
	if caller.Operator {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedSession)
	}
	if len(c.m) >= sessionCacheSize {
		for k, e := range c.m {
			if !now.Before(e.expiresAt) || now.Sub(e.seenAt) >= sessionCacheFor {
				delete(c.m, k)
			}
		}
		if len(c.m) >= sessionCacheSize {
			clear(c.m)
		}
	}
	c.m[string(caller.SessionTokenHash)] = cachedSession{caller: *caller, expiresAt: expiresAt, seenAt: now}
}
