package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

func TestFriends(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")

	t.Run("RequestIsPending", func(t *testing.T) {
		s, err := alice.AddFriend(ctx, "bob")
		if err != nil || s.State != client.FriendPending || s.User.Username != "bob" {
			t.Fatalf("AddFriend = %+v, %v", s, err)
		}
		reqs, _ := bob.FriendRequests(ctx)
		if len(reqs.Incoming) != 1 || reqs.Incoming[0].User.Username != "alice" || len(reqs.Outgoing) != 0 {
			t.Fatalf("bob's requests = %+v", reqs)
		}
		reqs, _ = alice.FriendRequests(ctx)
		if len(reqs.Outgoing) != 1 || len(reqs.Incoming) != 0 {
			t.Fatalf("alice's requests = %+v", reqs)
		}
		if friends, _ := alice.Friends(ctx); len(friends) != 0 {
			t.Fatalf("friends before acceptance = %+v", friends)
		}
	})
	t.Run("AskingAgainChangesNothing", func(t *testing.T) {
		if s, err := alice.AddFriend(ctx, "BOB"); err != nil || s.State != client.FriendPending {
			t.Fatalf("AddFriend = %+v, %v", s, err)
		}
	})
	t.Run("AskingBackAccepts", func(t *testing.T) {
		s, err := bob.AddFriend(ctx, "alice")
		if err != nil || s.State != client.FriendAccepted {
			t.Fatalf("AddFriend = %+v, %v", s, err)
		}
		for _, c := range []struct {
			who  string
			list func() ([]client.Friend, error)
			want string
		}{{"alice", func() ([]client.Friend, error) { return alice.Friends(ctx) }, "bob"}, {"bob", func() ([]client.Friend, error) { return bob.Friends(ctx) }, "alice"}} {
			friends, err := c.list()
			if err != nil || len(friends) != 1 || friends[0].User.Username != c.want {
				t.Fatalf("%s's friends = %+v, %v", c.who, friends, err)
			}
		}
		if reqs, _ := bob.FriendRequests(ctx); len(reqs.Incoming)+len(reqs.Outgoing) != 0 {
			t.Fatalf("requests after acceptance = %+v", reqs)
		}
	})
	t.Run("ErrSelf", func(t *testing.T) {
		_, err := alice.AddFriend(ctx, "alice")
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		_, err := alice.AddFriend(ctx, "nobody")
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	t.Run("Remove", func(t *testing.T) {
		carolID := apptest.MustMe(t, carol).ID
		if _, err := alice.AddFriend(ctx, "carol"); err != nil {
			t.Fatal(err)
		}
		// The addressee declines.
		if err := carol.RemoveFriend(ctx, apptest.MustMe(t, alice).ID); err != nil {
			t.Fatal(err)
		}
		if reqs, _ := alice.FriendRequests(ctx); len(reqs.Outgoing) != 0 {
			t.Fatalf("declined request still listed: %+v", reqs)
		}
		err := alice.RemoveFriend(ctx, carolID)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		if err := alice.RemoveFriend(ctx, apptest.MustMe(t, bob).ID); err != nil {
			t.Fatal(err)
		}
		if friends, _ := bob.Friends(ctx); len(friends) != 0 {
			t.Fatalf("bob's friends after removal = %+v", friends)
		}
	})
}
