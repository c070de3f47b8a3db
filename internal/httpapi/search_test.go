package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestSearchMessages: a member finds the messages of their threads that
// hold a text, whatever its case, newest first, each naming its thread,
// and pages on through older ones; not those of a thread they are not in,
// nor deleted ones. Bad queries are 400 and searches past 20 at once wait.
func TestSearchMessages(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	apptest.MustFriends(t, bob, carol)
	aliceBob := apptest.MustThread(t, alice, "bob").ID
	aliceCarol := apptest.MustThread(t, alice, "carol").ID
	bobCarol := apptest.MustThread(t, bob, "carol").ID

	first := apptest.MustSend(t, alice, aliceBob, "Lunch on Friday?")
	apptest.MustSend(t, bob, aliceBob, "dinner is better")
	second := apptest.MustSend(t, carol, aliceCarol, "I booked LUNCH for us")
	apptest.MustSend(t, bob, bobCarol, "lunch without alice")
	gone := apptest.MustSend(t, alice, aliceCarol, "lunch is off")
	if err := alice.DeleteMessage(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}

	t.Run("NewestFirstAndPaged", func(t *testing.T) {
		page, err := alice.SearchMessages(ctx, client.SearchQuery{Text: " lunch "})
		if err != nil {
			t.Fatal(err)
		}
		wantFound(t, page, second, first)
		if page.NextCursor != "" {
			t.Errorf("the only page has a next cursor %q", page.NextCursor)
		}
		page, err = alice.SearchMessages(ctx, client.SearchQuery{Text: "LUNCH", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		wantFound(t, page, second)
		page, err = alice.SearchMessages(ctx, client.SearchQuery{Text: "LUNCH", Limit: 1, Cursor: page.NextCursor})
		if err != nil {
			t.Fatal(err)
		}
		wantFound(t, page, first)
		if page.NextCursor != "" {
			t.Errorf("the last page has a next cursor %q", page.NextCursor)
		}
		page, err = bob.SearchMessages(ctx, client.SearchQuery{Text: "dinner"})
		if err != nil || len(page.Messages) != 1 || page.Messages[0].Sender.Username != "bob" {
			t.Fatalf("bob's search for his own message: %+v, %v", page, err)
		}
	})
	t.Run("BadQueries", func(t *testing.T) {
		inbox, err := alice.Threads(ctx, client.ThreadsQuery{Limit: 1})
		if err != nil || inbox.NextCursor == "" {
			t.Fatalf("alice's inbox: %+v, %v", inbox, err)
		}
		for _, query := range []string{
			"", "q=", "q=%20%20", "q=" + strings.Repeat("é", parley.MaxSearchLen+1), "q=a%00b", "q=%FF",
			"q=lunch&limit=0", "q=lunch&limit=51", "q=lunch&limit=x",
			"q=lunch&cursor=nonsense", "q=lunch&cursor=" + url.QueryEscape(inbox.NextCursor),
		} {
			_, err := alice.Do(ctx, "GET", "/api/v1/search/messages?"+query, nil, nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("GET ?%s: %v, want 400", query, err)
			}
		}
		// The longest text is taken.
		if _, err := alice.SearchMessages(ctx, client.SearchQuery{Text: strings.Repeat("é", parley.MaxSearchLen)}); err != nil {
			t.Errorf("a search of %d characters: %v", parley.MaxSearchLen, err)
		}
	})
	t.Run("TwentyAtOnceThenOneEveryTwoSeconds", func(t *testing.T) {
		dave := env.MustMember(t, "dave")
		env.Clock.Freeze()
		for i := range 20 {
			if _, err := dave.SearchMessages(ctx, client.SearchQuery{Text: "lunch"}); err != nil {
				t.Fatalf("search %d: %v", i+1, err)
			}
		}
		_, err := dave.SearchMessages(ctx, client.SearchQuery{Text: "lunch"})
		wantProblem(t, err, http.StatusTooManyRequests, "throttled")
		// Others search on.
		if _, err := alice.SearchMessages(ctx, client.SearchQuery{Text: "lunch"}); err != nil {
			t.Fatalf("alice's search while dave waits: %v", err)
		}
		env.Clock.Advance(2 * time.Second)
		if _, err := dave.SearchMessages(ctx, client.SearchQuery{Text: "lunch"}); err != nil {
			t.Fatalf("dave's search 2 seconds later: %v", err)
		}
	})
}

// wantFound fails unless the page holds the messages, in order, each with
// its thread.
func wantFound(t *testing.T, page *client.SearchPage, want ...*client.Message) {
	t.Helper()
	if len(page.Messages) != len(want) {
		t.Fatalf("found %d messages, want %d: %+v", len(page.Messages), len(want), page.Messages)
	}
	for i, m := range page.Messages {
		if m.ID != want[i].ID || m.ThreadID != want[i].ThreadID || m.Text != want[i].Text {
			t.Errorf("result %d is %+v, want %+v", i, m, want[i])
		}
	}
}

// The same visible word comes composed (é, one character, as most
// keyboards send it) or decomposed (e and a combining accent, as text
// pasted from some systems is): a message's text, a share card's note and
// title are stored composed, and a search in either form finds each, in
// any case. What an edit writes is composed too.
func TestSearchMessages_FindsAWordHoweverItsAccentsWereTyped(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	decomposed := apptest.MustSend(t, w.bob, w.aliceBob, "meet at the cafe\u0301 Zu\u0308rich")
	composed := apptest.MustSend(t, w.bob, w.aliceBob, "see you at the caf\u00e9 in Z\u00fcrich")
	edited := apptest.MustSend(t, w.alice, w.aliceBob, "see you")
	if _, err := w.alice.EditMessage(ctx, edited.ID, "see you at the Cafe\u0301"); err != nil {
		t.Fatal(err)
	}
	tok := w.env.MustToken(t, w.env.MustPartner(t, "Films"), "alice", []string{"openid", "shares.write"}, apptest.Answer{})
	card, err := w.env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "Ame\u0301lie", Note: "a film set in a cafe\u0301"})
	if err != nil {
		t.Fatal(err)
	}
	if decomposed.Text != "meet at the caf\u00e9 Z\u00fcrich" || card.Share.Title != "Am\u00e9lie" || card.Text != "a film set in a caf\u00e9" {
		t.Errorf("stored as %q, a card %q with %q; want each composed", decomposed.Text, card.Share.Title, card.Text)
	}
	for _, q := range []string{"caf\u00e9", "cafe\u0301", "CAF\u00c9", "CAFE\u0301"} {
		page, err := w.alice.SearchMessages(ctx, client.SearchQuery{Text: q})
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, m := range page.Messages {
			found = append(found, m.ID)
		}
		for _, want := range []string{decomposed.ID, composed.ID, edited.ID, card.ID} {
			if !slices.Contains(found, want) {
				t.Errorf("a search for %+q does not find message %s: found %v", q, want, found)
			}
		}
	}
	// Limits are on the text as sent: the few characters Unicode never
	// composes come out of NFC longer (U+0958, one, is two).
	if _, err := w.alice.SendMessage(ctx, w.aliceBob, strings.Repeat("\u0958", parley.MaxTextLen), ""); err != nil {
		t.Errorf("a text of the longest there may be, longer composed: %v", err)
	}
	for _, q := range []string{"Z\u00fcrich", "zu\u0308rich", "AM\u00c9LIE"} {
		if page, err := w.alice.SearchMessages(ctx, client.SearchQuery{Text: q}); err != nil || len(page.Messages) == 0 {
			t.Errorf("a search for %+q: %+v, %v; want it found", q, page, err)
		}
	}
}
