package sqlstore_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// On SQLite, a message whose ID NewID made is stored by the ID's 16
// bytes, and so is its share link's; a message given an ID of another
// form keeps it as text. Each reads back by its ID.
func TestMessageIDs_SQLiteStoresTheBytes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := mustOpen(t)
	now := parley.Now()
	alice, bob := newUser("alice"), newUser("bob")
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: alice.ID, LastActivityAt: now, CreatedAt: now}
	made := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: alice.Ref(), Kind: parley.MessageKindText, Text: "one", CreatedAt: now}
	given := &parley.Message{ID: "imported-1", ThreadID: th.ID, Sender: alice.Ref(), Kind: parley.MessageKindText, Text: "two", CreatedAt: now}
	mustWrite(t, db, func(tx parley.Tx) error {
		for _, err := range []error{tx.CreateUser(ctx, alice, "h"), tx.CreateUser(ctx, bob, "h"), tx.CreateThread(ctx, th),
			tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: alice.ID, JoinedAt: now}),
			tx.PostMessage(ctx, made), tx.PostMessage(ctx, given)} {
			if err != nil {
				return err
			}
		}
		return tx.CreateShareLinks(ctx, []parley.ShareLink{{TokenHash: parley.HashToken("t"), MessageID: made.ID,
			SenderID: alice.ID, UserID: bob.ID, SentAt: now}})
	})
	stored := queryFile(t, path, `SELECT typeof(id) || ' ' || length(CAST(id AS BLOB)) FROM messages ORDER BY seq`)
	if want := []string{"blob 16", "text 10"}; !slices.Equal(stored, want) {
		t.Errorf("messages' IDs stored as %q, want %q", stored, want)
	}
	if stored := queryFile(t, path, `SELECT typeof(message_id) FROM share_links`); !slices.Equal(stored, []string{"blob"}) {
		t.Errorf("the share link's message ID stored as %q, want blob", stored)
	}
	for _, m := range []*parley.Message{made, given} {
		mustFindMessage(t, db, m.ID, m.Text)
	}
}

// Migration 0047 stores the IDs of messages NewID made as their 16 bytes,
// in messages and in share_links, and leaves an ID of another form as its
// text (SQLite): each message and share link reads back by its ID as
// before, and every foreign key holds. Undone, the IDs are text again.
func TestMigration0047_MessageIDsAsBytes(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 46)
			made := parley.NewID()
			stmts := []string{
				`INSERT INTO users (id, no, username, display_name, password_hash, created_at) VALUES ('ann', 1, 'ann', 'Ann', 'h', 1), ('bob', 2, 'bob', 'Bob', 'h', 1)`,
				`INSERT INTO threads (id, no, kind, title, created_by, last_seq, last_change, last_activity_at, created_at)
					VALUES ('t1', 1, 'group', 'one', 'ann', 2, 2, 1, 1)`,
				`INSERT INTO participants (thread_id, user_id, joined_at) VALUES ('t1', 'ann', 1), ('t1', 'bob', 1)`,
				`INSERT INTO messages (thread_no, seq, id, sender_no, kind, body, created_at, change_offset)
					VALUES (1, 1, '` + made + `', 1, 0, 'made', 1, 0), (1, 2, 'imported-1', 2, 0, 'given', 1, 0)`,
				`INSERT INTO share_links (token_hash, message_id, sender_id, user_id, sent_at) VALUES ('\x6c696e6b', '` + made + `', 'ann', 'bob', 1)`,
			}
			if engine == "sqlite" {
				for i := range stmts {
					stmts[i] = sqliteBytes(stmts[i])
				}
			}
			execAll(t, db, stmts...)
			store := open()
			defer store.Close()
			mustFindMessage(t, store, made, "made")
			mustFindMessage(t, store, "imported-1", "given")
			var target *parley.ShareTarget
			if err := store.Read(ctx, func(tx parley.Tx) (err error) { target, err = tx.FindShareTarget(ctx, []byte("link")); return err }); err != nil {
				t.Fatal(err)
			}
			if target.Link.MessageID != made || target.ThreadID != "t1" {
				t.Errorf("the share link's target: %+v, want message %s in t1", target, made)
			}
			if engine != "sqlite" {
				return
			}
			want := map[string][]string{
				`SELECT typeof(id) FROM messages ORDER BY seq`: {"blob", "text"},
				`SELECT typeof(message_id) FROM share_links`:   {"blob"},
				`SELECT "table" FROM pragma_foreign_key_check`: nil,
			}
			for query, types := range want {
				if got := queryStrings(t, db, query); !slices.Equal(got, types) {
					t.Errorf("after the migration, %s: %q, want %q", query, got, types)
				}
			}
			if err := store.Close(); err != nil {
				t.Fatal(err)
			}
			if err := sqlstore.MigrateDownTo(ctx, db, engine, 46); err != nil {
				t.Fatal(err)
			}
			if got := queryStrings(t, db, `SELECT typeof(id) || ' ' || id FROM messages ORDER BY seq`); !slices.Equal(got, []string{"text " + made, "text imported-1"}) {
				t.Errorf("undone, the messages' IDs are %q", got)
			}
			if got := queryStrings(t, db, `SELECT typeof(message_id) || ' ' || message_id FROM share_links`); !slices.Equal(got, []string{"text " + made}) {
				t.Errorf("undone, the share link's message ID is %q", got)
			}
		})
	}
}

// sqliteBytes writes a statement's PostgreSQL bytea literal '\x…' as
// SQLite's blob literal x'…'.
func sqliteBytes(stmt string) string {
	return strings.ReplaceAll(stmt, `'\x`, `x'`)
}

// mustFindMessage finds the message whose ID is id and checks its text.
func mustFindMessage(t *testing.T, db *sqlstore.DB, id, text string) {
	t.Helper()
	var m *parley.Message
	if err := db.Read(context.Background(), func(tx parley.Tx) (err error) { m, err = tx.FindMessageByID(context.Background(), id); return err }); err != nil {
		t.Fatalf("find message %s: %v", id, err)
	}
	if m.ID != id || m.Text != text {
		t.Errorf("message %s reads back as %s %q, want %q", id, m.ID, m.Text, text)
	}
}

// queryFile runs a query on the SQLite file at path, apart from the
// store, and returns its one column of text.
func queryFile(t *testing.T, path, query string) []string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return queryStrings(t, db, query)
}

// queryStrings returns the one text column of query's rows.
func queryStrings(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
