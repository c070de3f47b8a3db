package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_UnreadMark: at a desktop's width and a phone's, a
// conversation opened with more new messages than fit below their mark
// shows the mark at the top, with the first of them under it; with few,
// the newest at the bottom, the mark in sight above them.
func TestMessenger_Browser_UnreadMark(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "Are we still on for the weekend?")
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")

	// where says where the mark and the last message are in the pane:
	// "top" for the mark at its top, "in" for either within it, "below"
	// for the last message under its bottom.
	const where = `(() => {
		const pane = document.querySelector(".conversation").getBoundingClientRect();
		const mark = document.getElementById("unread").getBoundingClientRect();
		const msgs = document.querySelectorAll("#messages > li.msg"), last = msgs[msgs.length - 1].getBoundingClientRect();
		const at = (r) => Math.abs(r.top - pane.top) <= 1 ? "top" : r.top >= pane.top && r.bottom <= pane.bottom + 1 ? "in" : r.top >= pane.bottom ? "below" : "above";
		return at(mark) + " " + at(last);
	})()`
	for _, width := range []int64{1280, 375} {
		leave(t, b)
		for i := range 30 {
			apptest.MustSend(t, bob, th.ID, fmt.Sprintf("Here is what I found about the trip, part %d: the train leaves at nine and the tickets are cheaper online.", i))
		}
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800), chromedp.Navigate(env.URL+"/t/"+th.ID),
			chromedp.WaitVisible(chromedp.CSS(`#unread`))))
		if got, err := chromedp.Run(b, chromedp.Evaluate[string](where)); err != nil || got != "top below" {
			t.Errorf("at %d px, 30 new messages: the mark and the last message are %q (%v), want the mark at the top", width, got, err)
		}
	}
	apptest.Screenshot(t, b, "many")

	for _, width := range []int64{1280, 375} {
		leave(t, b)
		apptest.MustSend(t, bob, th.ID, "So, Saturday?")
		apptest.MustSend(t, bob, th.ID, "Tell me by tonight.")
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800), chromedp.Navigate(env.URL+"/t/"+th.ID),
			chromedp.WaitVisible(chromedp.CSS(`#unread`))))
		if got, err := chromedp.Run(b, chromedp.Evaluate[string](where)); err != nil || got != "in in" {
			t.Errorf("at %d px, 2 new messages: the mark and the last message are %q (%v), want both in sight", width, got, err)
		}
	}
	checkAccessibility(t, b, "a conversation with new messages")
	apptest.Screenshot(t, b, "few")

	// Opened again: all read, no mark.
	must(t, chromedp.Do(b, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	if got, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.getElementById("unread") === null`)); err != nil || !got {
		t.Errorf("opened again, the conversation still marks new messages (%v)", err)
	}
}

// leave takes the browser off the conversation, so that what is sent next
// arrives unread: a conversation open in view marks each message read as
// it comes.
func leave(t *testing.T, b context.Context) {
	t.Helper()
	must(t, chromedp.Do(b, chromedp.Navigate("about:blank")))
}
