package sqlstore_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// RenameThread sets the title and records the thread's activity; a thread
// that does not exist is ENOTFOUND.
func TestThreads_RenameThread(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u := newUser("alice")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "before", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			return tx.CreateThread(ctx, th)
		})
		later := start.Add(time.Minute)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, "after", later) })
		err := db.Read(ctx, func(tx parley.Tx) error {
			got, err := tx.FindThreadByID(ctx, th.ID)
			if err != nil {
				return err
			}
			if got.Title != "after" || !got.LastActivityAt.Equal(later) {
				t.Errorf("renamed thread: %q at %v, want \"after\" at %v", got.Title, got.LastActivityAt, later)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Write(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, parley.NewID(), "x", later) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("renaming an unknown thread: %v, want ENOTFOUND", err)
		}
	})
}

// A thread's Version counts each change that thread.updated tells of, on
// every engine: a member joining, or coming back, or leaving, a new
// title, a block made or lifted; a message posted is none.
func TestThreads_VersionCountsEachChange(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob := newUser("alice"), newUser("bob")
		now := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: alice.ID, LastActivityAt: now, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{alice, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			return tx.CreateThread(ctx, th)
		})
		version := func() int64 {
			t.Helper()
			var got *parley.Thread
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { got, err = tx.FindThreadByID(ctx, th.ID); return err }); err != nil {
				t.Fatal(err)
			}
			return got.Version
		}
		if v := version(); v != 0 {
			t.Fatalf("a new thread's version: %d, want 0", v)
		}
		join := func(u *parley.User) func(tx parley.Tx) error {
			return func(tx parley.Tx) error {
				return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: parley.Now()})
			}
		}
		for i, change := range []struct {
			name  string
			write func(tx parley.Tx) error
		}{
			{"alice joins", join(alice)},
			{"bob joins", join(bob)},
			{"renamed", func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, "Trip", parley.Now()) }},
			{"blocked", func(tx parley.Tx) error { return tx.SetThreadBlocked(ctx, th.ID, true) }},
			{"unblocked", func(tx parley.Tx) error { return tx.SetThreadBlocked(ctx, th.ID, false) }},
			{"bob leaves", func(tx parley.Tx) error { return tx.LeaveThread(ctx, th.ID, bob.ID, parley.Now()) }},
			{"bob comes back", join(bob)},
		} {
			mustWrite(t, db, change.write)
			if v := version(); v != int64(i+1) {
				t.Errorf("%s: version %d, want %d", change.name, v, i+1)
			}
		}
		postN(t, db, alice, th, 2)
		if v := version(); v != 7 {
			t.Errorf("after two messages: version %d, want 7 still", v)
		}
	})
}

// JoinThread takes no one into a thread as a deleted account: ENOTFOUND,
// and the thread stays without them.
func TestThreads_JoinThreadRefusesADeletedAccount(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		now := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: ann.ID, LastActivityAt: now, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: ann.ID, JoinedAt: now}); err != nil {
				return err
			}
			return tx.EraseUser(ctx, bob.ID, now)
		})
		err := db.Write(ctx, func(tx parley.Tx) error {
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: bob.ID, JoinedAt: now})
		})
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("a deleted account joining a thread: %v, want ENOTFOUND", err)
		}
		var ids []string
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { ids, err = tx.FindParticipantIDs(ctx, th.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []string{ann.ID}) {
			t.Fatalf("the thread's participants are %v, want only ann's %v", ids, ann.ID)
		}
	})
}

