package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// Apps see /api/v1 through their grants: scopes decide which calls they may
// make, the thread scope which threads exist for them.

// appCall is one endpoint as an app calls it. Calls about a thread take it;
// scope "" marks calls no app may make.
type appCall struct {
	name   string
	scope  parley.Scope
	thread bool
	call   func(ctx context.Context, app *client.Client, threadID string) error
}

// grantWorld is three members and the threads an app may or may not reach.
type grantWorld struct {
	env              *apptest.Env
	alice, bob       *client.Client
	carol            *client.Client
	aliceBob         string // direct thread alice–bob
	aliceCarol       string // direct thread alice–carol
	bobCarol         string // a thread alice is not in
	aliceID, carolID string
	aliceApp         string // the client ID of an app alice registered, once appCalls made it
	// firstSaid is the ID of each thread's first message, sent before any
	// app was connected.
	firstSaid map[string]string
}

func newGrantWorld(t *testing.T) *grantWorld {
	// Members stay signed in for a year, so that tests can move the clock
	// past a grant's expiry. The apps' calls are not limited: dozens of
	// apps call for alice at once, far more than all apps together may
	// for one member (TestRateLimits_OwnAppsDoNotMultiplyAMembersAllowance).
	env := apptest.Start(t, func(c *config.Config) { c.SessionTTL, c.RateLimitApp = 365*24*time.Hour, 0 })
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	apptest.MustFriends(t, bob, carol)
	w := &grantWorld{env: env, alice: alice, bob: bob, carol: carol, aliceID: apptest.MustMe(t, alice).ID, carolID: apptest.MustMe(t, carol).ID}
	w.aliceBob = apptest.MustThread(t, alice, "bob").ID
	w.aliceCarol = apptest.MustThread(t, alice, "carol").ID
	w.bobCarol = apptest.MustThread(t, bob, "carol").ID
	w.firstSaid = map[string]string{w.bobCarol: apptest.MustSend(t, bob, w.bobCarol, "alice cannot see this").ID}
	for _, th := range []string{w.aliceBob, w.aliceCarol} {
		w.firstSaid[th] = apptest.MustSend(t, alice, th, "before any app").ID
	}
	return w
}

// sendIn sends a message into the thread now, so that an app's view
// reaches it: alice's, but in a thread she is not in, bob's.
func (w *grantWorld) sendIn(t *testing.T, threadID, text string) *client.Message {
	sender := w.alice
	if threadID == w.bobCarol {
		sender = w.bob
	}
	return apptest.MustSend(t, sender, threadID, text)
}

// said returns the ID of the thread's first message, or of one sendIn
// sends now into a thread made since.
func (w *grantWorld) said(t *testing.T, threadID string) string {
	if id, ok := w.firstSaid[threadID]; ok {
		return id
	}
	return w.sendIn(t, threadID, "in a thread made since").ID
}

// appCalls is every /api/v1 call an app might make, with the scope it needs.
func (w *grantWorld) appCalls(t *testing.T) []appCall {
	if w.aliceApp == "" {
		w.aliceApp = w.env.MustPartnerOf(t, "Alice's own", "alice").App.ClientID
	}
	return []appCall{
		{"GET /me", parley.ScopeProfile, false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Me(ctx)
			return err
		}},
		{"GET /friends", parley.ScopeFriendsRead, false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Friends(ctx)
			return err
		}},
		{"GET /threads", parley.ScopeThreadsRead, false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Threads(ctx, client.ThreadsQuery{})
			return err
		}},
		{"GET /threads/{id}", parley.ScopeThreadsRead, true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.Thread(ctx, th)
			return err
		}},
		{"GET /threads/{id}/participants", parley.ScopeParticipantsRead, true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.Participants(ctx, th)
			return err
		}},
		{"GET /threads/{id}/messages", parley.ScopeMessagesRead, true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.Messages(ctx, th, client.MessagesQuery{})
			return err
		}},
		{"GET /threads/{id}/changes", parley.ScopeMessagesRead, true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.Changes(ctx, th, client.ChangesQuery{})
			return err
		}},
		{"POST /threads/{id}/messages", parley.ScopeMessagesWrite, true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.SendMessage(ctx, th, "from the app", "")
			return err
		}},
		{"DELETE /messages/{id}", parley.ScopeMessagesDelete, true, func(ctx context.Context, c *client.Client, th string) error {
			return c.DeleteMessage(ctx, w.sendIn(t, th, "delete me").ID)
		}},
		{"PATCH /messages/{id}", parley.ScopeMessagesWrite, true, func(ctx context.Context, c *client.Client, th string) error {
			// The app edits a message it wrote. Where it cannot write one,
			// it tries the member's own (bob's, in a thread alice is not
			// in), and is refused as for any edit it may not make.
			m, err := c.SendMessage(ctx, th, "from the app", "")
			if err != nil {
				m = w.sendIn(t, th, "edit me")
			}
			_, err = c.EditMessage(ctx, m.ID, "edited by the app")
			return err
		}},
		{"POST /threads", parley.ScopeMessagesWrite, false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "planned by an app"})
			return err
		}},
		{"POST /shares", parley.ScopeSharesWrite, false, func(ctx context.Context, c *client.Client, _ string) error {
			// Into alice–bob, which a grant of thread scope "selected"
			// reaches: it shares into no other that was there before it.
			_, err := c.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "A film"})
			return err
		}},
		{"POST /friends", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.AddFriend(ctx, "dave")
			return err
		}},
		{"GET /friend-requests", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.FriendRequests(ctx)
			return err
		}},
		{"DELETE /friends/{id}", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			return c.RemoveFriend(ctx, w.carolID)
		}},
		{"POST /blocks", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Block(ctx, "carol")
			return err
		}},
		{"GET /blocks", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.BlockedMembers(ctx)
			return err
		}},
		{"DELETE /blocks/{id}", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			return c.Unblock(ctx, w.carolID)
		}},
		{"PATCH /threads/{id}", "", true, func(ctx context.Context, c *client.Client, th string) error {
			muted := true
			_, err := c.UpdateThread(ctx, th, client.ThreadUpdate{Muted: &muted})
			return err
		}},
		{"POST /threads/{id}/participants", "", true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.AddParticipant(ctx, th, "carol")
			return err
		}},
		{"DELETE /threads/{id}/participants/me", "", true, func(ctx context.Context, c *client.Client, th string) error {
			return c.LeaveThread(ctx, th)
		}},
		{"DELETE /threads/{id}/participants/{user_id}", "", true, func(ctx context.Context, c *client.Client, th string) error {
			return c.RemoveParticipant(ctx, th, w.carolID)
		}},
		{"POST /threads/{id}/read", "", true, func(ctx context.Context, c *client.Client, th string) error {
			return c.MarkRead(ctx, th, 1)
		}},
		{"POST /threads/{id}/typing", "", true, func(ctx context.Context, c *client.Client, th string) error {
			return c.Typing(ctx, th)
		}},
		{"PUT /messages/{id}/reaction", "", true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.React(ctx, w.said(t, th), "👍")
			return err
		}},
		{"DELETE /messages/{id}/reaction", "", true, func(ctx context.Context, c *client.Client, th string) error {
			return c.TakeBackReaction(ctx, w.said(t, th))
		}},
		{"PUT /messages/{id}/flag", "", true, func(ctx context.Context, c *client.Client, th string) error {
			_, _, err := c.FlagMessage(ctx, w.said(t, th), client.FlagSpam, "")
			return err
		}},
		{"GET /messages/{id}/flag", "", true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.Flag(ctx, w.said(t, th))
			return err
		}},
		{"GET /search/messages", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.SearchMessages(ctx, client.SearchQuery{Text: "before"})
			return err
		}},
		{"GET /apps", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Do(ctx, "GET", "/api/v1/apps", nil, nil)
			return err
		}},
		{"POST /apps", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": "Sneaky", "redirect_uris": []string{"https://x.example/cb"}}, nil)
			return err
		}},
		{"POST /apps/{client_id}/webhooks", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Do(ctx, "POST", "/api/v1/apps/"+w.aliceApp+"/webhooks",
				map[string]any{"url": "https://hooks.example/parley", "events": []string{"message.created"}}, nil)
			return err
		}},
		{"GET /apps/{client_id}/webhooks", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Do(ctx, "GET", "/api/v1/apps/"+w.aliceApp+"/webhooks", nil, nil)
			return err
		}},
		{"GET /me/grants", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.ConnectedApps(ctx)
			return err
		}},
		{"DELETE /me/grants/{id}", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			return c.RevokeGrant(ctx, "any")
		}},
		{"GET /me/access-log", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Do(ctx, "GET", "/api/v1/me/access-log", nil, nil)
			return err
		}},
		{"GET /me/access-log/verify", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			_, err := c.Do(ctx, "GET", "/api/v1/me/access-log/verify", nil, nil)
			return err
		}},
		{"GET /threads/{id}/apps", "", true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.ThreadApps(ctx, th)
			return err
		}},
		{"PUT /threads/{id}/app-access", "", true, func(ctx context.Context, c *client.Client, th string) error {
			_, err := c.SetThreadAppAccess(ctx, th, false)
			return err
		}},
		{"DELETE /sessions/current", "", false, func(ctx context.Context, c *client.Client, _ string) error {
			return c.SignOut(ctx)
		}},
		{"GET /events", parley.ScopeMessagesRead, false, func(ctx context.Context, c *client.Client, _ string) error {
			s, err := c.Events(ctx)
			if err == nil {
				s.Close()
			}
			return err
		}},
	}
}

