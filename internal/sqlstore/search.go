package sqlstore

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"

	"github.com/parleyhq/parley"
	"modernc.org/sqlite"
)

// Searching messages reads every message of the member's threads, compares
// each lowered with the text, and sorts what holds it. No index is kept
// for it: a full-text index (FTS5, or pg_trgm's) would take about as many
// bytes again as a message's text on disk, and some of every send's time,
// for a search a member makes now and then; a search costs time in the
// number of the member's messages instead. The statement ranges over the
// index on (thread_no, seq) of each of the member's threads. A deleted
// message keeps neither text nor card (DeleteMessage), so none is found.
//
// A search compares texts with their case folded (parley.FoldCase): each
// character in lower case, a letter with a second lower case as its first.
// SQLite's lower() knows ASCII letters only, so its statement calls
// sqliteFold, FoldCase registered with the driver; PostgreSQL's lower()
// lowers every letter under a UTF-8 LC_CTYPE, and translate() makes the
// second lower cases first ones (not upper(), which ICU lets make two
// letters of one: "SS" of "ß"). ICU's lower() makes two of one too, of
// U+0130 (İ, Turkish capital dotted I): an i and a combining dot, where
// FoldCase makes it i; so it is made i before lower() is asked.

// FoldsCase reports whether the database folds the case of every letter
// that has one, as search needs to find a text whatever its case: SQLite's
// statements do (sqliteFold); PostgreSQL's lower() does under a UTF-8
// LC_CTYPE, and knows only ASCII letters under LC_CTYPE C.
func (db *DB) FoldsCase(ctx context.Context) (bool, error) {
	if db.pg == nil {
		return true, nil
	}
	var folds bool
	err := db.pg.pool.QueryRow(ctx, `SELECT lower('ÉΣЖ') = 'éσж'`).Scan(&folds)
	return folds, err
}

// sqliteFold is the name of parley.FoldCase in SQLite's statements.
const sqliteFold = "parley_fold_case"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(sqliteFold, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case nil:
			return nil, nil
		case string:
			return parley.FoldCase(v), nil
		default:
			return nil, fmt.Errorf("%s: %T is not text", sqliteFold, v)
		}
	})
}

// searchWhere returns SearchMessages' condition with the engine's
// function that folds a text's case (fold, of which %s is the text) and
// the one that finds one text in another.
func searchWhere(fold, position string) string {
	folded := func(col string) string { return fmt.Sprintf(fold, col) }
	return `WHERE m.thread_no IN (SELECT th.no FROM participants p JOIN threads th ON th.id = p.thread_id
			WHERE p.user_id = $1 AND p.left_at IS NULL)
		AND (` + position + `(` + folded("m.body") + `, $2) > 0 OR ` + position + `(` + folded("m.share_title") + `, $2) > 0)
		AND (m.created_at, m.id) < ($3, $4)
		ORDER BY m.created_at DESC, m.id DESC LIMIT $5`
}

var (
	searchWhereSQLite   = searchWhere(sqliteFold+"(%s)", "instr")
	searchWherePostgres = searchWhere("translate(lower(replace(%s, 'İ', 'i')), '"+parley.OtherLowerCases+"', '"+parley.FirstLowerCases+"')", "strpos")
)

func (t *txn) SearchMessages(ctx context.Context, f parley.SearchFilter) ([]*parley.Message, error) {
	before, id := int64(math.MaxInt64), ""
	if f.Before != nil {
		before, id = micros(f.Before.CreatedAt), f.Before.ID
	}
	where := searchWhereSQLite
	if t.pg != nil {
		where = searchWherePostgres
	}
	return t.findMessages(ctx, "search messages", "", max(0, min(f.Limit, 1000)), where, f.MemberID, f.Text, before, t.messageID(id), max(0, f.Limit))
}
