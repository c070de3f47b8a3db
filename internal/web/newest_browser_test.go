package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_NewMessagesBelow: messages that come while the
// member reads further up wait below, counted on a button at the foot of
// the conversation, in sight at a desktop's width and a phone's; pressing
// it brings the newest into sight, and it goes. At the newest, messages
// come into sight with no button.
func TestMessenger_Browser_NewMessagesBelow(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := range 40 {
		apptest.MustSend(t, bob, th.ID, fmt.Sprintf("Notes from the meeting, point %d: we agreed to look at it again next week.", i))
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")

	// button says what the button says, "" when it is hidden, and whether
	// it lies within the conversation's pane.
	const button = `(() => {
		const el = document.getElementById("to-newest"), r = el.getBoundingClientRect(), pane = document.querySelector(".conversation").getBoundingClientRect();
		return el.hidden ? "" : el.textContent + (r.top >= pane.top && r.bottom <= pane.bottom && r.left >= pane.left && r.right <= pane.right ? " in sight" : " out of sight");
	})()`
	const lastInSight = `(() => {
		const all = document.querySelectorAll("#messages > li.msg"), r = all[all.length - 1].getBoundingClientRect(), pane = document.querySelector(".conversation").getBoundingClientRect();
		return r.top >= pane.top && r.bottom <= pane.bottom + 1;
	})()`
	sent := 40
	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800), chromedp.Navigate(env.URL+"/t/"+th.ID),
			chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		waitFor(t, b, `document.body.dataset.live === "open"`)
		if _, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelector(".conversation").scrollTop = 0`)); err != nil {
			t.Fatal(err)
		}
		apptest.MustSend(t, bob, th.ID, "Also: lunch is on me.")
		apptest.MustSend(t, bob, th.ID, "See you then.")
		sent += 2
		waitFor(t, b, fmt.Sprintf(`document.querySelectorAll("#messages > li.msg").length >= %d && !document.getElementById("to-newest").hidden`, min(sent, 52)))
		if got, err := chromedp.Run(b, chromedp.Evaluate[string](button)); err != nil || got != "2 new messages ↓ in sight" {
			t.Errorf("at %d px, scrolled up as 2 messages came: the button is %q (%v)", width, got, err)
		}
		if width == 1280 {
			checkAccessibility(t, b, "a conversation with new messages below")
			apptest.Screenshot(t, b, "waiting")
		}
		must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#to-newest`))))
		waitFor(t, b, lastInSight+` && document.getElementById("to-newest").hidden && document.activeElement.matches("#messages > li.msg:last-child")`)
	}

	// Up again: the count starts anew; scrolled down by hand, the button
	// goes too.
	if _, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelector(".conversation").scrollTop = 0`)); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, th.ID, "One more thing.")
	waitFor(t, b, `!document.getElementById("to-newest").hidden`)
	if got, err := chromedp.Run(b, chromedp.Evaluate[string](button)); err != nil || got != "1 new message ↓ in sight" {
		t.Errorf("scrolled up again as a message came: the button is %q (%v)", got, err)
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelector(".conversation").scrollTop = 1e6`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, `document.getElementById("to-newest").hidden`)

	apptest.MustSend(t, bob, th.ID, "And the slides.")
	waitFor(t, b, `[...document.querySelectorAll("#messages .bubble")].some((m) => m.textContent === "And the slides.") && `+lastInSight)
	if got, err := chromedp.Run(b, chromedp.Evaluate[string](button)); err != nil || got != "" {
		t.Errorf("at the newest, a message that came shows the button %q (%v)", got, err)
	}
}

// The newest message, in sight at the foot of the conversation, stays so
// as it grows: reacted to, its reactions show under it, and edited longer,
// its new words, without the member scrolling.
func TestMessenger_Browser_TheNewestStaysInSightAsItGrows(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	for i := range 30 {
		apptest.MustSend(t, alice, th, fmt.Sprintf("line %d", i+1))
	}
	newest := apptest.MustSend(t, bob, th, "the newest")
	b := liveThread(t, env.URL, th, "bob")
	must(t, chromedp.Do(b, chromedp.EmulateViewport(375, 700)))
	evaluate[bool](t, b, `(document.querySelector(".conversation").scrollTop = 1e9, true)`)
	// below is how far the newest message's foot is below the pane's.
	const below = `(() => {
		const pane = document.querySelector(".conversation").getBoundingClientRect();
		return [...document.querySelectorAll("#messages > li.msg")].at(-1).getBoundingClientRect().bottom - pane.bottom;
	})()`

	_, err := alice.React(ctx, newest.ID, "❤️")
	must(t, err)
	waitFor(t, b, `!!document.querySelector("#m31 .chip")`)
	if px := evaluate[float64](t, b, below); px > 1 {
		t.Errorf("reacted to, the newest message's foot is %.0f px below the conversation's", px)
	}
	_, err = bob.EditMessage(ctx, newest.ID, strings.Repeat("the newest, now much longer, ", 12))
	must(t, err)
	waitFor(t, b, `document.querySelector("#m31 .bubble").textContent.includes("much longer")`)
	if px := evaluate[float64](t, b, below); px > 1 {
		t.Errorf("edited longer, the newest message's foot is %.0f px below the conversation's", px)
	}
}