var appScopes = []parley.Scope{
	parley.ScopeProfile, parley.ScopeFriendsRead, parley.ScopeThreadsRead, parley.ScopeParticipantsRead,
	parley.ScopeMessagesRead, parley.ScopeMessagesWrite, parley.ScopeMessagesDelete, parley.ScopeSharesWrite,
}

// TestGrants_AuthorizationMatrix holds every scope against every call under
// every thread scope: the one allowed cell of each row succeeds, every other
// cell is refused, and threads outside the thread scope do not exist.
func TestGrants_AuthorizationMatrix(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	for _, threadScope := range []string{parley.ThreadScopeApp, parley.ThreadScopeSelected, parley.ThreadScopeAll} {
		for _, held := range appScopes {
			t.Run(threadScope+"/"+string(held), func(t *testing.T) {
				partner := w.env.MustPartner(t, "App "+threadScope+" "+string(held))
				if threadScope == parley.ThreadScopeAll {
					if _, err := w.env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
						t.Fatal(err)
					}
				}
				tok := w.env.MustToken(t, partner, "alice", []string{"openid", string(held)},
					apptest.Answer{ThreadScope: threadScope, Threads: []string{w.aliceBob}})
				app := w.env.Client.WithToken(tok.AccessToken)

				// Which of alice's threads the grant reaches.
				inside, outside := w.aliceBob, w.aliceCarol
				if threadScope == parley.ThreadScopeApp {
					inside = "" // nothing until the app starts a thread or shares
					if held == parley.ScopeMessagesWrite {
						th, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "the app's own"})
						if err != nil {
							t.Fatal(err)
						}
						inside = th.ID
					}
				}
				if threadScope == parley.ThreadScopeAll {
					outside = w.bobCarol // all of alice's threads are inside
				}
				for _, c := range w.appCalls(t) {
					targets := map[string]string{"": ""}
					if c.thread {
						targets = map[string]string{"outside": outside}
						if inside != "" {
							targets["inside"] = inside
						}
					}
					for where, th := range targets {
						err := c.call(ctx, app, th)
						switch {
						case c.scope != held:
							assertInsufficientScope(t, c, where, err)
						case where == "outside":
							if client.StatusOf(err) != http.StatusNotFound {
								t.Errorf("%s on a thread outside the grant: %v, want 404", c.name, err)
							}
						case err != nil:
							t.Errorf("%s %s: %v, want success", c.name, where, err)
						}
					}
				}
				if held == parley.ScopeThreadsRead {
					page, err := app.Threads(ctx, client.ThreadsQuery{})
					if err != nil {
						t.Fatal(err)
					}
					var ids []string
					for _, th := range page.Threads {
						ids = append(ids, th.ID)
						if th.LastMessage != nil {
							t.Errorf("threads.read alone shows the last message of %s", th.ID)
						}
					}
					if inside != "" && !slices.Contains(ids, inside) || slices.Contains(ids, outside) {
						t.Errorf("thread list %v: want %q in it and %q not", ids, inside, outside)
					}
				}
			})
		}
	}
}

