package httpapi_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// changeList renders changes as "type:text" for comparing; a deletion
// shows the message it deleted by ID, since a tombstone has no text.
func changeList(changes []client.MessageChange) []string {
	var out []string
	for _, c := range changes {
		what := c.Message.Text
		if c.Type == client.EventMessageDeleted {
			what = c.Message.ID
			if c.Message.DeletedAt == nil || c.Message.Text != "" {
				what += " (not a tombstone)"
			}
		}
		out = append(out, c.Type+":"+what)
	}
	return out
}

// A member who was away catches up on a thread through its changes: what
// was posted and what was deleted since, in the order it happened, a page
// at a time, resuming from the cursor they kept. Reading forward by seq
// (after=SEQ) still works but never shows the deletion.
func TestChanges_CatchUp(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	one, two := apptest.MustSend(t, alice, th, "one"), apptest.MustSend(t, bob, th, "two")
	apptest.MustSend(t, alice, th, "three")

	first, err := bob.Changes(ctx, th, client.ChangesQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeList(first.Changes), []string{"message.created:one", "message.created:two"}; !slices.Equal(got, want) || !first.HasMore {
		t.Fatalf("first page %v (has_more %v), want %v with more", got, first.HasMore, want)
	}
	second, err := bob.Changes(ctx, th, client.ChangesQuery{Cursor: first.NextCursor, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeList(second.Changes), []string{"message.created:three"}; !slices.Equal(got, want) || second.HasMore {
		t.Fatalf("second page %v (has_more %v), want %v and no more", got, second.HasMore, want)
	}
	kept := second.NextCursor

	// Bob is away: alice deletes a message he read, and posts and deletes
	// one he never saw.
	if err := alice.DeleteMessage(ctx, one.ID); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, th, "four")
	regretted := apptest.MustSend(t, alice, th, "regretted")
	if err := alice.DeleteMessage(ctx, regretted.ID); err != nil {
		t.Fatal(err)
	}
	changes, cursor, err := bob.CatchUp(ctx, th, kept, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeList(changes), []string{"message.deleted:" + one.ID, "message.created:four", "message.deleted:" + regretted.ID}; !slices.Equal(got, want) {
		t.Fatalf("catching up: %v, want %v", got, want)
	}
	again, err := bob.Changes(ctx, th, client.ChangesQuery{Cursor: cursor})
	if err != nil || len(again.Changes) != 0 || again.HasMore || again.NextCursor != cursor {
		t.Fatalf("nothing new: %+v, %v; want no change and the same cursor back", again, err)
	}
	// The old way sees the new message but not the deletions.
	forward, err := bob.Messages(ctx, th, client.MessagesQuery{After: client.Seq(two.Seq)})
	if err != nil || len(forward.Messages) != 3 || forward.Messages[0].Text != "three" {
		t.Fatalf("after=%d: %+v, %v", two.Seq, forward, err)
	}

	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Kind: client.ThreadGroup, Title: "group"})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, alice, group.ID, "in the group")
	ofGroup, err := bob.Changes(ctx, group.ID, client.ChangesQuery{})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("ErrBadCursor", func(t *testing.T) {
		for name, cursor := range map[string]string{
			"Garbage":     "not-a-cursor",
			"MadeUp":      "MTIz", // "123"
			"OtherThread": ofGroup.NextCursor,
		} {
			t.Run(name, func(t *testing.T) {
				_, err := bob.Changes(ctx, th, client.ChangesQuery{Cursor: cursor})
				wantProblem(t, err, http.StatusBadRequest, "invalid")
			})
		}
	})
	// A cursor of bob's inbox whose page ends with the group names the
	// group too, but is no cursor of its changes; nor is one of them a
	// cursor of the inbox.
	t.Run("ErrCursorOfAnotherList", func(t *testing.T) {
		inbox, err := bob.Threads(ctx, client.ThreadsQuery{Limit: 1})
		if err != nil || len(inbox.Threads) != 1 || inbox.Threads[0].ID != group.ID || inbox.NextCursor == "" {
			t.Fatalf("bob's inbox: %+v, %v; want the group first, and more", inbox, err)
		}
		_, err = bob.Changes(ctx, group.ID, client.ChangesQuery{Cursor: inbox.NextCursor})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		_, err = bob.Threads(ctx, client.ThreadsQuery{Cursor: ofGroup.NextCursor})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	})
	t.Run("ErrLimit", func(t *testing.T) {
		_, err := bob.Changes(ctx, th, client.ChangesQuery{Limit: parley.MaxMessageLimit + 1})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	})
	t.Run("NotAMember", func(t *testing.T) {
		eve := env.MustMember(t, "eve")
		_, err := eve.Changes(ctx, th, client.ChangesQuery{})
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	// A member who left a thread reads neither its history nor its
	// changes, as before they joined.
	t.Run("LeftTheThread", func(t *testing.T) {
		if err := bob.LeaveThread(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		_, err := bob.Messages(ctx, group.ID, client.MessagesQuery{})
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = bob.Changes(ctx, group.ID, client.ChangesQuery{Cursor: ofGroup.NextCursor})
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
}

// An app's changes feed shows exactly what its history shows: nothing
// before the first message its grant reaches, not even a deletion there,
// and nothing once a participant closes the thread to apps. Each read is
// written to every participant's access log as a history read is.
func TestChanges_AppSeesWhatHistoryShows(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	before, err := w.alice.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if err != nil || len(before.Messages) != 1 {
		t.Fatalf("the thread before the app: %+v, %v", before, err)
	}
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	reply := apptest.MustSend(t, w.bob, w.aliceBob, "thanks")
	// A change before the app's first message: never the app's to see.
	if err := w.alice.DeleteMessage(ctx, before.Messages[0].ID); err != nil {
		t.Fatal(err)
	}

	changes, err := app.Changes(ctx, w.aliceBob, client.ChangesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := changeList(changes.Changes), []string{"message.created:" + card.Text, "message.created:thanks"}; !slices.Equal(got, want) {
		t.Fatalf("the app's changes %v, want %v", got, want)
	}
	logged := func(c *client.Client) *parley.AccessEntry {
		t.Helper()
		entries := accessLog(t, c, "?limit=1").Entries
		if len(entries) != 1 {
			t.Fatal("nothing logged")
		}
		return entries[0]
	}
	same := func(a, b *parley.AccessEntry) bool {
		return a.Action == b.Action && a.ThreadID == b.ThreadID && a.ClientID == b.ClientID && a.GrantID == b.GrantID &&
			a.MessageCount == b.MessageCount && a.FirstSeq == b.FirstSeq && a.LastSeq == b.LastSeq && slices.Equal(a.MessageIDs, b.MessageIDs)
	}
	byChanges := map[string]*parley.AccessEntry{"alice": logged(w.alice), "bob": logged(w.bob)}
	if e := byChanges["alice"]; e.Action != string(parley.ScopeMessagesRead) || !slices.Equal(e.MessageIDs, []string{card.ID, reply.ID}) {
		t.Fatalf("alice's log has %+v for the changes read", e)
	}
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{After: client.Seq(0)}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
		if byHistory := logged(c); !same(byChanges[name], byHistory) || byHistory.Seq != byChanges[name].Seq+1 {
			t.Errorf("%s's log: the changes read is %+v, the history read %+v; want the same record", name, byChanges[name], byHistory)
		}
	}
	if got := accessLog(t, w.carol, ""); len(got.Entries) != 0 {
		t.Errorf("carol, not in the thread, has %v", actions(got))
	}

	if _, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
		t.Fatal(err)
	}
	_, err = app.Changes(ctx, w.aliceBob, client.ChangesQuery{Cursor: changes.NextCursor})
	wantProblem(t, err, http.StatusNotFound, "not_found")
}

// A thread that left an app's reach and came back into it (the member
// disconnected the app, which keeps a thread taken out of its grant out
// for the grant's life, connected it again, and the app shared into the
// thread again) is seen from the new card on:
// what changed before it, a deletion among it, is not in the feed, so a
// cursor of the earlier reach is refused (409), lest the app read on past
// the deletion of a message it kept. Read again from an empty cursor, the
// thread is as the app may see it now; the reply bob deletes is not in it.
func TestChanges_ACursorOfAnEarlierReachIsRefused(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	partner := env.MustPartner(t, "Movie Club")
	scopes := []string{"openid", "shares.write", "messages.read"}
	app := env.Client.WithToken(env.MustToken(t, partner, "alice", scopes, apptest.Answer{}).AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://movieclub.example/films/1", Title: "The General"})
	if err != nil {
		t.Fatal(err)
	}
	reply := apptest.MustSend(t, bob, card.ThreadID, "watched it, loved it")
	_, cursor, err := app.CatchUp(ctx, card.ThreadID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	grants, err := alice.ConnectedApps(ctx)
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants %+v, %v", grants, err)
	}
	if err := alice.RevokeGrant(ctx, grants[0].ID); err != nil {
		t.Fatal(err)
	}
	app = env.Client.WithToken(env.MustToken(t, partner, "alice", scopes, apptest.Answer{}).AccessToken)
	second, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://movieclub.example/films/2", Title: "Sherlock Jr."})
	if err != nil || second.ThreadID != card.ThreadID {
		t.Fatalf("the second card: %+v, %v", second, err)
	}
	_, _, err = app.CatchUp(ctx, card.ThreadID, cursor, 0)
	wantProblem(t, err, http.StatusConflict, "conflict")

	changes, _, err := app.CatchUp(ctx, card.ThreadID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.DeleteMessage(ctx, reply.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.Message.ID == reply.ID || c.Message.Seq < second.Seq {
			t.Errorf("read anew, the feed holds %s of message %d, before the second card (%d)", c.Type, c.Message.Seq, second.Seq)
		}
	}
}
