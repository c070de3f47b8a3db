package service

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestSignIn_DeletesLongExpiredSessions: a sign-in deletes the sessions,
// of any member, that expired longer ago than Parley keeps them, and keeps
// those that expired since.
func TestSignIn_DeletesLongExpiredSessions(t *testing.T) {
	db := sqlstoretest.Open(t, sqlstoretest.Engines[0])
	s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{SessionTTL: time.Hour})
	ctx := context.Background()
	now := parley.Now()
	hash, err := password.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	ann := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: now}
	bob := &parley.User{ID: parley.NewID(), Username: "bob", DisplayName: "Bob", CreatedAt: now}
	kept := now.Add(-parley.ExpiredSessionKept)
	err = db.Write(ctx, func(tx parley.Tx) error {
		for _, u := range []*parley.User{ann, bob} {
			if err := tx.CreateUser(ctx, u, hash); err != nil {
				return err
			}
		}
		for _, expires := range []time.Time{kept.Add(-time.Minute), kept.Add(time.Minute)} {
			if err := tx.CreateSession(ctx, &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: bob.ID, CreatedAt: expires.Add(-time.Hour), ExpiresAt: expires}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignIn(ctx, "ann", "correct horse"); err != nil {
		t.Fatal(err)
	}
	var bobs []*parley.Session
	if err := db.Read(ctx, func(tx parley.Tx) (err error) { bobs, err = tx.FindUserSessions(ctx, bob.ID); return err }); err != nil {
		t.Fatal(err)
	}
	if len(bobs) != 1 || !bobs[0].ExpiresAt.After(kept) {
		t.Fatalf("bob's sessions after ann signed in: %+v, want only the one that expired since %v", bobs, kept)
	}
}

// TestSignIn_RehashesAnEarlierCost: an account whose hash an earlier
// version made, at an earlier cost, is hashed again at today's when its
// member signs in, in the sign-in's write, so that its checks take as long
// as an unknown name's from then on; the new hash still accepts the
// password, and a sign-in at once with the same password, which checked
// the earlier hash, still succeeds. A wrong password changes nothing.
func TestSignIn_RehashesAnEarlierCost(t *testing.T) {
	// "correct horse" hashed with 12 MiB and three passes.
	const earlier = "$argon2id$v=19$m=12288,t=3,p=1$cGFybGV5LXRlc3Qtc2FsdA$zoRxIYxg1Bafaurig1cm36oDWYGIwAjkssDrpoDSPmU"
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{SessionTTL: time.Hour})
		ctx := context.Background()
		ann := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: parley.Now()}
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, earlier) }); err != nil {
			t.Fatal(err)
		}
		stored := func() string {
			t.Helper()
			var hash string
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { hash, err = tx.FindPasswordHash(ctx, ann.ID); return err }); err != nil {
				t.Fatal(err)
			}
			return hash
		}

		if _, err := s.SignIn(ctx, "ann", "correct horsE"); parley.ErrorCode(err) != parley.EUNAUTHORIZED {
			t.Fatalf("sign-in with a wrong password: %v, want EUNAUTHORIZED", err)
		}
		if h := stored(); h != earlier {
			t.Fatalf("hash after a wrong password = %q, want the earlier one kept", h)
		}

		// Two sign-ins at once: this one checks the earlier hash, and
		// the other rehashes it before this one's write.
		_, keys, err := s.checkPassword(ctx, "ann", "correct horse", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SignIn(ctx, "ann", "correct horse"); err != nil {
			t.Fatal(err)
		}
		h := stored()
		if err := db.Write(ctx, func(tx parley.Tx) error { return keys.allows(ctx, tx, ann.ID) }); err != nil {
			t.Errorf("the sign-in that checked the earlier hash, after the other rehashed it: %v, want it allowed", err)
		}
		if again := stored(); again != h {
			t.Errorf("hash after both sign-ins = %q, want %q kept", again, h)
		}
		if h == earlier || password.NeedsRehash(h) {
			t.Fatalf("hash after signing in = %q, want one at today's cost", h)
		}
		if ok, err := password.Check("correct horse", h); err != nil || !ok {
			t.Fatalf("the new hash checks the password: %v, %v; want true", ok, err)
		}
		if _, err := s.SignIn(ctx, "ann", "correct horse"); err != nil {
			t.Fatalf("signing in again: %v", err)
		}
		if again := stored(); again != h {
			t.Fatalf("hash after signing in again = %q, want %q kept", again, h)
		}
	})
}
