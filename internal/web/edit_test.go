package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_EditAMessage: a member's own text messages offer an Edit
// form holding their text, and nothing else does; saving it, without a
// script, changes the message for everyone, who see it marked edited, and
// goes back to the message. What the service refuses changes nothing.
func TestMessenger_EditAMessage(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	mine := apptest.MustSend(t, bob, th.ID, "see you at <8>\nat the station")
	theirs := apptest.MustSend(t, alice, th.ID, "alice's words")
	card, err := bob.Share(ctx, client.NewShare{To: "alice", URL: "https://films.example/1", Title: "A film", Note: "watch it"})
	if err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("bob")
	edit := func(id string) string { return "/t/" + th.ID + "/messages/" + id + "/edit" }

	thread := b.get("/t/" + th.ID)
	forms := regexp.MustCompile(`<form method="post" action="([^"]+/edit)">`).FindAllStringSubmatch(thread.body, -1)
	if len(forms) != 1 || forms[0][1] != edit(mine.ID) {
		t.Fatalf("the page offers edit forms %q, want one, of bob's text message", forms)
	}
	// The field holds the text as it is: its first line, and markup as
	// text. It sets no maxlength, which a browser counts in UTF-16 units:
	// a message of emoji the server takes could not be saved.
	field := regexp.MustCompile(`(?s)<textarea id="edit-1"([^>]*)>(.*?)</textarea>`).FindStringSubmatch(thread.body)
	if field == nil || html.UnescapeString(strings.TrimPrefix(field[2], "\n")) != mine.Text || strings.Contains(field[1], "maxlength") {
		t.Fatalf("the edit field is %q, want it to hold %q, with no maxlength", field, mine.Text)
	}

	t.Run("SavedForEveryone", func(t *testing.T) {
		after := b.post(thread, edit(mine.ID), url.Values{"text": {"see you at 9"}})
		if after.url.Path != "/t/"+th.ID || after.url.Fragment != "m1" || !strings.Contains(after.body, ">see you at 9<") {
			t.Fatalf("saving ends at %s:\n%s", after.url, after.body)
		}
		a := newScriptless(t, env.URL)
		a.signIn("alice")
		for who, page := range map[string]string{"bob": after.body, "alice": a.get("/t/" + th.ID).body} {
			if !regexp.MustCompile(`(?s)<li id="m1".*?<span class="edited">· edited <time datetime="[^"]+"`).MatchString(page) {
				t.Errorf("%s's page does not mark the message edited:\n%s", who, page)
			}
			if strings.Count(page, `class="edited"`) != 1 {
				t.Errorf("%s's page marks %d messages edited, want 1", who, strings.Count(page, `class="edited"`))
			}
		}
	})
	t.Run("LineBreaksAsWritten", func(t *testing.T) {
		// A browser posts a field's line breaks as CRLF: a message is
		// stored with them as written, and saved unchanged is no edit.
		sent := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {"first line\r\nsecond line"}, "key": {"k-crlf"}})
		page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		m := page.Messages[len(page.Messages)-1]
		if m.Text != "first line\nsecond line" {
			t.Fatalf("the message sent from a form reads %q", m.Text)
		}
		b.post(sent, edit(m.ID), url.Values{"text": {"first line\r\nsecond line"}})
		if page, err = alice.Messages(ctx, th.ID, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
		if m := page.Messages[len(page.Messages)-1]; m.Text != "first line\nsecond line" || m.EditedAt != nil {
			t.Errorf("saved unchanged, the message reads %q, edited at %v; want it as it was, never edited", m.Text, m.EditedAt)
		}
	})
	t.Run("RefusedChangesNothing", func(t *testing.T) {
		for name, tc := range map[string]struct {
			id, text string
			status   int
		}{
			"empty":           {mine.ID, "  ", http.StatusBadRequest},
			"another's":       {theirs.ID, "bob's words now", http.StatusForbidden},
			"a share card":    {card.ID, "a new note", http.StatusConflict},
			"no such message": {"nope", "hello", http.StatusNotFound},
		} {
			if p := b.post(thread, edit(tc.id), url.Values{"text": {tc.text}}); p.status != tc.status || !strings.Contains(p.body, `class="error"`) {
				t.Errorf("editing %s: %d, want %d with an error:\n%s", name, p.status, tc.status, p.body)
			}
		}
		page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{"see you at 9", "alice's words", "watch it"} {
			if got := page.Messages[i].Text; got != want {
				t.Errorf("message %d reads %q, want %q", i+1, got, want)
			}
		}
	})
}
