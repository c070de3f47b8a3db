package sqlstore_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Migration 0013 numbers the changes of messages stored before it: each
// message's change is its seq, a deleted one's too, and each thread's last
// change its last seq, so that the next post takes the number after them.
func TestMigration0013_BackfillsChanges(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 12)
			execAll(t, db,
				`INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u', 'alice', 'Alice', 'h', 1)`,
				`INSERT INTO threads (id, kind, title, created_by, last_seq, last_activity_at, created_at) VALUES ('t', 'group', 't', 'u', 3, 1, 1)`,
				`INSERT INTO participants (thread_id, user_id, joined_at) VALUES ('t', 'u', 1)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, created_at) VALUES ('t', 1, 'm1', 'u', 'text', 'one', 1)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, created_at, deleted_at) VALUES ('t', 2, 'm2', 'u', 'text', NULL, 1, 2)`,
				`INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, created_at) VALUES ('t', 3, 'm3', 'u', 'text', 'three', 1)`,
			)
			store := open()
			defer store.Close()
			m := &parley.Message{ID: "m4", ThreadID: "t", Sender: parley.UserRef{ID: "u"}, Kind: parley.MessageKindText, Text: "four", CreatedAt: parley.Now()}
			if err := store.Write(ctx, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) }); err != nil {
				t.Fatal(err)
			}
			var changes []parley.MessageChange
			err := store.Read(ctx, func(tx parley.Tx) (err error) {
				changes, err = tx.FindMessageChanges(ctx, parley.ChangeFilter{ThreadID: "t", Limit: 10})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range changes {
				got = append(got, c.Type+":"+c.Message.ID+"@"+strconv.FormatInt(c.Number, 10))
			}
			if want := []string{"message.created:m1@1", "message.deleted:m2@2", "message.created:m3@3", "message.created:m4@4"}; !slices.Equal(got, want) {
				t.Fatalf("changes after the migration: %v, want %v", got, want)
			}
		})
	}
}

// Migration 0033 gives each endpoint failing when it runs the latest of
// its failed attempts as its run's latest failure, so that the run goes on
// as it was (parley.WebhookFailures).
func TestMigration0033_KeepsRunsOfFailures(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 32)
			execAll(t, db,
				`INSERT INTO apps (client_id, name, redirect_uris, client_type, state, created_at) VALUES ('pc_a', 'Films', 'https://f.example/cb', 'confidential', 'active', 1)`,
				`INSERT INTO webhook_endpoints (id, client_id, url, events, secret, created_at, active_from, failing_since) VALUES ('e', 'pc_a', 'https://f.example/in', 'message.created', 'sealed', 1, 1, 100)`,
				`INSERT INTO webhook_deliveries (id, endpoint_id, event, payload, created_at, state, attempts, next_attempt_at) VALUES ('msg_a', 'e', 'message.created', '{}', 1, 'pending', 3, 400)`,
				`INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_us, succeeded) VALUES ('msg_a', 1, 50, 200, 1, TRUE)`,
				`INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_us, succeeded) VALUES ('msg_a', 2, 100, 500, 1, FALSE)`,
				`INSERT INTO webhook_attempts (delivery_id, n, at, status_code, latency_us, succeeded) VALUES ('msg_a', 3, 300, 500, 1, FALSE)`,
			)
			store := open()
			defer store.Close()
			var due []*parley.DueWebhook
			err := store.Write(ctx, func(tx parley.Tx) (err error) {
				due, err = tx.TakeDueWebhooks(ctx, time.UnixMicro(400), time.UnixMicro(500), parley.WebhookTake{Limit: 10})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(due) != 1 || due[0].Failures == nil || !due[0].Failures.Since.Equal(time.UnixMicro(100)) || !due[0].Failures.Latest.Equal(time.UnixMicro(300)) {
				t.Fatalf("taken after the migration: %+v", due)
			}
		})
	}
}

// Migration 0065 gives the access log its grant terms: an entry logged
// before it reads back without any, and its chain, hashed without them,
// still verifies, with a new entry with terms chained after it.
func TestMigration0065_OldEntriesVerifyAsTheyWere(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 64)
			heads := map[string]parley.AccessHead{"u": {UserID: "u", Hash: parley.GenesisHash}}
			old := parley.Chain(heads, []parley.AccessRecord{{UserIDs: []string{"u"}, Entry: parley.AccessEntry{
				At: time.UnixMicro(1_764_000_000_000_000), ClientID: "c", AppName: "Films", GrantID: "g", Action: parley.ActionGrantCreated,
			}}})[0]
			execAll(t, db, `INSERT INTO users (id, username, display_name, password_hash, created_at) VALUES ('u', 'alice', 'Alice', 'h', 1)`)
			if _, err := db.ExecContext(ctx, `
				INSERT INTO access_log (user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id,
					message_ids, message_count, first_seq, last_seq, prev_hash, hash)
				VALUES ($1, 1, $2, 'c', 'Films', 'g', $3, '', '', '', 0, 0, 0, $4, $5)`,
				"u", old.At.UnixMicro(), old.Action, old.PrevHash, old.Hash); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO access_log_heads (user_id, seq, hash) VALUES ($1, 1, $2)`, "u", old.Hash); err != nil {
				t.Fatal(err)
			}
			store := open()
			defer store.Close()
			terms := &parley.GrantTerms{Scopes: parley.Scopes{parley.ScopeOpenID}, ThreadScope: parley.ThreadScopeApp}
			mustWrite(t, store, func(tx parley.Tx) error {
				return tx.AppendAccess(ctx, []parley.AccessRecord{{UserIDs: []string{"u"}, Entry: parley.AccessEntry{
					At: parley.Now(), ClientID: "c", AppName: "Films", GrantID: "g", Action: parley.ActionGrantWidened, Grant: terms,
				}}})
			})
			log := logOf(t, store, "u")
			if len(log) != 2 || log[0].Grant != nil || log[1].Grant == nil {
				t.Errorf("the log after the migration: %+v and %+v, want the old entry without terms, the new one with", log[0], log[len(log)-1])
			}
		})
	}
}
