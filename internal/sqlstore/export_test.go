package sqlstore

import (
	"context"

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
