package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
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

// TestMessenger_Browser_ConfirmationsHaveACancel: a confirmation, open
// (a message's Delete, Leave this chat, Block in a chat, Remove a friend),
// offers Cancel beside the button that does it, as Edit and Report do, and
// Cancel closes it back to its button, the thing not done; on a phone,
// with no Escape, it is the only way back but tapping the word that opened
// it. Without script Cancel goes back to the page, the confirmation closed.
func TestMessenger_Browser_ConfirmationsHaveACancel(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	direct := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, alice, group, "Noon?")

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, phone))
	for _, c := range []struct{ name, path, ready, open, confirm string }{
		{"a message's Delete", "/t/" + group, `#send`, `#m1 .delete summary`, `#m1 .delete`},
		{"Leave this chat", "/t/" + group, `#send`, `.manage summary, .leave summary`, `.leave`},
		{"Block bob", "/t/" + direct, `#send`, `.manage summary, .leave summary`, `.leave`},
		{"Remove a friend", "/friends", `#friends`, `#friends li:first-child .confirm summary`, `#friends li:first-child .confirm`},
	} {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+c.path), chromedp.WaitVisible(chromedp.CSS(c.ready))))
		for _, summary := range strings.Split(c.open, ", ") {
			must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(summary))))
		}
		must(t, chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(c.confirm+` button.danger`))))
		cancel := c.confirm + ` a.cancel`
		if got, err := chromedp.Run(b, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.getClientRects().length ? document.querySelector(%q).textContent : ""`, cancel, cancel))); err != nil || got != "Cancel" {
			t.Errorf("%s, open, offers %q beside its button (%v), want Cancel", c.name, got, err)
			continue
		}
		apptest.Screenshot(t, b, strings.ReplaceAll(c.name, " ", "-"))
		must(t, chromedp.Do(b, phone))
		must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(cancel))))
		waitFor(t, b, fmt.Sprintf(`!document.querySelector(%q).open && document.activeElement === document.querySelector(%q)`, c.confirm, c.confirm+` > summary`))
		if u := location(t, b); u.Path != c.path {
			t.Errorf("%s's Cancel went to %s", c.name, u)
		}
	}
	if got := text(t, b, `#friends`); !strings.Contains(got, "@bob") {
		t.Errorf("after Cancel, the friends are: %q", got)
	}

	// Without script, Cancel goes back to the page, where it shows closed.
	must(t, chromedp.Do(b, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return err
	})))
	for _, c := range []struct{ path, ready, open, confirm string }{
		{"/friends", `#friends`, `#friends li:first-child .confirm summary`, `#friends li:first-child .confirm`},
		{"/t/" + group, `#send`, `.manage summary, .leave summary`, `.leave`},
	} {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+c.path), chromedp.WaitVisible(chromedp.CSS(c.ready))))
		for _, summary := range strings.Split(c.open, ", ") {
			must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(summary))))
		}
		must(t, chromedp.Do(b, chromedp.WaitVisible(chromedp.CSS(c.confirm+` button.danger`)), chromedp.Click(chromedp.CSS(c.confirm+` a.cancel`))))
		waitFor(t, b, fmt.Sprintf(`document.readyState === "complete" && !document.querySelector(%q).open`, c.confirm))
		if u := location(t, b); u.Path != c.path {
			t.Errorf("without script, Cancel on %s went to %s", c.path, u)
		}
	}
}
