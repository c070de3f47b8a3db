package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
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

// A member has at most parley.MaxSentFriendRequests requests of their own
// pending: one more is refused, 409 saying to wait for answers or withdraw
// some, and asks no one, while accepting another's request never is.
// Withdrawing one makes room.
func TestFriends_AtMostMaxSentRequestsPending(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.SignUpsPerAddress = parley.MaxSentFriendRequests + 10 })
	ctx := context.Background()
	alice, zoe := env.MustMember(t, "alice"), env.MustMember(t, "zoe")
	var asked []string
	for i := range parley.MaxSentFriendRequests + 1 {
		name := fmt.Sprintf("member%03d", i)
		if _, err := env.Client.CreateAccount(ctx, name, apptest.Password(name), name); err != nil {
			t.Fatal(err)
		}
		asked = append(asked, name)
	}
	for _, name := range asked[:parley.MaxSentFriendRequests] {
		if _, err := alice.AddFriend(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	last := asked[parley.MaxSentFriendRequests]
	_, err := alice.AddFriend(ctx, last)
	wantProblem(t, err, http.StatusConflict, "conflict")
	if detail := err.(*client.Error).Detail; !strings.Contains(detail, "wait for answers") || !strings.Contains(detail, "withdraw") {
		t.Errorf("the refusal says %q, want what to do", detail)
	}
	if reqs, err := alice.FriendRequests(ctx); err != nil || len(reqs.Outgoing) != parley.MaxSentFriendRequests {
		t.Fatalf("alice's requests after the refusal: %d outgoing, %v; want %d", len(reqs.Outgoing), err, parley.MaxSentFriendRequests)
	}

	t.Run("AcceptingIsNeverRefused", func(t *testing.T) {
		if _, err := zoe.AddFriend(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if s, err := alice.AddFriend(ctx, "zoe"); err != nil || s.State != client.FriendAccepted {
			t.Fatalf("alice accepting zoe's request: %+v, %v", s, err)
		}
	})
	t.Run("WithdrawingMakesRoom", func(t *testing.T) {
		first, err := alice.FriendRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.RemoveFriend(ctx, first.Outgoing[0].User.ID); err != nil {
			t.Fatal(err)
		}
		if s, err := alice.AddFriend(ctx, last); err != nil || s.State != client.FriendPending {
			t.Fatalf("asking after withdrawing one: %+v, %v", s, err)
		}
	})
}

// A declined request keeps its asker from asking again for
// parley.DeclinedRequestWait, so that declining is not just the first of
// many identical requests. The asker cannot clear it by withdrawing; the
// member who declined may ask at once, and after the wait the asker may too.
func TestFriends_DeclinedRequestWaits(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.SessionTTL = 2 * parley.DeclinedRequestWait })
	ctx := context.Background()
	dave, erin := env.MustMember(t, "dave"), env.MustMember(t, "erin")
	daveID, erinID := apptest.MustMe(t, dave).ID, apptest.MustMe(t, erin).ID
	incoming := func(c *client.Client) int {
		t.Helper()
		reqs, err := c.FriendRequests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(reqs.Incoming)
	}
	if _, err := dave.AddFriend(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	if err := erin.RemoveFriend(ctx, daveID); err != nil {
		t.Fatal(err)
	}
	_, err := dave.AddFriend(ctx, "erin")
	wantProblem(t, err, http.StatusConflict, "conflict")
	wantProblem(t, dave.RemoveFriend(ctx, erinID), http.StatusNotFound, "not_found")
	_, err = dave.AddFriend(ctx, "erin")
	wantProblem(t, err, http.StatusConflict, "conflict")
	if n := incoming(erin); n != 0 {
		t.Fatalf("erin has %d requests after declining dave's", n)
	}

	env.Clock.Advance(parley.DeclinedRequestWait)
	if s, err := dave.AddFriend(ctx, "erin"); err != nil || s.State != client.FriendPending {
		t.Fatalf("dave asking again after the wait: %+v, %v", s, err)
	}
	if n := incoming(erin); n != 1 {
		t.Fatalf("erin has %d requests after dave asked again, want 1", n)
	}

	// Erin declines again, then changes her mind: she may ask at once.
	if err := erin.RemoveFriend(ctx, daveID); err != nil {
		t.Fatal(err)
	}
	if s, err := erin.AddFriend(ctx, "dave"); err != nil || s.State != client.FriendPending {
		t.Fatalf("erin asking dave after declining him: %+v, %v", s, err)
	}
	if s, err := dave.AddFriend(ctx, "erin"); err != nil || s.State != client.FriendAccepted {
		t.Fatalf("dave asking back: %+v, %v", s, err)
	}
}
