package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// at runs script in the page at the width, 800 px tall.
func at[T any](t *testing.T, ctx context.Context, width int64, script string) T {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.EmulateViewport(width, 800)))
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	must(t, err)
	return v
}

// memberCalled makes the member username, whose display name is name, and
// signs them in.
func memberCalled(t *testing.T, env *apptest.Env, username, name string) *client.Client {
	t.Helper()
	if _, err := env.Client.CreateAccount(context.Background(), username, apptest.Password(username), name); err != nil {
		t.Fatal(err)
	}
	return mustSignInClient(t, env, username)
}

// On a phone, the home page shows the welcome's heading and the member's
// username above the chats, and "Skip to content" leads to it: the page
// has its main landmark and level-one heading in sight.
func TestLayout_Browser_PhoneHomeHasItsHeading(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "zed")
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "zed")
	got := at[string](t, b, 375, `(() => {
		const target = document.querySelector(document.querySelector("a.skip").getAttribute("href"));
		const h1 = [...document.querySelectorAll("main h1")].some((h) => h.getClientRects().length > 0);
		const name = document.querySelector(".welcome .note").getClientRects().length > 0;
		const above = target.getBoundingClientRect().top < document.getElementById("inbox").getBoundingClientRect().top;
		return [getComputedStyle(target).display !== "none", h1, name, above].join(" ");
	})()`)
	if got != "true true true true" {
		t.Errorf("at 375 px, the skip link's target shown, its h1 in sight, the username in sight, above the chats: %s", got)
	}
	apptest.Screenshot(t, b, "phone-home")
}

// However many apps reach a conversation, their bar leaves the messages
// most of the screen.
func TestLayout_Browser_ManyAppsLeaveTheConversationItsRoom(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	for i := range 12 {
		apptest.MustSend(t, bob, th, fmt.Sprintf("message %d", i))
	}
	for _, name := range []string{"MovieClub", "Calendar", "Translator", "Backup", "Reminders", "Polls", "Photos", "Notes"} {
		env.MustToken(t, env.MustPartner(t, name), "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{th}})
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	for _, width := range []int64{375, 1280} {
		if h := at[float64](t, b, width, `document.querySelector(".conversation").clientHeight`); h < 300 {
			t.Errorf("at %d×800 px with 8 apps, the conversation is %.0f px tall", width, h)
		}
	}
	apptest.Screenshot(t, b, "many-apps")
}

// A long display name of words wraps between its words (or after a
// hyphen) beside a friend's buttons, not inside them.
func TestLayout_Browser_LongNameWrapsBetweenWords(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, memberCalled(t, env, "bart", "Bartholomew Maximilian Fitzgerald-Smythe the Third of Wellington"))
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/friends"), chromedp.WaitVisible(chromedp.CSS(`#friends .pname`))))
	broken := at[[]string](t, b, 375, `(() => {
		const node = document.querySelector("#friends .pname").firstChild, out = [];
		for (const m of node.data.matchAll(/[^\s-]+/g)) {
			const r = document.createRange();
			r.setStart(node, m.index); r.setEnd(node, m.index + m[0].length);
			if (new Set([...r.getClientRects()].map((b) => Math.round(b.top))).size > 1) out.push(m[0]);
		}
		return out;
	})()`)
	if len(broken) > 0 {
		t.Errorf("at 375 px, the friend's name breaks inside %q", broken)
	}
	apptest.Screenshot(t, b, "long-name")
}

// A name written right to left is isolated from the text around it: the
// time after a sender's name stays after it.
func TestLayout_Browser_RightToLeftNameKeepsItsPlace(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	karim := memberCalled(t, env, "karim", "كريم")
	apptest.MustFriends(t, alice, karim)
	th := apptest.MustThread(t, alice, "karim").ID
	apptest.MustSend(t, karim, th, "مرحبا")
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#m1 .meta time`))))
	for _, width := range []int64{375, 1280} {
		if after := at[bool](t, b, width, `document.querySelector("#m1 .meta time").getBoundingClientRect().left >= document.querySelector("#m1 .meta .who").getBoundingClientRect().right`); !after {
			t.Errorf("at %d px, the time of a message from a right-to-left name shows before the name", width)
		}
	}
	apptest.Screenshot(t, b, "rtl-name")
}

// A message that could not be sent waits under the messages, and the
// status line saying so is drawn above the field and its hint, not over
// them, nor over the message waiting.
func TestLayout_Browser_StatusLeavesTheFieldInSight(t *testing.T) {
	t.Parallel()
	// The page reaches the server through the proxy that cuts the network,
	// and behind it the one that holds a send on its way to the server
	// (delay), which never reaches it once the network is cut.
	env, cut, hold := behindCutAndHold(t)
	hold.mu.Lock()
	hold.delay = time.Minute
	hold.mu.Unlock()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, cut.URL, th, "alice")
	// A message is on its way when the network drops, as when offline.
	writeAndSend(t, b, "sent offline")
	cut.down()
	waitFor(t, b, `!document.getElementById("outbox").hidden && document.getElementById("live").textContent !== ""`)
	if got, want := text(t, b, "#live"), "You are offline: your message will be sent once you are back online."; got != want {
		t.Errorf("the status says %q, want %q", got, want)
	}
	for _, width := range []int64{375, 1280} {
		over := at[[]string](t, b, width, `(() => {
			const s = document.getElementById("live").getBoundingClientRect();
			return ["#text", ".hint", "#outbox .bubble"].filter((css) => {
				const r = document.querySelector(css).getBoundingClientRect();
				return r.height > 0 && s.left < r.right && r.left < s.right && s.top < r.bottom && r.top < s.bottom;
			});
		})()`)
		if len(over) > 0 {
			t.Errorf("at %d px, the status %q is drawn over %v", width, text(t, b, "#live"), over)
		}
	}
	apptest.Screenshot(t, b, "send-failed")
}

