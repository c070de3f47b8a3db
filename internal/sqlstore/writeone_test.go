package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Many sends at once through WriteOne, which a store may commit together:
// a send that fails (its idempotency key taken, its session ended) or posts
// nothing (its sender not in the thread) does so alone, every other is
// kept, and the thread's seqs are dense, one per send kept.
func TestWriteOne_ConcurrentSendsFailAlone(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		stranger := newUser("stranger")
		ended := parley.HashToken("ended-session")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, stranger, "hash") })
		send := func(ctx context.Context, from parley.UserRef, key string) (seq int64, posted bool, err error) {
			err = db.WriteOne(ctx, func(tx parley.Tx) error {
				m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: from, Kind: parley.MessageKindText,
					Text: "hello", IdempotencyKey: key, CreatedAt: parley.Now()}
				_, posted, err = tx.PostParticipantMessage(ctx, m)
				seq = m.Seq
				return err
			})
			return seq, posted, err
		}
		if _, _, err := send(ctx, u.Ref(), "taken"); err != nil {
			t.Fatal(err)
		}

		const n = 200
		seqs := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ctx, from, key := ctx, u.Ref(), fmt.Sprintf("key-%d", i)
				switch i % 10 {
				case 3:
					key = "taken"
				case 5:
					from = stranger.Ref()
				case 7:
					check := &parley.CallerCheck{TokenHash: ended, At: time.Now()}
					ctx = parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), SessionTokenHash: ended, Check: check})
				}
				seq, posted, err := send(ctx, from, key)
				if err == nil && !posted {
					err = errNotPosted
				}
				seqs[i], errs[i] = seq, err
			})
		}
		wg.Wait()

		var kept []int64
		for i, err := range errs {
			want := error(nil)
			switch i % 10 {
			case 3:
				if parley.ErrorCode(err) != parley.ECONFLICT {
					t.Errorf("send %d with a taken key: %v, want ECONFLICT", i, err)
				}
				continue
			case 5:
				want = errNotPosted
			case 7:
				want = parley.ErrInvalidToken
			}
			if !errors.Is(err, want) {
				t.Errorf("send %d: %v, want %v", i, err, want)
			}
			if err == nil {
				kept = append(kept, seqs[i])
			}
		}
		slices.Sort(kept)
		for i, seq := range kept {
			if seq != int64(i+2) {
				t.Fatalf("the kept sends' seqs are %v, want 2 … %d", kept, len(kept)+1)
			}
		}
		if got := snapshot(t, db, th.ID).LastSeq; got != int64(len(kept)+1) {
			t.Errorf("the thread's last seq is %d after %d sends kept, want %d", got, len(kept)+1, len(kept)+1)
		}
	})
}

// errNotPosted is a send that PostParticipantMessage did not post.
var errNotPosted = errors.New("not posted")

// Sends racing the store's Close each end, kept or refused with ErrClosed:
// none waits forever for a commit that will not come.
func TestWriteOne_SendsRacingClose(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					err := db.WriteOne(ctx, func(tx parley.Tx) error {
						m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: "hello", CreatedAt: parley.Now()}
						_, _, err := tx.PostParticipantMessage(ctx, m)
						return err
					})
					if errors.Is(err, sqlstore.ErrClosed) {
						return
					} else if err != nil {
						t.Errorf("a send before the store closed: %v", err)
						return
					}
				}
			})
		}
		time.Sleep(50 * time.Millisecond)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		ended := make(chan struct{})
		go func() { wg.Wait(); close(ended) }()
		select {
		case <-ended:
		case <-time.After(10 * time.Second):
			t.Fatal("sends still waiting 10 s after the store closed")
		}
	})
}