// FindParticipantsOf returns, in one query, who is in each of the threads
// the member is in, by join time, without those who left; threads the
// member is not in, or left, are left out. FindParticipantRefsOf returns
// the same, each with when they joined.
func TestThreads_FindParticipantsOf(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob, carol := newUser("alice"), newUser("bob"), newUser("carol")
		start := parley.Now()
		thread := func(members ...*parley.User) string {
			th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: members[0].ID, LastActivityAt: start, CreatedAt: start}
			mustWrite(t, db, func(tx parley.Tx) error {
				if err := tx.CreateThread(ctx, th); err != nil {
					return err
				}
				for i, u := range members {
					if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start.Add(time.Duration(i) * time.Second), JoinedSeq: int64(i)}); err != nil {
						return err
					}
				}
				return nil
			})
			return th.ID
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{alice, bob, carol} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			return nil
		})
		withBob, withBoth, without, left := thread(alice, bob), thread(carol, alice, bob), thread(bob, carol), thread(alice, carol)
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.LeaveThread(ctx, withBoth, bob.ID, start.Add(time.Minute)); err != nil {
				return err
			}
			return tx.LeaveThread(ctx, left, alice.ID, start.Add(time.Minute))
		})
		var got map[string][]parley.UserRef
		var refs map[string][]parley.ParticipantRef
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			asked := []string{withBob, withBoth, without, left, "nothing"}
			if got, err = tx.FindParticipantsOf(ctx, alice.ID, asked); err != nil {
				return err
			}
			refs, err = tx.FindParticipantRefsOf(ctx, alice.ID, asked)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		joined := func(username string, i int) parley.ParticipantRef {
			u := map[string]*parley.User{"alice": alice, "bob": bob, "carol": carol}[username]
			return parley.ParticipantRef{UserRef: u.Ref(), JoinedAt: start.Add(time.Duration(i) * time.Second), JoinedSeq: int64(i)}
		}
		wantRefs := map[string][]parley.ParticipantRef{withBob: {joined("alice", 0), joined("bob", 1)}, withBoth: {joined("carol", 0), joined("alice", 1)}}
		if !reflect.DeepEqual(refs, wantRefs) {
			t.Errorf("FindParticipantRefsOf: %+v, want %+v", refs, wantRefs)
		}
		names := func(refs []parley.UserRef) (s []string) {
			for _, u := range refs {
				s = append(s, u.Username)
			}
			return s
		}
		want := map[string][]string{withBob: {"alice", "bob"}, withBoth: {"carol", "alice"}}
		if len(got) != len(want) {
			t.Fatalf("participants of %d threads, want %d: %v", len(got), len(want), got)
		}
		for id, w := range want {
			if g := names(got[id]); !slices.Equal(g, w) {
				t.Errorf("thread %s: %v, want %v", id, g, w)
			}
		}
	})
}

// FindParticipantIDs returns who is in the thread now, in order of ID,
// whatever order they joined in, without those who left.
func TestThreads_FindParticipantIDs(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob, carol, dave := newUser("alice"), newUser("bob"), newUser("carol"), newUser("dave")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: dave.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{alice, bob, carol, dave} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{dave, carol, alice, bob} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start}); err != nil {
					return err
				}
			}
			return tx.LeaveThread(ctx, th.ID, bob.ID, start.Add(time.Minute))
		})
		var got []string
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindParticipantIDs(ctx, th.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := slices.Sorted(slices.Values([]string{alice.ID, carol.ID, dave.ID}))
		if !slices.Equal(got, want) {
			t.Errorf("participants %v, want %v", got, want)
		}
	})
}

