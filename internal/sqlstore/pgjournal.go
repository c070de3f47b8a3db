package sqlstore

// PostgreSQL's journal of reads (parley.Store.LogReads), the counterpart of
// SQLite's files (journal.go). Appending an app's read to the access log
// took three round trips, and held the heads of its members' logs locked
// from the first to the commit, so that one member's reads through an app,
// however many at once, were logged one after the other. A read is now a
// row of access_journal_lines, written in one round trip and on disk
// before the read's data goes out; a fold chains the
// rows' records into the log, many at once, each fold in the order of the
// rows' numbers (two reads of one moment may commit their rows out of that
// order, and be folded by two folds).
//
// Folds run foldDelay after a node journals a read, in the background
// (one that fails leaves its rows to the next); when a server starts, for
// what a crash left; and, so that whoever comes later finds the reads in
// the log, in order, first in every write that reads or appends to the log
// of some members, for the rows of those members and of the other members
// those rows go to (in the write's own transaction), and before every read
// of a member's log that finds rows of theirs waiting (in a write of its
// own). A row names the members its records go to, so a write waits only
// for folds and writes of the same members, as it waits for their heads.
// A fold deletes the rows it folds, and locks them first: a fold or write
// on any node that comes for the same rows waits until the first commits,
// and then finds them gone.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parleyhq/parley"
)

// journalFoldRows bounds the rows a background fold takes in one
// transaction: a long backlog is folded in several. A fold for some
// members (in a write, or before a read of their logs) takes all of
// theirs at once.
const journalFoldRows = 512

// logReads journals the records as one row, in one round trip: BEGIN, the
// row, and COMMIT; again, on a new connection, while PostgreSQL ends the
// session before the COMMIT
// (pglost.go). It confirms no caller: a request logs what it read after
// the Read that confirmed it (Store).
func (p *postgres) logReads(ctx context.Context, records []parley.AccessRecord) error {
	line, err := encodeRecords(records)
	if err != nil {
		return err
	}
	ctx, cancel := detachedWrite(ctx)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := p.journalLine(ctx, line, membersOf(records))
		if _, lost := errors.AsType[*lostError](err); !lost || attempt == pgAttempts || ctx.Err() != nil {
			if err == nil {
				p.scheduleFold()
			}
			return silenced(ctx, err)
		}
		p.pool.Reset()
	}
}

// journalLine writes a line of the journal of reads; its error is a
// lostError if PostgreSQL ran nothing of its COMMIT.
func (p *postgres) journalLine(ctx context.Context, line []byte, members []string) error {
	conn, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// The pool closes a connection that a failure left in the transaction.
	defer conn.Release()
	b := &pgx.Batch{}
	// Committed as every acknowledged change is, synchronous_commit on:
	// with it off the row is only in PostgreSQL's WAL buffers, in its
	// shared memory, until the WAL writer's next round, and a crash of
	// PostgreSQL itself (not only of its machine) loses the record of a
	// read whose data went out.
	b.Queue("BEGIN")
	b.Queue(`INSERT INTO access_journal_lines (line, user_ids) VALUES ($1, $2)`, line, members)
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	for i := range b.Len() {
		if _, err := br.Exec(); err != nil {
			br.Close()
			if i < b.Len()-1 && pgStoppedBefore(err) {
				return &lostError{err}
			}
			return fmt.Errorf("sqlstore: journal reads: %w", err)
		}
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("sqlstore: journal reads: %w", err)
	}
	return nil
}

// scheduleFold folds the journal in foldDelay, unless a fold is scheduled
// already. A background fold that fails leaves its rows for the next.
func (p *postgres) scheduleFold() {
	if p.foldScheduled.CompareAndSwap(false, true) {
		time.AfterFunc(foldDelay, func() {
			p.foldScheduled.Store(false)
			if !p.closing.Load() {
				p.foldJournal(context.Background())
			}
		})
	}
}

// foldJournal folds every row of the journal committed before it began,
// journalFoldRows rows a transaction, oldest first.
func (p *postgres) foldJournal(ctx context.Context) error {
	for {
		var folded int
		err := p.write(ctx, func(tx parley.Tx) (err error) {
			folded, err = tx.(*txn).foldJournalRows(ctx, journalFoldRows, nil)
			return err
		}, pgLazy, false)
		if err != nil || folded < journalFoldRows {
			return err
		}
	}
}

