package sqlstore

// PostgreSQL's design. Several servers may share one database, so nothing
// is serialised in a process: each write is a transaction of its own on a
// pool of connections, at READ COMMITTED, and what must not interleave
// takes row locks.
//
//   - A thread's next message number is taken by UPDATE … RETURNING on the
//     thread's row, which holds the row until the message's transaction
//     ends: numbers stay dense per thread whichever server writes.
//   - A write's reads of rows it may then change (an authorization
//     request, a grant, expired grants, a throttle) lock them
//     (txn.locked), so that a read-modify-write on one server waits for
//     another's, and then reads what that one wrote.
//   - Appending to the access log locks the members' heads in the order
//     of their IDs, creating missing heads first, so that two transactions
//     appending for one member chain one after the other.
//   - A unique index stands behind every "find, else create" (direct
//     threads, current grants, idempotency keys, server keys): when two
//     writes create the same row at once, the second waits for the first
//     to commit and fails with a unique violation. It then runs once more,
//     and finds the row, as it would have had the two run one after the
//     other; a second violation is the caller's ECONFLICT.
//
// A write that meets a deadlock or a serialization failure runs again, fn
// and all. The records of reads are written to a journal of reads
// (pgjournal.go), a row each in one round trip, durably: with
// synchronous_commit off a crash of PostgreSQL itself would lose a read's
// record after its data went out.
//
// Each statement is a round trip to the database server, and round trips
// are most of what a write costs this server's CPU: a write's BEGIN goes
// in the same round trip as its first statement (pgTx), and a message is
// posted, its thread's participants read, by one statement
// (postParticipantMessagePG). A write of that one statement (WriteOne, a
// member's send) goes with the other such writes of the moment, in one
// round trip on one connection (pggroup.go); other sends are BEGIN with
// the post, then whatever else they write, and COMMIT.
//
// Only those one-statement writes are grouped. A write of several
// statements needs each one's answer before the next, so a group of them
// would be a chain of round trips on one connection. Tried (one committer
// per server, a savepoint per write, the next batch running while the
// last one's COMMIT waited for the disk), it spent less of PostgreSQL's
// CPU per send, but in W1 on this 2-core machine, side by side with
// writes on the pool, it sent 0.4 to 1.0 times as many messages (median
// 0.75 over six pairs of runs): the chain waits for the scheduler at
// every step, and on a network each step would add the network's latency,
// which writes on a pool wait for in parallel (bench/README.md).

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/parleyhq/parley"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/postgres/*.sql
var postgresMigrations embed.FS

// pgConns is the size of a server's pool of connections unless its
// database URL sets pool_max_conns. A write holds one for its whole
// transaction, a group of sends one while it is in flight, a read one for
// each statement; a request that finds them all taken waits in the
// server's pool. Each connection is a process of PostgreSQL's, and more of
// them at work at once than PostgreSQL's machine has cores only switch
// between each other: on a machine of 2 cores running Parley and
// PostgreSQL, W1's history read a sixth more pages a second with 8
// connections than with 32 (the median of six alternated pairs), and sent
// as many messages (bench/README.md, "A server's connections"). A larger
// PostgreSQL machine, or fewer nodes on it, can take more; README's
// section on PostgreSQL says how.
const pgConns = 8

// pgIdleTime is how long a connection stays unused before the pool closes
// it, unless the URL sets pool_max_conn_idle_time.
const pgIdleTime = 5 * time.Minute

// pgConnectTime bounds a connection's making, unless the database's URL
// sets connect_timeout: a PostgreSQL server out of reach fails a call in
// seconds, as unreachable, rather than when the kernel gives up.
const pgConnectTime = 5 * time.Second

// pgCallTime bounds a call on PostgreSQL, a read or a write, its wait for a
// connection and for locks included, so that a database that stops
// answering, as in a network partition or with its server stuck on its
// disk, does not hold the call, its connection and its caller for as long
// as the silence lasts. A write's caller can no longer cancel it once
// begun (a commit cut short could not be told from one that failed), so
// for a write this is the only end. A call of Parley's serving requests is
// a page of something, which takes milliseconds; a call that runs out of
// it fails as unreachable (errPGSilent), and a write so failed may have
// committed or not: a send made again with its Idempotency-Key takes
// effect once. A bulk write, such as Copy's, is not bounded (writeLong).
const pgCallTime = 15 * time.Second

