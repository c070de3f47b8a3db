package sqlstore

import (
	"context"
	"errors"

	"github.com/parleyhq/parley"
)

// Pragmas reads the writer connection's journal mode and synchronous level.
func Pragmas(ctx context.Context, tx parley.Tx, journal *string, synchronous *int) error {
	t := tx.(*txn)
	if err := t.queryRow(ctx, "pragma", `PRAGMA journal_mode`, nil, journal); err != nil {
		return err
	}
	return t.queryRow(ctx, "pragma", `PRAGMA synchronous`, nil, synchronous)
}

// JournalReads appends records to the journal of reads of the database at
// path, closed, as a server that crashed before folding them leaves them.
func JournalReads(path string, records []parley.AccessRecord) error {
	j, err := openJournal(path, 0)
	if err != nil {
		return err
	}
	_, err = j.append(records)
	return errors.Join(err, j.close())
}

// SealSegmentsAt makes folds seal the journal's segment once it holds size bytes.
func SealSegmentsAt(db *DB, size int64) {
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	db.journal.sealAt = size
}

// Tables are the tables Digest reads and Copy copies, in its order.
var Tables = tables
