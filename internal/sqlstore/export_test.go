package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/pressly/goose/v3"
)

// Pragmas reads the writer connection's journal mode and synchronous level.
func Pragmas(ctx context.Context, tx parley.Tx, journal *string, synchronous *int) error {
	t := tx.(*txn)
	if err := t.queryRow(ctx, "pragma", `PRAGMA journal_mode`, nil, journal); err != nil {
		return err
	}
	return t.queryRow(ctx, "pragma", `PRAGMA synchronous`, nil, synchronous)
}

// WALAutocheckpoint reads the writer connection's wal_autocheckpoint, and
// returns the one it is opened with.
func WALAutocheckpoint(ctx context.Context, tx parley.Tx) (got, want int, err error) {
	err = tx.(*txn).queryRow(ctx, "pragma", `PRAGMA wal_autocheckpoint`, nil, &got)
	return got, walCheckpointPages, err
}

// SealSegmentsAt makes folds seal the journal's segment once it holds size bytes.
func SealSegmentsAt(db *DB, size int64) {
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	db.journal.sealAt = size
}

// Tables are the tables Digest reads and Copy copies, in its order.
var Tables = tables

// MigrateTo applies the engine's ("sqlite" or "postgres") migrations to db
// up to version, as an older binary left the schema.
func MigrateTo(ctx context.Context, db *sql.DB, engine string, version int64) error {
	p, err := migrations(db, engine)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// MigrateDownTo undoes the engine's migrations of db down to version.
func MigrateDownTo(ctx context.Context, db *sql.DB, engine string, version int64) error {
	p, err := migrations(db, engine)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

func migrations(db *sql.DB, engine string) (*goose.Provider, error) {
	fsys, dir, dialect := fs.FS(sqliteMigrations), "migrations/sqlite", goose.DialectSQLite3
	if engine == "postgres" {
		fsys, dir, dialect = postgresMigrations, "migrations/postgres", goose.DialectPostgres
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db, sub)
}

// RaiseDiskFull fails tx's transaction with PostgreSQL's disk_full, as
// its server does when its disk has no room for a page.
func RaiseDiskFull(ctx context.Context, tx parley.Tx) error {
	_, err := tx.(*txn).exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`)
	return err
}

// MessageRowsRead runs, on PostgreSQL, the statement of FindMessages for f
// under EXPLAIN ANALYZE, planned without index scans, and returns how many
// rows of messages its plan read: the rows each scan of the table
// returned, over all its loops. A page is planned as a scan of the index
// on (thread_no, seq) in its order when the statistics say that the
// thread is large; without index scans it is planned as it is with
// statistics that say the thread is small, which PostgreSQL believes of a
// table it has not analyzed since it grew.
func MessageRowsRead(ctx context.Context, db *DB, f parley.MessageFilter) (int64, error) {
	where, args, _ := pageQuery(f)
	return rowsRead(ctx, db, messagePostgres.page+where, args)
}

// ReachedRowsRead is MessageRowsRead of FindReachedMessages' statement on
// PostgreSQL, for grant g.
func ReachedRowsRead(ctx context.Context, db *DB, g *parley.Grant, f parley.MessageFilter) (int64, error) {
	where, args, _ := pageQueryFrom(f, reachedFrom)
	query, args := reachedSQL(g, messagePostgres.columns+where, pgMessageColumns, args)
	return rowsRead(ctx, db, query, args)
}

// rowsRead is how many rows of messages the plan of query read, planned
// without index scans (MessageRowsRead).
func rowsRead(ctx context.Context, db *DB, query string, args []any) (int64, error) {
	tx, err := db.pg.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_indexscan = off`); err != nil {
		return 0, err
	}
	var plan []map[string]any
	err = tx.QueryRow(ctx, `EXPLAIN (ANALYZE, FORMAT JSON) `+query, args...).Scan(&plan)
	if err != nil {
		return 0, err
	} else if len(plan) == 0 {
		return 0, errors.New("EXPLAIN gave no plan")
	}
	var rowsRead func(node map[string]any) int64
	rowsRead = func(node map[string]any) int64 {
		var n int64
		if node["Relation Name"] == "messages" {
			rows, _ := node["Actual Rows"].(float64)
			loops, _ := node["Actual Loops"].(float64)
			n += int64(rows * loops)
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if child, ok := c.(map[string]any); ok {
				n += rowsRead(child)
			}
		}
		return n
	}
	root, _ := plan[0]["Plan"].(map[string]any)
	return rowsRead(root), nil
}

// AccessKeysKept returns how many Keys of access records the store keeps.
func AccessKeysKept(ctx context.Context, db *DB) (n int, err error) {
	err = db.Read(ctx, func(tx parley.Tx) error {
		return tx.(*txn).queryRow(ctx, "access keys", `SELECT count(*) FROM access_keys`, nil, &n)
	})
	return n, err
}

// AccessPageIndex returns what the plan of FindAccessEntries' statement for
// f reads the access log through: an index's name, or "primary key". On
// PostgreSQL it is the statement's generic plan, which a connection that
// prepared it may come to use for any arguments.
func AccessPageIndex(ctx context.Context, db *DB, f parley.AccessFilter) (string, error) {
	query, args := accessPageQuery(f, db.pg != nil)
	if db.pg == nil {
		uses := regexp.MustCompile(`USING (?:COVERING )?INDEX (\w+)|USING PRIMARY KEY`)
		var used string
		details, err := sqlitePlan(ctx, db, query, args)
		for _, detail := range details {
			if m := uses.FindStringSubmatch(detail); m != nil {
				used = cmp.Or(m[1], "primary key")
			}
		}
		return used, err
	}
	root, err := genericPlan(ctx, db, query, args)
	if err != nil {
		return "", err
	}
	var used func(node map[string]any) string
	used = func(node map[string]any) string {
		if node["Relation Name"] == "access_log" {
			switch name, _ := node["Index Name"].(string); name {
			case "":
				return "a sequential scan"
			case "access_log_pkey":
				return "primary key"
			default:
				return name
			}
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if child, ok := c.(map[string]any); ok {
				if u := used(child); u != "" {
					return u
				}
			}
		}
		return ""
	}
	return used(root), nil
}

// genericPlan returns the root node of PostgreSQL's generic plan of query,
// the one a connection that prepared it may come to use for any
// arguments, planned for args.
func genericPlan(ctx context.Context, db *DB, query string, args []any) (map[string]any, error) {
	literals := make([]string, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok {
			literals[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
		} else {
			literals[i] = fmt.Sprint(a)
		}
	}
	conn, err := db.pg.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	c := conn.Conn()
	for _, stmt := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE generic_plan AS ` + query} {
		if _, err := c.Exec(ctx, stmt); err != nil {
			return nil, err
		}
	}
	defer c.Exec(ctx, `DEALLOCATE generic_plan; RESET plan_cache_mode`)
	var plan []map[string]any
	if err := c.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE generic_plan(`+strings.Join(literals, ", ")+`)`).Scan(&plan); err != nil {
		return nil, err
	} else if len(plan) == 0 {
		return nil, errors.New("EXPLAIN gave no plan")
	}
	root, _ := plan[0]["Plan"].(map[string]any)
	return root, nil
}

// sqlitePlan returns the detail of each step of SQLite's plan of query.
func sqlitePlan(ctx context.Context, db *DB, query string, args []any) (details []string, err error) {
	err = db.Read(ctx, func(tx parley.Tx) error {
		details = nil
		rows, err := tx.(*txn).query(ctx, `EXPLAIN QUERY PLAN `+query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				return err
			}
			details = append(details, detail)
		}
		return rows.Err()
	})
	return details, err
}