// errPGSilent is the cause of a call's end when PostgreSQL did not answer
// it within pgCallTime.
var errPGSilent = errors.New("sqlstore: PostgreSQL did not answer in time")

// bounded returns ctx ended by pgCallTime too, then with errPGSilent as
// its cause.
func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, pgCallTime, errPGSilent)
}

// detachedWrite returns the context a write runs in once begun: ctx's
// values without its cancellation, bounded.
func detachedWrite(ctx context.Context) (context.Context, context.CancelFunc) {
	return bounded(context.WithoutCancel(ctx))
}

// silenced returns err marked as PostgreSQL's silence (errPGSilent) if
// ctx, bounded by pgCallTime, ran out.
func silenced(ctx context.Context, err error) error {
	if err != nil && context.Cause(ctx) == errPGSilent {
		return fmt.Errorf("%w: %w", errPGSilent, err)
	}
	return err
}

// pgAttempts is how many times a write runs when it keeps meeting
// deadlocks or serialization failures.
const pgAttempts = 10

// postgres is the PostgreSQL side of a DB.
//
// Statements go to pgx itself, not through database/sql: database/sql's
// pool, argument conversion and scanning through driver values cost more
// CPU per statement than pgx's own.
type postgres struct {
	pool *pgxpool.Pool
	// group sends WriteOne writes' statements in groups (pggroup.go).
	group *pgGroup
	// queries counts the statements reads run, as DB.Queries tells.
	queries *atomic.Uint64
	// foldScheduled is set while a fold of the journal of reads is due
	// (pgjournal.go); closing, once the store is being closed.
	foldScheduled, closing atomic.Bool
}

// pgQuerier runs statements: a pgx.Tx or the pool.
type pgQuerier interface {
	Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, query string, args ...any) (pgx.Rows, error)
}

// pgRows are a query's rows. The query has read its first row already, so
// that a failure of the statement is the query's error, as it is on SQLite;
// the failures the rows meet are noted in their txn.
type pgRows struct {
	pgx.Rows
	t *txn
	// peeked is whether the first row was read but not yet handed out;
	// more is whether there was one.
	peeked, more bool
	// fields, of a query on the pool, are its columns, kept for when its
	// connection went back to the pool.
	fields []pgconn.FieldDescription
}

func (r *pgRows) columns() []pgconn.FieldDescription {
	if r.fields != nil {
		return r.fields
	}
	return r.FieldDescriptions()
}

func (r *pgRows) Next() bool {
	if r.peeked {
		r.peeked = false
		return r.more
	}
	return r.Rows.Next()
}

func (r *pgRows) Err() error {
	err := r.Rows.Err()
	r.t.noteRetry(err)
	return err
}

func (r *pgRows) Close() error {
	r.Rows.Close()
	return r.Err()
}

func (r *pgRows) Columns() ([]string, error) {
	fields := r.columns()
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return names, nil
}

// typeNames returns the type of each column by name, as PostgreSQL names
// it, in capitals.
func (r *pgRows) typeNames() map[string]string {
	types := map[string]string{}
	for _, f := range r.columns() {
		name := strconv.FormatUint(uint64(f.DataTypeOID), 10)
		if typ, ok := r.Conn().TypeMap().TypeForOID(f.DataTypeOID); ok {
			name = typ.Name
		}
		types[f.Name] = strings.ToUpper(name)
	}
	return types
}

// pgQuery runs a query on PostgreSQL.
func (t *txn) pgQuery(ctx context.Context, query string, args ...any) (rows, error) {
	r, err := t.pg.Query(ctx, query, args...)
	if err != nil {
		t.noteRetry(err)
		return nil, err
	}
	pr := &pgRows{Rows: r, t: t, peeked: true}
	if _, inTx := t.pg.(*pgTx); !inTx {
		// The connection's buffer holds the columns until the end of the
		// rows gives the connection back to the pool.
		pr.fields = slices.Clone(r.FieldDescriptions())
	}
	if pr.more = r.Next(); !pr.more {
		if err := pr.Close(); err != nil {
			return nil, err
		}
	}
	// A first row, or the end of none, is an answer.
	t.answered = true
	return pr, nil
}

