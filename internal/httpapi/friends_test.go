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
	asked := env.MustLinkedMembers(t, "asker", n, apptest.MustMe(t, alice).ID, parley.Now().Add(-time.Hour), apptest.Asked)
	newestFirst := reversed(asked)

	// Each page holds alice's own request to bob, and a page of those
	// she received.
	read := func(cursor string, limit int) ([]string, string, error) {
		p, err := alice.FriendRequestsPage(ctx, client.FriendRequestsQuery{Cursor: cursor, Limit: limit})
		if err != nil {
			return nil, "", err
		}
		if len(p.Outgoing) != 1 || p.Outgoing[0].User.Username != "bob" {
			t.Errorf("a page lists alice's own requests as %+v, want her one to bob", p.Outgoing)
		}
		var names []string
		for _, f := range p.Incoming {
			names = append(names, f.User.Username)
		}
		return names, p.NextCursor, nil
	}
	// A cursor of a list of friends, as the server would give.
	other := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("f%d.%s", parley.Now().UnixMicro(), apptest.MustMe(t, bob).ID)))
	testMemberPages(t, alice, "/api/v1/friend-requests", "r", read, newestFirst, other)

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
}

// befriendEitherWay makes u and to friends, every other friendship asked
// by to: friends are listed whichever of the two asked.
func befriendEitherWay() apptest.Link {
	n := 0
	return func(ctx context.Context, tx parley.Tx, u, to string, at time.Time) error {
		if n++; n%2 == 0 {
			u, to = to, u
		}
		return apptest.Befriended(ctx, tx, u, to, at)
	}
}

// memberPage reads one page of a list of members: their usernames and the
// next page's cursor.
type memberPage func(cursor string, limit int) (names []string, next string, err error)

// readMemberPages reads every page of limit of a list, calling between after
// each page but the last, and returns what each page held.
func readMemberPages(t *testing.T, read memberPage, limit, most int, between func(page int)) (sizes []int, names []string) {
	t.Helper()
	cursor := ""
	for len(sizes) <= most {
		page, next, err := read(cursor, limit)
		if err != nil {
			t.Fatalf("page %d: %v", len(sizes)+1, err)
		}
		sizes = append(sizes, len(page))
		names = append(names, page...)
		if next == "" {
			return sizes, names
		}
		between(len(sizes))
		cursor = next
	}
	t.Fatalf("paging never ends: %d pages", len(sizes))
	return nil, nil
}

// testMemberPages checks a paged list of members of the caller, n of
// them, newestFirst, whose cursors start with mark: every limit pages
// through each once, newest first, and limits out of range and cursors of
// other lists (other, a cursor the server gave out for another list, and
// cursors of every other kind) are 400 problems.
func testMemberPages(t *testing.T, c *client.Client, path, mark string, read memberPage, newestFirst []string, other string) {
	ctx := context.Background()
	n := len(newestFirst)
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
			sizes, names := readMemberPages(t, read, tc.limit, n, func(int) {})
			if !slices.Equal(sizes, tc.sizes) {
				t.Errorf("pages of %d, want %d", sizes, tc.sizes)
			}
			if !slices.Equal(names, newestFirst) {
				t.Errorf("paged through %d:\n%v\nwant each of the %d once, newest first:\n%v", len(names), names, n, newestFirst)
			}
		})
	}
	_, first, err := read("", 1)
	if err != nil {
		t.Fatal(err)
	}
	id := apptest.MustMe(t, c).ID
	marked := func(mark string) string {
		return "cursor=" + base64.RawURLEncoding.EncodeToString([]byte(mark+"5."+id))
	}
	cases := map[string]string{
		"ErrLimitZero":         "limit=0",
		"ErrLimitHigh":         "limit=201",
		"ErrLimitText":         "limit=ten",
		"ErrLimitSigned":       "limit=%2B5",
		"ErrBadCursor":         "cursor=not-a-cursor",
		"ErrForgedCursor":      "cursor=bm90LWEtY3Vyc29y",
		"ErrAnotherListCursor": "cursor=" + other,
		"ErrCursorIDNotAnID":   "cursor=" + base64.RawURLEncoding.EncodeToString([]byte(mark+"5.a")),
		"ErrCursorNegative":    "cursor=" + base64.RawURLEncoding.EncodeToString([]byte(mark+"-5."+id)),
		"ErrCursorGivenTwice":  "cursor=" + first + "&cursor=" + first,
		"ErrCursorWithALimit0": "cursor=" + first + "&limit=0",
	}
	for _, m := range []string{"t", "s", "r", "f", "b", ""} {
		if m != mark {
			cases["ErrCursorMarked"+m] = marked(m)
		}
	}
	for name, query := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.Do(ctx, "GET", path+"?"+query, nil, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	if p, err := c.Do(ctx, "GET", path+"?limit=1&cursor="+first, nil, nil); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("the second page: %v, %v", p, err)
	}
}

