// Package ratelimit holds callers to fair use: a request rate with a burst
// per key, such as an app or a member, enforced across every server of a
// store without a database write per request.
//
// # The algorithm
//
// Each limit is a rate r with a burst b, applied by the generic cell rate
// algorithm (GCRA): a key's whole state is one time, its theoretical arrival
// time (TAT). A request at now passes when max(TAT, now) + 1/r is at most
// b/r ahead of now, and moves TAT there. So b requests may come at once,
// then one every 1/r; an idle key's allowance grows back at r a second.
//
// # Across servers
//
// Every server decides each request from its own memory: the request path
// takes a mutex and a map lookup, and never waits for the database. Every
// sync interval F (SyncInterval, 200 ms), each server adds what it let
// through since its last sync to the store's table of rate limits, in one
// statement per 64 keys, as the time those requests cost (count / r), and
// reads back each key's TAT as every server left it; it goes on from
// there. Keys in use on a server take part in each sync even when it let
// nothing through for them, so that it learns of the others' use.
//
// Bound: between syncs a server does not know what the others let through.
// With N servers, over any period of length L a key is let through at most
// r·L + b (what one server allows) plus (N−1)·(b + r·F) requests: each
// other server may spend the whole burst, and what arrives in one sync
// interval, before it learns of the rest. That excess is a debt in the
// shared TAT, repaid by refusals afterwards, so a sustained flood through N
// servers still gets the rate r, not N·r. With the defaults (apps 50/s,
// burst 100) two servers let an app through at most 110 requests more than
// one server would, in any period. A server that forgets a key (its
// allowance whole and nothing to tell) or restarts starts it at a whole
// allowance, which is within the same bound.
//
// On SQLite there is one server; its syncs keep the limits across restarts.
//
// golang.org/x/time/rate implements the same kind of bucket, but keeps its
// state private: a server could not fold in what the others used. GCRA's
// single time is what the store adds to in one statement.
package ratelimit

import (
	"context"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/parleyhq/parley"
)

// SyncInterval is how often a server shares what it let through with the
// other servers, and learns what they did.
const SyncInterval = 200 * time.Millisecond

// pruneEvery is how many syncs pass between removals of the keys whose
// allowance is whole from the store: about a minute.
const pruneEvery = 300

// MaxRate is the highest rate a policy may have: the store keeps times to
// the microsecond.
const MaxRate = 1e6

// Policy is a limit: Rate requests a second, Burst of them at once.
type Policy struct {
	// Name names the policy in the RateLimit-Policy header.
	Name  string
	Rate  float64
	Burst int
}

// On reports whether the policy limits anything: a rate of 0 means none.
func (p Policy) On() bool { return p.Rate > 0 }

// Interval is the time one request takes of the allowance, 1/Rate.
func (p Policy) Interval() time.Duration {
	return max(time.Microsecond, time.Duration(float64(time.Second)/p.Rate))
}

// Window is the time a whole allowance takes to grow back, Burst/Rate,
// in whole seconds, at least 1: the policy is Burst requests per Window.
func (p Policy) Window() int64 {
	return max(1, int64(math.Ceil(float64(p.Burst)/p.Rate)))
}

// Decision is the answer to one request.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests would pass at once.
	Remaining int
	// Reset is how long until the allowance is whole again.
	Reset time.Duration
	// RetryAfter, for a refused request, is how long until one would pass.
	RetryAfter time.Duration
}

// Limiter applies policies to keys on one server and shares their use with
// the other servers of its store.
type Limiter struct {
	store parley.Store
	clock parley.Clock
	log   *slog.Logger

	// syncing is held by Sync, so that syncs run one at a time.
	syncing sync.Mutex
	syncs   int

	mu   sync.Mutex
	keys map[string]*bucket

	// refusals holds back the log lines of refusals (LogRefusal).
	refusals refusalLog
}

// bucket is one key as this server sees it.
type bucket struct {
	interval time.Duration
	// tat is the key's theoretical arrival time: every server's use up to
	// the last sync, and this server's since.
	tat time.Time
	// pending counts the requests let through since the last sync took
	// them to the store, less those given back (Refund): below 0 when
	// more were given back than let through since.
	pending int64
}