// pgExec runs a statement without rows on PostgreSQL.
func (t *txn) pgExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tag, err := t.pg.Exec(ctx, query, args...)
	t.noteRetry(err)
	if err != nil {
		return nil, err
	}
	t.answered = true
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// sendLater runs a statement whose answer nothing reads, as exec does,
// and maps its failure to what it does. In a PostgreSQL write's
// transaction, once begun, the statement is held and sent with the next
// statement or the COMMIT (pgTx.sendLater): a round trip fewer, its
// failure then that statement's or the commit's.
func (t *txn) sendLater(ctx context.Context, what, query string, args ...any) error {
	if x, ok := t.pg.(*pgTx); ok {
		return x.sendLater(t.context(ctx), what, query, args)
	}
	_, err := t.exec(ctx, query, args...)
	return mapError(what, err)
}

// OpenPostgres opens the PostgreSQL database at url (postgres://…; a
// search_path parameter selects the schema) and applies pending migrations:
// OpenPostgresWith in CreateOrUpgrade mode, as a server.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	return OpenPostgresWith(ctx, url, CreateOrUpgrade)
}

// OpenPostgresWith opens the PostgreSQL database at url doing what schema
// says; migrations run under an advisory lock, so that servers starting
// together migrate once. A database "exists" when its schema holds goose's
// table of versions. It refuses a database whose schema is newer than this
// binary.
//
// Any number of servers may open the same database.
func OpenPostgresWith(ctx context.Context, url string, schema Schema) (*DB, error) {
	cfg, err := poolConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	// The migrations' library works on database/sql.
	db := stdlib.OpenDBFromPool(pool)
	upgraded, err := migratePostgres(ctx, db, schema)
	if err := errors.Join(err, db.Close()); err != nil {
		pool.Close()
		return nil, err
	}
	store := &DB{pg: &postgres{pool: pool, group: newPGGroup(pool)}, upgraded: upgraded}
	store.pg.queries = &store.queries
	// Reads a crash left in the journal are folded as soon as a server
	// starts, not only when it journals reads of its own.
	store.pg.scheduleFold()
	return store, nil
}

// poolConfig is the configuration of the pool of connections to url: what
// the URL says, pgxpool's parameters (pool_max_conns, …) included, and
// Parley's defaults for what it leaves out of those it has defaults for.
func poolConfig(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// pgxpool takes its parameters out of the connection's; pgx alone
	// leaves them there, to tell which the URL sets.
	given, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if _, set := given.RuntimeParams["pool_max_conns"]; !set {
		cfg.MaxConns = pgConns
	}
	if _, set := given.RuntimeParams["pool_max_conn_idle_time"]; !set {
		cfg.MaxConnIdleTime = pgIdleTime
	}
	if given.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = pgConnectTime
	}
	return cfg, nil
}

