package httpapi_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// PATCH /api/v1/me/grants/{id}: a member takes a scope and a thread out of
// a grant. The app's access token loses them at its very next call, a
// refreshed token carries only what is left (and says so), the call only
// narrows, only the member may make it, and it is in the access log.
func TestConnectedApps_Narrow(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	films := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, films, "alice", []string{"openid", "offline_access", "threads.read", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol}})
	app := w.env.Client.WithToken(tok.AccessToken)
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	grant := "/api/v1/me/grants/" + apps[0].ID

	for name, body := range map[string]map[string]any{
		"ScopeNotHeld":  {"scopes": []string{"messages.read", "friends.read"}},
		"ThreadNotHeld": {"thread_ids": []string{w.bobCarol}},
		"UnknownField":  {"scope": "messages.read"},
	} {
		if _, err := w.alice.Do(ctx, "PATCH", grant, body, nil); client.StatusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v, want 400", name, err)
		}
	}
	if _, err := w.bob.Do(ctx, "PATCH", grant, map[string]any{}, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("bob narrowing alice's grant: %v, want 404", err)
	}
	if _, err := app.Do(ctx, "PATCH", grant, map[string]any{"scopes": []string{}}, nil); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("the app narrowing its own grant: %v, want 403", err)
	}

	var got client.ConnectedApp
	if _, err := w.alice.Do(ctx, "PATCH", grant, map[string]any{"scopes": []string{"messages.read"}, "thread_ids": []string{w.aliceBob}}, &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Scopes, []string{"openid", "messages.read", "offline_access"}) || len(got.Threads) != 1 || got.Threads[0].ThreadID != w.aliceBob {
		t.Errorf("the narrowed grant: %+v", got)
	}
	if _, err := app.Threads(ctx, client.ThreadsQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("threads.read after it was taken out: %v, want 403", err)
	}
	if _, err := app.Messages(ctx, w.aliceCarol, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("the thread taken out: %v, want 404", err)
	}
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
		t.Errorf("the thread kept: %v", err)
	}

	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := films.Config.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Extra("scope") != "openid messages.read offline_access" {
		t.Errorf("the refreshed token's scope: %v", fresh.Extra("scope"))
	}
	if _, err := w.env.Client.WithToken(fresh.AccessToken).Threads(ctx, client.ThreadsQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("the refreshed token lists threads: %v, want 403", err)
	}

	// Narrowing to what is left changes nothing and logs nothing.
	if _, err := w.alice.Do(ctx, "PATCH", grant, map[string]any{"scopes": []string{"messages.read"}}, nil); err != nil {
		t.Fatal(err)
	}
	log := accessLog(t, w.alice, "?app="+films.App.ClientID)
	if got, want := actions(log), []string{parley.ActionGrantCreated, parley.ActionGrantNarrowed, "messages.read"}; !slices.Equal(got, want) {
		t.Errorf("alice's log of Films: %v, want %v", got, want)
	}
}

// A thread the member takes out of a grant reaches the app's endpoints as
// thread.closed_to_apps, reason unticked; a message posted there after it
// reaches them no more.
func TestWebhooks_ThreadUnticked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := apptest.Start(t, allowLoopback)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	partner := env.MustPartnerOf(t, "Movie Club", "alice")
	env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{th}})
	rc := newReceiver(t)
	if _, err := alice.Do(ctx, "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
		map[string]any{"url": rc.URL, "events": []string{"message.created", "thread.closed_to_apps", "grant.revoked"}}, nil); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(parley.WebhookActivation)
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if _, err := alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"thread_ids": []string{}}, nil); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "thread.closed_to_apps" || d.event.Data["reason"] != "unticked" || d.event.Data["thread_id"] != th ||
		d.event.Data["grant_id"] != apps[0].ID {
		t.Fatalf("event %s", d.body)
	}
	apptest.MustSend(t, bob, th, "not for the app")
	// The next event is a later one, not the message.
	if _, err := alice.Do(ctx, "DELETE", "/api/v1/me/grants/"+apps[0].ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "grant.revoked" {
		t.Fatalf("after unticking, the app got %s", d.body)
	}
}

