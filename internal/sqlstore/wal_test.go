package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Once writes pause, the writer empties the WAL into the database file and
// starts the next WAL with a page, so that the next write need not sync a
// new WAL's header: a server at rest keeps a WAL of one page on disk. A
// reader still reading from an older snapshot holds the WAL back only
// until it is done.
func TestSQLite_WALEmptiedAtRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, path := mustOpenTB(t)
	createUser := func(name string) {
		t.Helper()
		if err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, newUser(name), "hash") }); err != nil {
			t.Fatal(err)
		}
	}
	resting := int64(sqlstoretest.RestingWAL)
	createUser("alice")
	sqlstoretest.WaitWAL(t, path, func(size int64) bool { return size == resting })

	// Another process's reader, as a backup or the sqlite3 shell would be.
	other, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	reader, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var users int
	if err := reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
		t.Fatal(err)
	}
	createUser("bob")
	for range 5 { // pauses enough for several attempts
		time.Sleep(300 * time.Millisecond)
		if size := sqlstoretest.WALSize(t, path); size <= resting {
			t.Fatal("the WAL was emptied under a reader of an older snapshot")
		}
	}
	reader.Rollback()
	sqlstoretest.WaitWAL(t, path, func(size int64) bool { return size == resting })
}