// An app's token the node holds in its cache is answered as a token looked
// up afresh would be. After its grant changed in a way a send does not
// touch (a scope the send does not use taken out), a send through it is
// served again, whole, and lands once; after its grant is revoked, every
// call an app might make is refused 401.
func TestGrants_CachedTokenAnsweredAsLookedUp(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Everything")
	scopes := []string{"openid"}
	for _, s := range appScopes {
		scopes = append(scopes, string(s))
	}
	tok := w.env.MustToken(t, partner, "alice", scopes,
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol}})
	app := w.env.Client.WithToken(tok.AccessToken)
	if _, err := app.Me(ctx); err != nil {
		t.Fatal(err) // the node caches the token
	}

	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var grant string
	for _, a := range apps {
		if a.ClientID == partner.App.ClientID {
			grant = a.ID
		}
	}
	kept := []string{}
	for _, s := range appScopes {
		if s != parley.ScopeProfile {
			kept = append(kept, string(s))
		}
	}
	if _, err := w.alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+grant, map[string]any{"scopes": kept}, nil); err != nil {
		t.Fatal(err)
	}
	sent, err := app.SendMessage(ctx, w.aliceBob, "served again, whole", "")
	if err != nil || sent.Text != "served again, whole" {
		t.Fatalf("the app's send after a scope it does not use was taken out: %+v, %v", sent, err)
	}
	page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	landed := 0
	for _, m := range page.Messages {
		if m.Text == sent.Text {
			landed++
		}
	}
	if landed != 1 {
		t.Fatalf("the app's send landed %d times, want once", landed)
	}

	if err := w.alice.RevokeGrant(ctx, grant); err != nil {
		t.Fatal(err)
	}
	for _, c := range w.appCalls(t) {
		if err := c.call(ctx, app, w.aliceBob); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("%s through the revoked grant's cached token: %v, want 401", c.name, err)
		}
	}
}

// A node looks an app's token up once and then takes it from its cache:
// while nothing about the token changes, each later request of it costs
// the store one query fewer than its first, the look-up, and is not served
// twice.
func TestGrants_CachedTokenNotLookedUpAgain(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	// cost returns the queries a read of the thread through token costs,
	// the fewest of reads through each: the server's chores run their own
	// now and then.
	cost := func(tokens ...string) uint64 {
		fewest := uint64(1 << 62)
		for _, token := range tokens {
			before := w.env.Server.Store.Queries()
			if _, err := w.env.Client.WithToken(token).Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
				t.Fatal(err)
			}
			fewest = min(fewest, w.env.Server.Store.Queries()-before)
		}
		return fewest
	}
	var tokens []string
	for range 3 {
		tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
		tokens = append(tokens, tok.AccessToken)
	}
	first := cost(tokens...)
	later := cost(tokens[0], tokens[0], tokens[0])
	if later != first-1 {
		t.Errorf("a read through a token the node has looked up cost %d queries, its first %d; want one fewer", later, first)
	}
}

func assertInsufficientScope(t *testing.T, c appCall, where string, err error) {
	t.Helper()
	e, ok := errors.AsType[*client.Error](err)
	if !ok || e.Status != http.StatusForbidden {
		t.Errorf("%s %s without its scope: %v, want 403", c.name, where, err)
		return
	}
	if c.name == "GET /events" {
		return // the WebSocket handshake's refusal carries no headers to the client
	}
	want := `error="insufficient_scope"`
	if c.scope != "" {
		want += `, scope="` + string(c.scope) + `"`
	}
	if e.Type != "urn:parley:problem:insufficient_scope" || !strings.Contains(e.WWWAuthenticate, want) {
		t.Errorf("%s %s: type %q, WWW-Authenticate %q, want %s", c.name, where, e.Type, e.WWWAuthenticate, want)
	}
}

