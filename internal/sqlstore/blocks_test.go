package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A block is one member's of another, found from either side, listed to
// its blocker by username, made once, lifted once, and erased with either
// account; an account already deleted can be neither blocker nor blocked.
func TestBlocks_CreateFindDelete(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, zed, bob, gone := newUser("ann"), newUser("zed"), newUser("bob"), newUser("gone")
		at := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{ann, zed, bob, gone} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.EraseUser(ctx, gone.ID, at); err != nil {
				return err
			}
			for _, blocked := range []*parley.User{zed, bob} {
				if err := tx.CreateBlock(ctx, ann.ID, blocked.ID, at); err != nil {
					return err
				}
			}
			return tx.CreateBlock(ctx, zed.ID, ann.ID, at.Add(time.Minute))
		})
		for name, c := range map[string]struct {
			blocker, blocked string
			want             string
		}{
			"Again":                {ann.ID, bob.ID, parley.ECONFLICT},
			"ADeletedBlocker":      {gone.ID, bob.ID, parley.ENOTFOUND},
			"ADeletedMember":       {bob.ID, gone.ID, parley.ENOTFOUND},
			"AMemberWhoIsNoMember": {bob.ID, parley.NewID(), parley.ENOTFOUND},
		} {
			err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateBlock(ctx, c.blocker, c.blocked, at) })
			if parley.ErrorCode(err) != c.want {
				t.Errorf("%s: %v, want %s", name, err, c.want)
			}
		}

		between := func(a, b *parley.User) (ab, ba bool) {
			t.Helper()
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				ab, ba, err = tx.FindBlocksBetween(ctx, a.ID, b.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ab, ba
		}
		for _, c := range []struct {
			a, b   *parley.User
			ab, ba bool
		}{{ann, zed, true, true}, {zed, ann, true, true}, {ann, bob, true, false}, {bob, ann, false, true}, {bob, zed, false, false}} {
			if ab, ba := between(c.a, c.b); ab != c.ab || ba != c.ba {
				t.Errorf("between %s and %s: %v, %v; want %v, %v", c.a.Username, c.b.Username, ab, ba, c.ab, c.ba)
			}
		}
		blocked := func(u *parley.User) []parley.BlockedMember {
			t.Helper()
			var list []parley.BlockedMember
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				list, err = tx.FindBlockedMembers(ctx, u.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return list
		}
		got := blocked(ann)
		if want := []parley.BlockedMember{{User: bob.Ref(), Since: at}, {User: zed.Ref(), Since: at}}; !slices.EqualFunc(got, want, func(a, b parley.BlockedMember) bool {
			return a.User == b.User && a.Since.Equal(b.Since)
		}) {
			t.Errorf("ann blocks %+v, want %+v", got, want)
		}
		if got := blocked(bob); got == nil || len(got) != 0 {
			t.Errorf("bob blocks %#v, want an empty list", got)
		}

		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteBlock(ctx, ann.ID, zed.ID) })
		if ab, ba := between(ann, zed); ab || !ba {
			t.Errorf("after ann lifted hers: %v, %v; want zed's block alone", ab, ba)
		}
		err := db.Write(ctx, func(tx parley.Tx) error { return tx.DeleteBlock(ctx, ann.ID, zed.ID) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("lifted again: %v, want ENOTFOUND", err)
		}

		mustWrite(t, db, func(tx parley.Tx) error { return tx.EraseUser(ctx, ann.ID, at) })
		if ab, ba := between(ann, zed); ab || ba {
			t.Error("ann's account is erased, and zed's block of her stays")
		}
		if ab, ba := between(ann, bob); ab || ba {
			t.Error("ann's account is erased, and her block of bob stays")
		}
	})
}

// A blocked thread takes no participant's message: PostParticipantMessage
// posts nothing, on its own and in WriteOne, and still says who is in it;
// a notice (PostMessage) still goes in. Unblocked, it takes messages again.
// The thread reads as blocked wherever it is found.
func TestBlocks_BlockedThreadTakesNoPost(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		post := func(write func(context.Context, func(parley.Tx) error) error) (ids []string, posted bool) {
			t.Helper()
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hi", CreatedAt: parley.Now()}
			if err := write(ctx, func(tx parley.Tx) (err error) {
				ids, posted, err = tx.PostParticipantMessage(ctx, m)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ids, posted
		}
		lastSeq := func() (blocked bool, seq int64) {
			t.Helper()
			var found *parley.Thread
			var listed []*parley.ThreadSummary
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				if found, err = tx.FindThreadByID(ctx, th.ID); err != nil {
					return err
				}
				listed, err = tx.FindThreads(ctx, parley.ThreadFilter{UserID: u.ID, Limit: 10})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(listed) != 1 || listed[0].Blocked != found.Blocked {
				t.Fatalf("the member's threads %+v, and the thread found blocked %v", listed, found.Blocked)
			}
			return found.Blocked, found.LastSeq
		}

		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetThreadBlocked(ctx, th.ID, true) })
		if blocked, _ := lastSeq(); !blocked {
			t.Fatal("the thread does not read as blocked")
		}
		for name, write := range map[string]func(context.Context, func(parley.Tx) error) error{"Write": db.Write, "WriteOne": db.WriteOne} {
			if ids, posted := post(write); posted || !slices.Equal(ids, []string{u.ID}) {
				t.Errorf("%s: posted %v with participants %v, want nothing posted and the one participant", name, posted, ids)
			}
		}
		if _, seq := lastSeq(); seq != 0 {
			t.Errorf("the blocked thread's last seq is %d, want 0", seq)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "notice", CreatedAt: parley.Now()})
		})

		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetThreadBlocked(ctx, th.ID, false) })
		if _, posted := post(db.WriteOne); !posted {
			t.Error("the unblocked thread takes no message")
		}
		if blocked, seq := lastSeq(); blocked || seq != 2 {
			t.Errorf("unblocked: blocked %v, last seq %d; want false, 2 (the notice and the post)", blocked, seq)
		}
		err := db.Write(ctx, func(tx parley.Tx) error { return tx.SetThreadBlocked(ctx, parley.NewID(), true) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("a thread that is not: %v, want ENOTFOUND", err)
		}
	})
}

