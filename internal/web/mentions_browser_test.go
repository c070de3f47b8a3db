package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_MentionPicker: in a group, "@" and the start of a
// username or of a word of a name offer the other members to mention, in
// a list the caret stays beside; arrows choose, Enter or Tab takes one
// without sending, Escape closes the list; "@" where an address's could
// be (mail x@) offers no one, but right after Chinese text it does. At a
// phone's width too, the list is within the screen.
func TestMessenger_Browser_MentionPicker(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	if _, err := carol.SetDisplayName(context.Background(), "Caroline Ode"); err != nil {
		t.Fatal(err)
	}
	group, err := alice.CreateThread(context.Background(), client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")

	// offer says what the list offers, the chosen one first, and what the
	// field holds; "closed" when the list is.
	const offer = `(() => {
		const list = document.getElementById("mention-list"), field = document.getElementById("text");
		if (list.hidden) return "closed: " + field.value;
		const chosen = document.getElementById(field.getAttribute("aria-activedescendant"));
		return [chosen.textContent, ...[...list.children].filter((li) => li !== chosen).map((li) => li.textContent)].join(" | ") + ": " + field.value;
	})()`
	check := func(keys, want string) {
		t.Helper()
		press := chromedp.SendKeys(chromedp.CSS(`#text`), keys)
		if keys == "\r" {
			press = pressEnter(`#text`)
		}
		must(t, chromedp.Do(b, press))
		if got, err := chromedp.Run(b, chromedp.Evaluate[string](offer)); err != nil || got != want {
			t.Errorf("after %q: %q (%v), want %q", keys, got, err, want)
		}
	}
	for _, width := range []int64{1280, 375} {
		must(t, chromedp.Do(b, chromedp.EmulateViewport(width, 800), chromedp.Navigate(env.URL+"/t/"+group.ID),
			chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		check("Hi @", "Member bob@bob | Caroline Ode@carol: Hi @")
		if width == 1280 {
			checkAccessibility(t, b, "the mention picker")
			apptest.Screenshot(t, b, "picker")
		}
		if got, err := chromedp.Run(b, chromedp.Evaluate[[]float64](`(() => {
			const r = document.getElementById("mention-list").getBoundingClientRect();
			return [r.left, r.right, r.top, r.bottom];
		})()`)); err != nil || got[0] < 0 || got[1] > float64(width) || got[2] < 0 || got[3] > 800 {
			t.Errorf("at %d px the list is at %v (%v), want it within the screen", width, got, err)
		}
		// Emptied, the field keeps no draft and offers no one.
		if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => {
			const field = document.getElementById("text");
			field.value = "";
			field.dispatchEvent(new Event("input"));
			return true;
		})()`)); err != nil {
			t.Fatal(err)
		}
	}
	check("Hi @c", "Caroline Ode@carol: Hi @c")
	check("\r", "closed: Hi @carol ")
	check("and @od", "Caroline Ode@carol: Hi @carol and @od")
	check(kb.Escape, "closed: Hi @carol and @od")
	check(" @mem", "Member bob@bob: Hi @carol and @od @mem")
	check("\t", "closed: Hi @carol and @od @bob ")
	check("@", "Member bob@bob | Caroline Ode@carol: Hi @carol and @od @bob @")
	check(kb.ArrowDown, "Caroline Ode@carol | Member bob@bob: Hi @carol and @od @bob @")
	check(kb.ArrowDown, "Member bob@bob | Caroline Ode@carol: Hi @carol and @od @bob @")
	check(kb.ArrowUp, "Caroline Ode@carol | Member bob@bob: Hi @carol and @od @bob @")
	check("\t", "closed: Hi @carol and @od @bob @carol ")
	check("mail x@", "closed: Hi @carol and @od @bob @carol mail x@")
	// Right after Chinese or Japanese text, where words have no spaces
	// between them, "@" offers them as the server marks mentions there.
	check(" 谢谢@b", "Member bob@bob: Hi @carol and @od @bob @carol mail x@ 谢谢@b")
	check("\t", "closed: Hi @carol and @od @bob @carol mail x@ 谢谢@bob ")
	check("\r", "closed: ")
	waitFor(t, b, `[...document.querySelectorAll("#messages .mine .bubble")].some((m) => m.textContent.trim() === "Hi @carol and @od @bob @carol mail x@ 谢谢@bob")`)
}
