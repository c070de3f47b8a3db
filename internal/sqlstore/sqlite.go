package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// busyTimeout is how long a statement waits for a lock another connection
// holds before it fails with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// readConns is the size of the read pool: on two cores more readers buy nothing.
const readConns = 4

// walCheckpointPages is the writer's wal_autocheckpoint: how many pages the
// WAL may hold before a commit copies them into the database file. The
// WAL's index (the -shm file) takes 32 KiB for each 4,096 pages it has
// held, and keeps that size while the database is open: 8,000 pages keep
// it at two such blocks, 64 KiB, where SQLite's 1,000 took one, as long as
// the checkpoints keep up (a long read holds them back).
const walCheckpointPages = 8_000

// OpenSQLite opens (creating if needed) the SQLite database at path, applies
// pending migrations and starts the writer: OpenSQLiteWith in
// CreateOrUpgrade mode, as a server.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	return OpenSQLiteWith(ctx, path, SQLiteOptions{})
}

// SQLiteOptions say how to open an SQLite database.
type SQLiteOptions struct {
	// Schema is what the open may do to the database.
	Schema Schema
	// Beside opens the database for a command run beside its server, if
	// one runs: it leaves the server's journal of reads alone, so the
	// reads the server logged in the last moments may not be in the access
	// log yet, and it cannot log reads itself.
	Beside bool
	// Log receives warnings about the data directory's and files'
	// permissions; nil discards them.
	Log *slog.Logger
	// NotDataDir opens a database whose directory is not a data
	// directory, a backup's being made beside its DEST: the directory is
	// the operator's and is left as it is, not made private; the
	// database's own files still are.
	NotDataDir bool
}

func (o SQLiteOptions) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// OpenSQLiteWith opens the SQLite database at path as opts say and starts
// the writer. It refuses a database whose schema is newer than this binary.
//
// The database runs in WAL mode with synchronous=FULL: a commit returns only
// after fsync, so an acknowledged write survives a crash. The journal of
// reads (journal.go) lives next to the database file; unless opts.Beside,
// the open fails while another server has the database open. The data
// directory and the database's files are private to the server's user
// (secureFiles).
func OpenSQLiteWith(ctx context.Context, path string, opts SQLiteOptions) (*DB, error) {
	_, err := os.Stat(path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	if !exists && (opts.Schema == Upgrade || opts.Schema == Current) {
		// Checked before the open, which would create the file.
		return nil, fmt.Errorf("%w: no %s", ErrNoDatabase, path)
	}
	if err := secureFiles(path, !opts.NotDataDir, opts.log()); err != nil {
		return nil, err
	}
	pragmas := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"foreign_keys(ON)",
		// Statements that change many rows, such as a fold of the journal
		// of reads, keep their rollback journal in memory, not a file.
		"temp_store(MEMORY)",
		// SQLite checkpoints in the commit that takes the WAL past
		// walCheckpointPages, and the writes queued meanwhile wait: at
		// SQLite's 1,000 (4 MiB), a send's five or so pages, each in a
		// b-tree of its own, brought a checkpoint every 200 sends or so,
		// each copying several hundred scattered pages and syncing the
		// database file, and those waits were the send's p99. At 8,000
		// (about 32 MiB, under load only: the writer empties the WAL
		// when writes pause, restLog) they are an eighth as many, and each
		// copies a page written many times over once.
		fmt.Sprintf("wal_autocheckpoint(%d)", walCheckpointPages),
	}}
	// The journal's lock marks the database's one server: it is taken
	// before the schema is looked at, let alone changed, so that an open
	// refused beside a running server (a second server, `db upgrade`) has
	// changed nothing under it. Beside, the schema must be this binary's
	// already and is left as it is.
	j := &journal{}
	if !opts.Beside {
		if j, err = lockJournal(path); err != nil {
			return nil, err
		}
	}
	write, err := sql.Open("sqlite", fileURI(path, pragmas.Encode()))
	if err != nil {
		j.close()
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// One writer at a time, the file's tables are read as they are
	// (PostgreSQL reads them in a snapshot of its own, lookAtPostgres).
	if exists {
		if _, _, err := recordedSchema(ctx, write, goose.DialectSQLite3); err != nil {
			write.Close()
			j.close()
			return nil, err
		}
	}
	upgraded, err := prepareSchema(ctx, write, opts.Schema, exists, goose.DialectSQLite3, sqliteMigrations, "migrations/sqlite")
	if err != nil {
		write.Close()
		j.close()
		return nil, err
	}

	// Each connection keeps a page cache of its own, 2 MiB by default; the
	// writer keeps that, each reader 256 KiB (64 pages): what a history
	// page reads is a few pages of a thread and the b-trees' upper pages,
	// a page not cached is a copy from the operating system's file cache,
	// and a reader drops its whole cache whenever the database changed
	// since its last read, as it does between any two sends. Four readers'
	// caches of 512 KiB each set W1's peak memory 1.4 MiB higher, for no
	// rate (bench/README.md, "Footprint").
	pragmas["_pragma"] = append(pragmas["_pragma"], "query_only(ON)", "cache_size(-256)")
	read, err := sql.Open("sqlite", fileURI(path, pragmas.Encode()))
	if err != nil {
		write.Close()
		j.close()
		return nil, fmt.Errorf("sqlstore: open: %w", err)
	}
	read.SetMaxOpenConns(readConns)
	read.SetMaxIdleConns(readConns)
	read.SetConnMaxIdleTime(0)
	read.SetConnMaxLifetime(0)
	var folded int64
	if err := write.QueryRowContext(ctx, `SELECT folded FROM access_journal`).Scan(&folded); err != nil {
		write.Close()
		read.Close()
		j.close()
		return nil, fmt.Errorf("sqlstore: journal of reads: %w", err)
	}
	if !opts.Beside {
		// load closes the journal when it fails.
		if err := j.load(folded); err != nil {
			write.Close()
			read.Close()
			return nil, err
		}
	}
	db, err := newDB(ctx, write, read, j)
	if err != nil {
		write.Close()
		read.Close()
		j.close()
		return nil, err
	}
	db.path = path
	db.upgraded = upgraded
	return db, nil
}

// ErrInUse is opening the embedded database as its server does while a
// server runs on it.
var ErrInUse = errors.New("in use by a running server")

// fileURI returns the URI SQLite opens the database file at path by, with
// the query: the path escaped, as a URI's path ends at '?' or '#'.
func fileURI(path, query string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + query
}

// sqliteFull reports whether err is SQLite's SQLITE_FULL: the disk, or
// the file system's quota, had no room for a page.
func sqliteFull(err error) bool {
	e, ok := errors.AsType[*sqlite.Error](err)
	return ok && e.Code()&0xff == sqlite3.SQLITE_FULL
}

// sqliteUniqueViolation reports whether err is SQLite's violation of a
// unique or primary key constraint.
func sqliteUniqueViolation(err error) bool {
	e, ok := errors.AsType[*sqlite.Error](err)
	if !ok {
		return false
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
