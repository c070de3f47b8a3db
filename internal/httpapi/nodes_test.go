package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Two servers on one PostgreSQL database are one service: a session or an
// app's token made through one works on the other, an Idempotency-Key
// retried on the other returns the first message, and a revoked grant, a
// thread closed to apps, a suspended app or an ended session take effect
// on the other at its very next request.
func TestNodes_OneDatabaseIsOneService(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database = url }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	aliceA, bobA := a.MustMember(t, "alice"), a.MustMember(t, "bob")
	apptest.MustFriends(t, aliceA, bobA)
	th := apptest.MustThread(t, aliceA, "bob")
	aliceB := b.Client.WithToken(aliceA.Token())
	if u := apptest.MustMe(t, aliceB); u.Username != "alice" {
		t.Fatalf("alice's session on the other server is %s's", u.Username)
	}

	first, err := aliceA.SendMessage(ctx, th.ID, "hello", "key-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := aliceB.SendMessage(ctx, th.ID, "hello", "key-1")
	if err != nil || again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("the retry on the other server: %+v, %v; want message %s", again, err, first.ID)
	}

	partner := a.MustPartner(t, "Films")
	tok := a.MustToken(t, partner, "alice", []string{"openid", "threads.read"}, apptest.Answer{})
	appB := b.Client.WithToken(tok.AccessToken)
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); err != nil {
		t.Fatalf("the app's token on the other server: %v", err)
	}
	apps, err := aliceA.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("connected apps: %+v, %v", apps, err)
	}
	if err := aliceA.RevokeGrant(ctx, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("the revoked grant's token on the other server: %v, want 401", err)
	}

	tunes := a.MustPartner(t, "Tunes")
	tok = a.MustToken(t, tunes, "alice", []string{"openid", "shares.write", "messages.read"}, apptest.Answer{})
	tunesB := b.Client.WithToken(tok.AccessToken)
	card, err := tunesB.Share(ctx, client.NewShare{To: "bob", URL: "https://tunes.example/1", Title: "A song"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tunesB.Messages(ctx, card.ThreadID, client.MessagesQuery{}); err != nil {
		t.Fatalf("the app reads the thread it shared into: %v", err)
	}
	if _, err := aliceA.SetThreadAppAccess(ctx, card.ThreadID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := tunesB.Messages(ctx, card.ThreadID, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("the thread closed to apps on the other server: %v, want 404", err)
	}
	if _, err := a.Server.Service.SuspendApp(service.ConsoleContext(ctx), tunes.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := tunesB.Share(ctx, client.NewShare{To: "bob", URL: "https://tunes.example/2", Title: "Another"}); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("the suspended app on the other server: %v, want 401", err)
	}

	// Server B has alice's session in its cache by now: every kind of
	// request it takes after the session ends on A is refused all the
	// same, and changes nothing.
	before, err := aliceB.Messages(ctx, th.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if err := aliceA.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	for name, request := range map[string]func() error{
		"me":      func() error { _, err := aliceB.Me(ctx); return err },
		"send":    func() error { _, err := aliceB.SendMessage(ctx, th.ID, "after sign-out", ""); return err },
		"history": func() error { _, err := aliceB.Messages(ctx, th.ID, client.MessagesQuery{}); return err },
		"inbox":   func() error { _, err := aliceB.Threads(ctx, client.ThreadsQuery{}); return err },
		"events": func() error {
			stream, err := aliceB.Events(ctx)
			if err == nil {
				stream.Close()
			}
			return err
		},
	} {
		if err := request(); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("%s with the ended session on the other server: %v, want 401", name, err)
		}
	}
	bobB := b.Client.WithToken(bobA.Token())
	if page, err := bobB.Messages(ctx, th.ID, client.MessagesQuery{}); err != nil || len(page.Messages) != len(before.Messages) {
		t.Fatalf("the thread after the ended session's send: %+v, %v; want the %d messages before", page, err, len(before.Messages))
	}
}

// An app's token that a node took from its cache holds no longer than what
// it stands for: after its grant is narrowed, widened or revoked, or its
// app suspended, through the other node, the very next request through it
// is answered as a token looked up afresh would be. A request the cache's
// check turns back because the grant changed in a way the request does not
// touch (a scope it does not use taken out) is served again, whole: its
// body too, and it takes effect once.
func TestNodes_AnAppsCachedTokenIsConfirmedAtEveryRequest(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database = url }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	aliceA, bobA, carolA := a.MustMember(t, "alice"), a.MustMember(t, "bob"), a.MustMember(t, "carol")
	apptest.MustFriends(t, aliceA, bobA)
	apptest.MustFriends(t, aliceA, carolA)
	withBob, withCarol := apptest.MustThread(t, aliceA, "bob"), apptest.MustThread(t, aliceA, "carol")
	films := a.MustPartner(t, "Films")
	scopes := []string{"openid", "threads.read", "messages.read", "messages.write"}
	tok := a.MustToken(t, films, "alice", scopes, apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{withBob.ID, withCarol.ID}})
	appB := b.Client.WithToken(tok.AccessToken)
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); err != nil {
		t.Fatal(err) // B caches the token
	}

	apps, err := aliceA.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %+v, %v", apps, err)
	}
	grant := "/api/v1/me/grants/" + apps[0].ID
	if _, err := aliceA.Do(ctx, "PATCH", grant, map[string]any{"scopes": []string{"messages.read", "messages.write"}}, nil); err != nil {
		t.Fatal(err)
	}
	sent, err := appB.SendMessage(ctx, withBob.ID, "sent once, whole", "")
	if err != nil || sent.Text != "sent once, whole" {
		t.Fatalf("the app's send after a scope it does not use was taken out: %+v, %v", sent, err)
	}
	page, err := bobA.Messages(ctx, withBob.ID, client.MessagesQuery{})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("the thread after the app's send: %+v, %v; want its one message", page, err)
	}
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("threads.read through the cached token once taken out: %v, want 403", err)
	}
	if _, err := aliceA.Do(ctx, "PATCH", grant, map[string]any{"scopes": []string{"messages.read"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := appB.SendMessage(ctx, withBob.ID, "narrowed", ""); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("messages.write through the cached token once taken out: %v, want 403", err)
	}
	if _, err := appB.Messages(ctx, withBob.ID, client.MessagesQuery{}); err != nil {
		t.Errorf("messages.read, kept: %v", err)
	}

	// Alice connects Films again with what she took out: the token,
	// issued with those scopes, has them again at once.
	a.MustToken(t, films, "alice", scopes, apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{withBob.ID}})
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); err != nil {
		t.Errorf("threads.read through the cached token once given back: %v", err)
	}
	if _, err := appB.SendMessage(ctx, withBob.ID, "widened", ""); err != nil {
		t.Errorf("messages.write through the cached token once given back: %v", err)
	}

	if _, err := a.Server.Service.SuspendApp(service.ConsoleContext(ctx), films.App.ClientID); err != nil {
		t.Fatal(err)
	}
	for name, request := range map[string]func() error{
		"me":           func() error { _, err := appB.Me(ctx); return err },
		"inbox":        func() error { _, err := appB.Threads(ctx, client.ThreadsQuery{}); return err },
		"history":      func() error { _, err := appB.Messages(ctx, withBob.ID, client.MessagesQuery{}); return err },
		"participants": func() error { _, err := appB.Participants(ctx, withBob.ID); return err },
		"send":         func() error { _, err := appB.SendMessage(ctx, withBob.ID, "after suspension", ""); return err },
		"delete":       func() error { return appB.DeleteMessage(ctx, sent.ID) },
		"member-only":  func() error { _, err := appB.ConnectedApps(ctx); return err },
	} {
		if err := request(); client.StatusOf(err) != http.StatusUnauthorized {
			t.Errorf("%s through the suspended app's cached token: %v, want 401", name, err)
		}
	}
	if page, err := bobA.Messages(ctx, withBob.ID, client.MessagesQuery{}); err != nil || len(page.Messages) != 2 {
		t.Fatalf("the thread after the suspended app's requests: %+v, %v; want the 2 messages before", page, err)
	}
}

