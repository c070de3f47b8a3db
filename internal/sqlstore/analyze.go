package sqlstore

import (
	"context"
	"strings"
)

// Analyze has PostgreSQL gather the statistics of every table of the
// store's data, as autovacuum would some while after they were filled. A
// database filled at once, as Copy fills one, has none until then, and the
// planner takes each table for a nearly empty one: it then reads the whole
// of a member's access log below the cursor for each page of it. SQLite
// plans without statistics: on SQLite, Analyze does nothing.
func Analyze(ctx context.Context, db *DB) error {
	if db.pg == nil {
		return nil
	}
	_, err := db.pg.pool.Exec(ctx, `ANALYZE `+strings.Join(tables, ", "))
	return mapError("analyze", err)
}
