package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/webhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// allowLoopback lets test servers deliver to receivers on loopback.
func allowLoopback(c *config.Config) { c.WebhooksAllowPrivate = true }

// received is one delivery as the receiver got it.
type received struct {
	header http.Header
	body   []byte
	event  struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
}

// receiver is a partner's webhook endpoint on loopback. Answer decides each
// response; by default 204.
type receiver struct {
	*httptest.Server
	got   chan received
	count atomic.Int64

	mu     sync.Mutex
	answer func(w http.ResponseWriter)
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{got: make(chan received, 1000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := received{header: r.Header.Clone(), body: body}
		if err := json.Unmarshal(body, &d.event); err != nil {
			t.Errorf("delivery body %q: %v", body, err)
		}
		if err := apptest.CheckWebhook(body); err != nil {
			t.Errorf("a delivery openapi.json does not describe: %v", err)
		}
		rc.count.Add(1)
		rc.mu.Lock()
		answer := rc.answer
		rc.mu.Unlock()
		if answer != nil {
			answer(w)
		} else {
			w.WriteHeader(http.StatusNoContent)
		}
		rc.got <- d
	}))
	t.Cleanup(rc.Close)
	return rc
}

// answerWith makes the receiver answer every later delivery with status and
// headers.
func (rc *receiver) answerWith(status int, headers ...string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.answer = func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
	}
}

// next waits for the next delivery.
func (rc *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case d := <-rc.got:
		return d
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery came")
		return received{}
	}
}

// verify checks a delivery's signature with the official Standard
// Webhooks library, as a partner's receiver would, and returns the error.
func verify(t *testing.T, secret string, d received, ignoreTime bool) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if ignoreTime {
		return wh.VerifyIgnoringTimestamp(d.body, d.header)
	}
	return wh.Verify(d.body, d.header)
}

// hookWorld is a member, alice, with a friend, bob, an app alice owns and
// connected with thread scope "app", and a token of hers for it.
type hookWorld struct {
	env        *apptest.Env
	alice, bob *client.Client
	aliceID    string
	bobID      string
	partner    *apptest.Partner
	app        *client.Client
	grantID    string
}

func newHookWorld(t *testing.T) *hookWorld {
	env := apptest.Start(t, allowLoopback)
	w := &hookWorld{env: env, alice: env.MustMember(t, "alice"), bob: env.MustMember(t, "bob")}
	apptest.MustFriends(t, w.alice, w.bob)
	w.aliceID, w.bobID = apptest.MustMe(t, w.alice).ID, apptest.MustMe(t, w.bob).ID
	w.partner = env.MustPartnerOf(t, "Movie Club", "alice")
	tok := env.MustToken(t, w.partner, "alice", []string{"openid", "shares.write", "messages.read", "messages.delete"}, apptest.Answer{})
	w.app = env.Client.WithToken(tok.AccessToken)
	var grants struct {
		Grants []struct{ ID string } `json:"grants"`
	}
	if _, err := w.alice.Do(context.Background(), "GET", "/api/v1/me/grants", nil, &grants); err != nil || len(grants.Grants) != 1 {
		t.Fatalf("grants %+v, %v", grants, err)
	}
	w.grantID = grants.Grants[0].ID
	return w
}

// newGroupHookWorld starts a server where alice, friends with bob and
// carol, made a group of the three titled title, and owns an app named
// app, not yet connected; the world holds alice, bob and the app.
func newGroupHookWorld(t *testing.T, title, app string) (*hookWorld, *client.ThreadSummary) {
	t.Helper()
	env := apptest.Start(t, allowLoopback)
	w := &hookWorld{env: env, alice: env.MustMember(t, "alice"), bob: env.MustMember(t, "bob")}
	carol := env.MustMember(t, "carol")
	apptest.MustFriends(t, w.alice, w.bob)
	apptest.MustFriends(t, w.alice, carol)
	group, err := w.alice.CreateThread(context.Background(), client.NewThread{Participants: []string{"bob", "carol"}, Title: title})
	if err != nil {
		t.Fatal(err)
	}
	w.partner = env.MustPartnerOf(t, app, "alice")
	return w, group
}

// endpoint registers an endpoint of the app, as alice.
func (w *hookWorld) endpoint(t *testing.T, url string, events ...string) service.CreatedWebhookEndpoint {
	t.Helper()
	var e service.CreatedWebhookEndpoint
	if _, err := w.alice.Do(context.Background(), "POST", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks",
		map[string]any{"url": url, "events": events}, &e); err != nil {
		t.Fatal(err)
	}
	w.env.Clock.Advance(parley.WebhookActivation)
	return e
}

