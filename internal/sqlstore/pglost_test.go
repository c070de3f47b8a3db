package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// PostgreSQL ended the server's connections (a restart, a failover, an
// operator's pg_terminate_backend, a proxy's idle timeout): each kind of
// call that comes next runs on a new connection, and none fails for a
// connection lost before it began. Sends, alone and in groups, are stored
// once each.
func TestOpenPostgres_ConnectionsLostBetweenCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, admin, name := openEndable(t)
	endAll := func() {
		t.Helper()
		if ended := endConnections(t, admin, name); ended == 0 {
			t.Fatal("no connection to end")
		}
	}

	u, th := changesThread(t, db)
	bob := mustUsers(t, db, "bob")[0]
	send := func(ctx context.Context) error {
		return db.WriteOne(ctx, func(tx parley.Tx) error {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hi", CreatedAt: parley.Now()}
			_, posted, err := tx.PostParticipantMessage(ctx, m)
			if err == nil && !posted {
				err = errors.New("not posted")
			}
			return err
		})
	}
	sends := 0
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Read", func(ctx context.Context) error {
			return db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindThreadByID(ctx, th.ID); return err })
		}},
		{"Write", func(ctx context.Context) error {
			return db.Write(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, "renamed", parley.Now()) })
		}},
		{"WriteLazily", func(ctx context.Context) error {
			return db.WriteLazily(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, "again", parley.Now()) })
		}},
		{"WriteOne", func(ctx context.Context) error { sends++; return send(ctx) }},
		{"LogReads", func(ctx context.Context) error {
			return db.LogReads(ctx, []parley.AccessRecord{readRecord(u.ID, bob)})
		}},
		{"WriteOne, eight at once", func(ctx context.Context) error {
			sends += 8
			errs := make([]error, 8)
			var wg sync.WaitGroup
			for i := range errs {
				wg.Go(func() { errs[i] = send(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					return fmt.Errorf("send %d: %w", i, err)
				}
			}
			return nil
		}},
	}
	for round := range 2 {
		for _, c := range calls {
			endAll()
			if err := c.call(ctx); err != nil {
				t.Errorf("round %d: %s, after PostgreSQL ended the connections: %v", round, c.name, err)
			}
			// The next call finds a connection to end.
			if err := db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindThreadByID(ctx, th.ID); return err }); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Sends waiting on the thread, which another transaction holds, when
	// PostgreSQL ends their connection: one alone, then the others, queued
	// meanwhile, as a group.
	hold, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	// Let go of on any way out: the sends wait for it.
	defer hold.Rollback()
	if _, err := hold.Exec(`SELECT 1 FROM threads WHERE id = $1 FOR UPDATE`, th.ID); err != nil {
		t.Fatal(err)
	}
	// waiter is the backend of db's that waits for the thread, once it is
	// one other than ended's.
	waiter := func(ended int) int {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			var pids []int
			rows, err := admin.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, name)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var pid int
				if err := rows.Scan(&pid); err != nil {
					t.Fatal(err)
				}
				pids = append(pids, pid)
			}
			rows.Close()
			if len(pids) == 1 && pids[0] != ended {
				return pids[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("backends waiting for the thread: %v; want one, not %d", pids, ended)
			}
		}
	}
	errs := make([]error, 8)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = send(ctx) })
	ended := waiter(0)
	for i := 1; i < len(errs); i++ {
		wg.Go(func() { errs[i] = send(ctx) })
	}
	for range 2 {
		// The one alone, then the group of the others.
		if _, err := admin.Exec(`SELECT pg_terminate_backend($1, 5000)`, ended); err != nil {
			t.Fatal(err)
		}
		ended = waiter(ended)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	sends += len(errs)
	for i, err := range errs {
		if err != nil {
			t.Errorf("send %d, waiting on the thread when PostgreSQL ended its connection: %v", i, err)
		}
	}

	got, last := seqs(t, db, th.ID)
	if len(got) != sends || last != int64(sends) {
		t.Errorf("%d sends stored as %d messages, the thread's last seq %d", sends, len(got), last)
	}
}

// A read whose first statement was answered, and whose next finds its
// connection lost, is not run again: it may have gathered what it read,
// and would gather it twice. It fails, unless the pool found the
// connection closed before handing it out, and the next read runs on a
// new connection.
func TestOpenPostgres_ReadLostAfterAnAnswerRunsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, admin, name := openEndable(t)
	_, th := changesThread(t, db)
	runs := 0
	err := db.Read(ctx, func(tx parley.Tx) error {
		runs++
		if _, err := tx.FindThreadByID(ctx, th.ID); err != nil {
			return err
		}
		endConnections(t, admin, name)
		_, err := tx.FindThreadByID(ctx, th.ID)
		return err
	})
	if runs != 1 {
		t.Errorf("a read lost after its first answer: ran %d times, %v; want once", runs, err)
	}
	if err := db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindThreadByID(ctx, th.ID); return err }); err != nil {
		t.Errorf("the next read: %v", err)
	}
}

// openEndable opens a PostgreSQL store of the test's own whose connections
// carry a name of their own, and the test's connection beside it, admin,
// to end them (endConnections), as PostgreSQL does when it restarts or
// fails over.
func openEndable(t *testing.T) (db *sqlstore.DB, admin *sql.DB, name string) {
	t.Helper()
	url := sqlstoretest.PostgresURL(t)
	name = "parley-lost-" + strings.ToLower(rand.Text()[:8])
	db, err := sqlstore.OpenPostgres(context.Background(), withParams(t, url, map[string]string{"application_name": name}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if admin, err = sql.Open("pgx", url); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return db, admin, name
}

// endConnections ends every connection named name, and returns how many.
func endConnections(t *testing.T, admin *sql.DB, name string) int {
	t.Helper()
	var ended int
	err := admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, name).Scan(&ended)
	if err != nil {
		t.Fatal(err)
	}
	return ended
}

// A bulk write, such as the copy of a whole install (parley migrate), may
// take longer than a call serving a request may wait for PostgreSQL
// (sqlstore.CallTime): it runs to its end, and the database is not taken
// for unreachable.
func TestOpenPostgres_ALongWriteRunsToItsEnd(t *testing.T) {
	t.Parallel()
	db := sqlstoretest.Open(t, "postgres")
	ctx := context.Background()
	start := time.Now()
	err := db.WriteLong(ctx, func(tx parley.Tx) error {
		return sqlstore.Sleep(ctx, tx, sqlstore.CallTime+time.Second)
	})
	if err != nil {
		t.Fatalf("a write of %s failed after %s: %v", sqlstore.CallTime+time.Second, time.Since(start).Round(time.Millisecond), err)
	}
	if unreachable, refused := db.DatabaseUnreachable(); unreachable || refused > 0 {
		t.Errorf("a long write made the database unreachable (%v, %d refused)", unreachable, refused)
	}
}
