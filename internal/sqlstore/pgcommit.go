package sqlstore

// PostgreSQL's group commit: the writes of one server share transactions.
// See postgres.go for why, and for what keeps it correct across servers.

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/parleyhq/parley"
)

// pgMaxBatch caps how many writes share a transaction. Each runs in a
// subtransaction (a savepoint), and PostgreSQL tracks at most 64 of a
// transaction's subtransactions in shared memory: past that, every other
// session's snapshot has to look the rest up on disk.
const pgMaxBatch = 64

// pgWrite is a write waiting for the committer, and then its outcome.
type pgWrite struct {
	fn   func(parley.Tx) error
	err  error
	done chan struct{}
}

func (w *pgWrite) answer(err error) {
	w.err = err
	close(w.done)
}

// write queues fn for the committer and waits until its transaction has
// committed, or fn has failed.
func (p *postgres) write(ctx context.Context, fn func(parley.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &pgWrite{fn: fn, done: make(chan struct{})}
	p.closeMu.RLock()
	if p.closed {
		p.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case p.queue <- w:
	case <-ctx.Done():
		p.closeMu.RUnlock()
		return ctx.Err()
	}
	p.closeMu.RUnlock()
	// Once queued, the write is waited for to the end: returning early
	// could report a failure for a write that then commits.
	<-w.done
	return w.err
}

// commitLoop takes whatever writes are queued, up to pgMaxBatch, and
// commits them together, until the queue is closed.
func (p *postgres) commitLoop() {
	defer close(p.stopped)
	batch := make([]*pgWrite, 0, pgMaxBatch)
	for w := range p.queue {
		batch = append(batch[:0], w)
	drain:
		for len(batch) < pgMaxBatch {
			select {
			case w, ok := <-p.queue:
				if !ok {
					break drain
				}
				batch = append(batch, w)
			default:
				break drain
			}
		}
		p.commitBatch(batch)
	}
}

// commitBatch runs the writes one after the other in one transaction, each
// under a savepoint "w" of its own, and leaves their commit to endBatch,
// so that the next batch runs while this one's commit waits for the disk.
// That next batch cannot wait for this one in a deadlock: a commit waits
// for no lock. A write that fails is rolled back to its savepoint and
// answered at once; its batch-mates go on. One that met a deadlock, a
// serialization failure or a unique violation, or whose batch could not
// commit, runs again alone once the batch has ended, as a write of its own
// would have.
func (p *postgres) commitBatch(batch []*pgWrite) {
	ctx := context.Background()
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		for _, w := range batch {
			w.answer(fmt.Errorf("sqlstore: begin: %w", err))
		}
		return
	}
	x := &pgTx{conn: conn, pending: []string{"BEGIN", "SAVEPOINT w"}}
	var ran, again []*pgWrite
	// kept is whether the last write's changes are after the latest
	// savepoint, so that the next write needs one of its own. Savepoints
	// nest rather than being released: a rollback goes to the latest "w",
	// and one statement per write is spared.
	kept := false
	for _, w := range batch {
		if kept {
			x.pending = append(x.pending, "SAVEPOINT w")
			kept = false
		}
		before := x.sent
		t := &txn{pg: x, locked: " FOR UPDATE", detached: true}
		err := runWrite(w.fn, t)
		if err == nil && !x.failed(before) {
			ran = append(ran, w)
			kept = x.sent > before
			continue
		}
		if x.sent > before {
			// The savepoint stays, for the next write.
			if err := x.rollbackTo(ctx); err != nil {
				// The connection is lost.
				again = append(again, w)
				continue
			}
		}
		switch {
		case t.retry || pgRetryable(err) || t.conflicted:
			again = append(again, w)
		case err == nil:
			// A statement failed, and fn went on as if it had not.
			w.answer(fmt.Errorf("sqlstore: commit: %w", pgx.ErrTxCommitRollback))
		default:
			w.answer(err)
		}
	}
	p.ending.Go(func() { p.endBatch(x, ran, again) })
}

// endBatch commits the writes that ran in the batch's transaction x,
// answers them, and runs again, alone, those that must.
func (p *postgres) endBatch(x *pgTx, ran, again []*pgWrite) {
	ctx := context.Background()
	var err error
	if len(ran) > 0 {
		err = x.commit(ctx)
	} else {
		x.rollback(ctx)
	}
	x.conn.Release()
	if _, refused := errors.AsType[*pgconn.PgError](err); refused || errors.Is(err, pgx.ErrTxCommitRollback) {
		// The server refused the commit, so nothing of the batch is
		// kept: each write runs again on its own.
		again, ran, err = append(ran, again...), nil, nil
	}
	for _, w := range ran {
		if err != nil {
			// The connection failed during the commit, which may or may
			// not have happened: no write can be run again safely.
			w.answer(fmt.Errorf("sqlstore: commit: %w", err))
		} else {
			w.answer(nil)
		}
	}
	for _, w := range again {
		w.answer(p.writeAlone(ctx, w.fn, false))
	}
}

// rollbackTo undoes what the transaction did since its savepoint "w".
// While a statement's failure holds the transaction, the rollback goes at
// once, on its own: pgx cannot prepare a batch's new statements then, nor
// clean up after the failure. Otherwise it goes with the next statement.
func (x *pgTx) rollbackTo(ctx context.Context) error {
	const rollback = "ROLLBACK TO SAVEPOINT w"
	if x.conn.Conn().PgConn().TxStatus() != 'E' {
		x.pending = append(x.pending, rollback)
		return nil
	}
	x.sent++
	_, err := x.conn.Exec(ctx, rollback, pgx.QueryExecModeSimpleProtocol)
	return err
}

// closeCommitter commits what is queued and stops the committer; later
// writes fail with ErrClosed.
func (p *postgres) closeCommitter() {
	p.closeMu.Lock()
	if !p.closed {
		p.closed = true
		close(p.queue)
	}
	p.closeMu.Unlock()
	<-p.stopped
	p.ending.Wait()
}
