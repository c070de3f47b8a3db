package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// RenameThread sets the title and records the thread's activity; a thread
// that does not exist is ENOTFOUND.
func TestThreads_RenameThread(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u := newUser("alice")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "before", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			return tx.CreateThread(ctx, th)
		})
		later := start.Add(time.Minute)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, "after", later) })
		err := db.Read(ctx, func(tx parley.Tx) error {
			got, err := tx.FindThreadByID(ctx, th.ID)
			if err != nil {
				return err
			}
			if got.Title != "after" || !got.LastActivityAt.Equal(later) {
				t.Errorf("renamed thread: %q at %v, want \"after\" at %v", got.Title, got.LastActivityAt, later)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, parley.NewID(), "x", later) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("renaming an unknown thread: %v, want ENOTFOUND", err)
		}
	})
}