// migratePostgres prepares the schema under an advisory lock named after
// the PostgreSQL schema, so that schemas of one database migrate
// independently. What is there is looked at first, in one snapshot: a
// schema whose table of migrations is another program's is refused
// (recordedSchema), and one where Parley's migrations have not begun
// (no table of migrations, or one at version 0) is refused if it holds a
// table of a name they make (refuseTakenNames). It returns the upgrade it
// made, as prepareSchema does.
func migratePostgres(ctx context.Context, pool *sql.DB, mode Schema) (SchemaUpgrade, error) {
	schema, exists, err := lookAtPostgres(ctx, pool)
	if err != nil {
		return SchemaUpgrade{}, err
	}
	h := fnv.New64a()
	h.Write([]byte("parley migrations " + schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return SchemaUpgrade{}, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return prepareSchema(ctx, pool, mode, exists, goose.DialectPostgres, postgresMigrations, "migrations/postgres", goose.WithSessionLocker(locker))
}

// lookAtPostgres returns the name of the schema the connections use and
// whether it holds Parley's table of migrations, refusing what
// migratePostgres refuses; it reads in one snapshot, so that another
// server's migration committed meanwhile is seen whole or not at all.
func lookAtPostgres(ctx context.Context, pool *sql.DB) (schema string, exists bool, err error) {
	tx, err := pool.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return "", false, fmt.Errorf("sqlstore: connect: %w", err)
	}
	defer tx.Rollback()
	var name sql.NullString
	var encoding string
	if err := tx.QueryRowContext(ctx, `SELECT current_schema(), current_setting('server_encoding')`).Scan(&name, &encoding); err != nil {
		return "", false, fmt.Errorf("sqlstore: connect: %w", err)
	}
	if !name.Valid {
		return "", false, errors.New("sqlstore: the search_path names no schema that exists")
	}
	// Members write in every script, and in emoji: a database of another
	// encoding would refuse, as a failed send, every text it cannot hold
	// (LATIN1), or hold bytes it never checks, which lower() does not
	// fold (SQL_ASCII).
	if encoding != "UTF8" {
		return "", false, fmt.Errorf("sqlstore: the database's encoding is %s, and parley needs UTF8 to hold every text members write: create the database with ENCODING 'UTF8' (README, PostgreSQL)", encoding)
	}
	version, exists, err := recordedSchema(ctx, tx, goose.DialectPostgres)
	if errors.Is(err, ErrAnotherProgram) {
		return "", false, fmt.Errorf("%w: give Parley a database, or a schema, of its own", err)
	} else if err != nil {
		return "", false, err
	}
	if !exists || version == 0 {
		if err := refuseTakenNames(ctx, tx); err != nil {
			return "", false, err
		}
	}
	return name.String, exists, nil
}

// refuseTakenNames refuses a schema where Parley's migrations have not
// begun that holds a table of a name they make: the first that makes it
// would fail halfway, leaving the migrations' own table behind, and the
// next start would take the other program's tables for a Parley database.
func refuseTakenNames(ctx context.Context, tx *sql.Tx) error {
	var names []string
	err := fs.WalkDir(postgresMigrations, "migrations/postgres", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := postgresMigrations.ReadFile(path)
		for _, m := range createdTable.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	var taken string
	err = tx.QueryRowContext(ctx, `
		SELECT coalesce(string_agg(c.relname, ', ' ORDER BY c.relname), '') FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = ANY($1)`, names).Scan(&taken)
	switch {
	case err != nil:
		return fmt.Errorf("sqlstore: connect: %w", err)
	case taken != "":
		return fmt.Errorf("sqlstore: the database holds no Parley database but what Parley would make (%s): give Parley a database, or a schema, of its own", taken)
	}
	return nil
}

// createdTable matches a migration's CREATE TABLE, the table's name its
// first group.
var createdTable = regexp.MustCompile(`(?m)^CREATE TABLE (\w+)`)

func (p *postgres) close() error {
	p.closing.Store(true)
	p.group.close()
	p.pool.Close()
	return nil
}

// read runs fn's queries on the pool, each on whichever connection is free,
// the first with the confirmation of the caller if it is pending
// (callercheck.go); again, on new connections, while its first statement
// finds its connection lost (pglost.go): fn has then read nothing, so that
// nothing it gathers is gathered twice. It ends, as unreachable, after
// pgCallTime of the database's silence.
func (p *postgres) read(ctx context.Context, fn func(parley.Tx) error) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	for attempt := 1; ; attempt++ {
		t := &txn{pg: p.pool, queries: p.queries, pgReads: p, bound: ctx}
		err := p.readOnce(ctx, t, fn)
		if err == nil || t.answered || attempt == pgAttempts || ctx.Err() != nil || !pgConnLost(err) {
			return silenced(ctx, err)
		}
		p.pool.Reset()
	}
}

// readOnce runs fn's queries once, in t.
func (p *postgres) readOnce(ctx context.Context, t *txn, fn func(parley.Tx) error) error {
	check := parley.PendingCheck(ctx)
	if check != nil {
		t.pg = &pgCheckedReads{pool: p.pool, check: check}
	}
	if err := fn(t); err != nil {
		return err
	}
	return confirmAlone(ctx, p.pool, check)
}

// batchSender sends batches: the pool, or a connection taken from it.
type batchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// confirmAlone confirms check's caller through s if it is still pending:
// when fn ran no statement to send the confirmation with. A write sends it
// on the connection it holds: one that took a second from the pool would
// wait for ever once every connection was held by such a write.
func confirmAlone(ctx context.Context, s batchSender, check *parley.CallerCheck) error {
	if check == nil || check.Confirmed() {
		return nil
	}
	b := &pgx.Batch{}
	queueConfirmation(b, check)
	if err := s.SendBatch(ctx, b).Close(); err != nil {
		return checkError(err)
	}
	check.Confirm()
	return nil
}

// pgWriteMode is how a write commits.
type pgWriteMode int

const (
	// pgDurable writes commit once the WAL is on disk.
	pgDurable pgWriteMode = iota
	// pgLazy writes commit without waiting for the WAL to reach disk.
	pgLazy
	// pgAlone writes are one statement of one row, which commits as
	// durably as pgDurable's, with those of other pgAlone writes that
	// arrive at the same time (pggroup.go).
	pgAlone
)

// write runs fn in a transaction, again while it meets deadlocks or
// serialization failures, or loses its connection before its COMMIT
// (pglost.go). Once it starts, the caller's cancellation no
// longer interrupts it: a commit cut short could not be told from one that
// failed. PostgreSQL's silence does, after pgCallTime (detachedWrite),
// unless long is set.
func (p *postgres) write(ctx context.Context, fn func(parley.Tx) error, mode pgWriteMode, long bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if long {
		ctx = context.WithoutCancel(ctx)
	} else {
		var cancel context.CancelFunc
		ctx, cancel = detachedWrite(ctx)
		defer cancel()
	}
	var err error
	holdThread := false
	for attempt := 1; ; attempt++ {
		var t *txn
		if t, err = p.try(ctx, fn, mode, holdThread); err == nil || attempt == pgAttempts || ctx.Err() != nil ||
			!(t.retry || pgRetryable(err) || t.conflicted && attempt == 1) {
			return silenced(ctx, err)
		}
		if t.threadChanged {
			// A post whose thread changed meanwhile (someone joined or
			// left it, or renamed it) runs again holding the thread's row
			// before it reads who is in it, which no change can then come
			// between: run optimistically again and again, it lost every
			// run to a group's quick changes. Two statements are no
			// longer a pgAlone write.
			holdThread = true
			if mode == pgAlone {
				mode = pgDurable
			}
		}
		// Back off a little, at random, so that the transactions that
		// collided do not collide again.
		time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
	}
}

// try runs fn in one transaction; the txn tells what its statements met.
// A pgAlone write's statement goes to the node's group. holdThread has a
// post take its thread's row first (txn.holdThread).
func (p *postgres) try(ctx context.Context, fn func(parley.Tx) error, mode pgWriteMode, holdThread bool) (*txn, error) {
	t := &txn{locked: " FOR UPDATE", bound: ctx, holdThread: holdThread}
	if mode == pgAlone {
		t.pg = &pgGrouped{group: p.group}
		if err := runWrite(fn, t); err != nil {
			_, lost := errors.AsType[*lostError](err)
			t.retry = t.retry || lost
			return t, err
		}
		return t, confirmAlone(ctx, p.pool, parley.PendingCheck(ctx))
	}
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return t, fmt.Errorf("sqlstore: begin: %w", err)
	}
	// The pool closes a connection that a failure left in a transaction,
	// rather than take it back.
	defer conn.Release()
	tx := &pgTx{conn: conn, mode: mode, check: parley.PendingCheck(ctx), hold: appCheck(ctx)}
	t.pg, t.pgSettled = tx, map[string]bool{}
	if err := runWrite(fn, t); err != nil || t.retry {
		if conn.Conn().IsClosed() {
			// Lost before the COMMIT: nothing of it was done (pglost.go).
			t.retry = true
			p.pool.Reset()
		}
		tx.rollback(ctx)
		if err == nil {
			err = errChangedMeanwhile
		}
		return t, err
	}
	if err := tx.commit(ctx); err != nil {
		// A statement held for the COMMIT may have failed with it.
		t.noteRetry(err)
		return t, fmt.Errorf("sqlstore: commit: %w", err)
	}
	return t, confirmAlone(ctx, conn, tx.check)
}