// With thread scope app, a share brings the friend's thread into the grant
// from the card on: the app reads the replies, never what came before.
func TestGrants_ShareThenReadReplies(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.read", "threads.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)

	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this", Note: "you'll love it"})
	if err != nil {
		t.Fatal(err)
	}
	if card.ThreadID != w.aliceBob || card.Kind != client.MessageKindShare || card.Share == nil ||
		card.Share.URL != "https://films.example/42" || card.Text != "you'll love it" ||
		card.Via == nil || card.Via.Name != "Films" || card.Via.ClientID != partner.App.ClientID {
		t.Fatalf("share card %+v", card)
	}
	apptest.MustSend(t, w.bob, w.aliceBob, "thanks, watching tonight")

	page, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range page.Messages {
		texts = append(texts, m.Text)
	}
	if !slices.Equal(texts, []string{"you'll love it", "thanks, watching tonight"}) {
		t.Errorf("the app reads %q, want only the card and the reply", texts)
	}
	// Reading from the start does not reach back either.
	if page, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{After: client.Seq(0)}); err != nil || len(page.Messages) != 2 {
		t.Errorf("after=0 returned %d messages, %v", len(page.Messages), err)
	}
	threads, err := app.Threads(ctx, client.ThreadsQuery{Messages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(threads.Threads) != 1 || threads.Threads[0].ID != w.aliceBob || len(threads.Threads[0].Messages) != 2 {
		t.Fatalf("the app's inbox: %+v", threads.Threads)
	}
	if _, err := app.Messages(ctx, w.aliceCarol, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("another friend's thread: %v, want 404", err)
	}

	t.Run("ToSomeoneNotAFriend", func(t *testing.T) {
		w.env.MustMember(t, "mallory")
		_, err := app.Share(ctx, client.NewShare{To: "mallory", URL: "https://films.example/1", Title: "Hi"})
		if client.StatusOf(err) != http.StatusForbidden {
			t.Errorf("share to a stranger: %v, want 403", err)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for name, s := range map[string]client.NewShare{
			"JavascriptURL":  {To: "bob", URL: "javascript:alert(1)", Title: "x"},
			"NoTitle":        {To: "bob", URL: "https://films.example/1"},
			"InvisibleTitle": {To: "bob", URL: "https://films.example/1", Title: "\u200b"},
			"NoHost":         {To: "bob", URL: "https:///path", Title: "x"},
			"SpaceInURL":     {To: "bob", URL: "https://films.example/a b", Title: "x"},
			"NonASCIIHost":   {To: "bob", URL: "https://fïlms.example/1", Title: "x"},
			// Decoded, a look-alike of apple.com (its a Cyrillic), on the
			// card and on the page that says where the link leads.
			"EscapedHost":     {To: "bob", URL: "https://%D0%B0pple.com/login", Title: "x"},
			"EscapedBidiHost": {To: "bob", URL: "https://films%E2%80%AE.example/", Title: "x"},
			"NonASCIIPath":    {To: "bob", URL: "https://films.example/café", Title: "x"},
			"BadEscape":       {To: "bob", URL: "https://films.example/%g1", Title: "x"},
			"Yourself":        {To: "alice", URL: "https://films.example/1", Title: "x"},
		} {
			if _, err := app.Share(ctx, s); client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("%s: %v, want 400", name, err)
			}
		}
	})
}

// An app sees the threads it started, and writes into them as the member,
// marked with its name; a direct thread that existed before is not its.
func TestGrants_AppStartedThreads(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Receipts")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.write", "messages.read", "messages.delete"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)

	_, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}})
	wantProblem(t, err, http.StatusForbidden, "forbidden")
	wantDetail(t, err, "this app cannot start threads with the member named")
	th, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Dinner bill"})
	if err != nil {
		t.Fatal(err)
	}
	if th.CreatedViaApp != partner.App.ClientID {
		t.Errorf("created_via_app = %q", th.CreatedViaApp)
	}
	sent, err := app.SendMessage(ctx, th.ID, "You sent bob 20 EUR", "")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Via == nil || sent.Via.Name != "Receipts" {
		t.Errorf("message written through the app has via %+v", sent.Via)
	}
	// Bob sees who wrote it through what.
	page, err := w.bob.Messages(ctx, th.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if last := page.Messages[len(page.Messages)-1]; last.ID != sent.ID || last.Via == nil || last.Via.Name != "Receipts" {
		t.Errorf("bob sees %+v", last)
	}

	t.Run("DeleteOnlyMembersOwn", func(t *testing.T) {
		reply := apptest.MustSend(t, w.bob, th.ID, "thanks")
		// Bob's message is, to the app, none it can delete: a refusal
		// tells it not who sent it (refusals_test.go).
		if err := app.DeleteMessage(ctx, reply.ID); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("deleting bob's message: %v, want 404", err)
		}
		if err := app.DeleteMessage(ctx, sent.ID); err != nil {
			t.Errorf("deleting the member's own message: %v", err)
		}
	})
	t.Run("OtherThreadsAbsent", func(t *testing.T) {
		before, err := w.alice.Messages(ctx, w.aliceBob, client.MessagesQuery{After: client.Seq(0), Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := app.DeleteMessage(ctx, before.Messages[0].ID); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("deleting a message of a thread outside the grant: %v, want 404", err)
		}
	})
}

// A thread started through an app names it (created_via_app) to its
// members and to that app, never to another app: which other apps its
// member uses is not one app's to learn, from the thread, the list or a
// thread.updated event; nor from a message the app wrote (via), in a
// page, a thread's last message or a message.created event.
func TestGrants_AnAppLearnsNoOtherAppAThreadWasStartedThrough(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	planner := w.env.MustPartner(t, "Planner")
	ptok := w.env.MustToken(t, planner, "alice", []string{"openid", "messages.write", "threads.read"}, apptest.Answer{})
	started, err := w.env.Client.WithToken(ptok.AccessToken).CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"})
	if err != nil {
		t.Fatal(err)
	}
	other := w.env.MustToken(t, w.env.MustPartner(t, "Other"), "alice", []string{"openid", "threads.read", "messages.read", "participants.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{started.ID}})
	otherApp := w.env.Client.WithToken(other.AccessToken)
	stream := mustEvents(t, otherApp)

	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob, "Planner": w.env.Client.WithToken(ptok.AccessToken)} {
		if th, err := c.Thread(ctx, started.ID); err != nil || th.CreatedViaApp != planner.App.ClientID {
			t.Errorf("%s reads created_via_app %q (%v), want Planner's", name, th.CreatedViaApp, err)
		}
	}
	th, err := otherApp.Thread(ctx, started.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := otherApp.Threads(ctx, client.ThreadsQuery{})
	if err != nil || len(list.Threads) != 1 {
		t.Fatalf("the other app's threads: %v, %v", list, err)
	}
	if _, err := w.bob.UpdateThread(ctx, started.ID, client.ThreadUpdate{Title: new("Trip, in May")}); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	change := nextData[client.ThreadChange](t, wait, stream, client.EventThreadUpdated)
	for what, via := range map[string]string{"the thread": th.CreatedViaApp, "the list": list.Threads[0].CreatedViaApp, "thread.updated": change.Thread.CreatedViaApp} {
		if via != "" {
			t.Errorf("another app reads in %s created_via_app %q", what, via)
		}
	}

	sent, err := w.env.Client.WithToken(ptok.AccessToken).SendMessage(ctx, started.ID, "Flights booked", "")
	if err != nil || sent.Via == nil {
		t.Fatalf("Planner's message: %+v, %v; want it naming Planner to Planner", sent, err)
	}
	created := nextData[client.Message](t, wait, stream, client.EventMessageCreated)
	page, err := otherApp.Messages(ctx, started.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	read, err := otherApp.Thread(ctx, started.ID)
	if err != nil {
		t.Fatal(err)
	}
	for what, m := range map[string]*client.Message{"message.created": &created, "the page": page.Messages[len(page.Messages)-1], "the last message": read.LastMessage} {
		if m == nil || m.ID != sent.ID || m.Via != nil {
			t.Errorf("another app reads in %s %+v; want Planner's message with no via", what, m)
		}
	}
	if mine, err := w.alice.Messages(ctx, started.ID, client.MessagesQuery{}); err != nil || mine.Messages[len(mine.Messages)-1].Via == nil {
		t.Errorf("alice reads her message with no via: %v", err)
	}
}

// A grant of thread scope "selected" reaches, of the conversations there
// before the app came, those its member ticks: the app cannot bring
// another into it by sharing into it, whether the member never ticked it
// or unticked it. Such a share is refused as one into a conversation
// closed to apps is, and posts nothing. A conversation the share starts,
// with a friend the member had none with, is the app's, as under "app".
func TestGrants_ASelectedGrantGainsNoConversationItsMemberDidNotTick(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	dave := w.env.MustMember(t, "dave")
	apptest.MustFriends(t, w.alice, dave)
	group := apptest.MustThread(t, w.alice, "bob", "carol").ID
	tok := w.env.MustToken(t, w.env.MustPartner(t, "Picker"), "alice", []string{"openid", "messages.read", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, group}})
	app := w.env.Client.WithToken(tok.AccessToken)
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if _, err := w.alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"thread_ids": []string{group}}, nil); err != nil {
		t.Fatal(err)
	}
	film := client.NewShare{URL: "https://films.example/1", Title: "A film"}

	for to, thread := range map[string]string{"bob": w.aliceBob, "carol": w.aliceCarol} { // unticked, never ticked
		share := film
		share.To = to
		_, err := app.Share(ctx, share)
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		page, err := w.alice.Messages(ctx, thread, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if last := page.Messages[len(page.Messages)-1]; last.Share != nil {
			t.Errorf("the share refused to %s was posted: %+v", to, last)
		}
		apptest.MustSend(t, w.alice, thread, "said after the refused share")
		if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("after its share to %s, the app reads their conversation: %v, want 404", to, err)
		}
	}

	film.To = "dave"
	card, err := app.Share(ctx, film)
	if err != nil {
		t.Fatalf("a share starting a conversation with dave: %v", err)
	}
	reply := apptest.MustSend(t, dave, card.ThreadID, "thanks")
	page, err := app.Messages(ctx, card.ThreadID, client.MessagesQuery{})
	if err != nil || len(page.Messages) != 2 || page.Messages[1].ID != reply.ID {
		t.Errorf("the app reads the conversation its share started: %+v, %v; want its card and dave's reply", page, err)
	}
}

