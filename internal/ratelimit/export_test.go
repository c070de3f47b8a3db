package ratelimit

import "time"

// Wait returns how long a request under key must wait before policy p
// would let it through, from this server's view of the key, without
// counting one: 0 when Allow would let it through now. The tests look at
// a key with it; the server takes a request with Allow before its work,
// and gives it back with Refund, so that requests at once all count.
func (l *Limiter) Wait(key string, p Policy) time.Duration {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil || !b.tat.After(now) {
		return 0
	}
	interval := p.Interval()
	return max(0, b.tat.Add(interval).Sub(now)-time.Duration(p.Burst)*interval)
}