// pgTx is a write's transaction. It begins with its first statement, in
// the same round trip: round trips cost a write more of the server's CPU
// than anything else it does. So does the confirmation of the caller, when
// it is pending.
type pgTx struct {
	conn  *pgxpool.Conn
	mode  pgWriteMode
	check *parley.CallerCheck
	// hold is the check of an app's caller, pending or not: each run of
	// the write holds the app's token, grant and app until it ends
	// (confirmAppTokenHeldPG), a run again after a deadlock too.
	hold  *parley.CallerCheck
	begun bool
	// later are statements whose answers nothing reads (txn.sendLater),
	// held to be sent with the next statement or the COMMIT.
	later []laterStatement
}

// laterStatement is a statement held by a pgTx, and what it does, for its
// error.
type laterStatement struct {
	what, query string
	args        []any
}

// errChangedMeanwhile is a write marked to run again (txn.retry) whose fn
// made nothing of the error that marked it; write runs it again.
var errChangedMeanwhile = errors.New("sqlstore: the write met a change another write made meanwhile, every time it ran")

// errSecondStatement is a pgAlone write's second statement, which it
// refuses: a WriteOne write is one statement.
var errSecondStatement = errors.New("sqlstore: a write of one statement ran a second")

// begin sends BEGIN and the transaction's settings, the confirmation of
// the caller (an app's, held for the transaction), and the statements
// held for the first (sendLater), with the transaction's first statement,
// and returns the results, at the statement's.
func (x *pgTx) begin(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	x.begun = true
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	if x.mode == pgLazy {
		b.Queue("SET LOCAL synchronous_commit = off")
	}
	if x.hold != nil {
		b.Queue(confirmAppTokenHeldPG, appTokenArgs(x.hold)...)
	} else {
		queueConfirmation(b, x.check)
	}
	for _, held := range x.later {
		b.Queue(held.query, held.args...)
	}
	x.later = nil
	b.Queue(query, args...)
	return sendQueued(ctx, x.conn, b, x.check)
}

