package web_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
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
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
	"golang.org/x/oauth2"
)

// In a real browser, a member signed in to the messenger opens Apps from
// its bar, sees the apps connected to the account (one named in markup,
// shown as text), follows one to what it did, its polling one line,
// with the log verified; revokes it from the connected apps page, after
// which its token is dead and its reads stay in the log beside the
// revocation; registers an app in the developer console, its name and
// purpose markup shown as text and its secret shown once, and deletes it
// after a confirmation; and sees the
// log reported broken once an entry is changed behind Parley's back.
// With PARLEY_SCREENSHOTS set, the connected apps, access log (one app's
// and every app's) and developer console pages, and an app's page with its
// chart, are saved at 1280 and 375 px.
func TestPrivacyPages_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, thread, "hello")
	club := env.MustPartner(t, "MovieClub")
	tok := env.MustToken(t, club, "alice", []string{"openid", "profile", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{thread}})
	app := env.Client.WithToken(tok.AccessToken)
	for i := range 5 {
		if i == 3 {
			apptest.MustSend(t, bob, thread, "a film tonight?")
		}
		if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(time.Second)
	}
	marked := env.MustPartner(t, xssScript, func(a *service.NewApp) { a.Purpose = xssImg })
	env.MustToken(t, marked, "alice", []string{"openid"}, apptest.Answer{})

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`.bar nav a[href="/account/apps"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.app`)),
	))
	apps := text(t, b, `.privacy`)
	for _, want := range []string{"MovieClub", "Read messages in your conversations", "Member bob", "It looked at your data 5 times", xssScript} {
		if !strings.Contains(apps, want) {
			t.Errorf("connected apps page lacks %q:\n%s", want, apps)
		}
	}
	checkCentred(t, b, "connected apps")
	checkHangingLabels(t, b, "connected apps")
	apptest.Screenshot(t, b, "connected-apps")
	checkAccessibility(t, b, "connected apps (privacy)")
	must(t, chromedp.Do(b, colorScheme("dark")))
	apptest.Screenshot(t, b, "connected-apps-dark")
	must(t, chromedp.Do(b, colorScheme("")))

	must(t, chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`section.app a[href*="access-log"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#verification`)),
	))
	if v := text(t, b, `#verification`); !strings.Contains(v, "Verified: your whole log, all 7 entries of every app") {
		t.Errorf("verification: %q", v)
	}
	log := text(t, b, `#log`)
	if !regexp.MustCompile(`MovieClub checked your conversation with Member bob 5 times (on|between) .+ and read 2 new messages`).MatchString(log) ||
		!strings.Contains(log, "You connected MovieClub") {
		t.Errorf("MovieClub's log:\n%s", log)
	}
	// The log writes the time MovieClub was connected as the connected
	// apps page does, in the reader's zone.
	if connected := regexp.MustCompile(`Connected (\d+ \w+ \d{4} \d\d:\d\d [^,]+), until`).FindStringSubmatch(apps); connected == nil {
		t.Errorf("the connected apps page gives no time MovieClub was connected:\n%s", apps)
	} else if !strings.Contains(log, "You connected MovieClub, "+connected[1]) {
		t.Errorf("the log does not write the time MovieClub was connected as the connected apps page does (%s):\n%s", connected[1], log)
	}
	apptest.Screenshot(t, b, "access-log")
	checkAccessibility(t, b, "access log (privacy)")

	// Revoke MovieClub from the connected apps page.
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/apps"), chromedp.WaitVisible(chromedp.CSS(`section.app`))))
	submit(t, b, `section.app[data-client-id="`+club.App.ClientID+`"] form.revoke button`, `!!document.querySelector(".notice")`)
	if apps := text(t, b, `.privacy`); strings.Contains(apps, "MovieClub") || !strings.Contains(apps, "Revoked") {
		t.Errorf("after revoking:\n%s", apps)
	}
	if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("MovieClub after revoking it in the browser: %v, want 401", err)
	}
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/access-log"), chromedp.WaitVisible(chromedp.CSS(`#log`))))
	if log := text(t, b, `#log`); !strings.Contains(log, "You revoked MovieClub's access") || !strings.Contains(log, "MovieClub checked your conversation with Member bob 5 times") {
		t.Errorf("the log after revoking:\n%s", log)
	}
	apptest.Screenshot(t, b, "access-log-every-app")
	checkAccessibility(t, b, "access log of every app (privacy)")

	// Register an app in the developer console.
	must(t, chromedp.Do(b,
		chromedp.Navigate(env.URL+"/account/developer"),
		chromedp.WaitVisible(chromedp.CSS(`#app-name`)),
		chromedp.SendKeys(chromedp.CSS(`#app-name`), xssImg),
		chromedp.SendKeys(chromedp.CSS(`#app-purpose`), xssScript),
		chromedp.SendKeys(chromedp.CSS(`#app-homepage`), "https://films.example/"),
		chromedp.SendKeys(chromedp.CSS(`#app-uris`), "https://films.example/cb"),
	))
	apptest.Screenshot(t, b, "developer-console")
	checkAccessibility(t, b, "developer console")
	submit(t, b, `form[action="/account/developer/apps"] button[type=submit]`, `!!document.querySelector("#client-secret")`)
	if h1, purpose := text(t, b, `.privacy h1`), text(t, b, `.purpose`); h1 != xssImg || purpose != xssScript {
		t.Errorf("the app's page reads %q, %q", h1, purpose)
	}
	// Shown only this once, the secret shows whole, on a phone too.
	for _, width := range []int64{375, 1280} {
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800)))
		whole, err := chromedp.Run(b, chromedp.Evaluate[bool](`(s => s.scrollWidth <= s.clientWidth && s.scrollHeight <= s.clientHeight)(document.getElementById("client-secret"))`))
		must(t, err)
		if !whole {
			t.Errorf("at %d px, the client secret does not show whole", width)
		}
	}
	// Its Copy button copies it, or leaves it selected where the
	// clipboard is out of reach, and says which.
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`.secret .copy`))))
	waitFor(t, b, `["Copied", "Selected: copy it"].includes(document.querySelector(".secret .copy").textContent)`)
	if selected, err := chromedp.Run(b, chromedp.Evaluate[bool](`(s => s.selectionStart === 0 && s.selectionEnd === s.value.length && s.value.startsWith("pcs_"))(document.getElementById("client-secret"))`)); err != nil || !selected {
		t.Errorf("Copy left the client secret unselected (%v)", err)
	}
	apptest.Screenshot(t, b, "developer-app")
	checkAccessibility(t, b, "developer console, an app's page")
	// The chart loads under the pages' policy.
	waitFor(t, b, `document.images.length === 1 && document.images[0].complete && document.images[0].naturalWidth === 860`)
	// On a phone, the chart drawn for a narrow screen, at about its own
	// size: its 12-unit text shows at 11 px or more, and nothing scrolls
	// sideways (checkAccessibility checked that at 375 px).
	must(t, chromedp.Do(b, chromedp.EmulateViewport(375, 800)))
	waitFor(t, b, `(img => img.complete && img.currentSrc.endsWith("/report.svg?layout=narrow") && img.naturalWidth === 320)(document.images[0])`)
	shown, err := chromedp.Run(b, chromedp.Evaluate[float64](`(img => (img.scrollIntoView(), img.getBoundingClientRect().width))(document.images[0])`))
	must(t, err)
	if shown*12/320 < 11 {
		t.Errorf("at 375 px the chart is %.0f px wide: its 12-unit text shows at %.1f px", shown, shown*12/320)
	}
	apptest.Screenshot(t, b, "developer-app-chart")

	// Deleting it asks first, then lands on the console, which says so.
	must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800), chromedp.Click(chromedp.CSS(`details.confirm summary`))))
	waitFor(t, b, `document.querySelector("details.confirm").open`)
	apptest.Screenshot(t, b, "developer-app-delete")
	checkAccessibility(t, b, "developer console, an app's deletion asked to confirm")
	submit(t, b, `details.confirm button.danger`, `location.pathname === "/account/developer"`)
	if notice := text(t, b, `.notice`); !strings.Contains(notice, "Deleted the app") {
		t.Errorf("after deleting the app, the console says %q", notice)
	}
	apptest.Screenshot(t, b, "developer-console-app-deleted")

	aliceID := apptest.MustMe(t, alice).ID
	if err := sqlstore.TamperAccessEntry(ctx, env.Server.Store, aliceID, 2, func(e *parley.AccessEntry) { e.MessageCount = 0 }); err != nil {
		t.Fatal(err)
	}
	// The page's check within a minute of the last that read the whole
	// chain reads only what was appended since.
	env.Clock.Advance(time.Minute)
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/access-log"), chromedp.WaitVisible(chromedp.CSS(`#verification`))))
	if verified := text(t, b, `#verification`); !strings.Contains(verified, "tampered with: entry 2 fails") {
		t.Errorf("verification status after tampering: %q", verified)
	}
}

