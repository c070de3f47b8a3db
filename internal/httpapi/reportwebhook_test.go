package httpapi_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
)

// nextFortnight returns the start of the fortnight after the one t is in:
// fortnights are counted from Monday 1970-01-05, in UTC.
func nextFortnight(t time.Time) time.Time {
	epoch := time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)
	days := int(t.Sub(epoch) / day)
	return epoch.Add(time.Duration(days-days%14+14) * day)
}

// When a fortnight ends, an app with an endpoint subscribed to
// report.shares by then receives one signed report.shares delivery: the
// fortnight's report exactly as the report endpoint gives it, its cells
// counted from k people or more or reading "<k", naming no one. Running
// the job again sends nothing; the next fortnight's report comes when it
// ends; an app whose endpoints do not subscribe is sent none.
func TestWebhooks_FortnightlyShareReport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := apptest.Start(t, allowLoopback, func(c *config.Config) {
		c.SessionTTL = 365 * 24 * time.Hour
		c.ReportMinPeople = 3
	})
	send := func() int {
		t.Helper()
		n, err := env.Server.Service.SendFortnightReports(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The clock moves to 10:00 on the first Monday of a fortnight.
	now := env.Server.Service.Now()
	first := nextFortnight(now)
	env.Clock.Advance(first.Add(10 * time.Hour).Sub(now))

	owner := env.MustMember(t, "owner")
	films := mustOwnedPartner(t, env, "Films", "owner")
	quiet := mustOwnedPartner(t, env, "Quiet", "owner")
	endpoint := func(p string, url string, events ...string) service.CreatedWebhookEndpoint {
		t.Helper()
		var e service.CreatedWebhookEndpoint
		if _, err := owner.Do(ctx, "POST", "/api/v1/apps/"+p+"/webhooks", map[string]any{"url": url, "events": events}, &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	rc, quietRC := newReceiver(t), newReceiver(t)
	ep := endpoint(films.App.ClientID, rc.URL, "report.shares")
	quietEP := endpoint(quiet.App.ClientID, quietRC.URL, "message.created", "message.deleted", "grant.revoked", "thread.closed_to_apps")
	env.Clock.Advance(parley.WebhookActivation)
	// The fortnight before ended before the endpoint subscribed.
	if n := send(); n != 0 {
		t.Fatalf("sent %d reports of a fortnight that ended before the subscription", n)
	}

	// Monday: three members each share a film with two friends; three of
	// the six recipients follow their link.
	members := map[string]*client.Client{}
	ids := map[string]string{}
	for _, name := range []string{"snd1", "snd2", "snd3", "rcp1", "rcp2", "rcp3", "rcp4", "rcp5", "rcp6"} {
		members[name] = env.MustMember(t, name)
		ids[name] = apptest.MustMe(t, members[name]).ID
	}
	pairs := [][2]string{{"snd1", "rcp1"}, {"snd1", "rcp2"}, {"snd2", "rcp3"}, {"snd2", "rcp4"}, {"snd3", "rcp5"}, {"snd3", "rcp6"}}
	share := func(s, r string) string {
		tok := env.MustToken(t, films, s, []string{"shares.write"}, apptest.Answer{})
		card, err := env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: r, URL: "https://films.example/" + s + r, Title: "A film"})
		if err != nil {
			t.Fatal(err)
		}
		return cardOf(t, members[r], card.ThreadID).Share.Link
	}
	for i, p := range pairs {
		apptest.MustFriends(t, members[p[0]], members[p[1]])
		link := share(p[0], p[1])
		if i%2 == 0 {
			follow(t, "GET", link, firefox)
		}
	}

	// Nothing goes before the fortnight ends.
	env.Clock.Advance(first.Add(14*day - time.Hour).Sub(env.Server.Service.Now()))
	if n := send(); n != 0 {
		t.Fatalf("sent %d reports before the fortnight ended", n)
	}
	env.Clock.Advance(2 * time.Hour)
	if n := send(); n != 1 {
		t.Fatalf("sent %d reports when the fortnight ended, want 1", n)
	}
	if n := send(); n != 0 {
		t.Fatalf("the job run again sent %d more", n)
	}

	// The report of the next fortnight, with one share in it, comes when
	// it ends.
	share("snd1", "rcp1")
	env.Clock.Advance(14 * day)
	if n := send(); n != 1 {
		t.Fatalf("sent %d reports when the next fortnight ended, want 1", n)
	}

	// Deliveries are at least once: on a loaded machine the first report's
	// attempt may still be under way when the clock jumps a fortnight,
	// which ends its lease, and it is made again, under the same
	// webhook-id, as receivers are told to expect (a CI run of 2026-12-04,
	// under the race detector on PostgreSQL).
	seen := map[string]bool{}
	for i, start := range []time.Time{first, first.Add(14 * day)} {
		d := rc.next(t)
		for seen[d.header.Get("webhook-id")] {
			d = rc.next(t)
		}
		seen[d.header.Get("webhook-id")] = true
		if err := verify(t, ep.Secret, d, true); err != nil {
			t.Fatalf("the Standard Webhooks library refuses the delivery: %v", err)
		}
		// Signed by the server's clock, which the test moved on since.
		sent, err := strconv.ParseInt(d.header.Get("webhook-timestamp"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.VerifyWebhook(ep.Secret, d.header, d.body, time.Unix(sent, 0)); err != nil {
			t.Fatalf("client.VerifyWebhook refuses the delivery: %v", err)
		}
		var report map[string]any
		if _, err := owner.Do(ctx, "GET", fmt.Sprintf("/api/v1/apps/%s/reports/shares?period=fortnight&from=%s&to=%s",
			films.App.ClientID, date(start), date(start.Add(13*day))), nil, &report); err != nil {
			t.Fatal(err)
		}
		if d.event.Type != "report.shares" || !reflect.DeepEqual(d.event.Data, report) {
			t.Fatalf("delivery %s\nwant the report %v", d.body, report)
		}
		periods, _ := report["periods"].([]any)
		if len(periods) != 1 || periods[0].(map[string]any)["start"] != date(start) {
			t.Fatalf("report of %s: %v", date(start), report)
		}
		cells := periods[0].(map[string]any)
		for _, name := range []string{"shares_sent", "senders", "recipients", "recipients_clicked"} {
			if v, ok := cells[name].(float64); ok && v < 3 || !ok && cells[name] != "<3" {
				t.Errorf("report of %s: %s = %v, neither 3 or more nor \"<3\"", date(start), name, cells[name])
			}
		}
		want := map[string]any{"shares_sent": 6.0, "senders": 3.0, "recipients": 6.0, "recipients_clicked": 3.0, "click_through_rate": 0.5}
		if i == 1 {
			want = map[string]any{"shares_sent": "<3", "senders": "<3", "recipients": "<3", "recipients_clicked": "<3", "click_through_rate": "<3"}
		}
		for name, v := range want {
			if cells[name] != v {
				t.Errorf("report of %s: %s = %v, want %v", date(start), name, cells[name], v)
			}
		}
		for name, id := range ids {
			if strings.Contains(string(d.body), id) || strings.Contains(string(d.body), name) {
				t.Fatalf("the report names %s: %s", name, d.body)
			}
		}
		if strings.Contains(string(d.body), "films.example") {
			t.Fatalf("the report shows what was shared: %s", d.body)
		}
	}

	// Each report was delivered once; the app that did not subscribe was
	// sent nothing.
	var list []parley.WebhookDelivery
	for range 1200 {
		var page struct{ Deliveries []parley.WebhookDelivery }
		if _, err := owner.Do(ctx, "GET", "/api/v1/apps/"+films.App.ClientID+"/webhooks/"+ep.ID+"/deliveries", nil, &page); err != nil {
			t.Fatal(err)
		}
		list = page.Deliveries
		done := len(list) == 2
		for _, d := range list {
			done = done && d.State == parley.DeliverySucceeded
		}
		if done {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	for _, d := range list {
		if d.Event != "report.shares" || d.State != parley.DeliverySucceeded || len(d.Attempts) != 1 {
			t.Fatalf("delivery %+v", d)
		}
	}
	if len(list) != 2 || rc.count.Load() != 2 {
		t.Fatalf("%d deliveries, %d received; want 2", len(list), rc.count.Load())
	}
	var quietPage struct{ Deliveries []parley.WebhookDelivery }
	if _, err := owner.Do(ctx, "GET", "/api/v1/apps/"+quiet.App.ClientID+"/webhooks/"+quietEP.ID+"/deliveries", nil, &quietPage); err != nil {
		t.Fatal(err)
	}
	if len(quietPage.Deliveries) != 0 || quietRC.count.Load() != 0 {
		t.Fatalf("the app without the subscription was sent %+v", quietPage.Deliveries)
	}
}
