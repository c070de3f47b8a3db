package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/pressly/goose/v3"
)

// Test hooks: what tests of other packages need to do to the store behind
// Parley's back, as someone with the database could, without writing SQL
// of their own. Their SQL is what every engine accepts, so the same tests
// run on each. Nothing but tests calls them.

// JournalReads appends records to the journal of reads of the embedded
// database at path, closed, as a server that crashed before folding them
// leaves them.
func JournalReads(path string, records []parley.AccessRecord) error {
	j, err := openJournal(path, 0)
	if err != nil {
		return err
	}
	_, err = j.append(records)
	return errors.Join(err, j.close())
}

// TamperAccessEntry rewrites a member's access-log entry: edit changes the
// entry as stored, and every field but the member and seq is written back
// as edit left it, hashes included. The log's head does not move.
// ENOTFOUND when there is no such entry.
func TamperAccessEntry(ctx context.Context, db *DB, userID string, seq int64, edit func(*parley.AccessEntry)) error {
	return db.Write(ctx, func(tx parley.Tx) error {
		found, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: userID, From: seq - 1, Ascending: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(found) == 0 || found[0].Seq != seq {
			return parley.Errorf(parley.ENOTFOUND, "access entry %d not found", seq)
		}
		e := found[0]
		edit(e)
		e.UserID, e.Seq = userID, seq
		if err := deleteAccessEntry(ctx, tx.(*txn), userID, seq); err != nil {
			return err
		}
		return forgeAccessEntry(ctx, tx.(*txn), e)
	})
}

// ForgeAccessEntry inserts e into its member's log as it stands, without
// chaining it or moving the log's head; ECONFLICT when its seq is taken.
func ForgeAccessEntry(ctx context.Context, db *DB, e *parley.AccessEntry) error {
	return db.Write(ctx, func(tx parley.Tx) error { return forgeAccessEntry(ctx, tx.(*txn), e) })
}

// DeleteAccessEntry removes a member's access-log entry without moving the
// log's head; ENOTFOUND when there is no such entry.
func DeleteAccessEntry(ctx context.Context, db *DB, userID string, seq int64) error {
	return db.Write(ctx, func(tx parley.Tx) error { return deleteAccessEntry(ctx, tx.(*txn), userID, seq) })
}

