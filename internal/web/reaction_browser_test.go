package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_React: the smiley beside a message opens the six
// reactions above it, in sight at a desktop's width and a phone's, with
// focus on the first; one pressed shows under the message, counted, on
// both members' pages live, without leaving the page; the other member
// gives the same from under the message, and a member takes theirs back
// there, focus staying where it was. Escape and a click elsewhere close
// the six.
func TestMessenger_Browser_React(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "dinner at 8?")
	apptest.MustSend(t, alice, th.ID, "yes, see you there")
	a, b := liveThread(t, env.URL, th.ID, "alice"), liveThread(t, env.URL, th.ID, "bob")
	open := func(page context.Context, seq int) {
		t.Helper()
		must(t, chromedp.Do(page, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#m%d .react summary`, seq)))))
		waitFor(t, page, fmt.Sprintf(`document.activeElement === document.querySelector("#m%d .react .pick")`, seq))
	}
	// chips is how a message's reactions read: "❤️ 1 mine".
	chips := func(seq int) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#m%d .chip")].map((c) => c.textContent + (c.getAttribute("aria-pressed") === "true" ? " mine" : "")).join(", ")`, seq)
	}

	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(a, chromedp.EmulateViewport(width, 800)))
		for _, seq := range []int{1, 2} {
			bubble := fmt.Sprintf(`JSON.stringify(document.querySelector("#m%d .bubble").getBoundingClientRect())`, seq)
			before, err := chromedp.Run(a, chromedp.Evaluate[string](bubble))
			must(t, err)
			open(a, seq)
			if got, err := chromedp.Run(a, chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
				const r = document.querySelector("#m%d .react form").getBoundingClientRect(), pane = document.querySelector(".conversation").getBoundingClientRect();
				return [r.left, r.right, r.top - pane.top, r.height];
			})()`, seq))); err != nil || got[0] < 0 || got[1] > float64(width) || got[2] < 0 || got[3] < 30 {
				t.Errorf("at %d px message %d's reactions (left, right, top below the conversation's, height) = %v (%v), want them in sight", width, seq, got, err)
			}
			// They open over the messages, moving none.
			if after, err := chromedp.Run(a, chromedp.Evaluate[string](bubble)); err != nil || after != before {
				t.Errorf("at %d px opening message %d's reactions moved its bubble from %s to %s (%v)", width, seq, before, after, err)
			}
			// Escape closes them, back to the smiley.
			must(t, chromedp.Do(a, chromedp.KeyEvent("\x1b")))
			waitFor(t, a, fmt.Sprintf(`!document.querySelector("#m%d .react").open && document.activeElement === document.querySelector("#m%[1]d .react summary")`, seq))
		}
	}
	must(t, chromedp.Do(a, chromedp.EmulateViewport(1280, 800)))
	// A click elsewhere closes them too.
	open(a, 1)
	apptest.Screenshot(t, a, "react-open")
	checkAccessibility(t, a, "a message's reactions, open")
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#thread-head h1`))))
	waitFor(t, a, `!document.querySelector("#m1 .react").open`)

	// alice gives ❤️; both pages show it, hers as her own.
	path := location(t, a).Path
	open(a, 1)
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m1 .react .pick[title="Heart"]`))))
	waitFor(t, a, chips(1)+` === "❤️ 1 mine" && !document.querySelector("#m1 .react").open && document.activeElement === document.querySelector("#m1 .react summary")`)
	waitFor(t, a, `document.getElementById("heard").textContent === "Reaction given."`)
	waitFor(t, b, chips(1)+` === "❤️ 1"`)
	if got := location(t, a).Path; got != path {
		t.Errorf("reacting took the page from %s to %s", path, got)
	}
	// bob gives the same from under the message, and keeps his focus there.
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .chip`))))
	waitFor(t, b, chips(1)+` === "❤️ 2 mine" && document.activeElement === document.querySelector("#m1 .chip")`)
	waitFor(t, a, chips(1)+` === "❤️ 2 mine"`)
	if got, err := chromedp.Run(b, chromedp.Evaluate[string](`document.querySelector("#m1 .chip").getAttribute("aria-label")`)); err != nil || got != "Heart, 2: Member alice and you" {
		t.Errorf("bob's reaction is read out as %q (%v)", got, err)
	}
	open(a, 2)
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m2 .react .pick[title="Laughing"]`))))
	waitFor(t, b, chips(2)+` === "😂 1"`)
	apptest.Screenshot(t, b, "reactions")
	checkAccessibility(t, b, "messages with reactions")

	// alice takes hers back from under the message.
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m1 .chip`))))
	waitFor(t, a, chips(1)+` === "❤️ 1" && document.getElementById("heard").textContent === "Reaction taken back."`)
	waitFor(t, b, chips(1)+` === "❤️ 1 mine"`)
	// bob takes his back too: the message has none left.
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .chip`))))
	waitFor(t, a, chips(1)+` === ""`)

	// While alice chooses, bob's reaction to the same message leaves her
	// six open; it shows once she closes them.
	open(a, 1)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .react summary`)), chromedp.Click(chromedp.CSS(`#m1 .react .pick[title="Sad"]`))))
	waitFor(t, b, chips(1)+` === "😢 1 mine"`)
	must(t, chromedp.Do(a, chromedp.Sleep(300*time.Millisecond)))
	waitFor(t, a, `document.querySelector("#m1 .react").open && document.activeElement === document.querySelector("#m1 .react .pick")`)
	must(t, chromedp.Do(a, chromedp.KeyEvent("\x1b")))
	waitFor(t, a, chips(1)+` === "😢 1"`)
}

// TestMessenger_Browser_ReactAtTheTop: the six of a message at the top of
// the conversation's sight open under it, where above it they would be
// cut off.
func TestMessenger_Browser_ReactAtTheTop(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := range 30 {
		apptest.MustSend(t, bob, th.ID, fmt.Sprint("line ", i))
	}
	a := liveThread(t, env.URL, th.ID, "alice")
	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(a, chromedp.EmulateViewport(width, 800)))
		if _, err := chromedp.Run(a, chromedp.Evaluate[int](`document.querySelector(".conversation").scrollTop = 0`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, a, `document.querySelector("#m1").getBoundingClientRect().top - document.querySelector(".conversation").getBoundingClientRect().top < 80`)
		must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m1 .react summary`))))
		waitFor(t, a, `document.querySelector("#m1 .react").open`)
		// In sight once the page settles: just after the window's size
		// changed, and the message was shown anew on the six's closing at
		// the other width, the conversation may still move a moment.
		inSight := func() ([]float64, error) {
			return chromedp.Run(a, chromedp.Evaluate[[]float64](`(() => {
				const r = document.querySelector("#m1 .react form").getBoundingClientRect(), pane = document.querySelector(".conversation").getBoundingClientRect();
				return [r.top - pane.top, pane.bottom - r.bottom];
			})()`))
		}
		got, err := inSight()
		for deadline := time.Now().Add(time.Second); err == nil && (got[0] < 0 || got[1] < 0) && time.Now().Before(deadline); got, err = inSight() {
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil || got[0] < 0 || got[1] < 0 {
			t.Errorf("at %d px the top message's six (top below the conversation's, bottom above its) = %v (%v), want them in sight", width, got, err)
		}
		if width == 375 {
			apptest.Screenshot(t, a, "react-at-the-top")
		}
		must(t, chromedp.Do(a, chromedp.KeyEvent("\x1b")))
		waitFor(t, a, `!document.querySelector("#m1 .react").open`)
	}
}
