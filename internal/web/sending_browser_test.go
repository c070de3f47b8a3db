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
		gate := p.gate
		if gate != nil {
			p.held++
		}
		p.mu.Unlock()
		if gate != nil {
			<-gate
		}
		return nil
	}
	p.mu.Lock()
	p.proxy = proxy
	p.mu.Unlock()
}

// holdSends holds back the answers to sends until the function it returns
// is called.
func (p *holdProxy) holdSends() (release func()) {
	gate := make(chan struct{})
	p.mu.Lock()
	p.gate, p.held = gate, 0
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		p.gate = nil
		p.mu.Unlock()
		close(gate)
	}
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
// not lost. It reaches the server, or comes back to the field when the
// member comes back to the chat: a short one, which the browser lets
// outlive the page, and a long one (15,000 Hebrew letters, 75,000 bytes as
// the form encodes them), which it does not.
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
			message := tc.message
			th := apptest.MustThread(t, alice, tc.friend).ID
			b := liveThread(t, proxy.URL, th, "alice")
			writeAndSend(t, b, message)
			// Back to the chats, with the message on its way.
			must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
			time.Sleep(3 * time.Second) // time for the send to arrive, if it goes on
			page, err := alice.Messages(context.Background(), th, client.MessagesQuery{})
			must(t, err)
			if len(page.Messages) == 1 && page.Messages[0].Text == message {
				return // sent
			}
			must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
			waitFor(t, b, `document.body.dataset.live === "open"`)
			if field := evaluate[string](t, b, `document.getElementById("text").value`); field != message {
				t.Errorf("the message sent as the member left the chat is lost: the server holds %d messages, the field, back in the chat, holds %d characters", len(page.Messages), len([]rune(field)))
			}
		})
	}
}

// A long message the server took while its answer was on the way back as
// the member left: back in the chat, the member finds it in the field (the
// page cannot know it was taken), and sending it as it is sends nothing
// more: it keeps its key, and is one message.
func TestMessenger_SendingAndDeleting_Browser_LongMessageTakenAsTheMemberLeftIsOne(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, proxy.URL, th, "alice")
	release := proxy.holdSends()
	writeAndSend(t, b, longHebrew)
	proxy.waitHeld(t, 1)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	release()
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if evaluate[string](t, b, `document.getElementById("text").value`) != longHebrew {
		t.Fatal("the long message on its way as the member left is not back in the field")
	}
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	waitFor(t, b, `document.getElementById("text").value === ""`)
	time.Sleep(2 * time.Second) // time for a second message to arrive, if one goes
	page, err := alice.Messages(context.Background(), th, client.MessagesQuery{})
	must(t, err)
	if len(page.Messages) != 1 {
		t.Errorf("one long message, sent as the member left and again as it came back to the field, is %d messages", len(page.Messages))
	}
}

// Two messages written one after the other as the network drops: the
// server took the first, but its answer was lost on the way back, and the
// second waited behind it. Both come back to the field, as the page cannot
// know the first was taken; sent again as they are once the network is
// back, each is the message it was, with the key it was written with: the
// first is not sent twice, and the page shows each once.
func TestMessenger_SendingAndDeleting_Browser_MessagesGivenBackAreSentOnce(t *testing.T) {
	t.Parallel()
	// The page reaches the server through the proxy that cuts the
	// network, and behind it the one that holds back answers to sends.
	env, cut, hold := behindCutAndHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, cut.URL, th, "alice")

	release := hold.holdSends()
	writeAndSend(t, b, "first")
	hold.waitHeld(t, 1) // the server took it
	writeAndSend(t, b, "second")
	cut.down()
	waitFor(t, b, `document.getElementById("text").value === `+jsString("first\nsecond"))
	release()
	cut.up()
	waitFor(t, b, `document.body.dataset.live === "open"`)
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	waitFor(t, b, `document.getElementById("text").value === "" && [...document.querySelectorAll("#messages li.mine .bubble")].some((b) => b.textContent.includes("second"))`)
	mine := evaluate[[]string](t, b, `[...document.querySelectorAll("#messages li.mine .bubble")].map((b) => b.textContent)`)
	if fmt.Sprint(mine) != "[first second]" {
		t.Errorf("sent again, alice's messages show as %q, want first, then second", mine)
	}
	page, err := alice.Messages(context.Background(), th, client.MessagesQuery{})
	must(t, err)
	var sent []string
	for _, m := range page.Messages {
		sent = append(sent, m.Text)
	}
	if fmt.Sprint(sent) != "[first second]" {
		t.Errorf("sent again, the server holds alice's messages %q, want first, then second", sent)
	}
}