// send sends a statement: the transaction's first with its BEGIN (begin),
// a later one with the statements held for it (sendLater). It returns the
// results at the statement's; a held statement's failure is its own.
func (x *pgTx) send(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	if !x.begun {
		return x.begin(ctx, query, args)
	}
	held := x.later
	x.later = nil
	b := &pgx.Batch{}
	for _, h := range held {
		b.Queue(h.query, h.args...)
	}
	b.Queue(query, args...)
	br := x.conn.SendBatch(ctx, b)
	for _, h := range held {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, fmt.Errorf("sqlstore: %s: %w", h.what, err)
		}
	}
	return br, nil
}

// sendLater holds a statement whose answer nothing reads, to be sent with
// the transaction's next statement (with its BEGIN, if the first) or its
// COMMIT, one round trip fewer.
func (x *pgTx) sendLater(ctx context.Context, what, query string, args []any) error {
	x.later = append(x.later, laterStatement{what: what, query: query, args: args})
	return nil
}

func (x *pgTx) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	if x.begun && len(x.later) == 0 {
		return x.conn.Exec(ctx, query, args...)
	}
	br, err := x.send(ctx, query, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return execAndClose(br)
}

func (x *pgTx) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if x.begun && len(x.later) == 0 {
		return x.conn.Query(ctx, query, args...)
	}
	br, err := x.send(ctx, query, args)
	if err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// commit commits what the transaction's statements did, the one held
// included, if any.
func (x *pgTx) commit(ctx context.Context) error {
	if !x.begun && len(x.later) == 0 {
		return nil
	}
	tag, err := x.Exec(ctx, "COMMIT")
	if err != nil {
		// A statement held for the COMMIT failed, and PostgreSQL skipped
		// the COMMIT sent after it: the transaction is still open.
		x.rollback(ctx)
	}
	if err == nil && tag.String() == "ROLLBACK" {
		// A statement failed, and fn went on as if it had not.
		return pgx.ErrTxCommitRollback
	}
	return err
}

// rollback ends a failed transaction. If even that fails, the connection
// is left in the transaction, and the pool closes it.
func (x *pgTx) rollback(ctx context.Context) {
	if x.begun {
		x.conn.Exec(ctx, "ROLLBACK")
	}
}

