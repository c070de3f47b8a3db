package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// In a browser, through a proxy that can hold back the server's answers to
// sends: a message written while the one before it is on its way is sent
// too, after it, and neither the member nor a screen reader hears of keys;
// a message deleted with the keyboard leaves focus on it; the list of
// messages is no live region, so older messages loaded on scroll are not
// read out, while one that comes in is; and a send answered 401 goes to
// sign in, with the chat as where to come back to.
func TestMessenger_SendingAndDeleting_Browser(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	bob := env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := range 60 {
		apptest.MustSend(t, bob, th.ID, fmt.Sprintf("number %d", i+1))
	}
	b := apptest.Chromium(t)
	signInBrowser(t, b, proxy.URL, "alice")
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th.ID), chromedp.WaitVisible(chromedp.CSS(`#older`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)

	t.Run("OnlyNewMessagesAreReadOut", func(t *testing.T) {
		if live, err := chromedp.Run(b, chromedp.Evaluate[bool](`!!document.getElementById("messages").closest("[aria-live]")`)); err != nil || live {
			t.Errorf("the list of messages is in a live region (%v): every message loaded is read out", err)
		}
		_, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.querySelector(".conversation").scrollTop = 0; true`))
		must(t, err)
		waitFor(t, b, `document.querySelectorAll("#messages > li.msg").length === 60 && !document.getElementById("older")`)
		if got := text(t, b, `#heard`); got != "" {
			t.Errorf("loading older messages has screen readers read %q", got)
		}
		apptest.MustSend(t, bob, th.ID, "are you there?")
		waitFor(t, b, `document.getElementById("heard").textContent === "Member bob: are you there?"`)
	})

	t.Run("QuickSendsBothArriveInOrder", func(t *testing.T) {
		release := proxy.holdSends()
		must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "first"), pressEnter(`#text`)))
		proxy.waitHeld(t, 1)
		must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "second"), pressEnter(`#text`)))
		if got := text(t, b, `#text`); got != "" {
			t.Errorf("while the first message is on its way, the field keeps %q", got)
		}
		time.Sleep(300 * time.Millisecond) // the second has time to go, if it would
		release()
		waitFor(t, b, bubbleCount("first", 1)+" && "+bubbleCount("second", 1))
		mine, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#messages li.mine .bubble")].map(b => b.textContent)`))
		must(t, err)
		if fmt.Sprint(mine) != "[first second]" {
			t.Errorf("alice's messages show as %q, want first, then second", mine)
		}
		if got := text(t, b, `#live`) + text(t, b, `#text`); got != "" {
			t.Errorf("after two quick sends the page says %q", got)
		}
		page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
		must(t, err)
		var sent []string
		for _, m := range page.Messages {
			if m.Sender.Username == "alice" {
				sent = append(sent, m.Text)
			}
		}
		if fmt.Sprint(sent) != "[first second]" {
			t.Errorf("the server holds alice's messages %q, want first, then second", sent)
		}
	})

	t.Run("DeletingWithTheKeyboardKeepsFocus", func(t *testing.T) {
		id, err := chromedp.Run(b, chromedp.Evaluate[string](`[...document.querySelectorAll("#messages li.mine")].find(li => li.querySelector(".bubble").textContent === "second").id`))
		must(t, err)
		must(t, chromedp.Do(b, pressEnter(`#`+id+` .delete summary`), chromedp.WaitVisible(chromedp.CSS(`#`+id+` .delete button`))))
		// Escape takes back the Delete, focus back on it; Delete again, and
		// its confirmation, delete.
		must(t, chromedp.Do(b, chromedp.KeyEvent(kb.Escape)))
		if open, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.querySelector("#`+id+` .delete").open || !document.activeElement.matches("#`+id+` .delete summary")`)); err != nil || open {
			t.Errorf("Escape left the confirmation open, or focus away from Delete (%v)", err)
		}
		must(t, chromedp.Do(b, pressEnter(`#`+id+` .delete summary`), chromedp.WaitVisible(chromedp.CSS(`#`+id+` .delete button`)), pressEnter(`#`+id+` .delete button`)))
		waitFor(t, b, fmt.Sprintf(`document.getElementById(%q).classList.contains("deleted")`, id))
		if got, err := chromedp.Run(b, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.tagName`)); err != nil || got != id {
			t.Errorf("after deleting a message with the keyboard, focus is on %q (%v), want the message, %s", got, err, id)
		}
		waitFor(t, b, `document.getElementById("heard").textContent === "Message deleted."`)
		apptest.Screenshot(t, b, "deleted-focused")
		checkAccessibility(t, b, "thread, a message deleted with the keyboard")
	})

	t.Run("SendAnswered401GoesToSignIn", func(t *testing.T) {
		// The proxy answers 401 for a session the server still holds, so
		// the sign-in page, asked for, sends the browser straight back to
		// the chat (its next): the proxy saw where the page went.
		proxy.refuseSends()
		must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "third"), pressEnter(`#text`)))
		proxy.waitAsked(t, "/sign-in?done=ended&next="+url.QueryEscape("/t/"+th.ID))
		waitFor(t, b, `location.pathname === `+fmt.Sprintf("%q", "/t/"+th.ID)+` && document.readyState === "complete"`)
	})
}

