package sqlstore_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// inOneBatch runs the writes on a PostgreSQL node so that its committer
// takes them as one batch, in the order given: a first write holds the
// committer until all of them are queued. It returns each write's error.
func inOneBatch(t *testing.T, db *sqlstore.DB, writes ...func(tx parley.Tx) error) []error {
	t.Helper()
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		db.Write(ctx, func(parley.Tx) error {
			once.Do(func() { close(started) })
			<-release
			return nil
		})
	})
	<-started
	errs := make([]error, len(writes))
	for i, w := range writes {
		wg.Go(func() { errs[i] = db.Write(ctx, w) })
		for sqlstore.QueuedWrites(db) < i+1 {
			runtime.Gosched()
		}
	}
	close(release)
	wg.Wait()
	return errs
}

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

// In one batch, a write that fails keeps none of its changes and gets its
// own error; a write whose statement failed but that went on as if it had
// not fails too; the writes around them are committed.
func TestPostgresBatch_FailingWritesLeaveOthersCommitted(t *testing.T) {
	db := sqlstoretest.Open(t, "postgres")
	ctx := context.Background()
	taken := newUser("taken")
	mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, taken, "hash") })
	create := func(name string) func(parley.Tx) error {
		return func(tx parley.Tx) error { return tx.CreateUser(ctx, newUser(name), "hash") }
	}
	errOwn := errors.New("changed its mind")
	errs := inOneBatch(t, db,
		create("first"),
		func(tx parley.Tx) error { // fails after a change
			if err := create("undone")(tx); err != nil {
				return err
			}
			return errOwn
		},
		create("taken"), // a unique violation
		func(tx parley.Tx) error { // ignores its failed statement
			if err := create("ignored")(tx); err != nil {
				return err
			}
			create("taken")(tx)
			return nil
		},
		create("last"),
	)
	if errs[0] != nil || errs[4] != nil {
		t.Fatalf("the writes that succeed: %v, %v", errs[0], errs[4])
	}
	if !errors.Is(errs[1], errOwn) {
		t.Errorf("the write that failed got %v, want its own error", errs[1])
	}
	if parley.ErrorCode(errs[2]) != parley.ECONFLICT {
		t.Errorf("the taken username got %v, want ECONFLICT", errs[2])
	}
	if errs[3] == nil {
		t.Errorf("the write that ignored its failed statement succeeded")
	}
	for name, kept := range map[string]bool{"first": true, "last": true, "undone": false, "ignored": false} {
		err := db.Read(ctx, func(tx parley.Tx) error {
			_, err := tx.FindUserByUsername(ctx, name)
			return err
		})
		if found := err == nil; found != kept {
			t.Errorf("%s found: %v, want %v (%v)", name, found, kept, err)
		}
	}
}

// Posts into one thread in one batch, one of which fails after taking its
// seq, leave the thread's seqs without a gap.
func TestPostgresBatch_SeqDenseWhenAWriteInTheBatchFails(t *testing.T) {
	db := sqlstoretest.Open(t, "postgres")
	u, th := newGroup(t, db, "alice")
	errOwn := errors.New("changed its mind")
	failing := func(tx parley.Tx) error {
		if err := postTo(th.ID, u.ID)(tx); err != nil {
			return err
		}
		return errOwn
	}
	post := postTo(th.ID, u.ID)
	errs := inOneBatch(t, db, post, failing, post, failing, post)
	for i, err := range errs {
		if want := error(nil); i%2 == 1 {
			want = errOwn
			if !errors.Is(err, want) {
				t.Errorf("write %d: %v, want %v", i, err, want)
			}
		} else if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	got, last := seqs(t, db, th.ID)
	if last != 3 || len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("seqs %v, last_seq %d; want [1 2 3] and 3", got, last)
	}
}

// A batch whose writes lock two threads, one after the other, while a
// write on another node locks them in the other order: PostgreSQL breaks
// the deadlock by failing one of them, which runs again once the other has
// committed. Every write succeeds and every thread's seqs run without gap.
func TestPostgresBatch_LockOrderDeadlockResolves(t *testing.T) {
	nodes := twoNodes(t)
	a, b := nodes[0], nodes[1]
	u, t1 := newGroup(t, a, "alice")
	_, t2 := newGroup(t, a, "bob")
	holdsT2, batchHoldsT1 := make(chan struct{}), make(chan struct{})
	var onceT2, onceT1 sync.Once
	var runs atomic.Int32
	var other error
	var wg sync.WaitGroup
	wg.Go(func() {
		other = b.Write(context.Background(), func(tx parley.Tx) error {
			runs.Add(1)
			if err := postTo(t2.ID, u.ID)(tx); err != nil {
				return err
			}
			onceT2.Do(func() { close(holdsT2) })
			<-batchHoldsT1
			return postTo(t1.ID, u.ID)(tx)
		})
	})
	errs := inOneBatch(t, a,
		func(tx parley.Tx) error {
			runs.Add(1)
			<-holdsT2
			if err := postTo(t1.ID, u.ID)(tx); err != nil {
				return err
			}
			onceT1.Do(func() { close(batchHoldsT1) })
			return nil
		},
		func(tx parley.Tx) error {
			runs.Add(1)
			return postTo(t2.ID, u.ID)(tx)
		},
	)
	wg.Wait()
	if err := errors.Join(append(errs, other)...); err != nil {
		t.Fatal(err)
	}
	if runs.Load() == 3 {
		t.Fatal("no write ran twice: the writes did not deadlock")
	}
	for _, th := range []*parley.Thread{t1, t2} {
		if got, last := seqs(t, a, th.ID); last != 2 || len(got) != 2 || got[0] != 1 || got[1] != 2 {
			t.Errorf("thread %s: seqs %v, last_seq %d; want [1 2] and 2", th.Title, got, last)
		}
	}
}