// A member who takes messages.read out of a grant, which reaches the
// threads it did still, leaves its app told of no deletion there from then
// on: its endpoints get thread.closed_to_apps, reason narrowed, for each
// thread it reached, for the app to forget what it kept of them; and a
// message deleted there later is told no more.
func TestWebhooks_MessagesReadTakenOut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := apptest.Start(t, allowLoopback)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, alice, "bob").ID, apptest.MustThread(t, alice, "carol").ID
	partner := env.MustPartnerOf(t, "Movie Club", "alice")
	env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "messages.delete"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{withBob, withCarol}})
	rc := newReceiver(t)
	if _, err := alice.Do(ctx, "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
		map[string]any{"url": rc.URL, "events": []string{"message.created", "message.deleted", "thread.closed_to_apps", "grant.revoked"}}, nil); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(parley.WebhookActivation)
	said := apptest.MustSend(t, bob, withBob, "kept by the app")
	if d := rc.next(t); d.event.Type != "message.created" {
		t.Fatalf("event %s", d.body)
	}
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if _, err := alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"scopes": []string{"messages.delete"}}, nil); err != nil {
		t.Fatal(err)
	}
	told := map[any]bool{}
	for range 2 {
		d := rc.next(t)
		if d.event.Type != "thread.closed_to_apps" || d.event.Data["reason"] != "narrowed" || d.event.Data["grant_id"] != apps[0].ID {
			t.Fatalf("after messages.read was taken out: %s", d.body)
		}
		told[d.event.Data["thread_id"]] = true
	}
	if !told[withBob] || !told[withCarol] {
		t.Fatalf("told of %v, want both threads the grant reached", told)
	}
	if err := bob.DeleteMessage(ctx, said.ID); err != nil {
		t.Fatal(err)
	}
	// The next event is a later one, not the deletion.
	if _, err := alice.Do(ctx, "DELETE", "/api/v1/me/grants/"+apps[0].ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "grant.revoked" {
		t.Fatalf("after messages.read was taken out, the app got %s", d.body)
	}
}

// TestEvents_AppStreamEndsWhenGrantNarrowed: an app's realtime stream,
// opened under what the grant allowed, ends when the member narrows the
// grant, with 4000, for the app to open it again, with the same token,
// under what is left.
func TestEvents_AppStreamEndsWhenGrantNarrowed(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "profile", "messages.read"}, apptest.Answer{})
	stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
	apps, err := w.alice.ConnectedApps(context.Background())
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if _, err := w.alice.Do(context.Background(), "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"scopes": []string{"messages.read"}}, nil); err != nil {
		t.Fatal(err)
	}
	mustEnd(t, stream, 10*time.Second, client.StatusOpenAgain)
	mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
}

// TestEvents_AppStreamEndsForGoodWhenMessagesReadTakenOut: a member who
// takes messages.read, which a stream needs, out of the grant ends the
// app's stream as a revocation would (1008), not with 4000: opened again
// with the same token, it would be refused.
func TestEvents_AppStreamEndsForGoodWhenMessagesReadTakenOut(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "shares.write"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	stream := mustEvents(t, app)
	apps, err := w.alice.ConnectedApps(context.Background())
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if _, err := w.alice.Do(context.Background(), "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"scopes": []string{"openid", "shares.write"}}, nil); err != nil {
		t.Fatal(err)
	}
	mustEnd(t, stream, 10*time.Second, websocket.StatusPolicyViolation)
	if _, err := app.Events(context.Background()); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("the stream opened again with the same token: %v, want 403", err)
	}
}