// checkCentred fails the test unless, 1280 px wide, the page's column
// (.page or .welcome in the messenger's pane) stands in the middle of the
// pane, as wide a margin left of it as right, not kept to the left.
func checkCentred(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)))
	type margins struct{ Left, Right float64 }
	gaps, err := chromedp.Run(ctx, chromedp.Evaluate[margins](`(page => {
		const box = page.getBoundingClientRect(), kids = [...page.children].map(c => c.getBoundingClientRect()).filter(r => r.width > 0);
		return {Left: Math.min(...kids.map(r => r.left)) - box.left, Right: box.left + page.clientWidth - Math.max(...kids.map(r => r.right))};
	})(document.querySelector("#pane > .page, #pane > .welcome"))`))
	must(t, err)
	if gaps.Left < 48 || math.Abs(gaps.Left-gaps.Right) > 2 {
		t.Errorf("at 1280 px, the %s page's column is not centred: %.0f px left of it, %.0f px right", name, gaps.Left, gaps.Right)
	}
}

// text returns the visible text of the first element the CSS selector
// matches, waiting for it to be there, as it reads: without the invisible
// marks that set names apart (U+2068 … U+2069, unmarked). It reads it in
// the page, in one step: the messenger replaces parts of the page live, so
// a node found in one step may be gone by the next.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	sel := jsString(css)
	waitFor(t, ctx, fmt.Sprintf(`!!document.querySelector(%s)`, sel))
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText`, sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return unmarked(s)
}

// TestPrivacyPages_Browser_WebhookDeliveries: the deliveries page of a
// webhook endpoint, in the developer console, passes the accessibility
// audit at a desktop's width and a phone's, its heading, the endpoint's
// address, wrapping rather than running off a phone's screen; "Delete this
// endpoint" asks first, as every destructive action does, and its Cancel
// keeps the endpoint.
func TestPrivacyPages_Browser_WebhookDeliveries(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	alice := env.MustMember(t, "alice")
	films := env.MustOwnApp(t, alice, "Films")
	page := env.URL + "/account/developer/apps/" + films.App.ClientID + "/webhooks/" + films.EndpointID

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.CSS(`.privacy h1`))))
	apptest.Screenshot(t, b, "webhook")
	checkAccessibility(t, b, "webhook deliveries")

	must(t, chromedp.Do(b, phone, chromedp.Click(chromedp.CSS(`.confirm summary`)), chromedp.WaitVisible(chromedp.CSS(`.confirm[open] button.danger`))))
	if got := text(t, b, `.confirm`); !strings.Contains(got, "Delete this endpoint") || !strings.Contains(got, "Cancel") {
		t.Errorf("Delete this endpoint, open, says %q", got)
	}
	apptest.Screenshot(t, b, "webhook-delete-open")
	must(t, chromedp.Do(b, phone, chromedp.Click(chromedp.CSS(`.confirm a.cancel`))))
	waitFor(t, b, `!document.querySelector(".confirm").open`)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`.confirm summary`)), chromedp.WaitVisible(chromedp.CSS(`.confirm[open] button.danger`))))
	submit(t, b, `.confirm button.danger`, `!!document.querySelector(".notice")`)
	if got := text(t, b, `.notice`); !strings.Contains(got, "Deleted the webhook endpoint") {
		t.Errorf("deleting the endpoint says %q", got)
	}
}

// TestPrivacyPages_Browser_TimesInTheReadersZone: the connected apps page,
// the access log, the consent page and the operators' page write their
// times in the reader's own zone, named, as the messenger does, with the same
// script (static/times.js): the server writes them in UTC, for a page
// without script, each in a <time> that the script writes again. A member
// in Kiritimati (UTC+14) reads the same time of day in the log as in the
// chat.
func TestPrivacyPages_Browser_TimesInTheReadersZone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	env.MustMember(t, "olga")
	mustOperator(t, env, "olga")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "hello")
	club := env.MustPartner(t, "MovieClub")
	env.MustToken(t, club, "alice", []string{"openid", "profile", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{th}})

	const zoneName = "Pacific/Kiritimati"
	zone, err := time.LoadLocation(zoneName)
	if err != nil {
		t.Fatal(err)
	}
	inZone := func(b context.Context) {
		must(t, chromedp.Do(b, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zoneName})
			return err
		})))
	}
	a, o := apptest.Chromium(t), apptest.Chromium(t)
	inZone(a)
	inZone(o)
	signInBrowser(t, a, env.URL, "alice")
	signInBrowser(t, o, env.URL, "olga")
	// The consent page, asking for more than alice granted, lists her
	// conversations with when each was last active.
	more := *club.Config
	more.Scopes = []string{"openid", "profile", "messages.read", "friends.read"}
	consent := more.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	for _, p := range []struct {
		b                 context.Context
		name, url, within string
	}{
		{a, "/account/apps", env.URL + "/account/apps", `.privacy`},
		{a, "/account/access-log", env.URL + "/account/access-log", `.privacy`},
		{a, "the consent page", consent, `main`},
		{o, "/operator", env.URL + "/operator", `main`},
	} {
		must(t, chromedp.Do(p.b, chromedp.Navigate(p.url), chromedp.WaitVisible(chromedp.CSS(p.within+` h1`))))
		apptest.Screenshot(t, p.b, strings.Trim(strings.ReplaceAll(p.name, "/", "-"), "-"))
		times := evaluate[[][]string](t, p.b, fmt.Sprintf(`[...document.querySelectorAll(%q)].map(el => [el.dateTime, el.dataset.show, el.textContent])`, p.within+` time`))
		if len(times) == 0 {
			t.Errorf("%s shows no <time>", p.name)
		}
		// Each with the zone's short name, as the browser names it ("GMT+14"
		// in English): a grant's expiry or a secret's last day may fall in
		// another offset of a zone than today's.
		named := evaluate[string](t, p.b, `new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(new Date()).find((p) => p.type === "timeZoneName").value`)
		for _, tm := range times {
			at, err := time.Parse(time.RFC3339, tm[0])
			if err != nil {
				t.Errorf("%s: <time datetime=%q>: %v", p.name, tm[0], err)
				continue
			}
			want := at.In(zone).Format("2 Jan 2006 15:04") + " " + named
			if tm[1] == "clock" {
				want = at.In(zone).Format("15:04") + " " + named
			}
			if tm[2] != want {
				t.Errorf("%s, read in %s, writes %s as %q, want %q", p.name, zoneName, tm[0], tm[2], want)
			}
		}
		if shown := text(t, p.b, p.within); strings.Contains(shown, " UTC") {
			t.Errorf("%s, read in %s, still writes a time in UTC:\n%s", p.name, zoneName, shown)
		}
	}
}
