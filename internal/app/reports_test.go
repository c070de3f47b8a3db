package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// nextFortnight returns the start of the fortnight after the one t is in:
// fortnights are counted from Monday 1970-01-05, in UTC.
func nextFortnight(t time.Time) time.Time {
	const day = 24 * time.Hour
	epoch := time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)
	days := int(t.Sub(epoch) / day)
	return epoch.Add(time.Duration(days-days%14+14) * day)
}

// reportReceiver is an endpoint on loopback that counts the report.shares
// deliveries it gets, by webhook-id.
func reportReceiver(t *testing.T) (*httptest.Server, func() map[string]int) {
	var mu sync.Mutex
	got := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rc.Close)
	return rc, func() map[string]int {
		mu.Lock()
		defer mu.Unlock()
		out := map[string]int{}
		for k, v := range got {
			out[k] = v
		}
		return out
	}
}

// subscribeToReports registers an app of owner's with an endpoint
// subscribed to report.shares at url, active once it returns.
func subscribeToReports(t *testing.T, env *apptest.Env, url string) (owner *client.Client, clientID, endpointID string) {
	owner = env.MustMember(t, "owner")
	partner := env.MustPartnerOf(t, "Films", "owner")
	var ep struct{ ID string }
	if _, err := owner.Do(context.Background(), "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
		map[string]any{"url": url, "events": []string{"report.shares"}}, &ep); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(parley.WebhookActivation)
	return owner, partner.App.ClientID, ep.ID
}

// waitDelivered waits until the endpoint's deliveries all succeeded, and
// returns them.
func waitDelivered(t *testing.T, owner *client.Client, clientID, endpointID string) []parley.WebhookDelivery {
	var list []parley.WebhookDelivery
	for range 800 {
		list = deliveries(t, owner, clientID, endpointID)
		done := len(list) > 0
		for _, d := range list {
			done = done && d.State == parley.DeliverySucceeded
		}
		if done {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	return list
}

// TestNodes_OneFortnightReportPerApp runs two nodes on one PostgreSQL
// database and has each run the fortnightly report job several times at
// once, after a fortnight ended: the app gets one report.shares event.
func TestNodes_OneFortnightReportPerApp(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("several nodes share a PostgreSQL database: run with PARLEY_TEST_DATABASE=postgres")
	}
	ctx := context.Background()
	rc, got := reportReceiver(t)
	a := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	// B tells the time by A's clock, which the test moves.
	cfg := a.Server.Config
	cfg.Addr, cfg.PublicURL = "127.0.0.1:0", ""
	b, err := app.OpenServerBeside(ctx, cfg, slog.New(slog.DiscardHandler), a.Clock)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Serve(t, b)
	owner, clientID, endpointID := subscribeToReports(t, a, rc.URL)
	now := a.Server.Service.Now()
	a.Clock.Advance(nextFortnight(now).Add(time.Hour).Sub(now))

	var sent atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		node := a.Server
		if i%2 == 1 {
			node = b
		}
		wg.Go(func() {
			n, err := node.Service.SendFortnightReports(ctx)
			if err != nil {
				t.Error(err)
			}
			sent.Add(int64(n))
		})
	}
	wg.Wait()
	if sent.Load() != 1 {
		t.Fatalf("the two nodes sent %d reports, want 1", sent.Load())
	}
	list := waitDelivered(t, owner, clientID, endpointID)
	if len(list) != 1 || list[0].Event != parley.WebhookReportShares || list[0].State != parley.DeliverySucceeded || len(list[0].Attempts) != 1 {
		t.Fatalf("deliveries %+v, want one report.shares delivered", list)
	}
	if g := got(); len(g) != 1 || g[list[0].ID] != 1 {
		t.Fatalf("received %v, want %s once", g, list[0].ID)
	}
}

// TestWebhooks_FortnightReportAfterDowntime: a server stopped before a
// fortnight ends and started after sends the fortnight's report as it
// starts, by its own chore.
func TestWebhooks_FortnightReportAfterDowntime(t *testing.T) {
	ctx := context.Background()
	rc, got := reportReceiver(t)
	a := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	owner, clientID, endpointID := subscribeToReports(t, a, rc.URL)
	boundary := nextFortnight(a.Server.Service.Now())
	a.Stop()

	clock := &apptest.Clock{}
	clock.Advance(boundary.Add(3 * 24 * time.Hour).Sub(clock.Now()))
	srv, err := app.OpenServer(ctx, a.Server.Config, slog.New(slog.DiscardHandler), clock)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Serve(t, srv)
	again := client.New(srv.URL()).WithToken(owner.Token())
	list := waitDelivered(t, again, clientID, endpointID)
	if len(list) != 1 || list[0].Event != parley.WebhookReportShares || list[0].State != parley.DeliverySucceeded {
		t.Fatalf("deliveries %+v, want the report", list)
	}
	if g := got(); len(g) != 1 {
		t.Fatalf("received %v, want one delivery", g)
	}
	if n, err := srv.Service.SendFortnightReports(ctx); err != nil || n != 0 {
		t.Fatalf("the job run again sent %d, %v", n, err)
	}
}