// settleJournal folds the journal before a read t makes of the members'
// logs (nil: of any), if it holds rows for them, in a write of its own: a
// read of the log finds every read journaled before it.
func (p *postgres) settleJournal(ctx context.Context, t *txn, members []string) error {
	var waiting bool
	err := t.queryRow(ctx, "journal", `
		SELECT EXISTS (SELECT 1 FROM access_journal_lines WHERE $1::text[] IS NULL OR user_ids && $1)`,
		[]any{members}, &waiting)
	if err != nil || !waiting {
		return mapError("find the journal of reads", err)
	}
	return p.write(ctx, func(tx parley.Tx) error { return tx.(*txn).settle(ctx, members) }, pgLazy, false)
}

// settleInside folds, in a write's transaction, the journal's rows for
// those of the members (nil: every member) whose rows it has not folded
// yet.
func (t *txn) settleInside(ctx context.Context, members []string) error {
	if t.pgSettled[""] {
		return nil
	}
	var fresh []string
	for _, m := range members {
		if !t.pgSettled[m] {
			fresh = append(fresh, m)
		}
	}
	if members != nil && fresh == nil {
		return nil
	}
	if _, err := t.foldJournalRows(ctx, 0, fresh); err != nil {
		return err
	}
	if members == nil {
		t.pgSettled[""] = true
	}
	for _, m := range fresh {
		t.pgSettled[m] = true
	}
	return nil
}

// foldJournalRows appends the records of rows of the journal, oldest
// first, to the access log in the transaction, and deletes the rows; it
// returns how many it folded. Without members it takes the oldest limit
// rows (0: all). With members it takes every row that goes to any of
// them, and then every row that goes to any other member those rows go
// to, and so on: a member's rows are chained in their order only if none
// is left behind while a later one is folded.
func (t *txn) foldJournalRows(ctx context.Context, limit int, members []string) (int, error) {
	taken, err := t.takeJournalRows(ctx, limit, members)
	covered := make(map[string]bool)
	for want := members; len(want) > 0 && err == nil; {
		for _, m := range want {
			covered[m] = true
		}
		want = nil
		for _, r := range taken {
			for _, m := range membersOf(r.records) {
				if !covered[m] && !slices.Contains(want, m) {
					want = append(want, m)
				}
			}
		}
		if len(want) > 0 {
			var more []journalLine
			more, err = t.takeJournalRows(ctx, 0, want)
			taken = append(taken, more...)
		}
	}
	if err != nil {
		return 0, err
	}
	slices.SortFunc(taken, func(a, b journalLine) int { return cmp.Compare(a.n, b.n) })
	var records []parley.AccessRecord
	for _, r := range taken {
		records = append(records, r.records...)
	}
	if len(records) == 0 {
		return len(taken), nil
	}
	return len(taken), t.appendAccess(ctx, records)
}

// takeJournalRows deletes, and returns as lines numbered by the rows, up
// to limit rows (0: all) of the journal that go to any of the members
// (nil: to anyone), oldest first, locking them first.
func (t *txn) takeJournalRows(ctx context.Context, limit int, members []string) ([]journalLine, error) {
	bound := ""
	if limit > 0 {
		bound = fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := t.query(ctx, `
		DELETE FROM access_journal_lines WHERE no IN (
			SELECT no FROM access_journal_lines WHERE $1::text[] IS NULL OR user_ids && $1
			ORDER BY no`+bound+` FOR UPDATE)
		RETURNING no, line`, members)
	if err != nil {
		return nil, mapError("take the journal of reads", err)
	}
	defer rows.Close()
	var taken []journalLine
	for rows.Next() {
		var n int64
		var line []byte
		if err := rows.Scan(&n, &line); err != nil {
			return nil, mapError("take the journal of reads", err)
		}
		records, err := decodeRecords(line)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: journal of reads, row %d: %w", n, err)
		}
		taken = append(taken, journalLine{n: n, records: records})
	}
	return taken, mapError("take the journal of reads", rows.Err())
}
