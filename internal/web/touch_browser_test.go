package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// On a phone (375 px wide, a touch screen) everything of the messenger's
// frame a thumb taps is at least 44 px high, the size WCAG asks of touch
// targets: the bar's tabs and the avatar that opens the account, the
// back link and the Manage menu of a conversation, the New chat button,
// the tabs of the Apps pages and the buttons, the Cancel of an edit, a
// report or a confirmation, "Show the newest messages" under a message
// found by search, and the operator pages' links. The bar has no room for
// Sign out there: the account page, which the avatar opens, has it, and
// signs the member out.
func TestMessenger_Browser_TouchTargets(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	apptest.MustSend(t, alice, group, "Noon?")
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "Lunch at Rosa's?")
	for i := range 60 {
		apptest.MustSend(t, alice, th, fmt.Sprintf("message %d", i))
	}
	apptest.MustSend(t, bob, th, "See you there")
	env.MustMember(t, "olga")
	mustOperator(t, env, "olga")

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, phone, chromedp.Reload()))
	if coarse, err := chromedp.Run(b, chromedp.Evaluate[bool](`matchMedia("(pointer: coarse)").matches`)); err != nil || !coarse {
		t.Fatalf("the emulated phone's pointer is not coarse: %v", err)
	}

	for _, page := range []struct{ path, ready, targets string }{
		{"/", `.inbox-top`, `.bar a, .inbox-top .button`},
		{"/t/" + group, `#send`, `.bar a, .back, .manage summary, .delete summary, #send button`},
		{"/account/apps", `.subnav`, `.bar a, .subnav a`},
		{"/friends", `#friends`, `.bar a, .find button, #friends button, #friends summary`},
		{"/account/data", `#delete-form`, `.bar a, .who button, #name-form button, #password-form button, #download, #delete-form button`},
	} {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+page.path), chromedp.WaitVisible(chromedp.CSS(page.ready))))
		checkTouchTargets(t, b, page.path, page.targets)
		if wide, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > innerWidth`)); err != nil || wide {
			t.Errorf("%s is wider than the phone (%v)", page.path, err)
		}
	}

	// The Cancel of what opens under a message: an edit, a report, a Delete.
	// The newest messages, in sight: alice's last (m61), then bob's (m62).
	for _, action := range []struct{ msg, details string }{{"#m61", "edit"}, {"#m62", "report"}, {"#m61", "delete"}} {
		summary := action.msg + ` .` + action.details + ` summary`
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send`)),
			chromedp.Click(chromedp.CSS(summary)), chromedp.WaitVisible(chromedp.CSS(`.`+action.details+`[open] .cancel`))))
		checkTouchTargets(t, b, "a message's "+action.details+" open", `.`+action.details+`[open] .cancel`)
	}
	// A message found far up shows with a link to the newest.
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/search?q=Rosa"), chromedp.WaitVisible(chromedp.CSS(`.page a[href*="/t/"]`)),
		chromedp.Click(chromedp.CSS(`.page a[href*="/t/"]`)), chromedp.WaitVisible(chromedp.CSS(`.older a`))))
	checkTouchTargets(t, b, "a message found", `.older a`)
	// The operator pages' links.
	o := apptest.Chromium(t)
	signInBrowser(t, o, env.URL, "olga")
	for _, page := range []string{"/operator", "/operator/reports"} {
		must(t, chromedp.Do(o, phone, chromedp.Navigate(env.URL+page), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label=Operator]`))))
		checkTouchTargets(t, o, page, `nav[aria-label=Operator] a`)
	}
	apptest.Screenshot(t, o, "operator-reports")

	// The bar of a phone: tabs and the avatar, which opens the account.
	if shown, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.querySelector(".bar .signout").getClientRects().length > 0`)); err != nil || shown {
		t.Errorf("the phone's bar shows Sign out (%v)", err)
	}
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`.bar a.me`)), chromedp.Click(chromedp.CSS(`.bar a.me`)),
		chromedp.WaitVisible(chromedp.CSS(`.who`))))
	if who := text(t, b, `.who`); !strings.Contains(who, "signed in as Member alice @alice") {
		t.Errorf("the account page says: %q", who)
	}
	apptest.Screenshot(t, b, "account")
	// Screenshot leaves the tab at a desktop's width, without touch.
	must(t, chromedp.Do(b, phone))
	submit(t, b, `.who button[type=submit]`, `!!document.querySelector("input[name=password]")`)
	if u := location(t, b); u.Path != "/sign-in" {
		t.Errorf("signing out from the account page ends at %s", u)
	}
	checkTouchTargets(t, b, "/sign-in", `main button, main .button`)
}

// phone is a phone's screen: 375 px wide, touched.
var phone = chromedp.EmulateViewport(375, 800, chromedp.EmulateMobile, chromedp.EmulateTouch)

// checkTouchTargets fails the test for each element the CSS selector finds
// on the tab's page, shown, that is under 44 px high or wide.
func checkTouchTargets(t *testing.T, ctx context.Context, page, targets string) {
	t.Helper()
	small, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`[...document.querySelectorAll(%q)]
		.filter(el => el.getClientRects().length)
		.map(el => [el, el.getBoundingClientRect()])
		.filter(([el, r]) => r.height < 44 || r.width < 44)
		.map(([el, r]) => el.outerHTML.slice(0, 80) + ": " + Math.round(r.width) + "×" + Math.round(r.height))`, targets)))
	must(t, err)
	if len(small) > 0 {
		t.Errorf("%s: touch targets under 44 px:\n%s", page, strings.Join(small, "\n"))
	}
}