// A conversation the member takes out of a grant of thread scope "app"
// stays out for the grant's life: the app's next share into it is refused
// as a grant of thread scope "selected" refuses a conversation it does not
// list, with the same status and problem, and nothing said there after is
// the app's to read. The grant's other conversations are as they were;
// the connected apps data lists what the grant reaches, and the access
// log holds the narrowing and no refused share.
func TestShares_ThreadTakenOutStaysOut(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	films := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, films, "alice", []string{"openid", "shares.write", "messages.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	share := func(to string) error {
		_, err := app.Do(ctx, "POST", "/api/v1/shares", map[string]any{"to": to, "url": "https://films.example/x", "title": "x"}, nil)
		return err
	}
	for _, to := range []string{"bob", "carol"} {
		if err := share(to); err != nil {
			t.Fatalf("sharing to %s: %v", to, err)
		}
	}
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 || len(apps[0].Threads) != 2 {
		t.Fatalf("alice's apps: %+v, %v", apps, err)
	}
	if _, err := w.alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"thread_ids": []string{w.aliceCarol}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("the conversation taken out: %v, want 404", err)
	}

	// What a grant of thread scope "selected" is told of a conversation it
	// does not list.
	music := w.env.MustPartner(t, "Music")
	mtok := w.env.MustToken(t, music, "alice", []string{"openid", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceCarol}})
	_, selected := w.env.Client.WithToken(mtok.AccessToken).Do(ctx, "POST", "/api/v1/shares",
		map[string]any{"to": "bob", "url": "https://music.example/x", "title": "x"}, nil)
	wantProblem(t, selected, http.StatusForbidden, "forbidden")

	refused := share("bob")
	wantProblem(t, refused, http.StatusForbidden, "forbidden")
	if refused.Error() != selected.Error() {
		t.Errorf("the share into the conversation taken out: %v; want what selected scope is told: %v", refused, selected)
	}
	apptest.MustSend(t, w.bob, w.aliceBob, "said after alice took the chat out of Films")
	if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("after the refused share, the conversation taken out: %v, want 404", err)
	}
	if err := share("bob"); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("a second share into it: %v, want 403", err)
	}

	// The other conversation is as it was.
	if err := share("carol"); err != nil {
		t.Errorf("sharing into the conversation kept: %v", err)
	}
	if page, err := app.Messages(ctx, w.aliceCarol, client.MessagesQuery{}); err != nil || len(page.Messages) != 2 {
		t.Errorf("reading the conversation kept: %+v, %v; want the two cards", page, err)
	}
	apps, err = w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 2 {
		t.Fatalf("alice's apps: %+v, %v", apps, err)
	}
	for _, a := range apps {
		if a.ClientID == films.App.ClientID && (len(a.Threads) != 1 || a.Threads[0].ThreadID != w.aliceCarol) {
			t.Errorf("Films reaches %+v; want only alice's chat with carol", a.Threads)
		}
	}
	log := accessLog(t, w.alice, "?app="+films.App.ClientID)
	if got, want := actions(log), []string{parley.ActionGrantCreated, "shares.write", "shares.write", parley.ActionGrantNarrowed, "shares.write", "messages.read"}; !slices.Equal(got, want) {
		t.Errorf("alice's log of Films: %v, want %v", got, want)
	}
}

// An entry that made or changed a grant says what the member agreed to:
// the grant's scopes, thread scope and expiry after the change, with the
// conversations ticked for a new grant and those a narrowing took out.
// An entry that ended the grant, or an app's access, has no terms, and the
// terms are in the entries' hashes: the log still verifies.
func TestAccessLog_GrantEntriesSayWhatWasAgreed(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	films := w.env.MustPartner(t, "Films")
	w.env.MustToken(t, films, "alice", []string{"openid", "threads.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol}})
	tok := w.env.MustToken(t, films, "alice", []string{"openid", "threads.read", "messages.read"}, apptest.Answer{})
	if _, err := w.env.Client.WithToken(tok.AccessToken).Threads(ctx, client.ThreadsQuery{}); err != nil {
		t.Fatal(err)
	}
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	grant := "/api/v1/me/grants/" + apps[0].ID
	if _, err := w.alice.Do(ctx, "PATCH", grant, map[string]any{"scopes": []string{"messages.read"}, "thread_ids": []string{w.aliceBob}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.alice.RevokeGrant(ctx, apps[0].ID); err != nil {
		t.Fatal(err)
	}

	var page struct{ Entries []client.AccessEntry }
	if _, err := w.alice.Do(ctx, "GET", "/api/v1/me/access-log?app="+films.App.ClientID, nil, &page); err != nil {
		t.Fatal(err)
	}
	selected := parley.ThreadScopeSelected
	type terms struct {
		action  string
		scopes  []string
		threads []string
	}
	want := []terms{
		{parley.ActionGrantCreated, []string{"openid", "threads.read"}, []string{w.aliceBob, w.aliceCarol}},
		{parley.ActionGrantWidened, []string{"openid", "threads.read", "messages.read"}, nil},
		{parley.ActionGrantNarrowed, []string{"openid", "messages.read"}, []string{w.aliceCarol}},
		{parley.ActionGrantRevoked, nil, nil},
	}
	var got []terms
	for _, e := range slices.Backward(page.Entries) {
		g := e.Grant
		if g == nil {
			if strings.HasPrefix(e.Action, "grant.") {
				got = append(got, terms{action: e.Action})
			}
			continue
		}
		if g.ThreadScope != selected || g.ExpiresAt == nil || !g.ExpiresAt.Equal(*apps[0].ExpiresAt) {
			t.Errorf("%s says the grant reaches %s conversations until %v, want %s until %v",
				e.Action, g.ThreadScope, g.ExpiresAt, selected, apps[0].ExpiresAt)
		}
		got = append(got, terms{e.Action, g.Scopes, g.ThreadIDs})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alice's log of Films says of its grant\n%+v\nwant\n%+v", got, want)
	}
	if v := verifyLog(t, w.alice); !v.Intact {
		t.Errorf("alice's log with terms does not verify: %+v", v)
	}
}
