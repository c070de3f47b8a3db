package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// The XSS strings every name, title and message must show as text.
const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `"><img src=x onerror=alert(1)>`
)

// In two real browsers, two people sign up, become friends and talk: each
// sees the other's messages, deletions and read markers live, without a
// reload; when the network drops, the pages reconnect and catch up on what
// was said meanwhile, each message once; names, titles and messages made of
// markup show as text. Both browsers reach the server through a proxy the
// test can cut, as a network would. With PARLEY_SCREENSHOTS set, the
// inbox and thread pages are saved at 1280 and 375 px. It prints how long
// a message took from Enter in one page to showing in the other.
func TestMessenger_Browser(t *testing.T) {
	env, proxy := behindCut(t)
	alice, bob := apptest.Chromium(t), apptest.Chromium(t)

	signUp := func(ctx context.Context, username, displayName string) {
		t.Helper()
		must(t, chromedp.Do(ctx,
			chromedp.Navigate(proxy.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`a[href="/sign-up"]`)),
		))
		checkAccessibility(t, ctx, "sign-in")
		must(t, chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`a[href="/sign-up"]`)),
			chromedp.WaitVisible(chromedp.CSS(`input[name=display_name]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
			chromedp.SendKeys(chromedp.CSS(`input[name=display_name]`), displayName),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apptest.Password(username)),
		))
		apptest.Screenshot(t, ctx, "signup-"+username)
		checkAccessibility(t, ctx, "sign-up")
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
		checkAccessibility(t, ctx, "empty inbox")
	}
	var threadID string

	t.Run("SignUpAndBecomeFriends", func(t *testing.T) {
		signUp(alice, "alice", xssImg)
		signUp(bob, "bob", "Bob")
		if got := text(t, alice, `.welcome h1`); got != "Welcome, "+xssImg {
			t.Errorf("alice's welcome reads %q", got)
		}
		must(t, chromedp.Do(alice,
			chromedp.Navigate(proxy.URL+"/friends"),
			chromedp.SendKeys(chromedp.CSS(`#find-username`), "bob"),
			chromedp.Click(chromedp.CSS(`.find button`)),
			chromedp.WaitVisible(chromedp.CSS(`#outgoing`)),
		))
		checkAccessibility(t, alice, "friends, a request sent")
		must(t, chromedp.Do(bob,
			chromedp.Navigate(proxy.URL+"/friends"),
			chromedp.WaitVisible(chromedp.CSS(`#incoming`)),
		))
		if got := text(t, bob, `#incoming`); !strings.Contains(got, xssImg+" @alice") {
			t.Errorf("bob's incoming requests read %q", got)
		}
		must(t, chromedp.Do(bob,
			chromedp.Click(chromedp.CSS(`#incoming button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
			chromedp.Navigate(proxy.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`.welcome`)),
		))
		waitFor(t, bob, `document.body.dataset.live === "open"`)
		// Alice starts the chat from her friends; it shows up in Bob's
		// inbox as it happens.
		must(t, chromedp.Do(alice,
			chromedp.Navigate(proxy.URL+"/friends"),
			chromedp.Click(chromedp.CSS(`#friends button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#send textarea`)),
		))
		threadID = strings.TrimPrefix(location(t, alice).Path, "/t/")
		waitFor(t, bob, fmt.Sprintf(`!!document.querySelector('#inbox a[data-thread=%q]')`, threadID))
		if got := text(t, bob, `#inbox`); !strings.Contains(got, xssImg) {
			t.Errorf("bob's inbox does not name alice:\n%s", got)
		}
		must(t, chromedp.Do(bob, chromedp.Click(chromedp.CSS(`#inbox a[data-thread]`)), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		waitFor(t, alice, `document.body.dataset.live === "open"`)
		waitFor(t, bob, `document.body.dataset.live === "open"`)
	})

	t.Run("TalkLive", func(t *testing.T) {
		// The time is taken in the pages, on the machine's one clock: from
		// just before Enter in Alice's page to the message in Bob's.
		_, err := chromedp.Run(bob, chromedp.Evaluate[bool](arrivalWatch("hello bob")))
		must(t, err)
		must(t, chromedp.Do(alice, chromedp.SendKeys(chromedp.CSS(`#text`), "hello bob")))
		sent, err := chromedp.Run(alice, chromedp.Evaluate[float64](`Date.now()`))
		must(t, err)
		must(t, chromedp.Do(alice, pressEnter(`#text`)))
		arrived, err := chromedp.Run(bob, chromedp.Evaluate[float64](`window.arrival`, chromedp.EvalAwaitPromise))
		must(t, err)
		fmt.Printf("messenger: a message took %.0f ms from Enter in one page to showing in the other\n", arrived-sent)

		if got := text(t, alice, `#text`); got != "" {
			t.Errorf("the composer keeps %q after sending", got)
		}
		// Bob's page read it, and Alice's page says so.
		waitFor(t, alice, `document.getElementById("seen").textContent === "Seen by \u2068Bob\u2069"`)

		must(t, chromedp.Do(bob, chromedp.SendKeys(chromedp.CSS(`#text`), "hi alice"), pressEnter(`#text`)))
		waitFor(t, alice, bubbleCount("hi alice", 1))

		// Alice deletes her message, which Delete asks her to confirm; it
		// goes from Bob's page too.
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`#messages li.mine .delete summary`))))
		if got := text(t, bob, `#messages li`); !strings.Contains(got, "hello bob") {
			t.Errorf("Delete alone, unconfirmed, took the message from bob's page: %q", got)
		}
		apptest.Screenshot(t, alice, "delete-confirm")
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`#messages li.mine .delete button`))))
		waitFor(t, bob, `document.querySelector("#messages li").classList.contains("deleted")`)
		if got := text(t, bob, `#messages li`); !strings.Contains(got, "Message deleted") || strings.Contains(got, "hello bob") {
			t.Errorf("bob's page shows the deleted message as %q", got)
		}
		apptest.Screenshot(t, bob, "thread")
		checkAccessibility(t, bob, "thread")
		must(t, chromedp.Do(bob, colorScheme("dark")))
		apptest.Screenshot(t, bob, "thread-dark")
		must(t, chromedp.Do(bob, colorScheme("")))
		must(t, chromedp.Do(bob, chromedp.Navigate(proxy.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
		// The welcome's two buttons stand apart.
		gap, err := chromedp.Run(bob, chromedp.Evaluate[float64](`(([a, b]) => b.getBoundingClientRect().left - a.getBoundingClientRect().right)(document.querySelectorAll(".welcome .button"))`))
		must(t, err)
		if gap < 8 {
			t.Errorf("the welcome's buttons are %.0f px apart", gap)
		}
		apptest.Screenshot(t, bob, "inbox")
		checkAccessibility(t, bob, "inbox")
		must(t, chromedp.Do(bob, chromedp.Navigate(proxy.URL+"/t/"+threadID), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		waitFor(t, bob, `document.body.dataset.live === "open"`)
	})

	t.Run("ReconnectCatchesUp", func(t *testing.T) {
		proxy.down()
		waitFor(t, alice, `document.body.dataset.live === "closed"`)
		waitFor(t, bob, `document.body.dataset.live === "closed"`)
		// While the pages are cut off, Bob says more from another device.
		ctx := context.Background()
		s, err := env.Client.SignIn(ctx, "bob", apptest.Password("bob"))
		must(t, err)
		phone := env.Client.WithToken(s.Token)
		apptest.MustSend(t, phone, threadID, "sent while you were away")
		gone := apptest.MustSend(t, phone, threadID, "said and taken back")
		must(t, phone.DeleteMessage(ctx, gone.ID))
		apptest.MustSend(t, phone, threadID, "and one more")
		proxy.up()

		for _, page := range []context.Context{alice, bob} {
			waitFor(t, page, bubbleCount("and one more", 1))
			for _, msg := range []string{"hi alice", "sent while you were away"} {
				if n := count(t, page, msg); n != 1 {
					t.Errorf("%q shows %d times after the reconnect, want once", msg, n)
				}
			}
			if n := count(t, page, "said and taken back"); n != 0 {
				t.Errorf("a message deleted while cut off still shows %d times", n)
			}
			if seqs := seqsShown(t, page); fmt.Sprint(seqs) != "[1 2 3 4 5]" {
				t.Errorf("the page shows seqs %v, want 1 to 5 once each, in order", seqs)
			}
		}
	})

	t.Run("MarkupShowsAsText", func(t *testing.T) {
		must(t, chromedp.Do(alice,
			chromedp.Navigate(proxy.URL+"/new"),
			chromedp.WaitVisible(chromedp.CSS(`input[value=bob]`)),
		))
		checkAccessibility(t, alice, "new chat")
		must(t, chromedp.Do(alice,
			chromedp.Click(chromedp.CSS(`input[value=bob]`)),
			chromedp.SendKeys(chromedp.CSS(`#title`), xssScript),
			chromedp.Click(chromedp.CSS(`.new button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#send textarea`)),
		))
		waitFor(t, alice, `document.body.dataset.live === "open"`)
		for _, msg := range []string{xssScript, xssImg} {
			must(t, chromedp.Do(alice, chromedp.SendKeys(chromedp.CSS(`#text`), msg), pressEnter(`#text`)))
			waitFor(t, alice, bubbleCount(msg, 1))
		}
		// One's own message has its Delete button beside it, level with the
		// bubble, at a desktop's width, and on a phone, where the bubble
		// takes the whole width, under it at its right edge, long or short.
		long := "A long message, to see how it wraps on a phone: " + strings.Repeat("the film starts at eight, ", 8)
		must(t, chromedp.Do(alice, chromedp.SendKeys(chromedp.CSS(`#text`), long), pressEnter(`#text`)))
		waitFor(t, alice, bubbleCount(long, 1))
		// A web address is a link, opened in a new tab without a referrer;
		// nothing else is.
		withLink := "the trailer: https://example.com/trailer?t=1&x=2, or javascript:alert(1)"
		must(t, chromedp.Do(alice, chromedp.SendKeys(chromedp.CSS(`#text`), withLink), pressEnter(`#text`)))
		waitFor(t, alice, bubbleCount(withLink, 1))
		apptest.Screenshot(t, alice, "group-mine")
		for width, where := range map[int64]string{
			1280: `d.right <= b.left && d.top >= b.top && d.bottom <= b.bottom`,
			375:  `d.top >= b.bottom && Math.abs(d.right - b.right) <= 2`,
		} {
			must(t, chromedp.Do(alice, chromedp.EmulateViewport(width, 800)))
			misplaced, err := chromedp.Run(alice, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li.mine")].filter(li => {
				const b = li.querySelector(".bubble").getBoundingClientRect(), d = li.querySelector(".delete summary").getBoundingClientRect();
				return !(`+where+`);
			}).map(li => li.querySelector(".bubble").textContent)`))
			must(t, err)
			if len(misplaced) > 0 {
				t.Errorf("at %d px, the Delete buttons of these messages are not where they belong (%s): %q", width, where, misplaced)
			}
		}
		group := strings.TrimPrefix(location(t, alice).Path, "/t/")
		must(t, chromedp.Do(bob, chromedp.Navigate(proxy.URL+"/t/"+group), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		for _, page := range []context.Context{alice, bob} {
			links, err := chromedp.Run(page, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages .bubble a")].map(a => [a.href, a.target, a.rel, a.textContent].join(" | "))`))
			must(t, err)
			if want := "https://example.com/trailer?t=1&x=2 | _blank | noopener noreferrer nofollow ugc | https://example.com/trailer?t=1&x=2"; len(links) != 1 || links[0] != want {
				t.Errorf("the messages' links: %q, want one: %q", links, want)
			}
		}
		for _, page := range []context.Context{alice, bob} {
			if got := text(t, page, `#thread-head h1`); got != xssScript {
				t.Errorf("the group's title shows as %q", got)
			}
			for _, msg := range []string{xssScript, xssImg} {
				if n := count(t, page, msg); n != 1 {
					t.Errorf("%q shows as text %d times", msg, n)
				}
			}
			if n, err := chromedp.Run(page, chromedp.Evaluate[int](`document.querySelectorAll("img, main script, #inbox script").length`)); err != nil || n != 0 {
				t.Errorf("the page holds %d elements made from markup sent as text (%v)", n, err)
			}
		}
		if got := text(t, bob, `#inbox`); !strings.Contains(got, xssScript) || !strings.Contains(got, "You: ") && !strings.Contains(got, xssImg+": ") {
			t.Errorf("bob's inbox:\n%s", got)
		}
		apptest.Screenshot(t, bob, "group")
		checkAccessibility(t, bob, "group thread")
	})

	t.Run("FriendsAndGroups", func(t *testing.T) {
		ctx := context.Background()
		carol := env.MustMember(t, "carol")
		if _, err := carol.AddFriend(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		// Alice declines Carol.
		must(t, chromedp.Do(alice, chromedp.Navigate(proxy.URL+"/friends"), chromedp.WaitVisible(chromedp.CSS(`#incoming`))))
		// A phone hides the welcome that names the member's username:
		// the friends page, where they make friends, names it too.
		if got := text(t, alice, `#my-username`); !strings.Contains(got, "@alice") {
			t.Errorf("the friends page names the member's username as %q", got)
		}
		checkCentred(t, alice, "friends")
		apptest.Screenshot(t, alice, "friends")
		checkAccessibility(t, alice, "friends, a request received")
		// On a phone, each person's buttons stay together on one row.
		must(t, chromedp.Do(alice, chromedp.EmulateViewport(375, 800)))
		split, err := chromedp.Run(alice, chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.people li")].filter(li =>
			new Set([...li.querySelectorAll("button, summary")].filter(b => b.checkVisibility()).map(b => {
				const r = b.getBoundingClientRect();
				return Math.round((r.top + r.bottom) / 20); // its middle, to 10 px
			})).size > 1).map(li => li.innerText)`))
		must(t, err)
		if len(split) > 0 {
			t.Errorf("at 375 px, these people's buttons are split over two rows: %q", split)
		}
		must(t, chromedp.Do(alice, chromedp.EmulateViewport(1280, 800)))
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`#incoming button.quiet`)), chromedp.WaitVisible(chromedp.CSS(`.notice`))))
		if got := text(t, alice, `main`); strings.Contains(got, "@carol") {
			t.Errorf("carol still shows after declining:\n%s", got)
		}
		// Carol may not ask again for a while; Alice, who declined, may ask
		// her, and Carol accepts.
		if _, err := carol.AddFriend(ctx, "alice"); client.StatusOf(err) != http.StatusConflict {
			t.Fatalf("carol asking alice again after alice declined: %v, want 409", err)
		}
		must(t, chromedp.Do(alice,
			chromedp.Navigate(proxy.URL+"/friends"),
			chromedp.SendKeys(chromedp.CSS(`#find-username`), "carol"),
			chromedp.Click(chromedp.CSS(`.find button`)),
			chromedp.WaitVisible(chromedp.CSS(`#outgoing`)),
		))
		if s, err := carol.AddFriend(ctx, "alice"); err != nil || s.State != client.FriendAccepted {
			t.Fatalf("carol accepting alice's request: %+v, %v", s, err)
		}
		// Dave asks, and Alice accepts.
		dave := env.MustMember(t, "dave")
		if _, err := dave.AddFriend(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		must(t, chromedp.Do(alice,
			chromedp.Navigate(proxy.URL+"/friends"),
			chromedp.Click(chromedp.CSS(`#incoming button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		))
		if got := text(t, alice, `#friends`); !strings.Contains(got, "@carol") || !strings.Contains(got, "@dave") {
			t.Errorf("alice's friends after carol and dave:\n%s", got)
		}

		// In the group, what Alice changes shows in Bob's open page.
		group := strings.TrimPrefix(location(t, bob).Path, "/t/")
		must(t, chromedp.Do(alice, chromedp.Navigate(proxy.URL+"/t/"+group), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		waitFor(t, bob, `document.body.dataset.live === "open"`)
		must(t, chromedp.Do(alice,
			chromedp.Click(chromedp.CSS(`#thread-head .manage summary`)),
			chromedp.SetValue(chromedp.CSS(`#add-who`), "carol"),
		))
		submit(t, alice, `form.add button`, `document.querySelector("#thread-head .members").textContent.startsWith("3 people")`)
		waitFor(t, bob, `document.querySelector("#thread-head .members").textContent.startsWith("3 people")`)
		// and says so among the messages, as it does on Alice's page.
		for _, page := range []context.Context{alice, bob} {
			waitFor(t, page, `[...document.querySelectorAll("#messages .gnote")].at(-1)?.textContent.includes("added \u2068Member carol\u2069")`)
		}
		if got := text(t, bob, `#messages .gnote:last-child p`); !strings.HasPrefix(got, xssImg+" added Member carol ") {
			t.Errorf("bob's page tells of carol's coming as %q", got)
		}
		// Bob's screen reader is told; and when Alice renames the group from
		// her phone, Bob's is told again, hers not of her own doing.
		waitFor(t, bob, `document.getElementById("heard").textContent.replace(/[\u2068\u2069]/g, "") === `+jsString(xssImg+" added Member carol"))
		s, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice"))
		must(t, err)
		title := "Film club"
		_, err = env.Client.WithToken(s.Token).UpdateThread(context.Background(), group, client.ThreadUpdate{Title: &title})
		must(t, err)
		waitFor(t, bob, `document.getElementById("heard").textContent.replace(/[\u2068\u2069]/g, "") === `+jsString(xssImg+" named the group “Film club”"))
		waitFor(t, alice, `[...document.querySelectorAll("#messages .gnote")].at(-1)?.textContent.includes("You named the group")`)
		if got := text(t, alice, `#heard`); strings.Contains(got, "named") {
			t.Errorf("alice's page tells her screen reader of her own doing: %q", got)
		}
		// Renamed again at once, the group keeps one note of her renaming,
		// which names it anew in its place; Bob's screen reader is told.
		title = "Book club"
		_, err = env.Client.WithToken(s.Token).UpdateThread(context.Background(), group, client.ThreadUpdate{Title: &title})
		must(t, err)
		waitFor(t, bob, `document.getElementById("heard").textContent.replace(/[\u2068\u2069]/g, "") === `+jsString(xssImg+" named the group “Book club”"))
		waitFor(t, bob, `(n => n.length === 1 && n[0].textContent.includes("“\u2068Book club\u2069”"))([...document.querySelectorAll("#messages .gnote")].filter((li) => li.textContent.includes("named the group")))`)
		// On a phone, the group's name shows whole on two lines, and the
		// members' line, cut short in the head, shows whole once tapped,
		// within the screen.
		must(t, chromedp.Do(alice, chromedp.EmulateViewport(375, 800)))
		if whole, err := chromedp.Run(alice, chromedp.Evaluate[bool](`(h => h.scrollWidth <= h.clientWidth && h.scrollHeight <= h.clientHeight)(document.querySelector("#thread-head h1"))`)); err != nil || !whole {
			t.Errorf("at 375 px, the group's name is cut short in the head (%v)", err)
		}
		if cut, err := chromedp.Run(alice, chromedp.Evaluate[bool](`(s => s.scrollWidth > s.clientWidth)(document.querySelector("#thread-head .members summary"))`)); err != nil || !cut {
			t.Errorf("at 375 px, the members' line of three is not cut short (%v): this test no longer shows that it can be read whole", err)
		}
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`#thread-head .members summary`))))
		type line struct {
			Text               string
			Whole, WithinSight bool
		}
		members, err := chromedp.Run(alice, chromedp.Evaluate[line](`(s => ({
			Text: s.innerText,
			Whole: s.scrollWidth <= s.clientWidth && s.scrollHeight <= s.clientHeight,
			WithinSight: s.getBoundingClientRect().left >= 0 && s.getBoundingClientRect().right <= innerWidth && s.getBoundingClientRect().bottom <= innerHeight,
		}))(document.querySelector("#thread-head .members summary"))`))
		must(t, err)
		for _, who := range []string{xssImg + " @alice", "Bob @bob", "Member carol @carol"} {
			if !strings.Contains(members.Text, who) {
				t.Errorf("at 375 px, the members' line, opened, lacks %q: %q", who, members.Text)
			}
		}
		if !members.Whole || !members.WithinSight {
			t.Errorf("at 375 px, the members' line, opened, shows whole: %t, within the screen: %t", members.Whole, members.WithinSight)
		}
		apptest.Screenshot(t, alice, "group-members")
		checkAccessibility(t, alice, "group thread, its members shown")
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`#thread-head .members summary`))))
		must(t, chromedp.Do(alice,
			chromedp.Click(chromedp.CSS(`#thread-head .manage summary`)),
			chromedp.SetValue(chromedp.CSS(`#rename-title`), "Film club"),
		))
		submit(t, alice, `form.rename button`, `document.querySelector("#thread-head h1").textContent === "Film club"`)
		waitFor(t, bob, `document.querySelector("#thread-head h1").textContent === "Film club" && document.title.endsWith("Film club · Parley")`)
		waitFor(t, bob, `document.getElementById("inbox").textContent.includes("Film club")`)
		// Alice, who started the group, may remove people from it.
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`#thread-head .manage summary`)), chromedp.WaitVisible(chromedp.CSS(`form.remove button`))))
		apptest.Screenshot(t, alice, "group-manage")
		checkAccessibility(t, alice, "group thread, its Manage menu open")
		// Escape closes the menu, back to its button, and so does a click
		// elsewhere.
		must(t, chromedp.Do(alice, chromedp.KeyEvent("\x1b")))
		waitFor(t, alice, `!document.querySelector("#thread-head .manage").open && document.activeElement === document.querySelector("#thread-head .manage summary")`)
		must(t, chromedp.Do(alice,
			chromedp.Click(chromedp.CSS(`#thread-head .manage summary`)),
			chromedp.WaitVisible(chromedp.CSS(`form.remove button`)),
			chromedp.Click(chromedp.CSS(`#thread-head h1`)),
		))
		waitFor(t, alice, `!document.querySelector("#thread-head .manage").open`)
		must(t, chromedp.Do(bob,
			chromedp.Click(chromedp.CSS(`#thread-head .manage summary`)),
			chromedp.Click(chromedp.CSS(`.leave summary`)),
			chromedp.WaitVisible(chromedp.CSS(`.leave button`)),
		))
		apptest.Screenshot(t, bob, "leave-confirm")
		must(t, chromedp.Do(bob,
			chromedp.Click(chromedp.CSS(`.leave button`)),
			chromedp.WaitVisible(chromedp.CSS(`.welcome`)),
		))
		if got := text(t, bob, `#inbox`); strings.Contains(got, "Film club") {
			t.Errorf("bob's inbox after leaving:\n%s", got)
		}
		waitFor(t, alice, `document.querySelector("#thread-head .members").textContent.startsWith("2 people")`)

		// Alice removes Dave, her newest friend, first in her list (newest
		// first), from them: Remove first says what it does, and the page
		// then says what it did.
		must(t, chromedp.Do(alice,
			chromedp.Navigate(proxy.URL+"/friends"),
			chromedp.Click(chromedp.CSS(`#friends li:first-child .confirm summary`)),
			chromedp.WaitVisible(chromedp.CSS(`#friends li:first-child .confirm button.danger`)),
		))
		if got := text(t, alice, `#friends li:first-child`); !strings.Contains(got, "Your chats with Member dave stay as they are") || !strings.Contains(got, "Remove Member dave") {
			t.Errorf("Remove beside dave, opened, says %q", got)
		}
		apptest.Screenshot(t, alice, "friend-remove-confirm")
		submit(t, alice, `#friends li:first-child .confirm button.danger`, `!!document.querySelector(".notice")`)
		if got := text(t, alice, `.notice`); got != "Removed from your friends. Your chats with them stay as they are." {
			t.Errorf("after removing dave the page says %q", got)
		}
		if got := text(t, alice, `#friends`); strings.Contains(got, "@dave") || !strings.Contains(got, "@bob") {
			t.Errorf("alice's friends after removing dave:\n%s", got)
		}
	})

	t.Run("ScrollLoadsOlder", func(t *testing.T) {
		ctx := context.Background()
		s, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
		must(t, err)
		api := env.Client.WithToken(s.Token)
		for i := range 70 {
			apptest.MustSend(t, api, threadID, fmt.Sprintf("number %d", i+1))
		}
		must(t, chromedp.Do(bob, chromedp.Navigate(proxy.URL+"/t/"+threadID), chromedp.WaitVisible(chromedp.CSS(`#older`))))
		if seqs := seqsShown(t, bob); len(seqs) != 50 || seqs[0] != 26 {
			t.Fatalf("the thread opens on seqs %v, want the newest 50", seqs)
		}
		// Once the page's script has run (it scrolls to the newest), the
		// member scrolls up.
		waitFor(t, bob, `document.body.dataset.live === "open"`)
		_, err = chromedp.Run(bob, chromedp.Evaluate[bool](`document.querySelector(".conversation").scrollTop = 0; true`))
		must(t, err)
		waitFor(t, bob, `document.querySelectorAll("#messages > li.msg").length === 75 && !document.getElementById("older")`)
		seqs := seqsShown(t, bob)
		for i, seq := range seqs {
			if seq != i+1 {
				t.Fatalf("after scrolling up the page shows seqs %v, want 1 to 75", seqs)
			}
		}
	})

	t.Run("SessionEndedElsewhere", func(t *testing.T) {
		// An operator ends Alice's sessions while her page is live: the
		// server closes its stream as the session ended, and the page goes
		// to sign in rather than reconnect, which says why.
		must(t, chromedp.Do(alice, chromedp.Navigate(proxy.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
		waitFor(t, alice, `document.body.dataset.live === "open"`)
		if _, err := env.Server.Service.SignOutUser(service.ConsoleContext(context.Background()), "alice"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, alice, `location.pathname === "/sign-in" && document.readyState === "complete"`)
		if got := text(t, alice, `.notice`); !strings.HasPrefix(got, "Your session ended") {
			t.Errorf("the sign-in page, come to by itself, says %q", got)
		}
	})

	t.Run("MistypedAddress", func(t *testing.T) {
		// Bob follows a link with a typo in it.
		must(t, chromedp.Do(bob, chromedp.Navigate(proxy.URL+"/freinds"), chromedp.WaitVisible(chromedp.CSS(`main h1`))))
		if got := text(t, bob, `main h1`); got != "Page not found" {
			t.Errorf("a mistyped address reads %q", got)
		}
		apptest.Screenshot(t, bob, "page-not-found")
		checkAccessibility(t, bob, "page not found")
	})

	t.Run("ShareLinkOpenedElsewhere", func(t *testing.T) {
		// A card alice shared through an app reaches bob; his link, opened
		// in a browser not signed in as him, says where it leads.
		ctx := context.Background()
		tok := env.MustToken(t, env.MustPartner(t, "Films"), "alice", []string{"shares.write"}, apptest.Answer{})
		const long = "https://films.example/watch/the-general-1926-restored-edition-with-a-new-score?utm_source=parley&utm_medium=share"
		card, err := env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: "bob", URL: long, Title: "The General"})
		must(t, err)
		s, err := env.Client.SignIn(ctx, "bob", apptest.Password("bob"))
		must(t, err)
		page, err := env.Client.WithToken(s.Token).Messages(ctx, card.ThreadID, client.MessagesQuery{})
		must(t, err)
		link := page.Messages[len(page.Messages)-1].Share.Link
		stranger := apptest.Chromium(t)
		must(t, chromedp.Do(stranger, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`main h1`))))
		if got := text(t, stranger, `main h1`); got != "Leaving Parley" {
			t.Errorf("bob's link in another browser reads %q", got)
		}
		apptest.Screenshot(t, stranger, "share-link-elsewhere")
		checkAccessibility(t, stranger, "share link opened elsewhere")
	})
}