// FindThreadsClosedBy returns the threads a member keeps closed to apps,
// with when they closed each: not those they reopened, nor those only
// another member closed.
func TestThreads_FindThreadsClosedBy(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		now := parley.Now()
		var threads []*parley.Thread
		for range 3 {
			threads = append(threads, &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: ann.ID, LastActivityAt: now, CreatedAt: now})
		}
		kept, reopened, bobs := threads[0], threads[1], threads[2]
		closedAt := now.Add(time.Minute)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			for _, th := range threads {
				if err := tx.CreateThread(ctx, th); err != nil {
					return err
				}
			}
			for _, c := range []struct {
				th *parley.Thread
				by *parley.User
			}{{kept, ann}, {reopened, ann}, {kept, bob}, {bobs, bob}} {
				if _, err := tx.CloseThreadToApps(ctx, c.th.ID, c.by.ID, closedAt); err != nil {
					return err
				}
			}
			_, err := tx.ReopenThreadToApps(ctx, reopened.ID, ann.ID)
			return err
		})
		err := db.Read(ctx, func(tx parley.Tx) error {
			for _, c := range []struct {
				who  *parley.User
				want []string
			}{{ann, []string{kept.ID}}, {bob, []string{kept.ID, bobs.ID}}} {
				closed, err := tx.FindThreadsClosedBy(ctx, c.who.ID)
				if err != nil {
					return err
				}
				if len(closed) != len(c.want) {
					t.Errorf("%s keeps %v closed, want %v", c.who.Username, closed, c.want)
				}
				for _, id := range c.want {
					if at, ok := closed[id]; !ok || !at.Equal(closedAt) {
						t.Errorf("%s keeps %s closed since %v (%v), want since %v", c.who.Username, id, at, ok, closedAt)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// SetThreadMuted is one member's own: their row and their list show it, the
// other member's do not; it is ENOTFOUND for a member not in the thread,
// or who left; and a member brought back after leaving comes back unmuted.
func TestThreads_SetThreadMuted(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob, cat := newUser("ann"), newUser("bob"), newUser("cat")
		now := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, CreatedBy: ann.ID, LastActivityAt: now, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob, cat} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
		muted := func(u *parley.User) (row, listed bool) {
			t.Helper()
			err := db.Read(ctx, func(tx parley.Tx) error {
				p, err := tx.FindParticipant(ctx, th.ID, u.ID)
				if err != nil {
					return err
				}
				list, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: u.ID, Limit: 10})
				if err != nil || len(list) != 1 {
					t.Fatalf("%s's threads: %v, %v; want the one", u.Username, list, err)
				}
				row, listed = p.Muted, list[0].Muted
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return row, listed
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetThreadMuted(ctx, th.ID, ann.ID, true) })
		if row, listed := muted(ann); !row || !listed {
			t.Errorf("ann muted the thread: her row says %v, her list %v; want both true", row, listed)
		}
		if row, listed := muted(bob); row || listed {
			t.Errorf("ann muted the thread: bob's row says %v, his list %v; want both false", row, listed)
		}

		err := db.Write(ctx, func(tx parley.Tx) error { return tx.SetThreadMuted(ctx, th.ID, cat.ID, true) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("muting a thread one is not in: %v, want ENOTFOUND", err)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.LeaveThread(ctx, th.ID, ann.ID, now) })
		err = db.Write(ctx, func(tx parley.Tx) error { return tx.SetThreadMuted(ctx, th.ID, ann.ID, false) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("unmuting a thread one left: %v, want ENOTFOUND", err)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: ann.ID, JoinedAt: now})
		})
		if row, listed := muted(ann); row || listed {
			t.Errorf("ann added back: her row says muted %v, her list %v; want both false", row, listed)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetThreadMuted(ctx, th.ID, bob.ID, true) })
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetThreadMuted(ctx, th.ID, bob.ID, false) })
		if row, listed := muted(bob); row || listed {
			t.Errorf("bob unmuted: his row says %v, his list %v; want both false", row, listed)
		}
	})
}

