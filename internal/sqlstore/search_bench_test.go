package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// BenchmarkSearchMessages searches, on each engine, the threads of a
// member in 10 threads of 10,000 messages each, 100 bytes of text apiece:
// for a word one message in 1,000 holds ("rare": 100 found, a page of 21
// returned), and for one every message holds ("common": all 100,000
// found, the newest 21 returned). A search reads every message of the
// member's threads; messages/s is how many it reads a second. With -short
// (CI runs each benchmark once, to show that it works), 3 threads of 7,000
// messages, enough for a full page of the rare word.
func BenchmarkSearchMessages(b *testing.B) {
	threads, perThread := 10, 10_000
	if testing.Short() {
		threads, perThread = 3, 7_000
	}
	for _, engine := range sqlstoretest.Engines {
		b.Run(engine, func(b *testing.B) {
			db := sqlstoretest.Open(b, engine)
			member := fillSearchable(b, db, threads, perThread)
			for _, tc := range []struct{ name, text string }{{"rare", "needle"}, {"common", "message"}} {
				b.Run(tc.name, func(b *testing.B) {
					ctx := context.Background()
					f := parley.SearchFilter{MemberID: member, Text: tc.text, Limit: 21}
					for b.Loop() {
						err := db.Read(ctx, func(tx parley.Tx) error {
							found, err := tx.SearchMessages(ctx, f)
							if err == nil && len(found) != 21 {
								err = fmt.Errorf("found %d messages", len(found))
							}
							return err
						})
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(threads*perThread)/(b.Elapsed().Seconds()/float64(b.N)), "messages/s")
				})
			}
		})
	}
}

// fillSearchable makes a member in the threads, each of perThread
// messages of 100 bytes, every 1,000th of which holds "needle", and
// returns the member's ID.
func fillSearchable(b *testing.B, db *sqlstore.DB, threads, perThread int) string {
	ctx := context.Background()
	u := newUser("alice")
	start := parley.Now()
	if err := db.Write(ctx, func(tx parley.Tx) error { return tx.CreateUser(ctx, u, "hash") }); err != nil {
		b.Fatal(err)
	}
	for range threads {
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: start, CreatedAt: start}
		err := db.Write(ctx, func(tx parley.Tx) error {
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			return tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: u.ID, JoinedAt: start})
		})
		if err != nil {
			b.Fatal(err)
		}
		for from := 0; from < perThread; from += 1000 {
			err := db.Write(ctx, func(tx parley.Tx) error {
				for i := from; i < from+1000; i++ {
					word := "haystack"
					if i%1000 == 999 {
						word = "needle"
					}
					at := start.Add(time.Duration(i) * time.Millisecond)
					text := fmt.Sprintf("Bench message %06d with a %-8s in it, and words enough to make it a hundred bytes long.....", i, word)
					m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: text, CreatedAt: at}
					if err := tx.PostMessage(ctx, m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return u.ID
}
