package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// firefox is a browser's User-Agent: its GET of a share link is a click.
const firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

// follow requests a share link as a client with the User-Agent ua and
// headers given as key, value pairs would, without following the redirect.
func follow(t *testing.T, method, link, ua string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ua != "" {
		req.Header.Set("User-Agent", ua)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// clickedAt returns when the link's first click was counted, nil when none
// was, as the report counts it.
func clickedAt(t *testing.T, env *apptest.Env, link string) *time.Time {
	t.Helper()
	token := link[strings.LastIndex(link, "/")+1:]
	var target *parley.ShareTarget
	ctx := context.Background()
	err := env.Server.Store.Read(ctx, func(tx parley.Tx) (err error) {
		target, err = tx.FindShareTarget(ctx, parley.HashToken(token))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return target.Link.ClickedAt
}

// cardOf returns the share card among a member's view of a thread.
func cardOf(t *testing.T, c *client.Client, threadID string) *client.Message {
	t.Helper()
	page, err := c.Messages(context.Background(), threadID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.Share != nil {
			return m
		}
	}
	t.Fatalf("no share card in thread %s", threadID)
	return nil
}

// Each member of the thread sees the card with a link of their own, on
// the public URL, in the answer to the share, in pages of messages, in
// thread summaries and in realtime events; the token holds at least 128
// bits and the store keeps only its hash.
func TestShares_EachMemberHasTheirOwnLink(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"shares.write", "messages.read", "threads.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	bobEvents, err := w.bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobEvents.Close()

	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	alices := card.Share.Link
	if !strings.HasPrefix(alices, w.env.URL+"/s/") || len(alices)-len(w.env.URL+"/s/") < 22 {
		t.Fatalf("the sender's link %q: want /s/ and a token of at least 128 bits on %s", alices, w.env.URL)
	}
	bobs := cardOf(t, w.bob, w.aliceBob).Share.Link
	if bobs == alices || !strings.HasPrefix(bobs, w.env.URL+"/s/") {
		t.Fatalf("bob's link %q beside alice's %q: each must have their own", bobs, alices)
	}
	for name, got := range map[string]string{
		"alice's page":        cardOf(t, w.alice, w.aliceBob).Share.Link,
		"the app's page":      cardOf(t, app, w.aliceBob).Share.Link,
		"alice's thread list": mustSummaryCard(t, w.alice, w.aliceBob).Share.Link,
	} {
		if got != alices {
			t.Errorf("%s: link %q, want alice's %q", name, got, alices)
		}
	}
	if got := mustSummaryCard(t, w.bob, w.aliceBob).Share.Link; got != bobs {
		t.Errorf("bob's thread list: link %q, want bob's %q", got, bobs)
	}
	inbox, err := w.bob.Threads(ctx, client.ThreadsQuery{Messages: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range inbox.Threads {
		if th.ID != w.aliceBob {
			continue
		}
		if last := th.Messages[len(th.Messages)-1]; last.Share == nil || last.Share.Link != bobs || th.LastMessage.Share.Link != bobs {
			t.Errorf("bob's inbox: the card among the messages %+v, as the last message %+v; want his link %q", last.Share, th.LastMessage.Share, bobs)
		}
	}
	if m := nextCreated(t, bobEvents); m.Share == nil || m.Share.Link != bobs {
		t.Fatalf("bob's event carries %+v, want his link %q", m.Share, bobs)
	}
	token := bobs[strings.LastIndex(bobs, "/")+1:]
	if logs := w.env.Logs.String(); strings.Contains(logs, token) {
		t.Error("a share token is in the server's log")
	}
}

// An app reading a thread gets the links of its own cards, to show the
// member, and of another app's cards the URL alone: an app can follow a
// link it holds itself, and must not count clicks in another app's
// report. Whichever member's grant it reads through.
func TestShares_AnotherAppsCardHasNoLink(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	films := w.env.MustToken(t, w.env.MustPartner(t, "Films"), "alice", []string{"shares.write"}, apptest.Answer{})
	if _, err := w.env.Client.WithToken(films.AccessToken).Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"}); err != nil {
		t.Fatal(err)
	}
	rival := w.env.MustToken(t, w.env.MustPartner(t, "Rival"), "bob", []string{"messages.read", "threads.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}})
	app := w.env.Client.WithToken(rival.AccessToken)
	events, err := app.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	for name, got := range map[string]*client.Message{
		"the rival's page":        cardOf(t, app, w.aliceBob),
		"the rival's thread list": mustSummaryCard(t, app, w.aliceBob),
	} {
		if got.Share.URL != "https://films.example/42" || got.Share.Link != "" {
			t.Errorf("%s: card %+v, want its URL and no link", name, got.Share)
		}
	}

	// A card sent after the stream opened reaches it without a link too.
	if _, err := w.env.Client.WithToken(films.AccessToken).Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/43", Title: "And this"}); err != nil {
		t.Fatal(err)
	}
	if m := nextCreated(t, events); m.Share == nil || m.Share.URL != "https://films.example/43" || m.Share.Link != "" {
		t.Fatalf("the rival's event carries %+v, want the card's URL and no link", m.Share)
	}
}

// nextCreated returns the message of the stream's next message.created
// event, skipping other events.
func nextCreated(t *testing.T, stream *client.EventStream) *client.Message {
	t.Helper()
	m := nextData[client.Message](t, context.Background(), stream, parley.EventMessageCreated)
	return &m
}

// mustSummaryCard returns the last message of a thread in the member's
// thread list.
func mustSummaryCard(t *testing.T, c *client.Client, threadID string) *client.Message {
	t.Helper()
	page, err := c.Threads(context.Background(), client.ThreadsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range page.Threads {
		if th.ID == threadID && th.LastMessage != nil && th.LastMessage.Share != nil {
			return th.LastMessage
		}
	}
	t.Fatalf("thread %s has no share card last", threadID)
	return nil
}

// A share link counts the first GET of a browser, only that, and only the
// recipient's. HEAD, link-preview fetchers, prefetches and clients without
// a browser User-Agent are shown where it leads without being counted (to
// a visitor not signed in as the link's member, the page saying where it
// leads: TestShareLinks_OnlyTheRecipientGoesStraightOn in internal/web).
func TestShareLinks_RedirectAndCountTheFirstClick(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{})
	card, err := w.env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42?t=1", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	bobs := cardOf(t, w.bob, w.aliceBob).Share.Link
	shown := func(resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("status %d, Content-Type %q, Referrer-Policy %q; want the page leading on, with no-referrer",
				resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Referrer-Policy"))
		}
	}
	notCounted := []struct {
		name, method, ua string
		headers          []string
	}{
		{"HEAD from a browser", "HEAD", firefox, nil},
		{"no User-Agent", "GET", "", nil},
		{"curl", "GET", "curl/8.5.0", nil},
		{"Go", "GET", "Go-http-client/1.1", nil},
		{"Slackbot", "GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", nil},
		{"Facebook", "GET", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", nil},
		{"Twitterbot", "GET", "Twitterbot/1.0", nil},
		{"WhatsApp", "GET", "WhatsApp/2.23.20.0", nil},
		{"Discordbot", "GET", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", nil},
		{"TelegramBot", "GET", "TelegramBot (like TwitterBot)", nil},
		{"LinkedInBot", "GET", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", nil},
		{"Googlebot", "GET", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", nil},
		{"iMessage preview", "GET", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 (KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot Twitterbot/1.0", nil},
		{"a prefetch", "GET", firefox, []string{"Sec-Purpose", "prefetch"}},
	}
	for _, c := range notCounted {
		shown(follow(t, c.method, bobs, c.ua, c.headers...))
		if at := clickedAt(t, w.env, bobs); at != nil {
			t.Fatalf("%s was counted as a click", c.name)
		}
	}
	// The sender's own click is no recipient's.
	shown(follow(t, "GET", card.Share.Link, firefox))
	if clickedAt(t, w.env, card.Share.Link) != nil {
		t.Fatal("the sender's click on their own card was counted")
	}

	first := w.env.Server.Service.Now()
	shown(follow(t, "GET", bobs, firefox))
	w.env.Clock.Advance(time.Hour)
	shown(follow(t, "GET", bobs, firefox))
	at := clickedAt(t, w.env, bobs)
	if at == nil || at.Before(first) || !at.Before(first.Add(time.Hour)) {
		t.Fatalf("bob's click counted at %v, want his first, at %v", at, first)
	}
}

// An unknown, malformed or deleted link is a 404 page, never a redirect.
func TestShareLinks_UnknownIsA404Page(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"shares.write", "messages.delete"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	bobs := cardOf(t, w.bob, w.aliceBob).Share.Link
	if err := app.DeleteMessage(ctx, card.ID); err != nil {
		t.Fatal(err)
	}
	for name, link := range map[string]string{
		"unknown":      w.env.URL + "/s/" + parley.RandomToken(),
		"too short":    w.env.URL + "/s/abc",
		"not base64":   w.env.URL + "/s/" + strings.Repeat("!", 43),
		"empty":        w.env.URL + "/s/",
		"deleted card": bobs,
	} {
		resp := follow(t, "GET", link, firefox)
		if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Location") != "" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: status %d, Location %q, Content-Type %q; want a 404 page", name, resp.StatusCode,
				resp.Header.Get("Location"), resp.Header.Get("Content-Type"))
		}
	}
}

// Only http and https URLs can be shared, and none with a user name or
// password before its host, as an app's homepage or webhook URL cannot.
func TestShares_OnlyWebURLs(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{}).AccessToken)
	for _, u := range []string{"javascript:alert(1)", "data:text/html,<b>hi</b>", "ftp://films.example/1", "file:///etc/passwd",
		"//films.example/1", "films.example/1", "mailto:bob@example.com",
		// A user name before the host disguises it: the card's URL reads
		// films.example, the link leads to evil.example.
		"https://films.example@evil.example/1", "https://films.example:443@evil.example/1", "https://user:secret@films.example/1",
		"http://@films.example/1"} {
		if _, err := app.Share(ctx, client.NewShare{To: "bob", URL: u, Title: "A film"}); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("sharing %q: %v, want 400", u, err)
		}
	}
}

// A share's to must be a username: an empty or impossible one is bad
// input, not a member to look for.
func TestShares_ToMustBeAUsername(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{}).AccessToken)
	for _, to := range []string{"", " ", "no one", "bob!"} {
		_, err := app.Share(ctx, client.NewShare{To: to, URL: "https://films.example/1", Title: "A film"})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		wantDetail(t, err, "not a username")
	}
}

// A share into a thread closed to apps is refused, and a click on an
// earlier card of that thread, while it is closed, tells the app nothing.
func TestShares_ClosedToAppsRefusedAndNotCounted(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{}).AccessToken)
	if _, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"}); err != nil {
		t.Fatal(err)
	}
	bobs := cardOf(t, w.bob, w.aliceBob).Share.Link
	if _, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/2", Title: "Another"}); client.StatusOf(err) != http.StatusForbidden {
		t.Fatalf("a share into a closed thread: %v, want 403", err)
	}
	if resp := follow(t, "GET", bobs, firefox); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob's own link: %d, want it to lead on all the same", resp.StatusCode)
	}
	if clickedAt(t, w.env, bobs) != nil {
		t.Fatal("a click in a thread closed to apps was counted")
	}
}

