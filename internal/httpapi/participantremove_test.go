package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestThreads_RemoveParticipant: the member who started a group takes
// another out of it, as if they left: they are told, no longer see it nor
// write in it, their apps reach it no more, their closing of it to apps is
// withdrawn, and a friend may add them back. No one else removes anyone,
// and no one is removed from a direct thread.
func TestThreads_RemoveParticipant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	bobID, carolID := apptest.MustMe(t, bob).ID, apptest.MustMe(t, carol).ID
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, group.ID, "hello all")

	t.Run("OnlyItsStarter", func(t *testing.T) {
		wantProblem(t, carol.RemoveParticipant(ctx, group.ID, bobID), http.StatusForbidden, "forbidden")
		wantPeople(t, alice, group.ID, "alice", "bob", "carol")
	})
	t.Run("NotFromADirectThread", func(t *testing.T) {
		direct := apptest.MustThread(t, alice, "bob")
		wantProblem(t, alice.RemoveParticipant(ctx, direct.ID, bobID), http.StatusConflict, "conflict")
		wantPeople(t, alice, direct.ID, "alice", "bob")
	})
	t.Run("OnlyWhoIsInIt", func(t *testing.T) {
		dave := env.MustMember(t, "dave")
		for _, id := range []string{apptest.MustMe(t, dave).ID, parley.NewID(), "not an id"} {
			wantProblem(t, alice.RemoveParticipant(ctx, group.ID, id), http.StatusNotFound, "not_found")
		}
		wantPeople(t, alice, group.ID, "alice", "bob", "carol")
	})

	t.Run("Removed", func(t *testing.T) {
		partner := env.MustPartner(t, "Notes")
		bobsApp := env.Client.WithToken(env.MustToken(t, partner, "bob", []string{"openid", "threads.read", "messages.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group.ID}}).AccessToken)
		if _, err := bobsApp.Thread(ctx, group.ID); err != nil {
			t.Fatalf("bob's app reads the group before: %v", err)
		}
		if _, err := bob.SetThreadAppAccess(ctx, group.ID, false); err != nil {
			t.Fatal(err)
		}
		bobsStream := mustEvents(t, bob)

		if err := alice.RemoveParticipant(ctx, group.ID, bobID); err != nil {
			t.Fatal(err)
		}
		if change := nextData[client.ThreadChange](t, ctx, bobsStream, client.EventThreadUpdated); change.Thread.ID != group.ID || slices.ContainsFunc(change.Participants, func(u client.UserRef) bool { return u.ID == bobID }) {
			t.Errorf("bob is told %+v, want the group without him", change)
		}
		wantPeople(t, alice, group.ID, "alice", "carol")
		_, err := bob.Thread(ctx, group.ID)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = bob.SendMessage(ctx, group.ID, "still here?", "")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = bobsApp.Thread(ctx, group.ID)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		if access, err := alice.ThreadApps(ctx, group.ID); err != nil || !access.Allowed {
			t.Errorf("after bob, who closed it, was removed, the group's app access is %+v, %v; want it open, as no one left keeps it closed", access, err)
		}
	})
	t.Run("AddedBack", func(t *testing.T) {
		if _, err := alice.AddParticipant(ctx, group.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		wantPeople(t, bob, group.ID, "alice", "carol", "bob")
	})
	t.Run("ThemselvesIsLeaving", func(t *testing.T) {
		if err := carol.RemoveParticipant(ctx, group.ID, carolID); err != nil {
			t.Fatal(err)
		}
		wantPeople(t, alice, group.ID, "alice", "bob")
	})
	t.Run("NotByAnApp", func(t *testing.T) {
		partner := env.MustPartner(t, "Organiser")
		alicesApp := env.Client.WithToken(env.MustToken(t, partner, "alice", []string{"openid", "threads.read", "participants.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group.ID}}).AccessToken)
		wantProblem(t, alicesApp.RemoveParticipant(ctx, group.ID, bobID), http.StatusForbidden, "insufficient_scope")
		wantPeople(t, alice, group.ID, "alice", "bob")
	})
}

// wantPeople checks who is in a thread, by username, in the order they
// joined.
func wantPeople(t *testing.T, c *client.Client, threadID string, usernames ...string) {
	t.Helper()
	people, err := c.Participants(context.Background(), threadID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range people {
		got = append(got, u.Username)
	}
	if !slices.Equal(got, usernames) {
		t.Fatalf("the thread's people are %v, want %v", got, usernames)
	}
}
