package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_Drafts: what the member typed and did not send,
// and the message it answers, wait in its chat's field while they go to
// another chat, whose field is its own, and come back; sent, it is gone.
// Signing out forgets every draft of the tab.
func TestMessenger_Browser_Drafts(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, alice, "bob"), apptest.MustThread(t, alice, "carol")
	apptest.MustSend(t, bob, withBob.ID, "Dinner at eight?")
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")

	// field says what a chat's field holds and the message it answers.
	field := func(threadID string) string {
		t.Helper()
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+threadID), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		got, err := chromedp.Run(b, chromedp.Evaluate[string](`(() => {
			const r = document.getElementById("replying");
			return document.getElementById("text").value + (r.hidden ? "" : " | " + r.querySelector(".qtext").textContent);
		})()`))
		must(t, err)
		return got
	}
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+withBob.ID), chromedp.WaitVisible(chromedp.CSS(`#send textarea`)),
		chromedp.Click(chromedp.CSS(`#m1 .acts .reply`)), chromedp.SendKeys(chromedp.CSS(`#text`), "Eight is fine, but")))
	if got := field(withCarol.ID); got != "" {
		t.Errorf("carol's chat's field holds %q, want nothing", got)
	}
	if got, want := field(withBob.ID), "Eight is fine, but | Dinner at eight?"; got != want {
		t.Errorf("back in bob's chat, its field holds %q, want %q", got, want)
	}
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), " I'll be late\r")))
	waitFor(t, b, `[...document.querySelectorAll("#messages .mine .bubble")].some((m) => m.textContent.endsWith("Eight is fine, but I'll be late"))`)
	field(withCarol.ID)
	if got := field(withBob.ID); got != "" {
		t.Errorf("once sent, the draft comes back: %q", got)
	}

	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "a secret plan")))
	field(withCarol.ID)
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "another"),
		chromedp.Click(chromedp.CSS(`form[action="/sign-out"] button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=password]`))))
	if n, err := chromedp.Run(b, chromedp.Evaluate[int](`Object.keys(sessionStorage).filter((k) => k.startsWith("parley.draft.")).length`)); err != nil || n != 0 {
		t.Errorf("signed out, the tab keeps %d drafts (%v)", n, err)
	}
}
