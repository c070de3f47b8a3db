package web_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_ReplyToAMessage: Reply sits beside each message,
// in sight at a desktop's width and a phone's; it shows the message above
// the field, with the cursor in the field, and Escape or × take it away.
// The message sent shows what it answers atop its text, live on the other
// member's page, which tells screen readers the reply alone; the quote
// goes to the message it answers, and shows it as it now is once edited.
func TestMessenger_Browser_ReplyToAMessage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	asked := apptest.MustSend(t, bob, th.ID, "dinner at 8? There is a new place by the river we could try, if you like fish")
	apptest.MustSend(t, alice, th.ID, "let me check")
	a, b := liveThread(t, env.URL, th.ID, "alice"), liveThread(t, env.URL, th.ID, "bob")

	// Reply beside bob's message, after it, and beside alice's own, before
	// Edit (above it, on a phone), each in sight.
	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(a, chromedp.EmulateViewport(width, 800)))
		if got, err := chromedp.Run(a, chromedp.Evaluate[[]float64](`(() => {
			const box = (css) => document.querySelector(css).getBoundingClientRect();
			const theirs = box("#m1 .reply"), bubble = box("#m1 .bubble"), mine = box("#m2 .reply"), edit = box("#m2 .edit summary");
			return [theirs.left - bubble.right, theirs.right, Math.min(mine.right - edit.left, mine.bottom - edit.top), theirs.width, theirs.height];
		})()`)); err != nil || got[0] < 0 || got[1] > float64(width) || got[2] > 0 || got[3] < 24 || got[4] < 24 {
			t.Errorf("at %d px, Reply (bob's after his bubble, in the page, alice's before or above Edit, its width and height) = %v (%v)", width, got, err)
		}
	}
	must(t, chromedp.Do(a, chromedp.EmulateViewport(1280, 800)))

	replying := `!document.getElementById("replying").hidden`
	open := func() {
		t.Helper()
		must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m1 .reply`))))
		waitFor(t, a, replying+` && document.activeElement === document.getElementById("text")`)
	}
	open()
	// Read out as a sentence: the quote's parts show on lines of their own.
	if got, err := chromedp.Run(a, chromedp.Evaluate[string](`document.querySelector("#replying .quote").textContent`)); err != nil ||
		got != "Replying to Member bob: "+asked.Text {
		t.Errorf("the field answers %q (%v)", got, err)
	}
	apptest.Screenshot(t, a, "reply-open")
	checkAccessibility(t, a, "a reply being written")
	must(t, chromedp.Do(a, chromedp.KeyEvent("\x1b")))
	waitFor(t, a, `document.getElementById("replying").hidden && document.querySelector("[name=reply_to]").value === ""`)
	open()
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#replying .unreply`))))
	waitFor(t, a, `document.getElementById("replying").hidden && document.activeElement === document.getElementById("text")`)
	if loc := location(t, a); loc.Path != "/t/"+th.ID || loc.RawQuery != "" {
		t.Fatalf("× went to %s, want the page to stay", loc)
	}

	open()
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(`#text`), "yes, at 8"), pressEnter(`#text`)))
	quoted := `(document.querySelector("#m3 .quote .qtext") || {}).textContent === `
	for who, page := range map[string]context.Context{"alice": a, "bob": b} {
		waitFor(t, page, quoted+jsString(asked.Text))
		if got := text(t, page, `#m3 .quote .qwho`); got != map[string]string{"alice": "Member bob", "bob": "You"}[who] {
			t.Errorf("%s's page quotes message 1 as %q's", who, got)
		}
	}
	waitFor(t, a, `document.getElementById("replying").hidden && document.querySelector("[name=reply_to]").value === ""`)
	waitFor(t, b, `document.getElementById("heard").textContent === "Member alice: yes, at 8"`)
	apptest.Screenshot(t, b, "reply-sent")
	apptest.Screenshot(t, a, "reply-sent-mine")
	checkAccessibility(t, a, "a reply, quoting another's message in one's own bubble")
	checkAccessibility(t, b, "a reply, quoting one's own message in another's bubble")
	// A short reply is not as wide as the quote's line would make it.
	if got, err := chromedp.Run(a, chromedp.Evaluate[float64](`document.querySelector("#m3 .bubble").getBoundingClientRect().width`)); err != nil || got > 260 {
		t.Errorf("the reply's bubble is %v px wide (%v), want it near its quote's 12rem", got, err)
	}
	// And the quote stays in it, beside one's own message's four actions
	// on a phone too.
	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(a, chromedp.EmulateViewport(width, 800)))
		if got, err := chromedp.Run(a, chromedp.Evaluate[float64](`document.querySelector("#m3 .bubble").getBoundingClientRect().right - document.querySelector("#m3 .quote").getBoundingClientRect().right`)); err != nil || got < 0 {
			t.Errorf("at %d px the quote ends %v px inside its bubble's right edge (%v), want it inside", width, got, err)
		}
	}
	must(t, chromedp.Do(a, chromedp.EmulateViewport(1280, 800)))

	// The quote goes to the message it answers, on the page.
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m3 .quote`))))
	waitFor(t, b, `document.activeElement === document.getElementById("m1")`)
	if loc := location(t, b); loc.RawQuery != "" {
		t.Errorf("the quote went to %s, want the page to stay", loc)
	}
	// And shows the message as it now is.
	if _, err := bob.EditMessage(context.Background(), asked.ID, "dinner at 9?"); err != nil {
		t.Fatal(err)
	}
	for _, page := range []context.Context{a, b} {
		waitFor(t, page, quoted+jsString("dinner at 9?"))
	}

	// The field answering a message follows its edit, and its deletion,
	// which ends the answer and says so.
	open()
	if _, err := bob.EditMessage(context.Background(), asked.ID, "dinner at 10?"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a, `document.querySelector("#replying .qtext").textContent === "dinner at 10?"`)
	if err := bob.DeleteMessage(context.Background(), asked.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a, `document.getElementById("replying").hidden && document.querySelector("[name=reply_to]").value === "" && !document.getElementById("text").hasAttribute("aria-describedby")`)
	waitFor(t, a, `document.getElementById("live").textContent === "The message you were answering was deleted."`)
}

// TestMessenger_Browser_ReplyFromTheAddress: a page loaded to answer a
// message (?reply=, Reply without the script) describes its field with
// the quote, and drops ?reply= from the address, so that a reload after
// the message is sent does not answer it again.
func TestMessenger_Browser_ReplyFromTheAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "dinner?")
	a := apptest.Chromium(t)
	signInBrowser(t, a, env.URL, "alice")
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/t/"+th.ID+"?reply=1"), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, a, `document.body.dataset.live === "open" && !document.getElementById("replying").hidden`)
	if got, err := chromedp.Run(a, chromedp.Evaluate[string](`document.getElementById("text").getAttribute("aria-describedby")`)); err != nil || got != "reply-quote" {
		t.Errorf("the field is described by %q (%v), want the quote", got, err)
	}
	if loc := location(t, a); loc.RawQuery != "" {
		t.Errorf("the page's address is %s, want no ?reply=", loc)
	}
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(`#text`), "yes"), pressEnter(`#text`)))
	waitFor(t, a, `!!document.querySelector("#m2 .quote")`)
	must(t, chromedp.Do(a, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	if got, err := chromedp.Run(a, chromedp.Evaluate[bool](`document.getElementById("replying").hidden`)); err != nil || !got {
		t.Errorf("after a reload the page answers message 1 again (%v)", err)
	}
}

// TestMessenger_Browser_AFailedReplyKeepsItsAnswer: messages that could
// not be sent wait under the messages, each with the quote of what it
// answers, the field free meanwhile, and once the network is back they go
// as they were: the reply, and the message that answers nothing.
func TestMessenger_Browser_AFailedReplyKeepsItsAnswer(t *testing.T) {
	t.Parallel()
	// The page reaches the server through the proxy that cuts the network,
	// and behind it the one that holds a send on its way to the server
	// (delay), which never reaches it once the network is cut.
	env, cut, hold := behindCutAndHold(t, apptest.Unlimited)
	hold.mu.Lock()
	hold.delay = time.Minute
	hold.mu.Unlock()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "dinner?")
	a := liveThread(t, cut.URL, th.ID, "alice")

	// The first message, a reply, is on its way; the second, which
	// answers nothing, waits behind it; then the network drops.
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m1 .reply`))))
	waitFor(t, a, `!document.getElementById("replying").hidden`)
	writeAndSend(t, a, "yes")
	waitFor(t, a, `document.getElementById("replying").hidden`)
	writeAndSend(t, a, "at 8")
	cut.down()
	waitFor(t, a, `document.getElementById("live").textContent.startsWith("You are offline") && document.querySelectorAll("#outbox li").length === 2`)
	if got, want := evaluate[[]string](t, a, `[...document.querySelectorAll("#outbox .bubble")].map((b) => b.querySelector(".qtext")?.textContent || "")`), []string{"dinner?", ""}; !slices.Equal(got, want) {
		t.Errorf("the messages not sent quote %q, want %q", got, want)
	}
	if free := evaluate[bool](t, a, `document.getElementById("text").value === "" && document.getElementById("replying").hidden`); !free {
		t.Error("with the messages not sent, the field is not free for the next")
	}
	apptest.Screenshot(t, a, "reply-not-sent-yet")
	// Neither reached the server.
	if page, err := alice.Messages(context.Background(), th.ID, client.MessagesQuery{}); err != nil || len(page.Messages) != 1 {
		t.Fatalf("with the network cut, the server holds more than bob's message (%v)", err)
	}

	// Sent again once the network is back, they are the reply they were.
	hold.mu.Lock()
	hold.delay = 0
	hold.mu.Unlock()
	cut.up()
	waitFor(t, a, `(document.querySelector("#m2 .quote .qtext") || {}).textContent === "dinner?" &&
		!!document.getElementById("m3") && document.querySelectorAll("#outbox li").length === 0`)
	page, err := alice.Messages(context.Background(), th.ID, client.MessagesQuery{})
	must(t, err)
	var got []string
	for _, m := range page.Messages {
		got = append(got, fmt.Sprintf("%d %q answers %d", m.Seq, m.Text, m.ReplyToSeq))
	}
	if want := []string{`1 "dinner?" answers 0`, `2 "yes" answers 1`, `3 "at 8" answers 0`}; !slices.Equal(got, want) {
		t.Errorf("sent again, the server holds %q, want %q", got, want)
	}
}