// pressEnter presses Enter in the field as a keyboard does: a key down
// that would type a new line unless the page prevents it, then a key up.
// (chromedp's SendKeys types the new line in a separate event that no
// page can prevent.)
func pressEnter(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Focus(chromedp.CSS(css)),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			down := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Text: "\r"}
			up := input.DispatchKeyEventParams{Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13}
			for _, k := range []input.DispatchKeyEventParams{down, up} {
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, k); err != nil {
					return err
				}
			}
			return nil
		}),
	)
}

// jsString returns s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// arrivalWatch sets window.arrival to a promise of the time a message with
// the text shows in the page.
func arrivalWatch(text string) string {
	return fmt.Sprintf(`window.arrival = new Promise((resolve) => {
		const seen = () => [...document.querySelectorAll("#messages .bubble")].some((b) => b.textContent === %s);
		new MutationObserver((_, o) => { if (seen()) { o.disconnect(); resolve(Date.now()); } })
			.observe(document.body, { childList: true, subtree: true });
	}); true`, jsString(text))
}

// bubbleCount is a script that checks that the text shows n times.
func bubbleCount(text string, n int) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#messages .bubble")].filter((b) => b.textContent === %s).length === %d`, jsString(text), n)
}

// liveThread opens a browser signed in as the member who, on the thread's
// page, once the page is live (its realtime connection open and caught up).
func liveThread(t *testing.T, base, threadID, who string) context.Context {
	t.Helper()
	page := apptest.Chromium(t)
	signInBrowser(t, page, base, who)
	must(t, chromedp.Do(page, chromedp.Navigate(base+"/t/"+threadID), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, page, `document.body.dataset.live === "open"`)
	return page
}

// count returns how many messages of the page read text.
func count(t *testing.T, ctx context.Context, text string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](fmt.Sprintf(`[...document.querySelectorAll("#messages .bubble")].filter((b) => b.textContent === %s).length`, jsString(text))))
	must(t, err)
	return n
}