// With an Idempotency-Key, a retried share returns the first card and posts
// nothing more; the key used for another card is 409.
func TestShares_IdempotencyKey(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{}).AccessToken)
	share := client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film", Note: "watch it"}
	first, replayed, err := app.ShareOnce(ctx, share, "rec-1")
	if err != nil || replayed {
		t.Fatalf("first share: replayed %v, %v", replayed, err)
	}
	again, replayed, err := app.ShareOnce(ctx, share, "rec-1")
	if err != nil || !replayed || again.ID != first.ID || again.Share.Link != first.Share.Link {
		t.Fatalf("retry: %+v, replayed %v, %v; want the first card again", again, replayed, err)
	}
	page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	cards := 0
	for _, m := range page.Messages {
		if m.Kind == parley.MessageKindShare {
			cards++
		}
	}
	if cards != 1 {
		t.Fatalf("bob has %d cards, want 1", cards)
	}
	for name, other := range map[string]client.NewShare{
		"another URL":    {To: "bob", URL: "https://films.example/2", Title: "A film", Note: "watch it"},
		"another note":   {To: "bob", URL: "https://films.example/1", Title: "A film"},
		"another friend": {To: "carol", URL: "https://films.example/1", Title: "A film", Note: "watch it"},
	} {
		if _, _, err := app.ShareOnce(ctx, other, "rec-1"); client.StatusOf(err) != http.StatusConflict {
			t.Errorf("%s with the same key: %v, want 409", name, err)
		}
	}
	if _, _, err := app.ShareOnce(ctx, share, "bad key"); client.StatusOf(err) != http.StatusBadRequest {
		t.Errorf("a key with a space: %v, want 400", err)
	}
}

