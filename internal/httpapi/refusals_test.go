package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A refusal tells an app nothing its grant does not cover: a message it
// may not act on is answered, byte for byte, as one that does not exist,
// whoever sent it, whatever became of it and whatever its kind, and the
// answer leaves the logs as they were. With messages.read too: the app
// could read who sent a message, but a read is logged and a refusal is
// not.

// refusalWorld is a grant world with, in alice–bob, a message of each
// kind an app might name: alice's and bob's, live and deleted, one another
// app wrote for alice and a card another app shared for her; and names of
// messages out of the app's reach or of none.
type refusalWorld struct {
	*grantWorld
	// named are message IDs by what the message is.
	named map[string]string
}

func newRefusalWorld(t *testing.T, ctx context.Context) *refusalWorld {
	t.Helper()
	w := &refusalWorld{grantWorld: newGrantWorld(t), named: map[string]string{}}
	other := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Another app"), "alice", []string{"openid", "messages.write", "messages.delete", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
	w.named["bob's"] = apptest.MustSend(t, w.bob, w.aliceBob, "bob's words").ID
	w.named["bob's, deleted"] = apptest.MustSend(t, w.bob, w.aliceBob, "bob's regret").ID
	if err := w.bob.DeleteMessage(ctx, w.named["bob's, deleted"]); err != nil {
		t.Fatal(err)
	}
	viaOther, err := other.SendMessage(ctx, w.aliceBob, "written by another app", "")
	if err != nil {
		t.Fatal(err)
	}
	w.named["another app's"] = viaOther.ID
	goneViaOther, err := other.SendMessage(ctx, w.aliceBob, "written by another app, then deleted", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.DeleteMessage(ctx, goneViaOther.ID); err != nil {
		t.Fatal(err)
	}
	w.named["another app's, deleted"] = goneViaOther.ID
	card, err := other.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"})
	if err != nil {
		t.Fatal(err)
	}
	w.named["another app's card"] = card.ID
	w.named["none"] = parley.NewID()
	w.named["outside the grant, alice's"] = w.firstSaid[w.aliceCarol]
	w.named["outside the grant, bob's"] = w.firstSaid[w.bobCarol]
	return w
}

// app returns a client holding a token of alice's for a new app with the
// scopes, reaching alice–bob.
func (w *refusalWorld) app(t *testing.T, name string, scopes ...string) *client.Client {
	t.Helper()
	return w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, name), "alice", append([]string{"openid"}, scopes...),
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
}

// logHead returns the seq of the newest entry of the member's access log.
func logHead(t *testing.T, c *client.Client) int64 {
	t.Helper()
	page := accessLog(t, c, "?limit=1")
	if len(page.Entries) == 0 {
		return 0
	}
	return page.Entries[0].Seq
}

// wantSameRefusal fails the test unless each of the messages named is
// refused exactly as a message that does not exist is, and refusals
// leave every member's log as it was.
func wantSameRefusal(t *testing.T, w *refusalWorld, what string, names []string, call func(messageID string) error) {
	t.Helper()
	members := []*client.Client{w.alice, w.bob, w.carol}
	heads := make([]int64, len(members))
	for i, c := range members {
		heads[i] = logHead(t, c)
	}
	var none *client.Error
	if !errors.As(call(w.named["none"]), &none) || none.Status != http.StatusNotFound || none.Type != "urn:parley:problem:not_found" || none.Detail == "" {
		t.Fatalf("%s of no message: %v, want a 404 problem", what, none)
	}
	for _, name := range names {
		var e *client.Error
		if err := call(w.named[name]); !errors.As(err, &e) || *e != *none {
			t.Errorf("%s of %s: %v; want the answer of no message: %v", what, name, err, none)
		}
	}
	for i, c := range members {
		if got := logHead(t, c); got != heads[i] {
			t.Errorf("%s: member %d's log grew from entry %d to %d, want refusals left unlogged", what, i, heads[i], got)
		}
	}
}

// wantLoggedRead fails the test unless the newest entry of each member's
// log is the app reading the message, alone.
func wantLoggedRead(t *testing.T, what, messageID string, members ...*client.Client) {
	t.Helper()
	for _, c := range members {
		page := accessLog(t, c, "?limit=1")
		if len(page.Entries) != 1 {
			t.Fatalf("%s: the log holds no entry", what)
		}
		if e := page.Entries[0]; e.Action != string(parley.ScopeMessagesRead) || !slices.Equal(e.MessageIDs, []string{messageID}) {
			t.Errorf("%s: the newest entry is %s of %v, want messages.read of the message", what, e.Action, e.MessageIDs)
		}
	}
}

// An app that may delete the member's messages, and perhaps read them,
// is told the same of another participant's message, live or deleted, as
// of a message it cannot reach or that does not exist: not who sent it.
// The member is still told plainly that another sent it.
func TestAppRefusals_DeleteTellsNotWhoSentAMessage(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newRefusalWorld(t, ctx)
	hidden := []string{"bob's", "bob's, deleted", "outside the grant, alice's", "outside the grant, bob's"}
	for _, scopes := range [][]string{{"messages.delete"}, {"messages.delete", "messages.read", "participants.read"}} {
		app := w.app(t, "Deleter "+scopes[len(scopes)-1], scopes...)
		wantSameRefusal(t, w, "a delete with "+scopes[len(scopes)-1], hidden, func(id string) error { return app.DeleteMessage(ctx, id) })
	}
	wantText(t, ctx, w.alice, w.aliceBob, w.named["bob's"], "bob's words")
	err := w.alice.DeleteMessage(ctx, w.named["bob's"])
	wantProblem(t, err, http.StatusForbidden, "forbidden")
	wantDetail(t, err, "only the sender can delete a message")
}

