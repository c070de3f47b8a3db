package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// BenchmarkFindMessages reads the newest 50 of a thread's messages, the page
// a client opens a conversation with.
func BenchmarkFindMessages(b *testing.B) { benchmarkPage(b, 0) }

// BenchmarkFindMessagesReacted reads the same page where every fourth
// message has a reaction: each such message's reactions are read by a
// statement of its own, inside the page's.
func BenchmarkFindMessagesReacted(b *testing.B) { benchmarkPage(b, 4) }

// benchmarkPage reads the newest 51 of a thread of 200 messages, every
// reactEvery-th of which has a reaction (none for 0).
func benchmarkPage(b *testing.B, reactEvery int) {
	db, _ := mustOpenTB(b)
	ctx := context.Background()
	u := newUser("alice")
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: u.ID, LastActivityAt: parley.Now(), CreatedAt: parley.Now()}
	err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		if err := tx.CreateThread(ctx, th); err != nil {
			return err
		}
		if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: parley.Now()}); err != nil {
			return err
		}
		for i := range 200 {
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText,
				Text: fmt.Sprintf("bench message %06d %080d", i, 0), CreatedAt: parley.Now()}
			if err := tx.PostMessage(ctx, m); err != nil {
				return err
			}
			if reactEvery > 0 && i%reactEvery == 0 {
				if err := tx.SetReaction(ctx, m.ID, u.ID, "👍", parley.Now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			err := db.Read(ctx, func(tx parley.Tx) error {
				list, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: th.ID, Limit: 51, MemberID: u.ID})
				if err == nil && len(list) != 51 {
					err = fmt.Errorf("%d messages", len(list))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLogReads journals reads of 50 messages by an app, each touching
// the logs of two members, and folds them into the access log as the writer
// does under a steady stream of reads. ns/op is the cost of one read's log.
func BenchmarkLogReads(b *testing.B) {
	db, _ := mustOpenTB(b)
	ctx := context.Background()
	var users []string
	err := db.Write(ctx, func(tx parley.Tx) error {
		for i := range 9 {
			u := newUser(fmt.Sprintf("member%d", i))
			users = append(users, u.ID)
			if err := tx.CreateUser(ctx, u, "hash"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 50)
	for i := range ids {
		ids[i] = parley.NewID()
	}
	cpu := cpuTime()
	b.ResetTimer()
	for i := range b.N {
		rec := parley.AccessRecord{
			Entry: parley.AccessEntry{At: parley.Now(), ClientID: "client", AppName: "Bench", GrantID: "grant",
				Action: "messages.read", ThreadID: "thread", MessageIDs: ids[:0], MessageCount: len(ids)},
			UserIDs: []string{users[0], users[1+i%8]},
		}
		if err := db.LogReads(ctx, []parley.AccessRecord{rec}); err != nil {
			b.Fatal(err)
		}
		if i%50 == 49 {
			if err := db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindAccessHeads(ctx, users[:1]); return err }); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPostParticipantMessage posts members' messages as W1's sends
// do, each with an idempotency key, from 4 goroutines a core (8 on this
// machine kind's 2) into 8 direct threads, each write on its own
// (WriteOne). cpu-µs/op is the process's CPU a post: on SQLite mostly the
// writer's, its statements and its share of a commit.
func BenchmarkPostParticipantMessage(b *testing.B) {
	for _, engine := range sqlstoretest.Engines {
		b.Run(engine, func(b *testing.B) { benchmarkPostParticipantMessage(b, sqlstoretest.Open(b, engine)) })
	}
}

func benchmarkPostParticipantMessage(b *testing.B, db *sqlstore.DB) {
	ctx := context.Background()
	owner := newUser("owner")
	type seat struct {
		thread string
		sender parley.UserRef
	}
	var seats []seat
	err := db.Write(ctx, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, owner, "hash"); err != nil {
			return err
		}
		for i := range 8 {
			m := newUser(fmt.Sprintf("member%d", i))
			th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: owner.ID, LastActivityAt: parley.Now(), CreatedAt: parley.Now()}
			if err := tx.CreateUser(ctx, m, "hash"); err != nil {
				return err
			}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			for _, u := range []*parley.User{owner, m} {
				if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: parley.Now()}); err != nil {
					return err
				}
			}
			seats = append(seats, seat{th.ID, m.Ref()})
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	text := fmt.Sprintf("bench message %086d", 0)
	var n atomic.Int64
	b.SetParallelism(4) // 8 senders on 2 cores
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			s := seats[i%int64(len(seats))]
			m := &parley.Message{ID: parley.NewID(), ThreadID: s.thread, Sender: s.sender, Kind: parley.MessageKindText,
				Text: text, CreatedAt: parley.Now(), IdempotencyKey: fmt.Sprintf("k%d", i)}
			err := db.WriteOne(ctx, func(tx parley.Tx) error {
				_, posted, err := tx.PostParticipantMessage(ctx, m)
				if err == nil && !posted {
					err = fmt.Errorf("%s is not in thread %s", s.sender.Username, s.thread)
				}
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
}
