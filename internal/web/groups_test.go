package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// The member who started a group removes someone from its Manage menu; the
// menu of anyone else in it offers no removal, until the starter leaves
// and the member in it longest keeps the group.
func TestMessenger_RemoveFromAGroup(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	carol := env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group, err := alice.CreateThread(t.Context(), client.NewThread{Participants: []string{"bob", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	carolID := apptest.MustMe(t, carol).ID
	a, b := newScriptless(t, env.URL), newScriptless(t, env.URL)
	a.signIn("alice")
	b.signIn("bob")

	if theirs := b.get("/t/" + group.ID); strings.Contains(theirs.body, `action="/t/`+group.ID+`/remove"`) {
		t.Errorf("bob, who did not start the group, is offered to remove people:\n%s", theirs.body)
	}
	page := a.get("/t/" + group.ID)
	for _, want := range []string{`action="/t/` + group.ID + `/remove"`, `<option value="` + carolID + `">Member carol (@carol)</option>`} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("alice's group lacks %s:\n%s", want, page.body)
		}
	}
	if strings.Contains(page.body, `(@alice)</option>`) {
		t.Errorf("alice is offered to remove herself")
	}
	removed := a.post(page, "/t/"+group.ID+"/remove", url.Values{"user": {carolID}})
	if removed.url.Path != "/t/"+group.ID || !strings.Contains(removed.body, "2 people: ") || strings.Contains(removed.body, "@carol</span>") {
		t.Fatalf("removing carol ends at %s:\n%s", removed.url, removed.body)
	}
	if _, err := carol.Thread(t.Context(), group.ID); err == nil {
		t.Error("carol still reads the group she was removed from")
	}
	// Removing oneself is leaving, and ends, as leaving does, at the chats.
	bobID := apptest.MustMe(t, bob).ID
	if left := b.post(b.get("/t/"+group.ID), "/t/"+group.ID+"/remove", url.Values{"user": {bobID}}); left.url.Path != "/" || left.status != http.StatusOK {
		t.Errorf("bob removing himself ends at %d %s", left.status, left.url)
	}
	if _, err := bob.Thread(t.Context(), group.ID); err == nil {
		t.Error("bob still reads the group he removed himself from")
	}

	// Once its starter left a group, the member in it longest keeps it.
	club, err := alice.CreateThread(t.Context(), client.NewThread{Participants: []string{"bob"}, Title: "Club", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AddParticipant(t.Context(), club.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	if err := alice.LeaveThread(t.Context(), club.ID); err != nil {
		t.Fatal(err)
	}
	page = b.get("/t/" + club.ID)
	for _, want := range []string{`<option value="` + carolID + `">Member carol (@carol)</option>`, "You have been in this group longest since the member who started it left"} {
		if !strings.Contains(page.body, want) {
			t.Fatalf("bob's group, once alice left it, lacks %s:\n%s", want, page.body)
		}
	}
}
