package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
)

func accessLog(t *testing.T, c *client.Client, query string) *service.AccessLogPage {
	t.Helper()
	var page service.AccessLogPage
	if _, err := c.Do(context.Background(), "GET", "/api/v1/me/access-log"+query, nil, &page); err != nil {
		t.Fatal(err)
	}
	return &page
}

func verifyLog(t *testing.T, c *client.Client) *service.Verification {
	t.Helper()
	var v service.Verification
	if _, err := c.Do(context.Background(), "GET", "/api/v1/me/access-log/verify", nil, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// actions lists a page's actions, oldest first.
func actions(p *service.AccessLogPage) []string {
	var out []string
	for _, e := range slices.Backward(p.Entries) {
		out = append(out, e.Action)
	}
	return out
}

// Every call an app makes on member data is in the log of each member
// whose data it touched, newest first, chained, and verifiable.
func TestAccessLog_RecordsAppCalls(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.read", "messages.delete"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)

	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	reply := apptest.MustSend(t, w.bob, w.aliceBob, "thanks")
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}
	if err := app.DeleteMessage(ctx, card.ID); err != nil {
		t.Fatal(err)
	}
	// Alice's own calls are hers, not an app's: nothing logged.
	if _, err := w.alice.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}

	mine := accessLog(t, w.alice, "")
	if got, want := actions(mine), []string{parley.ActionGrantCreated, "shares.write", "messages.read", "messages.delete"}; !slices.Equal(got, want) {
		t.Fatalf("alice's log: %v, want %v", got, want)
	}
	read := mine.Entries[1]
	if read.ClientID != partner.App.ClientID || read.AppName != "Films" || read.ThreadID != w.aliceBob ||
		read.MessageCount != 2 || !slices.Equal(read.MessageIDs, []string{card.ID, reply.ID}) ||
		read.FirstSeq != card.Seq || read.LastSeq != reply.Seq || len(read.Hash) != 32 {
		t.Errorf("read entry %+v", read)
	}
	// Bob's words were read too: he is told, though he granted nothing.
	if got, want := actions(accessLog(t, w.bob, "")), []string{"shares.write", "messages.read", "messages.delete"}; !slices.Equal(got, want) {
		t.Errorf("bob's log: %v, want %v", got, want)
	}
	// Carol was not touched.
	if got := accessLog(t, w.carol, ""); len(got.Entries) != 0 {
		t.Errorf("carol's log: %v", actions(got))
	}

	t.Run("ByAppAndPaged", func(t *testing.T) {
		other := w.env.MustPartner(t, "Other")
		w.env.MustToken(t, other, "alice", []string{"openid"}, apptest.Answer{})
		if got := accessLog(t, w.alice, "?app="+partner.App.ClientID); len(got.Entries) != 4 {
			t.Errorf("filtered by app: %v", actions(got))
		}
		first := accessLog(t, w.alice, "?limit=2")
		if len(first.Entries) != 2 || first.NextCursor == "" {
			t.Fatalf("first page %+v", first)
		}
		rest := accessLog(t, w.alice, "?limit=10&cursor="+first.NextCursor)
		if len(rest.Entries) != 3 || rest.Entries[0].Seq != first.Entries[1].Seq-1 || rest.NextCursor != "" {
			t.Errorf("second page %+v", actions(rest))
		}
		if _, err := w.alice.Do(ctx, "GET", "/api/v1/me/access-log?cursor=5", nil, nil); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("a made-up cursor: %v", err)
		}
	})
	t.Run("AppsCannotReadIt", func(t *testing.T) {
		if _, err := app.Do(ctx, "GET", "/api/v1/me/access-log", nil, nil); client.StatusOf(err) != http.StatusForbidden {
			t.Errorf("an app read the access log: %v", err)
		}
	})
	t.Run("VerifiesIntact", func(t *testing.T) {
		if v := verifyLog(t, w.alice); !v.Intact || v.Entries != 5 || v.Break != nil {
			t.Errorf("verify: %+v", v)
		}
	})
	t.Run("LargeReadsByCountAndSpan", func(t *testing.T) {
		var last *client.Message
		for i := range parley.MaxLoggedMessageIDs {
			last = apptest.MustSend(t, w.bob, w.aliceBob, fmt.Sprintf("more %d", i))
		}
		page, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{Limit: parley.MaxLoggedMessageIDs + 1})
		if err != nil {
			t.Fatal(err)
		}
		e := accessLog(t, w.bob, "?limit=1").Entries[0]
		if e.Action != "messages.read" || e.MessageCount != parley.MaxLoggedMessageIDs+1 || e.MessageIDs != nil ||
			e.FirstSeq != page.Messages[0].Seq || e.LastSeq != last.Seq {
			t.Errorf("a read of %d messages: %+v", len(page.Messages), e)
		}
		if v := verifyLog(t, w.bob); !v.Intact {
			t.Errorf("bob's log after it: %+v", v)
		}
	})
}

