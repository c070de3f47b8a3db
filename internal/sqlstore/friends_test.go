package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// DeclineFriendship marks a pending request declined, at the time given,
// and takes it out of both members' lists, into their declined requests;
// there is nothing to decline twice, nor in the other direction, nor to
// accept.
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
		// Nor is a declined request accepted, as by an acceptance that
		// read it pending while it was being declined.
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.AcceptFriendship(ctx, ann.ID, bob.ID) }); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("accepting the declined request: %v, want ENOTFOUND", err)
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

// FindContactIDs returns, once each, those who take part in a thread with
// the member now and the member's friends, whichever of them asked: not
// those who left, nor threads the member left, nor a request still
// pending, nor the member.
func TestFriends_FindContactIDs(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		users := map[string]*parley.User{}
		for _, name := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "gus", "henry", "ivy"} {
			users[name] = newUser(name)
		}
		start := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range users {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			// thread starts a thread of the members named, of whom those
			// in left leave it.
			thread := func(names []string, left ...string) error {
				th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: users[names[0]].ID, LastActivityAt: start, CreatedAt: start}
				if err := tx.CreateThread(ctx, th); err != nil {
					return err
				}
				for _, name := range names {
					if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: users[name].ID, JoinedAt: start}); err != nil {
						return err
					}
				}
				for _, name := range left {
					if err := tx.LeaveThread(ctx, th.ID, users[name].ID, start.Add(time.Minute)); err != nil {
						return err
					}
				}
				return nil
			}
			friends := func(requester, addressee string, accept bool) error {
				err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: users[requester].ID, AddresseeID: users[addressee].ID, State: parley.FriendPending, CreatedAt: start})
				if err != nil || !accept {
					return err
				}
				return tx.AcceptFriendship(ctx, users[requester].ID, users[addressee].ID)
			}
			for _, err := range []error{
				thread([]string{"alice", "bob"}),
				friends("alice", "bob", true),
				thread([]string{"carol", "alice", "dave"}, "dave"),
				thread([]string{"alice", "carol"}),
				thread([]string{"alice", "erin"}, "alice"),
				thread([]string{"ivy", "bob"}),
				friends("alice", "frank", true),
				friends("gus", "alice", true),
				friends("henry", "alice", false),
			} {
				if err != nil {
					return err
				}
			}
			return nil
		})
		var got []string
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindContactIDs(ctx, users["alice"].ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		want := []string{users["bob"].ID, users["carol"].ID, users["frank"].ID, users["gus"].ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("alice's contacts %v, want bob, carol, frank and gus %v", got, want)
		}
	})
}

