package sqlstore_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// FindLastingSessions answers, of the sessions asked about, exactly those
// that exist and expire after the time given: not one signed out, not one
// expired or expiring then, not one that never existed; and it answers for
// more sessions than one statement asks about.
func TestSessions_FindLasting(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann := newUser("ann")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, "h") })
		now := time.UnixMicro(time.Now().UnixMicro()).UTC()
		session := func(expiresAt time.Time) []byte {
			s := &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: ann.ID, CreatedAt: now, ExpiresAt: expiresAt}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateSession(ctx, s) })
			return s.TokenHash
		}
		// More than one statement asks about, made in one write.
		var asked, want [][]byte
		mustWrite(t, db, func(tx parley.Tx) error {
			for range 1500 {
				s := &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: ann.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := tx.CreateSession(ctx, s); err != nil {
					return err
				}
				asked, want = append(asked, s.TokenHash), append(want, s.TokenHash)
			}
			return nil
		})
		signedOut := session(now.Add(time.Hour))
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteSession(ctx, signedOut) })
		expiring, expired := session(now), session(now.Add(-time.Second))
		asked = append(asked, signedOut, expiring, expired, parley.HashToken("never a session"))

		var got [][]byte
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindLastingSessions(ctx, asked, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, bytes.Compare)
		slices.SortFunc(want, bytes.Compare)
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%d lasting sessions, want the %d that last past now", len(got), len(want))
		}

		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindLastingSessions(ctx, nil, now)
			return err
		}); err != nil || len(got) != 0 {
			t.Fatalf("lasting sessions of none: %d, %v", len(got), err)
		}
	})
}