// JoinThread records where a member joined the thread apart from their
// read marker: a member added after 5 messages has none of them unread
// and a read marker of 0, and the next message from someone else is one
// unread. Brought back after leaving, they take their new join point and
// keep their read marker. Moving the marker leaves the join point as it
// is.
func TestThreads_JoinedSeqIsApartFromTheReadMarker(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, th := newGroup(t, db, "ann")
		bob := newUser("bob")
		now := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, bob, "hash"); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: ann.ID, JoinedAt: now})
		})
		postMany(t, db, ann, th, 5)
		join := func(seq int64) {
			t.Helper()
			mustWrite(t, db, func(tx parley.Tx) error {
				return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: bob.ID, JoinedAt: now, JoinedSeq: seq})
			})
		}
		// bobs says what bob's row and his list of threads hold.
		bobs := func() (readSeq, joinedSeq, unread int64) {
			t.Helper()
			err := db.Read(ctx, func(tx parley.Tx) error {
				p, err := tx.FindParticipant(ctx, th.ID, bob.ID)
				if err != nil {
					return err
				}
				list, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: bob.ID, Limit: 10})
				if err != nil || len(list) != 1 {
					t.Fatalf("bob's threads: %v, %v; want the one", list, err)
				}
				if s := list[0]; s.LastReadSeq != p.LastReadSeq || s.JoinedSeq != p.JoinedSeq {
					t.Errorf("bob's list says read %d, joined %d; his row %d, %d", s.LastReadSeq, s.JoinedSeq, p.LastReadSeq, p.JoinedSeq)
				}
				readSeq, joinedSeq, unread = p.LastReadSeq, p.JoinedSeq, list[0].UnreadCount
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return readSeq, joinedSeq, unread
		}

		join(5)
		if read, joined, unread := bobs(); read != 0 || joined != 5 || unread != 0 {
			t.Errorf("bob added after 5 messages: read %d, joined %d, %d unread; want 0, 5, 0", read, joined, unread)
		}
		postMany(t, db, ann, th, 1)
		if read, joined, unread := bobs(); read != 0 || joined != 5 || unread != 1 {
			t.Errorf("after ann's next message: read %d, joined %d, %d unread; want 0, 5, 1", read, joined, unread)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			_, err := tx.SetReadSeq(ctx, th.ID, bob.ID, 6)
			return err
		})
		if read, joined, unread := bobs(); read != 6 || joined != 5 || unread != 0 {
			t.Errorf("bob read message 6: read %d, joined %d, %d unread; want 6, 5, 0", read, joined, unread)
		}
		postMany(t, db, ann, th, 1)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.LeaveThread(ctx, th.ID, bob.ID, now) })
		postMany(t, db, ann, th, 2)
		join(9)
		if read, joined, unread := bobs(); read != 6 || joined != 9 || unread != 0 {
			t.Errorf("bob added back after message 9: read %d, joined %d, %d unread; want 6, 9, 0", read, joined, unread)
		}
		var anns *parley.Participant
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { anns, err = tx.FindParticipant(ctx, th.ID, ann.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if anns.JoinedSeq != 0 || anns.LastReadSeq != 9 {
			t.Errorf("ann, in the thread from its start, who sent every message: joined %d, read %d; want 0, 9", anns.JoinedSeq, anns.LastReadSeq)
		}
	})
}