// CountSentFriendRequests counts the member's own requests still pending:
// not those they received, nor those accepted or declined, nor those of
// other members.
func TestFriends_CountSentFriendRequests(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		users := map[string]*parley.User{}
		for _, name := range []string{"ann", "bob", "cat", "dan", "eve", "fay"} {
			users[name] = newUser(name)
		}
		now := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range users {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			for _, ask := range [][2]string{{"ann", "bob"}, {"ann", "cat"}, {"ann", "dan"}, {"ann", "eve"}, {"fay", "ann"}, {"bob", "cat"}} {
				if err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: users[ask[0]].ID, AddresseeID: users[ask[1]].ID, State: parley.FriendPending, CreatedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.AcceptFriendship(ctx, users["ann"].ID, users["dan"].ID); err != nil {
				return err
			}
			return tx.DeclineFriendship(ctx, users["ann"].ID, users["eve"].ID, now)
		})
		err := db.Read(ctx, func(tx parley.Tx) error {
			for name, want := range map[string]int{"ann": 2, "bob": 1, "cat": 0, "fay": 1} {
				n, err := tx.CountSentFriendRequests(ctx, users[name].ID)
				if err != nil {
					return err
				}
				if n != want {
					t.Errorf("%s sent %d pending requests, want %d", name, n, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FindReceivedFriendRequests pages through the pending requests a member
// received, newest first and, of those made in the same microsecond, the
// greatest asker's ID first: each once, from the cursor of the page before,
// none of another state, nor one the member sent, nor one another member
// received.
func TestFriends_FindReceivedFriendRequests(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		me, other := newUser("me"), newUser("other")
		start := parley.Now()
		var want []parley.Friend // newest first
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{me, other} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			ask := func(from, to *parley.User, at time.Time) error {
				return tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: from.ID, AddresseeID: to.ID, State: parley.FriendPending, CreatedAt: at})
			}
			for i := range 23 {
				u := newUser(fmt.Sprintf("asker%02d", i))
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				// Three at a time in one microsecond, where the cursor's
				// ID tells them apart.
				at := start.Add(time.Duration(i/3) * time.Second)
				if err := ask(u, me, at); err != nil {
					return err
				}
				if err := ask(u, other, at); err != nil {
					return err
				}
				want = append(want, parley.Friend{User: u.Ref(), Since: at})
			}
			// Not received, or not pending: none listed.
			for i, state := range []string{"mine", parley.FriendAccepted, parley.FriendDeclined} {
				u := newUser("not" + state)
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				at := start.Add(time.Hour + time.Duration(i)*time.Second)
				switch state {
				case "mine":
					if err := ask(me, u, at); err != nil {
						return err
					}
				case parley.FriendAccepted:
					if err := ask(u, me, at); err != nil {
						return err
					}
					if err := tx.AcceptFriendship(ctx, u.ID, me.ID); err != nil {
						return err
					}
				default:
					if err := ask(u, me, at); err != nil {
						return err
					}
					if err := tx.DeclineFriendship(ctx, u.ID, me.ID, at); err != nil {
						return err
					}
				}
			}
			return nil
		})
		slices.SortFunc(want, func(a, b parley.Friend) int { return newestFirst(friendPlace(a), friendPlace(b)) })
		got := readNewestFirst(t, 5, len(want), func(before *parley.MemberCursor) (page []parley.Friend) {
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				page, err = tx.FindReceivedFriendRequests(ctx, parley.FriendRequestFilter{AddresseeID: me.ID, Before: before, Limit: 5})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return page
		}, friendPlace, nil)
		if len(got) != len(want) {
			t.Fatalf("paged through %d requests, want %d:\n%+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i].User != want[i].User || !got[i].Since.Equal(want[i].Since) {
				t.Errorf("request %d is %s since %v, want %s since %v", i, got[i].User.Username, got[i].Since, want[i].User.Username, want[i].Since)
			}
		}
		// A page is read through the index in its order, not by sorting
		// every request the member received.
		for _, f := range []parley.FriendRequestFilter{
			{AddresseeID: me.ID, Limit: 51},
			{AddresseeID: me.ID, Limit: 51, Before: &parley.MemberCursor{Since: start, UserID: want[0].User.ID}},
		} {
			index, sorts, err := sqlstore.ReceivedRequestsPlan(ctx, db, f)
			if err != nil || index != "friendships_received" || sorts {
				t.Errorf("a page (cursor %v) reads friendships through %q, sorting: %v (%v); want friendships_received, in order", f.Before != nil, index, sorts, err)
			}
		}
	})
}

