package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/parleyhq/parley"
)

// tables are the tables that hold the store's data, every one, in each
// engine, each after the tables it refers to, so that Copy can fill them in
// this order. access_version comes last: triggers move it as rows of other
// tables are written, and the copy must end with the source's value.
// TestTables_Complete holds the list to the schema. rate_limits is left
// out: it holds what each app and member used of their rate limits in the
// last moments, not data, and a copy starts every allowance whole; so is
// access_keys, the keys of the accesses logged in the last minutes, which
// only the streams of the install copied, stopped by then, logged; and
// event_outbox, events of the last minutes for realtime streams that a
// copy's servers, started afresh, have none of.
// report_sends is copied: without it, the server on the copy would send
// every app the last fortnight's share report again.
var tables = []string{
	"users", "sessions", "event_tickets", "friendships", "blocks", "throttles", "server_keys",
	"apps", "report_sends", "operator_actions", "threads", "participants", "messages", "reactions", "flags", "message_keys", "thread_keys", "thread_app_closures",
	"grants", "grant_threads", "grant_threads_taken_out", "thread_notices", "timeline_notes", "auth_requests", "oauth_tokens", "share_links", "client_tokens",
	"access_log", "access_log_heads",
	"webhook_endpoints", "webhook_subscriptions", "webhook_deliveries", "webhook_attempts",
	"access_version",
}

// seeded is the table whose one row the migrations write: a new database
// already holds it, and Copy replaces it.
const seeded = "access_version"

// copyParams bounds the parameters of one INSERT of a copy. SQLite's cost of
// binding grows faster than the count of parameters, so statements stay
// modest and many.
const copyParams = 500

// Copy copies every row of every table of from, an embedded database, into
// to as stored: IDs, times, hashes and access-log entries verbatim, so that
// every chain still verifies and every token, session and key still works.
// to must be empty, as a database just opened for the first time is:
// otherwise Copy fails with ECONFLICT naming a table that holds rows, and
// writes nothing. The copy is one transaction on to, so that a copy that
// fails leaves to empty; and it reads from in one transaction, so that it
// is of from as it was at one moment: a change written to from meanwhile,
// as by a command, is in it whole or not at all.
//
// What an engine keeps only for itself is not copied: the migrations'
// version table, and SQLite's mark of its journal of reads. The reads that
// journal holds are folded into from's access log first. Members' and
// threads' numbers (users.no, threads.no), which messages name them by,
// are copied as they are; on PostgreSQL, whose identity columns give
// them, the identities are then set past the highest copied.
//
// progress, unless nil, is called as the copy goes on, with the table
// being copied, and the rows of all tables copied so far and in all.
func Copy(ctx context.Context, from, to *DB, progress func(table string, done, total int64)) error {
	if progress == nil {
		progress = func(string, int64, int64) {}
	}
	if err := from.Read(ctx, func(tx parley.Tx) error { return tx.(*txn).settle(ctx, nil) }); err != nil {
		return err
	}
	return from.snapshot(ctx, func(src *txn) error {
		counts := make(map[string]int64, len(tables))
		var total int64
		for _, table := range tables {
			var n int64
			if err := src.queryRow(ctx, table, `SELECT COUNT(*) FROM `+table, nil, &n); err != nil {
				return mapError("count "+table, err)
			}
			counts[table] = n
			total += n
		}
		return to.writeLong(ctx, func(tx parley.Tx) error {
			t := tx.(*txn)
			if err := mustBeEmpty(ctx, t); err != nil {
				return err
			}
			var done int64
			for _, table := range tables {
				progress(table, done, total)
				if table == seeded {
					if _, err := t.exec(ctx, `DELETE FROM `+table); err != nil {
						return mapError("copy "+table, err)
					}
				}
				n, err := copyTable(ctx, src, t, table, func(n int64) { progress(table, done+n, total) })
				if err != nil {
					return err
				}
				done += n
			}
			if err := t.resetNumbers(ctx); err != nil {
				return err
			}
			progress("", done, total)
			return nil
		})
	})
}

// snapshot runs fn on one read transaction of an embedded database: its
// queries see the database as it was at the first of them, whatever is
// written meanwhile.
func (db *DB) snapshot(ctx context.Context, fn func(*txn) error) error {
	if db.pg != nil {
		return errors.New("sqlstore: copy only from an embedded database")
	}
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapError("begin a snapshot", err)
	}
	defer tx.Rollback()
	stmts := &stmtCache{prep: tx, m: map[string]*sql.Stmt{}}
	defer stmts.close()
	return fn(&txn{stmts: stmts, queries: &db.queries})
}

