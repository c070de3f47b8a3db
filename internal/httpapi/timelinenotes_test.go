package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessages_IncludeNotes: a group's page of messages carries, when
// asked, the timeline notes among its messages, in the order they were
// made: each note with one page of the group read back in time, and with
// one read forward. Apps may not ask for them; include is notes or
// nothing.
func TestMessages_IncludeNotes(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, w.alice, group.ID, "one")
	apptest.MustSend(t, w.bob, group.ID, "two")
	if _, err := w.alice.AddParticipant(ctx, group.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, w.carol, group.ID, "three")
	trip := "Trip"
	if _, err := w.bob.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &trip}); err != nil {
		t.Fatal(err)
	}
	if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	type note struct {
		kind     string
		afterSeq int64
		by, what string // what: the subject's username or the title
	}
	read := func(q client.MessagesQuery) []note {
		t.Helper()
		q.Notes = true
		page, err := w.alice.Messages(ctx, group.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		if page.HasMoreNotes {
			t.Errorf("%+v: has_more_notes with %d notes", q, len(page.Notes))
		}
		var notes []note
		for _, n := range page.Notes {
			what := n.Title
			if n.Subject != nil {
				what = n.Subject.Username
			}
			notes = append(notes, note{n.Kind, n.AfterSeq, n.By.Username, what})
		}
		return notes
	}
	started, added := note{client.NoteStarted, 0, "alice", "Plans"}, note{client.NoteAdded, 2, "alice", "carol"}
	renamed, left := note{client.NoteRenamed, 3, "bob", "Trip"}, note{client.NoteLeft, 3, "carol", ""}
	for _, tc := range []struct {
		name string
		q    client.MessagesQuery
		want []note
	}{
		{"the newest page", client.MessagesQuery{}, []note{started, added, renamed, left}},
		{"the newest message", client.MessagesQuery{Limit: 1}, []note{renamed, left}},
		{"back: the one before", client.MessagesQuery{Before: client.Seq(3), Limit: 1}, []note{added}},
		{"back: the first", client.MessagesQuery{Before: client.Seq(2), Limit: 1}, []note{started}},
		{"forward: the first two", client.MessagesQuery{After: client.Seq(0), Limit: 2}, []note{started}},
		{"forward: the rest", client.MessagesQuery{After: client.Seq(2), Limit: 2}, []note{added, renamed, left}},
	} {
		if got := read(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: notes %+v, want %+v", tc.name, got, tc.want)
		}
	}
	// Without include, none.
	if page, err := w.alice.Messages(ctx, group.ID, client.MessagesQuery{}); err != nil || page.Notes != nil {
		t.Errorf("a page not asked for notes: %+v, %v", page.Notes, err)
	}
	// A direct thread has none.
	if page, err := w.alice.Messages(ctx, w.aliceBob, client.MessagesQuery{Notes: true}); err != nil || len(page.Notes) != 0 {
		t.Errorf("a direct thread's notes: %+v, %v", page.Notes, err)
	}
	// carol left: the group is not found for her, with its notes.
	_, err = w.carol.Messages(ctx, group.ID, client.MessagesQuery{Notes: true})
	wantProblem(t, err, http.StatusNotFound, "not_found")

	_, err = w.alice.Do(ctx, "GET", "/api/v1/threads/"+group.ID+"/messages?include=messages:2", nil, nil)
	wantProblem(t, err, http.StatusBadRequest, "invalid")
	partner := w.env.MustPartner(t, "Planner")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "participants.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group.ID}}).AccessToken)
	if _, err := app.Messages(ctx, group.ID, client.MessagesQuery{}); err != nil {
		t.Fatalf("the app reads the group: %v", err)
	}
	_, err = app.Messages(ctx, group.ID, client.MessagesQuery{Notes: true})
	wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
}

// TestMessages_IncludeNotesBounded: however often members change a group
// between two messages, a page with its notes carries at most 200 of
// them, the latest, and says that earlier ones were left out, whatever
// the page's limit and the way it is read.
func TestMessages_IncludeNotesBounded(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, carol, group.ID, "hi all")
	// alice and bob take turns renaming the group: 250 notes after the
	// message, and the one that started it before.
	const renames, bound = 250, 200
	for i := range renames {
		title := fmt.Sprintf("title %d", i)
		if _, err := []*client.Client{alice, bob}[i%2].UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    client.MessagesQuery
	}{
		{"the newest page", client.MessagesQuery{}},
		{"the newest message", client.MessagesQuery{Limit: 1}},
		{"forward from the start", client.MessagesQuery{After: client.Seq(0), Limit: 1}},
	} {
		tc.q.Notes = true
		page, err := carol.Messages(ctx, group.ID, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 1 || len(page.Notes) != bound || !page.HasMoreNotes {
			t.Errorf("%s: %d messages, %d notes, has_more_notes %v; want 1, %d, true", tc.name, len(page.Messages), len(page.Notes), page.HasMoreNotes, bound)
			continue
		}
		for i, n := range page.Notes {
			if want := fmt.Sprintf("title %d", renames-bound+i); n.Kind != client.NoteRenamed || n.Title != want || n.AfterSeq != 1 {
				t.Errorf("%s: note %d is %s %q after %d, want the rename to %q after 1", tc.name, i, n.Kind, n.Title, n.AfterSeq, want)
				break
			}
		}
	}
	// The answer says so in JSON, and only when notes were asked for.
	var page map[string]any
	if _, err := carol.Do(ctx, "GET", "/api/v1/threads/"+group.ID+"/messages?include=notes&limit=1", nil, &page); err != nil || page["has_more_notes"] != true {
		t.Errorf("has_more_notes in the JSON answer: %v, %v", page["has_more_notes"], err)
	}
	page = nil
	if _, err := carol.Do(ctx, "GET", "/api/v1/threads/"+group.ID+"/messages?limit=1", nil, &page); err != nil || page["has_more_notes"] != nil {
		t.Errorf("a page not asked for notes has has_more_notes: %v, %v", page["has_more_notes"], err)
	}
}

// TestMessages_RenamesInARowAreOneNote: a member who renames a group again
// and again, with no message or other change between, leaves one note in
// its timeline, which names it as they named it last; after a message, a
// renaming is a note of its own again.
func TestMessages_RenamesInARowAreOneNote(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, group.ID, "hi")
	rename := func(c *client.Client, title string) {
		t.Helper()
		if _, err := c.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		rename(alice, fmt.Sprintf("title %d", i))
	}
	apptest.MustSend(t, bob, group.ID, "what is it called now?")
	rename(alice, "Trip")
	rename(bob, "Our trip")
	rename(alice, "The trip")
	page, err := bob.Messages(ctx, group.ID, client.MessagesQuery{Notes: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range page.Notes {
		got = append(got, fmt.Sprintf("%s %s %q after %d", n.By.Username, n.Kind, n.Title, n.AfterSeq))
	}
	want := []string{
		`alice started "Plans" after 0`,
		`alice renamed "title 299" after 1`,
		`alice renamed "Trip" after 2`,
		`bob renamed "Our trip" after 2`,
		`alice renamed "The trip" after 2`,
	}
	if !slices.Equal(got, want) || page.HasMoreNotes {
		t.Errorf("notes\n%q, has_more_notes %v\nwant\n%q", got, page.HasMoreNotes, want)
	}
}
