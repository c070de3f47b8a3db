package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestThreads_RemoveParticipant: the member who started a group takes
// another out of it, as if they left: they are told, no longer see it nor
// write in it, their apps reach it no more, and a friend may add them
// back; but their closing of it to apps stays, theirs to withdraw. No one
// else removes anyone while the starter is in the group; once they left
// it, the member in it longest does. No one is removed from a direct
// thread.
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
		// His closing stays: his to withdraw, not alice's.
		if access, err := alice.ThreadApps(ctx, group.ID); err != nil || access.Allowed || len(access.ClosedBy) != 1 || access.ClosedBy[0].ID != bobID {
			t.Errorf("after bob, who closed it, was removed, the group's app access is %+v, %v; want it closed by bob still", access, err)
		}
	})
	t.Run("AddedBack", func(t *testing.T) {
		if _, err := alice.AddParticipant(ctx, group.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		wantPeople(t, bob, group.ID, "alice", "carol", "bob")
		if access, err := bob.SetThreadAppAccess(ctx, group.ID, true); err != nil || !access.Allowed {
			t.Errorf("bob, added back, reopens the group to apps: %+v, %v", access, err)
		}
	})
	t.Run("ThemselvesIsLeaving", func(t *testing.T) {
		if err := carol.RemoveParticipant(ctx, group.ID, carolID); err != nil {
			t.Fatal(err)
		}
		wantPeople(t, alice, group.ID, "alice", "bob")
	})
	t.Run("ItsStarterGoneTheLongestInItKeepsIt", func(t *testing.T) {
		frank, gina := env.MustMember(t, "frank"), env.MustMember(t, "gina")
		for _, m := range []*client.Client{bob, frank, gina} {
			apptest.MustFriends(t, carol, m)
		}
		apptest.MustFriends(t, frank, gina)
		club, err := carol.CreateThread(ctx, client.NewThread{Participants: []string{"frank"}, Title: "Club", Kind: client.ThreadGroup})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := carol.AddParticipant(ctx, club.ID, "gina"); err != nil {
			t.Fatal(err)
		}
		if _, err := carol.AddParticipant(ctx, club.ID, "bob"); err != nil {
			t.Fatal(err)
		}
		if err := carol.LeaveThread(ctx, club.ID); err != nil {
			t.Fatal(err)
		}
		ginaID, frankID := apptest.MustMe(t, gina).ID, apptest.MustMe(t, frank).ID
		wantProblem(t, gina.RemoveParticipant(ctx, club.ID, bobID), http.StatusForbidden, "forbidden")
		if err := frank.RemoveParticipant(ctx, club.ID, ginaID); err != nil {
			t.Fatalf("frank, in the group longest once carol left, removes gina: %v", err)
		}
		wantPeople(t, frank, club.ID, "frank", "bob")
		// Carol, added back, keeps the group she started again.
		if _, err := frank.AddParticipant(ctx, club.ID, "gina"); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.AddParticipant(ctx, club.ID, "carol"); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, frank.RemoveParticipant(ctx, club.ID, ginaID), http.StatusForbidden, "forbidden")
		if err := carol.RemoveParticipant(ctx, club.ID, frankID); err != nil {
			t.Fatalf("carol, back in the group she started, removes frank: %v", err)
		}
		wantPeople(t, carol, club.ID, "bob", "gina", "carol")
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

// TestThreads_RemoveWhileTheySend: the group's starter removes a member
// and adds them back, again and again, while the member sends and marks
// what they read: every removal and addition succeeds, each send is stored
// or refused as not found, and the thread's messages are numbered densely,
// one for each send stored. (On PostgreSQL a removal and the member's own
// post or read marker at once take the member's row and the thread's in
// the same order, and do not deadlock.)
func TestThreads_RemoveWhileTheySend(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	bobID := apptest.MustMe(t, bob).ID
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var stored atomic.Int64
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			for !stop.Load() {
				m, err := bob.SendMessage(ctx, group.ID, "still here?", "")
				if err == nil {
					stored.Add(1)
					if i == 0 {
						err = bob.MarkRead(ctx, group.ID, m.Seq)
					}
				}
				if err != nil && client.StatusOf(err) != http.StatusNotFound {
					t.Errorf("bob's send or read marker: %v", err)
					return
				}
			}
		})
	}
	for range 20 {
		if err := alice.RemoveParticipant(ctx, group.ID, bobID); err != nil {
			t.Fatal(err)
		}
		if _, err := alice.AddParticipant(ctx, group.ID, "bob"); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	page, err := alice.Messages(ctx, group.ID, client.MessagesQuery{Limit: parley.MaxMessageLimit})
	if err != nil {
		t.Fatal(err)
	}
	th, err := alice.Thread(ctx, group.ID)
	if err != nil {
		t.Fatal(err)
	}
	if th.LastSeq != stored.Load() {
		t.Errorf("the thread's last seq is %d, for %d sends stored", th.LastSeq, stored.Load())
	}
	for i, m := range page.Messages {
		if i > 0 && m.Seq != page.Messages[i-1].Seq+1 {
			t.Fatalf("seq %d follows %d", m.Seq, page.Messages[i-1].Seq)
		}
	}
}
