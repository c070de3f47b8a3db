package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// In a real browser a developer registers an app on a server that reviews
// apps: the form says the name, purpose and homepage are for good, and the
// app's page says it waits for review. They mistype an endpoint's URL with
// one event ticked: the form comes back with both. On an active app's
// endpoint they rotate an endpoint's signing secret, shown once, and find
// another endpoint disabled, its page saying to delete it and register it
// again. Each page passes the axe-core check, at 375 px too. With
// PARLEY_SCREENSHOTS set, each is saved at 1280 and 375 px.
func TestDeveloperConsole_Browser_Review(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview, c.WebhooksAllowPrivate = true, true })
	ctx := context.Background()
	dev := env.MustMember(t, "dev")
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "dev")

	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/developer"), chromedp.WaitVisible(chromedp.CSS(`#app-name`))))
	if got := text(t, b, `label[for=app-homepage]`); got != "Homepage (cannot be changed later)" {
		t.Errorf("the homepage's label reads %q", got)
	}
	apptest.Screenshot(t, b, "register")
	checkAccessibility(t, b, "developer console, registration form")
	must(t, chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`#app-name`), "Films"),
		chromedp.SendKeys(chromedp.CSS(`#app-purpose`), "Films your friends recommend"),
		chromedp.SendKeys(chromedp.CSS(`#app-uris`), "https://films.example/cb"),
	))
	submit(t, b, `form[action="/account/developer/apps"] button[type=submit]`, `!!document.querySelector("#client-secret")`)
	if got := text(t, b, `#app-state`); got != "Waiting for this server's operators to review it: no member can connect it yet." {
		t.Errorf("a pending app's state reads %q", got)
	}

	const typo = "htps://films.example/hooks"
	must(t, chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`#hook-url`), typo),
		chromedp.Click(chromedp.CSS(`input[name=events][value="grant.revoked"]`)),
	))
	submit(t, b, `#webhooks form button[type=submit]`, `!!document.querySelector(".error")`)
	kept, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector("#hook-url").value + " " +
		[...document.querySelectorAll("input[name=events]:checked")].map(e => e.value).join(",")`))
	must(t, err)
	if kept != typo+" grant.revoked" {
		t.Errorf("after a mistake the form holds %q, want %q", kept, typo+" grant.revoked")
	}
	// The answer opens at the form, the error above it: on a phone too.
	inView, err := chromedp.Run(b, chromedp.Evaluate[bool](`(r => r.top >= 0 && r.bottom <= innerHeight)(document.querySelector("#hook-error").getBoundingClientRect())`))
	must(t, err)
	if !inView {
		t.Error("the answer to the endpoint form does not open at its error")
	}
	apptest.Screenshot(t, b, "pending-app-hook-error")
	checkAccessibility(t, b, "developer console, a pending app's page after a mistake in the endpoint form")

	// Another app, active, is connected by bob, who revokes it: one
	// endpoint takes the grant.revoked, the other answers 410 Gone and is
	// disabled.
	tunes := env.MustPartnerOf(t, "Tunes", "dev")
	clientID := tunes.App.ClientID
	ok, gone := newReceiver(t, http.StatusNoContent), newReceiver(t, http.StatusGone)
	live, err := dev.CreateWebhook(ctx, clientID, ok.URL+"/hooks", []string{"grant.revoked"})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := dev.CreateWebhook(ctx, clientID, gone.URL+"/hooks", []string{"grant.revoked"})
	if err != nil {
		t.Fatal(err)
	}

	hookURL := env.URL + "/account/developer/apps/" + clientID + "/webhooks/"
	must(t, chromedp.Do(b, chromedp.Navigate(hookURL+live.ID), chromedp.WaitVisible(chromedp.CSS(`#hook-secret-title`))))
	submit(t, b, `form[action$="/secret"] button[type=submit]`, `!!document.querySelector("#hook-secret")`)
	if got := text(t, b, `#old-hook-secret`); !strings.HasPrefix(got, "The old secret signs until ") {
		t.Errorf("after rotating, the page says %q", got)
	}
	apptest.Screenshot(t, b, "hook-rotated")
	checkAccessibility(t, b, "developer console, an endpoint's secret rotated")

	env.Clock.Advance(parley.WebhookActivation)
	connectAndRevoke(t, env, tunes, "bob")
	eventually(t, env, "the endpoint disabled", func() bool {
		if len(gone.received()) == 0 {
			return false
		}
		e, err := dev.Webhook(ctx, clientID, dead.ID)
		return err == nil && e.DisabledAt != nil
	})
	must(t, chromedp.Do(b, chromedp.Navigate(hookURL+dead.ID), chromedp.WaitVisible(chromedp.CSS(`#disabled`))))
	if got := text(t, b, `#disabled`); !strings.Contains(got, "To start over, delete it and register it again.") {
		t.Errorf("the disabled endpoint's page says %q", got)
	}
	apptest.Screenshot(t, b, "hook-disabled")
	checkAccessibility(t, b, "developer console, a disabled endpoint")
}
