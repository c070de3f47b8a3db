package service

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A body of the largest size (64 KiB) holds about 10,000 names of 250
// members: each is a look in a set, not among every name before it.
func BenchmarkOtherUsernames_AFullBody(b *testing.B) {
	names := make([]string, 10_000)
	for i := range names {
		names[i] = fmt.Sprintf("member%03d", i%250)
	}
	for b.Loop() {
		if _, err := otherUsernames(names, "alice"); err != nil {
			b.Fatal(err)
		}
	}
}

// A member added to a group finds none of its history unread, and no one
// is told they saw it: unread counts from where they joined, read
// receipts from their read marker, which stays at 0 until they read.
// Those in the group from its start count from its first message as
// before. The next message from someone else is one unread; the ones they
// send are not. One added back after leaving has nothing unread of what
// came while they were away, nor of what they left unread, and their
// read marker says what they read before they left, no more.
func TestAddParticipant_HistoryIsNotUnreadForANewcomer(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
		as := map[string]context.Context{}
		users := map[string]*parley.User{}
		now := parley.Now()
		err := db.Write(ctx, func(tx parley.Tx) error {
			for _, name := range []string{"ann", "bob", "cat", "dan"} {
				u := &parley.User{ID: parley.NewID(), Username: name, DisplayName: name, CreatedAt: now}
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				users[name] = u
				as[name] = parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), SignedInAt: now})
				if name == "ann" {
					continue
				}
				f := &parley.Friendship{RequesterID: users["ann"].ID, AddresseeID: u.ID, State: parley.FriendAccepted, CreatedAt: now}
				if err := tx.CreateFriendship(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		group, _, _, err := s.CreateThread(as["ann"], NewThread{Participants: []string{"bob", "cat"}, Title: "g", Kind: parley.ThreadGroup})
		if err != nil {
			t.Fatal(err)
		}
		send := func(name, text string) {
			t.Helper()
			if _, _, err := s.SendMessage(as[name], group.ID, Draft{Text: text}, ""); err != nil {
				t.Fatalf("%s sends %q: %v", name, text, err)
			}
		}
		add := func(name string) {
			t.Helper()
			if _, err := s.AddParticipant(as["ann"], group.ID, name); err != nil {
				t.Fatalf("ann adds %s: %v", name, err)
			}
		}
		// unread is what name's thread and inbox say of the group, which
		// must agree: how many messages are unread, the read marker, and
		// the message after which the unread ones begin.
		unread := func(name string) (count, readSeq, after int64) {
			t.Helper()
			th, err := s.Thread(as[name], group.ID)
			if err != nil {
				t.Fatalf("%s reads the group: %v", name, err)
			}
			page, err := s.Threads(as[name], "", 10, 0)
			if err != nil {
				t.Fatalf("%s lists threads: %v", name, err)
			}
			i := slices.IndexFunc(page.Threads, func(s *parley.ThreadSummary) bool { return s.ID == group.ID })
			if i < 0 {
				t.Fatalf("%s's inbox does not list the group", name)
			}
			if listed := page.Threads[i]; listed.UnreadCount != th.UnreadCount || listed.LastReadSeq != th.LastReadSeq {
				t.Errorf("%s's inbox says %d unread, marker %d; the thread says %d, %d", name, listed.UnreadCount, listed.LastReadSeq, th.UnreadCount, th.LastReadSeq)
			}
			return th.UnreadCount, th.LastReadSeq, th.LastSeq - th.UnreadCount
		}
		// markers are the read markers ann's page reads for "Seen by".
		markers := func() map[string]int64 {
			t.Helper()
			list, err := s.ReadMarkers(as["ann"], group.ID)
			if err != nil {
				t.Fatal(err)
			}
			m := map[string]int64{}
			for _, r := range list {
				m[r.User.Username] = r.Seq
			}
			return m
		}
		for i := range 5 {
			send("ann", fmt.Sprintf("before dan %d", i+1))
		}
		add("dan")

		if n, read, after := unread("dan"); n != 0 || read != 0 || after != 5 {
			t.Errorf("dan, added after 5 messages: %d unread, read marker %d, unread after %d; want 0, 0, 5", n, read, after)
		}
		if m := markers(); m["dan"] != 0 {
			t.Errorf("dan, just added, has read up to %d by the read markers; want 0: he saw nothing yet", m["dan"])
		}
		if n, read, _ := unread("bob"); n != 5 || read != 0 {
			t.Errorf("bob, in the group from its start: %d unread, read marker %d; want 5, 0", n, read)
		}
		if n, read, _ := unread("ann"); n != 0 || read != 5 {
			t.Errorf("ann, who sent the 5: %d unread, read marker %d; want 0, 5", n, read)
		}

		send("bob", "welcome, dan")
		if n, read, after := unread("dan"); n != 1 || read != 0 || after != 5 {
			t.Errorf("dan after bob's welcome: %d unread, read marker %d, unread after %d; want 1, 0, 5", n, read, after)
		}
		if m := markers(); m["dan"] != 0 {
			t.Errorf("after bob's welcome, dan has read up to %d by the read markers; want 0", m["dan"])
		}
		send("dan", "thanks")
		if n, read, _ := unread("dan"); n != 0 || read != 7 {
			t.Errorf("dan after his own message: %d unread, read marker %d; want 0, 7", n, read)
		}

		// Added back: what came while he was away, and what he left
		// unread, is not unread; his marker is where he read.
		send("bob", "before dan leaves")
		if err := s.LeaveThread(as["dan"], group.ID); err != nil {
			t.Fatal(err)
		}
		send("ann", "while dan is away")
		add("dan")
		if n, read, after := unread("dan"); n != 0 || read != 7 || after != 9 {
			t.Errorf("dan added back: %d unread, read marker %d, unread after %d; want 0, 7, 9", n, read, after)
		}
		if m := markers(); m["dan"] != 7 {
			t.Errorf("dan added back has read up to %d by the read markers; want 7, where he read before leaving", m["dan"])
		}
		send("cat", "welcome back")
		if n, _, _ := unread("dan"); n != 1 {
			t.Errorf("dan added back, after cat's welcome: %d unread, want 1", n)
		}
		if err := s.MarkRead(as["dan"], group.ID, 10); err != nil {
			t.Fatal(err)
		}
		if n, read, _ := unread("dan"); n != 0 || read != 10 {
			t.Errorf("dan read it all: %d unread, read marker %d; want 0, 10", n, read)
		}
		if m := markers(); m["dan"] != 10 {
			t.Errorf("dan read it all: the read markers say %d, want 10", m["dan"])
		}
	})
}