// webhook reads one of the app's endpoints, as alice.
func (w *hookWorld) webhook(t *testing.T, endpointID string) parley.WebhookEndpoint {
	t.Helper()
	var e parley.WebhookEndpoint
	if _, err := w.alice.Do(context.Background(), "GET", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+endpointID, nil, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// deliveries lists an endpoint's deliveries, newest first.
func (w *hookWorld) deliveries(t *testing.T, endpointID string) []parley.WebhookDelivery {
	t.Helper()
	var page struct{ Deliveries []parley.WebhookDelivery }
	if _, err := w.alice.Do(context.Background(), "GET", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+endpointID+"/deliveries", nil, &page); err != nil {
		t.Fatal(err)
	}
	return page.Deliveries
}

// settle waits until every request the receiver got is recorded as an
// attempt of the endpoint's deliveries, and returns them.
func (w *hookWorld) settle(t *testing.T, rc *receiver, endpointID string) []parley.WebhookDelivery {
	t.Helper()
	for range 1200 { // 30 s, for a loaded machine
		list := w.deliveries(t, endpointID)
		attempts := 0
		for _, d := range list {
			attempts += len(d.Attempts)
		}
		if int64(attempts) == rc.count.Load() {
			return list
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("attempts made are not recorded")
	return nil
}

func TestWebhooks_Events(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL+"/hooks", "message.created", "message.edited", "message.deleted", "grant.revoked", "thread.closed_to_apps")
	if !strings.HasPrefix(ep.Secret, "whsec_") {
		t.Fatalf("secret %q", ep.Secret)
	}
	if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(ep.Secret, "whsec_")); err != nil || len(key) < 24 {
		t.Fatalf("secret of %d bytes, %v", len(key), err)
	}

	// bob writes to alice before the app's share: outside its grant.
	th := apptest.MustThread(t, w.bob, "alice")
	before := apptest.MustSend(t, w.bob, th.ID, "before the app came")
	share, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/1", Title: "A film"})
	if err != nil {
		t.Fatal(err)
	}
	d := rc.next(t)
	if err := verify(t, ep.Secret, d, false); err != nil {
		t.Fatalf("the Standard Webhooks library refuses the delivery: %v", err)
	}
	if err := client.VerifyWebhook(ep.Secret, d.header, d.body, time.Now()); err != nil {
		t.Fatalf("client.VerifyWebhook refuses the delivery: %v", err)
	}
	if d.event.Type != "message.created" || d.event.Data["message_id"] != share.ID || d.event.Data["thread_id"] != th.ID ||
		d.event.Data["user_id"] != w.aliceID || d.event.Data["grant_id"] != w.grantID || d.event.Data["seq"] != float64(share.Seq) {
		t.Fatalf("event %s %v", d.event.Type, d.event.Data)
	}
	reply := apptest.MustSend(t, w.bob, th.ID, "a secret reply")
	d = rc.next(t)
	if d.event.Data["message_id"] != reply.ID || strings.Contains(string(d.body), "secret reply") {
		t.Fatalf("reply event %s", d.body)
	}

	t.Run("LoggedForEveryParticipant", func(t *testing.T) {
		for _, c := range []*client.Client{w.alice, w.bob} {
			var log struct{ Entries []parley.AccessEntry }
			if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log", nil, &log); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range log.Entries {
				found = found || e.Action == "messages.read" && e.GrantID == w.grantID && len(e.MessageIDs) == 1 && e.MessageIDs[0] == reply.ID
			}
			if !found {
				t.Fatalf("no entry for the delivery of the reply in %+v", log.Entries)
			}
		}
	})
	t.Run("EditedInParley", func(t *testing.T) {
		if _, err := w.bob.EditMessage(ctx, reply.ID, "a secret reply, edited"); err != nil {
			t.Fatal(err)
		}
		d := rc.next(t)
		if d.event.Type != "message.edited" || d.event.Data["message_id"] != reply.ID || d.event.Data["seq"] != float64(reply.Seq) ||
			strings.Contains(string(d.body), "secret reply") {
			t.Fatalf("event %s", d.body)
		}
		// A message before the grant's first one is no event: the next
		// delivery is the deletion's.
		if _, err := w.bob.EditMessage(ctx, before.ID, "before the app came, edited"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DeletedInParley", func(t *testing.T) {
		if err := w.bob.DeleteMessage(ctx, reply.ID); err != nil {
			t.Fatal(err)
		}
		d := rc.next(t)
		if d.event.Type != "message.deleted" || d.event.Data["message_id"] != reply.ID {
			t.Fatalf("event %s", d.body)
		}
		// A message before the grant's first one is no event.
		if err := w.bob.DeleteMessage(ctx, before.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ClosedThreadSendsNothing", func(t *testing.T) {
		if _, err := w.bob.Do(ctx, "PUT", "/api/v1/threads/"+th.ID+"/app-access", map[string]any{"allowed": false}, nil); err != nil {
			t.Fatal(err)
		}
		d := rc.next(t)
		if d.event.Type != "thread.closed_to_apps" || d.event.Data["thread_id"] != th.ID || d.event.Data["reason"] != "closed" {
			t.Fatalf("event %s", d.body)
		}
		apptest.MustSend(t, w.bob, th.ID, "while closed")
		if _, err := w.bob.Do(ctx, "PUT", "/api/v1/threads/"+th.ID+"/app-access", map[string]any{"allowed": true}, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("GrantRevoked", func(t *testing.T) {
		if _, err := w.alice.Do(ctx, "DELETE", "/api/v1/me/grants/"+w.grantID, nil, nil); err != nil {
			t.Fatal(err)
		}
		d := rc.next(t)
		if d.event.Type != "grant.revoked" || d.event.Data["grant_id"] != w.grantID || d.event.Data["reason"] != "revoked" {
			t.Fatalf("event %s", d.body)
		}
		apptest.MustSend(t, w.bob, th.ID, "after the grant")
	})
	t.Run("EveryDeliveryListed", func(t *testing.T) {
		var events []string
		for _, d := range w.settle(t, rc, ep.ID) {
			if d.State != parley.DeliverySucceeded || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 204 {
				t.Fatalf("delivery %+v", d)
			}
			events = append(events, d.Event)
		}
		want := []string{"grant.revoked", "thread.closed_to_apps", "message.deleted", "message.edited", "message.created", "message.created"}
		if strings.Join(events, " ") != strings.Join(want, " ") {
			t.Fatalf("deliveries %v, want %v", events, want)
		}
	})
}

func TestWebhooks_AppSuspendedAndThreadLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	carol := w.env.MustMember(t, "carol")
	apptest.MustFriends(t, w.alice, carol)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "grant.revoked", "thread.closed_to_apps")
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Films"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/2", Title: "B"}); err != nil {
		t.Fatal(err)
	}
	// The group is not in the app's grant: alice leaving it is no event.
	if _, err := w.alice.Do(ctx, "DELETE", "/api/v1/threads/"+group.ID+"/participants/me", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.env.Server.Service.SuspendApp(service.ConsoleContext(ctx), w.partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	d := rc.next(t)
	if d.event.Type != "grant.revoked" || d.event.Data["reason"] != "app_suspended" || d.event.Data["grant_id"] != w.grantID {
		t.Fatalf("event %s", d.body)
	}
	if list := w.settle(t, rc, ep.ID); len(list) != 1 {
		t.Fatalf("deliveries %+v", list)
	}
}

// TestWebhooks_DeletedOrEditedWhileSuspendedToldOnReinstatement: messages
// the app read, one deleted and one edited while an operator had the app
// suspended, are told to the app once it is reinstated, when its grant
// works again: their message.deleted and message.edited are held
// meanwhile, pending with no attempt due, not withdrawn, and keep their
// whole schedule of retries however long the suspension lasts.
func TestWebhooks_DeletedOrEditedWhileSuspendedToldOnReinstatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created", "message.edited", "message.deleted")
	card, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/1", Title: "A film"})
	if err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	regretted := apptest.MustSend(t, w.bob, card.ThreadID, "something bob regrets")
	mistyped := apptest.MustSend(t, w.bob, card.ThreadID, "my adress is 12 Elm St")
	told := map[any]bool{}
	for range 2 { // in either order: the worker sends deliveries side by side
		told[rc.next(t).event.Data["message_id"]] = true
	}
	if !told[regretted.ID] || !told[mistyped.ID] {
		t.Fatalf("told of %v, want both messages", told)
	}
	if _, err := w.app.Messages(ctx, card.ThreadID, client.MessagesQuery{}); err != nil { // the app keeps copies
		t.Fatal(err)
	}
	console := service.ConsoleContext(ctx)
	if _, err := w.env.Server.Service.SuspendApp(console, w.partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := w.bob.DeleteMessage(ctx, regretted.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.bob.EditMessage(ctx, mistyped.ID, "my address is elsewhere"); err != nil {
		t.Fatal(err)
	}
	held := w.held(t, ep.ID, 2)
	// Longer than every retry: a held delivery is not attempted.
	w.env.Clock.Advance(48 * time.Hour)
	w.env.Server.Service.WakeWebhooks()
	if _, err := w.env.Server.Service.ReinstateApp(console, w.partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		d := rc.next(t)
		want := map[string]string{"message.deleted": regretted.ID, "message.edited": mistyped.ID}[d.event.Type]
		if d.event.Data["message_id"] != want || d.header.Get("webhook-id") != held[d.event.Type].ID {
			t.Fatalf("after reinstatement: %s", d.body)
		}
	}
	if n := rc.count.Load(); n != 5 {
		t.Fatalf("the endpoint got %d requests; want 5, the deletion's and the edit's once the app was reinstated", n)
	}
}

// TestWebhooks_ThreadClosedWhileSuspendedToldOnReinstatement: a message
// the app read, deleted while an operator had the app suspended, in a
// thread then closed to apps: the app, sent nothing while suspended, is
// told once reinstated that the thread left its grant (the deletion, which
// its grant no longer reaches, is withdrawn then), so that it forgets what
// it kept of the thread, the deleted message among it.
func TestWebhooks_ThreadClosedWhileSuspendedToldOnReinstatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created", "message.deleted", "thread.closed_to_apps")
	card, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/1", Title: "A film"})
	if err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	regretted := apptest.MustSend(t, w.bob, card.ThreadID, "something bob regrets")
	rc.next(t)
	if _, err := w.app.Messages(ctx, card.ThreadID, client.MessagesQuery{}); err != nil { // the app keeps a copy
		t.Fatal(err)
	}
	console := service.ConsoleContext(ctx)
	if _, err := w.env.Server.Service.SuspendApp(console, w.partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if err := w.bob.DeleteMessage(ctx, regretted.ID); err != nil {
		t.Fatal(err)
	}
	// Held before the thread is closed (once it is, the deletion, which
	// the grant no longer reaches, is withdrawn at its first screen).
	w.held(t, ep.ID, 1)
	if _, err := w.bob.SetThreadAppAccess(ctx, card.ThreadID, false); err != nil {
		t.Fatal(err)
	}
	w.held(t, ep.ID, 2)
	if n := rc.count.Load(); n != 2 {
		t.Fatalf("the suspended app was sent %d requests; want the 2 made before", n)
	}
	if _, err := w.env.Server.Service.ReinstateApp(console, w.partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "thread.closed_to_apps" || d.event.Data["thread_id"] != card.ThreadID {
		t.Fatalf("after reinstatement: %s; want the thread's leaving the grant", d.body)
	}
	w.withdrawn(t, ep.ID)
}

// TestWebhooks_ThreadClosedOnlyToAppsThatKnowOfIt: an app whose grant
// reaches threads it may not read (here thread scope all, and only openid)
// learns nothing of them, by webhooks as by its stream: not even that a
// participant closed one to apps.
func TestWebhooks_ThreadClosedOnlyToAppsThatKnowOfIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, group := newGroupHookWorld(t, "Surprise party for dave", "Sign-in only")
	env, alice := w.env, w.alice
	if _, err := env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), w.partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	env.MustToken(t, w.partner, "alice", []string{"openid"}, apptest.Answer{ThreadScope: "all"})
	rc := newReceiver(t)
	w.endpoint(t, rc.URL, "thread.closed_to_apps", "grant.revoked")
	if _, err := w.bob.SetThreadAppAccess(ctx, group.ID, false); err != nil {
		t.Fatal(err)
	}
	// Then alice revokes the grant, which the app may hear of.
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("connected apps %+v, %v", apps, err)
	}
	if err := alice.RevokeGrant(ctx, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "grant.revoked" {
		t.Fatalf("an app that may not read the member's threads was told: %s", d.body)
	}
}

func TestWebhooks_LeavingAThreadInTheGrant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, group := newGroupHookWorld(t, "Films", "Movie Club")
	env, alice := w.env, w.alice
	env.MustToken(t, w.partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{group.ID}})
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created", "thread.closed_to_apps")
	rc.answerWith(http.StatusInternalServerError)
	m := apptest.MustSend(t, w.bob, group.ID, "hello group")
	if d := rc.next(t); d.event.Type != "message.created" || d.event.Data["message_id"] != m.ID {
		t.Fatalf("event %s", d.body)
	}
	rc.answerWith(http.StatusNoContent)
	if _, err := alice.Do(ctx, "DELETE", "/api/v1/threads/"+group.ID+"/participants/me", nil, nil); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "thread.closed_to_apps" || d.event.Data["reason"] != "left" || d.event.Data["thread_id"] != group.ID {
		t.Fatalf("event %s", d.body)
	}
	// The message's delivery failed, and is not tried again now that
	// alice left.
	w.settle(t, rc, ep.ID)
	env.Clock.Advance(webhook.Schedule[1] + webhook.Schedule[1]/10 + time.Second)
	env.Server.Service.WakeWebhooks()
	if d := w.withdrawn(t, ep.ID); d.Event != "message.created" || len(d.Attempts) != 1 || rc.count.Load() != 2 {
		t.Fatalf("delivery %+v, after %d requests", d, rc.count.Load())
	}
}

func TestWebhooks_Retries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created")
	rc.answerWith(http.StatusInternalServerError)
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/3", Title: "C"}); err != nil {
		t.Fatal(err)
	}
	first := rc.next(t)
	// Each retry comes on the schedule, with the same webhook-id, and is
	// not made before it.
	for i, wait := range webhook.Schedule[1:4] {
		w.settle(t, rc, ep.ID)
		list := w.deliveries(t, ep.ID)
		if len(list) != 1 || len(list[0].Attempts) != i+1 || list[0].NextAttemptAt == nil {
			t.Fatalf("after attempt %d: %+v", i+1, list)
		}
		if due := list[0].NextAttemptAt.Sub(list[0].Attempts[i].At); due < wait || due > wait+wait/10+time.Second {
			t.Fatalf("attempt %d due after %v, want %v and up to a tenth more", i+2, due, wait)
		}
		if i == 2 {
			rc.answerWith(http.StatusOK)
		}
		w.env.Clock.Advance(wait + wait/10 + time.Second)
		w.env.Server.Service.WakeWebhooks()
		if d := rc.next(t); d.header.Get("webhook-id") != first.header.Get("webhook-id") {
			t.Fatalf("retry with webhook-id %q, first %q", d.header.Get("webhook-id"), first.header.Get("webhook-id"))
		}
	}
	list := w.settle(t, rc, ep.ID)
	codes := []int{}
	for _, a := range list[0].Attempts {
		codes = append(codes, a.StatusCode)
	}
	if list[0].State != parley.DeliverySucceeded || len(codes) != 4 || codes[0] != 500 || codes[3] != 200 {
		t.Fatalf("delivery %+v, codes %v", list[0], codes)
	}

	t.Run("RetryAfterHonoured", func(t *testing.T) {
		rc.answerWith(http.StatusTooManyRequests, "Retry-After", "3600")
		apptest.MustSend(t, w.bob, threadOf(t, w), "more")
		rc.next(t)
		d := w.settle(t, rc, ep.ID)[0]
		if d.NextAttemptAt == nil || d.NextAttemptAt.Sub(d.Attempts[0].At) < time.Hour {
			t.Fatalf("after a 429 asking for an hour: %+v", d)
		}
	})
	t.Run("Redeliver", func(t *testing.T) {
		rc.answerWith(http.StatusOK)
		d := w.deliveries(t, ep.ID)[0]
		if _, err := w.alice.Do(ctx, "POST", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+ep.ID+"/deliveries/"+d.ID+"/redeliver", nil, nil); err != nil {
			t.Fatal(err)
		}
		if got := rc.next(t); got.header.Get("webhook-id") != d.ID {
			t.Fatalf("redelivered %q, want %q", got.header.Get("webhook-id"), d.ID)
		}
		if d := w.settle(t, rc, ep.ID)[0]; d.State != parley.DeliverySucceeded || len(d.Attempts) != 2 {
			t.Fatalf("after redelivery: %+v", d)
		}
	})
	t.Run("GoneDisables", func(t *testing.T) {
		rc.answerWith(http.StatusGone)
		apptest.MustSend(t, w.bob, threadOf(t, w), "gone")
		rc.next(t)
		w.settle(t, rc, ep.ID)
		if e := w.webhook(t, ep.ID); e.DisabledAt == nil || !strings.Contains(e.DisabledReason, "410") {
			t.Fatalf("endpoint %+v", e)
		}
		if !strings.Contains(w.env.Logs.String(), "webhook endpoint disabled") {
			t.Fatal("the disabling is not logged")
		}
	})
}