// Retries racing with one key post one card, and every one of them gets it.
func TestShares_IdempotencyKeyRace(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{}).AccessToken)
	share := client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"}
	const n = 8
	ids := make(chan string, n)
	fresh := make(chan bool, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			m, replayed, err := app.ShareOnce(ctx, share, "race-1")
			if err != nil {
				t.Error(err)
				return
			}
			ids <- m.ID
			fresh <- !replayed
		})
	}
	wg.Wait()
	close(ids)
	close(fresh)
	first, posted := "", 0
	for id := range ids {
		if first == "" {
			first = id
		} else if id != first {
			t.Fatalf("cards %s and %s for one key", first, id)
		}
	}
	for f := range fresh {
		if f {
			posted++
		}
	}
	if posted != 1 {
		t.Fatalf("%d calls posted a card, want 1", posted)
	}
}

// A card a search finds carries the reader's own tracked link, as the
// card in the thread does: a click from either counts in the app's report.
func TestShareLinks_InSearchAndReactions(t *testing.T) {
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Zanzibar nights"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var inThread *client.Message
	for _, m := range page.Messages {
		if m.ID == card.ID {
			inThread = m
		}
	}
	if inThread == nil || inThread.Share == nil || inThread.Share.Link == "" {
		t.Fatalf("bob's card in the thread: %+v", inThread)
	}
	found, err := w.bob.SearchMessages(ctx, client.SearchQuery{Text: "zanzibar"})
	if err != nil {
		t.Fatal(err)
	}
	if len(found.Messages) != 1 || found.Messages[0].Share == nil {
		t.Fatalf("search found %+v", found.Messages)
	}
	if got := found.Messages[0].Share.Link; got != inThread.Share.Link {
		t.Errorf("the card found by bob's search has link %q; in the thread it is %q", got, inThread.Share.Link)
	}
}

// The answer to a reaction to a card carries the reader's own tracked
// link, as the card in the thread does.
func TestShareLinks_InAReactionsAnswer(t *testing.T) {
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{After: client.Seq(card.Seq - 1), Limit: 1})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Share == nil || page.Messages[0].Share.Link == "" {
		t.Fatalf("bob's card: %+v, %v", page, err)
	}
	reacted, err := w.bob.React(ctx, card.ID, "👍")
	if err != nil {
		t.Fatal(err)
	}
	if reacted.Share == nil || reacted.Share.Link != page.Messages[0].Share.Link {
		t.Errorf("the reaction's answer has card %+v; bob's card in the thread has link %q", reacted.Share, page.Messages[0].Share.Link)
	}
}
