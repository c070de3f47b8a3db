package sqlstore

// PostgreSQL's design. Several servers may share one database, so what
// must not interleave takes row locks, in transactions at READ COMMITTED;
// within one server, writes are committed in groups (pgcommit.go).
//
//   - A thread's next message number is taken by UPDATE … RETURNING on the
//     thread's row, which holds the row until the message's transaction
//     ends: numbers stay dense per thread whichever server writes.
//   - A write's reads of rows it may then change (a thread, an
//     authorization request, a grant, expired grants, a throttle) lock
//     them (txn.locked), so that a read-modify-write on one server waits
//     for another's, and then reads what that one wrote.
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
// and all. The records of reads are appended to the access log in a
// transaction of their own that commits with synchronous_commit off: it is
// in the server's WAL at once, and on disk within a few hundred
// milliseconds.
//
// Group commit. Each statement is a round trip to the database server, and
// round trips, with commits, are most of what a write costs: the CPU of
// both processes on each side of the socket, and for a commit a WAL flush.
// So, as SQLite's writer does, one goroutine per server (the committer)
// takes every write queued while the last batch ran and runs them one after
// the other in one transaction, on one connection, each under a savepoint,
// and commits them together; their callers return once that commit has.
//
//   - Statements that need no answer of their own (BEGIN, SAVEPOINT)
//     go in the same round trip as the next statement that does
//     (pgTx), and a message is posted by one statement (postMessagePG). A
//     send in a batch is then two round trips, the thread's participants
//     and the post, beside its caller's session lookup on the pool; the
//     COMMIT is shared. Alone, it was four.
//   - A write that fails is rolled back to its savepoint and answered at
//     once; its batch-mates go on. One that met a deadlock, a serialization
//     failure or a unique violation runs again alone once the batch has
//     committed: a deadlock's other side may wait for a row an earlier
//     write of the batch holds, which only the commit lets go. If the
//     database refuses the commit, every write of the batch runs again
//     alone; if the connection breaks during it, they fail, since the
//     commit may have happened.
//   - One committer per server runs the writes' statements, so that the
//     batches of one server never wait for one another in a deadlock. Its
//     commit goes on apart (endBatch): the next batch runs while the last
//     one's COMMIT waits for the disk, and may wait for rows that one
//     holds, never the other way round, since a commit waits for no lock.
//   - A batch's row locks are held until it commits, so a write of
//     another server waits a batch, not a write; when two servers lock
//     rows in opposite orders, PostgreSQL finds the deadlock (after
//     deadlock_timeout, 1 s by default) and fails one side, which runs
//     again. A write waiting for a lock holds up its batch-mates, as a
//     statement of the floor's one-statement batch would.
//   - A batch holds at most pgMaxBatch writes: PostgreSQL tracks only 64
//     subtransactions of a transaction in shared memory.
//
// Measured with W1 on this 2-core machine, side by side with the floor's
// pg-group (one statement per group): see bench/README.md.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// pgConns bounds the pool's connections: a write holds one for its whole
// transaction, so it bounds concurrent writes too.
const pgConns = 32

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

	// queue holds the writes waiting for the committer (pgcommit.go).
	queue chan *pgWrite
	// closeMu makes queueing and closing exclusive, so that no write is
	// queued after the queue is closed.
	closeMu sync.RWMutex
	closed  bool
	stopped chan struct{}
	// ending are the batches being committed.
	ending sync.WaitGroup
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
	if _, pooled := t.pg.(*pgxpool.Pool); pooled {
		// The connection's buffer holds the columns until the end of the
		// rows gives the connection back to the pool.
		pr.fields = slices.Clone(r.FieldDescriptions())
	}
	if pr.more = r.Next(); !pr.more {
		if err := pr.Close(); err != nil {
			return nil, err
		}
	}
	return pr, nil
}

// pgExec runs a statement without rows on PostgreSQL.
func (t *txn) pgExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tag, err := t.pg.Exec(ctx, query, args...)
	t.noteRetry(err)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tag.RowsAffected()), nil
}

// OpenPostgres opens the PostgreSQL database at url (postgres://…; a
// search_path parameter selects the schema), applies pending migrations,
// under an advisory lock so that servers starting together migrate once,
// and refuses a database whose schema is newer than this binary.
//
// Any number of servers may open the same database.
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: database URL: %w", err)
	}
	cfg.MaxConns = pgConns
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: connect: %w", err)
	}
	// The migrations' library works on database/sql.
	db := stdlib.OpenDBFromPool(pool)
	err = migratePostgres(ctx, db)
	if err := errors.Join(err, db.Close()); err != nil {
		pool.Close()
		return nil, err
	}
	p := &postgres{pool: pool, queue: make(chan *pgWrite, pgMaxBatch), stopped: make(chan struct{})}
	go p.commitLoop()
	return &DB{pg: p}, nil
}

// migratePostgres migrates under an advisory lock named after the schema,
// so that schemas of one database migrate independently.
func migratePostgres(ctx context.Context, pool *sql.DB) error {
	var schema sql.NullString
	if err := pool.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("sqlstore: connect: %w", err)
	}
	if !schema.Valid {
		return errors.New("sqlstore: the search_path names no schema that exists")
	}
	h := fnv.New64a()
	h.Write([]byte("parley migrations " + schema.String))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return migrate(ctx, pool, goose.DialectPostgres, postgresMigrations, "migrations/postgres", goose.WithSessionLocker(locker))
}

