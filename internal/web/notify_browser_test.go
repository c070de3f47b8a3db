package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Browser_Notifications: a member turns notifications on
// from their account page, and a message another member sends them then
// shows as one, naming who wrote and what, for the chat it came in; their
// own messages do not, nor a chat's they muted unless it mentions them
// (@alice), nor anything once they turn notifications off. A group's
// message names the group too, and marks the mention.
// What the page shows is seen through window.Notification, wrapped in the
// page to keep what each notification showed.
func TestMessenger_Browser_Notifications(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	carol := env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, bob, carol)
	th := apptest.MustThread(t, bob, "alice").ID
	group, err := bob.CreateThread(context.Background(), client.NewThread{Participants: []string{"alice", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}

	a := apptest.Chromium(t)
	allowNotifications(t, a, env.URL)
	signInBrowser(t, a, env.URL, "alice")
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(chromedp.CSS(`#notify-toggle`))))
	if got := text(t, a, `#notify-state`); got != "Off in this browser." {
		t.Errorf("before: %q", got)
	}
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#notify-toggle`))))
	waitFor(t, a, `document.getElementById("notify-state").textContent === "On in this browser."`)
	apptest.Screenshot(t, a, "account")
	checkAccessibility(t, a, "account")

	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
	waitFor(t, a, `document.body.dataset.live === "open"`)
	_, err = chromedp.Run(a, chromedp.Evaluate[bool](`window.shown = []; window.Notification = class extends Notification {
		constructor(title, options) { super(title, options); window.shown.push({title, body: options.body, tag: options.tag}); }
	}; true`))
	must(t, err)
	apptest.MustSend(t, bob, th, "are you free tonight?")
	waitFor(t, a, `window.shown.length === 1 && window.shown[0].title === "Member bob" && window.shown[0].body === "are you free tonight?" && window.shown[0].tag === "`+th+`"`)
	apptest.MustSend(t, carol, group.ID, "dinner at 8")
	// Each name set apart (U+2068 … U+2069), so that a name in Hebrew or
	// Arabic does not draw "in" on its other side.
	waitFor(t, a, `window.shown.length === 2 && window.shown[1].title === "\u2068Member carol\u2069 in \u2068Plans\u2069" && window.shown[1].tag === "`+group.ID+`"`)
	// A long message is cut to 200 characters as a reader counts them: an
	// emoji with its skin tone is kept whole, or left out, never halved.
	apptest.MustSend(t, bob, th, strings.Repeat("a", 198)+"👍🏽👍🏽 and more")
	waitFor(t, a, `window.shown.length === 3 && window.shown[2].body === "`+strings.Repeat("a", 198)+`👍🏽👍🏽"`)
	_, err = chromedp.Run(a, chromedp.Evaluate[bool](`window.shown = window.shown.slice(0, 1); true`))
	must(t, err)

	apptest.MustSend(t, alice, th, "I am")
	waitFor(t, a, `document.querySelector("#inbox").textContent.includes("I am")`)
	if n, err := chromedp.Run(a, chromedp.Evaluate[int](`window.shown.length`)); err != nil || n != 1 {
		t.Errorf("after alice's own message the page showed %d notifications (%v), want the one of bob's", n, err)
	}
	// Alice mutes the group from another device: the page's inbox shows it
	// at once, and the page learns of it, besides, from the inbox it
	// refreshes before it would notify.
	muted, unmuted := true, false
	if _, err := alice.UpdateThread(context.Background(), group.ID, client.ThreadUpdate{Muted: &muted}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a, `!!document.querySelector("#inbox li.muted")`)
	apptest.MustSend(t, carol, group.ID, "bring a dish")
	waitFor(t, a, `document.querySelector("#inbox li.muted")?.textContent.includes("bring a dish") && !document.title.startsWith("(")`)
	if n, err := chromedp.Run(a, chromedp.Evaluate[int](`window.shown.length`)); err != nil || n != 1 {
		t.Errorf("after a message in a muted chat the page showed %d notifications (%v), want only the one of bob's", n, err)
	}
	// A message that mentions her there still shows, as the server marks
	// mentions: not an address, a web address or a longer username, but
	// right after Chinese text, which has no spaces between words.
	apptest.MustSend(t, carol, group.ID, "not @alice_b, write to bob@alice")
	apptest.MustSend(t, carol, group.ID, "her profile: https://mastodon.social/@alice")
	apptest.MustSend(t, carol, group.ID, "@Alice, can you bring the wine?")
	apptest.MustSend(t, carol, group.ID, "谢谢@alice")
	waitFor(t, a, `window.shown.some((n) => n.body === "@Alice, can you bring the wine?") && window.shown.some((n) => n.body === "谢谢@alice")`)
	if got, err := chromedp.Run(a, chromedp.Evaluate[[]string](`window.shown.map((n) => n.body)`)); err != nil || len(got) != 3 {
		t.Errorf("after mentions in a muted chat the page showed %q (%v), want bob's and the two mentions", got, err)
	}
	apptest.Screenshot(t, a, "muted")
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/t/"+group.ID), chromedp.WaitVisible(chromedp.CSS(`#thread-head`))))
	if got, err := chromedp.Run(a, chromedp.Evaluate[[]string](`[...document.querySelectorAll(".mention")].map((m) => m.textContent)`)); err != nil || len(got) != 2 || got[0] != "@Alice" || got[1] != "@alice" {
		t.Errorf("the group marks %q (%v) as mentions of alice, want @Alice and @alice", got, err)
	}
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`.manage summary`)), chromedp.WaitVisible(chromedp.CSS(`.manage form.mute button`))))
	if got := text(t, a, `.manage form.mute button`); got != "Unmute this chat" {
		t.Errorf("the muted chat's menu offers %q", got)
	}
	apptest.Screenshot(t, a, "muted-chat")
	checkAccessibility(t, a, "muted-chat")
	// Unmuted from another device, the chat's open page shows it unmuted.
	waitFor(t, a, `document.body.dataset.live === "open"`)
	if _, err := alice.UpdateThread(context.Background(), group.ID, client.ThreadUpdate{Muted: &unmuted}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, a, `!document.querySelector("#thread-head .muted-mark") && document.querySelector(".manage form.mute button").textContent === "Mute this chat" && !document.querySelector("#inbox li.muted")`)
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(chromedp.CSS(`#notify-toggle`))))
	waitFor(t, a, `document.getElementById("notify-state").textContent === "On in this browser."`)
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#notify-toggle`))))
	waitFor(t, a, `document.getElementById("notify-state").textContent === "Off in this browser."`)
	waitFor(t, a, `document.body.dataset.live === "open"`)
	_, err = chromedp.Run(a, chromedp.Evaluate[bool](`window.shown = []; window.Notification = class extends Notification {
		constructor(title, options) { super(title, options); window.shown.push({title}); }
	}; true`))
	must(t, err)
	apptest.MustSend(t, bob, th, "still there?")
	waitFor(t, a, `document.querySelector("#inbox").textContent.includes("still there?")`)
	if n, err := chromedp.Run(a, chromedp.Evaluate[int](`window.shown.length`)); err != nil || n != 0 {
		t.Errorf("turned off, the page showed %d notifications (%v)", n, err)
	}
}

