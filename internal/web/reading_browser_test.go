package web_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
)

// A member looks at a chat again while the network is down, and reads
// the message that came while they looked away: the page's read-marker
// post fails. Once the connection is back, the page marks it read after
// all, once, so that the inbox and the member's other devices no longer
// count it unread; but it posts nothing when another device of theirs
// marked it read meanwhile, as the server has it already.
func TestMessenger_Browser_ReadDuringABlipIsMarkedOnceBack(t *testing.T) {
	t.Parallel()
	env, proxy := behindCut(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice").ID
	apptest.MustSend(t, bob, th, "hello")
	a := liveThread(t, proxy.URL, th, "alice")
	reads := watchReads(t, a)

	// readOffline has bob's message come while alice's page is out of
	// sight (its window minimized), which leaves it unread, and alice look
	// at the page again while the network is down: the page marks it read,
	// and that post fails.
	readOffline := func(t *testing.T, message string) (seq int64) {
		t.Helper()
		must(t, chromedp.Do(a, windowState(browser.WindowStateMinimized)))
		waitFor(t, a, `document.visibilityState === "hidden"`)
		sent := apptest.MustSend(t, bob, th, message)
		waitFor(t, a, bubbleCount(message, 1))
		proxy.down()
		t.Cleanup(proxy.up)
		waitFor(t, a, `document.body.dataset.live === "closed"`)
		must(t, chromedp.Do(a, windowState(browser.WindowStateNormal)))
		reads.waitFor(t, fmt.Sprintf("%d failed", sent.Seq))
		return sent.Seq
	}

	t.Run("PostedAgainOnceBack", func(t *testing.T) {
		seq := readOffline(t, "are you there?")
		proxy.up()
		failed, marked := fmt.Sprintf("%d failed", seq), fmt.Sprintf("%d answered 204", seq)
		reads.waitFor(t, failed, marked)
		if s, err := alice.Thread(ctx, th); err != nil || s.LastReadSeq != seq || s.UnreadCount != 0 {
			t.Fatalf("alice's other devices see the chat read up to %d, %d unread (%v), want all read", s.LastReadSeq, s.UnreadCount, err)
		}
		// Nothing more is posted: the next post marks bob's next message.
		next := apptest.MustSend(t, bob, th, "good")
		reads.waitFor(t, failed, marked, fmt.Sprintf("%d answered 204", next.Seq))
	})

	t.Run("NotPostedWhenReadElsewhere", func(t *testing.T) {
		reads.reset()
		seq := readOffline(t, "still there?")
		// Meanwhile alice reads it on her phone.
		must(t, alice.MarkRead(ctx, th, seq))
		proxy.up()
		waitFor(t, a, `document.body.dataset.live === "open"`)
		next := apptest.MustSend(t, bob, th, "later, then")
		reads.waitFor(t, fmt.Sprintf("%d failed", seq), fmt.Sprintf("%d answered 204", next.Seq))
	})
}

// windowState minimizes the browser's window (browser.WindowStateMinimized),
// which puts its page out of sight (document.visibilityState "hidden"), as
// a member who looks at another window does, or restores it
// (browser.WindowStateNormal).
func windowState(state browser.WindowState) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		w, err := cdp.Call(ctx, tg, browser.GetWindowForTarget, browser.GetWindowForTargetParams{})
		if err != nil {
			return err
		}
		_, err = cdp.Call(ctx, tg, browser.SetWindowBounds, browser.SetWindowBoundsParams{WindowID: w.WindowID, Bounds: &browser.Bounds{WindowState: state}})
		return err
	})
}

// readPosts are the read-marker posts (POST /t/{id}/read) a page made, as
// the browser saw them, each as the seq it marks and what came of it:
// "2 answered 204", or "2 failed" when the network failed it.
type readPosts struct {
	mu    sync.Mutex
	seqs  map[network.RequestID]string
	posts []string
}

var readPath = regexp.MustCompile(`^/t/[^/]+/read$`)

