// Package sqlstore implements parley.Store on SQLite, through database/sql,
// and on PostgreSQL, through pgx's own interface.
//
// SQL is written once, in the dialect shared by SQLite and PostgreSQL ($N
// placeholders, RETURNING, ON CONFLICT); sqlite.go and postgres.go hold what
// is each engine's own (connection settings, which of its errors are a
// unique violation, a full disk or worth a retry, how writes and logged
// reads are committed, the few statements one of them needs in its own
// form). mapError, here, turns either engine's errors into parley's. Times
// are stored as microseconds since the Unix epoch.
//
// SQLite commits every write through one goroutine, in groups (writer.go);
// PostgreSQL runs each on a connection of its own (postgres.go). Both keep
// apps' reads in a journal until they are folded into the access log: files
// beside SQLite's database (journal.go), a table of PostgreSQL's
// (pgjournal.go).
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley"
	"github.com/pressly/goose/v3"
)

// ErrClosed is returned by writes queued after Close.
var ErrClosed = errors.New("sqlstore: closed")

// DB is a parley.Store, on SQLite (OpenSQLite) or PostgreSQL (OpenPostgres).
type DB struct {
	// pg is the PostgreSQL database; nil on SQLite, whose are the fields
	// below.
	pg *postgres

	write      *sql.DB   // exactly one connection, pinned as writeConn
	writeConn  *sql.Conn // the writer's connection; its transactions are driven by hand
	read       *sql.DB   // a small pool of read-only connections
	writeStmts stmtCache // prepared on writeConn
	readStmts  stmtCache // prepared on the read pool
	journal    *journal  // the records of reads, until they are folded
	// settleLog folds pending reads before the access log is read; it is
	// bound once so that reads need not allocate it.
	settleLog func(context.Context) error

	queue chan *writeReq
	// closeMu makes enqueueing and closing exclusive, so that no write is
	// queued after the writer has answered the last queued ones.
	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{}
	stopped chan struct{}
	// synced is whether the writer's connection fsyncs at commit
	// (synchronous=FULL) rather than leaving it to the next one that does.
	synced bool
	// path is the SQLite database's file.
	path string

	// fullness is whether the disk was full at the last write, on either
	// engine, and unreachable whether PostgreSQL could not be reached at
	// the last call (health.go).
	fullness, unreachable condition
	// queries counts the statements reads run, on either engine.
	queries atomic.Uint64
	// upgraded is how the open upgraded the schema (Upgraded).
	upgraded SchemaUpgrade
}

// Queries returns how many statements reads (Read) have run since the store
// opened, on either engine: what answering costs the database, counted by
// the metrics and by tests that hold a read to a constant number of
// queries. Writes are not counted, nor the folds of the journal of reads,
// which come a moment after the reads they log.
func (db *DB) Queries() uint64 { return db.queries.Load() }

var _ parley.Store = (*DB)(nil)

// Close finishes the write in progress, refuses new ones and closes the database.
func (db *DB) Close() error {
	if db.pg != nil {
		return db.pg.close()
	}
	db.closeMu.Lock()
	if !db.closed {
		db.closed = true
		close(db.stop)
	}
	db.closeMu.Unlock()
	<-db.stopped
	db.writeStmts.close()
	db.readStmts.close()
	return errors.Join(db.journal.close(), db.writeConn.Close(), db.read.Close(), db.write.Close())
}

// Read runs fn on the read pool. Each query sees everything committed before
// it began; fn's queries are not one snapshot, which no read here needs, and
// spares every read a BEGIN and a COMMIT.
func (db *DB) Read(ctx context.Context, fn func(parley.Tx) error) error {
	if db.pg != nil {
		return db.noteRead(db.pg.read(ctx, fn))
	}
	if err := db.confirmCaller(ctx); err != nil {
		return db.noteRead(err)
	}
	return db.noteRead(fn(&txn{stmts: &db.readStmts, detached: true, settleLog: db.settleLog, queries: &db.queries}))
}

