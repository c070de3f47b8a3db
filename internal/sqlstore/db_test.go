package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
	_ "modernc.org/sqlite"
)

func mustOpen(t *testing.T) (*sqlstore.DB, string) { return mustOpenTB(t) }

func mustOpenTB(tb testing.TB) (*sqlstore.DB, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "parley.db")
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db, path
}

func newUser(name string) *parley.User {
	return &parley.User{ID: parley.NewID(), Username: name, DisplayName: name, CreatedAt: parley.Now()}
}

// mustGroupOf stores the members and a group thread they are all in,
// started by the first, and returns the thread.
func mustGroupOf(t *testing.T, db *sqlstore.DB, members ...*parley.User) *parley.Thread {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: members[0].ID, LastActivityAt: now, CreatedAt: now}
	mustWrite(t, db, func(tx parley.Tx) error {
		for _, u := range members {
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
		}
		if err := tx.CreateThread(ctx, th); err != nil {
			return err
		}
		for _, u := range members {
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	return th
}

// TestWrite_FailuresRollBackAlone runs many writes at once, some of
// which fail or panic; each failure must roll back only itself.
func TestWrite_FailuresRollBackAlone(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWrite_FailuresRollBackAlone)
}

func testWrite_FailuresRollBackAlone(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 60)
	for i := range errs {
		wg.Go(func() {
			errs[i] = db.Write(ctx, func(tx parley.Tx) error {
				u := newUser("user" + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + string(rune('a'+i/26)))
				if err := tx.CreateUser(ctx, u, "hash"); err != nil {
					return err
				}
				switch i % 3 {
				case 1:
					return errors.New("refused after writing")
				case 2:
					panic("a bug after writing")
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if (i%3 == 0) != (err == nil) {
			t.Errorf("write %d: err = %v", i, err)
		}
	}
	var users []*parley.User
	db.Read(ctx, func(tx parley.Tx) (err error) { users, err = tx.FindUsers(ctx); return err })
	if len(users) != 20 {
		t.Fatalf("%d users stored, want the 20 writes that succeeded", len(users))
	}
}

func TestWrite_UniqueViolationIsConflict(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testWrite_UniqueViolationIsConflict)
}

func testWrite_UniqueViolationIsConflict(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	create := func(name string) error {
		return db.Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, newUser(name), "hash") })
	}
	if err := create("alice"); err != nil {
		t.Fatal(err)
	}
	if code := parley.ErrorCode(create("alice")); code != parley.ECONFLICT {
		t.Fatalf("duplicate username: code %q, want %q", code, parley.ECONFLICT)
	}
	err := db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindUserByID(ctx, "nope"); return err })
	if code := parley.ErrorCode(err); code != parley.ENOTFOUND {
		t.Fatalf("missing user: code %q, want %q", code, parley.ENOTFOUND)
	}
}

// TestOpen_DurableSettings checks what makes an acknowledged write survive a
// crash: WAL, and fsync at every commit.
func TestOpen_DurableSettings(t *testing.T) {
	t.Parallel()
	db, _ := mustOpen(t)
	ctx := context.Background()
	var journal string
	var synchronous int
	err := db.Write(ctx, func(tx parley.Tx) error {
		return sqlstore.Pragmas(ctx, tx, &journal, &synchronous)
	})
	if err != nil {
		t.Fatal(err)
	}
	if journal != "wal" || synchronous != 2 {
		t.Fatalf("journal_mode=%s synchronous=%d; want wal and 2 (FULL)", journal, synchronous)
	}

	// A batch of no-sync writes alone commits without fsync; the next
	// write fsyncs again, and makes the earlier ones durable with it.
	err = db.WriteLazily(ctx, func(tx parley.Tx) error {
		return sqlstore.Pragmas(ctx, tx, &journal, &synchronous)
	})
	if err != nil || synchronous != 1 {
		t.Fatalf("WriteLazily: synchronous=%d (%v); want 1 (NORMAL)", synchronous, err)
	}
	err = db.Write(ctx, func(tx parley.Tx) error {
		return sqlstore.Pragmas(ctx, tx, &journal, &synchronous)
	})
	if err != nil || synchronous != 2 {
		t.Fatalf("Write after WriteLazily: synchronous=%d (%v); want 2 (FULL)", synchronous, err)
	}
}

// TestOpen_CheckpointsRarely: the writer lets the WAL grow well past
// SQLite's 1,000 pages before a commit checkpoints it, so that sends wait
// for checkpoints an eighth as often.
func TestOpen_CheckpointsRarely(t *testing.T) {
	t.Parallel()
	db, _ := mustOpen(t)
	ctx := context.Background()
	var got, want int
	err := db.Write(ctx, func(tx parley.Tx) (err error) {
		got, want, err = sqlstore.WALAutocheckpoint(ctx, tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != want || want < 8*1000 {
		t.Fatalf("wal_autocheckpoint=%d; want %d, eight times SQLite's default or more", got, want)
	}
}

// On either engine, an open that upgrades an older database's schema says
// from which version to which; one that creates the database, or finds it
// at this binary's schema, upgraded nothing.
func TestOpen_UpgradedSaysFromWhichSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	previous, current := sqlstore.SchemaVersion()-1, sqlstore.SchemaVersion()
	for _, e := range []struct {
		engine string
		open   func(ctx context.Context, name string) (*sqlstore.DB, error)
		name   func(tb testing.TB) string
	}{
		{"sqlite", sqlstore.OpenSQLite, func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "parley.db") }},
		{"postgres", sqlstore.OpenPostgres, sqlstoretest.PostgresURL},
	} {
		t.Run(e.engine, func(t *testing.T) {
			upgraded := func(name string) sqlstore.SchemaUpgrade {
				t.Helper()
				db, err := e.open(ctx, name)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				return db.Upgraded()
			}
			if u := upgraded(e.name(t)); u != (sqlstore.SchemaUpgrade{}) {
				t.Errorf("a new database: Upgraded = %+v; want none", u)
			}
			older := e.name(t)
			if err := sqlstore.CreateAtSchema(ctx, older, previous); err != nil {
				t.Fatal(err)
			}
			if u, want := upgraded(older), (sqlstore.SchemaUpgrade{From: previous, To: current}); u != want {
				t.Errorf("an older database: Upgraded = %+v; want %+v", u, want)
			}
			if u := upgraded(older); u != (sqlstore.SchemaUpgrade{}) {
				t.Errorf("the same database opened again: Upgraded = %+v; want none", u)
			}
		})
	}
}

// Neither engine opens a database whose schema a newer binary migrated.
func TestOpen_RefusesNewerSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, e := range []struct {
		engine, driver string
		open           func(ctx context.Context, name string) (*sqlstore.DB, error)
		name           func(tb testing.TB) string
	}{
		{"sqlite", "sqlite", sqlstore.OpenSQLite, func(tb testing.TB) string { return filepath.Join(tb.TempDir(), "parley.db") }},
		{"postgres", "pgx", sqlstore.OpenPostgres, sqlstoretest.PostgresURL},
	} {
		t.Run(e.engine, func(t *testing.T) {
			name := e.name(t)
			db, err := e.open(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			raw, err := sql.Open(e.driver, name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)`); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			db, err = e.open(ctx, name)
			if err == nil {
				db.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "newer") {
				t.Fatalf("open = %v; want a refusal naming the newer schema", err)
			}
		})
	}
}
