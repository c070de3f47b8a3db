package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// AddRateUses starts a new key at now plus its cost, adds to a key's time
// from the later of it and now, returns every key's time in the order
// given, also across more keys than one statement takes; keys whose time
// is past are forgotten.
func TestRateLimits_AddUses(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.UnixMicro(1_800_000_000_000_000).UTC()
		add := func(at time.Time, uses ...parley.RateUse) []time.Time {
			t.Helper()
			var times []time.Time
			mustWrite(t, db, func(tx parley.Tx) (err error) {
				times, err = tx.AddRateUses(ctx, uses, at)
				return err
			})
			return times
		}
		got := add(now, parley.RateUse{Key: "b", Cost: 3 * time.Second}, parley.RateUse{Key: "a", Cost: time.Second})
		if !got[0].Equal(now.Add(3*time.Second)) || !got[1].Equal(now.Add(time.Second)) {
			t.Fatalf("new keys: %v", got)
		}
		// a's time (now+1s) is past by now+10s; b's (now+3s) is ahead of now+2s.
		got = add(now.Add(2*time.Second), parley.RateUse{Key: "a", Cost: time.Second}, parley.RateUse{Key: "b", Cost: 0})
		if !got[0].Equal(now.Add(3*time.Second)) || !got[1].Equal(now.Add(3*time.Second)) {
			t.Fatalf("known keys: %v", got)
		}
		got = add(now.Add(10*time.Second), parley.RateUse{Key: "a", Cost: time.Second})
		if !got[0].Equal(now.Add(11 * time.Second)) {
			t.Fatalf("a key whose time is past: %v", got)
		}
		var many []parley.RateUse
		for i := range 150 {
			many = append(many, parley.RateUse{Key: fmt.Sprintf("k%03d", 149-i), Cost: time.Duration(i) * time.Millisecond})
		}
		for i, at := range add(now, many...) {
			if want := now.Add(time.Duration(i) * time.Millisecond); !at.Equal(want) {
				t.Fatalf("key %s: %v, want %v", many[i].Key, at, want)
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteRateUsesBefore(ctx, now.Add(5*time.Second)) })
		got = add(now.Add(4*time.Second), parley.RateUse{Key: "a", Cost: time.Second}, parley.RateUse{Key: "b", Cost: time.Second})
		if !got[0].Equal(now.Add(12*time.Second)) || !got[1].Equal(now.Add(5*time.Second)) {
			t.Fatalf("after forgetting the keys before now+5s: %v; want a kept, b afresh", got)
		}
	})
}
