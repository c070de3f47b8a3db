package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestUserUpdated: a member who takes a new display name tells their own
// clients, those of everyone in a thread with them and those of their
// friends, with user.updated, which names no thread; not a stranger's,
// not a friend's friend's, not an app's, and no one when the name is the
// one they had.
func TestUserUpdated(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// dave is a stranger to alice; frank is carol's friend, not alice's.
	dave, frank := w.env.MustMember(t, "dave"), w.env.MustMember(t, "frank")
	apptest.MustFriends(t, frank, dave)
	apptest.MustFriends(t, w.carol, frank)
	daveFrank, carolFrank := apptest.MustThread(t, frank, "dave").ID, apptest.MustThread(t, w.carol, "frank").ID
	app := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Reader"), "bob",
		[]string{"openid", "profile", "messages.read", "threads.read", "participants.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
	alices, bobs, carols := mustEvents(t, w.alice), mustEvents(t, w.bob), mustEvents(t, w.carol)
	daves, franks, apps := mustEvents(t, dave), mustEvents(t, frank), mustEvents(t, app)

	if _, err := w.alice.SetDisplayName(ctx, "Alice Liddell"); err != nil {
		t.Fatal(err)
	}
	for who, stream := range map[string]*client.EventStream{"alice": alices, "bob": bobs, "carol": carols} {
		for {
			ev, err := stream.Next(ctx)
			if err != nil {
				t.Fatalf("%s's stream: %v", who, err)
			}
			if ev.Type != client.EventUserUpdated {
				continue
			}
			var got client.UserUpdated
			if err := json.Unmarshal(ev.Data, &got); err != nil || ev.ThreadID != "" || got.User != (client.UserRef{ID: w.aliceID, Username: "alice", DisplayName: "Alice Liddell"}) {
				t.Errorf("%s is told %+v (%v), want alice as Alice Liddell, in no thread", who, ev, err)
			}
			break
		}
	}
	wantNoEvent(t, ctx, client.EventUserUpdated, frank, daves, daveFrank, "dave, a stranger")
	wantNoEvent(t, ctx, client.EventUserUpdated, w.carol, franks, carolFrank, "frank, a friend of carol's")
	wantNoEvent(t, ctx, client.EventUserUpdated, w.alice, apps, w.aliceBob, "bob's app")

	// The name she has, as she sends it: no one is told.
	if _, err := w.alice.SetDisplayName(ctx, " Alice Liddell "); err != nil {
		t.Fatal(err)
	}
	wantNoEvent(t, ctx, client.EventUserUpdated, w.alice, bobs, w.aliceBob, "bob, when alice keeps her name")
}

// TestUserUpdated_AccountDeleted: a deleted account's display name becomes
// "Deleted account", which others see beside its tombstones (README, A
// member's data). user.updated is how a client learns that a name it
// shows changed ("show it wherever the name is shown"), and
// message.deleted carries no sender: without user.updated, bob's client
// notes until it reads everything again. It tells no username: a deleted
// account's is shown to no one.
func TestUserUpdated_AccountDeleted(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "soon a tombstone")
	aliceID := apptest.MustMe(t, alice).ID
	bobs := mustEvents(t, bob)

	if err := alice.DeleteAccount(ctx, apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}
	wait, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	if got := nextData[client.UserUpdated](t, wait, bobs, client.EventUserUpdated); got.User.ID != aliceID || got.User.DisplayName != parley.DeletedDisplayName || got.User.Username != "" {
		t.Fatalf("bob's stream told %+v; want alice's name as %q and no username, which no one is shown any more", got.User, parley.DeletedDisplayName)
	}
}
