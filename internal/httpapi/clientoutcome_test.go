package httpapi_test

import (
	"context"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// The client tells a thread it started from the direct thread it found,
// and a retry's answer from a first one; an empty idempotency key is no
// key, for a send, a thread and a share alike.
func TestClient_Outcome(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()

	t.Run("Thread", func(t *testing.T) {
		trip := client.NewThread{Participants: []string{"bob", "carol"}, Kind: "group", Title: "Trip", IdempotencyKey: "outcome-trip"}
		first, o, err := w.alice.CreateThreadOutcome(ctx, trip)
		if err != nil || o != (client.Outcome{Created: true}) {
			t.Fatalf("first: %+v, %+v, %v; want created", first, o, err)
		}
		again, o, err := w.alice.CreateThreadOutcome(ctx, trip)
		if err != nil || again.ID != first.ID || o != (client.Outcome{Created: true, Replayed: true}) {
			t.Fatalf("retry: %+v, %+v, %v; want thread %s, created, replayed", again, o, err, first.ID)
		}
		direct, o, err := w.alice.CreateThreadOutcome(ctx, client.NewThread{Participants: []string{"bob"}})
		if err != nil || direct.ID != w.aliceBob || o != (client.Outcome{}) {
			t.Fatalf("the direct thread with bob: %+v, %+v, %v; want %s found, not created", direct, o, err, w.aliceBob)
		}
		if _, o, err := w.alice.CreateThreadOutcome(ctx, client.NewThread{Participants: []string{"bob"}, Kind: "group", Title: "No key"}); err != nil || !o.Created || o.Replayed {
			t.Fatalf("a group without a key: %+v, %v", o, err)
		}
	})

	t.Run("Message", func(t *testing.T) {
		first, o, err := w.alice.SendReplyOutcome(ctx, w.aliceBob, "once", 0, "outcome-msg")
		if err != nil || o.Replayed {
			t.Fatalf("first: %+v, %+v, %v", first, o, err)
		}
		again, o, err := w.alice.SendReplyOutcome(ctx, w.aliceBob, "once", 0, "outcome-msg")
		if err != nil || !o.Replayed || again.ID != first.ID {
			t.Fatalf("retry: %+v, %+v, %v; want message %s replayed", again, o, err, first.ID)
		}
		a, err := w.alice.SendMessage(ctx, w.aliceBob, "twice", "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := w.alice.SendMessage(ctx, w.aliceBob, "twice", "")
		if err != nil || b.ID == a.ID {
			t.Fatalf("two sends without a key: %+v, %v; want two messages", b, err)
		}
	})

	t.Run("Share", func(t *testing.T) {
		partner := w.env.MustPartner(t, "Films")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{}).AccessToken)
		share := client.NewShare{To: "bob", URL: "https://films.example/outcome", Title: "A film"}
		a, replayed, err := app.ShareOnce(ctx, share, "")
		if err != nil || replayed {
			t.Fatalf("a share without a key: replayed %v, %v", replayed, err)
		}
		b, replayed, err := app.ShareOnce(ctx, share, "")
		if err != nil || replayed || b.ID == a.ID {
			t.Fatalf("again without a key: %+v, replayed %v, %v; want a second card", b, replayed, err)
		}
	})
}