// A member's unread count leaves out the messages deleted after their
// read marker and where they joined (DeletedUnread); CountDeletedAfter
// counts a thread's messages deleted after a message.
func TestThreads_DeletedMessagesAreNotUnread(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, th := newGroup(t, db, "ann")
		bob, carol := newUser("bob"), newUser("carol")
		now := parley.Now()
		var ids []string
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{bob, carol} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: now}); err != nil {
					return err
				}
			}
			for i := range 5 {
				if i == 3 {
					if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: carol.ID, JoinedAt: now, JoinedSeq: 3}); err != nil {
						return err
					}
				}
				m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: ann.Ref(), Kind: parley.MessageKindText, Text: "hello", CreatedAt: now}
				if err := tx.PostMessage(ctx, m); err != nil {
					return err
				}
				ids = append(ids, m.ID)
			}
			for _, id := range []string{ids[1], ids[3]} {
				if err := tx.DeleteMessage(ctx, id, now); err != nil {
					return err
				}
			}
			_, err := tx.SetReadSeq(ctx, th.ID, bob.ID, 2)
			return err
		})
		err := db.Read(ctx, func(tx parley.Tx) error {
			for seq, want := range map[int64]int64{0: 2, 1: 2, 2: 1, 4: 0, 5: 0} {
				if n, err := tx.CountDeletedAfter(ctx, th.ID, seq); err != nil || n != want {
					t.Errorf("CountDeletedAfter(%d) = %d, %v; want %d", seq, n, err, want)
				}
			}
			// Bob read up to 2: of 3, 4 and 5, 4 is deleted. Carol joined
			// after 3: of 4 and 5, 4 is deleted.
			for u, want := range map[*parley.User]int64{bob: 2, carol: 1} {
				list, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: u.ID, Limit: 10})
				if err != nil || len(list) != 1 {
					return fmt.Errorf("%s's threads: %v, %v; want the one", u.Username, list, err)
				}
				if s := list[0]; s.UnreadCount != want || s.DeletedUnread != 1 {
					t.Errorf("%s counts %d unread, %d deleted; want %d, 1", u.Username, s.UnreadCount, s.DeletedUnread, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Migration 0050 gives each member the join point the note of their
// latest adding records (its after_seq), and 0 to everyone else: those in
// a thread from its start, and those added before notes were kept. A
// member's notes in one thread say nothing of another. Undone, the column
// is gone.
func TestMigration0050_JoinedSeqFromNotesOfAdding(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 49)
			execAll(t, db,
				`INSERT INTO users (id, no, username, display_name, password_hash, created_at)
					VALUES ('ann', 1, 'ann', 'Ann', 'h', 1), ('bob', 2, 'bob', 'Bob', 'h', 1), ('cat', 3, 'cat', 'Cat', 'h', 1), ('dan', 4, 'dan', 'Dan', 'h', 1)`,
				`INSERT INTO threads (id, no, kind, title, created_by, last_seq, last_change, last_activity_at, created_at)
					VALUES ('t1', 1, 'group', 'one', 'ann', 5, 5, 1, 1), ('t2', 2, 'group', 'two', 'ann', 2, 2, 1, 1)`,
				`INSERT INTO participants (thread_id, user_id, joined_at, last_read_seq)
					VALUES ('t1', 'ann', 1, 5), ('t1', 'bob', 2, 0), ('t1', 'cat', 3, 1), ('t2', 'ann', 1, 2), ('t2', 'bob', 1, 0), ('t2', 'dan', 1, 0)`,
				`INSERT INTO timeline_notes (id, thread_id, after_seq, at, kind, by_user_id, subject_user_id, title) VALUES
					('n1', 't1', 0, 1, 'started', 'ann', NULL, 'one'),
					('n2', 't1', 2, 2, 'added', 'ann', 'cat', NULL),
					('n3', 't1', 3, 3, 'added', 'ann', 'bob', NULL),
					('n4', 't1', 3, 4, 'left', 'cat', NULL, NULL),
					('n5', 't1', 5, 5, 'added', 'ann', 'cat', NULL),
					('n6', 't2', 0, 1, 'started', 'ann', NULL, 'two'),
					('n7', 't2', 1, 2, 'removed', 'ann', 'dan', NULL)`,
			)
			store := open()
			defer store.Close()
			want := map[[2]string]int64{
				{"t1", "ann"}: 0, {"t1", "bob"}: 3, {"t1", "cat"}: 5,
				{"t2", "ann"}: 0, {"t2", "bob"}: 0, {"t2", "dan"}: 0,
			}
			err := store.Read(ctx, func(tx parley.Tx) error {
				for key, seq := range want {
					p, err := tx.FindParticipant(ctx, key[0], key[1])
					if err != nil {
						return err
					}
					if p.JoinedSeq != seq {
						t.Errorf("%s in %s joined at %d, want %d", key[1], key[0], p.JoinedSeq, seq)
					}
				}
				list, err := tx.FindThreads(ctx, parley.ThreadFilter{UserID: "bob", Limit: 10})
				if err != nil {
					return err
				}
				unread := map[string]int64{}
				for _, s := range list {
					unread[s.ID] = s.UnreadCount
				}
				if want := map[string]int64{"t1": 2, "t2": 2}; !reflect.DeepEqual(unread, want) {
					t.Errorf("bob's unread counts after the migration: %v, want %v", unread, want)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.MigrateDownTo(ctx, db, engine, 49); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `SELECT joined_seq FROM participants`); err == nil {
				t.Error("undone, participants still has joined_seq")
			}
		})
	}
}

// FindTimelineNotes returns the notes that sit after the messages of a
// range, in the order they were made, with their members' names and the
// title they carry, to a member in the thread, and none to another; of
// more than its limit, the latest.
func TestThreads_TimelineNotes(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		now := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "Plans", CreatedBy: ann.ID, LastActivityAt: now, CreatedAt: now}
		notes := []*parley.TimelineNote{
			{Kind: parley.NoteStarted, AfterSeq: 0, By: ann.Ref(), Title: "Plans"},
			{Kind: parley.NoteAdded, AfterSeq: 3, By: ann.Ref(), Subject: &parley.UserRef{ID: bob.ID}},
			{Kind: parley.NoteRenamed, AfterSeq: 3, By: bob.Ref(), Title: ""},
			{Kind: parley.NoteLeft, AfterSeq: 7, By: bob.Ref()},
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: ann.ID, JoinedAt: now}); err != nil {
				return err
			}
			for i, n := range notes {
				n.ID, n.ThreadID, n.At = parley.NewID(), th.ID, now.Add(time.Duration(i)*time.Second)
				if err := tx.AddTimelineNote(ctx, n); err != nil {
					return err
				}
			}
			return nil
		})
		findAtMost := func(from, to int64, limit int) []parley.TimelineNote {
			t.Helper()
			var list []parley.TimelineNote
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				list, err = tx.FindTimelineNotes(ctx, ann.ID, th.ID, from, to, limit)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return list
		}
		find := func(from, to int64) []parley.TimelineNote { t.Helper(); return findAtMost(from, to, 10) }
		all := find(0, 1<<62)
		if len(all) != len(notes) {
			t.Fatalf("all notes: %+v, want %d", all, len(notes))
		}
		for i, n := range all {
			want := notes[i]
			if n.ID != want.ID || n.Kind != want.Kind || n.AfterSeq != want.AfterSeq || n.By.Username != want.By.Username || n.Title != want.Title || !n.At.Equal(want.At) {
				t.Errorf("note %d: %+v, want %+v", i, n, want)
			}
		}
		if s := all[1].Subject; s == nil || s.ID != bob.ID || s.Username != "bob" || s.DisplayName != bob.DisplayName {
			t.Errorf("the added note's subject: %+v, want bob with his names", s)
		}
		if all[0].Subject != nil || all[3].Subject != nil {
			t.Errorf("notes without a subject have %+v, %+v", all[0].Subject, all[3].Subject)
		}
		if got := find(1, 3); len(got) != 2 || got[0].Kind != parley.NoteAdded || got[1].Kind != parley.NoteRenamed {
			t.Errorf("notes after messages 1 to 3: %+v, want the two after 3", got)
		}
		if got := find(4, 6); len(got) != 0 {
			t.Errorf("notes after messages 4 to 6: %+v, want none", got)
		}
		kinds := func(list []parley.TimelineNote) []string {
			var out []string
			for _, n := range list {
				out = append(out, n.Kind)
			}
			return out
		}
		for _, tc := range []struct {
			from, to int64
			limit    int
			want     []string
		}{
			{0, 1 << 62, 2, []string{parley.NoteRenamed, parley.NoteLeft}},
			{0, 1 << 62, 1, []string{parley.NoteLeft}},
			{1, 3, 1, []string{parley.NoteRenamed}},
			{0, 3, 2, []string{parley.NoteAdded, parley.NoteRenamed}},
		} {
			if got := kinds(findAtMost(tc.from, tc.to, tc.limit)); !slices.Equal(got, tc.want) {
				t.Errorf("at most %d notes after messages %d to %d: %v, want the latest, %v", tc.limit, tc.from, tc.to, got, tc.want)
			}
		}
		var bobs []parley.TimelineNote
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			bobs, err = tx.FindTimelineNotes(ctx, bob.ID, th.ID, 0, 1<<62, 10)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(bobs) != 0 {
			t.Errorf("bob, not in the thread, finds its notes: %+v", bobs)
		}
	})
}

