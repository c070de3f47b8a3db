package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// PostMessage numbers each message after the last, stores it, moves the
// sender's read marker to it and records the thread's activity; a taken
// idempotency key is ECONFLICT and takes no number; a thread that does not
// exist is ENOTFOUND; a sender who does not exist is refused, and takes
// no number either.
func TestMessages_PostMessageTakesTheNextSeq(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u := newUser("alice")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start})
		})
		post := func(threadID, key string, at time.Time) (*parley.Message, error) {
			m := &parley.Message{ID: parley.NewID(), ThreadID: threadID, Sender: parley.UserRef{ID: u.ID},
				Kind: parley.MessageKindText, Text: "hi " + key, CreatedAt: at, IdempotencyKey: key}
			return m, db.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
		}
		last := start.Add(time.Minute)
		for i, key := range []string{"k1", "k2", "k1", "k3"} {
			m, err := post(th.ID, key, last)
			if i == 2 {
				if parley.ErrorCode(err) != parley.ECONFLICT {
					t.Fatalf("a taken key: %v, want ECONFLICT", err)
				}
				continue
			}
			if want := int64(min(i+1, 3)); err != nil || m.Seq != want {
				t.Fatalf("post %d: seq %d, %v; want seq %d", i, m.Seq, err, want)
			}
		}
		if _, err := post(parley.NewID(), "k4", last); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("an unknown thread: %v, want ENOTFOUND", err)
		}
		stranger := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: parley.NewID()},
			Kind: parley.MessageKindText, Text: "from no one", CreatedAt: last}
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, stranger) }); err == nil {
			t.Fatal("a sender who does not exist posted")
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			got, err := tx.FindThreadByID(ctx, th.ID)
			if err != nil {
				return err
			}
			if got.LastSeq != 3 || !got.LastActivityAt.Equal(last) {
				return fmt.Errorf("thread: last seq %d at %v, want 3 at %v", got.LastSeq, got.LastActivityAt, last)
			}
			p, err := tx.FindParticipant(ctx, th.ID, u.ID)
			if err != nil {
				return err
			}
			if p.LastReadSeq != 3 {
				return fmt.Errorf("the sender's marker is at %d, want 3", p.LastReadSeq)
			}
			after := int64(0)
			msgs, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 10})
			if err != nil {
				return err
			}
			for i, m := range msgs {
				if want := fmt.Sprintf("hi k%d", i+1); m.Seq != int64(i+1) || m.Text != want {
					return fmt.Errorf("message %d: seq %d %q, want seq %d %q", i, m.Seq, m.Text, i+1, want)
				}
			}
			if len(msgs) != 3 {
				return fmt.Errorf("%d messages, want 3", len(msgs))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// PostParticipantMessage posts as PostMessage when the sender is a current
// participant, and returns the participants; a sender who left, or was
// never in the thread, gets the participants and nothing stored. Through
// WriteOne, a post that fails keeps nothing.
func TestMessages_PostParticipantMessagePostsOnlyAsAParticipant(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, bob, carol := newUser("alice"), newUser("bob"), newUser("carol")
		start := parley.Now()
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: alice.ID, LastActivityAt: start, CreatedAt: start}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, u := range []*parley.User{alice, bob, carol} {
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{alice, bob} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start}); err != nil {
					return err
				}
			}
			return tx.LeaveThread(ctx, th.ID, bob.ID, start)
		})
		post := func(sender *parley.User) (*parley.Message, []string, bool) {
			t.Helper()
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: sender.ID},
				Kind: parley.MessageKindText, Text: "from " + sender.Username, CreatedAt: start.Add(time.Minute)}
			var ids []string
			var posted bool
			err := db.WriteOne(ctx, func(tx parley.Tx) (err error) {
				ids, posted, err = tx.PostParticipantMessage(ctx, m)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return m, ids, posted
		}
		for _, u := range []*parley.User{bob, carol} {
			if _, ids, posted := post(u); posted || len(ids) != 1 || ids[0] != alice.ID {
				t.Fatalf("%s's post: posted %v, participants %v; want nothing posted, participants [alice]", u.Username, posted, ids)
			}
		}
		m, ids, posted := post(alice)
		if !posted || m.Seq != 1 || len(ids) != 1 || ids[0] != alice.ID {
			t.Fatalf("alice's post: posted %v at seq %d, participants %v; want seq 1, participants [alice]", posted, m.Seq, ids)
		}
		// A taken key fails the statement, which keeps nothing: no number
		// taken, no second message.
		again := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: parley.UserRef{ID: alice.ID},
			Kind: parley.MessageKindText, Text: "again", CreatedAt: start.Add(time.Minute), IdempotencyKey: "k"}
		for i, want := range []string{"", parley.ECONFLICT} {
			again.ID = parley.NewID()
			err := db.WriteOne(ctx, func(tx parley.Tx) error {
				_, _, err := tx.PostParticipantMessage(ctx, again)
				return err
			})
			if parley.ErrorCode(err) != want {
				t.Fatalf("post %d with key k: %v, want code %q", i, err, want)
			}
		}
		err := db.Read(ctx, func(tx parley.Tx) error {
			after := int64(0)
			msgs, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, After: &after, Limit: 10})
			if err != nil {
				return err
			}
			if len(msgs) != 2 || msgs[0].ID != m.ID || msgs[1].Text != "again" {
				return fmt.Errorf("the thread holds %d messages, want alice's two", len(msgs))
			}
			p, err := tx.FindParticipant(ctx, th.ID, alice.ID)
			if err != nil {
				return err
			}
			if p.LastReadSeq != 2 {
				return fmt.Errorf("alice's marker is at %d, want 2", p.LastReadSeq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FindNewestMessages returns each thread's newest messages, newest first,
// at most limit of them and none before the thread's FromSeq; threads
// without such messages have no key.
func TestMessages_FindNewestMessagesOfSeveralThreads(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u := newUser("alice")
		start := parley.Now()
		threads := make([]*parley.Thread, 4)
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
			for i := range threads {
				threads[i] = &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
				if err := tx.CreateThread(ctx, threads[i]); err != nil {
					return err
				}
				// Thread i holds i messages, "i.1" to "i.i".
				for n := 1; n <= i; n++ {
					m := &parley.Message{ID: parley.NewID(), ThreadID: threads[i].ID, Sender: parley.UserRef{ID: u.ID},
						Kind: parley.MessageKindText, Text: fmt.Sprintf("%d.%d", i, n), CreatedAt: start}
					if err := tx.PostMessage(ctx, m); err != nil {
						return err
					}
				}
			}
			return nil
		})
		var found map[string][]*parley.Message
		err := db.Read(ctx, func(tx parley.Tx) (err error) {
			found, err = tx.FindNewestMessages(ctx, []parley.ThreadFrom{
				{ThreadID: threads[0].ID},
				{ThreadID: threads[1].ID},
				{ThreadID: threads[2].ID, FromSeq: 2},
				{ThreadID: threads[3].ID},
			}, 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{
			threads[1].ID: {"1.1"},
			threads[2].ID: {"2.2"},
			threads[3].ID: {"3.3", "3.2"},
		}
		if len(found) != len(want) {
			t.Errorf("messages of %d threads, want %d", len(found), len(want))
		}
		for id, texts := range want {
			var got []string
			for _, m := range found[id] {
				if m.ThreadID != id || m.Sender.Username != "alice" {
					t.Errorf("message %q: thread %s, sender %q; want %s, alice", m.Text, m.ThreadID, m.Sender.Username, id)
				}
				got = append(got, m.Text)
			}
			if fmt.Sprint(got) != fmt.Sprint(texts) {
				t.Errorf("thread %s: %v, want %v", id, got, texts)
			}
		}
	})
}