// holdProxy forwards HTTP, WebSockets included, to the server. The test
// can hold back the server's answers to sends (a message posted to
// /t/{id}/messages), which the server has acted on, as a slow network
// would, or answer them 401 itself, as for a session that ended.
type holdProxy struct {
	URL    string
	server *httptest.Server

	mu     sync.Mutex
	proxy  *httputil.ReverseProxy
	gate   chan struct{}
	held   int
	refuse bool
	// delay, when set, is how long a send takes to reach the server, as
	// on a slow uplink: one the browser gives up on meanwhile never does.
	delay time.Duration
	// gaveUp, when set, is the status the proxy answers a send with once
	// the server took it, as a gateway that gave up waiting for the
	// server's answer does (504).
	gaveUp int
	// asked are the addresses of the pages asked for.
	asked []string
}

var sendPath = regexp.MustCompile(`^/t/[^/]+/messages$`)

func newHoldProxy(t *testing.T) *holdProxy {
	p := &holdProxy{}
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		proxy, refuse, delay := p.proxy, p.refuse, p.delay
		if r.Method == http.MethodGet {
			p.asked = append(p.asked, r.URL.RequestURI())
		}
		p.mu.Unlock()
		if r.Method == http.MethodPost && sendPath.MatchString(r.URL.Path) && refuse {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost && sendPath.MatchString(r.URL.Path) && delay > 0 {
			// Read whole first: only then does net/http watch the
			// connection, and end the request's context when it closes.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(p.server.Close)
	p.URL = p.server.URL
	return p
}

func (p *holdProxy) forwardTo(t *testing.T, target string) {
	u, err := url.Parse(target)
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		if r.Method != http.MethodPost || !sendPath.MatchString(r.URL.Path) {
			return nil
		}
		p.mu.Lock()
		gate, gaveUp := p.gate, p.gaveUp
		if gate != nil {
			p.held++
		}
		p.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if gaveUp != 0 {
			resp.Body.Close()
			resp.StatusCode, resp.Status = gaveUp, http.StatusText(gaveUp)
			resp.Body, resp.ContentLength = http.NoBody, 0
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	p.mu.Lock()
	p.proxy = proxy
	p.mu.Unlock()
}

// holdSends holds back the answers to sends until the function it returns
// is called, once or more (a test that stops early calls it again, so
// that the server can stop).
func (p *holdProxy) holdSends() (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate, p.held = gate, 0
	p.mu.Unlock()
	return sync.OnceFunc(func() {
		p.mu.Lock()
		p.gate = nil
		p.mu.Unlock()
		close(gate)
	})
}

// waitHeld waits until n answers are held back.
func (p *holdProxy) waitHeld(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		if held >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d answers to sends held back, want %d", held, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAsked waits until the page at uri is asked for.
func (p *holdProxy) waitAsked(t *testing.T, uri string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		asked := slices.Contains(p.asked, uri)
		p.mu.Unlock()
		if asked {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not asked for", uri)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// behindCut starts a server, with options, that the page reaches through
// the proxy that cuts the network.
func behindCut(t *testing.T, options ...func(*config.Config)) (*apptest.Env, *cutProxy) {
	t.Helper()
	cut := newCutProxy(t)
	env := apptest.Start(t, append(options, publicAt(cut.URL))...)
	cut.forwardTo(strings.TrimPrefix(env.URL, "http://"))
	return env, cut
}

// behindHold starts a server, with options, that the page reaches through
// the proxy that holds sends on their way.
func behindHold(t *testing.T, options ...func(*config.Config)) (*apptest.Env, *holdProxy) {
	t.Helper()
	hold := newHoldProxy(t)
	env := apptest.Start(t, append(options, publicAt(hold.URL))...)
	hold.forwardTo(t, env.URL)
	return env, hold
}

// behindCutAndHold starts a server, with options, that the page reaches
// through the proxy that cuts the network (cut), and behind it the one
// that holds sends on their way (hold): what cut stops is lost on the
// network; what hold keeps has reached it, or not yet the server.
func behindCutAndHold(t *testing.T, options ...func(*config.Config)) (*apptest.Env, *cutProxy, *holdProxy) {
	t.Helper()
	cut, hold := newCutProxy(t), newHoldProxy(t)
	env := apptest.Start(t, append(options, publicAt(cut.URL))...)
	hold.forwardTo(t, env.URL)
	cut.forwardTo(strings.TrimPrefix(hold.URL, "http://"))
	return env, cut, hold
}

// publicAt is the option of a server whose pages are reached at public, a
// proxy's URL.
func publicAt(public string) func(*config.Config) {
	return func(c *config.Config) { c.PublicURL = public }
}

// refuseSends answers every send 401 from now on.
func (p *holdProxy) refuseSends() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = true
}

// A message sent with Enter is on its way, the field empty for the next,
// when the member goes back to the chats on a slow network: the message is
// not lost, nor sent twice. It reaches the server as the page goes (a
// short one, which the browser lets outlive the page), or when the member
// comes back to the chat (a long one, 15,000 Hebrew letters, 75,000 bytes
// as the form encodes them, which it does not): the page sends it again,
// with its key.
func TestMessenger_SendingAndDeleting_Browser_LeavingWhileAMessageIsOnItsWay(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	proxy.mu.Lock()
	proxy.delay = 1500 * time.Millisecond
	proxy.mu.Unlock()
	alice := env.MustMember(t, "alice")
	for name, tc := range map[string]struct{ friend, message string }{
		"Short": {"bob", "see you at eight"},
		"Long":  {"carol", longHebrew},
	} {
		apptest.MustFriends(t, alice, env.MustMember(t, tc.friend))
		t.Run(name, func(t *testing.T) {
			th := apptest.MustThread(t, alice, tc.friend).ID
			b := liveThread(t, proxy.URL, th, "alice")
			writeAndSend(t, b, tc.message)
			// Back to the chats, with the message on its way.
			must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
			time.Sleep(3 * time.Second) // time for the send to arrive, if it goes on
			must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
			waitFor(t, b, `document.body.dataset.live === "open"`)
			if got, want := heldSettled(t, alice, th, 1), []string{told(tc.message) + " answers 0"}; !slices.Equal(got, want) {
				t.Errorf("the message sent as the member left the chat: the server holds %q, want %q; back in the chat, the field holds %d characters",
					got, want, len([]rune(evaluate[string](t, b, `document.getElementById("text").value`))))
			}
			waitFor(t, b, bubbleCount(tc.message, 1)+` && document.getElementById("outbox").hidden`)
		})
	}
}

// A short message is on its way as the member goes back to the chats (the
// browser lets it outlive the page, but the uplink is slow), and then the
// network drops: it never reaches the server. It is not lost: back in the
// chat, the page sends it, with the key it was written with, and the
// server holds it once. (An earlier page left it out of the draft, as
// sure to outlive the page.)
func TestMessenger_SendingAndDeleting_Browser_AMessageOnItsWayAsTheMemberLeftIsNotLostWhenTheNetworkDrops(t *testing.T) {
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
	writeAndSend(t, b, "see you at eight")
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	cut.down()
	time.Sleep(500 * time.Millisecond) // time for a browser's retry of the send, which the cut refuses
	hold.mu.Lock()
	hold.delay = 0
	hold.mu.Unlock()
	cut.up()
	if got := held(t, alice, th); len(got) != 0 {
		t.Fatalf("the network cut, the server holds %q, want nothing", got)
	}
	must(t, chromedp.Do(b, chromedp.Navigate(cut.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if got, want := heldSettled(t, alice, th, 1), []string{`"see you at eight" answers 0`}; !slices.Equal(got, want) {
		t.Fatalf("back in the chat, the server holds %q, want %q: the message is lost (the field holds %q)",
			got, want, evaluate[string](t, b, `document.getElementById("text").value`))
	}
	waitFor(t, b, bubbleCount("see you at eight", 1)+` && document.getElementById("outbox").hidden`)
}

// A long message the server took while its answer was on the way back as
// the member left: back in the chat, the page, which cannot know it was
// taken, sends it again with its key, and the server answers with the
// message it holds: it is one message, shown once.
func TestMessenger_SendingAndDeleting_Browser_LongMessageTakenAsTheMemberLeftIsOne(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, proxy.URL, th, "alice")
	release := proxy.holdSends()
	defer release()
	writeAndSend(t, b, longHebrew)
	proxy.waitHeld(t, 1)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	release()
	// While the server's answer to the page's sending it again is on its
	// way, the page shows it once, in the list, which shows it already.
	again := proxy.holdSends()
	defer again()
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	proxy.waitHeld(t, 1)
	if shown := evaluate[[]int](t, b, `[document.querySelectorAll("#messages li.mine").length, document.querySelectorAll("#outbox:not([hidden]) li").length]`); !slices.Equal(shown, []int{1, 0}) {
		t.Errorf("back in the chat, the page shows the message %d times in the list and %d as not sent yet, want once, in the list", shown[0], shown[1])
	}
	again()
	waitFor(t, b, `document.body.dataset.live === "open"`)
	waitFor(t, b, bubbleCount(longHebrew, 1)+` && document.getElementById("outbox").hidden && document.getElementById("text").value === ""`)
	if got, want := heldSettled(t, alice, th, 1), []string{told(longHebrew) + " answers 0"}; !slices.Equal(got, want) {
		t.Errorf("one long message, sent as the member left and again as they came back: the server holds %q, want %q", got, want)
	}
}

// The same as the member leaves the chat: a long message, too long to
// outlive the page, is on its way (the server takes it, its answer lost),
// and a second waits behind it. Back in the chat, the page sends both, as
// they were, each with its key: the first is not sent twice, nor is the
// second lost.
func TestMessenger_SendingAndDeleting_Browser_MessagesWaitingAsTheMemberLeftAreSentOnce(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, proxy.URL, th, "alice")
	release := proxy.holdSends()
	defer release()
	writeAndSend(t, b, longHebrew)
	proxy.waitHeld(t, 1)
	writeAndSend(t, b, "and one more thing")
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	release()
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	want := []string{told(longHebrew) + " answers 0", `"and one more thing" answers 0`}
	if got := heldSettled(t, alice, th, len(want)); !slices.Equal(got, want) {
		t.Errorf("back in the chat, the server holds %q, want %q", got, want)
	}
	waitFor(t, b, bubbleCount("and one more thing", 1)+` && document.getElementById("outbox").hidden && document.getElementById("text").value === ""`)
}

// Two messages written one after the other as the network drops: the
// server took the first, but its answer was lost on the way back, and the
// second waited behind it. The field stays free; both show under the
// messages as not sent yet, and once the network is back the page sends
// each again as it was, with the key it was written with: the first is
// not sent twice, and the page shows each once.
func TestMessenger_SendingAndDeleting_Browser_MessagesCutOffAreSentAgainOnce(t *testing.T) {
	t.Parallel()
	// The page reaches the server through the proxy that cuts the
	// network, and behind it the one that holds back answers to sends.
	env, cut, hold := behindCutAndHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, cut.URL, th, "alice")

	release := hold.holdSends()
	defer release()
	writeAndSend(t, b, "first")
	hold.waitHeld(t, 1) // the server took it
	writeAndSend(t, b, "second")
	cut.down()
	waitFor(t, b, `document.getElementById("live").textContent.startsWith("You are offline")`)
	// The first shows once: in the list, if the page heard of it before
	// the cut, or else as not sent yet, before the second.
	sent := evaluate[[]string](t, b, `[...document.querySelectorAll("#messages li.mine .bubble")].map((b) => b.textContent)`)
	waiting := evaluate[[]string](t, b, `[...document.querySelectorAll("#outbox li")].map((li) => li.querySelector(".meta").textContent + ": " + li.querySelector(".bubble").textContent)`)
	if shown := fmt.Sprintf("sent %q, not sent yet %q", sent, waiting); shown != `sent ["first"], not sent yet ["Not sent yet: second"]` && shown != `sent [], not sent yet ["Not sent yet: first" "Not sent yet: second"]` {
		t.Errorf("with the network cut, the page shows alice's messages %s, want first once, then second not sent yet", shown)
	}
	apptest.Screenshot(t, b, "not-sent-yet")
	checkAccessibility(t, b, "thread, messages not sent yet")
	release()
	cut.up()
	waitFor(t, b, `document.body.dataset.live === "open" && document.getElementById("outbox").hidden && `+bubbleCount("second", 1))
	mine := evaluate[[]string](t, b, `[...document.querySelectorAll("#messages li.mine .bubble")].map((b) => b.textContent)`)
	if fmt.Sprint(mine) != "[first second]" {
		t.Errorf("sent again, alice's messages show as %q, want first, then second", mine)
	}
	if got, want := heldSettled(t, alice, th, 2), []string{`"first" answers 0`, `"second" answers 0`}; !slices.Equal(got, want) {
		t.Errorf("sent again, the server holds %q, want %q", got, want)
	}
}

// The network drops as the member answers a question: "yes", a reply,
// reached the server, its answer lost on the way back, and "at 8", which
// answers nothing, waited behind it. Once the network is back the member,
// answering nothing, presses Enter on what the field holds. Each message
// is stored once, answering what it answered as it was written. (An
// earlier page gave the two back to the field, which then answered
// "dinner?"; once the member stopped answering it, they went as one new
// message with a new key, and the server held "yes" twice.)
func TestMessenger_SendingAndDeleting_Browser_AReplyCutOffIsStoredOnceWhateverTheFieldAnswersNext(t *testing.T) {
	t.Parallel()
	env, cut, hold := behindCutAndHold(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "dinner?")
	b := liveThread(t, cut.URL, th, "alice")

	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .reply`))))
	waitFor(t, b, `!document.getElementById("replying").hidden`)
	release := hold.holdSends()
	defer release()
	writeAndSend(t, b, "yes")
	hold.waitHeld(t, 1) // the server took it
	writeAndSend(t, b, "at 8")
	cut.down()
	waitFor(t, b, `document.getElementById("live").textContent !== ""`)
	release()
	cut.up()
	waitFor(t, b, `document.body.dataset.live === "open"`)
	evaluate[bool](t, b, `(document.querySelector("#replying .unreply").click(), true)`)
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	want := []string{`"dinner?" answers 0`, `"yes" answers 1`, `"at 8" answers 0`}
	if got := heldSettled(t, alice, th, len(want)); !slices.Equal(got, want) {
		t.Errorf("the server holds %q, want %q", got, want)
	}
	waitFor(t, b, `document.getElementById("outbox").hidden && document.querySelectorAll("#messages li.mine").length === 2`)
}

// A long reply (too long to outlive its page) that the server took as the
// member left, its answer lost; the member comes back to the chat by
// another message's Reply, to a page that answers a message of its own
// (?reply=2), and presses Enter on what the field holds. The page sends
// the reply again, with its key and answering what it answered, and the
// server holds it once; the field is the page's, answering message 2.
// (An earlier page gave the reply back to the field, whose ?reply= took
// its key away: sent, it was stored twice.)
func TestMessenger_SendingAndDeleting_Browser_AReplyTakenAsTheMemberLeftIsOneOnAPageThatAnswersAnother(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "what do you think?")
	apptest.MustSend(t, bob, th, "and when?")
	b := liveThread(t, proxy.URL, th, "alice")
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`#m1 .reply`))))
	waitFor(t, b, `!document.getElementById("replying").hidden`)
	release := proxy.holdSends()
	defer release()
	writeAndSend(t, b, longHebrew)
	proxy.waitHeld(t, 1)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	release()
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th+"?reply=2"), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	want := []string{`"what do you think?" answers 0`, `"and when?" answers 0`, told(longHebrew) + " answers 1"}
	if got := heldSettled(t, alice, th, len(want)); !slices.Equal(got, want) {
		t.Errorf("the server holds %q, want %q", got, want)
	}
	if answers := evaluate[string](t, b, `document.getElementById("replying").hidden ? "" : document.querySelector("[name=reply_to]").value`); answers != "2" {
		t.Errorf("back in the chat by message 2's Reply, the field answers %q", answers)
	}
}

// A message the server refuses (more than the 16,000 characters a message
// may hold) was not taken: it comes back to the field, with the message
// written after it, which would read wrong without it, to be changed, and
// the status line says why; the server holds neither.
func TestMessenger_SendingAndDeleting_Browser_RefusedMessagesComeBackToTheField(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, proxy.URL, th, "alice")
	tooLong := strings.Repeat("a", 16001)
	release := proxy.holdSends()
	defer release()
	writeAndSend(t, b, tooLong)
	proxy.waitHeld(t, 1) // refused, the answer on its way back
	writeAndSend(t, b, "sorry, that was long")
	release()
	waitFor(t, b, `document.getElementById("text").value === `+jsString(tooLong+"\nsorry, that was long")+` && document.getElementById("outbox").hidden`)
	if said := text(t, b, "#live"); !strings.Contains(said, "16000") && !strings.Contains(said, "16,000") {
		t.Errorf("the status line says %q, want why the message was refused", said)
	}
	if got := held(t, alice, th); len(got) != 0 {
		t.Errorf("the server holds %q, want nothing", got)
	}
}

// longHebrew is a message of 15,000 characters, within the 16,000 one may
// hold, that the form encodes as some 75,000 bytes (%D7%A9 a letter): more
// than a browser lets outlive its page.
var longHebrew = strings.TrimSpace(strings.Repeat("שלום ", 3000))

// writeAndSend puts text in the message field and sends it with Enter, and
// waits until the field is empty for the next.
func writeAndSend(t *testing.T, b context.Context, text string) {
	t.Helper()
	evaluate[bool](t, b, `(document.getElementById("text").value = `+jsString(text)+`, true)`)
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	waitFor(t, b, `document.getElementById("text").value === ""`)
}

// held returns the messages the server holds in the thread, as the member
// reads them through the API, oldest first, each as `"text" answers N`
// (N the seq it answers, 0 for none), a long text told by its length.
func held(t *testing.T, member *client.Client, threadID string) []string {
	t.Helper()
	page, err := member.Messages(context.Background(), threadID, client.MessagesQuery{})
	must(t, err)
	var got []string
	for _, m := range page.Messages {
		got = append(got, fmt.Sprintf("%s answers %d", told(m.Text), m.ReplyToSeq))
	}
	return got
}

// heldSettled waits until the server holds at least n messages in the
// thread, for 10 seconds at most, then a second more, time for a message
// sent twice to arrive twice, and returns what it holds then (held).
func heldSettled(t *testing.T, member *client.Client, threadID string, n int) []string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(held(t, member, threadID)) < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	return held(t, member, threadID)
}

// told is a message's text as held tells it: quoted, or, longer than 100
// characters, its length.
func told(text string) string {
	if n := len([]rune(text)); n > 100 {
		return fmt.Sprintf("%d characters", n)
	}
	return fmt.Sprintf("%q", text)
}

// A message the server took, its answer lost, is sent again with its key
// once the network is back, and shows once. What the member writes next
// is a new message, even in the same words ("yes" to a new question): it
// goes with a key of its own, not with the key of the message sent again,
// which the server would answer with the message it holds, sending
// nothing.
func TestMessenger_SendingAndDeleting_Browser_TheSameWordsWrittenAfterAMessageCutOffAreSent(t *testing.T) {
	t.Parallel()
	env, cut, hold := behindCutAndHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, cut.URL, th, "alice")

	release := hold.holdSends()
	defer release()
	writeAndSend(t, b, "yes")
	hold.waitHeld(t, 1) // the server took it
	cut.down()
	waitFor(t, b, `document.getElementById("live").textContent !== ""`)
	release()
	cut.up()
	waitFor(t, b, `document.body.dataset.live === "open" && document.getElementById("outbox").hidden && `+bubbleCount("yes", 1))

	apptest.MustSend(t, bob, th, "and tomorrow?")
	waitFor(t, b, bubbleCount("and tomorrow?", 1))
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "yes"), pressEnter(`#text`)))
	want := []string{`"yes" answers 0`, `"and tomorrow?" answers 0`, `"yes" answers 0`}
	if got := heldSettled(t, alice, th, len(want)); !slices.Equal(got, want) {
		t.Fatalf("the server holds %q, want %q: the second yes was lost", got, want)
	}
	waitFor(t, b, bubbleCount("yes", 2))
}

