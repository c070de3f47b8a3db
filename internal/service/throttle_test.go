package service

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// The throttles count a client by its address, an IPv6 client by its /64,
// where one host commonly holds a whole /64.
func TestAddressKey_IPv6ByItsSlash64(t *testing.T) {
	for addr, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"not an address":       "not an address",
	} {
		if got := addressKey(addr); got != want {
			t.Errorf("addressKey(%q) = %q, want %q", addr, got, want)
		}
	}
}

// stoppedClock is a time that does not move.
type stoppedClock struct{ now time.Time }

func (c stoppedClock) Now() time.Time { return c.now }

// countFailures counts an attempt before its work begins: of many
// attempts at once from one address, the burst of its allowance begin,
// and the others are refused before any of those has failed. An attempt
// that does not fail gives its share back, whether it succeeded or failed
// for a reason of the server's own.
func TestCountFailures_AttemptsAtOnceCountBeforeTheyRun(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		clock := stoppedClock{now: time.Unix(1_800_000_000, 0)}
		log := slog.New(slog.DiscardHandler)
		s := New(db, nil, log, Options{Clock: clock, Limiter: ratelimit.New(db, clock, log)})
		p := ratelimit.Policy{Name: "failures", Rate: 1, Burst: 5}
		ctx := parley.NewContextWithClientAddr(context.Background(), "203.0.113.7")
		wrong := parley.Errorf(parley.EUNAUTHORIZED, "wrong")

		// Each attempt that begins waits until every attempt has begun
		// or been refused: none fails before all have asked.
		const n = 50
		arrived, release := make(chan bool, n), make(chan struct{})
		errs := make(chan error, n)
		for range n {
			go func() {
				ran := false
				err := s.countFailures(ctx, p, "test", func() error {
					ran = true
					arrived <- true
					<-release
					return wrong
				})
				if !ran {
					arrived <- false
				}
				errs <- err
			}()
		}
		began := 0
		for range n {
			if <-arrived {
				began++
			}
		}
		close(release)
		for range n {
			if err := <-errs; parley.ErrorCode(err) != parley.EUNAUTHORIZED && parley.ErrorCode(err) != parley.ETHROTTLED {
				t.Fatal(err)
			}
		}
		if began != p.Burst {
			t.Fatalf("%d of %d failing attempts at once began, want the burst of %d", began, n, p.Burst)
		}

		// Successes and the server's own failures give their share back.
		ctx = parley.NewContextWithClientAddr(context.Background(), "198.51.100.2")
		for i, err := range []error{nil, parley.Errorf(parley.EINTERNAL, "lost"), nil, nil, nil, nil, nil, nil} {
			if got := s.countFailures(ctx, p, "test", func() error { return err }); got != err {
				t.Fatalf("attempt %d: %v, want %v", i+1, got, err)
			}
		}
		for i := range p.Burst {
			if err := s.countFailures(ctx, p, "test", func() error { return wrong }); err != wrong {
				t.Fatalf("failure %d, after successes: %v, want it to run", i+1, err)
			}
		}
		if err := s.countFailures(ctx, p, "test", func() error { return nil }); parley.ErrorCode(err) != parley.ETHROTTLED {
			t.Fatalf("an attempt past the failures: %v, want ETHROTTLED", err)
		}
	})
}