// seqsShown returns the seqs of the messages the page shows, in order.
func seqsShown(t *testing.T, ctx context.Context) []int {
	t.Helper()
	seqs, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`[...document.querySelectorAll("#messages > li.msg")].map((li) => Number(li.dataset.seq))`))
	must(t, err)
	return seqs
}

// colorScheme makes the page's prefers-color-scheme the scheme, or the
// browser's own with "".
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		params := emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}}
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, params)
		return err
	})
}

// submit clicks a form's button and waits for the page that answers it,
// not the page it replaces, to make the script true.
func submit(t *testing.T, ctx context.Context, button, script string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.replaced = true`))
	must(t, err)
	must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(button))))
	waitFor(t, ctx, `!window.replaced && document.readyState === "complete" && (`+script+`)`)
}

// waitFor waits until the script is true in the page, trying again while
// the page navigates.
func waitFor(t *testing.T, ctx context.Context, script string) {
	t.Helper()
	for {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](script)); err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			page, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v; the page reads:\n%s", script, ctx.Err(), page)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cutProxy forwards TCP connections to the server until the test cuts
// them, as a dropped network would, and refuses new ones while down.
type cutProxy struct {
	URL string
	ln  net.Listener

	mu     sync.Mutex
	target string
	isDown bool
	conns  map[net.Conn]struct{}
}

// forwardTo sets the address connections go on to.
func (p *cutProxy) forwardTo(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
}

func newCutProxy(t *testing.T) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	p := &cutProxy{URL: "http://" + ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() {
		ln.Close()
		p.down()
	})
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *cutProxy) forward(c net.Conn) {
	p.mu.Lock()
	down, target := p.isDown, p.target
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	s, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.isDown {
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() {
		io.Copy(s, c)
		s.Close()
		c.Close()
	}()
	io.Copy(c, s)
	c.Close()
	s.Close()
}

// down cuts every connection and refuses new ones until up.
func (p *cutProxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) up() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = false
}

// TestMessenger_Browser_LinkReadsAsWhereItLeads: a message's text, or a
// share card's note, that puts a right-to-left override (U+202E) before a
// web address does not draw its link reversed: a link to
// https://evil.example/moc.knab//:sptth reads, left to right, as that
// address, not as "https://bank.com/…", as linkify promises that no link
// reads as another site. The link is drawn as its characters stand on the
// screen, left to right, line by line.
func TestMessenger_Browser_LinkReadsAsWhereItLeads(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, mallory := env.MustMember(t, "alice"), env.MustMember(t, "mallory")
	apptest.MustFriends(t, alice, mallory)
	th := apptest.MustThread(t, mallory, "alice")
	const addr = "https://evil.example/moc.knab//:sptth"
	if _, err := mallory.SendMessage(ctx, th.ID, "Your statement: \u202e"+addr, "k1"); err != nil {
		t.Fatal(err)
	}
	tok := env.MustToken(t, env.MustPartner(t, "Films"), "mallory", []string{"shares.write"}, apptest.Answer{})
	if _, err := env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: "alice", URL: "https://films.example/1", Title: "A film", Note: "Pay here: \u202e" + addr}); err != nil {
		t.Fatal(err)
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.EmulateViewport(1600, 900), chromedp.Navigate(env.URL+"/t/"+th.ID), chromedp.WaitVisible(chromedp.CSS(`.bubble.share .note a`))))
	shown := evaluate[[]string](t, b, `[...document.querySelectorAll(".bubble a:not(.card)")].map((a) => {
		const node = a.firstChild, chars = [];
		for (let i = 0; i < node.length; i++) {
			const r = document.createRange();
			r.setStart(node, i); r.setEnd(node, i + 1);
			const box = r.getBoundingClientRect();
			chars.push([Math.round(box.top), box.left, node.data[i]]);
		}
		return a.getAttribute("href") + " shown as " + chars.sort((x, y) => x[0] - y[0] || x[1] - y[1]).map((c) => c[2]).join("");
	})`)
	if len(shown) != 2 {
		t.Fatalf("%d links, want the message's and the note's: %q", len(shown), shown)
	}
	for _, got := range shown {
		if want := addr + " shown as " + addr; got != want {
			t.Errorf("the link is %q, want %q", got, want)
		}
	}
}

// Times show in the reader's own time zone: the server writes them in UTC,
// for a page without script, and the script writes them again in the
// browser's zone, the name of a message's Delete button too.
func TestMessenger_Browser_TimesInTheReadersZone(t *testing.T) {
	env := apptest.Start(t)
	aliceAPI, bobAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, aliceAPI, bobAPI)
	th := apptest.MustThread(t, aliceAPI, "bob").ID
	m := apptest.MustSend(t, aliceAPI, th, "What time is it there?")
	// UTC+14: never the same time of day as UTC.
	const zoneName = "Pacific/Kiritimati"
	zone, err := time.LoadLocation(zoneName)
	if err != nil {
		t.Fatal(err)
	}
	// The time alone on the day it was sent there, with its date after:
	// the reader's midnight may come while the test runs, so either.
	local := m.CreatedAt.In(zone)
	clock, dated := local.Format("15:04"), local.Format("2 Jan 15:04")

	alice := apptest.Chromium(t)
	must(t, chromedp.Do(alice, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: zoneName})
		return err
	})))
	signInBrowser(t, alice, env.URL, "alice")
	must(t, chromedp.Do(alice, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`time[data-show=moment]`))))
	waitFor(t, alice, fmt.Sprintf(`(() => {
		const shown = document.querySelector("time[data-show=moment]").textContent;
		return [%q, %q].includes(shown) &&
			document.querySelector('[aria-label^="Delete your message sent"]').getAttribute("aria-label") === "Delete your message sent " + shown;
	})()`, clock, dated))
}

// The tab's title starts with how many chats have unread messages: as the
// page comes from the server, and as messages arrive while it is open;
// reading them takes the count away.
func TestMessenger_Browser_UnreadInTheTitle(t *testing.T) {
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, bob, "alice").ID, apptest.MustThread(t, carol, "alice").ID
	apptest.MustSend(t, bob, withBob, "are you there?")

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
	waitFor(t, b, `document.title === "(1) Chats · Parley" && document.body.dataset.live === "open"`)
	apptest.MustSend(t, carol, withCarol, "and me?")
	apptest.MustSend(t, bob, withBob, "hello?")
	waitFor(t, b, `document.title === "(2) Chats · Parley"`)
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+withBob), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.title.startsWith("(1) ") && document.body.dataset.live === "open"`)
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+withCarol), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `!document.title.startsWith("(")`)
}