// An app answered with a thread it did not make (a direct thread that
// existed, in its grant; a group it started before, by the same
// Idempotency-Key) reads that thread's summary, its activity and unread
// count, only if it may read threads (threads.read), and each member's
// log says so. An app that may only write is answered with the thread as
// it was started, as a call that starts it is, and reads nothing.
func TestGrants_AppStartingAThreadAgainReadsItWithThreadsRead(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	for range 3 {
		apptest.MustSend(t, w.bob, w.aliceBob, "not read by alice yet")
	}
	for _, tc := range []struct {
		name   string
		scopes []string
		reads  int
		key    string
	}{
		{"writes only", []string{"openid", "messages.write"}, 0, "dinner-1"},
		{"reads threads", []string{"openid", "messages.write", "threads.read"}, 1, "dinner-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			partner := w.env.MustPartner(t, "Receipts "+tc.name)
			app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", tc.scopes,
				apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
			threadsRead := func(c *client.Client, threadID string) int {
				t.Helper()
				var log struct{ Entries []client.AccessEntry }
				if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log?limit=200", nil, &log); err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range log.Entries {
					if e.ClientID == partner.App.ClientID && e.ThreadID == threadID && e.Action == "threads.read" {
						n++
					}
				}
				return n
			}
			readsNothing := func(th *client.ThreadSummary) {
				t.Helper()
				if tc.reads > 0 {
					return
				}
				if th.LastSeq != 0 || th.UnreadCount != 0 || th.LastReadSeq != 0 || !th.LastActivityAt.Equal(th.CreatedAt) {
					t.Errorf("an app without threads.read was told how the thread has gone: last_seq %d, unread %d, read to %d, last active %v (started %v)",
						th.LastSeq, th.UnreadCount, th.LastReadSeq, th.LastActivityAt, th.CreatedAt)
				}
			}

			direct, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}})
			if err != nil || direct.ID != w.aliceBob {
				t.Fatalf("the app starting alice and bob's thread: %+v, %v; want the one they have", direct, err)
			}
			readsNothing(direct)
			if tc.reads > 0 && direct.LastSeq != 4 {
				t.Errorf("an app with threads.read got last_seq %d, want the thread as it is, 4", direct.LastSeq)
			}
			for _, c := range []*client.Client{w.alice, w.bob} {
				if n := threadsRead(c, w.aliceBob); n != tc.reads {
					t.Errorf("a member's log holds %d reads of the direct thread's summary by the app, want %d", n, tc.reads)
				}
			}
			in := client.NewThread{Participants: []string{"bob", "carol"}, Title: "Dinner bill", IdempotencyKey: tc.key}
			group, err := app.CreateThread(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if n := threadsRead(w.carol, group.ID); n != 0 {
				t.Errorf("carol's log holds %d reads of the group the app just made, want 0", n)
			}
			apptest.MustSend(t, w.carol, group.ID, "my share is 20")
			again, err := app.CreateThread(ctx, in)
			if err != nil || again.ID != group.ID || again.Title != in.Title {
				t.Fatalf("the app's retry: %+v, %v; want the group it made", again, err)
			}
			readsNothing(again)
			if n := threadsRead(w.carol, group.ID); n != tc.reads {
				t.Errorf("carol's log holds %d reads of the group's summary after the app's retry, want %d", n, tc.reads)
			}
		})
	}
}

// Another member's thread is never the app's, whatever its grant.
func TestGrants_OtherMembersThread(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Everything")
	if _, err := w.env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "threads.read", "messages.read", "messages.write",
		"participants.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	app := w.env.Client.WithToken(tok.AccessToken)
	if _, err := app.Messages(ctx, w.bobCarol, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("read: %v", err)
	}
	if _, err := app.SendMessage(ctx, w.bobCarol, "hi", ""); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("write: %v", err)
	}
	if _, err := app.Participants(ctx, w.bobCarol); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("participants: %v", err)
	}
}

// An app's realtime stream carries only what its grant reaches, each event
// a read logged for everyone in the thread before it is sent, and ends
// when the app is suspended.
func TestGrants_Events(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
	stream, err := w.env.Client.WithToken(tok.AccessToken).Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	apptest.MustSend(t, w.alice, w.aliceCarol, "not for the app")
	want := apptest.MustSend(t, w.bob, w.aliceBob, "for the app")
	ev, err := stream.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != client.EventMessageCreated || ev.ThreadID != w.aliceBob || !strings.Contains(string(ev.Data), want.ID) {
		t.Fatalf("the app got %s in %s: %s", ev.Type, ev.ThreadID, ev.Data)
	}
	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
		e := accessLog(t, c, "?limit=1").Entries[0]
		if e.Action != "messages.read" || e.ThreadID != w.aliceBob || !slices.Equal(e.MessageIDs, []string{want.ID}) {
			t.Errorf("%s's newest entry: %+v, want the message the app received", name, e)
		}
	}
	if _, err := w.env.Server.Service.SuspendApp(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, w.bob, w.aliceBob, "after the suspension")
	if ev, err := stream.Next(ctx); err == nil {
		t.Fatalf("a suspended app still gets %s: %s", ev.Type, ev.Data)
	}
}

