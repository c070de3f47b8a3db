package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/parleyhq/parley"
)

// BenchmarkFindMessages reads the newest 50 of a thread's messages, the page
// a client opens a conversation with.
func BenchmarkFindMessages(b *testing.B) {
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
			seq, err := tx.NextSeq(ctx, th.ID, parley.Now())
			if err != nil {
				return err
			}
			m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Seq: seq, Sender: u.Ref(), Kind: parley.MessageKindText,
				Text: fmt.Sprintf("bench message %06d %080d", i, 0), CreatedAt: parley.Now()}
			if err := tx.CreateMessage(ctx, m); err != nil {
				return err
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
