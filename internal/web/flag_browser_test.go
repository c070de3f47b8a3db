package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_Report: the flag beside another's message opens
// the report's form under it, in sight at a desktop's width and a
// phone's, with focus on the first reason; Escape and Cancel close it.
// Sent, it closes without leaving the page, and the status line says so;
// the other member's message changing meanwhile leaves the form as it
// is. An operator then finds the report on their page.
func TestMessenger_Browser_Report(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	env.MustMember(t, "olga")
	mustOperator(t, env, "olga")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	rude := apptest.MustSend(t, alice, th.ID, "you will regret this, and everyone will know what you did last summer")
	apptest.MustSend(t, bob, th.ID, "what do you mean?")
	b := liveThread(t, env.URL, th.ID, "bob")
	open := func() {
		t.Helper()
		must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .report summary`))))
		waitFor(t, b, `document.activeElement === document.querySelector("#m1 .report input[value=spam]")`)
	}
	apptest.Screenshot(t, b, "report-beside")
	if n, err := chromedp.Run(b, chromedp.Evaluate[int](`document.querySelectorAll("#m2 .report").length`)); err != nil || n != 0 {
		t.Errorf("bob's own message offers %d reports (%v)", n, err)
	}

	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800)))
		open()
		if got, err := chromedp.Run(b, chromedp.Evaluate[[]float64](`(() => {
			const f = document.querySelector("#m1 .report form").getBoundingClientRect(), bubble = document.querySelector("#m1 .bubble").getBoundingClientRect();
			return [f.left, f.right, f.top - bubble.bottom, f.height];
		})()`)); err != nil || got[0] < 0 || got[1] > float64(width) || got[2] < 0 || got[3] < 100 {
			t.Errorf("at %d px the report's form (left, right, top below the bubble's bottom, height) = %v (%v), want it under the message, in sight", width, got, err)
		}
		if width == 1280 {
			checkAccessibility(t, b, "a message's report, open")
		}
		must(t, chromedp.Do(b, chromedp.KeyEvent("\x1b")))
		waitFor(t, b, `!document.querySelector("#m1 .report").open && document.activeElement === document.querySelector("#m1 .report summary")`)
	}
	must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))
	open()
	apptest.Screenshot(t, b, "report-open")
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .report .cancel`))))
	waitFor(t, b, `!document.querySelector("#m1 .report").open`)

	// alice reacts to the message while bob writes his report: the form
	// stays, and the message shows her reaction once it closes.
	path := location(t, b).Path
	open()
	must(t, chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`#m1 .report input[value=abuse]`)),
		chromedp.SendKeys(chromedp.CSS(`#m1 .report textarea`), "a threat"),
	))
	if _, err := alice.React(context.Background(), rude.ID, "😂"); err != nil {
		t.Fatal(err)
	}
	must(t, chromedp.Do(b, chromedp.Sleep(300*time.Millisecond)))
	waitFor(t, b, `document.querySelector("#m1 .report").open && document.querySelector("#m1 .report textarea").value === "a threat"`)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .report button[type=submit]`))))
	waitFor(t, b, `document.getElementById("live").textContent.startsWith("Reported.") && !document.querySelector("#m1 .report").open`)
	apptest.Screenshot(t, b, "reported")
	waitFor(t, b, `document.querySelector("#m1 .chip")?.textContent === "😂 1"`)
	if got := location(t, b).Path; got != path {
		t.Errorf("reporting took the page from %s to %s", path, got)
	}
	f, err := bob.Flag(context.Background(), rude.ID)
	if err != nil || f.Reason != "abuse" || f.Note != "a threat" {
		t.Fatalf("bob's report = %+v, %v", f, err)
	}

	o := apptest.Chromium(t)
	must(t, chromedp.Do(o,
		chromedp.Navigate(env.URL+"/sign-in?next=/operator/reports"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "olga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apptest.Password("olga")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`article.reported`)),
	))
	if got := text(t, o, `article.reported blockquote`); !strings.Contains(got, "you will regret this") {
		t.Errorf("the operator reads %q, want the message as it was reported", got)
	}
	apptest.Screenshot(t, o, "operator-reports")
	checkAccessibility(t, o, "operator's reports")
}
