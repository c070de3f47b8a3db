package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestSearchMessages: a member finds, newest first, the messages of the
// threads they are in whose text or share card's title holds the text,
// whatever the case, of any alphabet; not those deleted, nor those of a
// thread they left or were never in; the text is matched as written, its
// % and _ too; and a page's last message continues the search, through
// messages sent at the same moment too.
func TestSearchMessages(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice, th := changesThread(t, db)
		bob, carol := newUser("bob"), newUser("carol")
		start := parley.Now()
		at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second) }
		newThread := func(by *parley.User) *parley.Thread {
			g := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "g", CreatedBy: by.ID, LastActivityAt: start, CreatedAt: start}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateThread(ctx, g) })
			return g
		}
		join := func(th *parley.Thread, u *parley.User) {
			mustWrite(t, db, func(tx parley.Tx) error {
				return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start})
			})
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, bob, "hash"); err != nil {
				return err
			}
			return tx.CreateUser(ctx, carol, "hash")
		})
		join(th, bob)
		post := func(th *parley.Thread, by *parley.User, i int, m *parley.Message) *parley.Message {
			if m.Kind == "" {
				m.Kind = parley.MessageKindText
			}
			m.ID, m.ThreadID, m.Sender, m.CreatedAt = parley.NewID(), th.ID, by.Ref(), at(i)
			mustWrite(t, db, func(tx parley.Tx) error { return tx.PostMessage(ctx, m) })
			return m
		}
		asked := post(th, alice, 1, &parley.Message{Text: "Lunch at noon?"})
		answered := post(th, bob, 2, &parley.Message{Text: "Yes, LUNCH is on me"})
		post(th, bob, 3, &parley.Message{Text: "dinner then"})
		card := post(th, bob, 4, &parley.Message{Kind: parley.MessageKindShare, Text: "have a look",
			Share: &parley.Share{URL: "https://places.example/", Title: "Lunch spots"}})
		greeting := post(th, bob, 5, &parley.Message{Text: "ПРИВЕТ, Ёлка"})
		deleted := post(th, alice, 6, &parley.Message{Text: "lunch is cancelled"})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, deleted.ID, at(7)) })
		sale := post(th, bob, 8, &parley.Message{Text: "50% off_today"})
		post(th, bob, 9, &parley.Message{Text: "500 off today"})

		left := newThread(alice)
		join(left, alice)
		post(left, alice, 10, &parley.Message{Text: "lunch before I left"})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.LeaveThread(ctx, left.ID, alice.ID, at(11)) })
		carols := newThread(carol)
		join(carols, carol)
		post(carols, carol, 12, &parley.Message{Text: "lunch without alice"})
		capitals := post(th, bob, 13, &parley.Message{Text: "στον ΚΟΣΜΟΣ αύριο"})
		small := post(th, bob, 14, &parley.Message{Text: "ο κοσμος εδω"})

		search := func(text string, before *parley.Message, limit int) []*parley.Message {
			t.Helper()
			f := parley.SearchFilter{MemberID: alice.ID, Text: text, Limit: limit}
			if before != nil {
				f.Before = &parley.SearchCursor{CreatedAt: before.CreatedAt, ID: before.ID}
			}
			var found []*parley.Message
			err := db.Read(ctx, func(tx parley.Tx) (err error) {
				found, err = tx.SearchMessages(ctx, f)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return found
		}
		wantIDs := func(what string, got []*parley.Message, want ...*parley.Message) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: found %d messages, want %d: %+v", what, len(got), len(want), got)
			}
			for i, m := range got {
				if m.ID != want[i].ID || m.ThreadID != want[i].ThreadID || m.Text != want[i].Text || m.Sender.ID != want[i].Sender.ID {
					t.Errorf("%s: result %d is %+v, want %+v", what, i, m, want[i])
				}
			}
		}

		wantIDs("lunch", search("lunch", nil, 10), card, answered, asked)
		if got := search("lunch", nil, 10)[0]; got.Share == nil || got.Share.Title != "Lunch spots" {
			t.Errorf("the card came without its share: %+v", got.Share)
		}
		wantIDs("привет", search("привет", nil, 10), greeting)
		wantIDs("ёлка", search("ёлка", nil, 10), greeting)
		// Greek's final sigma, ς, is σ in the middle of a word, and Σ in
		// capitals: the word is found however it was written.
		wantIDs("κοσμος", search(parley.FoldCase("κοσμος"), nil, 10), small, capitals)
		wantIDs("ΚΟΣΜΟΣ", search(parley.FoldCase("ΚΟΣΜΟΣ"), nil, 10), small, capitals)
		wantIDs("50%", search("50%", nil, 10), sale)
		wantIDs("f_t", search("f_t", nil, 10), sale)
		wantIDs("nothing", search("supper", nil, 10))

		wantIDs("page 1", search("lunch", nil, 2), card, answered)
		wantIDs("page 2", search("lunch", answered, 2), asked)
		wantIDs("page 3", search("lunch", asked, 2))

		// Messages sent at the same moment come one after the other, by ID.
		var same []*parley.Message
		for range 3 {
			same = append(same, post(th, alice, 20, &parley.Message{Text: "same moment"}))
		}
		seen := map[string]bool{}
		for before := (*parley.Message)(nil); ; {
			page := search("same moment", before, 1)
			if len(page) == 0 {
				break
			}
			if seen[page[0].ID] {
				t.Fatalf("%s found twice", page[0].ID)
			}
			seen[page[0].ID], before = true, page[0]
		}
		if len(seen) != len(same) {
			t.Errorf("paging one at a time found %d of the %d sent at the same moment", len(seen), len(same))
		}
	})
}

