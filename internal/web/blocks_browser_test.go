package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_Block: Alice blocks Bob from their conversation's
// Manage menu, after the Block there asks her to confirm; her page and
// Bob's, open at the same time, lose their field to write in and the Edit
// beside their messages, and say why, each in its own words, and get both
// back when she unblocks him. Her friends page lists him as blocked
// meanwhile, beside a request she may accept, decline or block.
func TestMessenger_Browser_Block(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "hello alice")
	apptest.MustSend(t, alice, th, "hi bob")
	carol := env.MustMember(t, "carol")
	if _, err := carol.AddFriend(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}

	a, b := apptest.Chromium(t), apptest.Chromium(t)
	signInBrowser(t, a, env.URL, "alice")
	signInBrowser(t, b, env.URL, "bob")
	for _, ctx := range []context.Context{a, b} {
		must(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		waitFor(t, ctx, `document.body.dataset.live === "open"`)
	}

	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#thread-head .manage summary`)), chromedp.Click(chromedp.CSS(`#thread-head .leave summary`))))
	waitFor(t, a, `document.querySelector("#thread-head .leave button.danger").offsetParent !== null`)
	apptest.Screenshot(t, a, "block-confirm")
	checkAccessibility(t, a, "block-confirm")
	submit(t, a, `#thread-head .leave button.danger`, `document.getElementById("blocked") !== null`)
	if got := text(t, a, `#blocked`); got != "You blocked Member bob. To send messages here again, unblock them under Manage." {
		t.Errorf("alice's page says %q", got)
	}
	apptest.Screenshot(t, a, "blocked-by-you")
	checkAccessibility(t, a, "blocked-by-you")

	// Nor may either edit their messages there: Edit goes with the field.
	editShown := `[...document.querySelectorAll("#messages .edit summary")].some((s) => s.offsetParent !== null)`
	waitFor(t, b, `document.getElementById("blocked") !== null && !document.querySelector("#send textarea") && document.body.dataset.live === "open" && !`+editShown)
	waitFor(t, a, `!`+editShown)
	if got := text(t, b, `#blocked`); got != "You can no longer send messages in this chat." {
		t.Errorf("bob's page says %q", got)
	}
	apptest.Screenshot(t, b, "blocked-by-them")

	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/friends"), chromedp.WaitVisible(chromedp.CSS(`#blocked`)), chromedp.WaitVisible(chromedp.CSS(`#incoming summary[aria-label="Block Member carol"]`))))
	apptest.Screenshot(t, a, "friends")
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#incoming .confirm summary`)), chromedp.WaitVisible(chromedp.CSS(`#incoming .confirm button.danger`))))
	if got := text(t, a, `#incoming .confirm`); !strings.Contains(got, "Member carol can no longer send you messages") {
		t.Errorf("Block beside carol's request, opened, says %q", got)
	}
	apptest.Screenshot(t, a, "friends-block-confirm")
	checkAccessibility(t, a, "friends")
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#blocked`))))
	waitFor(t, a, `document.body.dataset.live === "open"`)
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#thread-head .manage summary`))))
	apptest.Screenshot(t, a, "unblock")
	submit(t, a, `#thread-head .manage form[action$="/remove"] button`, `document.querySelector("#send textarea") !== null && `+editShown)
	waitFor(t, b, `document.querySelector("#send textarea") !== null && `+editShown)
}
