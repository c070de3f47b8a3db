package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A throttle record is stored, replaced, found, forgotten by key and
// forgotten with age; a key with none is ENOTFOUND.
func TestThrottles_PutFindDelete(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testThrottles_PutFindDelete)
}

func testThrottles_PutFindDelete(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	now := parley.Now()
	find := func(key string) (th *parley.Throttle, err error) {
		err = db.Read(ctx, func(tx parley.Tx) error {
			th, err = tx.FindThrottle(ctx, key)
			return err
		})
		return th, err
	}
	write := func(fn func(parley.Tx) error) {
		t.Helper()
		if err := db.Write(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	write(func(tx parley.Tx) error {
		for _, th := range []*parley.Throttle{
			{Key: "a", Failures: 1, LastFailure: now.Add(-time.Hour)},
			{Key: "a", Failures: 2, LastFailure: now},
			{Key: "old", Failures: 9, LastFailure: now.Add(-2 * parley.ThrottleForget)},
			{Key: "gone", Failures: 1, LastFailure: now},
		} {
			if err := tx.PutThrottle(ctx, th); err != nil {
				return err
			}
		}
		return nil
	})
	if th, err := find("a"); err != nil || th.Failures != 2 || !th.LastFailure.Equal(now) {
		t.Errorf("a = %+v, %v; want the second put", th, err)
	}
	write(func(tx parley.Tx) error {
		if err := tx.DeleteThrottle(ctx, "gone"); err != nil {
			return err
		}
		if err := tx.DeleteThrottle(ctx, "never-there"); err != nil {
			return err
		}
		return tx.DeleteThrottlesBefore(ctx, now.Add(-parley.ThrottleForget))
	})
	for _, key := range []string{"gone", "old", "never-there"} {
		if _, err := find(key); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("%s: %v, want not found", key, err)
		}
	}
	if _, err := find("a"); err != nil {
		t.Errorf("a was forgotten: %v", err)
	}
}

// A key's first failures are added; adding to a key that has failures is
// ECONFLICT and changes nothing.
func TestThrottles_AddOnlyTheFirst(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		add := func(failures int) error {
			return db.Write(ctx, func(tx parley.Tx) error {
				return tx.AddThrottle(ctx, &parley.Throttle{Key: "k", Failures: failures, LastFailure: now})
			})
		}
		if err := add(1); err != nil {
			t.Fatal(err)
		}
		if err := add(5); parley.ErrorCode(err) != parley.ECONFLICT {
			t.Fatalf("adding to a key with failures: %v, want a conflict", err)
		}
		var th *parley.Throttle
		err := db.Read(ctx, func(tx parley.Tx) (err error) { th, err = tx.FindThrottle(ctx, "k"); return err })
		if err != nil || th.Failures != 1 {
			t.Fatalf("k = %+v, %v; want the first add", th, err)
		}
	})
}
