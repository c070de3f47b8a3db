package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// atVersion makes a fresh database on the engine with its schema migrated
// up to version, as an older binary left it, for a test of a later
// migration to fill through db (closed when the test ends); open opens it
// as a store, which migrates it the rest of the way, failing the test if
// it cannot.
func atVersion(t *testing.T, engine string, version int64) (db *sql.DB, open func() *sqlstore.DB) {
	t.Helper()
	ctx := context.Background()
	var err error
	var openStore func() (*sqlstore.DB, error)
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "parley.db")
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(ON)")
		openStore = func() (*sqlstore.DB, error) { return sqlstore.OpenSQLite(ctx, path) }
	case "postgres":
		url := sqlstoretest.PostgresURL(t)
		db, err = sql.Open("pgx", url)
		openStore = func() (*sqlstore.DB, error) { return sqlstore.OpenPostgres(ctx, url) }
	default:
		t.Fatalf("no engine %q", engine)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqlstore.MigrateTo(ctx, db, engine, version); err != nil {
		t.Fatal(err)
	}
	open = func() *sqlstore.DB {
		t.Helper()
		store, err := openStore()
		if err != nil {
			t.Fatal(err)
		}
		return store
	}
	return db, open
}

// execAll runs the statements on db in turn, failing the test at the
// first that fails.
func execAll(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := db.ExecContext(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}