// A gateway that gave up waiting for the server's answer to a send (504),
// which the server took meanwhile: the page cannot know it was taken, and
// sends it again, with its key, a moment later, the field free meanwhile;
// the server answers with the message it holds, which shows once. The page
// says, in words a member knows, that Parley is not answering, not a
// status code.
func TestMessenger_SendingAndDeleting_Browser_AMessageAGatewayGaveUpOnIsSentAgainOnce(t *testing.T) {
	t.Parallel()
	sentAgainOnceAfter(t, http.StatusGatewayTimeout, "Parley isn't answering just now: your message will be sent when it is.")
}

// A send a gateway answers 502, as it does while the server behind it is
// down, is sent again the same way, and the page says Parley is not
// answering, not that something went wrong (502).
func TestMessenger_SendingAndDeleting_Browser_AMessageSentWhileParleyIsDownIsSentOnceItIsBack(t *testing.T) {
	t.Parallel()
	sentAgainOnceAfter(t, http.StatusBadGateway, "Parley isn't answering just now: your message will be sent when it is.")
}

// A send the server answers 503, as when it cannot reach its database
// (it may have stored the message or not), is sent again the same way, and
// the page says the server cannot take messages just now, not that
// something went wrong.
func TestMessenger_SendingAndDeleting_Browser_AMessageTheServerCouldNotTakeIsSentAgainOnce(t *testing.T) {
	t.Parallel()
	sentAgainOnceAfter(t, http.StatusServiceUnavailable, "Parley cannot take messages just now: your message will be sent again in a moment.")
}

