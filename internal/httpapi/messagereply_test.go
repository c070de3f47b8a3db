package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessageReply: a message may answer an earlier one of its thread,
// which everyone in it is shown with it: in its event, the history and
// the changes feed. The answer stays when the message it answers is
// edited or deleted, and goes with the reply's own deletion. Nothing is
// answered that the sender cannot see: no later or absent message, and
// for an app nothing before its grant's reach, with one answer for both.
func TestMessageReply(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("EveryoneSeesWhatItAnswers", func(t *testing.T) {
		asked := apptest.MustSend(t, w.alice, w.aliceBob, "dinner at 8?")
		alicesStream := mustEvents(t, w.alice)
		reply, err := w.bob.SendReply(ctx, w.aliceBob, "yes!", asked.Seq, "")
		if err != nil {
			t.Fatal(err)
		}
		if reply.ReplyToSeq != asked.Seq || reply.Seq != asked.Seq+1 {
			t.Fatalf("the reply = %+v, want message %d answering %d", reply, asked.Seq+1, asked.Seq)
		}
		if ev := nextData[client.Message](t, ctx, alicesStream, client.EventMessageCreated); ev.ID != reply.ID || ev.ReplyToSeq != asked.Seq {
			t.Fatalf("alice's message.created = %+v, want the reply answering %d", ev, asked.Seq)
		}
		if got := lastMessage(t, ctx, w.alice, w.aliceBob); got.ID != reply.ID || got.ReplyToSeq != asked.Seq {
			t.Fatalf("alice's history ends with %+v, want the reply answering %d", got, asked.Seq)
		}
		changes, err := w.alice.Changes(ctx, w.aliceBob, client.ChangesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if c := changes.Changes[len(changes.Changes)-1]; c.Message.ID != reply.ID || c.Message.ReplyToSeq != asked.Seq {
			t.Fatalf("alice's last change = %s %+v, want the reply answering %d", c.Type, c.Message, asked.Seq)
		}
	})
	t.Run("TheAnswerStaysWithTheReply", func(t *testing.T) {
		asked := apptest.MustSend(t, w.alice, w.aliceBob, "lunch?")
		reply, err := w.bob.SendReply(ctx, w.aliceBob, "sure", asked.Seq, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.alice.EditMessage(ctx, asked.ID, "lunch at 1?"); err != nil {
			t.Fatal(err)
		}
		if err := w.alice.DeleteMessage(ctx, asked.ID); err != nil {
			t.Fatal(err)
		}
		if got := lastMessage(t, ctx, w.alice, w.aliceBob); got.ID != reply.ID || got.ReplyToSeq != asked.Seq {
			t.Fatalf("the reply after its question's edit and deletion: %+v, want it still answering %d", got, asked.Seq)
		}
		// A reply's tombstone keeps nothing of it, what it answered neither.
		if err := w.bob.DeleteMessage(ctx, reply.ID); err != nil {
			t.Fatal(err)
		}
		if got := lastMessage(t, ctx, w.alice, w.aliceBob); got.ID != reply.ID || got.ReplyToSeq != 0 {
			t.Fatalf("the deleted reply: %+v, want a tombstone answering nothing", got)
		}
		// A message already deleted is answered as any other.
		if again, err := w.bob.SendReply(ctx, w.aliceBob, "it was deleted, but yes", asked.Seq, ""); err != nil || again.ReplyToSeq != asked.Seq {
			t.Fatalf("a reply to a deleted message = %+v, %v", again, err)
		}
	})
	t.Run("NothingThatIsNotThere", func(t *testing.T) {
		last := lastMessage(t, ctx, w.alice, w.aliceBob)
		for _, seq := range []int64{last.Seq + 1, last.Seq + 1000, -1} {
			_, err := w.alice.SendReply(ctx, w.aliceBob, "to nothing", seq, "")
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		}
		for _, body := range []string{
			`{"text": "x", "reply_to_seq": "1"}`, `{"text": "x", "reply_to_seq": 1.5}`, `{"text": "x", "reply_to_seq": []}`,
			`{"text": "x", "reply_to_seq": 99999999999999999999}`, `{"reply_to_seq": 1}`,
		} {
			_, err := w.alice.Do(ctx, "POST", "/api/v1/threads/"+w.aliceBob+"/messages", json.RawMessage(body), nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("POST %s: %v, want 400", body, err)
			}
		}
		// No refusal took a seq: the next message follows the last.
		if next := apptest.MustSend(t, w.alice, w.aliceBob, "after the refusals"); next.Seq != last.Seq+1 {
			t.Fatalf("the next message is %d, want %d", next.Seq, last.Seq+1)
		}
		// Nor does anyone answer into a thread they are not in.
		bobs := apptest.MustSend(t, w.bob, w.bobCarol, "between bob and carol")
		_, err := w.alice.SendReply(ctx, w.bobCarol, "alice was here", bobs.Seq, "")
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	t.Run("ARetryIsTheSameReply", func(t *testing.T) {
		asked := apptest.MustSend(t, w.bob, w.aliceBob, "which film?")
		first, err := w.alice.SendReply(ctx, w.aliceBob, "the new one", asked.Seq, "reply-key")
		if err != nil {
			t.Fatal(err)
		}
		again, err := w.alice.SendReply(ctx, w.aliceBob, "the new one", asked.Seq, "reply-key")
		if err != nil || again.ID != first.ID {
			t.Fatalf("the retry = %+v, %v; want message %d again", again, err, first.Seq)
		}
		for what, send := range map[string]func() (*client.Message, error){
			"answering another message": func() (*client.Message, error) {
				return w.alice.SendReply(ctx, w.aliceBob, "the new one", asked.Seq-1, "reply-key")
			},
			"answering none": func() (*client.Message, error) {
				return w.alice.SendMessage(ctx, w.aliceBob, "the new one", "reply-key")
			},
		} {
			if _, err := send(); client.StatusOf(err) != http.StatusConflict {
				t.Errorf("the key again, %s: %v, want 409", what, err)
			}
		}
	})
	t.Run("AnAppAnswersOnlyWithinItsReach", func(t *testing.T) {
		before := apptest.MustSend(t, w.alice, w.aliceCarol, "before the app came")
		partner := w.env.MustPartner(t, "Films")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.write"}, apptest.Answer{}).AccessToken)
		card, err := app.Share(ctx, client.NewShare{To: "carol", URL: "https://films.example/7", Title: "Film 7"})
		if err != nil {
			t.Fatal(err)
		}
		reply, err := app.SendReply(ctx, w.aliceCarol, "showing at 9", card.Seq, "")
		if err != nil || reply.ReplyToSeq != card.Seq {
			t.Fatalf("the app's reply to its card = %+v, %v", reply, err)
		}
		_, err = app.SendReply(ctx, w.aliceCarol, "about what alice said", before.Seq, "")
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		_, future := app.SendReply(ctx, w.aliceCarol, "about what is to come", reply.Seq+1, "")
		if err.Error() != future.Error() {
			t.Errorf("before the reach: %v; later: %v; want one answer for both", err, future)
		}
	})
	t.Run("AnAppThatMayNotReadAnswersOnlyItsOwn", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			scopes []string
			ok     bool
		}{
			{"WritesOnly", []string{"openid", "shares.write", "messages.write"}, false},
			{"ReadsToo", []string{"openid", "shares.write", "messages.write", "messages.read"}, true},
		} {
			partner := w.env.MustPartner(t, "Tunes "+tc.name)
			app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", tc.scopes, apptest.Answer{}).AccessToken)
			card, err := app.Share(ctx, client.NewShare{To: "carol", URL: "https://tunes.example/1", Title: "Song 1"})
			if err != nil {
				t.Fatal(err)
			}
			carols := apptest.MustSend(t, w.carol, w.aliceCarol, "I like it")
			_, toCarol := app.SendReply(ctx, w.aliceCarol, "glad you do", carols.Seq, "")
			if tc.ok {
				if toCarol != nil {
					t.Errorf("%s: the app's answer to carol's message in its reach: %v", tc.name, toCarol)
				}
				continue
			}
			wantProblem(t, toCarol, http.StatusBadRequest, "invalid")
			// Nor does the answer to a message not yet there say otherwise:
			// the app cannot tell, without a read, whether carol spoke.
			if _, future := app.SendReply(ctx, w.aliceCarol, "anyone there?", carols.Seq+1, ""); future == nil || future.Error() != toCarol.Error() {
				t.Errorf("%s: carol's message: %v; one not yet there: %v; want one answer for both", tc.name, toCarol, future)
			}
			if _, err := app.SendReply(ctx, w.aliceCarol, "about the song", card.Seq, ""); err != nil {
				t.Errorf("%s: the app's answer to its own card: %v", tc.name, err)
			}
		}
	})
}

// lastMessage returns the newest message of the thread as c reads it.
func lastMessage(t *testing.T, ctx context.Context, c *client.Client, threadID string) *client.Message {
	t.Helper()
	page, err := c.Messages(ctx, threadID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages[len(page.Messages)-1]
}