// The selected thread scope needs ticked threads that are the member's own.
func TestGrants_ConsentChoicesChecked(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	partner := w.env.MustPartner(t, "Picky")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	for name, a := range map[string]apptest.Answer{
		"NothingTicked":   {ThreadScope: parley.ThreadScopeSelected},
		"OthersThread":    {ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.bobCarol}},
		"AllNotApproved":  {ThreadScope: parley.ThreadScopeAll},
		"UnknownScope":    {ThreadScope: "everything"},
		"UnknownDuration": {Expiry: "forever"},
	} {
		t.Run(name, func(t *testing.T) {
			b := apptest.NewBrowser()
			login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
			fields := url.Values{"action": {"approve"}}
			if a.ThreadScope != "" {
				fields.Set("thread_scope", a.ThreadScope)
			}
			if a.Expiry != "" {
				fields.Set("expiry", a.Expiry)
			}
			fields["threads"] = a.Threads
			p := b.Submit(t, consent, fields)
			if p.Location != "" || p.Status < 400 {
				t.Errorf("approved anyway: %d %q", p.Status, p.Location)
			}
		})
	}
}

// TestGrants_LateAppCountsInTheThreadsSeqs: in a thread an app reaches
// only from its share on, the thread's counters are in the thread's own
// seqs, as the messages it reads are, so that it can page with them; the
// member's read marker is shown no earlier than just before the app's
// first message, and the unread count counts only what the app may see.
func TestGrants_LateAppCountsInTheThreadsSeqs(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	for range 4 {
		apptest.MustSend(t, w.bob, w.aliceBob, "before the app came")
	}
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "threads.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	thanks := apptest.MustSend(t, w.bob, w.aliceBob, "thanks")
	if card.Seq != 6 || thanks.Seq != 7 {
		t.Fatalf("the card is message %d, the reply %d; want 6 and 7", card.Seq, thanks.Seq)
	}

	// The app may know of two messages: alice's card and bob's reply.
	// Alice has read neither: she read nothing of bob's four, and the
	// app's card did not move her marker over them. The app sees her
	// marker just before its first message.
	check := func(t *testing.T, th *client.ThreadSummary) {
		t.Helper()
		if th.LastSeq != thanks.Seq || th.LastReadSeq != card.Seq-1 || th.UnreadCount != 2 {
			t.Errorf("the app sees last_seq %d, last_read_seq %d, unread_count %d; want %d, %d, 2",
				th.LastSeq, th.LastReadSeq, th.UnreadCount, thanks.Seq, card.Seq-1)
		}
	}
	t.Run("List", func(t *testing.T) {
		page, err := app.Threads(ctx, client.ThreadsQuery{})
		if err != nil || len(page.Threads) != 1 {
			t.Fatalf("%+v, %v", page, err)
		}
		check(t, page.Threads[0])
	})
	t.Run("One", func(t *testing.T) {
		th, err := app.Thread(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		check(t, th)
	})
	t.Run("MemberCountsAll", func(t *testing.T) {
		th, err := w.alice.Thread(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		if th.LastSeq != 7 || th.LastReadSeq != 1 || th.UnreadCount != 6 {
			t.Errorf("alice sees last_seq %d, last_read_seq %d, unread_count %d; want 7, 1, 6", th.LastSeq, th.LastReadSeq, th.UnreadCount)
		}
	})
}

// TestGrants_AppPostMarksNothingRead: read markers are the member's
// alone. A member's own send marks the thread read up to it; an app's
// post for them (a message, a share) moves their marker only when it was
// at the message before, so that the member is not counted unread for
// what was written in their name, and no message they have not opened is
// counted read, for them or for the other participants ("Seen by").
func TestGrants_AppPostMarksNothingRead(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	tok := w.env.MustToken(t, w.env.MustPartner(t, "AutoReply"), "alice",
		[]string{"openid", "messages.write", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
	app := w.env.Client.WithToken(tok.AccessToken)
	// marker returns alice's marker and unread count, as she and as bob
	// see them.
	marker := func(t *testing.T) (seq, unread, seenByBob int64) {
		t.Helper()
		th, err := w.alice.Thread(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		markers, err := w.bob.ReadMarkers(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markers {
			if m.User.Username == "alice" {
				seenByBob = m.Seq
			}
		}
		return th.LastReadSeq, th.UnreadCount, seenByBob
	}

	// Alice has read everything (her own first message): the app's
	// messages move her marker with them.
	for range 2 {
		m, err := app.SendMessage(ctx, w.aliceBob, "sent for alice", "")
		if err != nil {
			t.Fatal(err)
		}
		if seq, unread, seen := marker(t); seq != m.Seq || unread != 0 || seen != m.Seq {
			t.Fatalf("after the app's message %d with nothing unread, alice's marker is %d (bob sees %d), %d unread; want %d, 0",
				m.Seq, seq, seen, unread, m.Seq)
		}
	}

	// Bob writes three messages alice has not opened: neither the app's
	// message nor its share reads them for her.
	var last int64
	for range 3 {
		last = apptest.MustSend(t, w.bob, w.aliceBob, "are you there?").Seq
	}
	read, _, _ := marker(t)
	auto, err := app.SendMessage(ctx, w.aliceBob, "I am away until Monday (sent automatically)", "")
	if err != nil {
		t.Fatal(err)
	}
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	if seq, unread, seen := marker(t); seq != read || seen != read || unread != card.Seq-read {
		t.Errorf("after bob's messages up to %d and the app's %d and %d, alice's marker is %d (bob sees %d), %d unread; want %d, %d unread",
			last, auto.Seq, card.Seq, seq, seen, unread, read, card.Seq-read)
	}

	// Her own send still marks everything read up to it.
	mine := apptest.MustSend(t, w.alice, w.aliceBob, "back early")
	if seq, unread, seen := marker(t); seq != mine.Seq || unread != 0 || seen != mine.Seq {
		t.Errorf("after her own message %d, alice's marker is %d (bob sees %d), %d unread; want %d, 0", mine.Seq, seq, seen, unread, mine.Seq)
	}

	// Added to a group after two messages, alice has nothing unread there,
	// though her marker never moved: the app's message for her is not
	// unread either.
	g, err := w.bob.CreateThread(ctx, client.NewThread{Participants: []string{"carol"}, Title: "Bob and Carol", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	group := g.ID
	apptest.MustSend(t, w.bob, group, "before alice came")
	if _, err := w.bob.AddParticipant(ctx, group, "alice"); err != nil {
		t.Fatal(err)
	}
	joined, err := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Greeter"), "alice", []string{"openid", "messages.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group}}).AccessToken).SendMessage(ctx, group, "hello all (sent for alice)", "")
	if err != nil {
		t.Fatal(err)
	}
	if th, err := w.alice.Thread(ctx, group); err != nil || th.UnreadCount != 0 || th.LastReadSeq != joined.Seq {
		t.Errorf("after her app's first message %d in a group she was added to: %+v, %v; want her marker at it, nothing unread", joined.Seq, th, err)
	}
}

// A member who left a thread is no longer told who is in it: a grant that
// listed it keeps listing it, as a conversation they left, not by the
// names of its members since.
func TestGrants_ThreadLeftIsNotDescribed(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	dave := w.env.MustMember(t, "dave")
	apptest.MustFriends(t, w.bob, dave)
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	partner := w.env.MustPartner(t, "Picker")
	w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{group.ID}})
	if err := w.alice.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.bob.AddParticipant(ctx, group.ID, "dave"); err != nil {
		t.Fatal(err)
	}
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, a := range apps {
		for _, th := range a.Threads {
			if th.ThreadID == group.ID {
				labels = append(labels, th.Label)
			}
		}
	}
	if !slices.Equal(labels, []string{"a conversation you left"}) {
		t.Errorf("the thread alice left is listed as %q, want only %q", labels, "a conversation you left")
	}
}

// answerOf is what a failed call tells its caller: status, type and detail.
func answerOf(err error) string {
	e, ok := errors.AsType[*client.Error](err)
	if !ok {
		return fmt.Sprintf("not a problem: %v", err)
	}
	return fmt.Sprintf("%d %s %s", e.Status, e.Type, e.Detail)
}

// TestGrants_NoSilentFriendProbe: without friends.read an app cannot find
// out, unseen and unlogged, whether someone is the member's friend. A
// friend named where starting a thread or sharing fails for another reason
// fails exactly as a stranger named there does.
func TestGrants_NoSilentFriendProbe(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	w.env.MustMember(t, "dave") // no one's friend
	w.env.MustMember(t, "erin") // nor she
	partner := w.env.MustPartner(t, "Prober")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.write", "shares.write"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	same := func(t *testing.T, what string, call func(name string) error) {
		t.Helper()
		friend, stranger := answerOf(call("bob")), answerOf(call("dave"))
		if friend != stranger {
			t.Errorf("%s: a friend is told apart from a stranger:\n bob (friend):    %s\n dave (stranger): %s", what, friend, stranger)
		}
	}

	t.Run("StartThread", func(t *testing.T) {
		same(t, "with someone who does not exist", func(name string) error {
			_, err := app.CreateThread(ctx, client.NewThread{Participants: []string{name, "nosuchmember"}, Title: "probe"})
			return err
		})
		same(t, "with someone who is no friend", func(name string) error {
			_, err := app.CreateThread(ctx, client.NewThread{Participants: []string{name, "erin"}, Title: "probe"})
			return err
		})
		same(t, "with someone who is no friend, named second", func(name string) error {
			_, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"erin", name}, Title: "probe"})
			return err
		})
		same(t, "direct, with a conversation outside the app's access", func(name string) error {
			_, err := app.CreateThread(ctx, client.NewThread{Participants: []string{name}})
			return err
		})
		if th, err := w.alice.Threads(ctx, client.ThreadsQuery{}); err != nil || len(th.Threads) != 2 {
			t.Errorf("alice's threads: %+v, %v; want the two she had", th, err)
		}
	})
	t.Run("ShareIntoAConversationClosedToApps", func(t *testing.T) {
		if _, err := w.alice.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
			t.Fatal(err)
		}
		defer w.alice.SetThreadAppAccess(ctx, w.aliceBob, true)
		same(t, "a share", func(name string) error {
			_, err := app.Share(ctx, client.NewShare{To: name, URL: "https://films.example/3", Title: "Three"})
			return err
		})
	})
	t.Run("ShareWithAKeyUsed", func(t *testing.T) {
		if _, _, err := app.ShareOnce(ctx, client.NewShare{To: "carol", URL: "https://films.example/1", Title: "One"}, "key-1"); err != nil {
			t.Fatal(err)
		}
		for name, card := range map[string]client.NewShare{
			"AnotherCard": {URL: "https://films.example/2", Title: "Two"},
			"TheSameCard": {URL: "https://films.example/1", Title: "One"},
		} {
			same(t, name, func(to string) error {
				card.To = to
				_, _, err := app.ShareOnce(ctx, card, "key-1")
				return err
			})
		}
	})
}