// resetNumbers sets, on PostgreSQL, the identities that number members
// and threads past the highest number of a row: after a copy, which sets
// the numbers itself, the next member or thread takes the one after.
func (t *txn) resetNumbers(ctx context.Context) error {
	if t.pg == nil {
		return nil
	}
	for _, table := range []string{"users", "threads"} {
		if _, err := t.exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'no'), COALESCE(MAX(no), 0) + 1, false) FROM `+table); err != nil {
			return mapError("number "+table, err)
		}
	}
	return nil
}

// mustBeEmpty fails with ECONFLICT when a table but the seeded one holds a row.
func mustBeEmpty(ctx context.Context, t *txn) error {
	for _, table := range tables {
		if table == seeded {
			continue
		}
		rows, err := t.query(ctx, `SELECT 1 FROM `+table+` LIMIT 1`)
		if err != nil {
			return mapError("look into "+table, err)
		}
		found := rows.Next()
		if err := rows.Close(); err != nil {
			return mapError("look into "+table, err)
		}
		if found {
			return parley.Errorf(parley.ECONFLICT, "the target database is not empty: table %s holds rows; copy only into a new database", table)
		}
	}
	return nil
}

// copyTable copies a table's rows from the source into the transaction, a
// batch of rows per INSERT, calling copied with the count so far after
// each, and returns how many it copied.
func copyTable(ctx context.Context, from, to *txn, table string, copied func(int64)) (int64, error) {
	types, err := columnTypes(ctx, to, table)
	if err != nil {
		return 0, err
	}
	var n int64
	rows, err := from.query(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, mapError("copy "+table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, mapError("copy "+table, err)
	}
	for _, c := range cols {
		if _, ok := types[c]; !ok {
			return 0, fmt.Errorf("sqlstore: copy %s: the target has no column %s", table, c)
		}
	}
	// PostgreSQL takes a message's ID as text, which SQLite stores as bytes.
	textID := -1
	if to.pg != nil {
		textID = slices.Index(cols, messageIDColumns[table])
	}
	perInsert := max(1, copyParams/len(cols))
	batch := make([]any, 0, perInsert*len(cols))
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		rowCount := len(batch) / len(cols)
		if _, err := to.exec(ctx, insertRows(table, cols, rowCount), batch...); err != nil {
			return mapError("copy "+table, err)
		}
		n += int64(rowCount)
		batch = batch[:0]
		copied(n)
		return nil
	}
	values, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range values {
		ptrs[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, mapError("copy "+table, err)
		}
		for i, v := range values {
			if i == textID {
				v = messageIDText(v)
			}
			batch = append(batch, convertValue(v, types[cols[i]]))
		}
		if len(batch) == cap(batch) {
			// Cancelling stops the copy between statements, and its
			// transaction rolls back.
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, mapError("copy "+table, err)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return n, nil
}

// columnTypes returns the engine's type of each of a table's columns, by name.
func columnTypes(ctx context.Context, t *txn, table string) (map[string]string, error) {
	rows, err := t.query(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return nil, mapError("columns of "+table, err)
	}
	defer rows.Close()
	r, ok := rows.(*sql.Rows)
	if !ok {
		return rows.(*pgRows).typeNames(), rows.Close()
	}
	cts, err := r.ColumnTypes()
	if err != nil {
		return nil, mapError("columns of "+table, err)
	}
	types := make(map[string]string, len(cts))
	for _, ct := range cts {
		types[ct.Name()] = strings.ToUpper(ct.DatabaseTypeName())
	}
	return types, rows.Close()
}

// convertValue makes a value read from one engine one the other takes for
// a column of type typ: SQLite keeps a BOOLEAN as an integer, which
// PostgreSQL's BOOL does not take, and a BYTEA takes no string.
func convertValue(v any, typ string) any {
	switch x := v.(type) {
	case int64:
		if typ == "BOOL" {
			return x != 0
		}
	case string:
		if typ == "BYTEA" {
			return []byte(x)
		}
	}
	return v
}

// insertRows is an INSERT of n rows of the columns into the table.
func insertRows(table string, cols []string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + placeholders(r*len(cols)+1, len(cols)) + ")")
	}
	return b.String()
}

// MessageCounts returns how many messages each thread holds, deleted ones
// included, threads without any with 0.
func MessageCounts(ctx context.Context, db *DB) (map[string]int64, error) {
	counts := map[string]int64{}
	err := db.Read(ctx, func(tx parley.Tx) error {
		rows, err := tx.(*txn).query(ctx, `
			SELECT t.id, COUNT(m.seq) FROM threads t LEFT JOIN messages m ON m.thread_no = t.no GROUP BY t.id`)
		if err != nil {
			return mapError("count messages", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				return mapError("count messages", err)
			}
			counts[id] = n
		}
		return mapError("count messages", rows.Close())
	})
	return counts, err
}

// IsPostgresURL reports whether s names a PostgreSQL database, as a
// postgres:// or postgresql:// URL, rather than an SQLite file.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// HoldsNothing reports whether the database at where, a postgres:// URL or
// else the path of an SQLite file, at whatever schema, holds no row but
// those its migrations write: a schema begun by a copy stopped before its
// data came, which no server or command has used.
func HoldsNothing(ctx context.Context, where string) (bool, error) {
	list := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	var db *sql.DB
	if IsPostgresURL(where) {
		list = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
		// Parsed as a server's pool parses it: the URL's pool_ settings
		// are the pool's, which PostgreSQL refuses as the connection's.
		cfg, err := poolConfig(where)
		if err != nil {
			return false, fmt.Errorf("sqlstore: %w", err)
		}
		db = stdlib.OpenDB(*cfg.ConnConfig)
	} else {
		var err error
		if db, err = sql.Open("sqlite", fileURI(where, "mode=ro")); err != nil {
			return false, fmt.Errorf("sqlstore: %w", err)
		}
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, list)
	if err != nil {
		return false, fmt.Errorf("sqlstore: list tables: %w", err)
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return false, fmt.Errorf("sqlstore: list tables: %w", err)
		}
		names = append(names, name)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return false, fmt.Errorf("sqlstore: list tables: %w", err)
	}
	for _, name := range names {
		switch name {
		case "goose_db_version", seeded, "access_journal": // written by the migrations
			continue
		}
		var found bool
		if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM "`+name+`")`).Scan(&found); err != nil {
			return false, fmt.Errorf("sqlstore: look into %s: %w", name, err)
		}
		if found {
			return false, nil
		}
	}
	return true, nil
}