// The same as the member leaves the chat: a long message, too long to
// outlive the page, is on its way (the server takes it, its answer lost),
// and a second waits behind it. Back in the chat, the member finds both in
// the field; sent as they are, the first is not sent twice.
func TestMessenger_SendingAndDeleting_Browser_MessagesWaitingAsTheMemberLeftAreSentOnce(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, proxy.URL, th, "alice")
	release := proxy.holdSends()
	writeAndSend(t, b, longHebrew)
	proxy.waitHeld(t, 1)
	writeAndSend(t, b, "and one more thing")
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	release()
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if evaluate[string](t, b, `document.getElementById("text").value`) != longHebrew+"\nand one more thing" {
		t.Fatal("the two messages on their way as the member left are not back in the field")
	}
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	waitFor(t, b, `document.getElementById("text").value === "" && [...document.querySelectorAll("#messages li.mine .bubble")].some((b) => b.textContent.endsWith("and one more thing"))`)
	page, err := alice.Messages(context.Background(), th, client.MessagesQuery{})
	must(t, err)
	// Long texts are told by their length.
	var sent []string
	for _, m := range page.Messages {
		if n := len([]rune(m.Text)); n > 100 {
			sent = append(sent, fmt.Sprintf("%d characters", n))
		} else {
			sent = append(sent, m.Text)
		}
	}
	if want := []string{fmt.Sprintf("%d characters", len([]rune(longHebrew))), "and one more thing"}; !slices.Equal(sent, want) {
		t.Errorf("sent again, the server holds alice's messages %q, want %q", sent, want)
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

// A long reply the server took as the member left comes back to the field
// with its key; the member then stops answering and leaves and comes back
// once more. Sent as it is, it is another message (it answers nothing),
// and goes with a key of its own, not refused 409 under the first one's.
func TestMessenger_SendingAndDeleting_Browser_DraftKeepsNoKeyOnceTheReplyChanged(t *testing.T) {
	t.Parallel()
	env, proxy := behindHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "what do you think?")
	b := liveThread(t, proxy.URL, th, "alice")
	// Answer bob's message.
	evaluate[bool](t, b, `(document.querySelector("#messages li:not(.mine) .acts .reply").click(), true)`)
	waitFor(t, b, `!document.getElementById("replying").hidden`)
	release := proxy.holdSends()
	writeAndSend(t, b, longHebrew)
	proxy.waitHeld(t, 1)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	release()
	time.Sleep(time.Second)
	page, err := alice.Messages(context.Background(), th, client.MessagesQuery{})
	must(t, err)
	if len(page.Messages) != 2 {
		t.Fatalf("the held reply was not taken: %d messages", len(page.Messages))
	}
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if evaluate[string](t, b, `document.getElementById("text").value`) != longHebrew {
		t.Fatal("the long reply is not back in the field")
	}
	// The member no longer answers bob's message, and goes away and back.
	evaluate[bool](t, b, `(document.querySelector("#replying .unreply").click(), true)`)
	waitFor(t, b, `document.getElementById("replying").hidden`)
	must(t, chromedp.Do(b, chromedp.Click(chromedp.CSS(`header.bar a.brand`)), chromedp.WaitVisible(chromedp.CSS(`.welcome`))))
	must(t, chromedp.Do(b, chromedp.Navigate(proxy.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if !evaluate[bool](t, b, `document.getElementById("replying").hidden`) {
		t.Fatal("the field answers a message again")
	}
	must(t, chromedp.Do(b, pressEnter(`#text`)))
	time.Sleep(3 * time.Second)
	page, err = alice.Messages(context.Background(), th, client.MessagesQuery{})
	must(t, err)
	field := evaluate[string](t, b, `document.getElementById("text").value`)
	said := evaluate[string](t, b, `(document.querySelector("[role=status]") || document.getElementById("live") || {textContent: ""}).textContent`)
	if len(page.Messages) != 3 || field != "" {
		t.Errorf("the message, no longer a reply, sent again: the server holds %d messages (want 3), the field holds %d characters, the page says %q",
			len(page.Messages), len([]rune(field)), said)
	}
}

// A message the server took, its answer lost, comes back to the field;
// once the network is back the member sees it arrived, and empties the
// field. What they write next is a new message, even in the same words
// ("yes" to a new question): it goes with a key of its own, not with the
// key of the message given back, which the server would answer with the
// message it holds, sending nothing.
func TestMessenger_SendingAndDeleting_Browser_TheSameWordsWrittenAfterEmptyingTheFieldAreSent(t *testing.T) {
	t.Parallel()
	env, cut, hold := behindCutAndHold(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	b := liveThread(t, cut.URL, th, "alice")

	release := hold.holdSends()
	writeAndSend(t, b, "yes")
	hold.waitHeld(t, 1) // the server took it
	cut.down()
	waitFor(t, b, `document.getElementById("text").value === "yes"`)
	release()
	cut.up()
	waitFor(t, b, `document.body.dataset.live === "open" && `+bubbleCount("yes", 1))
	// It arrived: the member empties the field (Ctrl+A, Backspace).
	evaluate[bool](t, b, `(document.getElementById("text").select(), true)`)
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), kb.Backspace)))
	waitFor(t, b, `document.getElementById("text").value === ""`)

	apptest.MustSend(t, bob, th, "and tomorrow?")
	waitFor(t, b, bubbleCount("and tomorrow?", 1))
	must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "yes"), pressEnter(`#text`)))
	var sent []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		page, err := alice.Messages(context.Background(), th, client.MessagesQuery{})
		must(t, err)
		sent = sent[:0]
		for _, m := range page.Messages {
			sent = append(sent, m.Text)
		}
		if len(sent) == 3 || time.Now().After(deadline) {
			break
		}
	}
	if want := []string{"yes", "and tomorrow?", "yes"}; !slices.Equal(sent, want) {
		t.Fatalf("the server holds %q, want %q: the second yes was lost", sent, want)
	}
	waitFor(t, b, bubbleCount("yes", 2))
}