// TestWebhooks_NoRetryOnceAccessEnds: a delivery about a message that is
// due again after the member's access ended is not sent but withdrawn, as
// the app's realtime stream would not carry the message either; a
// redelivery of it is withdrawn again. TestWebhooks_LeavingAThreadInTheGrant
// shows the same when the member leaves the thread.
func TestWebhooks_NoRetryOnceAccessEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, end := range []struct {
		name string
		end  func(t *testing.T, w *hookWorld, threadID string)
	}{
		{"GrantRevoked", func(t *testing.T, w *hookWorld, _ string) {
			if _, err := w.alice.Do(ctx, "DELETE", "/api/v1/me/grants/"+w.grantID, nil, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"GrantExpired", func(t *testing.T, w *hookWorld, _ string) {
			w.env.Clock.Advance(31 * 24 * time.Hour) // alice's grant lasts 30 days, as does her sign-in
			s, err := w.env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
			if err != nil {
				t.Fatal(err)
			}
			w.alice = w.env.Client.WithToken(s.Token)
		}},
		{"AppSuspended", func(t *testing.T, w *hookWorld, _ string) {
			if _, err := w.env.Server.Service.SuspendApp(service.ConsoleContext(ctx), w.partner.App.ClientID); err != nil {
				t.Fatal(err)
			}
		}},
		{"ThreadClosedToApps", func(t *testing.T, w *hookWorld, threadID string) {
			if _, err := w.bob.Do(ctx, "PUT", "/api/v1/threads/"+threadID+"/app-access", map[string]any{"allowed": false}, nil); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(end.name, func(t *testing.T) {
			w := newHookWorld(t)
			rc := newReceiver(t)
			ep := w.endpoint(t, rc.URL, "message.created")
			rc.answerWith(http.StatusInternalServerError)
			if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/5", Title: "E"}); err != nil {
				t.Fatal(err)
			}
			rc.next(t)
			w.settle(t, rc, ep.ID)
			end.end(t, w, threadOf(t, w))
			w.env.Clock.Advance(webhook.Schedule[1] + webhook.Schedule[1]/10 + time.Second)
			w.env.Server.Service.WakeWebhooks()
			d := w.withdrawn(t, ep.ID)
			if len(d.Attempts) != 1 || d.NextAttemptAt != nil || rc.count.Load() != 1 {
				t.Fatalf("withdrawn delivery %+v, after %d requests", d, rc.count.Load())
			}
			if _, err := w.alice.Do(ctx, "POST", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+ep.ID+"/deliveries/"+d.ID+"/redeliver", nil, nil); err != nil {
				t.Fatal(err)
			}
			w.withdrawn(t, ep.ID)
			if n := rc.count.Load(); n != 1 {
				t.Fatalf("the receiver got %d requests, want the first attempt only", n)
			}
		})
	}
}

// held waits until n of the endpoint's deliveries, each of another event,
// are held for a suspended app (pending, with no attempt due and none made),
// and returns them by event.
func (w *hookWorld) held(t *testing.T, endpointID string, n int) map[string]parley.WebhookDelivery {
	t.Helper()
	held := map[string]parley.WebhookDelivery{}
	for i := 0; len(held) < n; i++ {
		if i == 100 { // 20 s, for a loaded machine
			t.Fatalf("held only %v: %+v", slices.Collect(maps.Keys(held)), w.deliveries(t, endpointID))
		}
		time.Sleep(200 * time.Millisecond) // within alice's rate limit
		w.env.Server.Service.WakeWebhooks()
		for _, d := range w.deliveries(t, endpointID) {
			if d.State == parley.DeliveryPending && d.NextAttemptAt == nil && len(d.Attempts) == 0 {
				held[d.Event] = d
			}
		}
	}
	return held
}

// withdrawn waits until one of the endpoint's deliveries is withdrawn, and
// returns it.
func (w *hookWorld) withdrawn(t *testing.T, endpointID string) parley.WebhookDelivery {
	t.Helper()
	for range 300 { // 30 s, for a loaded machine, within the member's rate limit
		for _, d := range w.deliveries(t, endpointID) {
			if d.State == parley.DeliveryWithdrawn {
				return d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the delivery was not withdrawn: %+v", w.deliveries(t, endpointID))
	return parley.WebhookDelivery{}
}

// threadOf returns the thread the app shared into for bob.
func threadOf(t *testing.T, w *hookWorld) string {
	t.Helper()
	page, err := w.bob.Threads(context.Background(), client.ThreadsQuery{Limit: 1})
	if err != nil || len(page.Threads) == 0 {
		t.Fatalf("threads %+v, %v", page, err)
	}
	return page.Threads[0].ID
}

// TestWebhooks_DisabledAfterDaysOfFailure: an endpoint that fails every
// delivery, with deliveries to make all along (each event comes as the one
// before is given up), is disabled at its first failure
// parley.WebhookDisableAfter after its first, not before.
func TestWebhooks_DisabledAfterDaysOfFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created")
	rc.answerWith(http.StatusInternalServerError)
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/4", Title: "D"}); err != nil {
		t.Fatal(err)
	}
	var first time.Time
	for range 100 {
		rc.next(t)
		d := w.settle(t, rc, ep.ID)[0]
		latest := d.Attempts[len(d.Attempts)-1].At
		if first.IsZero() {
			first = latest
		}
		e := w.webhook(t, ep.ID)
		failing := latest.Sub(first)
		if (e.DisabledAt != nil) != (failing >= parley.WebhookDisableAfter) {
			t.Fatalf("after %v of failures: endpoint %+v", failing, e)
		}
		if e.DisabledAt != nil {
			if !strings.Contains(e.DisabledReason, "failed since "+first.Format(time.RFC3339)) {
				t.Fatalf("disabled: %q, want every delivery failed since %v", e.DisabledReason, first)
			}
			return
		}
		if d.NextAttemptAt == nil {
			apptest.MustSend(t, w.bob, threadOf(t, w), "the next event, as the last is given up")
			continue
		}
		w.env.Clock.Advance(d.NextAttemptAt.Sub(w.env.Clock.Now()) + time.Second)
		w.env.Server.Service.WakeWebhooks()
	}
	t.Fatal("never disabled")
}

// TestWebhooks_NotDisabledByFailuresDaysApart: an endpoint whose delivery
// failed through its whole schedule, and which then had nothing to deliver
// for parley.WebhookDisableAfter, is not disabled at its next failure: it
// was not failing all that time, only at its two ends. Its run of failures
// starts again there.
func TestWebhooks_NotDisabledByFailuresDaysApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created")
	rc.answerWith(http.StatusInternalServerError)
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/4", Title: "D"}); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	for _, wait := range webhook.Schedule[1:] {
		w.settle(t, rc, ep.ID)
		w.env.Clock.Advance(wait + wait/10 + time.Second)
		w.env.Server.Service.WakeWebhooks()
		rc.next(t)
	}
	if d := w.settle(t, rc, ep.ID)[0]; d.State != parley.DeliveryFailed || len(d.Attempts) != len(webhook.Schedule) || d.NextAttemptAt != nil {
		t.Fatalf("after the whole schedule: %+v", d)
	}
	w.env.Clock.Advance(parley.WebhookDisableAfter)
	apptest.MustSend(t, w.bob, threadOf(t, w), "days later")
	rc.next(t)
	d := w.settle(t, rc, ep.ID)[0]
	e := w.webhook(t, ep.ID)
	if e.DisabledAt != nil || e.FailingSince == nil || !e.FailingSince.Equal(d.Attempts[0].At) {
		t.Fatalf("endpoint %+v, after its failure at %v", e, d.Attempts[0].At)
	}
}

func TestWebhooks_SecretRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created")
	var rotated service.CreatedWebhookEndpoint
	if _, err := w.alice.Do(ctx, "POST", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+ep.ID+"/rotate-secret", nil, &rotated); err != nil {
		t.Fatal(err)
	}
	if rotated.Secret == ep.Secret || rotated.OldSecretUntil == nil {
		t.Fatalf("rotated %+v", rotated)
	}
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/5", Title: "E"}); err != nil {
		t.Fatal(err)
	}
	d := rc.next(t)
	if n := len(strings.Fields(d.header.Get("webhook-signature"))); n != 2 {
		t.Fatalf("%d signatures during the rotation", n)
	}
	for _, secret := range []string{ep.Secret, rotated.Secret} {
		if err := verify(t, secret, d, false); err != nil {
			t.Fatalf("during the rotation a receiver with either secret verifies: %v", err)
		}
	}
	w.env.Clock.Advance(parley.WebhookSecretRotation + time.Second)
	apptest.MustSend(t, w.bob, threadOf(t, w), "a day later")
	d = rc.next(t)
	if err := verify(t, rotated.Secret, d, true); err != nil {
		t.Fatal(err)
	}
	if err := verify(t, ep.Secret, d, true); err == nil {
		t.Fatal("the old secret still signs after 24 hours")
	}
}

