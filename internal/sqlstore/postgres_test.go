package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

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