// watchReads records the read-marker posts the page in b makes from now on.
func watchReads(t *testing.T, b context.Context) *readPosts {
	t.Helper()
	r := &readPosts{seqs: map[network.RequestID]string{}}
	must(t, chromedp.Listen(b, func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			u, err := url.Parse(ev.Request.URL)
			if err != nil || ev.Request.Method != "POST" || !readPath.MatchString(u.Path) {
				return
			}
			var body []byte
			for _, e := range ev.Request.PostDataEntries {
				body = append(body, e.Bytes...)
			}
			form, _ := url.ParseQuery(string(body))
			r.seqs[ev.RequestID] = form.Get("seq")
		case *network.EventResponseReceived:
			if seq, ok := r.seqs[ev.RequestID]; ok {
				// Answered: the browser's dropping the answer's empty
				// body afterwards (net::ERR_ABORTED) is no failure.
				delete(r.seqs, ev.RequestID)
				r.posts = append(r.posts, fmt.Sprintf("%s answered %d", seq, ev.Response.Status))
			}
		case *network.EventLoadingFailed:
			if seq, ok := r.seqs[ev.RequestID]; ok {
				delete(r.seqs, ev.RequestID)
				r.posts = append(r.posts, seq+" failed")
			}
		}
	}))
	return r
}

// waitFor waits until the posts made are want, in order, and fails the
// test as soon as they cannot become so, or after a while.
func (r *readPosts) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r.mu.Lock()
		got := slices.Clone(r.posts)
		r.mu.Unlock()
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) || !slices.Equal(got, want[:len(got)]) {
			t.Fatalf("the page's read-marker posts were %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reset forgets the posts made so far.
func (r *readPosts) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts = nil
}

// A member's own message moves their read marker as the server takes it:
// the page does not post it again when it shows the message, only the
// messages others write.
func TestMessenger_Browser_OwnMessageIsNotMarkedReadAgain(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice").ID
	a := liveThread(t, env.URL, th, "alice")
	reads := watchReads(t, a)

	writeAndSend(t, a, "mine")
	waitFor(t, a, bubbleCount("mine", 1))
	next := apptest.MustSend(t, bob, th, "theirs")
	reads.waitFor(t, fmt.Sprintf("%d answered 204", next.Seq))
}

// Messages that come while the member reads further up a chat wait below,
// counted on a button ("2 new messages ↓"): they are not seen yet, and the
// sender is not told they are ("Seen by", read.updated, GET
// /threads/{id}/read) until the member brings them into sight, which marks
// them read.
func TestMessenger_Browser_MessagesWaitingBelowAreReadOnceInSight(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := range 40 {
		apptest.MustSend(t, bob, th.ID, fmt.Sprintf("Notes from the meeting, point %d: we agreed to look at it again next week.", i))
	}
	a := apptest.Chromium(t)
	signInBrowser(t, a, env.URL, "alice")
	must(t, chromedp.Do(a, chromedp.EmulateViewport(1280, 800), chromedp.Navigate(env.URL+"/t/"+th.ID),
		chromedp.WaitVisible(chromedp.CSS(`#send textarea`))))
	waitFor(t, a, `document.body.dataset.live === "open"`)
	if _, err := chromedp.Run(a, chromedp.Evaluate[int](`document.querySelector(".conversation").scrollTop = 0`)); err != nil {
		t.Fatal(err)
	}
	// aliceRead is how far bob is told alice read.
	aliceRead := func() int64 {
		t.Helper()
		markers, err := bob.ReadMarkers(ctx, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markers {
			if m.User.Username == "alice" {
				return m.Seq
			}
		}
		return 0
	}
	opened := aliceRead()

	apptest.MustSend(t, bob, th.ID, "Also: lunch is on me.")
	last := apptest.MustSend(t, bob, th.ID, "See you then.")
	waitFor(t, a, `!document.getElementById("to-newest").hidden`)
	time.Sleep(time.Second) // whatever the page posts after pulling them in
	if got := aliceRead(); got != opened {
		t.Errorf("the page shows %q below, unseen, yet bob is told alice read up to %d; want %d, as she opened the chat",
			text(t, a, `#to-newest`), got, opened)
	}

	must(t, chromedp.Do(a, chromedp.Click(chromedp.CSS(`#to-newest`))))
	waitFor(t, a, `document.getElementById("to-newest").hidden`)
	for deadline := time.Now().Add(10 * time.Second); aliceRead() != last.Seq; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("alice scrolled to the newest, yet bob is told she read up to %d; want %d", aliceRead(), last.Seq)
		}
	}
}
