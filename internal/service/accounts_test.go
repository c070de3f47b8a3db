package service

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/password"
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