func forgeAccessEntry(ctx context.Context, t *txn, e *parley.AccessEntry) error {
	row, err := accessEntryRow(e)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO access_log (`+accessEntryColumns+`) VALUES (`+placeholders(1, accessEntryWidth)+`)`, row...)
	return mapError("forge access entry", err)
}

func deleteAccessEntry(ctx context.Context, t *txn, userID string, seq int64) error {
	res, err := t.exec(ctx, `DELETE FROM access_log WHERE user_id = $1 AND seq = $2`, userID, seq)
	if err != nil {
		return mapError("delete access entry", err)
	}
	return mustAffect(res, "access entry")
}

// Digest returns a hash of every row of every table of the store: equal
// digests before and after something mean it changed nothing, and equal
// digests of two stores, on either engine, mean they hold the same rows.
// Rows are hashed by column name, whatever order the engine keeps columns
// in, a boolean as SQLite keeps it, 0 or 1, and a message's ID as its
// text, as PostgreSQL keeps it.
func Digest(ctx context.Context, db *DB) ([32]byte, error) {
	h := sha256.New()
	err := db.Read(ctx, func(tx parley.Tx) error {
		t := tx.(*txn)
		for _, table := range tables {
			rows, err := t.query(ctx, `SELECT * FROM `+table)
			if err != nil {
				return mapError("digest "+table, err)
			}
			cols, err := rows.Columns()
			if err != nil {
				rows.Close()
				return mapError("digest "+table, err)
			}
			values, ptrs := make([]any, len(cols)), make([]any, len(cols))
			for i := range values {
				ptrs[i] = &values[i]
			}
			// Rows come in whatever order the engine keeps them: sort them.
			var lines []string
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return mapError("digest "+table, err)
				}
				fields := make([]string, len(cols))
				for i, v := range values {
					if cols[i] == messageIDColumns[table] {
						v = messageIDText(v)
					}
					switch x := v.(type) {
					case bool:
						v = map[bool]int64{false: 0, true: 1}[x]
					case int32: // PostgreSQL's INTEGER
						v = int64(x)
					}
					fields[i] = fmt.Sprintf("%s=%#v", cols[i], v)
				}
				slices.Sort(fields)
				lines = append(lines, table+" "+strings.Join(fields, " "))
			}
			if err := rows.Close(); err != nil {
				return mapError("digest "+table, err)
			}
			slices.Sort(lines)
			for _, l := range lines {
				fmt.Fprintln(h, l)
			}
		}
		return nil
	})
	return [32]byte(h.Sum(nil)), err
}

// CreateAtSchema makes a new database as an older parley would have: its
// schema migrated only up to version. where is a postgres:// URL, or else
// the path of an SQLite file.
func CreateAtSchema(ctx context.Context, where string, version int64) error {
	return migrateTo(ctx, where, func(p *goose.Provider) error {
		_, err := p.UpTo(ctx, version)
		return err
	})
}

// UndoSchema takes a database back to an older parley's schema, version,
// as the Down sections of the later migrations undo them, leaving it as
// that parley would find it. where is as CreateAtSchema's.
func UndoSchema(ctx context.Context, where string, version int64) error {
	return migrateTo(ctx, where, func(p *goose.Provider) error {
		_, err := p.DownTo(ctx, version)
		return err
	})
}

// migrateTo runs migrate with the migrations of the database at where,
// CreateAtSchema's.
func migrateTo(ctx context.Context, where string, migrate func(*goose.Provider) error) error {
	driver, dialect, fsys, dir := "sqlite", goose.DialectSQLite3, sqliteMigrations, "migrations/sqlite"
	if IsPostgresURL(where) {
		driver, dialect, fsys, dir = "pgx", goose.DialectPostgres, postgresMigrations, "migrations/postgres"
	} else {
		where = fileURI(where, fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()))
	}
	db, err := sql.Open(driver, where)
	if err != nil {
		return err
	}
	defer db.Close()
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(dialect, db, sub)
	if err != nil {
		return err
	}
	return migrate(p)
}

// MarkUsed writes a row into a database made by CreateAtSchema, as an
// older server using it would have (a key of its provider's). where is as
// CreateAtSchema's.
func MarkUsed(ctx context.Context, where string) error {
	driver := "sqlite"
	if IsPostgresURL(where) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, where)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `INSERT INTO server_keys (name, value) VALUES ('oauth.token-sealing', $1)`, []byte("an older server's"))
	return err
}

// RecordSchema records in the database that its schema is at version, as a
// newer parley would after migrating it.
func RecordSchema(ctx context.Context, db *DB, version int64) error {
	return db.Write(ctx, func(tx parley.Tx) error {
		_, err := tx.(*txn).exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, version)
		return err
	})
}

// HoldInserts keeps writes from adding rows to table until release is
// called, as a long statement of another write would: on PostgreSQL by a
// lock on the table that reads pass (SHARE ROW EXCLUSIVE), on SQLite,
// whose writes take turns, by holding every write. The hold is taken when
// HoldInserts returns; release returns the holding write's error.
func HoldInserts(ctx context.Context, db *DB, table string) (release func() error, err error) {
	if !slices.Contains(tables, table) {
		return nil, fmt.Errorf("hold inserts: no table %q", table)
	}
	held, done := make(chan error, 1), make(chan struct{})
	result := make(chan error, 1)
	go func() {
		result <- db.Write(ctx, func(tx parley.Tx) error {
			if db.pg != nil {
				if _, err := tx.(*txn).exec(ctx, `LOCK TABLE `+table+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
					held <- err
					return err
				}
			}
			select { // a write run again is held again, and says so once
			case held <- nil:
			default:
			}
			<-done
			return nil
		})
	}()
	if err := <-held; err != nil {
		return nil, errors.Join(err, <-result)
	}
	return func() error { close(done); return <-result }, nil
}