// A member's friends come a page at a time, newest first, with each once:
// whichever of two asked, in pages of any limit from 1 to 200, also while
// friends are made and lost between pages. Client.Friends reads them all.
func TestFriends_FriendsArePaged(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, carol := env.MustMember(t, "alice"), env.MustMember(t, "carol")
	env.MustMember(t, "bob")
	const n = 120
	aliceID := apptest.MustMe(t, alice).ID
	newestFirst := reversed(env.MustLinkedMembers(t, "friend", n, aliceID, parley.Now().Add(-time.Hour), befriendEitherWay()))
	read := func(c *client.Client) memberPage {
		return func(cursor string, limit int) ([]string, string, error) {
			p, err := c.FriendsPage(ctx, client.FriendsQuery{Cursor: cursor, Limit: limit})
			if err != nil {
				return nil, "", err
			}
			var names []string
			for _, f := range p.Friends {
				names = append(names, f.User.Username)
			}
			return names, p.NextCursor, nil
		}
	}
	if _, err := alice.Block(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	blocks, err := alice.BlockedMembersPage(ctx, client.BlocksQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A cursor of the blocks' list, which holds one: made up of its one
	// member, as the server would give for a longer list.
	other := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("b%d.%s", blocks.Blocked[0].Since.UnixMicro(), blocks.Blocked[0].User.ID)))
	testMemberPages(t, alice, "/api/v1/friends", "f", read(alice), newestFirst, other)

	t.Run("ClientReadsAll", func(t *testing.T) {
		friends, err := alice.Friends(ctx)
		if err != nil || len(friends) != n || friends[0].User.Username != newestFirst[0] {
			t.Fatalf("Friends = %d, %v; want %d, newest first", len(friends), err, n)
		}
	})
	t.Run("WhileFriendsComeAndGo", func(t *testing.T) {
		// After the first page of 50, a friend on it and one on the
		// last are removed, and carol, asked now, and one asked before
		// all of them become friends.
		gone := map[string]bool{newestFirst[10]: true, newestFirst[100]: true}
		sizes, names := readMemberPages(t, read(alice), 50, n, func(page int) {
			if page != 1 {
				return
			}
			for _, f := range mustFriendsNamed(t, alice, gone) {
				if err := alice.RemoveFriend(ctx, f); err != nil {
					t.Fatal(err)
				}
			}
			apptest.MustFriends(t, alice, carol)
			env.MustLinkedMembers(t, "early", 1, aliceID, parley.Now().Add(-2*time.Hour), befriendEitherWay())
		})
		seen := map[string]int{}
		for _, name := range names {
			seen[name]++
		}
		for _, name := range newestFirst {
			if !gone[name] && seen[name] != 1 {
				t.Errorf("%s, a friend throughout, is read %d times (pages of %v)", name, seen[name], sizes)
			}
		}
		for name, k := range seen {
			if k > 1 {
				t.Errorf("%s is read %d times", name, k)
			}
		}
	})
}

// mustFriendsNamed returns the IDs of c's friends named.
func mustFriendsNamed(t *testing.T, c *client.Client, names map[string]bool) []string {
	t.Helper()
	friends, err := c.Friends(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range friends {
		if names[f.User.Username] {
			ids = append(ids, f.User.ID)
		}
	}
	if len(ids) != len(names) {
		t.Fatalf("found %d of %d friends", len(ids), len(names))
	}
	return ids
}