// TestGrants_DeleteReachesOnlyFromTheAppsArrival: messages.delete reaches
// the member's own messages in a thread only from the app's first message
// there on. What the member said before the app came is as absent for it
// as a thread outside its grant: not found, and left as it was.
func TestGrants_DeleteReachesOnlyFromTheAppsArrival(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Tidy")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.delete"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)

	earlier := apptest.MustSend(t, w.alice, w.aliceBob, "said before any app came")
	if _, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"}); err != nil {
		t.Fatal(err)
	}
	later := apptest.MustSend(t, w.alice, w.aliceBob, "said after the app came")

	if err := app.DeleteMessage(ctx, earlier.ID); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("deleting alice's message from before the app came: %v, want 404", err)
	}
	page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if m.ID == earlier.ID && (m.DeletedAt != nil || m.Text != earlier.Text) {
			t.Errorf("bob sees alice's earlier message as %+v, want it whole", m)
		}
	}
	if err := app.DeleteMessage(ctx, later.ID); err != nil {
		t.Errorf("deleting alice's message from after the app came: %v", err)
	}
}

// TestGrants_ReplayReachesWhatAFirstAttemptWould: a retried
// Idempotency-Key is held to the grant's reach of the thread as a first
// attempt is: once the thread is closed to apps, taken out of the grant or
// left by the member, a retry of a send is answered as a first send there
// is, and a retry of a share as a first share into a conversation out of
// the app's reach is, and neither returns the earlier message or is
// logged.
func TestGrants_ReplayReachesWhatAFirstAttemptWould(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"})
	if err != nil {
		t.Fatal(err)
	}
	partner := w.env.MustPartner(t, "Retrier")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.write", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol, group.ID}})
	app := w.env.Client.WithToken(tok.AccessToken)
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	// untick takes a thread out of the grant, keeping the rest.
	untick := func(t *testing.T, threadID string) {
		apps, err := w.alice.ConnectedApps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keep []string
		for _, th := range apps[0].Threads {
			if th.ThreadID != threadID {
				keep = append(keep, th.ThreadID)
			}
		}
		if _, err := w.alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"thread_ids": keep}, nil); err != nil {
			t.Fatal(err)
		}
	}
	send := func(threadID, key string) func() error {
		return func() error { _, err := app.SendMessage(ctx, threadID, "see you there", key); return err }
	}
	share := func(key string) func() error {
		return func() error {
			_, _, err := app.ShareOnce(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "One"}, key)
			return err
		}
	}
	for _, tc := range []struct {
		name string
		// write is the call retried; cut puts its thread out of reach;
		// first is a first attempt there once it is.
		write, first func() error
		cut          func(t *testing.T)
	}{
		{"SendAfterTheThreadWasClosed", send(w.aliceCarol, "send-closed"), send(w.aliceCarol, "send-closed-first"), func(t *testing.T) {
			if _, err := w.carol.SetThreadAppAccess(ctx, w.aliceCarol, false); err != nil {
				t.Fatal(err)
			}
		}},
		{"SendAfterTheMemberLeft", send(group.ID, "send-left"), send(group.ID, "send-left-first"), func(t *testing.T) {
			if err := w.alice.LeaveThread(ctx, group.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"ShareAfterTheThreadWasClosed", share("share-closed"), share("share-closed-first"), func(t *testing.T) {
			if _, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.bob.SetThreadAppAccess(ctx, w.aliceBob, true) })
		}},
		{"ShareAfterTheThreadWasUnticked", share("share-unticked"), share("share-unticked-first"), func(t *testing.T) { untick(t, w.aliceBob) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.write(); err != nil {
				t.Fatal(err)
			}
			tc.cut(t)
			before := accessLog(t, w.alice, "?limit=1").Entries[0].Seq
			want := answerOf(tc.first())
			if got := answerOf(tc.write()); got != want || !strings.HasPrefix(got, "40") {
				t.Errorf("the retry: %s\n want what a first attempt gets: %s", got, want)
			}
			if log := accessLog(t, w.alice, "?limit=1"); log.Entries[0].Seq != before {
				t.Errorf("the refused retry was logged: %+v", log.Entries[0])
			}
		})
	}
}