// A member's renamings of a group in a row, after the same message with no
// other note between, are one note: the first's, with the last's title
// and time. Another member's renaming, another note, or a message between
// begins a new one.
func TestThreads_TimelineRenamesInARow(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		now := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "Plans", CreatedBy: ann.ID, LastActivityAt: now, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, bob} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: ann.ID, JoinedAt: now})
		})
		i := 0
		add := func(afterSeq int64, kind string, by *parley.User, title string) *parley.TimelineNote {
			t.Helper()
			i++
			n := &parley.TimelineNote{ID: parley.NewID(), ThreadID: th.ID, AfterSeq: afterSeq, At: now.Add(time.Duration(i) * time.Second), Kind: kind, By: by.Ref(), Title: title}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.AddTimelineNote(ctx, n) })
			return n
		}
		started := add(0, parley.NoteStarted, ann, "Plans")
		first := add(0, parley.NoteRenamed, ann, "A") // after the note that started it: its own
		if again := add(0, parley.NoteRenamed, ann, "B"); again.ID != first.ID {
			t.Errorf("ann's renaming again took ID %s, want her first's, %s", again.ID, first.ID)
		}
		last := add(0, parley.NoteRenamed, ann, "C")
		bobs := add(0, parley.NoteRenamed, bob, "D")
		anns := add(0, parley.NoteRenamed, ann, "E")
		left := add(0, parley.NoteLeft, bob, "")
		afterLeft := add(0, parley.NoteRenamed, ann, "F")
		afterMessage := add(1, parley.NoteRenamed, ann, "G")
		want := []*parley.TimelineNote{started, last, bobs, anns, left, afterLeft, afterMessage}
		var got []parley.TimelineNote
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindTimelineNotes(ctx, ann.ID, th.ID, 0, 1<<62, 100)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("notes %+v, want %d", got, len(want))
		}
		for i, n := range got {
			w := want[i]
			if n.ID != w.ID || n.Kind != w.Kind || n.By.ID != w.By.ID || n.Title != w.Title || n.AfterSeq != w.AfterSeq || !n.At.Equal(w.At) {
				t.Errorf("note %d: %+v, want %+v", i, n, *w)
			}
		}
		if got[1].ID != first.ID {
			t.Errorf("ann's renamings in a row are note %s, want her first's, %s", got[1].ID, first.ID)
		}
	})
}