// batchRows are the rows of the last statement of a batch; closing them
// ends the batch, and gives back its connection if it was the rows' own.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
	// release, if set, gives the connection back to the pool.
	release func()
	// err is the end of the batch's.
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
		if r.release != nil {
			r.release()
		}
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// pgNext is the thread's update that numbers a post, holding the thread's
// row until the transaction ends. Two posts into one thread at once on
// PostgreSQL are numbered in the order they take the row, which may be
// the other of the order of their times, taken before: the thread's last
// activity never goes back, and a message's time is the later of its own
// and the thread's last activity, so that times rise with numbers, as
// they do on SQLite, whose writes run one at a time.
var pgNext = `last_seq = last_seq + 1, last_change = last_change + 1, last_activity_at = ` + laterActivity("$6")

// pgPost are the steps of a post of the message whose values are pgPostArgs'
// once the thread's row is updated, in a step named next that returns the
// thread's number and its new last_seq, last_change and last_activity_at
// (pgNext): the message is stored at that activity's time, with its
// idempotency key if it has one, and marks the thread read up to it for
// its sender: always when the sender wrote it themselves, and when an app
// wrote it for them ($7, the app's client_id, is set) only if their
// marker was at the message before (postMarked).
var pgPost = `
		posted AS (
			INSERT INTO messages (thread_no, seq, id, sender_no, kind, body, created_at,
				via_client_id, via_name, share_url, share_title, reply_to_seq, change_offset)
			SELECT no, last_seq, $2, (SELECT no FROM users WHERE id = $3), $4, $5, last_activity_at, $7, $8, $9, $10, $11, last_change - last_seq FROM next
			RETURNING thread_no, seq, sender_no, seq + change_offset AS change, created_at
		), keyed AS (
			INSERT INTO message_keys (sender_no, idempotency_key, thread_no, seq, request_hash)
			SELECT sender_no, $12, thread_no, seq, $13::bytea FROM posted WHERE $12::text IS NOT NULL
		), marker AS (
			UPDATE participants SET last_read_seq = posted.seq FROM posted
			WHERE thread_id = $1 AND user_id = $3 AND last_read_seq < posted.seq
				AND ($7::text IS NULL OR ` + unreadAfter + ` = posted.seq - 1)
		)`

// pgPostArgs are the values of pgPost's parameters: messageArgs' but the
// seq, which the statement takes, the idempotency key ($12) and the
// request kept with it ($13). The message's time is $6, or the thread's
// last activity when that is later (pgNext).
func (t *txn) pgPostArgs(m *parley.Message) ([]any, error) {
	args, err := t.messageArgs(m)
	if err != nil {
		return nil, err
	}
	return append(append(args[:1], args[2:]...), nullString(m.IdempotencyKey), m.RequestHash), nil
}

// postMessagePG is PostMessage in one statement: each statement costs a
// round trip to the server, and the three steps' round trips were most of
// a send's cost. The update of the thread's row holds it until the
// transaction ends, so that numbers are taken in the order their
// transactions commit; it numbers the message's change too.
func (t *txn) postMessagePG(ctx context.Context, m *parley.Message) error {
	args, err := t.pgPostArgs(m)
	if err != nil {
		return err
	}
	var at int64
	err = t.queryRow(ctx, "thread", `
		WITH next AS (
			UPDATE threads SET `+pgNext+`
			WHERE id = $1 RETURNING no, last_seq, last_change, last_activity_at
		), `+pgPost+`
		SELECT seq, change, created_at FROM posted`, args, &m.Seq, &m.Change, &at)
	if err != nil {
		return mapError("post message", err)
	}
	m.CreatedAt = fromMicros(at)
	return nil
}

