package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// In a real browser, a member opens their account from the bar's avatar, downloads
// everything of theirs (the link's file, fetched as the browser would,
// holds their messages and not another's), changes their password (a
// wrong current one changes nothing and says so; the right one signs
// their other sessions out and keeps this browser in), and deletes their
// account: a wrong password deletes nothing and says so; the right one,
// with the box ticked, signs them out everywhere and the sign-in page says
// the account is deleted. Each refusal has its field focused and its
// words on the screen, however far down the page the form is. Bob's
// conversation keeps his message, and alice's as a tombstone. With PARLEY_SCREENSHOTS set, the account page,
// its refusals, the changed password's notice and the sign-in page after
// the deletion are saved at 1280 and 375 px.
func TestDataPage_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, alice, thread, "alice was here")
	apptest.MustSend(t, bob, thread, "bob's own words")

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	// The bar's link to the account page, followed once the page it is on
	// has loaded whole: a node found while the browser is still on its
	// way is gone by the time it is clicked (it failed so once in CI).
	waitFor(t, b, `document.readyState === "complete" && !!document.querySelector(".bar a.me")`)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`.bar a.me`))))
	waitFor(t, b, `document.readyState === "complete" && !!document.querySelector("#delete-form")`)
	page := text(t, b, `.privacy`)
	for _, want := range []string{"Download your data", "every message you sent", "cannot be undone", "username stays reserved"} {
		if !strings.Contains(page, want) {
			t.Errorf("the data page lacks %q:\n%s", want, page)
		}
	}
	apptest.Screenshot(t, b, "your-data")
	checkAccessibility(t, b, "your data (privacy)")

	// The download link's file, fetched with the page's cookie.
	_, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => {
		const a = document.querySelector("#download");
		window.exported = undefined;
		fetch(a.href).then(r => r.text().then(body => { window.exported = JSON.stringify({
			disposition: r.headers.get("Content-Disposition"), download: a.hasAttribute("download"), body: body }); }));
		return true; })()`))
	must(t, err)
	waitFor(t, b, `window.exported !== undefined`)
	exported, err := chromedp.Run(b, chromedp.Evaluate[string](`window.exported`))
	must(t, err)
	if !strings.Contains(exported, `attachment; filename=\"parley-export-alice-`) || !strings.Contains(exported, `"download":true`) ||
		!strings.Contains(exported, "alice was here") || strings.Contains(exported, "bob's own words") {
		t.Errorf("the download: %s", exported)
	}

	// A new password.
	must(t, chromedp.Do(b,
		chromedp.EmulateViewport(375, 800),
		chromedp.SendKeys(chromedp.CSS(`#current-password`), "not my password"),
		chromedp.SendKeys(chromedp.CSS(`#new-password`), "a brand new password"),
	))
	submit(t, b, `#password-form button[type=submit]`, `!!document.querySelector("#password-error")`)
	if msg := text(t, b, `#password-error`); !strings.Contains(msg, "password is wrong") {
		t.Errorf("a wrong current password: %q", msg)
	}
	refusedInSight(t, b, "#password-error", "#current-password")
	apptest.Screenshot(t, b, "password-refused")
	checkAccessibility(t, b, "your data, new password refused")
	apptest.MustMe(t, alice)
	must(t, chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`#current-password`), apptest.Password("alice")),
		chromedp.SendKeys(chromedp.CSS(`#new-password`), "a brand new password"),
	))
	submit(t, b, `#password-form button[type=submit]`, `!!document.querySelector(".notice")`)
	if notice := text(t, b, `.notice`); !strings.Contains(notice, "Your password is changed") {
		t.Errorf("the account page after a new password: %q", notice)
	}
	apptest.Screenshot(t, b, "password-changed")
	if _, err := alice.Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("alice's other session after her new password: %v, want 401", err)
	}
	s, err := env.Client.SignIn(ctx, "alice", "a brand new password")
	if err != nil {
		t.Fatalf("signing in with the new password: %v", err)
	}
	alice = env.Client.WithToken(s.Token)

	must(t, chromedp.Do(b,
		chromedp.EmulateViewport(375, 800),
		chromedp.SendKeys(chromedp.CSS(`#delete-password`), "not my password"),
		chromedp.Click(chromedp.CSS(`#delete-form input[name=confirm]`)),
	))
	submit(t, b, `#delete-form button[type=submit]`, `!!document.querySelector("#delete-error")`)
	if msg := text(t, b, `#delete-error`); !strings.Contains(msg, "password is wrong") {
		t.Errorf("a wrong password: %q", msg)
	}
	refusedInSight(t, b, "#delete-error", "#delete-password")
	apptest.MustMe(t, alice)
	apptest.Screenshot(t, b, "your-data-refused")
	checkAccessibility(t, b, "your data, deletion refused")

	// The box she ticked stays ticked: the password alone was wrong.
	must(t, chromedp.Do(b,
		chromedp.SendKeys(chromedp.CSS(`#delete-password`), "a brand new password"),
	))
	if ticked := at[bool](t, b, 375, `document.querySelector("#delete-form input[name=confirm]").checked`); !ticked {
		t.Error("the deletion's box, ticked before a wrong password, is unticked")
	}
	submit(t, b, `#delete-form button[type=submit]`, `!!document.querySelector(".notice")`)
	if notice := text(t, b, `.notice`); !strings.Contains(notice, "Your account is deleted") {
		t.Errorf("the sign-in page after the deletion: %q", notice)
	}
	apptest.Screenshot(t, b, "account-deleted")
	checkAccessibility(t, b, "sign-in after the deletion")
	if _, err := alice.Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("alice's other session after the deletion: %v, want 401", err)
	}
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))))

	msgs, err := bob.Messages(ctx, thread, client.MessagesQuery{After: client.Seq(0)})
	if err != nil || len(msgs.Messages) != 2 || msgs.Messages[0].DeletedAt == nil || msgs.Messages[1].Text != "bob's own words" {
		t.Errorf("bob's conversation after alice's deletion: %+v, %v", msgs, err)
	}
}

// refusedInSight fails the test unless the page, shown again with a form's
// error, has the form's field focused and the error on the screen: a
// member who sent it from the top of a long page sees why nothing changed.
func refusedInSight(t *testing.T, b context.Context, errorCSS, fieldCSS string) {
	t.Helper()
	ok, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => {
		const e = document.querySelector(`+"`"+errorCSS+"`"+`).getBoundingClientRect();
		return document.activeElement === document.querySelector(`+"`"+fieldCSS+"`"+`) && e.top >= 0 && e.bottom <= innerHeight;
	})()`))
	must(t, err)
	if !ok {
		t.Errorf("refused, the page does not show %s with %s focused", errorCSS, fieldCSS)
	}
}
