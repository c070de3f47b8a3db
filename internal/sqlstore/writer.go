package sqlstore

// SQLite's writer: one connection and one goroutine commit every write.
//
// Writes go through one connection and one goroutine that commits everything
// queued in one transaction (group commit): a batch forms by itself while the
// previous commit waits for fsync, so durable acks cost little throughput.
// A batch first runs optimistically, as plain statements in one transaction.
// Should any write fail, the batch is rolled back and run again with each
// write in its own savepoint, so the failing write rolls back alone and its
// batch-mates still commit. Failures are rare on the hot path, and the two
// statements a savepoint costs per write are not.
//
// The records of reads wait in a journal (journal.go) that a batch folds
// into the access log first when a fold is due, and that a write folds in
// its own transaction before it reads or appends to the access log. A
// batch that only folds commits with synchronous=NORMAL: in WAL mode the
// commit is in the log file, safe from a crash of the server as the
// journal was, and the next synchronous=FULL commit fsyncs it with its own.
//
// When writes pause, the writer empties the WAL into the database file
// (restLog), so that a server at rest keeps a WAL of one page; under load
// SQLite's own checkpoints keep it at about walCheckpointPages (32 MiB),
// unless a long read, such as a backup's, holds them back.
//
// PostgreSQL has no writer: its writes are transactions of their own on a
// pool (postgres.go).

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// maxBatch caps how many writes share a commit. It is well above any
// realistic count of concurrent writers: a cap below the concurrency costs
// throughput.
const maxBatch = 512

// restAfter is how long writes must pause before the writer empties the
// WAL: some commits' time. Under load commits follow each other closer
// than that and SQLite's own checkpoints run; a quiet server's WAL holds
// no more than its last writes.
const restAfter = 20 * time.Millisecond

type writeReq struct {
	ctx context.Context
	fn  func(parley.Tx) error
	// check is the caller, pending confirmation: the writer
	// confirms it in the batch's transaction before fn runs, in each run
	// of the batch.
	check *parley.CallerCheck
	err   error
	done  chan struct{}
	// noSync writes need not wait for fsync; a batch syncs if any of its
	// writes do.
	noSync bool
}

func newDB(ctx context.Context, write, read *sql.DB, j *journal) (*DB, error) {
	conn, err := write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: writer connection: %w", err)
	}
	db := &DB{
		write:      write,
		writeConn:  conn,
		read:       read,
		writeStmts: stmtCache{prep: conn, m: map[string]*sql.Stmt{}},
		readStmts:  stmtCache{prep: read, m: map[string]*sql.Stmt{}},
		journal:    j,
		queue:      make(chan *writeReq, maxBatch),
		stop:       make(chan struct{}),
		stopped:    make(chan struct{}),
		synced:     true,
	}
	db.settleLog = db.foldJournal
	go db.writeLoop()
	if j.lastPending() > 0 {
		go db.foldJournal(context.Background()) // what a crash left
	}
	return db, nil
}

// noSyncWrite is the store's own write, of no caller's (the fold of the
// journal of reads), whose batch need not wait for fsync unless a
// batch-mate does.
func noSyncWrite(ctx context.Context, fn func(parley.Tx) error) *writeReq {
	return &writeReq{ctx: ctx, fn: fn, done: make(chan struct{}), noSync: true}
}

// newWrite is a write of fn for ctx's caller, whom the writer confirms
// first if pending, and always if an app (writeCheck); noSync as
// noSyncWrite's.
func newWrite(ctx context.Context, fn func(parley.Tx) error, noSync bool) *writeReq {
	return &writeReq{ctx: ctx, fn: fn, check: writeCheck(ctx), done: make(chan struct{}), noSync: noSync}
}

func (db *DB) queueWrite(ctx context.Context, req *writeReq) error {
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case db.queue <- req:
	case <-ctx.Done():
		db.closeMu.RUnlock()
		return ctx.Err()
	}
	db.closeMu.RUnlock()
	// Once queued, the write is waited for to the end: returning early
	// could report a failure for a write that then commits.
	<-req.done
	return req.err
}

func (db *DB) writeLoop() {
	defer close(db.stopped)
	batch := make([]*writeReq, 0, maxBatch)
	rest := time.NewTimer(restAfter)
	defer rest.Stop()
	for {
		select {
		case <-db.stop:
			db.failQueued()
			db.commit(nil) // folds what reads are pending
			return
		case <-rest.C:
			if !db.restLog() {
				rest.Reset(restAfter)
			}
			continue
		case req := <-db.queue:
			batch = append(batch[:0], req)
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case req := <-db.queue:
				batch = append(batch, req)
			default:
				break drain
			}
		}
		db.commit(batch)
		rest.Reset(restAfter)
	}
}