// A member's open chat, whose newest message came from an app writing
// for them while the page was cut off from the server, is marked read up
// to it once the page catches up, over the message of someone else's
// before it: an app's message moves the member's read marker only when
// nothing came unread before it, so the page cannot take it as read, as
// it takes the member's own message.
func TestMessenger_Browser_CaughtUpChatIsReadPastAnAppsMessage(t *testing.T) {
	env, proxy := behindCut(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	withBob := apptest.MustThread(t, bob, "alice").ID
	apptest.MustSend(t, bob, withBob, "are you there?")
	tok := env.MustToken(t, env.MustPartner(t, "AutoReply"), "alice", []string{"openid", "messages.write"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{withBob}})

	b := liveThread(t, proxy.URL, withBob, "alice")
	proxy.down()
	waitFor(t, b, `document.body.dataset.live === "closed"`)
	apptest.MustSend(t, bob, withBob, "hello?")
	auto, err := env.Client.WithToken(tok.AccessToken).SendMessage(ctx, withBob, "I am away until Monday (sent automatically)", "")
	must(t, err)
	proxy.up()
	waitFor(t, b, fmt.Sprintf(`document.body.dataset.live === "open" && !!document.getElementById("m%d")`, auto.Seq))
	var th *client.ThreadSummary
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if th, err = alice.Thread(ctx, withBob); err != nil || th.LastReadSeq == auto.Seq {
			break
		}
	}
	must(t, err)
	if th.LastReadSeq != auto.Seq || th.UnreadCount != 0 {
		t.Errorf("alice's page caught up with bob's message and the app's (%d) after it: her marker is at %d, %d unread; want %d, 0",
			auto.Seq, th.LastReadSeq, th.UnreadCount, auto.Seq)
	}
}

