// Package sqlstoretest gives tests a fresh store on each engine: an SQLite
// file in a temporary directory, or a schema of its own in the PostgreSQL
// database that PARLEY_TEST_POSTGRES names.
//
// When PostgreSQL cannot be reached its tests are skipped, except under
// CI=true, where they fail.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make and drop schemas
	"github.com/parleyhq/parley/internal/sqlstore"
)

// DefaultPostgres is the database tests use when PARLEY_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Engines are the engines' names, as Each names its subtests.
var Engines = []string{"sqlite", "postgres"}

// Each runs fn once per engine, as subtests named after the engine, each
// on a fresh store that is closed when the subtest ends.
func Each(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) { fn(t, Open(t, engine)) })
	}
}

// Open opens a fresh store on the engine ("sqlite" or "postgres"), closed
// when the test ends.
func Open(tb testing.TB, engine string) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	var db *sqlstore.DB
	var err error
	switch engine {
	case "sqlite":
		db, err = sqlstore.OpenSQLite(ctx, filepath.Join(tb.TempDir(), "parley.db"))
	case "postgres":
		db, err = sqlstore.OpenPostgres(ctx, PostgresURL(tb))
	default:
		tb.Fatalf("sqlstoretest: no engine %q", engine)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// PostgresURL creates a schema of its own for the test in the test
// database and returns the database's URL with the schema as its
// search_path. The schema is dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("PARLEY_TEST_POSTGRES")
	if base == "" {
		base = DefaultPostgres
	}
	admin, err := sql.Open("pgx", base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI: %v", err)
		}
		tb.Skipf("PostgreSQL unreachable at PARLEY_TEST_POSTGRES or %s: %v", DefaultPostgres, err)
	}
	schema := "test_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("PARLEY_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return fmt.Sprint(u)
}
