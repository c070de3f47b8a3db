package httpapi_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestTyping: a member writing in a thread tells its other members, whose
// clients show it; not themselves, and no app, which can neither tell it
// nor hear it. Only a member of the thread tells it, and not in a
// conversation that takes no message.
func TestTyping(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	// Time moves only as the test says: a member is told of three times at
	// once, then once a second.
	w.env.Clock.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("TheOthersAreTold", func(t *testing.T) {
		alices, bobs, carols := mustEvents(t, w.alice), mustEvents(t, w.bob), mustEvents(t, w.carol)
		if err := w.alice.Typing(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		for who, stream := range map[string]*client.EventStream{"bob": bobs, "carol": carols} {
			if ev := nextData[client.ThreadTyping](t, ctx, stream, client.EventThreadTyping); ev.ThreadID != group.ID || ev.User.Username != "alice" || ev.User.DisplayName == "" {
				t.Errorf("%s is told %+v, want alice writing in the group", who, ev)
			}
		}
		wantNoEvent(t, ctx, client.EventThreadTyping, w.alice, alices, group.ID, "alice's own client")
	})
	t.Run("ThreeTimesAtOnceThenOnceASecond", func(t *testing.T) {
		// A client in a loop is answered, and the others told three times.
		bobs := mustEvents(t, w.bob)
		for range 5 {
			if err := w.alice.Typing(ctx, w.aliceBob); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			nextData[client.ThreadTyping](t, ctx, bobs, client.EventThreadTyping)
		}
		wantNoEvent(t, ctx, client.EventThreadTyping, w.alice, bobs, w.aliceBob, "bob, told of alice's loop")
		w.env.Clock.Advance(time.Second)
		if err := w.alice.Typing(ctx, w.aliceBob); err != nil {
			t.Fatal(err)
		}
		if ev := nextData[client.ThreadTyping](t, ctx, bobs, client.EventThreadTyping); ev.ThreadID != w.aliceBob {
			t.Fatalf("a second on, bob is told %+v, want alice writing to him", ev)
		}
	})
	t.Run("AppsNeitherTellNorHear", func(t *testing.T) {
		w.env.Clock.Advance(3 * time.Second) // alice's allowance grows whole
		app := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Reader"), "bob",
			[]string{"openid", "messages.read", "messages.write", "threads.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		stream := mustEvents(t, app)
		if err := w.alice.Typing(ctx, w.aliceBob); err != nil {
			t.Fatal(err)
		}
		wantNoEvent(t, ctx, client.EventThreadTyping, w.alice, stream, w.aliceBob, "bob's app")
		wantProblem(t, app.Typing(ctx, w.aliceBob), http.StatusForbidden, "insufficient_scope")
	})
	t.Run("OnlyAMemberOfTheThread", func(t *testing.T) {
		wantProblem(t, w.alice.Typing(ctx, w.bobCarol), http.StatusNotFound, "not_found")
		wantProblem(t, w.alice.Typing(ctx, "no-such-thread"), http.StatusNotFound, "not_found")
		left, err := w.bob.CreateThread(ctx, client.NewThread{Participants: []string{"alice", "carol"}, Title: "Left", Kind: client.ThreadGroup})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.carol.LeaveThread(ctx, left.ID); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, w.carol.Typing(ctx, left.ID), http.StatusNotFound, "not_found")
	})
	t.Run("NotInABlockedConversation", func(t *testing.T) {
		blocked, err := w.carol.Block(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, w.alice.Typing(ctx, w.aliceCarol), http.StatusForbidden, "forbidden")
		if err := w.carol.Unblock(ctx, blocked.User.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// wantNoEvent sends a message from sender into the thread and fails the
// test if the stream gives an event of type typ before it.
func wantNoEvent(t *testing.T, ctx context.Context, typ string, sender *client.Client, stream *client.EventStream, threadID, whose string) {
	t.Helper()
	sent := apptest.MustSend(t, sender, threadID, "said")
	for {
		ev, err := stream.Next(ctx)
		if err != nil || ev.Type == typ {
			t.Fatalf("%s: %+v, %v; want the message sent, and no %s before it", whose, ev, err, typ)
		}
		if isMessageCreated(ev, sent.ID) {
			return
		}
	}
}
