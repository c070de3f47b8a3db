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
// exist is ENOTFOUND.
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
