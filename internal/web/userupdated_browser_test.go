package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_NewNameShowsAtOnce: a member who takes a new
// display name shows by it at once on the open pages of those who talk
// with them: in the inbox, the conversation's head and its messages.
func TestMessenger_Browser_NewNameShowsAtOnce(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "hello")
	apptest.MustSend(t, alice, th.ID, "hi")
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+th.ID), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if _, err := bob.SetDisplayName(context.Background(), "Robert"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, `document.querySelector("#thread-head h1").textContent === "Robert" &&
		document.querySelector("#inbox .tname").textContent === "Robert" &&
		document.querySelector("#messages li.msg:not(.mine) .who").textContent === "Robert"`)
}
