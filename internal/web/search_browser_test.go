package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_Search: at a desktop's width and a phone's, the
// chats' search field leads to the results, in sight and within the
// screen; a result leads to its message in its chat, shown and marked,
// though newer messages fill the page above it.
func TestMessenger_Browser_Search(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	first := apptest.MustSend(t, bob, th.ID, "The lunch place is Rosa's, on the corner of Main Street and Fifth")
	for i := range 60 {
		apptest.MustSend(t, alice, th.ID, fmt.Sprintf("message %d", i))
	}
	again := apptest.MustSend(t, alice, th.ID, "Shall we have lunch there again on Friday?")
	for i := range 10 {
		apptest.MustSend(t, bob, th.ID, fmt.Sprintf("later %d", i))
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")

	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800), chromedp.Navigate(env.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`#inbox-q`)),
			chromedp.SendKeys(chromedp.CSS(`#inbox-q`), "LUNCH\r"),
			chromedp.WaitVisible(chromedp.CSS(`.results`))))
		if u := location(t, b); u.Path != "/search" || u.Query().Get("q") != "LUNCH" {
			t.Fatalf("at %d px the search field led to %s", width, u)
		}
		if got, err := chromedp.Run(b, chromedp.Evaluate[[]float64](`(() => {
			const r = document.querySelectorAll(".results a"), last = r[r.length - 1].getBoundingClientRect();
			return [r.length, last.left, last.right, last.bottom, document.documentElement.scrollWidth];
		})()`)); err != nil || got[0] != 2 || got[1] < 0 || got[2] > float64(width) || got[3] > 800 || got[4] > float64(width) {
			t.Errorf("at %d px the results (count, the last's left, right and bottom, the page's width) = %v (%v), want both in sight", width, got, err)
		}
	}
	checkAccessibility(t, b, "search results")
	must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))
	apptest.Screenshot(t, b, "search")

	// The oldest result: its chat's newest 50 messages do not hold it. (A
	// message the browser brings to the top of the conversation may start
	// a fraction of a pixel above it.)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`.results li:last-child a`)), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	if u := location(t, b); u.Path != "/t/"+th.ID || u.Fragment != fmt.Sprintf("m%d", first.Seq) {
		t.Fatalf("the result led to %s", u)
	}
	waitFor(t, b, fmt.Sprintf(`(() => {
		const m = document.getElementById("m%d").getBoundingClientRect(), pane = document.querySelector(".conversation").getBoundingClientRect();
		return m.top >= pane.top - 1 && m.bottom <= pane.bottom && document.querySelector(".msg:target") !== null && document.getElementById("m%d") !== null;
	})()`, first.Seq, first.Seq+10))
	apptest.Screenshot(t, b, "search-found")

	// The newest result, ten messages from the last: its page is the
	// chat's newest, which takes new messages as they come, shown at it.
	must(t, chromedp.Do(b, chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(`.results`)),
		chromedp.Click(chromedp.CSS(`.results li:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, fmt.Sprintf(`(() => {
		const m = document.getElementById("m%d").getBoundingClientRect(), pane = document.querySelector(".conversation").getBoundingClientRect();
		return m.top >= pane.top - 1 && m.bottom <= pane.bottom && document.body.dataset.live === "open" && document.getElementById("messages").dataset.more === "false";
	})()`, again.Seq))
	apptest.MustSend(t, bob, th.ID, "Yes, same time as always")
	waitFor(t, b, `[...document.querySelectorAll("#messages .bubble")].some((m) => m.textContent === "Yes, same time as always")`)
}