// A member's message that was deleted already is deleted again (204), as
// the delete before was answered: the app learns that it was its
// member's, which it is logged for, as a read of the tombstone.
func TestAppRefusals_DeletingAgainIsLogged(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newRefusalWorld(t, ctx)
	app := w.app(t, "Deleter", "messages.delete")
	m := apptest.MustSend(t, w.alice, w.aliceBob, "alice's regret")
	if err := w.alice.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := app.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatalf("the app deletes alice's deleted message again: %v, want 204", err)
	}
	wantLoggedRead(t, "a delete of a deleted message", m.ID, w.alice, w.bob)
}

// An app that may write, and perhaps read, is told the same of every
// message it did not write for its member, whoever sent it, whether it
// was deleted and whatever its kind, and of one it wrote whose words its
// member has since made their own, as of a message it cannot reach or
// that does not exist. The member is still told plainly why.
func TestAppRefusals_EditTellsNothingOfAMessageTheAppDidNotWrite(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newRefusalWorld(t, ctx)
	alices := apptest.MustSend(t, w.alice, w.aliceBob, "alice's words")
	w.named["alice's"] = alices.ID
	gone := apptest.MustSend(t, w.alice, w.aliceBob, "alice's regret")
	if err := w.alice.DeleteMessage(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	w.named["alice's, deleted"] = gone.ID
	hidden := []string{
		"bob's", "bob's, deleted", "alice's", "alice's, deleted",
		"another app's", "another app's, deleted", "another app's card",
		"outside the grant, alice's", "outside the grant, bob's",
	}
	for _, scopes := range [][]string{{"messages.write"}, {"messages.write", "messages.read", "participants.read"}} {
		app := w.app(t, "Writer "+scopes[len(scopes)-1], scopes...)
		// The app's own message, which it may edit until alice writes her
		// own words over it: then they are hers, even the same words.
		mine, err := app.SendMessage(ctx, w.aliceBob, "receipt: pending", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.EditMessage(ctx, mine.ID, "receipt: paid"); err != nil {
			t.Fatalf("the app edits its own message: %v", err)
		}
		if _, err := w.alice.EditMessage(ctx, mine.ID, "paid, thanks"); err != nil {
			t.Fatal(err)
		}
		w.named["the app's, rewritten by alice"] = mine.ID
		wantSameRefusal(t, w, "an edit with "+scopes[len(scopes)-1], append(hidden, "the app's, rewritten by alice"), func(id string) error {
			_, err := app.EditMessage(ctx, id, "rewritten by an app")
			return err
		})
		_, err = app.EditMessage(ctx, mine.ID, "paid, thanks")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		wantText(t, ctx, w.bob, w.aliceBob, mine.ID, "paid, thanks")
	}
	wantText(t, ctx, w.alice, w.aliceBob, w.named["bob's"], "bob's words")
	wantText(t, ctx, w.alice, w.aliceBob, w.named["alice's"], "alice's words")
	wantText(t, ctx, w.alice, w.aliceBob, w.named["another app's"], "written by another app")
	for name, want := range map[string]struct {
		status int
		detail string
	}{
		"bob's":              {http.StatusForbidden, "only the sender can edit a message"},
		"alice's, deleted":   {http.StatusConflict, "this message was deleted"},
		"another app's card": {http.StatusConflict, "a share card cannot be edited"},
	} {
		_, err := w.alice.EditMessage(ctx, w.named[name], "alice edits")
		if client.StatusOf(err) != want.status {
			t.Errorf("alice's edit of %s: %v, want %d", name, err, want.status)
		}
		wantDetail(t, err, want.detail)
	}
}

// An app told that a message it wrote was deleted since, which an app
// that only writes hears of no other way, is logged as reading the
// tombstone, as a retried send answered with it is.
func TestAppRefusals_EditOfItsOwnDeletedMessageIsLogged(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newRefusalWorld(t, ctx)
	app := w.app(t, "Writer", "messages.write")
	m, err := app.SendMessage(ctx, w.aliceBob, "receipt: pending", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.alice.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	_, err = app.EditMessage(ctx, m.ID, "receipt: paid")
	wantProblem(t, err, http.StatusConflict, "conflict")
	wantDetail(t, err, "this message was deleted")
	wantLoggedRead(t, "an edit of the app's deleted message", m.ID, w.alice, w.bob)
	wantText(t, ctx, w.alice, w.aliceBob, m.ID, "")
}

// An app that may write but not read retries a send its member has
// edited since: it is answered with what it wrote, not with the member's
// words, which only messages.read reads.
func TestAppRefusals_RetryOfAnAppThatOnlyWritesGivesBackWhatItWrote(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := newRefusalWorld(t, ctx)
	app := w.app(t, "Writer", "messages.write")
	m, err := app.SendMessage(ctx, w.aliceBob, "receipt: pending", "receipt-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.alice.EditMessage(ctx, m.ID, "alice's own words, not for the app"); err != nil {
		t.Fatal(err)
	}
	again, err := app.SendMessage(ctx, w.aliceBob, "receipt: pending", "receipt-1")
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != m.ID || again.Text != "receipt: pending" || again.EditedAt != nil {
		t.Errorf("the retry was answered with %s %q, edited at %v; want %s as the app wrote it", again.ID, again.Text, again.EditedAt, m.ID)
	}
}
