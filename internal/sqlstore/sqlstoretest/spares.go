package sqlstoretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// A test's copy of a template is not dropped when the test ends but put
// back as the template holds it, and the next test to ask for a copy takes
// it. On this machine kind PostgreSQL spends most of what a test server
// costs it in making and dropping databases (each CREATE DATABASE writes
// some 300 files, whose inodes ext4 then searches past) and in starting
// processes for connections, the first of which, in a new database, reads
// and caches its catalogs: the API's tests on PostgreSQL kept both cores
// busy, three quarters of it in PostgreSQL (2026-12-06).
//
// Putting a copy back deletes every row of every table and writes the
// template's rows and sequences' values back, in one transaction, with
// triggers and foreign keys' checks off (session_replication_role, which
// takes a superuser, as the tests' own server gives). What a test did to
// the schema itself cannot be put back that way: a copy whose schema no
// longer reads as the template's is dropped instead, as is one that
// cannot be put back for any other reason.

// contents is what a template holds, to put a copy of it back as it was.
type contents struct {
	schema string // a digest of the schema (schemaDigest)
	// empty deletes every row of every table and sets every sequence back;
	// rows are the COPY text of the tables that hold rows, by table.
	empty string
	rows  map[string][]byte
}

// schemaDigest is a digest of a database's schema outside PostgreSQL's own:
// its relations, columns, constraints, indexes, triggers, functions and
// types.
const schemaDigest = `
SELECT md5(coalesce(string_agg(d, E'\n' ORDER BY d), '')) FROM (
	SELECT format('relation %I.%I %s', n.nspname, c.relname, c.relkind) AS d
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION ALL
	SELECT format('column %s.%I %s %s %s', c.oid::regclass, a.attname,
		format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid))
	FROM pg_attribute a
	JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	WHERE a.attnum > 0 AND NOT a.attisdropped
		AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION ALL
	SELECT format('constraint %s %I %s', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid))
	FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
	WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION ALL
	SELECT format('index %s', pg_get_indexdef(c.oid))
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE c.relkind = 'i' AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION ALL
	SELECT format('trigger %s %s', pg_get_triggerdef(t.oid), t.tgenabled)
	FROM pg_trigger t WHERE NOT t.tgisinternal
	UNION ALL
	SELECT format('function %s %s', p.oid::regprocedure, md5(p.prosrc))
	FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
	WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
	UNION ALL
	SELECT format('type %s %s %s', t.oid::regtype, t.typtype,
		(SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
	FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
	WHERE t.typtype IN ('d', 'e') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
) s`

// emptying writes the statements that delete every row of every table and
// set every sequence back to its value.
const emptying = `
SELECT coalesce(string_agg(s, E'\n'), '') FROM (
	SELECT format('DELETE FROM %I.%I;', schemaname, tablename) AS s
	FROM pg_tables WHERE schemaname <> 'information_schema' AND schemaname NOT LIKE 'pg\_%'
	UNION ALL
	SELECT format('SELECT setval(%L, %s, %L);', format('%I.%I', schemaname, sequencename),
		coalesce(last_value, start_value), last_value IS NOT NULL)
	FROM pg_sequences WHERE schemaname <> 'information_schema' AND schemaname NOT LIKE 'pg\_%'
) statements`

// readContents reads what the database at url holds.
func readContents(ctx context.Context, url string) (*contents, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	c := &contents{rows: map[string][]byte{}}
	if err := conn.QueryRow(ctx, schemaDigest).Scan(&c.schema); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if err := conn.QueryRow(ctx, emptying).Scan(&c.empty); err != nil {
		return nil, fmt.Errorf("tables and sequences: %w", err)
	}
	tables, err := conn.Query(ctx, `SELECT format('%I.%I', schemaname, tablename)
		FROM pg_tables WHERE schemaname <> 'information_schema' AND schemaname NOT LIKE 'pg\_%'`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(tables, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, table := range names {
		var rows bytes.Buffer
		if _, err := conn.PgConn().CopyTo(ctx, &rows, `COPY `+table+` TO STDOUT`); err != nil {
			return nil, fmt.Errorf("rows of %s: %w", table, err)
		}
		if rows.Len() > 0 {
			c.rows[table] = rows.Bytes()
		}
	}
	return c, nil
}

// putBack makes the database name, at url, hold what c says again; no
// client may be connected to it after, as none is to a new copy. The
// clients a test left behind are disconnected.
func (c *contents) putBack(name, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := disconnect(ctx, name); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var schema string
	if err := conn.QueryRow(ctx, schemaDigest).Scan(&schema); err != nil {
		return err
	}
	if schema != c.schema {
		return errors.New("its schema is no longer the template's")
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica;\n"+c.empty); err != nil {
		return err
	}
	for table, rows := range c.rows {
		if _, err := conn.PgConn().CopyFrom(ctx, bytes.NewReader(rows), `COPY `+table+` FROM STDIN`); err != nil {
			return fmt.Errorf("rows of %s: %w", table, err)
		}
	}
	return tx.Commit(ctx)
}

// disconnect ends every client's connection to the database name and
// waits until they have ended.
func disconnect(ctx context.Context, name string) error {
	admin, err := adminDB()
	if err != nil {
		return err
	}
	for {
		// A client asked to end stays listed until it has.
		var connected bool
		err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) > 0
			FROM pg_stat_activity WHERE datname = $1`, name).Scan(&connected)
		if err != nil || !connected {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clients still connected to %s: %w", name, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// spareName returns the name of a spare copy of template and takes it, or
// "" when there is none.
func spareName(template string) string {
	templates.Lock()
	defer templates.Unlock()
	t := templateNamed(template)
	if t == nil || len(t.spares) == 0 {
		return ""
	}
	name := t.spares[len(t.spares)-1]
	t.spares = t.spares[:len(t.spares)-1]
	return name
}

// release puts the copy name of template, at url, back for the next test,
// or drops it when it cannot be put back.
func release(template, name, url string) error {
	templates.Lock()
	t := templateNamed(template)
	templates.Unlock()
	if t == nil || t.contents.putBack(name, url) != nil {
		return dropPostgresDatabase(name)
	}
	templates.Lock()
	defer templates.Unlock()
	t.spares = append(t.spares, name)
	return nil
}
