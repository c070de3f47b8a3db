package sqlstore

// What the store tells an operator about itself: whether its disk is full
// or its PostgreSQL server out of reach,
// whether it takes writes and has this binary's schema (for /readyz), and
// its sizes and queue (for /metrics).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parleyhq/parley"
)

// storageFull reports whether err says the disk had no room: SQLite's
// SQLITE_FULL, PostgreSQL's disk_full, or a write to a file of the store's
// (the journal of reads) refused with ENOSPC or EDQUOT.
func storageFull(err error) bool {
	return err != nil && (sqliteFull(err) || pgDiskFull(err) ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT))
}

// condition is a state of the store that calls run into, such as a full
// disk: whether the last call found it, and how many calls it refused
// since the store opened.
type condition struct {
	// isOn mirrors on, so that a call that succeeds while the condition
	// is off takes no lock.
	isOn     atomic.Bool
	mu       sync.Mutex
	on       bool
	refused  int64
	onChange func(on bool, cause error)
}

// noteWrite sees the outcome of a write: a write refused for a full disk
// marks the store full and returns parley.ErrStorageFull wrapping err; a
// write that succeeds marks it not full, once its disk has room again
// (roomToClear). It sees whether PostgreSQL could be reached as noteReach
// does. Any other error is returned as it is.
func (db *DB) noteWrite(err error) error {
	if err = db.noteReach(err); err != nil && !storageFull(err) {
		return err
	}
	full := err != nil
	if !full && db.fullness.isOn.Load() && !db.diskHasRoom() {
		return nil
	}
	db.fullness.set(full, err)
	if full {
		return fmt.Errorf("%w: %w", parley.ErrStorageFull, err)
	}
	return nil
}

// noteReach sees the outcome of a call on PostgreSQL: one that could not
// reach the database marks it unreachable and returns
// parley.ErrDatabaseUnreachable wrapping err; one that its caller ended
// says nothing of the database; any other outcome marks it reachable and
// is returned as it is.
func (db *DB) noteReach(err error) error {
	if db.pg == nil {
		return err
	}
	unreachable := pgUnreachable(err)
	if !unreachable && callerEnded(err) {
		return err
	}
	db.unreachable.set(unreachable, err)
	if unreachable {
		return fmt.Errorf("%w: %w", parley.ErrDatabaseUnreachable, err)
	}
	return err
}

// roomToClear is the space the embedded database's disk must have free
// before a write that succeeds clears the store's fullness. On a full disk
// a write may still succeed into room the database already has (a WAL
// begun again from its start, the file's free pages, a write that changes
// nothing), and the next one be refused: such a success says nothing of
// the disk, and taken for room it would tell the operator, and the
// metrics, that the disk cleared and filled again, write after write.
const roomToClear = 256 << 10

// diskHasRoom reports whether the embedded database's disk has
// roomToClear free; on PostgreSQL, whose disk is out of sight, or when the
// free space cannot be read, a write that succeeds is all there is to go
// by.
func (db *DB) diskHasRoom() bool {
	if db.path == "" {
		return true
	}
	free, err := DiskFree(filepath.Dir(db.path))
	return err != nil || free >= roomToClear
}

// DiskFree returns the bytes free to an unprivileged user on the file
// system that holds dir.
func DiskFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("sqlstore: free space of %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// noteRead sees the outcome of a read, which fails for a full disk only
// when the reads journaled before it could not be folded into the access
// log; a read that succeeds says nothing of the disk. It sees whether
// PostgreSQL could be reached as noteReach does.
func (db *DB) noteRead(err error) error {
	if storageFull(err) {
		return db.noteWrite(err)
	}
	return db.noteReach(err)
}

// set records whether the last call found the condition, and calls
// onChange, with the call's error, when that changes.
func (c *condition) set(on bool, cause error) {
	if !on && !c.isOn.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		c.refused++
	}
	if on == c.on {
		return
	}
	c.on = on
	c.isOn.Store(on)
	if c.onChange != nil {
		c.onChange(on, cause)
	}
}

