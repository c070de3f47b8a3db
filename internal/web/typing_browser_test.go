package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_Typing: while a member writes, the other's page
// says so under the messages, and in the inbox in place of the chat's last
// message; it stops saying so when their message comes,
// and a few seconds after they stop writing without sending. The writer's
// own page says nothing of it.
func TestMessenger_Browser_Typing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "are you there?")
	a, b := liveThread(t, env.URL, th.ID, "alice"), liveThread(t, env.URL, th.ID, "bob")
	typingLine := func(want string) string { return `document.getElementById("typing").textContent === ` + jsString(want) }

	preview := `document.querySelector("#inbox .preview").textContent`
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(`#text`), "yes, I")))
	waitFor(t, b, typingLine("\u2068Member alice\u2069 is typing…")+` && `+preview+` === "typing…"`)
	apptest.Screenshot(t, b, "typing")
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(`#text`), " am"), pressEnter(`#text`)))
	// Gone as the message shows, not seconds later; the inbox shows the
	// message.
	waitFor(t, b, bubbleCount("yes, I am", 1))
	waitFor(t, b, preview+` !== "typing…"`)
	for who, page := range map[string]context.Context{"bob": b, "alice": a} {
		if got, err := chromedp.Run(page, chromedp.Evaluate[string](`document.getElementById("typing").textContent`)); err != nil || got != "" {
			t.Errorf("%s's page says %q (%v) once the message shows", who, got, err)
		}
	}

	// Written, then left unsent: the line goes after a few seconds.
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(`#text`), "one more")))
	waitFor(t, b, typingLine("\u2068Member alice\u2069 is typing…"))
	waitFor(t, b, typingLine(""))
}