// Editing or deleting log rows behind Parley's back breaks the chain at
// the entry touched.
func TestAccessLog_Tampering(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Reader")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	for range 4 {
		if _, err := app.Me(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Reading the log first also folds the reads into it from the journal
	// of reads, where they wait moments after the calls return.
	if v := verifyLog(t, w.alice); !v.Intact || v.Entries != 5 {
		t.Fatalf("verify before any change: %+v", v)
	}
	store, aliceID := w.env.Server.Store, w.aliceID
	// Entries 1 to 5: the grant, then four reads. In order: each change is
	// undone before the next, except the last two, which break the chain
	// first at its end and then further up.
	for _, tc := range []struct {
		name         string
		change, undo func() error
		seq          int64
		reason       string
	}{
		{
			"Edited",
			func() error {
				return sqlstore.TamperAccessEntry(ctx, store, aliceID, 3, func(e *parley.AccessEntry) { e.Action = "threads.read" })
			},
			func() error {
				return sqlstore.TamperAccessEntry(ctx, store, aliceID, 3, func(e *parley.AccessEntry) { e.Action = "profile" })
			},
			3, "altered",
		},
		{
			"AddedBeyondTheEnd",
			func() error {
				return sqlstore.ForgeAccessEntry(ctx, store, &parley.AccessEntry{
					UserID: aliceID, Seq: 9, Action: "profile", PrevHash: []byte{0}, Hash: []byte{0}})
			},
			func() error { return sqlstore.DeleteAccessEntry(ctx, store, aliceID, 9) },
			9, "beyond the end",
		},
		{
			"Truncated", func() error { return sqlstore.DeleteAccessEntry(ctx, store, aliceID, 5) }, nil, 5, "missing at the end",
		},
		{
			"Deleted", func() error { return sqlstore.DeleteAccessEntry(ctx, store, aliceID, 2) }, nil, 2, "missing",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.change(); err != nil {
				t.Fatal(err)
			}
			// A check within a minute of the last that read the whole
			// chain reads only what was appended since.
			w.env.Clock.Advance(time.Minute)
			v := verifyLog(t, w.alice)
			if v.Intact || v.Break == nil || v.Break.Seq != tc.seq || !strings.Contains(v.Break.Reason, tc.reason) {
				t.Errorf("verify after the change: %+v, want a break at %d", v.Break, tc.seq)
			}
			if tc.undo != nil {
				if err := tc.undo(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestAccessLog_EveryAppCallIsLogged: each call an app makes on member
// data is in the access log of each member whose data it touched, as the
// scope it used: the member's profile and friends are the member's alone;
// a thread, listed or read alone, its participants, its messages and its
// changes, and a message or thread written, are everyone's in the thread.
func TestAccessLog_EveryAppCallIsLogged(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Everything")
	if _, err := w.env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	scopes := []string{"openid"}
	for _, s := range appScopes {
		scopes = append(scopes, string(s))
	}
	tok := w.env.MustToken(t, partner, "alice", scopes, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	app := w.env.Client.WithToken(tok.AccessToken)
	aliceOnly, aliceAndBob := []*client.Client{w.alice}, []*client.Client{w.alice, w.bob}
	for _, c := range []struct {
		name    string
		action  parley.Scope
		touched []*client.Client
		// call makes the call and returns the thread the entry names.
		call func() (string, error)
	}{
		{"GET /me", parley.ScopeProfile, aliceOnly, func() (string, error) {
			_, err := app.Me(ctx)
			return "", err
		}},
		{"GET /friends", parley.ScopeFriendsRead, []*client.Client{w.alice, w.bob, w.carol}, func() (string, error) {
			_, err := app.Friends(ctx)
			return "", err
		}},
		{"GET /threads", parley.ScopeThreadsRead, aliceAndBob, func() (string, error) {
			_, err := app.Threads(ctx, client.ThreadsQuery{})
			return w.aliceBob, err
		}},
		{"GET /threads/{id}", parley.ScopeThreadsRead, aliceAndBob, func() (string, error) {
			_, err := app.Thread(ctx, w.aliceBob)
			return w.aliceBob, err
		}},
		{"GET /threads/{id}/participants", parley.ScopeParticipantsRead, aliceAndBob, func() (string, error) {
			_, err := app.Participants(ctx, w.aliceBob)
			return w.aliceBob, err
		}},
		{"GET /threads/{id}/messages", parley.ScopeMessagesRead, aliceAndBob, func() (string, error) {
			_, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{})
			return w.aliceBob, err
		}},
		{"GET /threads/{id}/changes", parley.ScopeMessagesRead, aliceAndBob, func() (string, error) {
			_, err := app.Changes(ctx, w.aliceBob, client.ChangesQuery{})
			return w.aliceBob, err
		}},
		{"POST /threads/{id}/messages", parley.ScopeMessagesWrite, aliceAndBob, func() (string, error) {
			_, err := app.SendMessage(ctx, w.aliceBob, "from the app", "")
			return w.aliceBob, err
		}},
		{"POST /threads", parley.ScopeMessagesWrite, aliceAndBob, func() (string, error) {
			th, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "planned by an app", Kind: "group"})
			if err != nil {
				return "", err
			}
			return th.ID, nil
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The newest entry of each member's log before the call.
			before := make([]int64, len(c.touched))
			for i, m := range c.touched {
				if p := accessLog(t, m, "?limit=1"); len(p.Entries) > 0 {
					before[i] = p.Entries[0].Seq
				}
			}
			threadID, err := c.call()
			if err != nil {
				t.Fatal(err)
			}
			for i, m := range c.touched {
				found := false
				for _, e := range accessLog(t, m, "?limit=20").Entries {
					if e.Seq > before[i] && e.Action == string(c.action) && e.ThreadID == threadID && e.ClientID == partner.App.ClientID {
						found = true
					}
				}
				if !found {
					t.Errorf("%s's log has no %s entry for thread %q after the call", apptest.MustMe(t, m).Username, c.action, threadID)
				}
			}
		})
	}
}

// TestAccessLog_ReplayIsLoggedAsARead: an app whose retried
// Idempotency-Key is answered with its earlier message or card receives
// that message as it is now, a read of it, logged as one for everyone in
// the thread; the write itself is logged once.
func TestAccessLog_ReplayIsLoggedAsARead(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Retrier")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.write", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol}})
	app := w.env.Client.WithToken(tok.AccessToken)
	for _, tc := range []struct {
		name    string
		written parley.Scope
		other   *client.Client
		// write makes the call, the first time or again, and returns what it
		// answered.
		write func() (*client.Message, error)
	}{
		{"Send", parley.ScopeMessagesWrite, w.bob, func() (*client.Message, error) {
			return app.SendMessage(ctx, w.aliceBob, "see you at 9", "send-1")
		}},
		{"Share", parley.ScopeSharesWrite, w.carol, func() (*client.Message, error) {
			m, _, err := app.ShareOnce(ctx, client.NewShare{To: "carol", URL: "https://films.example/1", Title: "One"}, "share-1")
			return m, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first, err := tc.write()
			if err != nil {
				t.Fatal(err)
			}
			again, err := tc.write()
			if err != nil || again.ID != first.ID {
				t.Fatalf("the retry: %+v, %v; want message %s again", again, err, first.ID)
			}
			for _, c := range []*client.Client{w.alice, tc.other} {
				log := accessLog(t, c, "?limit=2&app="+partner.App.ClientID)
				name := apptest.MustMe(t, c).Username
				if got, want := actions(log), []string{string(tc.written), "messages.read"}; !slices.Equal(got, want) {
					t.Errorf("%s's log: %v, want %v", name, got, want)
					continue
				}
				for _, e := range log.Entries {
					if e.ThreadID != first.ThreadID || !slices.Equal(e.MessageIDs, []string{first.ID}) || e.FirstSeq != first.Seq {
						t.Errorf("%s's %s entry: %+v, want message %s of thread %s", name, e.Action, e, first.ID, first.ThreadID)
					}
				}
			}
		})
	}
}

// An app that reads its member's friends, page by page or again and again,
// is in each friend's log once in parley.AccessKeyKept, an entry naming
// the app and the member's grant (whose list it read), and in the
// member's own log once a call. After the window it is logged again; another
// app, or the same app through a friend's own grant, is logged apart.
func TestAccessLog_FriendsReadOncePerFriendPerWindow(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	films, music := w.env.MustPartner(t, "Films"), w.env.MustPartner(t, "Music")
	// connect returns the app's client through the member's grant.
	connect := func(p *apptest.Partner, member string) *client.Client {
		tok := w.env.MustToken(t, p, member, []string{"openid", "friends.read"}, apptest.Answer{})
		return w.env.Client.WithToken(tok.AccessToken)
	}
	filmsAlice := connect(films, "alice")
	// friendsReads returns the friends.read entries of each app in m's log.
	friendsReads := func(m *client.Client) map[string][]*parley.AccessEntry {
		t.Helper()
		byApp := map[string][]*parley.AccessEntry{}
		for _, e := range accessLog(t, m, "?limit=200").Entries {
			if e.Action == string(parley.ScopeFriendsRead) {
				byApp[e.ClientID] = append(byApp[e.ClientID], e)
			}
		}
		return byApp
	}
	want := func(when string, m *client.Client, name string, counts map[*apptest.Partner]int) {
		t.Helper()
		got := friendsReads(m)
		for p, n := range counts {
			if len(got[p.App.ClientID]) != n {
				t.Errorf("%s: %s's log holds %d friends.read entries of %s, want %d", when, name, len(got[p.App.ClientID]), p.App.Name, n)
			}
		}
	}

	// Page by page (alice has two friends), then all at once, then again.
	first, err := filmsAlice.FriendsPage(ctx, client.FriendsQuery{Limit: 1})
	if err != nil || len(first.Friends) != 1 || first.NextCursor == "" {
		t.Fatalf("the first page: %+v, %v", first, err)
	}
	if p, err := filmsAlice.FriendsPage(ctx, client.FriendsQuery{Limit: 1, Cursor: first.NextCursor}); err != nil || len(p.Friends) != 1 {
		t.Fatalf("the second page: %+v, %v", p, err)
	}
	for range 2 {
		if f, err := filmsAlice.Friends(ctx); err != nil || len(f) != 2 {
			t.Fatalf("Friends: %+v, %v", f, err)
		}
	}
	want("four reads in a row", w.alice, "alice", map[*apptest.Partner]int{films: 4})
	want("four reads in a row", w.bob, "bob", map[*apptest.Partner]int{films: 1})
	want("four reads in a row", w.carol, "carol", map[*apptest.Partner]int{films: 1})
	aliceGrant := friendsReads(w.alice)[films.App.ClientID][0].GrantID
	for name, m := range map[string]*client.Client{"bob": w.bob, "carol": w.carol} {
		if e := friendsReads(m)[films.App.ClientID][0]; e.GrantID != aliceGrant || e.AppName != "Films" {
			t.Errorf("%s's entry names grant %s of %s, want alice's, %s, of Films", name, e.GrantID, e.AppName, aliceGrant)
		}
	}

	// Within the window still, then past it: once more.
	w.env.Clock.Advance(parley.AccessKeyKept - time.Minute)
	if _, err := filmsAlice.Friends(ctx); err != nil {
		t.Fatal(err)
	}
	want("within the window", w.bob, "bob", map[*apptest.Partner]int{films: 1})
	w.env.Clock.Advance(2 * time.Minute)
	if _, err := filmsAlice.Friends(ctx); err != nil {
		t.Fatal(err)
	}
	want("after the window", w.alice, "alice", map[*apptest.Partner]int{films: 6})
	want("after the window", w.bob, "bob", map[*apptest.Partner]int{films: 2})
	want("after the window", w.carol, "carol", map[*apptest.Partner]int{films: 2})

	// Another app, and the same app through bob's grant: entries of
	// their own, at once.
	musicAlice, filmsBob := connect(music, "alice"), connect(films, "bob")
	for _, app := range []*client.Client{musicAlice, filmsBob} {
		if _, err := app.Friends(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// bob's own list, read through his grant, is in his log once a call.
	want("another app and his own list", w.bob, "bob", map[*apptest.Partner]int{films: 3, music: 1})
	want("another app and another grant", w.carol, "carol", map[*apptest.Partner]int{films: 3, music: 1})
	want("another grant", w.alice, "alice", map[*apptest.Partner]int{films: 7, music: 1})
}