// A member removed from a group while writing in it is told so, on the
// chats' page the group's page goes to, which names the group and gives
// what they were writing, which can no longer be sent, to copy; the tab
// keeps no draft of it for the group.
func TestMessenger_Browser_RemovedWhileWritingIsToldAndKeepsTheWords(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Kind: "group", Title: "Plans"})
	must(t, err)
	apptest.MustSend(t, alice, group.ID, "hello all")
	b := liveThread(t, env.URL, group.ID, "bob")
	const writing = "a long answer I am half way through writing"
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), writing)))

	must(t, alice.RemoveParticipant(ctx, group.ID, apptest.MustMe(t, bob).ID))
	waitFor(t, b, `location.pathname === "/" && document.readyState === "complete"`)
	if got, want := evaluate[string](t, b, `document.querySelector("main .notice")?.innerText.replace(/[\u2068\u2069]/g, "") ?? "nothing"`), "You are no longer in “Plans”: you left it on another device, or were removed from it."; got != want {
		t.Errorf("removed from the group, bob's page says %q, want %q", got, want)
	}
	if got := evaluate[string](t, b, `document.querySelector("#unsent:not([hidden]) textarea")?.value ?? "not shown"`); got != writing {
		t.Errorf("removed from the group, bob's page offers %q of what he was writing there, want %q", got, writing)
	}
	if draft := evaluate[string](t, b, `sessionStorage.getItem("parley.draft.`+apptest.MustMe(t, bob).ID+`.`+group.ID+`") ?? ""`); draft != "" {
		t.Errorf("the tab keeps a draft for the group bob is no longer in: %s", draft)
	}
	checkAccessibility(t, b, "the chats after removal from a group")
	apptest.Screenshot(t, b, "removed")
}