func (p *postgres) close() error {
	p.closeCommitter()
	p.pool.Close()
	return nil
}

// read runs fn's queries on the pool, each on whichever connection is free.
func (p *postgres) read(ctx context.Context, fn func(parley.Tx) error) error {
	return fn(&txn{pg: p.pool})
}

// writeAlone runs fn in a transaction of its own on the pool, again while
// it meets deadlocks or serialization failures. Once it starts, the
// caller's cancellation no longer interrupts it: a commit cut short could
// not be told from one that failed. With lazy, the commit need not wait
// for the WAL to reach disk.
func (p *postgres) writeAlone(ctx context.Context, fn func(parley.Tx) error, lazy bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	for attempt := 1; ; attempt++ {
		var t *txn
		if t, err = p.try(ctx, fn, lazy); err == nil || attempt == pgAttempts ||
			!(t.retry || pgRetryable(err) || t.conflicted && attempt == 1) {
			return err
		}
		// Back off a little, at random, so that the transactions that
		// collided do not collide again.
		time.Sleep(time.Duration(rand.Int64N(int64(attempt) * int64(time.Millisecond))))
	}
}

// try runs fn in one transaction; the txn tells what its statements met.
func (p *postgres) try(ctx context.Context, fn func(parley.Tx) error, lazy bool) (*txn, error) {
	t := &txn{locked: " FOR UPDATE", detached: true}
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return t, fmt.Errorf("sqlstore: begin: %w", err)
	}
	// The pool closes a connection that a failure left in a transaction,
	// rather than take it back.
	defer conn.Release()
	tx := &pgTx{conn: conn, pending: []string{"BEGIN"}}
	if lazy {
		tx.pending = append(tx.pending, "SET LOCAL synchronous_commit = off")
	}
	t.pg = tx
	if err := runWrite(fn, t); err != nil {
		tx.rollback(ctx)
		return t, err
	}
	if err := tx.commit(ctx); err != nil {
		return t, fmt.Errorf("sqlstore: commit: %w", err)
	}
	return t, nil
}

// pgTx is a write's transaction on one connection. Statements that need no
// answer of their own (BEGIN, a setting, a savepoint) wait in pending and
// go in the same round trip as the next statement that does: round trips
// cost a write more of the server's CPU than anything else it does.
type pgTx struct {
	conn *pgxpool.Conn
	// pending are sent, in order, before the next statement.
	pending []string
	// sent counts the round trips made; begun is whether any was.
	sent  int
	begun bool
}

// send sends the pending statements and query in one round trip, and
// returns the results, at query's.
func (x *pgTx) send(ctx context.Context, query string, args []any) (pgx.BatchResults, error) {
	x.begun = true
	x.sent++
	b := &pgx.Batch{}
	for _, s := range x.pending {
		b.Queue(s)
	}
	x.pending = x.pending[:0]
	b.Queue(query, args...)
	br := x.conn.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, err
		}
	}
	return br, nil
}

func (x *pgTx) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	if len(x.pending) == 0 {
		x.sent++
		return x.conn.Exec(ctx, query, args...)
	}
	br, err := x.send(ctx, query, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	return tag, err
}

func (x *pgTx) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if len(x.pending) == 0 {
		x.sent++
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

// failed reports whether a statement failed since the last round trip
// before sent: the transaction then refuses every statement until it is
// rolled back (to a savepoint).
func (x *pgTx) failed(since int) bool {
	return x.sent > since && x.conn.Conn().PgConn().TxStatus() == 'E'
}

// commit commits what the transaction's statements did, if it has begun,
// with the statements still pending.
func (x *pgTx) commit(ctx context.Context) error {
	if !x.begun {
		return nil
	}
	tag, err := x.Exec(ctx, "COMMIT")
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
// ends the batch.
type batchRows struct {
	pgx.Rows
	br pgx.BatchResults
	// err is the end of the batch's.
	err error
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if r.br != nil {
		r.err = r.br.Close()
		r.br = nil
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// logReads appends the records to the access log in a transaction that
// commits without waiting for the disk.
func (p *postgres) logReads(ctx context.Context, records []parley.AccessRecord) error {
	return p.writeAlone(ctx, func(tx parley.Tx) error { return tx.AppendAccess(ctx, records) }, true)
}

// postMessagePG is PostMessage in one statement: each statement costs a
// round trip to the server, and the three steps' round trips were most of
// a send's cost. The row lock on the thread is taken and held as NextSeq's.
func (t *txn) postMessagePG(ctx context.Context, m *parley.Message) error {
	args := messageArgs(m)
	args = append(args[:1], args[2:]...) // all but the seq, which the statement takes
	err := t.queryRow(ctx, "thread", `
		WITH next AS (
			UPDATE threads SET last_seq = last_seq + 1, last_activity_at = $7 WHERE id = $1 RETURNING last_seq
		), posted AS (
			INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, idempotency_key, created_at,
				via_client_id, via_name, share_url, share_title)
			SELECT $1, last_seq, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM next
			RETURNING seq
		), marker AS (
			UPDATE participants SET last_read_seq = posted.seq FROM posted
			WHERE thread_id = $1 AND user_id = $3 AND last_read_seq < posted.seq
		)
		SELECT seq FROM posted`, args, &m.Seq)
	return mapError("post message", err)
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

// pgUniqueViolation reports whether err is PostgreSQL's unique violation
// (23505), of a primary key or any unique index.
func pgUniqueViolation(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && e.Code == "23505"
}
