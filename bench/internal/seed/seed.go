// Package seed fills a Parley store with bulk data for benchmarks,
// writing straight through the store (parley.Store) in large
// transactions rather than through the API.
//
// Its members are s0000, s0001, … and all share one password,
// [Password], hashed once: a hash per member would cost a second or
// more of argon2id each and tell a benchmark nothing. They can sign in
// through the API like any member.
package seed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/bench/internal/benchkit"
	"github.com/parleyhq/parley/internal/password"
)

// Password is every seeded member's password.
const Password = "bench-seed-password"

// Batch sizes: rows written per transaction.
const (
	userBatch    = 1000
	threadBatch  = 1000
	messageBatch = 5000
	accessBatch  = 2000
)

// threadSize is how many members each seeded thread has.
const threadSize = 3

// bodyLen is the length of each seeded message's text, as W1's.
const bodyLen = 100

// Shape is what Fill writes.
type Shape struct {
	// Members, Threads and Messages are how many members, group threads
	// (of 3 members each) and messages (spread round-robin over the
	// threads, 100 bytes each) to write.
	Members  int `json:"members"`
	Threads  int `json:"threads"`
	Messages int `json:"messages"`
	// AccessEntries is the length of the access log of member s0000;
	// s0001 and s0002 get a half and a tenth of it, so that paging and
	// verification can be timed at three lengths.
	AccessEntries int `json:"access_entries"`
}

// AccessLogs returns the access log lengths Fill gives s0000, s0001 and
// s0002, longest first; none when s.AccessEntries is 0.
func (s Shape) AccessLogs() []int {
	if s.AccessEntries == 0 {
		return nil
	}
	return []int{s.AccessEntries, s.AccessEntries / 2, s.AccessEntries / 10}
}

// Username returns the name of seeded member i.
func Username(i int) string { return fmt.Sprintf("s%04d", i) }

// Check reports a shape Fill cannot write.
func (s Shape) Check() error {
	switch {
	case s.Members < threadSize || s.Members < len(s.AccessLogs()):
		return fmt.Errorf("seed: at least %d members", max(threadSize, len(s.AccessLogs())))
	case s.Threads < 1 && s.Messages > 0:
		return fmt.Errorf("seed: messages need at least one thread")
	case s.Members > 10000:
		return fmt.Errorf("seed: at most 10000 members")
	}
	return nil
}

// Fill writes s into st, showing a progress bar for each kind of row.
// Messages are dated in the past, one millisecond apart, ending now, so
// that what a benchmark sends afterwards is the newest.
func Fill(ctx context.Context, st parley.Store, s Shape) error {
	if err := s.Check(); err != nil {
		return err
	}
	hash, err := password.Hash(Password)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	start := now.Add(-time.Duration(s.Messages) * time.Millisecond)

	users := make([]parley.UserRef, s.Members)
	for i := range users {
		name := Username(i)
		users[i] = parley.UserRef{ID: parley.NewID(), Username: name, DisplayName: "Seed " + name}
	}
	err = batches(ctx, st, "members", "members", len(users), userBatch, func(tx parley.Tx, i int) error {
		u := users[i]
		return tx.CreateUser(ctx, &parley.User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, CreatedAt: start}, hash)
	})
	if err != nil {
		return err
	}

	// Thread t has members a = t mod Members, a+1+k and a−1 (mod
	// Members), k = t div Members (mod Members−2, so the three differ):
	// each member is in about 3·Threads/Members threads, with different
	// company in most.
	threads := make([]parley.Thread, s.Threads)
	members := make([][threadSize]int, s.Threads)
	for t := range threads {
		a, k := t%s.Members, t/s.Members
		members[t] = [threadSize]int{a, (a + 1 + k%(s.Members-2)) % s.Members, (a + s.Members - 1) % s.Members}
		threads[t] = parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: fmt.Sprintf("seed %d", t),
			CreatedBy: users[a].ID, LastActivityAt: start, CreatedAt: start}
	}
	err = batches(ctx, st, "threads", "threads", len(threads), threadBatch, func(tx parley.Tx, t int) error {
		th := threads[t]
		if err := tx.CreateThread(ctx, &th); err != nil {
			return err
		}
		for _, m := range members[t] {
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: users[m].ID, JoinedAt: start}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	err = batches(ctx, st, "messages", "msg", s.Messages, messageBatch, func(tx parley.Tx, n int) error {
		t := n % s.Threads
		prefix := fmt.Sprintf("seed message %07d ", n)
		return tx.PostMessage(ctx, &parley.Message{
			ID: parley.NewID(), ThreadID: threads[t].ID, Sender: users[members[t][(n/s.Threads)%threadSize]],
			Kind: parley.MessageKindText, Text: prefix + strings.Repeat("x", bodyLen-len(prefix)),
			CreatedAt: start.Add(time.Duration(n) * time.Millisecond),
		})
	})
	if err != nil {
		return err
	}

	for i, n := range s.AccessLogs() {
		if err := accessLog(ctx, st, users[i], n, now); err != nil {
			return err
		}
	}
	return nil
}

// accessLog appends n entries to the member's access log through the
// store's own AppendAccess, which chains them: reads by an app that is
// not registered, which the log does not need to name its entries.
func accessLog(ctx context.Context, st parley.Store, u parley.UserRef, n int, at time.Time) error {
	entry := parley.AccessEntry{At: at, ClientID: "seed-app", AppName: "Seed app", GrantID: "seed-grant",
		Action: string(parley.ScopeMessagesRead), MessageCount: 1}
	var records []parley.AccessRecord
	return batchesOf(ctx, st, "access log of "+u.Username, "entries", n, accessBatch, func(tx parley.Tx, from, to int) error {
		records = records[:0]
		for range to - from {
			records = append(records, parley.AccessRecord{Entry: entry, UserIDs: []string{u.ID}})
		}
		return tx.AppendAccess(ctx, records)
	})
}

// batches calls fn for 0 … n-1, size calls to a transaction, with a
// progress bar.
func batches(ctx context.Context, st parley.Store, desc, unit string, n, size int, fn func(tx parley.Tx, i int) error) error {
	return batchesOf(ctx, st, desc, unit, n, size, func(tx parley.Tx, from, to int) error {
		for i := from; i < to; i++ {
			if err := fn(tx, i); err != nil {
				return err
			}
		}
		return nil
	})
}

// batchesOf writes [0, n) in transactions of size: fn writes [from, to).
func batchesOf(ctx context.Context, st parley.Store, desc, unit string, n, size int, fn func(tx parley.Tx, from, to int) error) error {
	if n == 0 {
		return nil
	}
	bar := benchkit.NewBar(n, "seed "+desc, unit)
	defer bar.Finish()
	for from := 0; from < n; from += size {
		to := min(from+size, n)
		if err := st.Write(ctx, func(tx parley.Tx) error { return fn(tx, from, to) }); err != nil {
			return fmt.Errorf("seed %s %d to %d: %w", desc, from, to, err)
		}
		bar.Add(to - from)
	}
	return nil
}