// sentAgainOnceAfter sends a message the server takes but whose answer
// reaches the page as status, and checks that the page says so, frees the
// field, and sends it again with its key until it shows, once.
func sentAgainOnceAfter(t *testing.T, status int, said string) {
	t.Helper()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, proxy.URL, th, "alice")
	proxy.mu.Lock()
	proxy.gaveUp = status
	proxy.mu.Unlock()
	writeAndSend(t, b, "are we still on?")
	waitFor(t, b, `document.getElementById("live").textContent === `+strconv.Quote(said))
	if field := evaluate[string](t, b, `document.getElementById("text").value`); field != "" {
		t.Errorf("after a %d, the field holds %q, want it free", status, field)
	}
	proxy.mu.Lock()
	proxy.gaveUp = 0
	proxy.mu.Unlock()
	waitFor(t, b, bubbleCount("are we still on?", 1)+` && document.getElementById("outbox").hidden && document.getElementById("live").textContent === ""`)
	if got, want := heldSettled(t, alice, th, 1), []string{`"are we still on?" answers 0`}; !slices.Equal(got, want) {
		t.Errorf("the server holds %q, want %q", got, want)
	}
}

// Messages written while a send waits, refused as too many, wait their
// turn: Enter queues them, and sends nothing before the time the refusal
// said (Retry-After), which a send at once would only make longer, each
// refusal counting against the member's allowance. Every message arrives
// once, in order.
func TestMessenger_SendingAndDeleting_Browser_MessagesWrittenWhileRefusedAsTooManyWaitTheirTurn(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = 0.5, 3 })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, env.URL, th, "bob")
	// Every send, when it went and when its answer came, with the answer's
	// status and Retry-After.
	evaluate[bool](t, b, `window.sends = [], window.fetch = ((fetch) => async (url, options) => {
		const send = options?.method === "POST" && /\/messages$/.test(url);
		const start = performance.now();
		const r = await fetch(url, options);
		if (send) window.sends.push({ start, end: performance.now(), status: r.status, after: Number(r.headers.get("Retry-After")) || 0 });
		return r;
	})(window.fetch), true`)
	for i := 1; i <= 4; i++ {
		writeAndSend(t, b, fmt.Sprintf("fast %d", i))
	}
	waitFor(t, b, `window.sends.some((s) => s.status === 429)`)
	writeAndSend(t, b, "fast 5")
	writeAndSend(t, b, "fast 6")
	waitFor(t, b, bubbleCount("fast 6", 1)+` && document.getElementById("outbox").hidden`)

	got := evaluate[[]string](t, b, `[...document.querySelectorAll("#messages li.msg .bubble")].map((b) => b.textContent)`)
	if want := []string{"fast 1", "fast 2", "fast 3", "fast 4", "fast 5", "fast 6"}; !slices.Equal(got, want) {
		t.Errorf("the page shows %q, want %q", got, want)
	}
	type send struct {
		Start, End float64
		Status     int
		After      float64
	}
	sends := evaluate[[]send](t, b, `window.sends`)
	for i, s := range sends[:len(sends)-1] {
		next := sends[i+1]
		if s.Status == http.StatusTooManyRequests && next.Start < s.End+1000*s.After-50 {
			t.Errorf("a send refused as too many, to come back after %gs, was followed by another %.0f ms later", s.After, next.Start-s.End)
		}
	}
}
