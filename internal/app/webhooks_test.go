package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// TestNodes_EachWebhookDeliveredOnce runs two nodes on one PostgreSQL
// database, both with their delivery workers, sends through both, and
// checks that the receiver gets every event exactly once and that each
// delivery records exactly one attempt.
func TestNodes_EachWebhookDeliveredOnce(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("several nodes share a PostgreSQL database: run with PARLEY_TEST_DATABASE=postgres")
	}
	ctx := context.Background()
	var mu sync.Mutex
	got := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()

	a := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	b := startBeside(t, a) // B tells the time by A's clock, which the test moves
	alice, bob, h := hookedThread(t, a, rc.URL)

	const sends = 120
	bobOnB := b.WithToken(bob.Token())
	var wg sync.WaitGroup
	for w := range 4 {
		c := bob
		if w%2 == 1 {
			c = bobOnB
		}
		wg.Go(func() {
			for i := w; i < sends; i += 4 {
				if _, err := c.SendMessage(ctx, h.threadID, fmt.Sprintf("message %d", i), ""); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	var list []parley.WebhookDelivery
	for range 400 {
		list = deliveries(t, alice, h.clientID, h.endpointID)
		done := len(list) == sends
		for _, d := range list {
			done = done && d.State == parley.DeliverySucceeded
		}
		if done {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(list) != sends || len(got) != sends {
		t.Fatalf("%d deliveries, %d received; want %d", len(list), len(got), sends)
	}
	for _, d := range list {
		if d.State != parley.DeliverySucceeded || len(d.Attempts) != 1 || got[d.ID] != 1 {
			t.Fatalf("delivery %s: %s, %d attempts, received %d times", d.ID, d.State, len(d.Attempts), got[d.ID])
		}
	}
}

// hooked is a thread alice's grant to her app reaches, and the app's
// endpoint subscribed to message.created.
type hooked struct{ threadID, clientID, endpointID string }

// hookedThread makes friends alice and bob and their thread, which alice
// grants her app Movie Club, and registers its endpoint at url, waiting
// out the endpoint's activation on the server's clock.
func hookedThread(t *testing.T, a *apptest.Env, url string) (alice, bob *client.Client, h hooked) {
	t.Helper()
	alice, bob = a.MustMember(t, "alice"), a.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	h.threadID = apptest.MustThread(t, alice, "bob").ID
	partner := a.MustPartnerOf(t, "Movie Club", "alice")
	a.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{h.threadID}})
	var ep struct{ ID string }
	if _, err := alice.Do(context.Background(), "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
		map[string]any{"url": url, "events": []string{"message.created"}}, &ep); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(parley.WebhookActivation)
	h.clientID, h.endpointID = partner.App.ClientID, ep.ID
	return alice, bob, h
}

// deliveries lists every delivery of an endpoint.
func deliveries(t *testing.T, owner *client.Client, clientID, endpointID string) []parley.WebhookDelivery {
	t.Helper()
	var all []parley.WebhookDelivery
	cursor := ""
	for {
		var page struct {
			Deliveries []parley.WebhookDelivery
			NextCursor string `json:"next_cursor"`
		}
		if _, err := owner.Do(context.Background(), "GET", "/api/v1/apps/"+clientID+"/webhooks/"+endpointID+"/deliveries?limit=100&cursor="+cursor, nil, &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Deliveries...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// TestWebhooks_AWriteOnlyAppIsToldOfItsMessageDeletedInParley: an app
// that writes for alice without reading (messages.write, messages.delete,
// not messages.read), such as a client she composes in, posts her words
// into a thread she ticked; she deletes them in Parley. Its endpoint,
// subscribed to message.deleted, is told, as every app whose grant
// reached the message is: the app holds the words she took back. The
// delivery is in her access log as the app's messages.write.
func TestWebhooks_AWriteOnlyAppIsToldOfItsMessageDeletedInParley(t *testing.T) {
	ctx := context.Background()
	got := make(chan string, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- string(body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	a := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	alice, bob := a.MustMember(t, "alice"), a.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	p := a.MustPartnerOf(t, "Composer", "alice")
	tok := a.MustToken(t, p, "alice", []string{"openid", "messages.write", "messages.delete"}, apptest.Answer{ThreadScope: "selected", Threads: []string{th}})
	if _, err := alice.Do(ctx, "POST", "/api/v1/apps/"+p.App.ClientID+"/webhooks",
		map[string]any{"url": rc.URL, "events": []string{"message.deleted"}}, nil); err != nil {
		t.Fatal(err)
	}
	a.Clock.Advance(parley.WebhookActivation)
	m, err := a.Client.WithToken(tok.AccessToken).SendMessage(ctx, th, "alice's words, typed in Composer", "")
	if err != nil {
		t.Fatal(err)
	}
	logged := func() int { // Composer's messages.write of m in alice's log
		t.Helper()
		page, err := alice.AccessLog(ctx, client.AccessLogQuery{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range page.Entries {
			if e.Action == string(parley.ScopeMessagesWrite) && e.ClientID == p.App.ClientID && slices.Contains(e.MessageIDs, m.ID) {
				n++
			}
		}
		return n
	}
	sent := logged()                                       // its send
	if err := alice.DeleteMessage(ctx, m.ID); err != nil { // in Parley
		t.Fatal(err)
	}
	select {
	case body := <-got:
		if !strings.Contains(body, `"message.deleted"`) || !strings.Contains(body, m.ID) {
			t.Fatalf("Composer was sent %s; want message.deleted of %s", body, m.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alice deleted in Parley the message Composer wrote for her; Composer was told nothing")
	}
	for deadline := time.Now().Add(5 * time.Second); logged() == sent; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the delivery is not in alice's access log as Composer's messages.write")
		}
	}
}

// TestWebhooks_OutboxOutlivesTheServer: a delivery enqueued with a send
// that the endpoint has not taken yet survives the server's stopping, and
// the next server on the same data sends it.
func TestWebhooks_OutboxOutlivesTheServer(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	got := []string{}
	status := http.StatusServiceUnavailable
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if status == http.StatusNoContent {
			got = append(got, r.Header.Get("webhook-id"))
		}
		w.WriteHeader(status)
	}))
	defer rc.Close()

	a := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	alice, bob, h := hookedThread(t, a, rc.URL)
	apptest.MustSend(t, bob, h.threadID, "while the endpoint is down")
	var pending []parley.WebhookDelivery
	for range 400 {
		if pending = deliveries(t, alice, h.clientID, h.endpointID); len(pending) == 1 && len(pending[0].Attempts) == 1 {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	if len(pending) != 1 || pending[0].State != parley.DeliveryPending {
		t.Fatalf("before the stop: %+v", pending)
	}
	a.Stop()

	mu.Lock()
	status = http.StatusNoContent
	mu.Unlock()
	clock := &apptest.Clock{}
	clock.Advance(time.Minute) // past the retry's time
	cfg := a.Server.Config
	srv, err := app.OpenServer(ctx, cfg, slog.New(slog.DiscardHandler), clock)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Serve(t, srv)
	again := client.New(srv.URL()).WithToken(alice.Token())
	for range 400 {
		if list := deliveries(t, again, h.clientID, h.endpointID); list[0].State == parley.DeliverySucceeded {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != pending[0].ID {
		t.Fatalf("the next server delivered %v, want %s", got, pending[0].ID)
	}
}

// TestNodes_AnEndpointMissesNothingFromItsActiveFrom: a node that read,
// just before an endpoint was stored, that no endpoint subscribes to an
// event, skips that event until it reads again. The endpoint's active_from
// leaves every node the time to read again after the commit, however long
// its write waited: for the app's row, which the app's other writes hold,
// before the endpoint is made, or in its insert, after (its active_from is
// then moved on). Every message sent through the other node from the
// active_from the owner was answered with on is enqueued for it.
func TestNodes_AnEndpointMissesNothingFromItsActiveFrom(t *testing.T) {
	t.Parallel() // its cases wait out a held lock most of their time
	if apptest.Engine() != "postgres" {
		t.Skip("several nodes share a PostgreSQL database: run with PARLEY_TEST_DATABASE=postgres")
	}
	// Longer than an endpoint's activation, 5 s after its making: had the
	// wait counted in it, the endpoint would be active before it was
	// stored, and the other node would skip its event until its next read.
	const held = 5500 * time.Millisecond
	for name, hold := range map[string]func(ctx context.Context, db *sqlstore.DB, clientID string) (release func() error, err error){
		"TheAppsRowHeldBefore": func(ctx context.Context, db *sqlstore.DB, clientID string) (func() error, error) {
			locked, done, result := make(chan error, 1), make(chan struct{}), make(chan error, 1)
			go func() {
				result <- db.Write(ctx, func(tx parley.Tx) error {
					_, err := tx.FindAppForUpdate(ctx, clientID)
					locked <- err
					<-done
					return err
				})
			}()
			if err := <-locked; err != nil {
				return nil, err
			}
			return func() error { close(done); return <-result }, nil
		},
		"TheInsertHeldAfter": func(ctx context.Context, db *sqlstore.DB, _ string) (func() error, error) {
			return sqlstore.HoldInserts(ctx, db, "webhook_endpoints")
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
			defer rc.Close()
			a := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate = true })
			b := startBeside(t, a)
			alice, bob := a.MustMember(t, "alice"), a.MustMember(t, "bob")
			apptest.MustFriends(t, alice, bob)
			threadID := apptest.MustThread(t, alice, "bob").ID
			partner := a.MustPartnerOf(t, "Movie Club", "alice")
			a.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{threadID}})
			bobOnB := b.WithToken(bob.Token())
			apptest.MustSend(t, bobOnB, threadID, "before the endpoint: B reads that none is subscribed")

			release, err := hold(ctx, a.Server.Store, partner.App.ClientID)
			if err != nil {
				t.Fatal(err)
			}
			var ep struct {
				ID         string
				ActiveFrom time.Time `json:"active_from"`
			}
			made := make(chan error, 1)
			go func() {
				_, err := alice.Do(ctx, "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
					map[string]any{"url": rc.URL, "events": []string{"message.created"}}, &ep)
				made <- err
			}()
			time.Sleep(held)
			if err := release(); err != nil {
				t.Fatal(err)
			}
			if err := <-made; err != nil {
				t.Fatal(err)
			}
			// From active_from on, for as long as a node trusts a read.
			time.Sleep(time.Until(ep.ActiveFrom))
			sent := 0
			for end := time.Now().Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(25 * time.Millisecond) {
				m := apptest.MustSend(t, bobOnB, threadID, fmt.Sprintf("after active_from, %d", sent))
				if m.CreatedAt.Before(ep.ActiveFrom) {
					t.Fatalf("a message made at %v, before the endpoint's active_from %v", m.CreatedAt, ep.ActiveFrom)
				}
				sent++
			}
			// Nothing else was sent since the endpoint was made.
			if n := len(deliveries(t, alice, partner.App.ClientID, ep.ID)); n != sent {
				t.Errorf("%d of the %d messages sent from the endpoint's active_from on were enqueued for it", n, sent)
			}
		})
	}
}

// TestWebhooks_AnAttemptAnsweredDuringAStopIsRecordedOnce: an attempt
// under way when the server stops is let finish within the stop's time:
// the endpoint, which answers a second into a five-second stop, is not cut
// off, its answer is recorded, as the delivery's one attempt, and the next
// server does not send the delivery again, not even once its lease is
// over.
func TestWebhooks_AnAttemptAnsweredDuringAStopIsRecordedOnce(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{} // requests, by webhook-id
	arrived, answer, answered := make(chan string, 10), make(chan struct{}), make(chan error, 1)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // read whole, so that net/http sees the sender go away
		id := r.Header.Get("webhook-id")
		mu.Lock()
		got[id]++
		first := len(got) == 1 && got[id] == 1
		mu.Unlock()
		arrived <- id
		if first {
			select {
			case <-answer:
				answered <- nil
			case <-r.Context().Done():
				answered <- fmt.Errorf("the attempt was cut off: %w", r.Context().Err())
				return
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	cfg := apptest.Install(t)
	options := func(c *config.Config) {
		c.WebhooksAllowPrivate, c.ShutdownTimeout = true, 5*time.Second
		apptest.Unlimited(c)
	}
	a := apptest.StartInstall(t, cfg, options)
	alice, bob, h := hookedThread(t, a, rc.URL)
	apptest.MustSend(t, bob, h.threadID, "sent before the stop")
	id := firstArrived(t, arrived)
	time.AfterFunc(time.Second, func() { close(answer) })
	a.Stop()
	if err := <-answered; err != nil {
		t.Fatal(err)
	}

	b := apptest.StartInstall(t, cfg, options)
	b.Clock.Advance(parley.WebhookActivation) // where a's clock was
	alice = b.Client.WithToken(alice.Token())
	list := deliveries(t, alice, h.clientID, h.endpointID)
	if len(list) != 1 || list[0].ID != id || list[0].State != parley.DeliverySucceeded || len(list[0].Attempts) != 1 || list[0].Attempts[0].StatusCode != http.StatusNoContent {
		t.Fatalf("after the stop: %+v; want %s succeeded, with its one attempt answered 204", list, id)
	}
	// Past the lease the delivery was taken with, a later message's
	// delivery is sent; deliveries are taken oldest due first, and the
	// first is sent no more.
	b.Clock.Advance(2 * time.Minute)
	apptest.MustSend(t, b.Client.WithToken(bob.Token()), h.threadID, "sent after the restart")
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the later message's delivery was not sent")
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		if list = deliveries(t, alice, h.clientID, h.endpointID); len(list) == 2 && list[0].State == parley.DeliverySucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the later delivery is not recorded: %+v", list)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got[id] != 1 || len(list[1].Attempts) != 1 {
		t.Fatalf("the delivery answered during the stop was sent %d times, and lists %d attempts; want once", got[id], len(list[1].Attempts))
	}
}

// TestNodes_AnAttemptCutOffAtAStopIsSentByAnotherNodeAtOnce: an attempt
// whose endpoint has not answered when a node's stop is out of time is
// cut off, and another node sends the delivery again straight away, not
// a minute later, when the lease the stopped node took it with ends.
func TestNodes_AnAttemptCutOffAtAStopIsSentByAnotherNodeAtOnce(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("several nodes share a PostgreSQL database: run with PARLEY_TEST_DATABASE=postgres")
	}
	var requests sync.Map // webhook-id: *atomic.Int32
	arrived := make(chan string, 10)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // read whole, so that net/http sees the sender go away
		id := r.Header.Get("webhook-id")
		n, _ := requests.LoadOrStore(id, &atomic.Int32{})
		arrived <- id
		if n.(*atomic.Int32).Add(1) == 1 {
			<-r.Context().Done() // the first attempt is never answered
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	a := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate, c.ShutdownTimeout = true, time.Second })
	alice, bob, h := hookedThread(t, a, rc.URL)
	apptest.MustSend(t, bob, h.threadID, "sent to the node that stops")
	id := firstArrived(t, arrived)
	b := startBeside(t, a) // after a took the delivery
	a.Stop()
	select {
	case again := <-arrived:
		if again != id {
			t.Fatalf("b sent %s; want %s again", again, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the other node did not send the delivery cut off at the stop")
	}
	alice = b.WithToken(alice.Token())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(25 * time.Millisecond) {
		list := deliveries(t, alice, h.clientID, h.endpointID)
		if len(list) == 1 && list[0].State == parley.DeliverySucceeded && len(list[0].Attempts) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the delivery is not recorded as sent once, by the other node: %+v", list)
		}
	}
}

// firstArrived returns the webhook-id of the first request a receiver
// tells arrived of.
func firstArrived(t *testing.T, arrived <-chan string) string {
	t.Helper()
	select {
	case id := <-arrived:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("nothing was sent")
		return ""
	}
}
