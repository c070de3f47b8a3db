package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessageReaction: a member of a thread gives any message of it one
// reaction at most, changes it and takes it back; everyone in the thread
// sees it live, in the history and in the changes feed. Apps whose grants
// reach the message read its reactions but give none. A deleted message,
// a blocked conversation and a thread the member is not in take none, nor
// does a body that is not one of the few emoji.
func TestMessageReaction(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("EveryoneSeesIt", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "the film was great")
		alicesStream := mustEvents(t, w.alice)
		got, err := w.bob.React(ctx, m.ID, "👍")
		if err != nil || got.ID != m.ID || reactions(got) != "👍1 bob" {
			t.Fatalf("React = %+v, %v; want the message with bob's 👍", got, err)
		}
		if ev := nextData[client.Message](t, ctx, alicesStream, client.EventMessageReacted); ev.ID != m.ID || reactions(&ev) != "👍1 bob" {
			t.Fatalf("alice's message.reacted = %+v, want the message with bob's 👍", ev)
		}
		if _, err := w.alice.React(ctx, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		// bob changes his: one reaction each, the latest.
		got, err = w.bob.React(ctx, m.ID, "❤️")
		if err != nil || reactions(got) != "👍1 alice, ❤️1 bob" {
			t.Fatalf("bob's second reaction = %q, %v; want alice's 👍 then bob's ❤️", reactions(got), err)
		}
		for _, c := range []*client.Client{w.alice, w.bob} {
			if r := reactions(messageIn(t, ctx, c, w.aliceBob, m.ID)); r != "👍1 alice, ❤️1 bob" {
				t.Errorf("a member's history shows %q, want alice's 👍 then bob's ❤️", r)
			}
		}
		changes, err := w.alice.Changes(ctx, w.aliceBob, client.ChangesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if c := changes.Changes[len(changes.Changes)-1]; c.Type != client.EventMessageReacted || c.Message.ID != m.ID || reactions(c.Message) != "👍1 alice, ❤️1 bob" {
			t.Fatalf("the last change = %s %+v, want the reaction", c.Type, c.Message)
		}
	})
	t.Run("TheReactionItHasTellsNoOne", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "lunch?")
		if _, err := w.bob.React(ctx, m.ID, "😂"); err != nil {
			t.Fatal(err)
		}
		alicesStream := mustEvents(t, w.alice)
		if got, err := w.bob.React(ctx, m.ID, "😂"); err != nil || reactions(got) != "😂1 bob" {
			t.Fatalf("the same reaction again = %q, %v; want it as it was", reactions(got), err)
		}
		wantNoReactionBefore(t, ctx, alicesStream, apptest.MustSend(t, w.alice, w.aliceBob, "next").ID)
	})
	t.Run("TakenBack", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "taken back")
		if _, err := w.bob.React(ctx, m.ID, "😮"); err != nil {
			t.Fatal(err)
		}
		alicesStream := mustEvents(t, w.alice)
		if err := w.bob.TakeBackReaction(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if ev := nextData[client.Message](t, ctx, alicesStream, client.EventMessageReacted); ev.ID != m.ID || ev.Reactions != nil {
			t.Fatalf("alice's message.reacted = %+v, want the message without reactions", ev)
		}
		if r := reactions(messageIn(t, ctx, w.alice, w.aliceBob, m.ID)); r != "" {
			t.Fatalf("the history shows %q after it was taken back", r)
		}
		// Nothing to take back changes nothing, and tells no one.
		if err := w.bob.TakeBackReaction(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		wantNoReactionBefore(t, ctx, alicesStream, apptest.MustSend(t, w.alice, w.aliceBob, "next").ID)
	})
	t.Run("AShareCardKeepsTheReadersLink", func(t *testing.T) {
		// A card reacted to comes with each reader's own link, as it came
		// when it was sent.
		card, err := w.alice.Share(ctx, client.NewShare{To: "bob", URL: "https://books.example/7", Title: "Read this"})
		if err != nil {
			t.Fatal(err)
		}
		bobsStream := mustEvents(t, w.bob)
		if _, err := w.alice.React(ctx, card.ID, "❤️"); err != nil {
			t.Fatal(err)
		}
		ev := nextData[client.Message](t, ctx, bobsStream, client.EventMessageReacted)
		read := messageIn(t, ctx, w.bob, w.aliceBob, card.ID)
		if ev.Share == nil || ev.Share.Link == "" || ev.Share.Link != read.Share.Link {
			t.Fatalf("bob's message.reacted carries the card %+v, want his own link, %s", ev.Share, read.Share.Link)
		}
	})
	t.Run("AnAppReadsThemAndGivesNone", func(t *testing.T) {
		partner := w.env.MustPartner(t, "Films")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "messages.write", "messages.delete"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		m := apptest.MustSend(t, w.alice, w.aliceBob, "which film?")
		appStream := mustEvents(t, app)
		if _, err := w.bob.React(ctx, m.ID, "🙏"); err != nil {
			t.Fatal(err)
		}
		// Without participants.read it is not told who gave it (below).
		if ev := nextData[client.Message](t, ctx, appStream, client.EventMessageReacted); ev.ID != m.ID || reactions(&ev) != "🙏1" {
			t.Fatalf("the app's message.reacted = %+v, want one 🙏", ev)
		}
		if r := reactions(messageIn(t, ctx, app, w.aliceBob, m.ID)); r != "🙏1" {
			t.Fatalf("the app reads %q, want one 🙏", r)
		}
		// Its stream's read of the reaction is in both members' logs, as is
		// its read of the history.
		for _, c := range []*client.Client{w.alice, w.bob} {
			if got := loggedOf(t, ctx, c, m.ID); strings.Join(got, " ") != "messages.read messages.read" {
				t.Errorf("a member's log holds %q of the message, want the stream's read and the history's", got)
			}
		}
		_, err := app.React(ctx, m.ID, "👍")
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
		wantProblem(t, app.TakeBackReaction(ctx, m.ID), http.StatusForbidden, "insufficient_scope")
		if r := reactions(messageIn(t, ctx, w.alice, w.aliceBob, m.ID)); r != "🙏1 bob" {
			t.Fatalf("after the app's tries the message shows %q, want bob's 🙏 alone", r)
		}
	})
	t.Run("AnAppThatMayNotLearnWhoTakesPartLearnsOnlyOfItsMember", func(t *testing.T) {
		// Without participants.read, an app learns how many gave each
		// reaction, and whether its member did, but not who else: in a
		// group carol wrote nothing in, her reaction would name her.
		partner := w.env.MustPartner(t, "Receipts")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "threads.read", "messages.read", "messages.write"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group.ID}}).AccessToken)
		m, err := app.SendMessage(ctx, group.ID, "transfer done", "key-hidden")
		if err != nil {
			t.Fatal(err)
		}
		appStream := mustEvents(t, app)
		for _, c := range []*client.Client{w.carol, w.alice, w.bob} {
			if _, err := c.React(ctx, m.ID, "👍"); err != nil {
				t.Fatal(err)
			}
			// The event of each reaction.
			if ev := nextData[client.Message](t, ctx, appStream, client.EventMessageReacted); ev.ID != m.ID || strings.Contains(reactions(&ev), "carol") || strings.Contains(reactions(&ev), "bob") {
				t.Fatalf("the app's message.reacted = %q, naming someone not its member", reactions(&ev))
			}
		}
		const want = "👍3 alice"
		if r := reactions(messageIn(t, ctx, app, group.ID, m.ID)); r != want {
			t.Errorf("the app's history shows %q, want %q", r, want)
		}
		changes, err := app.Changes(ctx, group.ID, client.ChangesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if r := reactions(changes.Changes[len(changes.Changes)-1].Message); r != want {
			t.Errorf("the app's changes feed shows %q, want %q", r, want)
		}
		threads, err := app.Threads(ctx, client.ThreadsQuery{Messages: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range threads.Threads {
			if th.ID == group.ID && (reactions(th.LastMessage) != want || reactions(th.Messages[0]) != want) {
				t.Errorf("the app's inbox shows %q and %q, want %q", reactions(th.LastMessage), reactions(th.Messages[0]), want)
			}
		}
		// The replies to its edit and to a retry of its send.
		if got, err := app.EditMessage(ctx, m.ID, "transfer done, thanks"); err != nil || reactions(got) != want {
			t.Errorf("the app's edit = %q, %v; want %q", reactions(got), err, want)
		}
		if ev := nextData[client.Message](t, ctx, appStream, client.EventMessageEdited); reactions(&ev) != want {
			t.Errorf("the app's message.edited shows %q, want %q", reactions(&ev), want)
		}
		if got, err := app.SendMessage(ctx, group.ID, "transfer done", "key-hidden"); err != nil || reactions(got) != want {
			t.Errorf("the retried send = %q, %v; want %q", reactions(got), err, want)
		}
		// The members see everyone.
		if r := reactions(messageIn(t, ctx, w.bob, group.ID, m.ID)); r != "👍3 carol alice bob" {
			t.Errorf("bob's history shows %q, want all three", r)
		}
		// With participants.read, so does an app.
		knowing := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Knowing"), "alice",
			[]string{"openid", "messages.read", "participants.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group.ID}}).AccessToken)
		if r := reactions(messageIn(t, ctx, knowing, group.ID, m.ID)); r != "👍3 carol alice bob" {
			t.Errorf("an app with participants.read reads %q, want all three", r)
		}
	})
	t.Run("NotADeletedMessage", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "soon gone")
		if _, err := w.bob.React(ctx, m.ID, "😢"); err != nil {
			t.Fatal(err)
		}
		if err := w.alice.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		tomb := messageIn(t, ctx, w.bob, w.aliceBob, m.ID)
		if tomb.DeletedAt == nil || tomb.Reactions != nil {
			t.Fatalf("the deleted message = %+v, want a tombstone without reactions", tomb)
		}
		_, err := w.bob.React(ctx, m.ID, "😢")
		wantProblem(t, err, http.StatusConflict, "conflict")
		if err := w.bob.TakeBackReaction(ctx, m.ID); err != nil {
			t.Fatalf("taking back from a deleted message: %v, want nothing to take back", err)
		}
	})
	t.Run("NotInABlockedConversationButTakenBack", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceCarol, "said before the block")
		if _, err := w.carol.React(ctx, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		blocked, err := w.carol.Block(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client.Client{w.alice, w.carol} {
			_, err = c.React(ctx, m.ID, "❤️")
			wantProblem(t, err, http.StatusForbidden, "forbidden")
		}
		if err := w.carol.TakeBackReaction(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		if r := reactions(messageIn(t, ctx, w.alice, w.aliceCarol, m.ID)); r != "" {
			t.Fatalf("the message shows %q, want carol's reaction taken back and no other", r)
		}
		if err := w.carol.Unblock(ctx, blocked.User.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OnlyInTheThread", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "between us")
		_, err := w.carol.React(ctx, m.ID, "👍")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		wantProblem(t, w.carol.TakeBackReaction(ctx, m.ID), http.StatusNotFound, "not_found")
		_, err = w.carol.React(ctx, parley.NewID(), "👍")
		wantProblem(t, err, http.StatusNotFound, "not_found")

		inGroup := apptest.MustSend(t, w.alice, group.ID, "who brings the tent?")
		if _, err := w.carol.React(ctx, inGroup.ID, "🙏"); err != nil {
			t.Fatal(err)
		}
		carols, err := w.carol.SendMessage(ctx, group.ID, "not me", "carol-tent")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		_, err = w.carol.React(ctx, inGroup.ID, "😂")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		// What carol gave before she left stays, as what she wrote does.
		if r := reactions(messageIn(t, ctx, w.alice, group.ID, inGroup.ID)); r != "🙏1 carol" {
			t.Fatalf("after carol left the message shows %q, want her 🙏", r)
		}
		// Nor does her retried send, still answered, tell her who reacted
		// to it since.
		if _, err := w.bob.React(ctx, carols.ID, "😂"); err != nil {
			t.Fatal(err)
		}
		if again, err := w.carol.SendMessage(ctx, group.ID, "not me", "carol-tent"); err != nil || again.ID != carols.ID || reactions(again) != "" {
			t.Fatalf("carol's retry after she left: %+v, %v; want her message without the reactions", again, err)
		}
		// But she takes back what she gave, as she deletes what she wrote;
		// she gives none.
		if _, err := w.bob.React(ctx, inGroup.ID, "👍"); err != nil {
			t.Fatal(err)
		}
		if err := w.carol.TakeBackReaction(ctx, inGroup.ID); err != nil {
			t.Fatalf("carol taking back her reaction after she left: %v", err)
		}
		if r := reactions(messageIn(t, ctx, w.alice, group.ID, inGroup.ID)); r != "👍1 bob" {
			t.Fatalf("after carol took hers back from outside, the message shows %q, want bob's 👍 alone", r)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		m := apptest.MustSend(t, w.alice, w.aliceBob, "as it was")
		for _, body := range []string{
			`{}`, `{"emoji": ""}`, `{"emoji": null}`, `{"emoji": 7}`, `{"emoji": "👎"}`, `{"emoji": "❤"}`,
			`{"emoji": "👍👍"}`, `{"emoji": " 👍"}`, `{"emoji": "👍", "user": "carol"}`, `[]`, `"👍"`,
		} {
			_, err := w.bob.Do(ctx, "PUT", "/api/v1/messages/"+m.ID+"/reaction", json.RawMessage(body), nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("PUT %s: %v, want 400", body, err)
			}
		}
		if r := reactions(messageIn(t, ctx, w.alice, w.aliceBob, m.ID)); r != "" {
			t.Fatalf("after bad bodies the message shows %q, want no reaction", r)
		}
	})
}

// TestMessageReaction_ADeletedAccountTakesItsReactionsBack: a member who
// deletes their account leaves no reaction behind, and everyone who saw
// one is told.
func TestMessageReaction_ADeletedAccountTakesItsReactionsBack(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := apptest.MustSend(t, w.alice, w.aliceCarol, "see you")
	for _, c := range []*client.Client{w.carol, w.alice} {
		if _, err := c.React(ctx, m.ID, "👍"); err != nil {
			t.Fatal(err)
		}
	}
	alicesStream := mustEvents(t, w.alice)
	if err := w.carol.DeleteAccount(ctx, apptest.Password("carol")); err != nil {
		t.Fatal(err)
	}
	if ev := nextData[client.Message](t, ctx, alicesStream, client.EventMessageReacted); ev.ID != m.ID || reactions(&ev) != "👍1 alice" {
		t.Fatalf("alice's message.reacted = %+v, want her own 👍 alone", ev)
	}
	if r := reactions(messageIn(t, ctx, w.alice, w.aliceCarol, m.ID)); r != "👍1 alice" {
		t.Fatalf("alice's history shows %q, want her own 👍 alone", r)
	}
}

// reactions describes a message's reactions as "👍2 alice bob, ❤️1 carol".
func reactions(m *client.Message) string {
	var groups []string
	for _, r := range m.Reactions {
		g := r.Emoji + strconv.Itoa(r.Count)
		for _, u := range r.Users {
			g += " " + u.Username
		}
		groups = append(groups, g)
	}
	return strings.Join(groups, ", ")
}

// messageIn returns the message as the reader finds it in the thread's
// newest page.
func messageIn(t *testing.T, ctx context.Context, c *client.Client, threadID, messageID string) *client.Message {
	t.Helper()
	page, err := c.Messages(ctx, threadID, client.MessagesQuery{Limit: parley.MaxMessageLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.ID == messageID {
			return m
		}
	}
	t.Fatalf("message %s is not in the thread's newest page", messageID)
	return nil
}

// wantNoReactionBefore fails the test if the stream tells of a reaction
// before the message next is created.
func wantNoReactionBefore(t *testing.T, ctx context.Context, s *client.EventStream, next string) {
	t.Helper()
	for {
		ev, err := s.Next(ctx)
		if err != nil || ev.Type == client.EventMessageReacted {
			t.Fatalf("the stream: %+v, %v; want the next message, no reaction", ev, err)
		}
		if isMessageCreated(ev, next) {
			return
		}
	}
}
