package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Migration 0022 keeps every message stored before it, now named by its
// thread's and sender's numbers: each reads back with its ID, seq, thread
// and sender; a retried send finds the message its key stored, and a new
// one with a key its sender used is refused; the changes feed and a share
// link's card read as before; a member's sent messages list each once; the
// next post takes the next seq and change, and a new member and thread
// numbers of their own. Undone, it gives the messages back their thread's
// and sender's IDs, their kinds, keys and change numbers.
func TestMigration0022_KeepsMessages(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 21)
			// Two threads: in t1, ann's m1 and bob's m2, deleted after ann's
			// share card m3 was posted; in t2, bob's m4 with the same key
			// as ann's m1.
			execAll(t, db,
				`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('ann', 'ann', 'Ann', 'h', 1), ('bob', 'bob', 'Bob', 'h', 1)`,
				`INSERT INTO threads (id, kind, title, created_by, last_seq, last_change, last_activity_at, created_at)
					VALUES ('t1', 'group', 'one', 'ann', 3, 4, 1, 1), ('t2', 'group', 'two', 'bob', 1, 1, 1, 1)`,
				`INSERT INTO participants (thread_id, user_id, joined_at) VALUES ('t1', 'ann', 1), ('t1', 'bob', 1), ('t2', 'bob', 1)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, idempotency_key, created_at, change_seq)
					VALUES ('t1', 1, 'm1', 'ann', 'text', 'one', 'k1', 1, 1)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, created_at, deleted_at, change_seq)
					VALUES ('t1', 2, 'm2', 'bob', 'text', NULL, 1, 2, 4)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, created_at, share_url, share_title, change_seq)
					VALUES ('t1', 3, 'm3', 'ann', 'share', 'see', 1, 'https://films.example/1', 'Film', 3)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, idempotency_key, created_at, change_seq)
					VALUES ('t2', 1, 'm4', 'bob', 'text', 'four', 'k1', 1, 1)`,
			)
			link := `INSERT INTO share_links (token_hash, message_id, sender_id, user_id, sent_at) VALUES ($1, 'm3', 'ann', 'bob', 1)`
			if _, err := db.ExecContext(ctx, link, []byte("link")); err != nil {
				t.Fatalf("%s: %v", link, err)
			}
			store := open()
			defer store.Close()

			var history []*parley.Message
			var retried, bobRetried *parley.Message
			var changes []parley.MessageChange
			var target *parley.ShareTarget
			err := store.Read(ctx, func(tx parley.Tx) (err error) {
				if history, err = tx.FindMessages(ctx, parley.MessageFilter{ThreadID: "t1", Limit: 10}); err != nil {
					return err
				}
				if retried, err = tx.FindMessageByIdempotencyKey(ctx, "ann", "k1"); err != nil {
					return err
				}
				if bobRetried, err = tx.FindMessageByIdempotencyKey(ctx, "bob", "k1"); err != nil {
					return err
				}
				if changes, err = tx.FindMessageChanges(ctx, parley.ChangeFilter{ThreadID: "t1", Limit: 10}); err != nil {
					return err
				}
				target, err = tx.FindShareTarget(ctx, []byte("link"))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range history {
				got = append(got, summary(m))
			}
			if want := []string{"t1/3 m3 by ann share see", "t1/2 m2 by bob text deleted", "t1/1 m1 by ann text one"}; !slices.Equal(got, want) {
				t.Errorf("t1's history: %q, want %q", got, want)
			}
			if retried.ID != "m1" || bobRetried.ID != "m4" || bobRetried.ThreadID != "t2" {
				t.Errorf("by key k1: ann's %s, bob's %s in %s; want m1, and m4 in t2", retried.ID, bobRetried.ID, bobRetried.ThreadID)
			}
			got = nil
			for _, c := range changes {
				got = append(got, c.Type+":"+c.Message.ID+"@"+strconv.FormatInt(c.Number, 10))
			}
			if want := []string{"message.created:m1@1", "message.created:m3@3", "message.deleted:m2@4"}; !slices.Equal(got, want) {
				t.Errorf("t1's changes: %v, want %v", got, want)
			}
			if target.Link.MessageID != "m3" || target.ThreadID != "t1" || target.URL != "https://films.example/1" {
				t.Errorf("share target %+v", target)
			}
			for sender, want := range map[string][]string{"ann": {"m1", "m3"}, "bob": {"m2", "m4"}} {
				if got := sentIDs(t, store, sender); !slices.Equal(got, want) {
					t.Errorf("%s's sent messages: %v, want %v", sender, got, want)
				}
			}

			again := &parley.Message{ID: "m5", ThreadID: "t2", Sender: parley.UserRef{ID: "ann"}, Kind: parley.MessageKindText,
				Text: "again", IdempotencyKey: "k1", CreatedAt: parley.Now()}
			if err := store.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, again) }); parley.ErrorCode(err) != parley.ECONFLICT {
				t.Errorf("a new message with ann's key k1: %v, want ECONFLICT", err)
			}
			if err := store.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindMessageByID(ctx, "m5"); return err }); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("the refused message: %v, want ENOTFOUND", err)
			}
			next := &parley.Message{ID: "m6", ThreadID: "t1", Sender: parley.UserRef{ID: "bob"}, Kind: parley.MessageKindText, Text: "six", CreatedAt: parley.Now()}
			if err := store.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, next) }); err != nil {
				t.Fatal(err)
			}
			err = store.Read(ctx, func(tx parley.Tx) (err error) {
				changes, err = tx.FindMessageChanges(ctx, parley.ChangeFilter{ThreadID: "t1", After: 4, Limit: 10})
				return err
			})
			if err != nil || len(changes) != 1 || changes[0].Number != 5 || changes[0].Message.Seq != 4 || changes[0].Message.Sender.ID != "bob" {
				t.Errorf("the next post's change: %+v (%v), want m6 at seq 4, change 5, by bob", changes, err)
			}
			mustPostAsNewMember(t, store)
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}

			if err := sqlstore.MigrateDownTo(ctx, db, engine, 21); err != nil {
				t.Fatal(err)
			}
			// The new member's message's ID sorts first.
			rows, err := db.QueryContext(ctx, `SELECT thread_id, seq, id, sender_id, kind, COALESCE(idempotency_key, '-'), change_seq FROM messages ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got = nil
			for rows.Next() {
				var thread, id, sender, kind, key string
				var seq, change int64
				if err := rows.Scan(&thread, &seq, &id, &sender, &kind, &key, &change); err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s/%d %s by %s %s key %s change %d", thread, seq, id, sender, kind, key, change))
			}
			if err := errors.Join(rows.Err(), rows.Close()); err != nil {
				t.Fatal(err)
			}
			if want := []string{"t1/1 m1 by ann text key k1 change 1", "t1/2 m2 by bob text key - change 4",
				"t1/3 m3 by ann share key - change 3", "t2/1 m4 by bob text key k1 change 1", "t1/4 m6 by bob text key - change 5"}; len(got) != 6 || !slices.Equal(got[1:], want) {
				t.Errorf("messages after undoing the migration: %q, want %q and the new member's", got, want)
			}
		})
	}
}

// summary sums up a message as "thread/seq id by sender kind text", its
// text "deleted" once it is.
func summary(m *parley.Message) string {
	text := m.Text
	if m.DeletedAt != nil {
		text = "deleted"
	}
	return m.ThreadID + "/" + strconv.FormatInt(m.Seq, 10) + " " + m.ID + " by " + m.Sender.ID + " " + m.Kind + " " + text
}

// sentIDs lists the IDs of the messages the member sent, a page of one at
// a time.
func sentIDs(t *testing.T, db *sqlstore.DB, senderID string) []string {
	t.Helper()
	var ids []string
	for after := ""; ; {
		var page []*parley.Message
		err := db.Read(context.Background(), func(tx parley.Tx) (err error) {
			page, err = tx.FindSentMessages(context.Background(), senderID, after, 1)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return ids
		}
		after = page[0].ID
		ids = append(ids, after)
	}
}