// ReceivedRequestsPlan returns how FindReceivedFriendRequests' statement
// for f reads friendships: the index it reads them through ("" when it
// scans the table), and whether it sorts what it read rather than read it
// in the page's order. On PostgreSQL it is the statement's generic plan.
func ReceivedRequestsPlan(ctx context.Context, db *DB, f parley.FriendRequestFilter) (index string, sorts bool, err error) {
	args := receivedRequestsArgs(f)
	if db.pg == nil {
		uses := regexp.MustCompile(`^(?:SEARCH|SCAN) f USING (?:COVERING )?INDEX (\w+)`)
		details, err := sqlitePlan(ctx, db, receivedRequestsQuery, args)
		for _, detail := range details {
			if m := uses.FindStringSubmatch(detail); m != nil {
				index = m[1]
			}
			sorts = sorts || strings.Contains(detail, "TEMP B-TREE")
		}
		return index, sorts, err
	}
	root, err := genericPlan(ctx, db, receivedRequestsQuery, args)
	if err != nil {
		return "", false, err
	}
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		if node["Relation Name"] == "friendships" {
			index, _ = node["Index Name"].(string)
		}
		if t, _ := node["Node Type"].(string); strings.Contains(t, "Sort") {
			sorts = true
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if child, ok := c.(map[string]any); ok {
				walk(child)
			}
		}
	}
	walk(root)
	return index, sorts, nil
}