// FindFriendPage pages through a member's accepted friends, whichever of
// the two asked, newest first and, of friendships made in the same
// microsecond, the greatest friend's ID first: each once, from the cursor
// of the page before, none pending or declined, nor another member's
// friend. Friends made and lost between pages move no other friend: every
// friend there from the first page to the last is read once, and none
// twice. A page is read through the two indexes in its order.
func TestFriends_FindFriendPage(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		me, other := newUser("me"), newUser("other")
		start := parley.Now().Add(-time.Hour)
		var want []parley.Friend // newest first
		befriend := func(tx parley.Tx, from, to *parley.User, at time.Time) error {
			if err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: from.ID, AddresseeID: to.ID, State: parley.FriendPending, CreatedAt: at}); err != nil {
				return err
			}
			return tx.AcceptFriendship(ctx, from.ID, to.ID)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{me, other} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			for i := range 23 {
				u := newUser(fmt.Sprintf("friend%02d", i))
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				// Three at a time in one microsecond, where the cursor's
				// ID tells them apart; every other one asked by me.
				at := start.Add(time.Duration(i/3) * time.Second)
				from, to := u, me
				if i%2 == 0 {
					from, to = me, u
				}
				if err := befriend(tx, from, to, at); err != nil {
					return err
				}
				if err := befriend(tx, u, other, at); err != nil {
					return err
				}
				want = append(want, parley.Friend{User: u.Ref(), Since: at})
			}
			// Pending either way, or declined: none listed.
			for i := range 3 {
				u := newUser(fmt.Sprintf("notfriend%d", i))
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				at := start.Add(time.Minute + time.Duration(i)*time.Second)
				from, to := u, me
				if i == 0 {
					from, to = me, u
				}
				if err := tx.CreateFriendship(ctx, &parley.Friendship{RequesterID: from.ID, AddresseeID: to.ID, State: parley.FriendPending, CreatedAt: at}); err != nil {
					return err
				}
				if i == 2 {
					if err := tx.DeclineFriendship(ctx, u.ID, me.ID, at); err != nil {
						return err
					}
				}
			}
			return nil
		})
		slices.SortFunc(want, func(a, b parley.Friend) int { return newestFirst(friendPlace(a), friendPlace(b)) })
		readAll := func(between func(pages int)) []parley.Friend {
			t.Helper()
			return readNewestFirst(t, 5, 2*len(want), func(before *parley.MemberCursor) (page []parley.Friend) {
				if err := db.Read(ctx, func(tx parley.Tx) (err error) {
					page, err = tx.FindFriendPage(ctx, parley.FriendFilter{UserID: me.ID, Before: before, Limit: 5})
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return page
			}, friendPlace, between)
		}
		got := readAll(nil)
		if len(got) != len(want) {
			t.Fatalf("paged through %d friends, want %d:\n%+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i].User != want[i].User || !got[i].Since.Equal(want[i].Since) {
				t.Errorf("friend %d is %s since %v, want %s since %v", i, got[i].User.Username, got[i].Since, want[i].User.Username, want[i].Since)
			}
		}

		// Between the pages, one friend read already and one not yet are
		// lost, and friends are made older and newer than the cursor.
		lost := map[string]bool{want[2].User.ID: true, want[17].User.ID: true}
		got = readAll(func(pages int) {
			if pages != 0 {
				return
			}
			mustWrite(t, db, func(tx parley.Tx) error {
				for id := range lost {
					if err := tx.DeleteFriendship(ctx, me.ID, id); err != nil {
						return err
					}
				}
				for i, at := range []time.Time{start.Add(-time.Minute), start.Add(time.Hour)} {
					u := newUser(fmt.Sprintf("newfriend%d", i))
					if err := tx.CreateUser(ctx, u, "hash"); err != nil {
						return err
					}
					if err := befriend(tx, u, me, at); err != nil {
						return err
					}
				}
				return nil
			})
		})
		seen := map[string]int{}
		for _, f := range got {
			seen[f.User.ID]++
		}
		for _, f := range want {
			if n := seen[f.User.ID]; n != 1 && !lost[f.User.ID] {
				t.Errorf("%s, a friend throughout, read %d times across a change", f.User.Username, n)
			}
		}
		for _, f := range got {
			if seen[f.User.ID] > 1 {
				t.Errorf("%s read %d times", f.User.Username, seen[f.User.ID])
			}
		}

		// A page is read through both indexes in its order, each sorted
		// by the index: one sort, of at most twice the page, merges them.
		for _, f := range []parley.FriendFilter{
			{UserID: me.ID, Limit: 51},
			{UserID: me.ID, Limit: 51, Before: &parley.MemberCursor{Since: start, UserID: want[0].User.ID}},
		} {
			indexes, sorts, err := sqlstore.FriendPagePlan(ctx, db, f)
			slices.Sort(indexes)
			if err != nil || !slices.Equal(indexes, []string{"friendships_received", "friendships_sent"}) || sorts > 1 {
				t.Errorf("a page (cursor %v) reads friendships through %q, %d sorts (%v); want friendships_received and friendships_sent, in order", f.Before != nil, indexes, sorts, err)
			}
		}
	})
}

// friendPlace is a friend's place in a list of friends, or of requests,
// newest first.
func friendPlace(f parley.Friend) parley.MemberCursor {
	return parley.MemberCursor{Since: f.Since, UserID: f.User.ID}
}

// newestFirst orders two places in a list of members newest first: the
// later Since first, then the greater ID.
func newestFirst(a, b parley.MemberCursor) int {
	if c := b.Since.Compare(a.Since); c != 0 {
		return c
	}
	return strings.Compare(b.UserID, a.UserID)
}

// readNewestFirst reads a list of members newest first through read, a
// page of limit from the place before (nil: the newest), from the first
// page to the last, and returns what the pages held in the order read,
// place telling where each member stands. between, if set, runs after each
// page but the last, with the number of pages read before it. A page over
// its limit, or more than most pages, fails the test.
func readNewestFirst[T any](t *testing.T, limit, most int, read func(before *parley.MemberCursor) []T, place func(T) parley.MemberCursor, between func(pages int)) []T {
	t.Helper()
	var got []T
	var before *parley.MemberCursor
	for pages := 0; ; pages++ {
		if pages > most {
			t.Fatalf("paging never ends: %d pages read", pages)
		}
		page := read(before)
		if len(page) > limit {
			t.Fatalf("a page of %d holds %d", limit, len(page))
		}
		got = append(got, page...)
		if len(page) < limit {
			return got
		}
		last := place(page[len(page)-1])
		before = &last
		if between != nil {
			between(pages)
		}
	}
}
