package httpapi_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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

// mustAskers stores n members named prefix000… and a pending request from
// each to the member with ID to, asker i asking i seconds after at, in one
// write through the server's store: quicker than n sign-ups and requests.
// It returns the askers' usernames, the first to ask first.
func mustAskers(t *testing.T, env *apptest.Env, prefix string, n int, to string, at time.Time) []string {
	t.Helper()
	ctx := context.Background()
	names := make([]string, n)
	err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		for i := range n {
			u := &parley.User{ID: parley.NewID(), Username: fmt.Sprintf("%s%03d", prefix, i), DisplayName: fmt.Sprintf("Asker %d", i), CreatedAt: at}
			if err := tx.CreateUser(ctx, u, "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"); err != nil {
				return err
			}
			f := &parley.Friendship{RequesterID: u.ID, AddresseeID: to, State: parley.FriendPending, CreatedAt: at.Add(time.Duration(i) * time.Second)}
			if err := tx.CreateFriendship(ctx, f); err != nil {
				return err
			}
			names[i] = u.Username
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// Others choose how many requests a member receives, so GET
// /api/v1/friend-requests answers them a page at a time, newest first:
// paging from no cursor to the last page gives each once, and the
// member's own requests, which are capped, come whole on every page.
func TestFriends_ReceivedRequestsArePaged(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	if _, err := alice.AddFriend(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	const n = 120
	asked := mustAskers(t, env, "asker", n, apptest.MustMe(t, alice).ID, parley.Now().Add(-time.Hour))
	newestFirst := reversed(asked)

	// pages reads every page of limit, and what each held.
	pages := func(t *testing.T, limit int) (sizes []int, names []string) {
		t.Helper()
		q := client.FriendRequestsQuery{Limit: limit}
		for len(sizes) <= n {
			p, err := alice.FriendRequestsPage(ctx, q)
			if err != nil {
				t.Fatalf("page %d: %v", len(sizes)+1, err)
			}
			if len(p.Outgoing) != 1 || p.Outgoing[0].User.Username != "bob" {
				t.Errorf("page %d lists alice's own requests as %+v, want her one to bob", len(sizes)+1, p.Outgoing)
			}
			sizes = append(sizes, len(p.Incoming))
			for _, f := range p.Incoming {
				names = append(names, f.User.Username)
			}
			if p.NextCursor == "" {
				return sizes, names
			}
			q.Cursor = p.NextCursor
		}
		t.Fatalf("paging never ends: %d pages", len(sizes))
		return nil, nil
	}
	for _, tc := range []struct {
		limit int
		sizes []int
	}{
		{0, []int{50, 50, 20}}, // absent: 50
		{7, append(slices.Repeat([]int{7}, 17), 1)},
		{40, []int{40, 40, 40}},
		{200, []int{120}},
	} {
		t.Run(fmt.Sprintf("Limit%d", tc.limit), func(t *testing.T) {
			sizes, names := pages(t, tc.limit)
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("pages of %d, want %d", sizes, tc.sizes)
			}
			if !slices.Equal(names, newestFirst) {
				t.Errorf("paged through %d requests:\n%v\nwant each of the %d once, newest first:\n%v", len(names), names, n, newestFirst)
			}
		})
	}
	t.Run("ClientReadsAll", func(t *testing.T) {
		reqs, err := alice.FriendRequests(ctx)
		if err != nil || len(reqs.Incoming) != n || reqs.Incoming[0].User.Username != newestFirst[0] || len(reqs.Outgoing) != 1 {
			t.Fatalf("FriendRequests = %d incoming, %d outgoing, %v; want %d and 1", len(reqs.Incoming), len(reqs.Outgoing), err, n)
		}
	})
	t.Run("TheAskerSeesTheirsOnly", func(t *testing.T) {
		p, err := bob.FriendRequestsPage(ctx, client.FriendRequestsQuery{})
		if err != nil || len(p.Incoming) != 1 || p.Incoming[0].User.Username != "alice" || len(p.Outgoing) != 0 || p.NextCursor != "" {
			t.Fatalf("bob's requests = %+v, %v", p, err)
		}
	})

	first, err := alice.FriendRequestsPage(ctx, client.FriendRequestsQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	for name, query := range map[string]string{
		"ErrLimitZero":   "limit=0",
		"ErrLimitHigh":   "limit=201",
		"ErrLimitText":   "limit=ten",
		"ErrLimitSigned": "limit=%2B5",
		"ErrBadCursor":   "cursor=not-a-cursor",
		// "not-a-cursor" in base64url, and cursors of another kind:
		// a page of the inbox's ("t5.<id>") and of a search's.
		"ErrForgedCursor":      "cursor=bm90LWEtY3Vyc29y",
		"ErrThreadCursor":      "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("t5."+apptest.MustMe(t, bob).ID)),
		"ErrSearchCursor":      "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("s5."+apptest.MustMe(t, bob).ID)),
		"ErrCursorIDNotAnID":   "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("r5.a")),
		"ErrCursorNegative":    "cursor=" + base64.RawURLEncoding.EncodeToString([]byte("r-5."+apptest.MustMe(t, bob).ID)),
		"ErrCursorGivenTwice":  "cursor=" + first.NextCursor + "&cursor=" + first.NextCursor,
		"ErrCursorWithALimit0": "cursor=" + first.NextCursor + "&limit=0",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.Do(ctx, "GET", "/api/v1/friend-requests?"+query, nil, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	// The cursor of the first page reads on from there.
	if p, err := alice.Do(ctx, "GET", "/api/v1/friend-requests?limit=1&cursor="+first.NextCursor, nil, nil); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("the second page: %v, %v", p, err)
	}
}