// UnfoldedReads counts the LogReads calls whose records wait in the
// journal of reads, not yet folded into the access log.
func UnfoldedReads(ctx context.Context, db *DB) (int, error) {
	if db.pg == nil {
		return len(db.journal.pendingLines()), nil
	}
	var n int
	err := db.pg.pool.QueryRow(ctx, `SELECT COUNT(*) FROM access_journal_lines`).Scan(&n)
	return n, err
}

// HoldFolds keeps a PostgreSQL store from folding its journal of reads in
// the background, once the fold it may have scheduled has run, until
// release is called; folds that reads and writes of the log make still
// run.
func HoldFolds(db *DB) (release func()) {
	for !db.pg.foldScheduled.CompareAndSwap(false, true) {
		time.Sleep(time.Millisecond)
	}
	return func() { db.pg.foldScheduled.Store(false) }
}

// PoolConfig is what db's pool of PostgreSQL connections may hold, and how
// long it keeps one unused.
func PoolConfig(db *DB) (conns int32, idle time.Duration) {
	cfg := db.pg.pool.Config()
	return cfg.MaxConns, cfg.MaxConnIdleTime
}

// LockWaiters counts the statements on db's PostgreSQL database that wait
// for a lock another transaction holds.
func LockWaiters(ctx context.Context, db *DB) (n int, err error) {
	err = db.Read(ctx, func(tx parley.Tx) error {
		return tx.(*txn).queryRow(ctx, "lock waiters", `
			SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`, nil, &n)
	})
	return n, err
}

// FlagKeepsMessage reports whether the flag whose ID is id still keeps
// anything of its message: its kind, text or share URL.
func FlagKeepsMessage(ctx context.Context, tx parley.Tx, id string) (bool, error) {
	var keeps bool
	err := tx.(*txn).queryRow(ctx, "flag", `SELECT kind IS NOT NULL OR body IS NOT NULL OR share_url IS NOT NULL FROM flags WHERE id = $1`, []any{id}, &keeps)
	return keeps, err
}

// WriteLong is writeLong, a write not bounded by pgCallTime.
func (db *DB) WriteLong(ctx context.Context, fn func(parley.Tx) error) error {
	return db.writeLong(ctx, fn)
}

// CallTime is how long a call on PostgreSQL may take (pgCallTime).
const CallTime = pgCallTime

// Sleep makes PostgreSQL take d over a statement of tx.
func Sleep(ctx context.Context, tx parley.Tx, d time.Duration) error {
	_, err := tx.(*txn).exec(ctx, `SELECT pg_sleep($1)`, d.Seconds())
	return err
}

// FriendPagePlan returns how FindFriendPage's statement for f reads
// friendships: the indexes it reads them through, in the plan's order,
// and how many sorts it makes. On PostgreSQL it is the statement's
// generic plan.
func FriendPagePlan(ctx context.Context, db *DB, f parley.FriendFilter) (indexes []string, sorts int, err error) {
	return pagePlan(ctx, db, friendPageQuery, friendPageArgs(f), "friendships", "friendships")
}

// BlockPagePlan returns how FindBlockPage's statement for f reads blocks:
// the indexes it reads them through, and how many sorts it makes.
func BlockPagePlan(ctx context.Context, db *DB, f parley.BlockFilter) (indexes []string, sorts int, err error) {
	return pagePlan(ctx, db, blockPageQuery, blockPageArgs(f), "blocks", "b")
}

// pagePlan returns the indexes through which query reads table (named
// alias in the statement) and the sorts its plan makes.
func pagePlan(ctx context.Context, db *DB, query string, args []any, table, alias string) (indexes []string, sorts int, err error) {
	if db.pg == nil {
		uses := regexp.MustCompile(`^(?:SEARCH|SCAN) (\w+) USING (?:COVERING )?INDEX (\w+)`)
		details, err := sqlitePlan(ctx, db, query, args)
		for _, detail := range details {
			if m := uses.FindStringSubmatch(detail); m != nil && m[1] == alias {
				indexes = append(indexes, m[2])
			}
			if strings.Contains(detail, "TEMP B-TREE") {
				sorts++
			}
		}
		return indexes, sorts, err
	}
	root, err := genericPlan(ctx, db, query, args)
	if err != nil {
		return nil, 0, err
	}
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		if node["Relation Name"] == table {
			if index, ok := node["Index Name"].(string); ok {
				indexes = append(indexes, index)
			}
		}
		if t, _ := node["Node Type"].(string); strings.Contains(t, "Sort") {
			sorts++
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if child, ok := c.(map[string]any); ok {
				walk(child)
			}
		}
	}
	walk(root)
	return indexes, sorts, nil
}