func TestWebhooks_Endpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	base := "/api/v1/apps/" + w.partner.App.ClientID + "/webhooks"
	ep := w.endpoint(t, "https://hooks.example/parley", "message.created")
	t.Run("SecretShownOnce", func(t *testing.T) {
		var list struct{ Endpoints []map[string]any }
		if _, err := w.alice.Do(ctx, "GET", base, nil, &list); err != nil || len(list.Endpoints) != 1 {
			t.Fatalf("list %+v, %v", list, err)
		}
		if _, ok := list.Endpoints[0]["secret"]; ok {
			t.Fatal("the list shows the secret")
		}
		if strings.Contains(w.env.Logs.String(), ep.Secret) {
			t.Fatal("the secret is in the logs")
		}
	})
	t.Run("ErrNotTheOwner", func(t *testing.T) {
		_, err := w.bob.Do(ctx, "POST", base, map[string]any{"url": "https://x.example/", "events": []string{"message.created"}}, nil)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = w.bob.Do(ctx, "GET", base+"/"+ep.ID, nil, nil)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = w.app.Do(ctx, "GET", base, nil, nil)
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
	})
	for name, body := range map[string]map[string]any{
		"ErrPlainHTTP":     {"url": "http://hooks.example/", "events": []string{"message.created"}},
		"ErrPrivate":       {"url": "https://10.1.2.3/", "events": []string{"message.created"}},
		"ErrLinkLocal":     {"url": "https://169.254.169.254/latest", "events": []string{"message.created"}},
		"ErrMulticast":     {"url": "https://224.0.0.1/", "events": []string{"message.created"}},
		"ErrUnspecified":   {"url": "https://0.0.0.0/", "events": []string{"message.created"}},
		"ErrPrivateV6":     {"url": "https://[fd00::1]/", "events": []string{"message.created"}},
		"ErrUnknownEvent":  {"url": "https://hooks.example/", "events": []string{"message.read"}},
		"ErrNoEvents":      {"url": "https://hooks.example/", "events": []string{}},
		"ErrCredentials":   {"url": "https://u:p@hooks.example/", "events": []string{"message.created"}},
		"ErrNotAURL":       {"url": "hooks", "events": []string{"message.created"}},
		"ErrUnknownField":  {"url": "https://hooks.example/", "events": []string{"message.created"}, "secret": "mine"},
		"ErrMappedPrivate": {"url": "https://[::ffff:10.0.0.1]/", "events": []string{"message.created"}},
		"ErrShortIPv4":     {"url": "https://127.1/", "events": []string{"message.created"}},
		"ErrDecimalIPv4":   {"url": "https://2130706433/", "events": []string{"message.created"}},
		"ErrOctalIPv4":     {"url": "https://0177.0.0.1/", "events": []string{"message.created"}},
		"ErrHexIPv4":       {"url": "https://0x7F000001./", "events": []string{"message.created"}},
		"ErrNoHost":        {"url": "https:///hooks", "events": []string{"message.created"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.alice.Do(ctx, "POST", base, body, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("ThroughTheClient", func(t *testing.T) {
		clientID := w.partner.App.ClientID
		made, err := w.alice.CreateWebhook(ctx, clientID, "https://hooks.example/other", []string{"grant.revoked"})
		if err != nil || !strings.HasPrefix(made.Secret, "whsec_") {
			t.Fatalf("made %+v, %v", made, err)
		}
		rotated, err := w.alice.RotateWebhookSecret(ctx, clientID, made.ID)
		if err != nil || rotated.Secret == made.Secret || rotated.OldSecretUntil == nil {
			t.Fatalf("rotated %+v, %v", rotated, err)
		}
		list, err := w.alice.Webhooks(ctx, clientID)
		if err != nil || len(list) != 2 || list[1].ID != made.ID || list[1].Secret != "" {
			t.Fatalf("list %+v, %v", list, err)
		}
		page, err := w.alice.WebhookDeliveries(ctx, clientID, made.ID, "", 10)
		if err != nil || len(page.Deliveries) != 0 {
			t.Fatalf("deliveries %+v, %v", page, err)
		}
		if err := w.alice.DeleteWebhook(ctx, clientID, made.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.alice.Webhook(ctx, clientID, made.ID); client.StatusOf(err) != http.StatusNotFound {
			t.Fatalf("a deleted endpoint: %v", err)
		}
		err = w.alice.RedeliverWebhook(ctx, clientID, ep.ID, "msg_unknown")
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	t.Run("Delete", func(t *testing.T) {
		if _, err := w.alice.Do(ctx, "DELETE", base+"/"+ep.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
		_, err := w.alice.Do(ctx, "GET", base+"/"+ep.ID, nil, nil)
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
}

func TestWebhooks_LoopbackOnlyWithTheFlag(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	p := env.MustPartnerOf(t, "Movie Club", "alice")
	for _, u := range []string{"http://127.0.0.1:9/hooks", "https://127.0.0.1/", "https://localhost/", "https://[::1]/",
		"https://hooks.localhost/", "https://LOCALHOST./"} {
		_, err := alice.Do(context.Background(), "POST", "/api/v1/apps/"+p.App.ClientID+"/webhooks",
			map[string]any{"url": u, "events": []string{"message.created"}}, nil)
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	}
}

func TestWebhooks_GrantExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t) // alice's grant lasts 30 days
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "grant.revoked")
	w.env.Clock.Advance(31 * 24 * time.Hour)
	if n, err := w.env.Server.Service.EndExpiredGrants(ctx); err != nil || n != 1 {
		t.Fatalf("ended %d, %v", n, err)
	}
	d := rc.next(t)
	if d.event.Type != "grant.revoked" || d.event.Data["reason"] != "expired" || d.event.Data["grant_id"] != w.grantID {
		t.Fatalf("event %s", d.body)
	}
	if err := verify(t, ep.Secret, d, true); err != nil {
		t.Fatal(err)
	}
}

// A deliveries cursor is the ID of the last delivery of a page, and only
// the server's cursors are taken: anything else is a 400, not an empty
// page.
func TestWebhooks_DeliveriesCursor(t *testing.T) {
	t.Parallel()
	w := newHookWorld(t)
	ep := w.endpoint(t, "https://hooks.example/parley", "message.created")
	path := "/api/v1/apps/" + w.partner.App.ClientID + "/webhooks/" + ep.ID + "/deliveries?cursor="
	for _, cursor := range []string{"not-a-cursor", ep.ID, "msg_", "msg_" + strings.Repeat("z", 26)} {
		_, err := w.alice.Do(context.Background(), "GET", path+url.QueryEscape(cursor), nil, nil)
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	}
	if _, err := w.alice.Do(context.Background(), "GET", path+"msg_"+parley.NewID(), nil, nil); err != nil {
		t.Errorf("a delivery's ID as the cursor: %v", err)
	}
}

// TestWebhooks_EndpointDeletedMidAttempt: an endpoint deleted while an
// attempt at it is under way costs only that attempt's record: the
// attempts made beside it, to other endpoints, are recorded all the same,
// not dropped to be sent again.
func TestWebhooks_EndpointDeletedMidAttempt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	held, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		close(held)
		<-release
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(slow.Close)
	gone := w.endpoint(t, slow.URL, "message.created")
	rc := newReceiver(t)
	kept := w.endpoint(t, rc.URL, "message.created")
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/6", Title: "F"}); err != nil {
		t.Fatal(err)
	}
	<-held
	rc.next(t)
	if _, err := w.alice.Do(ctx, "DELETE", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+gone.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	close(release)
	var list []parley.WebhookDelivery
	for range 300 { // 30 s, for a loaded machine, within the member's rate limit
		if list = w.deliveries(t, kept.ID); len(list) == 1 && len(list[0].Attempts) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(list) != 1 || list[0].State != parley.DeliverySucceeded || len(list[0].Attempts) != 1 {
		t.Fatalf("the delivery made beside the deleted endpoint's: %+v", list)
	}
}

// TestWebhooks_AHangingEndpointHoldsUpOnlyItsOwn: an endpoint that does
// not answer keeps its deliveries in flight, but not anyone else's: a
// delivery to another endpoint goes out meanwhile, though every worker of
// the node has one of the waiting deliveries. The waiting endpoint answers
// once the other delivery came, and its attempts succeed: they were still
// in flight, not given up at the send's timeout, which a worker waiting
// for its whole batch would have had to reach first.
func TestWebhooks_AHangingEndpointHoldsUpOnlyItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	entered, release := make(chan struct{}, 10), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(slow.Close)
	released := sync.OnceFunc(func() { close(release) })
	t.Cleanup(released)
	rc := newReceiver(t)
	slowEP := w.endpoint(t, slow.URL, "message.created")
	w.endpoint(t, rc.URL, "message.deleted")

	// One waiting delivery for each of the node's two workers, one after
	// the other, so that a worker that waited for its whole batch would
	// have none free.
	var cards []*client.Message
	for range 2 {
		card, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/" + strconv.Itoa(len(cards)), Title: "A film"})
		if err != nil {
			t.Fatal(err)
		}
		cards = append(cards, card)
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the waiting endpoint got no delivery")
		}
	}
	if err := w.app.DeleteMessage(ctx, cards[0].ID); err != nil {
		t.Fatal(err)
	}
	if d := rc.next(t); d.event.Type != "message.deleted" {
		t.Fatalf("event %s", d.body)
	}
	released()
	for range 1200 { // 30 s, for a loaded machine
		list := w.deliveries(t, slowEP.ID)
		if len(list) == 2 && len(list[0].Attempts) == 1 && len(list[1].Attempts) == 1 {
			for _, d := range list {
				if a := d.Attempts[0]; !a.Succeeded {
					t.Errorf("a waiting delivery's attempt failed (%d %s): it was given up before the other endpoint's delivery went", a.StatusCode, a.Error)
				}
			}
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("the waiting endpoint's attempts are not recorded")
}

// TestWebhooks_HistoryKeptItsTime: a delivery stays in its endpoint's
// history, with its attempts, for parley.WebhookHistoryKept; the server's
// prune then deletes it.
func TestWebhooks_HistoryKeptItsTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	rc := newReceiver(t)
	ep := w.endpoint(t, rc.URL, "message.created")
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/5", Title: "E"}); err != nil {
		t.Fatal(err)
	}
	rc.next(t)
	sent := w.settle(t, rc, ep.ID)
	prune := func() int {
		t.Helper()
		n, err := w.env.Server.Service.PruneWebhookHistory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	w.env.Clock.Advance(parley.WebhookHistoryKept - time.Minute)
	if n := prune(); n != 0 || len(w.deliveries(t, ep.ID)) != 1 {
		t.Fatalf("pruned %d deliveries kept less than their time; want none", n)
	}
	w.env.Clock.Advance(2 * time.Minute)
	if n := prune(); n != 1 {
		t.Fatalf("pruned %d deliveries; want the one kept its time, %s", n, sent[0].ID)
	}
	owner, err := w.env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	apptest.Secret(owner.Token)
	w.alice = w.env.Client.WithToken(owner.Token)
	if left := w.deliveries(t, ep.ID); len(left) != 0 {
		t.Fatalf("left %+v after its time", left)
	}
}

// TestWebhooks_ASecretUnreadableHoldsUpOnlyItsOwn: a delivery whose
// endpoint's signing secret the server cannot read (here, one sealed with
// no key of the server's) is not sent: it is recorded as a failed attempt
// saying why, on the retry schedule, and the deliveries taken with it to
// other endpoints go.
func TestWebhooks_ASecretUnreadableHoldsUpOnlyItsOwn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	broken, fine := newReceiver(t), newReceiver(t)
	brokenEP := w.endpoint(t, broken.URL, "message.created")
	fineEP := w.endpoint(t, fine.URL, "message.created")
	err := w.env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		return tx.RotateWebhookSecret(ctx, brokenEP.ID, []byte("sealed with no key of this server"), w.env.Clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.app.Share(ctx, client.NewShare{To: "bob", URL: "https://movies.example/6", Title: "F"}); err != nil {
		t.Fatal(err)
	}
	fine.next(t)
	w.settle(t, fine, fineEP.ID)
	for range 1200 { // 30 s, for a loaded machine
		list := w.deliveries(t, brokenEP.ID)
		if len(list) == 1 && len(list[0].Attempts) == 1 {
			d, a := list[0], list[0].Attempts[0]
			if a.Succeeded || a.Error != webhook.ErrUnsigned.Error() || d.State != parley.DeliveryPending || d.NextAttemptAt == nil {
				t.Fatalf("the unsigned delivery: %+v, its attempt %+v; want a failed attempt saying why, and a retry", d, a)
			}
			if n := broken.count.Load(); n != 0 {
				t.Fatalf("the endpoint whose secret is unreadable got %d requests", n)
			}
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatal("the unsigned delivery's attempt is never recorded")
}

// TestWebhooks_EndpointWithALongHistoryDeletedWhole: deleting an endpoint
// deletes every delivery it had, however many more than one write takes,
// and then the endpoint.
func TestWebhooks_EndpointWithALongHistoryDeletedWhole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newHookWorld(t)
	ep := w.endpoint(t, "https://movies.example/hooks", "message.created")
	now := w.env.Clock.Now()
	var ds []parley.NewWebhookDelivery
	for i := range 1234 {
		ds = append(ds, parley.NewWebhookDelivery{ID: fmt.Sprintf("msg_%05d", i), EndpointID: ep.ID, Event: parley.WebhookMessageCreated,
			Payload: []byte(`{}`), CreatedAt: now})
	}
	if err := w.env.Server.Store.Write(ctx, func(tx parley.Tx) error { return tx.EnqueueWebhooks(ctx, ds) }); err != nil {
		t.Fatal(err)
	}
	if _, err := w.alice.Do(ctx, "DELETE", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+ep.ID, nil, nil); err != nil {
		t.Fatal(err)
	}
	var left []*parley.WebhookDelivery
	if err := w.env.Server.Store.Read(ctx, func(tx parley.Tx) (err error) {
		left, err = tx.FindWebhookDeliveries(ctx, ep.ID, "", 10)
		return err
	}); err != nil || len(left) != 0 {
		t.Fatalf("left %d deliveries of the deleted endpoint, %v", len(left), err)
	}
	if _, err := w.alice.Do(ctx, "GET", "/api/v1/apps/"+w.partner.App.ClientID+"/webhooks/"+ep.ID, nil, nil); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("the deleted endpoint: %v; want 404", err)
	}
}

// An app has at most parley.MaxWebhookEndpoints endpoints, however many of
// its owner's registrations come at once, on one node or several.
func TestWebhooks_AtMostTenEndpointsAtOnce(t *testing.T) {
	t.Parallel()
	w := newHookWorld(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 2 * parley.MaxWebhookEndpoints {
		wg.Go(func() {
			_, err := w.alice.CreateWebhook(ctx, w.partner.App.ClientID, fmt.Sprintf("http://127.0.0.1:9/hook/%d", i), []string{"grant.revoked"})
			if err != nil && client.StatusOf(err) != http.StatusConflict {
				t.Errorf("registration %d: %v, want it made or refused 409", i, err)
			}
		})
	}
	wg.Wait()
	list, err := w.alice.Webhooks(ctx, w.partner.App.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != parley.MaxWebhookEndpoints {
		t.Errorf("%d registrations at once made %d endpoints, want %d", 2*parley.MaxWebhookEndpoints, len(list), parley.MaxWebhookEndpoints)
	}
}