// New returns a limiter whose servers share their use through store.
func New(store parley.Store, clock parley.Clock, log *slog.Logger) *Limiter {
	return &Limiter{store: store, clock: clock, log: log, keys: map[string]*bucket{}}
}

// Allow decides a request under key by policy p, which must be On, from
// this server's view of the key, and counts it when it passes.
func (l *Limiter) Allow(key string, p Policy) Decision {
	now := l.clock.Now()
	interval := p.Interval()
	allowance := time.Duration(p.Burst) * interval
	l.mu.Lock()
	b := l.keys[key]
	if b == nil {
		b = &bucket{interval: interval, tat: now}
		l.keys[key] = b
	}
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if ahead := next.Sub(now); ahead > allowance {
		l.mu.Unlock()
		return Decision{Reset: tat.Sub(now), RetryAfter: ahead - allowance}
	}
	b.tat = next
	b.pending++
	l.mu.Unlock()
	return Decision{Allowed: true, Remaining: int((allowance - next.Sub(now)) / interval), Reset: next.Sub(now)}
}

// Refund gives back to key one request that Allow let through under
// policy p, for limits that count only some requests, such as failures:
// each is taken before the work that tells which it is, so that no work
// starts uncounted, and given back when it was not one. The other servers
// learn of it at the next sync, as of what Allow let through: a request
// not yet told to them is never told, and one already told is taken back
// from the key's shared time (a time before now is a whole allowance, so
// no key is given more than whole). A key this server has forgotten had
// its allowance whole again, the request's cost with it: nothing is given
// back.
func (l *Limiter) Refund(key string, p Policy) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		return
	}
	interval := p.Interval()
	b.tat = b.tat.Add(-interval)
	b.pending--
}

// Sync adds what this server let through since the last sync to the store
// and takes each key's time as every server left it. A key whose
// allowance is whole here, with nothing to add, is forgotten.
func (l *Limiter) Sync(ctx context.Context) error {
	l.syncing.Lock()
	defer l.syncing.Unlock()
	now := l.clock.Now()
	l.mu.Lock()
	uses := make([]parley.RateUse, 0, len(l.keys))
	for key, b := range l.keys {
		if b.pending == 0 && !b.tat.After(now) {
			delete(l.keys, key)
			continue
		}
		uses = append(uses, parley.RateUse{Key: key, Cost: time.Duration(b.pending) * b.interval})
		b.pending = 0
	}
	l.mu.Unlock()

	l.syncs++
	prune := l.syncs%pruneEvery == 0
	if len(uses) == 0 && !prune {
		return nil
	}
	var times []time.Time
	err := l.store.Write(ctx, func(tx parley.Tx) (err error) {
		if prune {
			if err := tx.DeleteRateUsesBefore(ctx, now.Add(-time.Minute)); err != nil {
				return err
			}
		}
		if len(uses) == 0 {
			return nil
		}
		times, err = tx.AddRateUses(ctx, uses, now)
		return err
	})

	l.mu.Lock()
	defer l.mu.Unlock()
	for i, u := range uses {
		b := l.keys[u.Key]
		if b == nil {
			continue
		}
		if err != nil {
			// Told to no one yet: the next sync tells it.
			b.pending += int64(u.Cost / b.interval)
			continue
		}
		// What every server used, and what this one let through since
		// the sync began.
		if shared := times[i].Add(time.Duration(b.pending) * b.interval); shared.After(b.tat) {
			b.tat = shared
		}
	}
	return err
}

// Run syncs every SyncInterval until ctx ends, and once more then, so that
// what this server let through last is not lost to the others.
func (l *Limiter) Run(ctx context.Context) {
	tick := time.NewTicker(SyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := l.Sync(context.WithoutCancel(ctx)); err != nil {
				l.log.Error("sync rate limits", "err", err)
			}
			return
		case <-tick.C:
		}
		if err := l.Sync(ctx); parley.WorthLogging(ctx, err) {
			l.log.Error("sync rate limits", "err", err)
		}
	}
}
