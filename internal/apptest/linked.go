package apptest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// A Link is what MustLinkedMembers makes of a new member, u, and the
// member with ID to, at at: a friend request, a friendship, a block.
type Link func(ctx context.Context, tx parley.Tx, u, to string, at time.Time) error

// Asked is a friend request from u to to, waiting for an answer.
func Asked(ctx context.Context, tx parley.Tx, u, to string, at time.Time) error {
	return tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: u, AddresseeID: to, State: parley.FriendPending, CreatedAt: at})
}

// Befriended makes u and to friends, u having asked.
func Befriended(ctx context.Context, tx parley.Tx, u, to string, at time.Time) error {
	if err := Asked(ctx, tx, u, to, at); err != nil {
		return err
	}
	return tx.AcceptFriendship(ctx, u, to)
}

// BlockedBy makes to block u.
func BlockedBy(ctx context.Context, tx parley.Tx, u, to string, at time.Time) error {
	return tx.CreateBlock(ctx, to, u, at)
}

// noOnesPassword is the password hash of the members MustLinkedMembers
// stores: a hash of the cheapest cost, of no one's password.
const noOnesPassword = "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"

// MustLinkedMembers stores n members named prefix000…, "Member prefixI"
// to others, and for each what link makes of them and the member with ID
// to, member i at at plus i seconds, in one write through the server's
// store: quicker than n sign-ups, and at the times the test chooses. It
// returns their usernames, the first linked first. None can sign in.
func (e *Env) MustLinkedMembers(tb testing.TB, prefix string, n int, to string, at time.Time, link Link) []string {
	tb.Helper()
	ctx := context.Background()
	names := make([]string, n)
	err := e.Server.Store.Write(ctx, func(tx parley.Tx) error {
		for i := range n {
			u := &parley.User{ID: parley.NewID(), Username: fmt.Sprintf("%s%03d", prefix, i), DisplayName: fmt.Sprintf("Member %s%d", prefix, i), CreatedAt: at}
			if err := tx.CreateUser(ctx, u, noOnesPassword); err != nil {
				return err
			}
			if err := link(ctx, tx, u.ID, to, at.Add(time.Duration(i)*time.Second)); err != nil {
				return err
			}
			names[i] = u.Username
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return names
}