// A store says whether search can find a text whatever its case: SQLite's
// always can, and PostgreSQL's can in a database of a UTF-8 locale, not in
// one of the C locale, whose lower() lowers ASCII letters only.
func TestFoldsCase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		if folds, err := db.FoldsCase(ctx); err != nil || !folds {
			t.Errorf("the test's database: folds case %v, %v; want it to", folds, err)
		}
	})
	if !slices.Contains(sqlstoretest.Engines, "postgres") {
		return
	}
	db, err := sqlstore.OpenPostgres(ctx, sqlstoretest.PostgresLocale(t, "UTF8", "C"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if folds, err := db.FoldsCase(ctx); err != nil || folds {
		t.Errorf("a database of the C locale: folds case %v, %v; want it not to", folds, err)
	}
}

// A search finds the same messages in a PostgreSQL database of an ICU
// locale as on SQLite: "İstanbul" by "istanbul" and "İSTANBUL" too, though
// ICU's lower() makes two characters of İ (an i and a combining dot),
// where parley.FoldCase, which folds the text searched for, makes one.
func TestSearchMessages_UnderAnICULocale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	stores := sqliteAndICU(t)
	if folds, err := stores[icuEnUS].FoldsCase(ctx); err != nil || !folds {
		t.Fatalf("a database of ICU's en-US: folds case %v, %v; want it to", folds, err)
	}
	for engine, db := range stores {
		alice, th := changesThread(t, db)
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.PostMessage(ctx, &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: alice.Ref(),
				Kind: parley.MessageKindText, Text: "İstanbul'da buluşalım", CreatedAt: parley.Now()})
		})
		for _, q := range []string{"istanbul", "İstanbul", "İSTANBUL", "BULUŞ"} {
			text, err := parley.SearchText(q)
			if err != nil {
				t.Fatal(err)
			}
			var found []*parley.Message
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				found, err = tx.SearchMessages(ctx, parley.SearchFilter{MemberID: alice.ID, Text: text, Limit: 10})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(found) != 1 {
				t.Errorf("%s: a search for %q found %d messages; want the one", engine, q, len(found))
			}
		}
	}
}

// icuEnUS names, in sqliteAndICU's stores, the one on PostgreSQL.
const icuEnUS = "PostgreSQL of ICU's en-US"

// sqliteAndICU opens a SQLite store and a PostgreSQL one in a database of
// ICU's en-US locale, by name, for a test of what the two must do alike
// in any locale; it skips the test when PostgreSQL is not among the
// engines tested.
func sqliteAndICU(t *testing.T) map[string]*sqlstore.DB {
	t.Helper()
	if !slices.Contains(sqlstoretest.Engines, "postgres") {
		t.Skip("PostgreSQL is not among the engines tested")
	}
	icu, err := sqlstore.OpenPostgres(context.Background(), sqlstoretest.PostgresICU(t, "en-US"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { icu.Close() })
	return map[string]*sqlstore.DB{"SQLite": sqlstoretest.Open(t, "sqlite"), icuEnUS: icu}
}

// A PostgreSQL database that cannot hold every text members write, one of
// LATIN1 (which refuses Greek, Cyrillic and emoji) or SQL_ASCII (which
// holds bytes unchecked, and folds the case of ASCII letters only), is
// refused when the store opens, before any schema is made in it: not found
// out at a member's first send of "Σ".
func TestOpenPostgres_RefusesADatabaseNotInUTF8(t *testing.T) {
	t.Parallel()
	if !slices.Contains(sqlstoretest.Engines, "postgres") {
		t.Skip("PostgreSQL is not among the engines tested")
	}
	ctx := context.Background()
	for _, encoding := range []string{"LATIN1", "SQL_ASCII"} {
		url := sqlstoretest.PostgresLocale(t, encoding, "C")
		db, err := sqlstore.OpenPostgres(ctx, url)
		if err == nil {
			db.Close()
			t.Fatalf("a database of encoding %s opened", encoding)
		}
		if !strings.Contains(err.Error(), "encoding is "+encoding) || !strings.Contains(err.Error(), "ENCODING 'UTF8'") {
			t.Errorf("a database of encoding %s: %v; want the encoding named, and what to do", encoding, err)
		}
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()`).Scan(&tables)
		conn.Close(ctx)
		if err != nil || tables != 0 {
			t.Errorf("after the refusal, the database of encoding %s holds %d tables (%v); want none", encoding, tables, err)
		}
	}
}
