package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// inTimeZone makes the browser's time zone zone, as a member's there is.
func inTimeZone(zone string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zone})
		return err
	})
}

// A run of reads in the access log from 23:59 to 00:01 where the member
// reads it (Auckland), on one day in UTC, ends on the next day there: its
// end is written with its date, not as a time of day that reads as before
// its start.
func TestPrivacyPages_Browser_SpanAcrossLocalMidnight(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "hi")
	env.Clock.Freeze()
	now := env.Clock.Now()
	// 10:59 UTC is 23:59 in Auckland in its summer (UTC+13), 13:59 or
	// 11:59 in winter (UTC+12): the run ends on the next day there in
	// summer, on the same day in winter, and the test holds for both.
	start := time.Date(now.Year(), now.Month(), now.Day()+1, 10, 59, 0, 0, time.UTC)
	env.Clock.Advance(start.Sub(now))
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{th.ID}})
	app := env.Client.WithToken(tok.AccessToken)
	for i := range 4 {
		if i == 2 {
			env.Clock.Advance(2 * time.Minute)
		}
		if _, err := app.Messages(ctx, th.ID, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	auckland, err := time.LoadLocation("Pacific/Auckland")
	must(t, err)
	from, to := start.In(auckland), start.Add(2*time.Minute).In(auckland)

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, inTimeZone("Pacific/Auckland"), chromedp.Navigate(env.URL+"/account/access-log"), chromedp.WaitVisible(chromedp.CSS(`#log`))))
	apptest.Screenshot(t, b, "access-log-auckland")
	run := evaluate[string](t, b, `[...document.querySelectorAll("#log .lines li")].map((li) => li.innerText).find((l) => l.includes(" between ")) || ""`)
	_, end, ok := strings.Cut(run, " and ")
	if !ok {
		t.Fatalf("no run of reads in the log: %q", text(t, b, "#log"))
	}
	if from.Day() != to.Day() && !strings.Contains(end, to.Format("2 Jan 2006 15:04")) {
		t.Errorf("a run from %s to %s in Auckland reads %q: its end does not say its day", from.Format("2 Jan 15:04"), to.Format("2 Jan 15:04"), run)
	}
	if from.Day() == to.Day() && strings.Contains(end, to.Format("2 Jan")) {
		t.Errorf("a run within a day in Auckland writes its day twice: %q", run)
	}
}

// A webhook delivery's Redeliver button names the delivery by the time it
// was made, as the page shows it: in the reader's zone, as its table does,
// not in UTC.
func TestPrivacyPages_Browser_RedeliverSaysTheLocalTime(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	tunes := env.MustPartnerOf(t, "Tunes", "alice")
	hook, err := alice.CreateWebhook(ctx, tunes.App.ClientID, "http://127.0.0.1:9/hook", []string{"grant.revoked"})
	must(t, err)
	env.Clock.Advance(parley.WebhookActivation)
	bob := env.MustMember(t, "bob")
	env.MustToken(t, tunes, "bob", []string{"openid"}, apptest.Answer{})
	apps, err := bob.ConnectedApps(ctx)
	must(t, err)
	must(t, bob.RevokeGrant(ctx, apps[0].ID))

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, inTimeZone("Pacific/Kiritimati"), chromedp.Navigate(env.URL+"/account/developer/apps/"+tunes.App.ClientID+"/webhooks/"+hook.ID),
		chromedp.WaitVisible(chromedp.CSS(`#deliveries`))))
	made := text(t, b, `#deliveries tbody tr .made time`)
	label := evaluate[string](t, b, `document.querySelector("#deliveries tbody tr button").getAttribute("aria-label")`)
	if strings.Contains(made, "UTC") || !strings.HasSuffix(label, " "+made) || strings.Contains(label, "UTC") {
		t.Errorf("the delivery made %q, read in Kiritimati, is sent again by a button labelled %q", made, label)
	}
}
