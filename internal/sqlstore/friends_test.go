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
// and takes it out of both members' lists, into their declined requests;
// there is nothing to decline twice, nor in the other direction.
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
			// Each side finds it among the declined: bob's incoming, the
			// one he declined, and ann's outgoing, since when.
			for _, side := range []struct {
				user *parley.User
				in   bool
				peer string
			}{{bob, true, "ann"}, {ann, false, "bob"}} {
				reqs, err := tx.FindDeclinedFriendRequests(ctx, side.user.ID)
				if err != nil {
					return err
				}
				list, other := reqs.Outgoing, reqs.Incoming
				if side.in {
					list, other = other, list
				}
				if len(list) != 1 || list[0].User.Username != side.peer || !list[0].Since.Equal(declined) || len(other) != 0 {
					t.Errorf("%s's declined requests %+v, want the one with %s, since %v, in %s only", side.user.Username, reqs, side.peer, declined, map[bool]string{true: "incoming", false: "outgoing"}[side.in])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