// Write queues fn for the writer and waits until its batch is durable; on
// PostgreSQL it runs fn in a transaction of its own (postgres.go). On a
// full disk it fails with parley.ErrStorageFull, keeping nothing of fn.
func (db *DB) Write(ctx context.Context, fn func(parley.Tx) error) error {
	if db.pg != nil {
		return db.noteWrite(db.pg.write(ctx, fn, pgDurable, false))
	}
	return db.noteWrite(db.queueWrite(ctx, newWrite(ctx, fn, false)))
}

// WriteOne is Write on SQLite, where the writer's transaction holds a
// whole batch of writes anyway; on PostgreSQL fn's one statement commits
// with those of the WriteOne writes that arrive with it (pggroup.go).
func (db *DB) WriteOne(ctx context.Context, fn func(parley.Tx) error) error {
	if db.pg != nil {
		return db.noteWrite(db.pg.write(ctx, fn, pgAlone, false))
	}
	return db.Write(ctx, fn)
}

// WriteLazily queues fn for the writer and waits until its batch commits,
// not for fsync unless a batch-mate waits for it; on PostgreSQL its
// transaction commits with synchronous_commit off.
func (db *DB) WriteLazily(ctx context.Context, fn func(parley.Tx) error) error {
	if db.pg != nil {
		return db.noteWrite(db.pg.write(ctx, fn, pgLazy, false))
	}
	return db.noteWrite(db.queueWrite(ctx, newWrite(ctx, fn, true)))
}

// writeLong is Write for a write that may take long, such as Copy's of a
// whole install: on PostgreSQL, pgCallTime does not end it.
func (db *DB) writeLong(ctx context.Context, fn func(parley.Tx) error) error {
	if db.pg != nil {
		return db.noteWrite(db.pg.write(ctx, fn, pgDurable, true))
	}
	return db.Write(ctx, fn)
}

// runWrite calls a write's function, turning a panic into its error.
func runWrite(fn func(parley.Tx) error, t *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: write panicked: %v", p)
		}
	}()
	return fn(t)
}

// stmtCache prepares each query once per database and reuses it: preparing
// per call costs about a fifth of the write throughput.
type stmtCache struct {
	prep interface {
		PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	}
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	s := c.m[query]
	c.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[query]; s != nil {
		return s, nil
	}
	s, err := c.prep.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: prepare: %w", err)
	}
	c.m[query] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	clear(c.m)
}

// txn implements parley.Tx. On SQLite, for writes its statements run on
// the writer's connection inside the batch's transaction; for reads, on the
// read pool. On PostgreSQL they run in the write's transaction, or for
// reads on the pool.
type txn struct {
	// stmts, on SQLite, are the statements prepared once.
	stmts *stmtCache
	// pg, on PostgreSQL, runs the statements: a transaction or the pool
	// (pgx prepares and caches each statement per connection itself).
	pg pgQuerier
	// locked, on PostgreSQL, is what a write's reads of rows it may then
	// change end with: " FOR UPDATE", so that a concurrent transaction
	// changing the same row waits for this one (postgres.go).
	locked string
	// retry, on PostgreSQL, is set when a statement failed by a
	// serialization failure or a deadlock, or found a message changed since
	// the write read it (changeMessage), or the connection was lost before
	// the COMMIT (pglost.go): the transaction must run again, whatever fn
	// made of the error.
	retry bool
	// threadChanged, on PostgreSQL, is set when a post found its thread's
	// row changed since its statement began (postParticipantMessagePG);
	// holdThread, on the runs after that, has the post take the row first,
	// in a statement of its own.
	threadChanged, holdThread bool
	// answered, on PostgreSQL, is set once a statement was answered.
	answered bool
	// conflicted, on PostgreSQL, is set when a statement failed by a
	// unique violation: the row may be a concurrent write's, which fn
	// finds when it runs again.
	conflicted bool
	// detached statements, on SQLite, ignore the caller's cancellation
	// (PostgreSQL's run in bound). For writes an
	// interrupt would roll back every write of the batch; for reads, which
	// are short index lookups, a cancellable context only costs database/sql
	// and the driver a watcher goroutine per query.
	detached bool
	// bound, on PostgreSQL, is the context every statement runs in,
	// whatever its caller gives: the call's own, ended by pgCallTime of
	// the database's silence and, for a read, by its caller's
	// cancellation.
	bound context.Context
	// settleLog, for SQLite's reads, folds the journal of reads before the
	// access log is read; journal, for SQLite's writes, is the journal a
	// write folds first, in its own transaction, before it reads or
	// appends to the access log (foldInside).
	settleLog func(context.Context) error
	journal   *journal
	// pgSettled, for a PostgreSQL write, holds the members whose reads
	// waiting in the journal of reads the write has folded in its
	// transaction (pgjournal.go); all of them for "".
	pgSettled map[string]bool
	// pgReads, for a PostgreSQL read, is its store, which folds the
	// journal of reads before the access log is read (settleJournal).
	pgReads *postgres
	// queries, for a read, counts its statements, as DB.Queries tells;
	// nil for a write.
	queries *atomic.Uint64
}