// An app's history and changes feed hold to its grant's reach, which the
// store reads with the page: from the card that brought the thread into
// the grant on, in a page of every shape and in the feed, where a deletion
// of an earlier message is a later change; nothing at all while a
// participant keeps the thread closed to apps, and from its opening on
// once it is open again. Each read is logged for both members of the
// thread.
func TestGrants_HistoryHoldsToTheReach(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	early := apptest.MustSend(t, w.bob, w.aliceBob, "before the app came")
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	reply := apptest.MustSend(t, w.bob, w.aliceBob, "thanks")
	if err := w.bob.DeleteMessage(ctx, early.ID); err != nil {
		t.Fatal(err)
	}
	want := []int64{card.Seq, reply.Seq}

	readable := func(t *testing.T) {
		t.Helper()
		for name, tc := range map[string]struct {
			q    client.MessagesQuery
			want []int64
		}{
			"newest":           {client.MessagesQuery{}, want},
			"before the reply": {client.MessagesQuery{Before: client.Seq(reply.Seq), Limit: 10}, want[:1]},
			"after 0":          {client.MessagesQuery{After: client.Seq(0)}, want},
			"after the early":  {client.MessagesQuery{After: client.Seq(early.Seq), Limit: 1}, want[:1]},
		} {
			page, err := app.Messages(ctx, w.aliceBob, tc.q)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			var seqs []int64
			for _, m := range page.Messages {
				seqs = append(seqs, m.Seq)
			}
			if !slices.Equal(seqs, tc.want) {
				t.Errorf("%s: the app reads %v, want %v", name, seqs, tc.want)
			}
		}
		changes, err := app.Changes(ctx, w.aliceBob, client.ChangesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var seqs []int64
		for _, c := range changes.Changes {
			seqs = append(seqs, c.Message.Seq)
		}
		if !slices.Equal(seqs, want) {
			t.Errorf("changes: the app reads messages %v, want %v", seqs, want)
		}
	}
	readable(t)

	if _, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{After: client.Seq(0)}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("history of a thread closed to apps: %v, want 404", err)
	}
	if _, err := app.Changes(ctx, w.aliceBob, client.ChangesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("changes of a thread closed to apps: %v, want 404", err)
	}
	if _, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, true); err != nil {
		t.Fatal(err)
	}
	// Open again, the thread is the app's from its opening on.
	after := apptest.MustSend(t, w.bob, w.aliceBob, "after the opening")
	if page, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{After: client.Seq(0)}); err != nil || len(page.Messages) != 1 || page.Messages[0].ID != after.ID {
		t.Errorf("history of the thread open again: %+v, %v; want only what was said after the opening", page, err)
	}

	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
		reads := 0
		for _, e := range accessLog(t, c, "?limit=100").Entries {
			if e.Action == string(parley.ScopeMessagesRead) && e.ThreadID == w.aliceBob && e.ClientID == partner.App.ClientID {
				reads++
				if e.FirstSeq < card.Seq {
					t.Errorf("%s's log has the app read message %d, before the card", name, e.FirstSeq)
				}
			}
		}
		if reads != 6 {
			t.Errorf("%s's log holds %d reads of the thread by the app, want 6", name, reads)
		}
	}
}
