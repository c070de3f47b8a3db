package web_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A group's page shows what its members did to it among its messages,
// where it happened, in the words of the member who reads it: who started
// it, added whom, renamed it, removed whom, left. Pages of older messages
// and the parts the script fetches carry the notes among their messages,
// and no others.
func TestMessenger_GroupTimeline(t *testing.T) {
	env := apptest.Start(t)
	ctx := t.Context()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, group.ID, "hi")
	if _, err := alice.AddParticipant(ctx, group.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, carol, group.ID, "hello")
	title := "Film club"
	if _, err := alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil { // the same name: no note
		t.Fatal(err)
	}
	if err := alice.RemoveParticipant(ctx, group.ID, apptest.MustMe(t, carol).ID); err != nil {
		t.Fatal(err)
	}
	a, b := newScriptless(t, env.URL), newScriptless(t, env.URL)
	a.signIn("alice")
	b.signIn("bob")

	wantLines(t, "alice's page", a.get("/t/"+group.ID).body,
		"You started the group “Plans”", "hi", "You added Member carol", "hello", "You named the group “Film club”", "You removed Member carol")
	wantLines(t, "bob's page", b.get("/t/"+group.ID).body,
		"Member alice started the group “Plans”", "hi", "Member alice added Member carol", "hello", "Member alice named the group “Film club”", "Member alice removed Member carol")

	if err := bob.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AddParticipant(ctx, group.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	c := newScriptless(t, env.URL)
	c.signIn("carol")
	wantLines(t, "carol's page, added back", c.get("/t/"+group.ID).body,
		"Member alice started the group “Plans”", "hi", "Member alice added you", "hello", "Member alice named the group “Film club”",
		"Member alice removed you", "Member bob left", "Member alice added you")

	// A member who deletes their account leaves their groups, which say so.
	dave := env.MustMember(t, "dave")
	apptest.MustFriends(t, alice, dave)
	other, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"dave", "carol"}, Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	if err := dave.DeleteAccount(ctx, apptest.Password("dave")); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "the page of a group a member left by deleting their account", a.get("/t/"+other.ID).body,
		"You started the group", parley.DeletedDisplayName+" left")

	t.Run("Pages", func(t *testing.T) {
		for i := range 60 {
			apptest.MustSend(t, alice, group.ID, fmt.Sprintf("m%d", i+3))
			if i == 7 { // after message 10, m10
				title := "Ten"
				if _, err := alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil {
					t.Fatal(err)
				}
			}
		}
		newest := a.get("/t/" + group.ID).body // messages 13 to 62
		if strings.Contains(newest, "“Ten”") || strings.Contains(newest, "started the group") {
			t.Errorf("the newest messages' page shows notes from among older messages:\n%s", newest)
		}
		wantLines(t, "the older page", a.get("/t/"+group.ID+"?before=13").body,
			"You started the group “Plans”", "hi", "You added Member carol", "hello", "You named the group “Film club”", "You removed Member carol",
			"Member bob left", "You added Member carol", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10", "You named the group “Ten”", "m11", "m12")
		wantLines(t, "the part after message 9", a.get("/t/"+group.ID+"/messages?after=9&limit=2").body, "m10", "You named the group “Ten”", "m11")
		wantLines(t, "the part before message 11", a.get("/t/"+group.ID+"/messages?before=11&limit=1").body, "m10", "You named the group “Ten”")
		wantLines(t, "the part after message 10", a.get("/t/"+group.ID+"/messages?after=10&limit=1").body, "You named the group “Ten”", "m11")
	})
}

// TestMessenger_GroupTimelineBounded: however often members change a group
// between two messages, its page and the parts the script fetches show at
// most 200 notes, the latest, and say where earlier ones are left out.
func TestMessenger_GroupTimelineBounded(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := t.Context()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, group.ID, "hi")
	// alice and bob take turns renaming it: 250 notes after the message.
	const renames, bound = 250, 200
	for i := range renames {
		title := fmt.Sprintf("title %d", i)
		if _, err := []*client.Client{alice, bob}[i%2].UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"hi", "Earlier changes to the group are not shown."}
	for i := renames - bound; i < renames; i++ {
		who := "You"
		if i%2 == 1 {
			who = "Member bob"
		}
		want = append(want, fmt.Sprintf("%s named the group “title %d”", who, i))
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	wantLines(t, "alice's page", a.get("/t/"+group.ID).body, want...)
	wantLines(t, "the part after message 0", a.get("/t/"+group.ID+"/messages?after=0&limit=1").body, want...)
}

// line is a message's text, a note's, or the line that says notes are left
// out, in a page's list.
var line = regexp.MustCompile(`<p class="bubble">([^<]*)</p>|<li id="n[^"]*" data-seq="[0-9]+\.5" class="gnote"(?: data-by-me)?><p>([^<]*) <time|<li id="nn[^"]*" data-seq="[0-9]+\.4" class="notes-left-out"><p>([^<]*)</p>`)

// wantLines checks the messages and notes a page's list shows, in order.
func wantLines(t *testing.T, what, body string, want ...string) {
	t.Helper()
	var got []string
	for _, m := range line.FindAllStringSubmatch(body, -1) {
		got = append(got, m[1]+m[2]+m[3])
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s shows\n%q\nwant\n%q", what, got, want)
	}
}