// A message written right to left (Hebrew, Arabic) shows right to left,
// its closing punctuation at its end, on the left: in its bubble, alone or
// under the quote of the message it answers, and in the field as it is
// written.
func TestLayout_Browser_RightToLeftMessageReadsRightToLeft(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	const hebrew = "שלום! מה שלומך?"
	apptest.MustSend(t, bob, th, hebrew)
	apptest.MustSend(t, alice, th, "Fine, and you?")
	if _, err := bob.SendReply(context.Background(), th, hebrew, 2, ""); err != nil {
		t.Fatal(err)
	}
	b := liveThread(t, env.URL, th, "alice")
	// Where the closing "?" is drawn: right to left, it is the leftmost
	// character of the text; left to right, the rightmost.
	drawnRightToLeft := func(width int64, css string) bool {
		return at[bool](t, b, width, `(() => {
			const node = [...document.querySelector(`+fmt.Sprintf("%q", css)+`).childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.data.trim());
			const r = document.createRange();
			const box = (i) => { r.setStart(node, i); r.setEnd(node, i + 1); return r.getBoundingClientRect(); };
			return box(node.data.length - 1).left < box(0).left;
		})()`)
	}
	for _, width := range []int64{375, 1280} {
		for _, id := range []string{"m1", "m3"} {
			if !drawnRightToLeft(width, "#"+id+" .bubble") {
				t.Errorf("at %d px, the bubble of %s, %q, draws its closing ? to the right of its first word, where a reader of Hebrew reads its start", width, id, hebrew)
			}
		}
	}
	// The chats beside the conversation, at a desktop's width: the last
	// message after its sender's name.
	if !drawnRightToLeft(1280, "#inbox .preview :last-child") {
		t.Errorf("the chat's last message, %q, after its sender's name, draws its closing ? to the right of its first word", hebrew)
	}
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), hebrew)))
	if rtl := evaluate[bool](t, b, `document.getElementById("text").matches(":dir(rtl)")`); !rtl {
		t.Errorf("the field, holding %q, is laid out left to right: its closing ? shows at its start", hebrew)
	}
	apptest.Screenshot(t, b, "rtl-message")
}

// The actions of another's message stand in line: Reply and React side by
// side, their icons on one line, at a desktop's width and on a phone,
// where Report is under Reply, its icon in Reply's column.
func TestLayout_Browser_OthersMessageActionsInLine(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "Yes! Something funny.")

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	for _, view := range []struct {
		name    string
		emulate chromedp.Action[chromedp.Void]
	}{{"a phone", phone}, {"a narrow window", chromedp.EmulateViewport(375, 800)}, {"a desktop", chromedp.EmulateViewport(1280, 800)}} {
		must(t, chromedp.Do(b, view.emulate, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#m1 .acts .reply svg`))))
		// The centres of the icons: Reply's, React's, Report's.
		got := evaluate[[][]float64](t, b, `["reply", "react summary", "report summary"].map(s => {
			const r = document.querySelector("#m1 .acts ." + s + " svg").getBoundingClientRect();
			return [r.left + r.width / 2, r.top + r.height / 2];
		})`)
		reply, react, report := got[0], got[1], got[2]
		if d := react[1] - reply[1]; d < -1 || d > 1 {
			t.Errorf("on %s React's icon is %.1f px below Reply's (centres %v, %v), want them on one line", view.name, d, reply, react)
		}
		if react[0] <= reply[0] {
			t.Errorf("on %s React's icon is not right of Reply's: %v, %v", view.name, reply, react)
		}
		if view.name != "a desktop" {
			if d := report[0] - reply[0]; report[1] <= reply[1] || d < -1 || d > 1 {
				t.Errorf("on %s Report's icon (%v) is not under Reply's (%v)", view.name, report, reply)
			}
			apptest.Screenshot(t, b, "others-actions")
		}
	}
}
