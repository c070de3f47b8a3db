package service

import (
	"context"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"golang.org/x/sync/singleflight"
)

// verifyWholeEvery is how often a member's own check of their access log
// (VerifyAccessLog) reads the whole chain again on one node. Within it, a
// check takes the chain as far as this node last found it intact, and
// reads only the entries appended since: a check of the whole chain takes
// time in the log's length (about 1.5 s for 200,000 entries), and the
// access log page checks at every load of its first page, so without it
// a member reloading the page, or a script of theirs, would cost the
// server that at every request, and a log grown long by the apps' reads
// more than the server has. An entry changed behind Parley's back before
// the point a check starts from is found by the next check of the whole
// chain, at most this much later.
const verifyWholeEvery = time.Minute

// verifiedLogsSize bounds the members whose checked chains a node keeps.
// Past it, the stale ones are dropped, and if none is, all of them: it is
// only a cache.
const verifiedLogsSize = 10_000

// verifiedLogs holds, by member, how far this node last found their access
// log's chain intact, so that their next check within verifyWholeEvery
// reads only the entries after it; and lets checks of one member's log
// at once share one reading of it.
type verifiedLogs struct {
	mu     sync.Mutex
	m      map[string]verifiedLog
	checks singleflight.Group
}

// verifiedLog is a member's chain as a check found it intact: up to and
// including the entry at Seq, whose hash is Hash, Entries entries, the
// whole chain read at wholeAt.
type verifiedLog struct {
	head    parley.AccessHead
	entries int64
	wholeAt time.Time
}

// from returns how far the member's chain was found intact, for a check
// at now to start from, or false when the check must read it whole.
func (c *verifiedLogs) from(userID string, now time.Time) (verifiedLog, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[userID]
	if !ok || now.Sub(v.wholeAt) >= verifyWholeEvery || now.Before(v.wholeAt) {
		return verifiedLog{}, false
	}
	return v, true
}

// put records how far a check found the member's chain intact.
func (c *verifiedLogs) put(userID string, v verifiedLog, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]verifiedLog{}
	}
	if _, ok := c.m[userID]; !ok && len(c.m) >= verifiedLogsSize {
		for id, e := range c.m {
			if now.Sub(e.wholeAt) >= verifyWholeEvery {
				delete(c.m, id)
			}
		}
		if len(c.m) >= verifiedLogsSize {
			clear(c.m)
		}
	}
	c.m[userID] = v
}

// forget drops what was found of the member's chain: a check that finds it
// broken starts the next from its beginning.
func (c *verifiedLogs) forget(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, userID)
}

// verifyOwnAccessLog checks the member's chain for themselves: from where
// this node last found it intact, within verifyWholeEvery, else whole;
// checks of one member's log at once share one reading of it, which
// their callers' leaving does not cut short (it ends at the store's bound
// on a call).
func (s *Service) verifyOwnAccessLog(ctx context.Context, userID string) (*Verification, error) {
	ch := s.verified.checks.DoChan(userID, func() (any, error) {
		ctx := context.WithoutCancel(ctx)
		now := s.Now()
		prefix, ok := s.verified.from(userID, now)
		if !ok {
			prefix = verifiedLog{wholeAt: now}
		}
		v, head, err := s.verifyAccessLogFrom(ctx, userID, prefix)
		switch {
		case err != nil:
		case v.Intact:
			s.verified.put(userID, verifiedLog{head: head, entries: v.Entries, wholeAt: prefix.wholeAt}, now)
		default:
			s.verified.forget(userID)
		}
		return v, err
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Verification), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