// postParticipantMessagePG is PostParticipantMessage in one statement, the
// participants read in it: a send's write is then BEGIN with that
// statement, and COMMIT. Read before the thread's row lock is taken, the
// participants are those of the statement's start, as they were of the
// transaction's when a statement of their own read them first. A member
// who joins or leaves meanwhile counts the change in the thread's row
// (Thread.Version), which the post holds before it posts: if the count
// it then holds is not the one it read, it posts nothing and the write
// runs again, so that no one who left is told of the message, nor anyone
// who joined left untold.
//
// The sender's row of participants is locked before the thread's: a
// statement's snapshot alone would let a sender whose leaving (an
// account's deletion) commits meanwhile on another node post into the
// thread after it, past the deletion's tombstones. Leaving locks the row
// FOR UPDATE (LeaveThread), which the post's FOR KEY SHARE waits for; the
// row is then read again, and the post finds its sender gone. The lock is
// the weakest there is: posts of one member into one thread at once, and
// their read markers' updates, do not wait for one another's, so that the
// only lock that orders them is still the thread's, as it was before this
// one, and groups of posts in two orders on two nodes cannot deadlock
// (FOR SHARE, which each marker's update would have waited for, did, at
// every two posts of one member at once).
//
// A post run again because its thread changed holds the thread's row
// first, in a statement before this one (txn.holdThread): this one's
// snapshot, taken once the row is held, is then the thread as it stays
// until the post commits, and the post cannot lose to a group changed
// many times a second. The sender's row is then locked after the
// thread's, in the order leaving a group takes them.
func (t *txn) postParticipantMessagePG(ctx context.Context, m *parley.Message) ([]string, bool, error) {
	args, err := t.pgPostArgs(m)
	if err != nil {
		return nil, false, err
	}
	if t.holdThread {
		if _, err := t.exec(ctx, `SELECT 1 FROM threads WHERE id = $1 FOR NO KEY UPDATE`, m.ThreadID); err != nil {
			return nil, false, mapError("post message", err)
		}
	}
	var ids []string
	var seq, change, at int64
	var in, blocked bool
	err = t.queryRow(ctx, "thread", `
		WITH members AS (
			SELECT coalesce(array_agg(user_id), '{}') AS ids FROM participants WHERE thread_id = $1 AND left_at IS NULL
		), seen AS (
			SELECT version, blocked FROM threads WHERE id = $1
		), sender AS (
			SELECT 1 FROM participants WHERE thread_id = $1 AND user_id = $3 AND left_at IS NULL FOR KEY SHARE
		), next AS (
			UPDATE threads SET `+pgNext+`
			FROM sender WHERE id = $1 AND NOT blocked AND version = (SELECT version FROM seen)
			RETURNING no, last_seq, last_change, last_activity_at
		), `+pgPost+`
		SELECT members.ids, coalesce((SELECT seq FROM posted), 0), coalesce((SELECT change FROM posted), 0),
			coalesce((SELECT created_at FROM posted), 0), EXISTS (SELECT 1 FROM sender),
			coalesce((SELECT blocked FROM seen), FALSE)
		FROM members`, args, &ids, &seq, &change, &at, &in, &blocked)
	if err != nil {
		return nil, false, mapError("post message", err)
	}
	if !in {
		// members is read as the statement began; sender, once the
		// sender's row is held, after a write that held it first, such as
		// their leaving, has committed: they are not among the
		// participants any more.
		ids = slices.DeleteFunc(ids, func(id string) bool { return id == m.Sender.ID })
	}
	if seq == 0 && in && !blocked {
		// The thread's row, once held, was not as the statement began:
		// someone joined or left it meanwhile, or it was renamed or
		// blocked (Thread.Version), and members may not be who is in it
		// now. Run again, to read them anew.
		t.retry, t.threadChanged = true, true
		return nil, false, errChangedMeanwhile
	}
	if seq == 0 {
		return ids, false, nil
	}
	m.Seq, m.Change, m.CreatedAt = seq, change, fromMicros(at)
	return ids, true, nil
}

// noteRetry marks the transaction for another run when err is a deadlock or
// a serialization failure, and notes a unique violation.
func (t *txn) noteRetry(err error) {
	switch {
	case err == nil:
	case pgRetryable(err):
		t.retry = true
	case pgUniqueViolation(err):
		t.conflicted = true
	}
}

// pgRetryable reports whether err is PostgreSQL's serialization failure
// (40001) or deadlock (40P01): the transaction may succeed if run again.
func pgRetryable(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (e.Code == "40001" || e.Code == "40P01")
}

// pgDiskFull reports whether err is PostgreSQL's disk_full (53100): the
// database server's disk had no room.
func pgDiskFull(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && e.Code == "53100"
}

// pgUniqueViolation reports whether err is PostgreSQL's unique violation
// (23505), of a primary key or any unique index.
func pgUniqueViolation(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && e.Code == "23505"
}