// restLog copies the WAL into the database file and truncates it to
// nothing (SQLite's TRUNCATE checkpoint, which syncs the database file
// first), then starts the next WAL, and reports whether it did. It does
// not wait for readers: while one still reads from the WAL, SQLite copies
// what it can and leaves the WAL be, and the writer tries again after
// another pause.
//
// SQLite syncs a new WAL's header before the first commit's frames: the
// first write after a pause, which is every send of members who chat at
// a human pace, would wait for two fsyncs, not one. The next WAL is
// started here instead, at rest, by a write of one page (SQLite's
// user_version, which Parley does not use, set to what it holds), unless a
// write came meanwhile: at rest the WAL holds that page, about 4 KiB. The
// write commits with synchronous=NORMAL, which syncs the header but not
// the page: nothing needs the page, and the next synced commit syncs it.
func (db *DB) restLog() bool {
	ctx := context.Background()
	if db.execWrite(ctx, "PRAGMA busy_timeout = 0") != nil {
		return false
	}
	defer db.execWrite(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
	s, err := db.writeStmts.get(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	if err != nil {
		return false
	}
	var busy, logged, copied int
	if s.QueryRowContext(ctx).Scan(&busy, &logged, &copied) != nil || busy != 0 {
		return false
	}
	if len(db.queue) == 0 {
		// Should it fail (another process writing), the next commit
		// starts the WAL, as it would have.
		_ = db.startLog(ctx)
	}
	return true
}

// startLog starts a new WAL with a write of one page: user_version set to
// what it holds.
func (db *DB) startLog(ctx context.Context) error {
	s, err := db.writeStmts.get(ctx, "PRAGMA user_version")
	if err != nil {
		return err
	}
	var v int32
	if err := s.QueryRowContext(ctx).Scan(&v); err != nil {
		return err
	}
	if err := db.setSync(ctx, false); err != nil {
		return err
	}
	return db.execWrite(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
}

// failQueued answers writes still queued at Close.
func (db *DB) failQueued() {
	for {
		select {
		case req := <-db.queue:
			req.err = ErrClosed
			close(req.done)
		default:
			return
		}
	}
}

// commit runs a batch of writes in one transaction, after the fold of the
// pending reads if one is due (or the batch is nil, at close):
// optimistically first, then, if any write failed, again with savepoints.
func (db *DB) commit(batch []*writeReq) {
	fold, upTo := db.foldWrite(batch == nil)
	if fold != nil {
		batch = append([]*writeReq{fold}, batch...)
	}
	if len(batch) > 0 {
		db.runBatch(batch)
	}
	db.foldedBy(fold, upTo)
	for _, req := range batch {
		close(req.done)
	}
}

func (db *DB) runBatch(batch []*writeReq) {
	ctx := context.Background() // the batch outlives any one request
	if err := db.setSync(ctx, slices.ContainsFunc(batch, func(r *writeReq) bool { return !r.noSync })); err != nil {
		failAll(batch, err)
		return
	}
	if db.run(ctx, batch, false) {
		return
	}
	db.run(ctx, batch, true)
}

// run executes the batch in a transaction and commits what succeeded. Without
// savepoints, a failed write spoils the transaction: run then rolls back and
// reports false so that the batch is run again with them.
func (db *DB) run(ctx context.Context, batch []*writeReq, savepoints bool) (done bool) {
	if err := db.execWrite(ctx, "BEGIN IMMEDIATE"); err != nil {
		failAll(batch, err)
		return true
	}
	// A cancelled request must not interrupt a statement: SQLite would roll
	// back the whole batch's transaction. Cancellation is honoured before a
	// write starts, above.
	t := &txn{stmts: &db.writeStmts, detached: true, journal: db.journal}
	ran := 0
	for _, req := range batch {
		if err := req.ctx.Err(); err != nil {
			req.err = err
			continue
		}
		if savepoints {
			var fatal error
			if req.err, fatal = db.runInSavepoint(ctx, req, t); fatal != nil {
				// The transaction's state is unknown: keep none of it.
				db.rollback(ctx)
				failAll(batch, fatal)
				return true
			}
		} else if req.err = confirmIn(ctx, t, req.check); isCheckFailure(req.err) {
			continue // the confirmation changed nothing: the batch goes on without this write
		} else if req.err == nil {
			req.err = runWrite(req.fn, t)
		}
		if req.err == nil {
			ran++
		} else if !savepoints {
			db.rollback(ctx)
			return false
		}
	}
	if ran == 0 {
		db.rollback(ctx)
		return true
	}
	if err := db.execWrite(ctx, "COMMIT"); err != nil {
		db.rollback(ctx)
		failAll(batch, err)
	}
	return true
}

// setSync makes the writer's commits wait for fsync, or not. A commit that
// does also makes durable every commit before it.
func (db *DB) setSync(ctx context.Context, synced bool) error {
	if synced == db.synced {
		return nil
	}
	level := "NORMAL"
	if synced {
		level = "FULL"
	}
	if err := db.execWrite(ctx, "PRAGMA synchronous = "+level); err != nil {
		return err
	}
	db.synced = synced
	return nil
}

// rollback ends a failed transaction. If even that fails the connection is
// unusable, and the next BEGIN reports it.
func (db *DB) rollback(ctx context.Context) {
	db.execWrite(ctx, "ROLLBACK")
}

func (db *DB) execWrite(ctx context.Context, query string) error {
	s, err := db.writeStmts.get(ctx, query)
	if err == nil {
		_, err = s.ExecContext(ctx)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: %s: %w", query, err)
	}
	return nil
}

// runInSavepoint runs one write in a savepoint and returns its error. A
// failure of the savepoint commands themselves is fatal: the batch can no
// longer tell what it holds.
func (db *DB) runInSavepoint(ctx context.Context, req *writeReq, t *txn) (err, fatal error) {
	if fatal := db.execWrite(ctx, "SAVEPOINT w"); fatal != nil {
		return nil, fatal
	}
	if err = confirmIn(ctx, t, req.check); err == nil {
		err = runWrite(req.fn, t)
	}
	if err != nil {
		if fatal := db.execWrite(ctx, "ROLLBACK TO w"); fatal != nil {
			return err, fatal
		}
	}
	return err, db.execWrite(ctx, "RELEASE w")
}

func failAll(batch []*writeReq, err error) {
	for _, req := range batch {
		if req.err == nil {
			req.err = err
		}
	}
}
