package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessageEdit: a member edits their own text message for everyone in
// the thread, who are told; an app edits only what it wrote itself, and
// every app whose grant reaches the message learns of the edit. Nothing
// else is edited: others' messages, share cards, deleted messages, a
// blocked conversation's, nor with a body that is not a message's text.
func TestMessageEdit(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	partner := w.env.MustPartner(t, "Receipts")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "messages.write", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
	// Made before carol blocks alice, which ends their friendship.
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("AnEditIsEveryones", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "see you at 8")
		bobsStream := mustEvents(t, w.bob)
		got, err := w.alice.EditMessage(ctx, m.ID, "see you at 9")
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != m.ID || got.Seq != m.Seq || got.Text != "see you at 9" || got.EditedAt == nil || got.EditedAt.Before(m.CreatedAt) {
			t.Fatalf("EditMessage = %+v, want message %d with the new text, edited after it was sent", got, m.Seq)
		}
		ev := nextData[client.Message](t, ctx, bobsStream, client.EventMessageEdited)
		if ev.ID != m.ID || ev.Text != "see you at 9" || ev.EditedAt == nil {
			t.Fatalf("bob's message.edited = %+v, want the message with its new text", ev)
		}
		page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		last := page.Messages[len(page.Messages)-1]
		if last.ID != m.ID || last.Text != "see you at 9" || last.EditedAt == nil || !last.EditedAt.Equal(*got.EditedAt) {
			t.Fatalf("bob's history ends with %+v, want the edited message in its place", last)
		}
		changes, err := w.bob.Changes(ctx, w.aliceBob, client.ChangesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if c := changes.Changes[len(changes.Changes)-1]; c.Type != client.EventMessageEdited || c.Message.ID != m.ID || c.Message.Text != "see you at 9" {
			t.Fatalf("bob's last change = %s %+v, want the edit", c.Type, c.Message)
		}
	})
	t.Run("TheTextItHasTellsNoOne", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "unchanged")
		bobsStream := mustEvents(t, w.bob)
		got, err := w.alice.EditMessage(ctx, m.ID, "unchanged")
		if err != nil || got.Text != "unchanged" || got.EditedAt != nil {
			t.Fatalf("EditMessage = %+v, %v; want the message as it was, never edited", got, err)
		}
		next := apptest.MustSend(t, w.alice, w.aliceBob, "next")
		for {
			ev, err := bobsStream.Next(ctx)
			if err != nil || ev.Type == client.EventMessageEdited {
				t.Fatalf("bob's stream: %+v, %v; want the next message, nothing of an edit", ev, err)
			}
			if isMessageCreated(ev, next.ID) {
				break
			}
		}
	})
	t.Run("ARetryOfItsSendStillFindsIt", func(t *testing.T) {
		// A send answered too late for its client, edited meanwhile from
		// another: the retry is answered with the message as it now is.
		m, err := w.alice.SendMessage(ctx, w.aliceBob, "see you at 10", "key-edited")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.alice.EditMessage(ctx, m.ID, "see you at 11"); err != nil {
			t.Fatal(err)
		}
		again, err := w.alice.SendMessage(ctx, w.aliceBob, "see you at 10", "key-edited")
		if err != nil || again.ID != m.ID || again.Text != "see you at 11" {
			t.Fatalf("the retry = %+v, %v; want message %d as edited", again, err, m.Seq)
		}
	})
	t.Run("OnlyTheSender", func(t *testing.T) {
		m := apptest.MustSend(t, w.bob, w.aliceBob, "bob's words")
		_, err := w.alice.EditMessage(ctx, m.ID, "put in bob's mouth")
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		// Someone not in the thread learns not even that it exists.
		_, err = w.carol.EditMessage(ctx, m.ID, "carol was here")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		wantText(t, ctx, w.bob, w.aliceBob, m.ID, "bob's words")
	})
	t.Run("NotAShareCard", func(t *testing.T) {
		share, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film", Note: "watch it"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client.Client{w.alice, app} {
			_, err := c.EditMessage(ctx, share.ID, "a new note")
			wantProblem(t, err, http.StatusConflict, "conflict")
		}
		wantText(t, ctx, w.alice, w.aliceBob, share.ID, "watch it")
	})
	t.Run("NotADeletedMessage", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "soon gone")
		if err := w.alice.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		_, err := w.alice.EditMessage(ctx, m.ID, "back again")
		wantProblem(t, err, http.StatusConflict, "conflict")
		wantText(t, ctx, w.alice, w.aliceBob, m.ID, "")
	})
	t.Run("NotInABlockedConversation", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceCarol, "said before the block")
		blocked, err := w.carol.Block(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.alice.EditMessage(ctx, m.ID, "changed after it")
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		wantText(t, ctx, w.carol, w.aliceCarol, m.ID, "said before the block")
		if err := w.carol.Unblock(ctx, blocked.User.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "as it was")
		for _, body := range []string{
			`{}`, `{"text": ""}`, `{"text": "  \n "}`, `{"text": null}`, `{"text": 7}`, `{"text": "a\u0000b"}`,
			`{"text": "` + strings.Repeat("é", parley.MaxTextLen+1) + `"}`, `{"text": "ok", "kind": "share"}`, `[]`, `"text"`,
		} {
			_, err := w.alice.Do(ctx, "PATCH", "/api/v1/messages/"+m.ID, json.RawMessage(body), nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("PATCH %.40s: %v, want 400", body, err)
			}
		}
		wantText(t, ctx, w.alice, w.aliceBob, m.ID, "as it was")
	})
	t.Run("AnAppEditsWhatItWrote", func(t *testing.T) {
		m, err := app.SendMessage(ctx, w.aliceBob, "transfer pending", "")
		if err != nil {
			t.Fatal(err)
		}
		appStream := mustEvents(t, app)
		got, err := app.EditMessage(ctx, m.ID, "transfer done")
		if err != nil || got.Text != "transfer done" || got.Via == nil || got.Via.ClientID != partner.App.ClientID {
			t.Fatalf("the app's edit = %+v, %v; want its message, still via it, with the new text", got, err)
		}
		if ev := nextData[client.Message](t, ctx, appStream, client.EventMessageEdited); ev.ID != m.ID || ev.Text != "transfer done" {
			t.Fatalf("the app's stream tells of %+v, want its edit", ev)
		}
		// Both members' logs show the app sending the message, editing it,
		// as such, and its stream reading the edit.
		const want = "messages.read message.edited messages.write"
		for _, c := range []*client.Client{w.alice, w.bob} {
			if got := loggedOf(t, ctx, c, m.ID); strings.Join(got, " ") != want {
				t.Errorf("a member's log holds %q of the message, newest first, want %s", got, want)
			}
		}
		// Its text again is no edit, but the app is answered with the
		// message as it now is: a read of it, as a retried send's answer is.
		if _, err := app.EditMessage(ctx, m.ID, "transfer done"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client.Client{w.alice, w.bob} {
			if got := loggedOf(t, ctx, c, m.ID); strings.Join(got, " ") != "messages.read "+want {
				t.Errorf("a member's log holds %q of the message after an edit that changed nothing, want messages.read %s", got, want)
			}
		}
	})
	t.Run("AnAppThatOnlyWritesIsNotToldTheReactions", func(t *testing.T) {
		// Reactions are messages.read's to read: an app that only writes
		// is answered with what it wrote, edited or sent again, not with
		// what the members felt about it.
		writer := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Writer"), "alice", []string{"openid", "messages.write", "participants.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		m, err := writer.SendMessage(ctx, w.aliceBob, "receipt: pending", "key-receipt")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.bob.React(ctx, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct {
			what   string
			answer func() (*client.Message, error)
		}{
			{"an edit", func() (*client.Message, error) { return writer.EditMessage(ctx, m.ID, "receipt: paid") }},
			{"an edit to the same text", func() (*client.Message, error) { return writer.EditMessage(ctx, m.ID, "receipt: paid") }},
			{"a retried send", func() (*client.Message, error) {
				return writer.SendMessage(ctx, w.aliceBob, "receipt: pending", "key-receipt")
			}},
		} {
			got, err := a.answer()
			if err != nil || got.ID != m.ID || len(got.Reactions) != 0 {
				t.Errorf("%s answers %+v, %v; want the message without its reactions", a.what, got, err)
			}
		}
		if got, err := w.alice.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil || len(got.Messages[len(got.Messages)-1].Reactions) != 1 {
			t.Errorf("alice's page after the app's answers: %+v, %v; want bob's reaction kept", got, err)
		}
	})
	t.Run("AnAppDoesNotRewriteTheMembersWords", func(t *testing.T) {
		// What the app did not write is, to it, no message it can edit
		// (refusals_test.go).
		own := apptest.MustSend(t, w.alice, w.aliceBob, "typed by alice")
		_, err := app.EditMessage(ctx, own.ID, "rewritten by the app")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		other := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Other"), "alice", []string{"openid", "messages.write"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		viaOther, err := other.SendMessage(ctx, w.aliceBob, "through another app", "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = app.EditMessage(ctx, viaOther.ID, "rewritten by the app")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		// The member edits what any app wrote for them.
		if got, err := w.alice.EditMessage(ctx, viaOther.ID, "mended by alice"); err != nil || got.Text != "mended by alice" {
			t.Fatalf("alice's edit of her message through an app = %+v, %v", got, err)
		}
		reader := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Reader"), "alice", []string{"openid", "messages.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		_, err = reader.EditMessage(ctx, own.ID, "rewritten by a reader")
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
		wantText(t, ctx, w.alice, w.aliceBob, own.ID, "typed by alice")
	})
	t.Run("NotOnceTheMemberLeft", func(t *testing.T) {
		m := apptest.MustSend(t, w.carol, group.ID, "I'll bring the tent")
		if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.carol.EditMessage(ctx, m.ID, "no tent after all")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		wantText(t, ctx, w.alice, group.ID, m.ID, "I'll bring the tent")
	})
}

// wantText fails the test unless the member reads the message in the
// thread with the text want.
func wantText(t *testing.T, ctx context.Context, c *client.Client, threadID, messageID, want string) {
	t.Helper()
	if m := messageIn(t, ctx, c, threadID, messageID); m.Text != want {
		t.Errorf("message %d reads %q, want %q", m.Seq, m.Text, want)
	}
}

// loggedOf returns the actions of the member's access log entries that
// name the message, newest first.
func loggedOf(t *testing.T, ctx context.Context, c *client.Client, messageID string) []string {
	t.Helper()
	var log struct{ Entries []client.AccessEntry }
	if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log?limit=200", nil, &log); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log.Entries {
		if slices.Contains(e.MessageIDs, messageID) {
			actions = append(actions, e.Action)
		}
	}
	return actions
}