// keyShared is what a write's read of a row that must still be there when
// it commits ends with: on PostgreSQL " FOR KEY SHARE", so that a deletion
// of the row under way is waited for and the row then found gone, and one
// that comes after waits for the write; nothing on SQLite, whose writes
// run one at a time.
func (t *txn) keyShared() string {
	if t.pg == nil {
		return ""
	}
	return " FOR KEY SHARE"
}

// skipLocked is what a write's read of rows it takes ends with: on
// PostgreSQL " FOR UPDATE SKIP LOCKED", so that rows another write holds
// are passed over, not waited for; nothing on SQLite, whose writes run one
// at a time.
func (t *txn) skipLocked() string {
	if t.pg == nil {
		return ""
	}
	return " FOR UPDATE SKIP LOCKED"
}

// count counts a statement of a read.
func (t *txn) count() {
	if t.queries != nil {
		t.queries.Add(1)
	}
}

// settle folds the journal of reads into the access log before a read of
// the logs of the members named, or a write's append to them; nil names
// every member. SQLite folds the whole journal whatever the members.
func (t *txn) settle(ctx context.Context, members []string) error {
	switch {
	case t.journal != nil:
		return t.foldInside(ctx)
	case t.pgSettled != nil:
		return t.settleInside(ctx, members)
	case t.pgReads != nil:
		return t.pgReads.settleJournal(ctx, t, members)
	case t.settleLog != nil:
		return t.settleLog(ctx)
	}
	return nil
}

func (t *txn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.stmts.get(ctx, query)
}