// TestMessenger_Browser_NoNotificationFromABlockedMember: a member alice
// blocked, who still shares groups with her, shows her no notification of
// their messages, in a group she did not mute nor by mentioning her in one
// she did, where a mention would otherwise show through the mute.
func TestMessenger_Browser_NoNotificationFromABlockedMember(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, bob, carol)
	group := func(title string) string {
		t.Helper()
		g, err := bob.CreateThread(ctx, client.NewThread{Participants: []string{"alice", "carol"}, Title: title, Kind: client.ThreadGroup})
		if err != nil {
			t.Fatal(err)
		}
		return g.ID
	}
	plans, muted := group("Plans"), group("Quiet")
	on := true
	if _, err := alice.UpdateThread(ctx, muted, client.ThreadUpdate{Muted: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Block(ctx, "carol"); err != nil {
		t.Fatal(err)
	}

	a := apptest.Chromium(t)
	allowNotifications(t, a, env.URL)
	signInBrowser(t, a, env.URL, "alice")
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(chromedp.CSS(`#notify-toggle`))))
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#notify-toggle`))))
	waitFor(t, a, `document.getElementById("notify-state").textContent === "On in this browser."`)
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
	waitFor(t, a, `document.body.dataset.live === "open"`)
	_, err := chromedp.Run(a, chromedp.Evaluate[bool](`window.shown = []; window.Notification = class extends Notification {
		constructor(title, options) { super(title, options); window.shown.push(options.body); }
	}; true`))
	must(t, err)
	apptest.MustSend(t, carol, plans, "what about Friday?")
	apptest.MustSend(t, carol, muted, "@alice look at me")
	apptest.MustSend(t, bob, muted, "@alice and you?")
	apptest.MustSend(t, bob, plans, "Friday works")
	waitFor(t, a, `window.shown.includes("Friday works") && window.shown.includes("@alice and you?")`)
	if got, err := chromedp.Run(a, chromedp.Evaluate[[]string](`window.shown`)); err != nil || len(got) != 2 {
		t.Errorf("the page showed %q (%v), want bob's two alone", got, err)
	}
}

// TestMessenger_Browser_NoNotificationFromAMemberBlockedElsewhere: a
// member alice blocks on another device (her phone, the API, another tab)
// shows her no notification of their messages from then on in the page
// she left open, as one she blocked before opening it does not.
func TestMessenger_Browser_NoNotificationFromAMemberBlockedElsewhere(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, bob, carol)
	apptest.MustFriends(t, alice, carol)
	g, err := bob.CreateThread(ctx, client.NewThread{Participants: []string{"alice", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}

	a := apptest.Chromium(t)
	allowNotifications(t, a, env.URL)
	signInBrowser(t, a, env.URL, "alice")
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/account/data"), chromedp.WaitVisible(chromedp.CSS(`#notify-toggle`))))
	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#notify-toggle`))))
	waitFor(t, a, `document.getElementById("notify-state").textContent === "On in this browser."`)
	must(t, chromedp.Do(a, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
	waitFor(t, a, `document.body.dataset.live === "open"`)
	_, err = chromedp.Run(a, chromedp.Evaluate[bool](`window.shown = []; window.Notification = class extends Notification {
		constructor(title, options) { super(title, options); window.shown.push(options.body); }
	}; true`))
	must(t, err)

	// Alice blocks carol on her phone; the page stays open.
	if _, err := alice.Block(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, carol, g.ID, "hey alice, still there?")
	apptest.MustSend(t, bob, g.ID, "Friday works")
	waitFor(t, a, `window.shown.includes("Friday works")`)
	time.Sleep(500 * time.Millisecond) // any later notification of carol's
	if got, err := chromedp.Run(a, chromedp.Evaluate[[]string](`window.shown`)); err != nil || len(got) != 1 {
		t.Errorf("after alice blocked carol elsewhere, her open page showed %q (%v); want bob's message alone", got, err)
	}
}

// allowNotifications grants the browser's permission to show notifications
// to the pages of origin, as a member who allowed them would.
func allowNotifications(t *testing.T, ctx context.Context, origin string) {
	t.Helper()
	must(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: origin,
		})
		return err
	})))
}
