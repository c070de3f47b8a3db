package ratelimit

import (
	"sync"
	"time"
)

// LogEvery is how often a refusal under one key is logged at most: a
// flood refused for one key is one line a minute on each server, not one
// a request. The metrics count every refusal.
const LogEvery = time.Minute

// maxLoggedKeys bounds the keys whose last line the server remembers, in
// each of two generations of LogEvery: past it, a key's refusals are each
// logged, as before, rather than remembered.
const maxLoggedKeys = 10_000

// refusalLog remembers, per key, when its last refusal was logged and how
// many it held back since. Keys live two generations at most: cur holds
// those logged or held back since the last turn, prev those of the turn
// before; a key found in neither was last logged more than LogEvery ago.
type refusalLog struct {
	mu        sync.Mutex
	cur, prev map[string]*logged
	turnAt    time.Time
}

// logged is one key's last line: when the next may be written, and the
// refusals held back until then.
type logged struct {
	next time.Time
	held int
}

// LogRefusal reports whether a refusal under key is to be logged now, and
// how many refusals its line stands for: this one and those under key
// held back since its last line. It lets one line through per key per
// LogEvery, while fewer than maxLoggedKeys keys are refused in one; the
// count held back for a key refused no more is dropped with it after two
// LogEvery. A nil Limiter lets every line through.
func (l *Limiter) LogRefusal(key string) (refusals int, log bool) {
	if l == nil {
		return 1, true
	}
	now := l.clock.Now()
	r := &l.refusals
	r.mu.Lock()
	defer r.mu.Unlock()
	if !now.Before(r.turnAt) {
		r.prev, r.cur = r.cur, make(map[string]*logged)
		if !now.Before(r.turnAt.Add(LogEvery)) {
			r.prev = nil // idle a whole generation: nothing of it is live
		}
		r.turnAt = now.Add(LogEvery)
	}
	e := r.cur[key]
	if e == nil {
		if e = r.prev[key]; e != nil && len(r.cur) < maxLoggedKeys {
			delete(r.prev, key)
			r.cur[key] = e
		}
	}
	if e != nil && now.Before(e.next) {
		e.held++
		return 0, false
	}
	refusals = 1
	if e != nil {
		refusals += e.held
	} else if len(r.cur) < maxLoggedKeys {
		e = &logged{}
		r.cur[key] = e
	} else {
		return refusals, true
	}
	e.next, e.held = now.Add(LogEvery), 0
	return refusals, true
}
