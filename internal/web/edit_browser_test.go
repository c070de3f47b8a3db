package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_EditAMessage: Edit opens a field under the
// message holding its text, wide enough to write in at a desktop's width
// and a phone's; Enter saves it, and the message changes in place, marked
// edited, on the page and on the other member's, live; Escape and Cancel
// leave the message as it was. A message the member is editing is not replaced
// under their hands by another device's edit, which shows once they close
// the field.
func TestMessenger_Browser_EditAMessage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "when do we meet?")
	mine := apptest.MustSend(t, alice, th.ID, "see you at 8")
	a, b := liveThread(t, env.URL, th.ID, "alice"), liveThread(t, env.URL, th.ID, "bob")
	field := `#m2 .edit textarea`

	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m2 .edit summary`))))
	waitFor(t, a, `document.activeElement === document.querySelector("#m2 .edit textarea")`)
	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(a, chromedp.EmulateViewport(width, 800)))
		if got, err := chromedp.Run(a, chromedp.Evaluate[[]float64](`(() => {
			const f = document.querySelector("#m2 .edit textarea"), r = f.getBoundingClientRect(), b = document.querySelector("#m2 .bubble").getBoundingClientRect();
			return [f.value === "see you at 8" && f.selectionStart === f.value.length ? 1 : 0, r.width, r.left, r.right, b.bottom - r.top];
		})()`)); err != nil || got[0] != 1 || got[1] < 240 || got[2] < 0 || got[3] > float64(width) || got[4] > 0 {
			t.Errorf("at %d px the open field (holds the text, cursor at its end; width, left, right; bubble's bottom over its top) = %v (%v), want the text, in sight, at least 240 px wide, under the bubble", width, got, err)
		}
	}
	apptest.Screenshot(t, a, "edit-open")
	checkAccessibility(t, a, "a message being edited")
	// Escape leaves it as it was.
	must(t, chromedp.Do(a, chromedp.Focus(chromedp.CSS(field)), chromedp.SendKeys(chromedp.CSS(field), " or 9"), chromedp.KeyEvent("\x1b")))
	closed := `!document.querySelector("#m2 .edit").open && document.activeElement === document.querySelector("#m2 .edit summary")`
	waitFor(t, a, closed)
	// So does Cancel, and the field opens again with the text as it is.
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m2 .edit summary`))))
	waitFor(t, a, `document.querySelector("#m2 .edit textarea").value === "see you at 8"`)
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(field), " or 10"), chromedp.Click(chromedp.CSS(`#m2 .edit .cancel`))))
	waitFor(t, a, closed)
	if n := count(t, a, "see you at 8"); n != 1 || location(t, a).Path != "/t/"+th.ID {
		t.Fatalf("after Escape and Cancel the message shows %d times as it was, want once, on the same page (%s)", n, location(t, a))
	}

	// Bob's device edits nothing; Alice's edit, saved with Enter.
	must(t, chromedp.Do(a, chromedp.EmulateViewport(1280, 800), chromedp.Click(chromedp.CSS(`#m2 .edit summary`))))
	waitFor(t, a, `document.activeElement === document.querySelector("#m2 .edit textarea")`)
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(field), " or 9"), pressEnter(field)))
	for _, page := range []context.Context{a, b} {
		waitFor(t, page, bubbleCount("see you at 8 or 9", 1)+` && !!document.querySelector("#m2 .edited")`)
	}
	waitFor(t, a, `document.getElementById("heard").textContent === "Message edited." && document.activeElement === document.querySelector("#m2 .edit summary")`)
	apptest.Screenshot(t, b, "edited")

	// Edited from another device while the field is open here: the field
	// stays as the member left it.
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m2 .edit summary`))))
	waitFor(t, a, `document.activeElement === document.querySelector("#m2 .edit textarea")`)
	must(t, chromedp.Do(a, chromedp.SendKeys(chromedp.CSS(field), "!")))
	if _, err := alice.EditMessage(context.Background(), mine.ID, "from the phone"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, bubbleCount("from the phone", 1))
	if got, err := chromedp.Run(a, chromedp.Evaluate[string](`document.querySelector("#m2 .edit").open ? document.querySelector("#m2 .edit textarea").value : "closed"`)); err != nil || got != "see you at 8 or 9!" {
		t.Errorf("the open field, edited from another device meanwhile, holds %q (%v)", got, err)
	}
	// Closed unsaved, it shows the message as the other device left it.
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#m2 .edit .cancel`))))
	waitFor(t, a, bubbleCount("from the phone", 1))
}
