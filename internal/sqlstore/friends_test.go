package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// DeclineFriendship marks a pending request declined, at the time given,
// and takes it out of both members' lists; there is nothing to decline
// twice, nor in the other direction.
func TestFriends_DeclineFriendship(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		asked := parley.Now()
		declined := asked.Add(time.Hour)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: ann.ID, AddresseeID: bob.ID, State: parley.FriendPending, CreatedAt: asked}); err != nil {
				return err
			}
			return tx.DeclineFriendship(ctx, ann.ID, bob.ID, declined)
		})
		for name, decline := range map[string][2]string{"AgainByTheAddressee": {ann.ID, bob.ID}, "TheOtherWay": {bob.ID, ann.ID}} {
			err := db.Write(ctx, func(tx parley.Tx) error { return tx.DeclineFriendship(ctx, decline[0], decline[1], declined) })
			if parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("%s: %v, want ENOTFOUND", name, err)
			}
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			f, err := tx.FindFriendship(ctx, bob.ID, ann.ID)
			if err != nil {
				return err
			}
			if f.State != parley.FriendDeclined || f.RequesterID != ann.ID || !f.CreatedAt.Equal(declined) {
				t.Errorf("the declined request reads %+v, want declined at %v", f, declined)
			}
			for _, id := range []string{ann.ID, bob.ID} {
				reqs, err := tx.FindFriendRequests(ctx, id)
				if err != nil {
					return err
				}
				if len(reqs.Incoming)+len(reqs.Outgoing) != 0 {
					t.Errorf("%s's requests list the declined one: %+v", id, reqs)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