func (c *condition) setOnChange(fn func(on bool, cause error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = fn
}

func (c *condition) state() (on bool, refused int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.on, c.refused
}

// OnStorageFull has fn called, once, when a write is first refused because
// the disk is full, and again, with false, when a write next succeeds: the
// store needs no restart once space is freed. Set it before the store is
// used.
func (db *DB) OnStorageFull(fn func(full bool)) {
	db.fullness.setOnChange(func(full bool, _ error) { fn(full) })
}

// StorageFull reports whether the last write was refused because the disk
// was full, and how many calls have been refused for it since the store
// opened.
func (db *DB) StorageFull() (full bool, refused int64) { return db.fullness.state() }

// OnDatabaseUnreachable has fn called, once, when a call first fails
// because PostgreSQL cannot be reached, with the call's error, and again,
// with false, when a call next reaches it: the pool connects again by
// itself. Set it before the store is used.
func (db *DB) OnDatabaseUnreachable(fn func(unreachable bool, cause error)) {
	db.unreachable.setOnChange(fn)
}

// DatabaseUnreachable reports whether the last call on PostgreSQL failed
// because the database could not be reached, and how many calls failed so
// since the store opened; false and 0 on the embedded database.
func (db *DB) DatabaseUnreachable() (unreachable bool, refused int64) { return db.unreachable.state() }

// CheckWritable writes to the database and reports why it cannot: the
// write is a row rewritten with its own values, cheap on both engines, and
// fails as any write would, on a full disk, a read-only file or a
// PostgreSQL server in recovery or read-only mode. It does not wait for
// the disk to sync.
func (db *DB) CheckWritable(ctx context.Context) error {
	return db.WriteLazily(ctx, func(tx parley.Tx) error {
		_, err := tx.(*txn).exec(ctx, `UPDATE access_version SET version = version WHERE id = 1`)
		return mapError("write probe", err)
	})
}

// DatabaseSchema returns the schema version recorded in the database,
// which differs from SchemaVersion once another parley has migrated it.
func (db *DB) DatabaseSchema(ctx context.Context) (version int64, err error) {
	err = db.Read(ctx, func(tx parley.Tx) error {
		return tx.(*txn).queryRow(ctx, "schema version", `SELECT MAX(version_id) FROM goose_db_version`, nil, &version)
	})
	return version, err
}

// Stats are figures about the store for an operator.
type Stats struct {
	// DatabaseBytes is the size of the database: SQLite's file, without
	// its write-ahead log; PostgreSQL's whole database.
	DatabaseBytes int64
	// WALBytes is the size of SQLite's write-ahead log; 0 on PostgreSQL,
	// whose log is the database server's own.
	WALBytes int64
	// WebhooksQueued is how many webhook deliveries wait to be sent, due,
	// being sent or waiting to be tried again.
	WebhooksQueued int64
	// OldestDueWebhook is when the delivery that has waited longest of
	// those due at the time given to Stats fell due; zero if none is due.
	OldestDueWebhook time.Time
}

// Stats reads the store's figures, with webhook deliveries due at now.
func (db *DB) Stats(ctx context.Context, now time.Time) (Stats, error) {
	var s Stats
	if db.pg == nil {
		for path, size := range map[string]*int64{db.path: &s.DatabaseBytes, db.path + "-wal": &s.WALBytes} {
			fi, err := os.Stat(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return s, fmt.Errorf("sqlstore: stats: %w", err)
			} else if err == nil {
				*size = fi.Size()
			}
		}
	}
	err := db.Read(ctx, func(tx parley.Tx) error {
		t := tx.(*txn)
		if db.pg != nil {
			if err := t.queryRow(ctx, "database size", `SELECT pg_database_size(current_database())`, nil, &s.DatabaseBytes); err != nil {
				return err
			}
		}
		var oldest sql.NullInt64
		if err := t.queryRow(ctx, "webhook queue", `SELECT COUNT(*), MIN(CASE WHEN next_attempt_at <= $1 THEN next_attempt_at END)
			FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL`, []any{micros(now)}, &s.WebhooksQueued, &oldest); err != nil {
			return err
		}
		if oldest.Valid {
			s.OldestDueWebhook = fromMicros(oldest.Int64)
		}
		return nil
	})
	if err != nil {
		return s, fmt.Errorf("sqlstore: stats: %w", err)
	}
	return s, nil
}