// FindBlockPage pages through the members a member blocks, newest block
// first and, of blocks made in the same microsecond, the greatest blocked
// member's ID first: each once, from the cursor of the page before, not
// another member's blocks, and through the index in its order. FindBlock
// finds one block; FindBlockedIn the blocked members among a thread's
// current participants, in threads the blocker is in.
func TestBlocks_FindBlockPage(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		me, other := newUser("me"), newUser("other")
		start := parley.Now().Add(-time.Hour)
		var want []parley.BlockedMember
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{me, other} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			for i := range 23 {
				u := newUser(fmt.Sprintf("blocked%02d", i))
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				at := start.Add(time.Duration(i/3) * time.Second)
				if err := tx.CreateBlock(ctx, me.ID, u.ID, at); err != nil {
					return err
				}
				if err := tx.CreateBlock(ctx, other.ID, u.ID, at.Add(time.Hour)); err != nil {
					return err
				}
				want = append(want, parley.BlockedMember{User: u.Ref(), Since: at})
			}
			// Blocking me lists no one in my blocks.
			return tx.CreateBlock(ctx, other.ID, me.ID, start)
		})
		blockPlace := func(b parley.BlockedMember) parley.MemberCursor {
			return parley.MemberCursor{Since: b.Since, UserID: b.User.ID}
		}
		slices.SortFunc(want, func(a, b parley.BlockedMember) int { return newestFirst(blockPlace(a), blockPlace(b)) })
		got := readNewestFirst(t, 5, len(want), func(before *parley.MemberCursor) (page []parley.BlockedMember) {
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				page, err = tx.FindBlockPage(ctx, parley.BlockFilter{BlockerID: me.ID, Before: before, Limit: 5})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return page
		}, blockPlace, nil)
		if len(got) != len(want) {
			t.Fatalf("paged through %d blocks, want %d:\n%+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i].User != want[i].User || !got[i].Since.Equal(want[i].Since) {
				t.Errorf("block %d is of %s since %v, want %s since %v", i, got[i].User.Username, got[i].Since, want[i].User.Username, want[i].Since)
			}
		}
		for _, f := range []parley.BlockFilter{
			{BlockerID: me.ID, Limit: 51},
			{BlockerID: me.ID, Limit: 51, Before: &parley.MemberCursor{Since: start, UserID: want[0].User.ID}},
		} {
			indexes, sorts, err := sqlstore.BlockPagePlan(ctx, db, f)
			if err != nil || !slices.Equal(indexes, []string{"blocks_made"}) || sorts != 0 {
				t.Errorf("a page (cursor %v) reads blocks through %q, %d sorts (%v); want blocks_made, in order", f.Before != nil, indexes, sorts, err)
			}
		}

		err := db.Read(ctx, func(tx parley.Tx) error {
			b, err := tx.FindBlock(ctx, me.ID, want[3].User.ID)
			if err != nil || b.User != want[3].User || !b.Since.Equal(want[3].Since) {
				t.Errorf("FindBlock: %+v, %v; want %+v", b, err, want[3])
			}
			if _, err := tx.FindBlock(ctx, want[3].User.ID, me.ID); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("FindBlock the other way: %v, want ENOTFOUND", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// In a group of me, other and two members I block, one of whom
		// left: the one still in it. A group I am not in tells me nothing.
		a, b, c := newUser("ga"), newUser("gb"), newUser("gc")
		mine := mustGroupOf(t, db, a, b, c)
		x := newUser("gx")
		theirs := mustGroupOf(t, db, x, newUser("gy"))
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{me, other} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: mine.ID, UserID: u.ID, JoinedAt: parley.Now()}); err != nil {
					return err
				}
			}
			for _, u := range []*parley.User{a, b, x} {
				if err := tx.CreateBlock(ctx, me.ID, u.ID, parley.Now()); err != nil {
					return err
				}
			}
			return tx.LeaveThread(ctx, mine.ID, b.ID, parley.Now())
		})
		err = db.Read(ctx, func(tx parley.Tx) error {
			in, err := tx.FindBlockedIn(ctx, me.ID, []string{mine.ID, theirs.ID})
			if err != nil || !slices.Equal(in, []string{a.ID}) {
				t.Errorf("FindBlockedIn: %v, %v; want [%s]", in, err, a.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