// Two members who ask each other at the same moment, through two servers,
// become friends: the second request finds the first and accepts it, and
// neither is left waiting on a request of their own.
func TestNodes_CrossedFriendRequestsBecomeOneFriendship(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	const pairs = 20
	onOne := func(c *config.Config) { c.Database, c.SignUpsPerAddress = url, 2*pairs }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	for i := range pairs {
		left := a.MustMember(t, fmt.Sprintf("left%02d", i))
		right := b.Client.WithToken(a.MustMember(t, fmt.Sprintf("right%02d", i)).Token())
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := left.AddFriend(ctx, fmt.Sprintf("right%02d", i)); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := right.AddFriend(ctx, fmt.Sprintf("left%02d", i)); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		for name, c := range map[string]*client.Client{"left": left, "right": right} {
			friends, err := c.Friends(ctx)
			if err != nil {
				t.Fatal(err)
			}
			requests, err := c.FriendRequests(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(friends) != 1 || len(requests.Incoming)+len(requests.Outgoing) != 0 {
				t.Fatalf("pair %d, %s: %d friends, requests %+v; want one friend and no request", i, name, len(friends), requests)
			}
		}
	}
}

// Requests to start one direct thread with one Idempotency-Key, at once on
// two servers of one database, are each answered as the first was (201),
// the others marked replayed, never as a request that found the thread
// already there (200); one thread is started.
func TestNodes_DirectThreadKeyRaceAnsweredAsTheFirst(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database = url; apptest.Unlimited(c) }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	aliceA, bobA := a.MustMember(t, "alice"), a.MustMember(t, "bob")
	apptest.MustFriends(t, aliceA, bobA)
	aliceB := b.Client.WithToken(aliceA.Token())
	type answer struct {
		id       string
		status   int
		replayed string
	}
	const n = 6
	answers := make(chan answer, 2*n)
	var wg sync.WaitGroup
	for range n {
		for _, c := range []*client.Client{aliceA, aliceB} {
			wg.Go(func() {
				var th client.ThreadSummary
				resp, err := c.Do(ctx, "POST", "/api/v1/threads", client.NewThread{Participants: []string{"bob"}}, &th, "Idempotency-Key", "direct-1")
				if err != nil {
					t.Error(err)
					return
				}
				answers <- answer{th.ID, resp.StatusCode, resp.Header.Get("Idempotent-Replayed")}
			})
		}
	}
	wg.Wait()
	close(answers)
	ids, fresh := map[string]bool{}, 0
	for ans := range answers {
		ids[ans.id] = true
		switch {
		case ans.status == http.StatusCreated && ans.replayed == "":
			fresh++
		case ans.status != http.StatusCreated || ans.replayed != "true":
			t.Errorf("a request with the key: %d, Idempotent-Replayed %q; want 201, as the first, replayed", ans.status, ans.replayed)
		}
	}
	if len(ids) != 1 || fresh != 1 {
		t.Errorf("%d threads, %d answered as new; want 1 and 1", len(ids), fresh)
	}
}