// How far each member of a group read (GET /threads/{id}/read, and the
// messenger's "Seen by", which every open page of the group fetches again
// at each read.updated) costs the same number of queries whatever the
// size of the group: a group of 30 not ten times what a group of 3 does.
func TestReadMarkers_CostTheSameQueriesForAnyGroupSize(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
		queries := map[int]uint64{}
		for _, size := range []int{3, 30} {
			now := parley.Now()
			var first *parley.User
			group := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "g", LastActivityAt: now, CreatedAt: now}
			err := db.Write(ctx, func(tx parley.Tx) error {
				for i := range size {
					u := &parley.User{ID: parley.NewID(), Username: fmt.Sprintf("m%d_%d", size, i), DisplayName: "m", CreatedAt: now}
					if err := tx.CreateUser(ctx, u, "hash"); err != nil {
						return err
					}
					if first == nil {
						first, group.CreatedBy = u, u.ID
						if err := tx.CreateThread(ctx, group); err != nil {
							return err
						}
					}
					if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: group.ID, UserID: u.ID, JoinedAt: now}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			before := db.Queries()
			markers, err := s.ReadMarkers(parley.NewContextWithCaller(ctx, &parley.Caller{User: first.Ref(), SignedInAt: now}), group.ID)
			if err != nil || len(markers) != size {
				t.Fatalf("a group of %d: %d markers, %v", size, len(markers), err)
			}
			queries[size] = db.Queries() - before
		}
		if queries[3] != queries[30] {
			t.Errorf("the read markers of a group of 3 cost %d queries, of a group of 30 %d; want the same", queries[3], queries[30])
		}
	})
}
