package ratelimit_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// clock is a clock that moves only when told.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

// A flood through several servers of one store, each offered far more than
// the limit and syncing every SyncInterval, gets the limit's rate over the
// long run and never more than the stated bound in any period: r·L + b
// plus (N−1)·(b + r·F).
func TestLimiter_SharedBound(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		const servers = 3
		p := ratelimit.Policy{Name: "app", Rate: 50, Burst: 100}
		c := &clock{now: time.Unix(1_800_000_000, 0)}
		var limiters []*ratelimit.Limiter
		for range servers {
			limiters = append(limiters, ratelimit.New(db, c, slog.New(slog.NewTextHandler(io.Discard, nil))))
		}
		const step, period = 10 * time.Millisecond, 20 * time.Second
		passed := 0
		for elapsed := time.Duration(0); elapsed < period; elapsed += step {
			for _, l := range limiters {
				for range 20 { // 2,000 requests a second offered to each server
					if l.Allow("app:films", p).Allowed {
						passed++
					}
				}
			}
			c.now = c.now.Add(step)
			if (elapsed+step)%ratelimit.SyncInterval == 0 {
				for _, l := range limiters {
					if err := l.Sync(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		t.Logf("%d passed", passed)
		rL := p.Rate * period.Seconds()
		bound := rL + float64(p.Burst) + (servers-1)*(float64(p.Burst)+p.Rate*ratelimit.SyncInterval.Seconds())
		if float64(passed) > bound || float64(passed) < rL {
			t.Fatalf("%d requests passed through %d servers in %s; want at least %.0f (the rate) and at most %.0f (the bound)", passed, servers, period, rL, bound)
		}
	})
}

// BenchmarkLimiter_Allow is the cost the limit adds to every request:
// a decision from memory, 8 goroutines over 100 members' keys, as W1's
// senders make them.
func BenchmarkLimiter_Allow(b *testing.B) {
	l := ratelimit.New(nil, &clock{now: time.Unix(1_800_000_000, 0)}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := ratelimit.Policy{Name: "member", Rate: ratelimit.MaxRate, Burst: 1_000_000}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = "member:" + strconv.Itoa(i)
	}
	b.SetParallelism(4) // 8 goroutines on 2 cores
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.Allow(keys[i%len(keys)], p)
			i++
		}
	})
}

// Wait tells, without counting a request, how long one must wait before
// Allow would let it through: what Allow's refusal says, and 0 while it
// would pass. A server learns of the others' use of a key at its syncs,
// once it holds the key itself, as for Allow.
func TestLimiter_Wait(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p := ratelimit.Policy{Name: "failures", Rate: 1, Burst: 3}
		c := &clock{now: time.Unix(1_800_000_000, 0)}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, b := ratelimit.New(db, c, log), ratelimit.New(db, c, log)
		if w := a.Wait("k", p); w != 0 {
			t.Fatalf("an unknown key waits %s", w)
		}
		for i := range p.Burst {
			if w := a.Wait("k", p); w != 0 {
				t.Fatalf("before request %d: wait %s, want 0", i+1, w)
			}
			if !a.Allow("k", p).Allowed {
				t.Fatalf("request %d of the burst refused", i+1)
			}
		}
		for range 5 { // asking counts nothing
			if w := a.Wait("k", p); w != time.Second {
				t.Fatalf("past the burst: wait %s, want 1s", w)
			}
		}
		if d := a.Allow("k", p); d.Allowed || d.RetryAfter != time.Second {
			t.Fatalf("past the burst: %+v, want refused for 1s", d)
		}
		if err := a.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if !b.Allow("k", p).Allowed { // b's first, before it knows of a's
			t.Fatal("b refused its first request")
		}
		if err := b.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if w := b.Wait("k", p); w != 2*time.Second {
			t.Fatalf("b, once synced: wait %s, want 2s: a's three and its own", w)
		}
		c.now = c.now.Add(2 * time.Second)
		if w := b.Wait("k", p); w != 0 {
			t.Fatalf("2s later: wait %s, want 0", w)
		}
	})
}

// Refund gives back a request Allow let through: at once on its server,
// and to the others at the next sync, whether the request was told to
// the store before it was given back or not.
func TestLimiter_Refund(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		p := ratelimit.Policy{Name: "failures", Rate: 1, Burst: 3}
		c := &clock{now: time.Unix(1_800_000_000, 0)}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, b := ratelimit.New(db, c, log), ratelimit.New(db, c, log)
		sync := func(ls ...*ratelimit.Limiter) {
			t.Helper()
			for _, l := range ls {
				if err := l.Sync(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}

		// Given back before any sync: never told.
		for i := range p.Burst {
			if !a.Allow("untold", p).Allowed {
				t.Fatalf("request %d of the burst refused", i+1)
			}
		}
		a.Refund("untold", p)
		if !a.Allow("untold", p).Allowed {
			t.Fatal("a refused the request given back")
		}
		if a.Allow("untold", p).Allowed {
			t.Fatal("a let a fourth request through a burst of 3")
		}
		a.Refund("untold", p)
		a.Refund("untold", p)
		sync(a, b)
		if !b.Allow("untold", p).Allowed {
			t.Fatal("b refused its first request")
		}
		sync(b)
		if w := b.Wait("untold", p); w != 0 {
			t.Fatalf("b, once synced: wait %s, want 0: a's one request and b's one of a burst of 3", w)
		}

		// Given back after a sync told the store of it.
		for range p.Burst {
			a.Allow("told", p)
		}
		sync(a)
		a.Refund("told", p)
		b.Allow("told", p) // b's first, before it knows of a's
		sync(a, b)
		if w := b.Wait("told", p); w != time.Second {
			t.Fatalf("b, once synced: wait %s, want 1s: a's three, less the one given back, and b's one", w)
		}
		if w := a.Wait("told", p); w != 0 {
			t.Fatalf("a, before it learns of b's request: wait %s, want 0", w)
		}
		sync(a)
		if w := a.Wait("told", p); w != time.Second {
			t.Fatalf("a, once synced again: wait %s, want 1s", w)
		}

		// A key forgotten, its allowance whole, gives nothing back.
		c.now = c.now.Add(time.Hour)
		sync(a, b)
		a.Refund("told", p)
		for i := range p.Burst {
			if !a.Allow("told", p).Allowed {
				t.Fatalf("an hour later: request %d refused", i+1)
			}
		}
		if a.Allow("told", p).Allowed {
			t.Fatal("a refund of a forgotten key let a fourth request through a burst of 3")
		}
	})
}
