package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// postTo is a write posting a message into the thread.
func postTo(threadID, senderID string) func(tx parley.Tx) error {
	return func(tx parley.Tx) error {
		return tx.PostMessage(context.Background(), &parley.Message{ID: parley.NewID(), ThreadID: threadID,
			Sender: parley.UserRef{ID: senderID}, Kind: parley.MessageKindText, Text: "hi", CreatedAt: parley.Now()})
	}
}

// newGroup stores a member and a group thread of theirs.
func newGroup(t *testing.T, db *sqlstore.DB, name string) (*parley.User, *parley.Thread) {
	t.Helper()
	ctx := context.Background()
	u := newUser(name)
	now := parley.Now()
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: name, CreatedBy: u.ID, LastActivityAt: now, CreatedAt: now}
	mustWrite(t, db, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		return tx.CreateThread(ctx, th)
	})
	return u, th
}

// seqs returns the seqs of the thread's messages, oldest first, and the
// thread's last seq.
func seqs(t *testing.T, db *sqlstore.DB, threadID string) ([]int64, int64) {
	t.Helper()
	ctx := context.Background()
	var th *parley.Thread
	var msgs []*parley.Message
	err := db.Read(ctx, func(tx parley.Tx) (err error) {
		if th, err = tx.FindThreadByID(ctx, threadID); err != nil {
			return err
		}
		after := int64(0)
		msgs, err = tx.FindMessages(ctx, parley.MessageFilter{ThreadID: threadID, After: &after, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, m := range msgs {
		got = append(got, m.Seq)
	}
	return got, th.LastSeq
}

// Two nodes' writes, each posting into two threads, in opposite orders,
// each holding its first thread when the other asks for it: PostgreSQL
// breaks the deadlock by failing one of them, which runs again once the
// other has committed. Both succeed, and every thread's seqs run without
// a gap.
func TestNodes_LockOrderDeadlockResolves(t *testing.T) {
	t.Parallel()
	nodes := sqlstoretest.TwoNodes(t)
	u, t1 := newGroup(t, nodes[0], "alice")
	_, t2 := newGroup(t, nodes[0], "bob")
	var runs atomic.Int32
	// crossed posts into first, says so, waits until the other write
	// holds second, then posts into second. It may run more than once.
	crossed := func(first, second *parley.Thread, holds, other chan struct{}) func(tx parley.Tx) error {
		var once sync.Once
		return func(tx parley.Tx) error {
			runs.Add(1)
			if err := postTo(first.ID, u.ID)(tx); err != nil {
				return err
			}
			once.Do(func() { close(holds) })
			<-other
			return postTo(second.ID, u.ID)(tx)
		}
	}
	aHolds, bHolds := make(chan struct{}), make(chan struct{})
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = nodes[0].Write(context.Background(), crossed(t1, t2, aHolds, bHolds)) })
	wg.Go(func() { errs[1] = nodes[1].Write(context.Background(), crossed(t2, t1, bHolds, aHolds)) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		t.Fatal(err)
	}
	if runs.Load() == 2 {
		t.Fatal("neither write ran twice: the writes did not deadlock")
	}
	for _, th := range []*parley.Thread{t1, t2} {
		if got, last := seqs(t, nodes[1], th.ID); last != 2 || len(got) != 2 || got[0] != 1 || got[1] != 2 {
			t.Errorf("thread %s: seqs %v, last_seq %d; want [1 2] and 2", th.Title, got, last)
		}
	}
}

// A write whose caller gives up once it has started still runs to its end
// and commits, as the contract says (on PostgreSQL its statements once
// followed the caller's context).
func TestWrite_CancelledOnceStartedCommits(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		err := db.Write(ctx, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, newUser("before"), "hash"); err != nil {
				return err
			}
			cancel()
			return tx.CreateUser(ctx, newUser("after"), "hash")
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"before", "after"} {
			err := db.Read(context.Background(), func(tx parley.Tx) error {
				_, err := tx.FindUserByUsername(context.Background(), name)
				return err
			})
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

// Reads that a server journaled on PostgreSQL and did not fold before it
// stopped are folded by the next server to start, whether or not anything
// reads the log.
func TestLogReads_FoldedWhenAServerStarts(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	ctx := context.Background()
	first, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	ids := mustUsers(t, first, "alice", "bob")
	err = first.LogReads(ctx, []parley.AccessRecord{readRecord(ids[0], ids[1], "m1")})
	if err := errors.Join(err, first.Close()); err != nil {
		t.Fatal(err)
	}
	next, err := sqlstore.OpenPostgres(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	waitFolded(t, next)
	if log := logOf(t, next, ids[0]); len(log) != 1 {
		t.Errorf("alice's log: %+v, want the read", log)
	}
}

// A server's pool holds 8 connections at most, closed after 5 minutes
// unused, unless its database URL says otherwise with pgxpool's own
// parameters, which an operator with a larger PostgreSQL sets.
func TestOpenPostgres_PoolAsTheURLSays(t *testing.T) {
	base := sqlstoretest.PostgresURL(t)
	for _, c := range []struct {
		params map[string]string
		conns  int32
		idle   time.Duration
	}{
		{nil, 8, 5 * time.Minute},
		{map[string]string{"pool_max_conns": "3"}, 3, 5 * time.Minute},
		{map[string]string{"pool_max_conns": "40", "pool_max_conn_idle_time": "1m"}, 40, time.Minute},
	} {
		db, err := sqlstore.OpenPostgres(context.Background(), withParams(t, base, c.params))
		if err != nil {
			t.Fatal(err)
		}
		conns, idle := sqlstore.PoolConfig(db)
		db.Close()
		if conns != c.conns || idle != c.idle {
			t.Errorf("with %v: a pool of %d connections, closed after %v unused; want %d and %v", c.params, conns, idle, c.conns, c.idle)
		}
	}
}

// withParams is the database URL base with the query parameters set.
func withParams(t *testing.T, base string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// No call of the store holds two of a server's connections at once: with
// a pool of one, each kind of call completes, its caller taken from the
// node's cache and confirmed. A call that took a second connection while
// it held one would wait for ever once calls like it held every one.
func TestOpenPostgres_NoCallHoldsTwoConnections(t *testing.T) {
	ctx := context.Background()
	db, err := sqlstore.OpenPostgres(ctx, withParams(t, sqlstoretest.PostgresURL(t), map[string]string{"pool_max_conns": "1"}))
	if err != nil {
		t.Fatal(err)
	}
	// Closed only once every call has ended: closing waits for the
	// connections to come back.
	u, th := changesThread(t, db)
	bob := mustUsers(t, db, "bob")[0]
	token := parley.HashToken("session-token")
	now := parley.Now()
	mustWrite(t, db, func(tx parley.Tx) error {
		return tx.CreateSession(ctx, &parley.Session{TokenHash: token, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	})
	rename := func(ctx context.Context, tx parley.Tx) error {
		return tx.RenameThread(ctx, th.ID, "renamed", parley.Now())
	}
	calls := map[string]func(ctx context.Context) error{
		"Read": func(ctx context.Context) error {
			return db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindThreadByID(ctx, th.ID); return err })
		},
		"Write": func(ctx context.Context) error {
			return db.Write(ctx, func(tx parley.Tx) error { return rename(ctx, tx) })
		},
		"WriteLazily": func(ctx context.Context) error {
			return db.WriteLazily(ctx, func(tx parley.Tx) error { return rename(ctx, tx) })
		},
		"WriteOne": func(ctx context.Context) error {
			return db.WriteOne(ctx, func(tx parley.Tx) error {
				m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hi", CreatedAt: parley.Now()}
				_, _, err := tx.PostParticipantMessage(ctx, m)
				return err
			})
		},
		"Read of nothing":  func(ctx context.Context) error { return db.Read(ctx, func(parley.Tx) error { return nil }) },
		"Write of nothing": func(ctx context.Context) error { return db.Write(ctx, func(parley.Tx) error { return nil }) },
		"LogReads": func(ctx context.Context) error {
			return db.LogReads(ctx, []parley.AccessRecord{readRecord(u.ID, bob)})
		},
	}
	for name, call := range calls {
		check := &parley.CallerCheck{TokenHash: token, At: now}
		ctx := parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), SessionTokenHash: token, Check: check})
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still waits after 10 s with a pool of one connection", name)
		}
	}
	db.Close()
}

// A database that holds no Parley database but a table of a name Parley's
// migrations make (another program's) is refused before anything is made
// in it: the migration that makes the name would fail halfway, and leave
// the migrations' own table behind, for the next start to take the other
// program's tables for a Parley database.
func TestOpenPostgres_RefusesAnotherProgramsTables(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE sessions (id int)`); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if store, err := sqlstore.OpenPostgres(ctx, url); err == nil || !strings.Contains(err.Error(), "what Parley would make (sessions)") {
			if store != nil {
				store.Close()
			}
			t.Fatalf("opened a database holding another program's sessions table: %v", err)
		}
	}
	var made bool
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&made); err != nil || made {
		t.Fatalf("the migrations' table was made: %v, %v", made, err)
	}
}

// A schema whose table of migrations, goose_db_version (goose's default
// name, Parley's too), is another program's is refused before anything
// is made in it: at that program's version 7, Parley's migration 8 would
// succeed, be recorded in the other program's table (which would then
// skip its own 8), and the next fail. A table of migrations at version 0,
// where no migration has run yet, is refused as a schema without one is
// if it holds a table of a name Parley's migrations make.
func TestOpenPostgres_RefusesAnotherProgramsMigrations(t *testing.T) {
	for name, tc := range map[string]struct {
		version int
		tables  []string
		refusal string
	}{
		"AtItsVersion": {7, []string{"invoices"}, "another program's: it records version 7, and the database lacks Parley's tables of that version (users, sessions"},
		"BeforeAnyRan": {0, []string{"sessions"}, "what Parley would make (sessions)"},
	} {
		t.Run(name, func(t *testing.T) {
			url := sqlstoretest.PostgresURL(t)
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ctx := context.Background()
			stmts := []string{
				`CREATE TABLE goose_db_version (id SERIAL PRIMARY KEY, version_id BIGINT NOT NULL, is_applied BOOLEAN NOT NULL, tstamp TIMESTAMP DEFAULT now())`,
				`INSERT INTO goose_db_version (version_id, is_applied) SELECT v, true FROM generate_series(0, ` + strconv.Itoa(tc.version) + `) v`,
			}
			for _, table := range tc.tables {
				stmts = append(stmts, `CREATE TABLE `+table+` (id INT PRIMARY KEY, amount INT)`)
			}
			for _, stmt := range stmts {
				if _, err := db.ExecContext(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				store, err := sqlstore.OpenPostgres(ctx, url)
				if err == nil {
					store.Close()
				}
				if err == nil || !strings.Contains(err.Error(), tc.refusal) {
					t.Fatalf("open = %v; want a refusal saying %q", err, tc.refusal)
				}
			}
			var version int
			var made int
			if err := db.QueryRowContext(ctx, `SELECT (SELECT MAX(version_id) FROM goose_db_version),
				(SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r')`).Scan(&version, &made); err != nil {
				t.Fatal(err)
			}
			if version != tc.version || made != 1+len(tc.tables) {
				t.Errorf("refused, but after changing the schema: its goose table at %d (was %d), %d tables (were %d)", version, tc.version, made, 1+len(tc.tables))
			}
		})
	}
}
