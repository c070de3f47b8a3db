package seed

import (
	"context"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A filled store holds the shape asked for: members who can sign in with
// the seed password, threads of three with the messages spread over them,
// and access logs of three lengths whose chains hold.
func TestFill(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		shape := Shape{Members: 6, Threads: 8, Messages: 43, AccessEntries: 30}
		if err := Fill(ctx, db, shape); err != nil {
			t.Fatal(err)
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			users, err := tx.FindUsers(ctx)
			if err != nil {
				return err
			}
			if len(users) != shape.Members {
				t.Fatalf("%d members, want %d", len(users), shape.Members)
			}
			hash, err := tx.FindPasswordHash(ctx, users[0].ID)
			if err != nil {
				return err
			}
			if ok, err := password.Check(Password, hash); !ok || err != nil {
				t.Errorf("%s's password is not the seed password (%v)", users[0].Username, err)
			}

			threads := map[string]*parley.ThreadSummary{}
			memberships := 0
			for _, u := range users {
				list, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: u.ID, Limit: 100})
				if err != nil {
					return err
				}
				memberships += len(list)
				for _, th := range list {
					threads[th.ID] = th
				}
			}
			if len(threads) != shape.Threads || memberships != 3*shape.Threads {
				t.Errorf("%d threads with %d members in all, want %d with 3 each", len(threads), memberships, shape.Threads)
			}
			var messages int64
			for _, th := range threads {
				messages += th.LastSeq
				if want := int64(shape.Messages / shape.Threads); th.LastSeq < want || th.LastSeq > want+1 {
					t.Errorf("thread %q has %d messages, want %d or %d", th.Title, th.LastSeq, want, want+1)
				}
			}
			if messages != int64(shape.Messages) {
				t.Errorf("%d messages, want %d", messages, shape.Messages)
			}

			for i, n := range []int{30, 15, 3} {
				u, err := tx.FindUserByUsername(ctx, Username(i))
				if err != nil {
					return err
				}
				entries, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: u.ID, Ascending: true, Limit: 100})
				if err != nil {
					return err
				}
				heads, err := tx.FindAccessHeads(ctx, []string{u.ID})
				if err != nil {
					return err
				}
				if len(entries) != n || len(heads) != 1 {
					t.Fatalf("%s: %d entries and %d heads, want %d and 1", u.Username, len(entries), len(heads), n)
				}
				check := parley.NewChainCheck(heads[0])
				for _, e := range entries {
					check.Add(e)
				}
				if b := check.End(); b != nil {
					t.Errorf("%s's access log breaks at %d: %s", u.Username, b.Seq, b.Reason)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// A shape Fill cannot write is refused before anything is written.
func TestShape_Check(t *testing.T) {
	for _, s := range []Shape{
		{Members: 2, Threads: 1, Messages: 1},
		{Members: 3, Threads: 0, Messages: 1},
		{Members: 10001, Threads: 1, Messages: 1},
	} {
		if s.Check() == nil {
			t.Errorf("%+v passes the check", s)
		}
	}
}