func (t *txn) context(ctx context.Context) context.Context {
	if t.bound != nil {
		return t.bound
	}
	if t.detached {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

func (t *txn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.count()
	ctx = t.context(ctx)
	if t.pg != nil {
		return t.pgExec(ctx, query, args...)
	}
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// rows are a query's result: *sql.Rows on SQLite, pgRows on PostgreSQL.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
	Columns() ([]string, error)
}

func (t *txn) query(ctx context.Context, query string, args ...any) (rows, error) {
	t.count()
	ctx = t.context(ctx)
	if t.pg != nil {
		return t.pgQuery(ctx, query, args...)
	}
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// queryRow runs a query expected to return one row and scans it into dest.
// It reads the result to its end, so no statement stays open.
func (t *txn) queryRow(ctx context.Context, what, query string, args []any, dest ...any) error {
	if g, ok := t.pg.(*pgGrouped); ok {
		err := g.queryRow(ctx, what, query, args, dest)
		t.noteRetry(err)
		return err
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := scanFirst(rows, what, dest); err != nil {
		return err
	}
	return rows.Close()
}

// scanFirst scans the first of rows into dest: ENOTFOUND (of what) when
// there is none.
func scanFirst(rows interface {
	Next() bool
	Err() error
	Scan(dest ...any) error
}, what string, dest []any) error {
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return parley.Errorf(parley.ENOTFOUND, "%s not found", what)
	}
	return rows.Scan(dest...)
}

// mustAffect turns an update that matched no row into ENOTFOUND.
func mustAffect(res sql.Result, what string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return parley.Errorf(parley.ENOTFOUND, "%s not found", what)
	}
	return nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

// Schema says what opening a database may do to it.
type Schema int

const (
	// CreateOrUpgrade creates the database when there is none and applies
	// pending migrations: what a server does when it starts.
	CreateOrUpgrade Schema = iota
	// Upgrade applies pending migrations to a database that exists
	// (`parley db upgrade`).
	Upgrade
	// Create makes a new database, refusing one that exists
	// (`parley db init`).
	Create
	// Current opens a database that exists and whose schema is exactly
	// this binary's, changing nothing: what every other command does.
	Current
)

// ErrNoDatabase is returned by an open that may not create a database
// and finds none.
var ErrNoDatabase = errors.New("sqlstore: there is no parley database there")

// ErrDatabaseExists is returned by an open in Create mode that finds a
// database.
var ErrDatabaseExists = errors.New("sqlstore: a parley database is there already")

// SchemaError is a database whose schema version is not this binary's:
// older, in Current mode, or newer, in any mode.
type SchemaError struct {
	// Database is the database's schema version; Binary, this binary's.
	Database, Binary int64
}

func (e *SchemaError) Error() string {
	if e.Database > e.Binary {
		return fmt.Sprintf("sqlstore: the database is at schema %d, made by a newer parley; this one expects %d", e.Database, e.Binary)
	}
	return fmt.Sprintf("sqlstore: the database is at schema %d, this parley expects %d", e.Database, e.Binary)
}

// SchemaVersion is this binary's schema version: its newest migration's
// number, the same on both engines.
func SchemaVersion() int64 {
	names, err := fs.Glob(sqliteMigrations, "migrations/sqlite/*.sql")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	var v int64
	for _, n := range names {
		var n64 int64
		if _, err := fmt.Sscanf(path.Base(n), "%d_", &n64); err == nil && n64 > v {
			v = n64
		}
	}
	return v
}

// SchemaUpgrade is what an open did to a database's existing schema: it
// applied the migrations after version From up to version To. The zero
// value is an open that upgraded nothing.
type SchemaUpgrade struct {
	From, To int64
}

// Upgraded returns how the open that returned db upgraded the database's
// schema, in CreateOrUpgrade or Upgrade mode; the zero SchemaUpgrade when
// it applied no migration, and when it created the database.
func (db *DB) Upgraded() SchemaUpgrade { return db.upgraded }

// prepareSchema does what schema asks of the migrations of dir in fsys,
// each applied in a transaction of its own; exists is whether the engine
// found a parley database there, whose table of migrations the engine
// has found Parley's (recordedSchema). It refuses a database whose schema
// is newer than this binary in every mode. opts are the engine's own, such
// as a lock that keeps two servers from migrating at once. It returns the
// upgrade of an existing schema it made, if it made one: none when another
// server, holding the lock first, applied the same migrations.
func prepareSchema(ctx context.Context, db *sql.DB, schema Schema, exists bool, dialect goose.Dialect, fsys fs.FS, dir string, opts ...goose.ProviderOption) (SchemaUpgrade, error) {
	switch {
	case !exists && (schema == Upgrade || schema == Current):
		return SchemaUpgrade{}, ErrNoDatabase
	case exists && schema == Create:
		return SchemaUpgrade{}, ErrDatabaseExists
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return SchemaUpgrade{}, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, db, sub, opts...)
	if err != nil {
		return SchemaUpgrade{}, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var current int64
	if exists {
		var target int64
		if current, target, err = p.GetVersions(ctx); err != nil {
			return SchemaUpgrade{}, fmt.Errorf("sqlstore: schema version: %w", err)
		}
		if current > target || (schema == Current && current != target) {
			return SchemaUpgrade{}, &SchemaError{Database: current, Binary: target}
		}
		if schema == Current {
			return SchemaUpgrade{}, nil
		}
	}
	applied, err := p.Up(ctx)
	if err != nil {
		return SchemaUpgrade{}, fmt.Errorf("sqlstore: migrate: %w", err)
	}
	if err := fillAppNameKeys(ctx, db); err != nil {
		return SchemaUpgrade{}, err
	}
	if current == 0 || len(applied) == 0 {
		// Made just now (a schema at 0 holds nothing), or already
		// upgraded.
		return SchemaUpgrade{}, nil
	}
	return SchemaUpgrade{From: current, To: applied[len(applied)-1].Source.Version}, nil
}

// ErrAnotherProgram is a database whose table of migrations is not
// Parley's (parleyTables).
var ErrAnotherProgram = errors.New("sqlstore: the database's table of migrations (goose_db_version) is another program's")

// parleyTables is how a Parley database is told from another program's
// that migrates with goose too, whose table of migrations has goose's
// default name, as Parley's has: a database whose goose_db_version records
// version v is Parley's only if it holds every table listed here from v or
// an earlier version on. These are tables of Parley's first migrations on
// both engines, which no later migration drops; at version 0, goose's
// table made and no migration applied yet, nothing is expected (a schema
// at 0 is checked on PostgreSQL for names Parley's migrations would take,
// refuseTakenNames). The rule is simple on purpose: another program's
// database fails it unless it holds all of these names, and a Parley
// database cannot fail it.
var parleyTables = []struct {
	since  int64
	tables []string
}{
	{1, []string{"users", "sessions", "friendships", "threads", "participants", "messages"}},
	{2, []string{"apps"}},
	{3, []string{"grants", "grant_threads", "auth_requests", "oauth_tokens", "server_keys"}},
}

// tableLister runs a query: a database, or a transaction.
type tableLister interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// recordedSchema returns the schema version that the database's table of
// migrations records and whether that table is there at all, refusing,
// with ErrAnotherProgram, a database whose table of migrations is not
// Parley's (parleyTables). dialect is SQLite's or PostgreSQL's, whose
// current schema is the one looked at.
func recordedSchema(ctx context.Context, q tableLister, dialect goose.Dialect) (version int64, found bool, err error) {
	list := `SELECT name FROM sqlite_master WHERE type = 'table'`
	if dialect == goose.DialectPostgres {
		list = `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`
	}
	have := map[string]bool{}
	rows, err := q.QueryContext(ctx, list)
	if err != nil {
		return 0, false, fmt.Errorf("sqlstore: tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return 0, false, fmt.Errorf("sqlstore: tables: %w", err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return 0, false, fmt.Errorf("sqlstore: tables: %w", err)
	}
	rows.Close()
	if !have["goose_db_version"] {
		return 0, false, nil
	}
	var v sql.NullInt64
	rows, err = q.QueryContext(ctx, `SELECT MAX(version_id) FROM goose_db_version`)
	if err != nil {
		return 0, true, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, true, fmt.Errorf("sqlstore: schema version: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, true, fmt.Errorf("sqlstore: schema version: %w", err)
	}
	var missing []string
	for _, p := range parleyTables {
		if p.since > v.Int64 {
			break
		}
		for _, t := range p.tables {
			if !have[t] {
				missing = append(missing, t)
			}
		}
	}
	if len(missing) > 0 {
		return v.Int64, true, fmt.Errorf("%w: it records version %d, and the database lacks Parley's tables of that version (%s)", ErrAnotherProgram, v.Int64, strings.Join(missing, ", "))
	}
	return v.Int64, true, nil
}

// mapError turns a driver error into one of parley's: unique and primary-key
// violations become ECONFLICT. Other errors are wrapped with op.
func mapError(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*parley.Error](err); ok {
		return err
	}
	if sqliteUniqueViolation(err) || pgUniqueViolation(err) {
		return &parley.Error{Code: parley.ECONFLICT, Message: "already exists"}
	}
	return fmt.Errorf("sqlstore: %s: %w", op, err)
}