// A member removed from a group while their page was cut off from the
// server finds, once it reconnects, that they are no longer in it, as when
// removed while connected: the page goes to the chats, not on showing the
// group, live, with a field whose sends can only fail.
func TestMessenger_Browser_RemovedWhileOffline(t *testing.T) {
	env, proxy := behindCut(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Kind: "group", Title: "Plans"})
	must(t, err)
	apptest.MustSend(t, alice, group.ID, "hello all")

	b := liveThread(t, proxy.URL, group.ID, "bob")
	proxy.down()
	waitFor(t, b, `document.body.dataset.live === "closed"`)
	must(t, alice.RemoveParticipant(ctx, group.ID, apptest.MustMe(t, bob).ID))
	proxy.up()
	waitFor(t, b, `document.body.dataset.live === "open" || location.pathname === "/"`)
	time.Sleep(time.Second) // time for the catch-up to finish
	if path := location(t, b).Path; path != "/" {
		t.Errorf("bob, removed from the group while his page was cut off, is left on %s (live: %s), its field to write in shown: %v",
			path, text(t, b, "body[data-live] #live")+evaluate[string](t, b, `document.body.dataset.live`),
			evaluate[bool](t, b, `!!document.querySelector("#send textarea")`))
	}
}

// A member reading older messages still sees the messages the page shows
// as they now are once the connection comes back: one edited, one deleted
// and one reacted to while the page was cut off from the server change on
// the page without a reload, and the page keeps the messages it showed,
// no more. So on a page of older messages (a search's result, a reply's
// quote), which takes no new messages, and on the newest messages
// scrolled up through older ones, more than one page's worth, with the
// changes among the newest.
func TestMessenger_Browser_ShownMessagesCatchUpAfterReconnect(t *testing.T) {
	// changedWhileCut opens the thread's page at path, as alice, once
	// bob sent it n messages, and has open do what she does there. It
	// then cuts the page off, has bob edit, delete and react to the
	// messages numbered seq, seq+1 and seq+2, and checks that the page
	// shows them so once back, and the same messages as before.
	changedWhileCut := func(t *testing.T, n int, path string, open func(t *testing.T, a context.Context), seq int) {
		t.Helper()
		env, proxy := behindCut(t, apptest.Unlimited)
		ctx := context.Background()
		alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
		apptest.MustFriends(t, alice, bob)
		th := apptest.MustThread(t, alice, "bob").ID
		sent := make([]*client.Message, 0, n)
		for i := range n {
			sent = append(sent, apptest.MustSend(t, bob, th, fmt.Sprintf("number %d", i+1)))
		}
		edited, deleted, reacted := sent[seq-1], sent[seq], sent[seq+1]

		a := apptest.Chromium(t)
		signInBrowser(t, a, proxy.URL, "alice")
		must(t, chromedp.Do(a, chromedp.Navigate(proxy.URL+"/t/"+th+path), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
		waitFor(t, a, `document.body.dataset.live === "open"`)
		open(t, a)
		want := fmt.Sprint(seqsShown(t, a))

		proxy.down()
		t.Cleanup(proxy.up)
		waitFor(t, a, `document.body.dataset.live === "closed"`)
		_, err := bob.EditMessage(ctx, edited.ID, fmt.Sprintf("number %d, corrected", seq))
		must(t, err)
		must(t, bob.DeleteMessage(ctx, deleted.ID))
		_, err = bob.React(ctx, reacted.ID, "👍")
		must(t, err)
		proxy.up()
		// The page is live again once it has caught up.
		waitFor(t, a, `document.body.dataset.live === "open"`)

		if got := text(t, a, fmt.Sprintf(`#m%d .bubble`, seq)); got != fmt.Sprintf("number %d, corrected", seq) {
			t.Errorf("the message edited while the page was cut off reads %q after the reconnect, want the edit", got)
		}
		if !evaluate[bool](t, a, fmt.Sprintf(`!!document.querySelector("#m%d .edited")`, seq)) {
			t.Errorf("the message edited while the page was cut off is not marked edited after the reconnect")
		}
		if got := text(t, a, fmt.Sprintf(`#m%d .bubble`, seq+1)); got != "Message deleted" {
			t.Errorf("the message deleted while the page was cut off reads %q after the reconnect, want it deleted", got)
		}
		if got := evaluate[string](t, a, fmt.Sprintf(`[...document.querySelectorAll("#m%d .chip")].map((c) => c.textContent.trim()).join(" ")`, seq+2)); got != "👍 1" {
			t.Errorf("the message reacted to while the page was cut off shows reactions %q after the reconnect, want 👍 1", got)
		}
		if got := fmt.Sprint(seqsShown(t, a)); got != want {
			t.Errorf("the page shows seqs %s after the reconnect, want %s as before", got, want)
		}
		// Last: a window tall enough for the whole conversation loads the
		// messages above it.
		apptest.Screenshot(t, a, "caught-up")
	}

	t.Run("APageOfOlderMessages", func(t *testing.T) {
		changedWhileCut(t, 40, "?before=16#m5", func(t *testing.T, a context.Context) {
			if more := evaluate[string](t, a, `document.getElementById("messages").dataset.more`); more != "true" {
				t.Fatalf("the page of messages before 16 says more=%q, want a page of older messages", more)
			}
		}, 5)
	})

	t.Run("ScrolledUpThroughOlderOnes", func(t *testing.T) {
		// The newest 50, 71 to 120, and the 50 before them loaded above.
		changedWhileCut(t, 120, "", func(t *testing.T, a context.Context) {
			must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#older`))))
			waitFor(t, a, `document.querySelector("#messages > li.msg").dataset.seq === "21"`)
		}, 100)
	})
}

// A member who answers from a page of older messages (a search's result,
// a reply's quote) has the newest messages pulled in under their answer,
// and from then on the page is one of the newest: the other member's
// answer comes in live.
func TestMessenger_Browser_AnswerFromAnOlderPageStaysLive(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	for i := range 40 {
		apptest.MustSend(t, bob, th, "number "+strings.Repeat("i", i%5+1))
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	// The page a search's result leads to: the message and ten after it.
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+th+"?before=16#m5"), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "about number five: yes"), pressEnter(`#text`)))
	waitFor(t, b, bubbleCount("about number five: yes", 1))
	apptest.MustSend(t, bob, th, "great, see you then")
	deadline := time.Now().Add(5 * time.Second)
	for count(t, b, "great, see you then") != 1 {
		if time.Now().After(deadline) {
			seqs := seqsShown(t, b)
			t.Fatalf("bob's answer never shows on alice's page, which shows seqs %d to %d after her message (41), and tells her: %q",
				seqs[0], seqs[len(seqs)-1], evaluate[string](t, b, `document.getElementById("inbox").querySelector(".current").innerText`))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// evaluate runs script in the page and returns its value.
func evaluate[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	must(t, err)
	return v
}
