// Package sqlstoretest gives tests a fresh store on each engine: an SQLite
// file in a temporary directory, or a database of its own in the
// PostgreSQL server of the database that PARLEY_TEST_POSTGRES names, each
// a copy of an empty store the test binary made once (on PostgreSQL, a
// copy an earlier test put back as it was made, when there is one); and,
// for tests of the schema itself, a schema of its own in that database
// (PostgresURL).
//
// When PostgreSQL cannot be reached its tests are skipped, except under
// CI=true, where they fail.
package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to make and drop schemas and databases
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
// when the test ends. The store is a copy of an empty one the test binary
// made once: on SQLite of its file (SQLiteCopy), on PostgreSQL of its
// database (PostgresCopy of Template's), so that no test runs the
// migrations again.
func Open(tb testing.TB, engine string) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	var db *sqlstore.DB
	var err error
	switch engine {
	case "sqlite":
		path := filepath.Join(tb.TempDir(), "parley.db")
		SQLiteCopy(tb, path, "store", makeEmptySQLite)
		db, err = sqlstore.OpenSQLite(ctx, path)
	case "postgres":
		db, err = sqlstore.OpenPostgres(ctx, emptyPostgres(tb))
	default:
		tb.Fatalf("sqlstoretest: no engine %q", engine)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// SQLiteCopy writes to path a copy of the SQLite database file that fill
// made once a test binary, for what names it (such as "store"): fill makes
// the file in the directory it is given, which is removed afterwards, and
// returns its path. The first test to ask makes it, and the others wait.
func SQLiteCopy(tb testing.TB, path, what string, fill func(dir string) (file string, err error)) {
	tb.Helper()
	sqliteFiles.Lock()
	made, ok := sqliteFiles.made[what]
	if !ok {
		made = sync.OnceValues(func() ([]byte, error) {
			dir, err := os.MkdirTemp("", "parley-"+what+"-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			file, err := fill(dir)
			if err != nil {
				return nil, err
			}
			return os.ReadFile(file)
		})
		if sqliteFiles.made == nil {
			sqliteFiles.made = map[string]func() ([]byte, error){}
		}
		sqliteFiles.made[what] = made
	}
	sqliteFiles.Unlock()
	file, err := made()
	if err != nil {
		tb.Fatalf("make the SQLite %s: %v", what, err)
	}
	if err := os.WriteFile(path, file, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// sqliteFiles are the files SQLiteCopy made, by what they hold.
var sqliteFiles struct {
	sync.Mutex
	made map[string]func() ([]byte, error)
}

// makeEmptySQLite makes an empty store in dir, as Open's copies start.
func makeEmptySQLite(dir string) (string, error) {
	path := filepath.Join(dir, "parley.db")
	db, err := sqlstore.OpenSQLite(context.Background(), path)
	if err != nil {
		return "", err
	}
	return path, db.Close()
}

// emptyPostgres returns the URL of a database of the test's own, a copy of
// an empty store's.
func emptyPostgres(tb testing.TB) string {
	tb.Helper()
	return PostgresCopy(tb, Template(tb, "store", openEmpty))
}

// openEmpty makes the store of an empty database at url, as Open's copies
// start.
func openEmpty(url string) error {
	db, err := sqlstore.OpenPostgres(context.Background(), url)
	if err != nil {
		return err
	}
	return db.Close()
}

// TwoNodes opens one fresh PostgreSQL store twice, as two servers of one
// cluster hold it, each store closed when the test ends.
func TwoNodes(tb testing.TB) [2]*sqlstore.DB {
	tb.Helper()
	url := emptyPostgres(tb)
	var nodes [2]*sqlstore.DB
	for i := range nodes {
		db, err := sqlstore.OpenPostgres(context.Background(), url)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		nodes[i] = db
	}
	return nodes
}

// PostgresURL creates a schema of its own for the test in the test
// database and returns the database's URL with the schema as its
// search_path. The schema is dropped when the test ends.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	admin := postgresAdmin(tb)
	schema := "test_" + strings.ToLower(rand.Text()[:16])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		// A statement of a client the test killed may still run, until
		// PostgreSQL finds its client gone, and take locks in another
		// order than the drop's: a deadlock that ends the drop, which is
		// tried again.
		var err error
		for range 5 {
			if _, err = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); !isDeadlock(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return postgresURL(tb, "", schema)
}

// PostgresCopy gives the test a database of its own, a copy of the
// database template that Template made, and returns its URL: a copy
// another test put back (spares.go), or a new one (CREATE DATABASE …
// TEMPLATE, which copies its files: no statement of what it holds runs
// again). When the test ends the copy is put back, or dropped. No one may
// be connected to template while it is copied.
func PostgresCopy(tb testing.TB, template string) string {
	tb.Helper()
	name := spareName(template)
	if name == "" {
		name = "test_" + strings.ToLower(rand.Text()[:16])
		if _, err := postgresAdmin(tb).Exec(`CREATE DATABASE ` + name + ` TEMPLATE ` + template); err != nil {
			tb.Fatalf("copy database %s: %v", template, err)
		}
	}
	url := postgresURL(tb, name, "")
	tb.Cleanup(func() {
		if err := release(template, name, url); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return url
}

// PostgresLocale creates an empty database of its own for the test, of
// the encoding (such as UTF8), whose LC_COLLATE and LC_CTYPE are locale,
// and returns its URL. It is dropped when the test ends.
func PostgresLocale(tb testing.TB, encoding, locale string) string {
	tb.Helper()
	name := "test_" + strings.ToLower(rand.Text()[:16])
	if _, err := postgresAdmin(tb).Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING '` + encoding + `' LC_COLLATE '` + locale + `' LC_CTYPE '` + locale + `'`); err != nil {
		tb.Fatalf("create database %s in encoding %s and locale %s: %v", name, encoding, locale, err)
	}
	tb.Cleanup(func() {
		if err := dropPostgresDatabase(name); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return postgresURL(tb, name, "")
}

// PostgresICU creates an empty database of its own for the test, in
// UTF-8, whose collation and case mapping are ICU's for the locale (such
// as en-US), and returns its URL. It is dropped when the test ends.
func PostgresICU(tb testing.TB, locale string) string {
	tb.Helper()
	name := "test_" + strings.ToLower(rand.Text()[:16])
	if _, err := postgresAdmin(tb).Exec(`CREATE DATABASE ` + name + ` TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE '` + locale + `'`); err != nil {
		tb.Fatalf("create database %s of ICU's locale %s: %v", name, locale, err)
	}
	tb.Cleanup(func() {
		if err := dropPostgresDatabase(name); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	return postgresURL(tb, name, "")
}

// Template returns the name of a database in the test database's server
// that fill, given its URL, made once a test binary for what names it
// (such as "store"), to be copied by PostgresCopy. The first test to ask
// makes it, and the others wait; Main drops it when the tests end.
func Template(tb testing.TB, what string, fill func(url string) error) string {
	tb.Helper()
	templates.Lock()
	defer templates.Unlock()
	if !mainRuns {
		tb.Fatal("sqlstoretest: the package's TestMain must run its tests with sqlstoretest.Main, which drops the databases they leave")
	}
	if t, ok := templates.made[what]; ok {
		return t.name
	}
	name := "parley_" + what + "_" + strings.ToLower(rand.Text()[:16])
	if _, err := postgresAdmin(tb).Exec(`CREATE DATABASE ` + name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	url := postgresURL(tb, name, "")
	err := fill(url)
	var c *contents
	if err == nil {
		c, err = readContents(context.Background(), url)
	}
	if err != nil {
		if err := dropPostgresDatabase(name); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
		tb.Fatalf("make database %s: %v", name, err)
	}
	if templates.made == nil {
		templates.made = map[string]*madeTemplate{}
	}
	templates.made[what] = &madeTemplate{name: name, contents: c}
	return name
}

// templates are the databases Template made, by what they hold.
var templates struct {
	sync.Mutex
	made map[string]*madeTemplate
}

// madeTemplate is a database Template made: its name, what it holds, and the
// names of its spare copies, which tests put back as it holds it.
type madeTemplate struct {
	name     string
	contents *contents
	spares   []string
}

// templateNamed returns the template of that name, or nil. The caller
// holds templates' lock.
func templateNamed(name string) *madeTemplate {
	for _, t := range templates.made {
		if t.name == name {
			return t
		}
	}
	return nil
}

// mainRuns is whether the tests run through Main.
var mainRuns bool

// Main runs the package's tests (m.Run) and returns their exit code, once
// it has dropped the databases Template made for them and their spare
// copies. A package whose tests open stores (Open, Each, TwoNodes) or
// start servers (apptest) calls it from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(sqlstoretest.Main(m)) }
func Main(m *testing.M) int {
	mainRuns = true
	code := m.Run()
	templates.Lock()
	defer templates.Unlock()
	var names []string
	for _, t := range templates.made {
		names = append(append(names, t.spares...), t.name)
	}
	for _, name := range names {
		if err := dropPostgresDatabase(name); err != nil {
			fmt.Fprintf(os.Stderr, "sqlstoretest: drop the tests' database %s: %v\n", name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	admin.Lock()
	defer admin.Unlock()
	if admin.db != nil {
		admin.db.Close()
	}
	return code
}

// dropPostgresDatabase drops the database name, closing any connection to
// it.
func dropPostgresDatabase(name string) error {
	admin, err := adminDB()
	if err != nil {
		return err
	}
	_, err = admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	return err
}

// basePostgres is the test database's URL: PARLEY_TEST_POSTGRES, or
// DefaultPostgres.
func basePostgres() string {
	if base := os.Getenv("PARLEY_TEST_POSTGRES"); base != "" {
		return base
	}
	return DefaultPostgres
}

// admin is the test binary's pool of connections to the test database,
// in which its tests make and drop schemas and databases: one pool, as
// each new connection is a process PostgreSQL starts.
var admin struct {
	sync.Mutex
	db *sql.DB
}

// adminDB returns the pool of connections to the test database, which
// the first call opens.
func adminDB() (*sql.DB, error) {
	admin.Lock()
	defer admin.Unlock()
	if admin.db != nil {
		return admin.db, nil
	}
	db, err := sql.Open("pgx", basePostgres())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	db.SetMaxIdleConns(4)
	admin.db = db
	return db, nil
}

// postgresAdmin returns the pool of connections to the test database, to
// make and drop schemas and databases; the test is skipped when
// PostgreSQL cannot be reached, and fails under CI=true.
func postgresAdmin(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := adminDB()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL is required under CI: %v", err)
		}
		tb.Skipf("PostgreSQL unreachable at PARLEY_TEST_POSTGRES or %s: %v", DefaultPostgres, err)
	}
	return db
}

// postgresURL is the test database's URL with another database (when
// database is not empty) and a search_path (when schema is not empty).
func postgresURL(tb testing.TB, database, schema string) string {
	tb.Helper()
	u, err := url.Parse(basePostgres())
	if err != nil {
		tb.Fatalf("PARLEY_TEST_POSTGRES: %v", err)
	}
	if database != "" {
		u.Path = "/" + database
	}
	if schema != "" {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
	}
	return fmt.Sprint(u)
}

// SmallDisk mounts a file system of size bytes (a tmpfs) for the test and
// returns its directory, unmounted when the test ends: a disk a test can
// fill. Mounting needs root; without it the test is skipped, except under
// CI=true, where it fails.
func SmallDisk(tb testing.TB, size int64) string {
	tb.Helper()
	dir := tb.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10)+",mode=0755", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("mounting a small file system is required under CI: %v: %s", err, out)
		}
		tb.Skipf("cannot mount a small file system (needs root): %v: %s", err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("unmount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// RestingWAL is the size of the WAL of a SQLite store at rest: once writes
// pause, the writer empties the WAL into the database file and starts the
// next one with a page, a WAL's header and a frame (its header and a 4 KiB
// page).
const RestingWAL = 32 + 24 + 4096

// Fill fills the file system of dir with a file, until no byte more fits,
// and returns a function that deletes the file again. A SQLite store in
// dir is let come to rest first: emptying a WAL the writes before made
// would give room back after the disk was filled.
func Fill(tb testing.TB, dir string) (free func()) {
	tb.Helper()
	WaitWAL(tb, filepath.Join(dir, "parley.db"), func(size int64) bool { return size <= RestingWAL })
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	for len(buf) > 0 {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				tb.Fatal(err)
			}
			buf = buf[:len(buf)/2] // the last blocks, a smaller write at a time
		}
	}
	if err := f.Close(); err != nil && !errors.Is(err, syscall.ENOSPC) {
		tb.Fatal(err)
	}
	return func() {
		tb.Helper()
		if err := os.Remove(path); err != nil {
			tb.Fatal(err)
		}
	}
}

// WALSize returns the size of the WAL of the SQLite database at path: 0
// when it has none.
func WALSize(tb testing.TB, path string) int64 {
	tb.Helper()
	info, err := os.Stat(path + "-wal")
	if errors.Is(err, os.ErrNotExist) {
		return 0
	} else if err != nil {
		tb.Fatal(err)
	}
	return info.Size()
}

// WaitWAL waits, up to a generous deadline, until ok holds of the WALSize
// of the SQLite database at path.
func WaitWAL(tb testing.TB, path string, ok func(size int64) bool) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok(WALSize(tb, path)) {
			return
		}
	}
	tb.Fatalf("WAL of %s: %d bytes", path, WALSize(tb, path))
}

// isDeadlock reports whether err is PostgreSQL's deadlock_detected (40P01).
func isDeadlock(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && e.Code == "40P01"
}
