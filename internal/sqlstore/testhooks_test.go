package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// TestTables_Complete: Digest reads and Copy copies every table of the schema but the
// migrations' own and access_journal, SQLite's mark of the journal of reads
// folded, which is how this engine keeps the access log, not data; and
// rate_limits, the moment's use of rate limits, access_keys, the keys of
// the last minutes' logged accesses, and event_outbox, the last minutes'
// events for realtime streams, not data either.
func TestTables_Complete(t *testing.T) {
	t.Parallel()
	_, path := mustOpen(t)
	schema := queryFile(t, path, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('goose_db_version', 'access_journal', 'rate_limits', 'access_keys', 'event_outbox') ORDER BY name`)
	if got := slices.Sorted(slices.Values(sqlstore.Tables)); !slices.Equal(got, schema) {
		t.Errorf("Digest reads %v, the schema has %v", got, schema)
	}
}

// TestDigest_ChangesWithAnyRow: the digest stays while nothing changes and
// moves with a row written.
func TestDigest_ChangesWithAnyRow(t *testing.T) {
	t.Parallel()
	db, _ := mustOpen(t)
	ctx := context.Background()
	before, err := sqlstore.Digest(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := sqlstore.Digest(ctx, db); err != nil || again != before {
		t.Fatalf("a second digest of the same rows differs (%v)", err)
	}
	if err := db.Write(ctx, func(tx parley.Tx) error {
		return tx.PutThrottle(ctx, &parley.Throttle{Key: "k", Failures: 1, LastFailure: parley.Now()})
	}); err != nil {
		t.Fatal(err)
	}
	if after, err := sqlstore.Digest(ctx, db); err != nil || after == before {
		t.Errorf("the digest did not move with a new row (%v)", err)
	}
}