// A member's idempotency key of a request to start a thread keeps the
// thread the request was answered with, what it keeps of the request, and
// whether the thread was there already; the member takes a key once.
func TestThreadKeys_TakenOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ids := mustUsers(t, db, "alice", "bob")
		kept := &parley.ThreadKey{UserID: ids[0], Key: "trip", ThreadID: "the direct thread", RequestHash: []byte("the request"), Existed: true}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateThreadKey(ctx, kept) })
		err := db.Write(ctx, func(tx parley.Tx) error {
			return tx.CreateThreadKey(ctx, &parley.ThreadKey{UserID: ids[0], Key: "trip", ThreadID: "another", RequestHash: []byte("another")})
		})
		if parley.ErrorCode(err) != parley.ECONFLICT {
			t.Errorf("the key taken again: %v; want ECONFLICT", err)
		}
		err = db.Read(ctx, func(tx parley.Tx) error {
			k, err := tx.FindThreadKey(ctx, ids[0], "trip")
			if err != nil || !reflect.DeepEqual(k, kept) {
				t.Errorf("alice's key: %+v, %v; want %+v", k, err, kept)
			}
			if _, err := tx.FindThreadKey(ctx, ids[1], "trip"); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("bob's key: %v; want ENOTFOUND", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FindReadMarkers answers how far each of a thread's current participants
// has read, in the order they joined, in one query: a group's "Seen by" costs the same whatever its size. One who
// left is not among them.
func TestThreads_FindReadMarkersReadsEveryParticipantInOneQuery(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob, cat, dan := newUser("ann"), newUser("bob"), newUser("cat"), newUser("dan")
		th := mustGroupOf(t, db, ann, bob, cat, dan)
		postMany(t, db, ann, th, 5)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, r := range []struct {
				u   *parley.User
				seq int64
			}{{ann, 5}, {bob, 3}, {cat, 1}} {
				if _, err := tx.SetReadSeq(ctx, th.ID, r.u.ID, r.seq); err != nil {
					return err
				}
			}
			return tx.LeaveThread(ctx, th.ID, dan.ID, parley.Now())
		})

		var markers []parley.ReadMarker
		before := db.Queries()
		err := db.Read(ctx, func(tx parley.Tx) (err error) {
			markers, err = tx.FindReadMarkers(ctx, th.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := db.Queries() - before; n != 1 {
			t.Errorf("the read markers of a group of 3 took %d queries; want 1", n)
		}
		want := []parley.ReadMarker{{User: ann.Ref(), Seq: 5}, {User: bob.Ref(), Seq: 3}, {User: cat.Ref(), Seq: 1}}
		if !slices.Equal(markers, want) {
			t.Errorf("read markers %+v; want %+v", markers, want)
		}
	})
}

// FindLeftThreads lists the threads a member left and is not in again, in
// the order they left them, each with when they joined and left it, their
// read marker, and its title as they knew it: the thread's own unless it
// was renamed since they left, then the one its notes record last before
// they left. Threads they are in, or came back to, are not listed.
func TestThreads_FindLeftThreads(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		kept := mustGroupOf(t, db, ann, bob)
		at := func(minutes int) time.Time {
			return kept.CreatedAt.Add(time.Duration(minutes) * time.Minute).Truncate(time.Microsecond)
		}
		var renamed, plain, back *parley.Thread
		mustWrite(t, db, func(tx parley.Tx) error {
			var ths []*parley.Thread
			for _, title := range []string{"Old", "Plain", "Back"} {
				th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: title, CreatedBy: ann.ID, LastActivityAt: at(0), CreatedAt: at(0)}
				if err := tx.CreateThread(ctx, th); err != nil {
					return err
				}
				for _, u := range []*parley.User{ann, bob} {
					if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: at(0)}); err != nil {
						return err
					}
				}
				if err := tx.AddTimelineNote(ctx, &parley.TimelineNote{ID: parley.NewID(), ThreadID: th.ID, At: at(0), Kind: parley.NoteStarted, By: ann.Ref(), Title: title}); err != nil {
					return err
				}
				ths = append(ths, th)
			}
			renamed, plain, back = ths[0], ths[1], ths[2]
			if err := tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: plain.ID, Sender: ann.Ref(), Kind: parley.MessageKindText, Text: "hi", CreatedAt: at(1)}); err != nil {
				return err
			}
			if _, err := tx.SetReadSeq(ctx, plain.ID, ann.ID, 1); err != nil {
				return err
			}
			for i, th := range ths {
				if err := tx.LeaveThread(ctx, th.ID, ann.ID, at(3-i)); err != nil {
					return err
				}
			}
			if err := tx.RenameThread(ctx, renamed.ID, "New", at(5)); err != nil {
				return err
			}
			if err := tx.AddTimelineNote(ctx, &parley.TimelineNote{ID: parley.NewID(), ThreadID: renamed.ID, At: at(5), Kind: parley.NoteRenamed, By: bob.Ref(), Title: "New"}); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: back.ID, UserID: ann.ID, JoinedAt: at(6)})
		})
		var got []parley.LeftThread
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindLeftThreads(ctx, ann.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := []parley.LeftThread{
			{ID: plain.ID, Kind: parley.ThreadGroup, Title: "Plain", JoinedAt: at(0), LeftAt: at(2), LastReadSeq: 1},
			{ID: renamed.ID, Kind: parley.ThreadGroup, Title: "Old", JoinedAt: at(0), LeftAt: at(3)},
		}
		if len(got) != len(want) {
			t.Fatalf("ann's left threads: %+v; want %+v", got, want)
		}
		for i := range want {
			if g, w := got[i], want[i]; g.ID != w.ID || g.Kind != w.Kind || g.Title != w.Title || !g.JoinedAt.Equal(w.JoinedAt) || !g.LeftAt.Equal(w.LeftAt) || g.LastReadSeq != w.LastReadSeq {
				t.Errorf("left thread %d: %+v; want %+v", i, g, w)
			}
		}
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindLeftThreads(ctx, bob.ID)
			return err
		}); err != nil || len(got) != 0 {
			t.Errorf("bob's left threads: %+v, %v; want none", got, err)
		}
	})
}
