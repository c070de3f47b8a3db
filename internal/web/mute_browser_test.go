package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_MutedChat: a muted chat's head shows its mark in
// sight beside its name, however long, at a desktop's width and a phone's,
// and the tab keeps the chat's name as its title; and on a page of older
// chats, where a chat that has a new message is not listed, the page still
// tells a muted chat's message from another's: none for the muted one, a
// notification naming the group for the other.
func TestMessenger_Browser_MutedChat(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	on := true
	group := func(title string) string {
		t.Helper()
		g, err := bob.CreateThread(ctx, client.NewThread{Participants: []string{"alice"}, Title: title, Kind: client.ThreadGroup})
		if err != nil {
			t.Fatal(err)
		}
		return g.ID
	}
	long := strings.TrimSpace(strings.Repeat("Weekend plans ", 9))
	muted, other := group(long), group("Not muted")
	if _, err := alice.UpdateThread(ctx, muted, client.ThreadUpdate{Muted: &on}); err != nil {
		t.Fatal(err)
	}
	for i := range 201 { // the two above on a page of older chats
		group(fmt.Sprintf("Group %d", i))
	}

	a := apptest.Chromium(t)
	allowNotifications(t, a, env.URL)
	signInBrowser(t, a, env.URL, "alice")

	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(a, chromedp.EmulateViewport(width, 800), chromedp.Navigate(env.URL+"/t/"+muted), chromedp.WaitVisible(chromedp.CSS(`#thread-head`))))
		waitFor(t, a, `document.body.dataset.live === "open"`)
		inSight, err := chromedp.Run(a, chromedp.Evaluate[bool](`(() => {
			const m = document.querySelector("#thread-head .muted-mark").getBoundingClientRect(), h = document.getElementById("thread-head").getBoundingClientRect();
			return m.width > 0 && m.left >= 0 && m.right <= innerWidth && m.top >= h.top && m.bottom <= h.bottom;
		})()`))
		if err != nil || !inSight {
			t.Errorf("at %d px, the muted mark of a chat with a long name is out of sight (%v)", width, err)
		}
		if got, err := chromedp.Run(a, chromedp.Evaluate[string](`document.title`)); err != nil || got != long+" · Parley" {
			t.Errorf("at %d px, the muted chat's tab, live, is titled %q (%v)", width, got, err)
		}
	}
	apptest.Screenshot(t, a, "muted-long-name")

	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(chromedp.CSS(`#notify-toggle`))))
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#notify-toggle`))))
	waitFor(t, a, `document.getElementById("notify-state").textContent === "On in this browser."`)
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
	older, err := chromedp.Run(a, chromedp.Evaluate[string](`document.querySelector('#inbox a[href^="/?chats="]')?.getAttribute("href") ?? ""`))
	if err != nil || older == "" {
		t.Fatalf("the inbox links to no older chats (%v)", err)
	}
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+older), chromedp.WaitVisible(chromedp.CSS(`#inbox li.muted`))))
	waitFor(t, a, `document.body.dataset.live === "open"`)
	_, err = chromedp.Run(a, chromedp.Evaluate[bool](`window.shown = []; window.Notification = class extends Notification {
		constructor(title, options) { super(title, options); window.shown.push(title); }
	}; true`))
	must(t, err)
	apptest.MustSend(t, bob, muted, "in the muted chat")
	apptest.MustSend(t, bob, other, "in the other")
	waitFor(t, a, `window.shown.length > 0`)
	// One more, after which a notification of the muted chat's, had there
	// been one, has come.
	apptest.MustSend(t, bob, other, "again in the other")
	waitFor(t, a, `window.shown.length > 1`)
	if got, err := chromedp.Run(a, chromedp.Evaluate[[]string](`window.shown`)); err != nil || unmarked(strings.Join(got, ", ")) != "Member bob in Not muted, Member bob in Not muted" {
		t.Errorf("on a page of older chats the page showed %q (%v), want only the other chat's two messages, named", got, err)
	}
}
