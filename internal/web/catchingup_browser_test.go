package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// answerProxy forwards the page's requests to the server, and can hold
// back the answer to one read, as a slow or congested path answers one
// request late, or answer reads with an error, as a gateway or a node
// that drains does.
type answerProxy struct {
	URL string

	mu    sync.Mutex
	proxy *httputil.ReverseProxy
	// held, while set, picks the next GET whose answer is held back.
	held     func(*http.Request) bool
	answered chan struct{}
	release  chan struct{}
	// failing, while set, picks the GETs answered fail.
	failing func(*http.Request) bool
	fail    int
}

func newAnswerProxy(t *testing.T) *answerProxy {
	p := &answerProxy{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		proxy, failing, fail := p.proxy, p.failing, p.fail
		p.mu.Unlock()
		if r.Method == http.MethodGet && failing != nil && failing(r) {
			w.WriteHeader(fail)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	p.URL = s.URL
	return p
}

func (p *answerProxy) forwardTo(t *testing.T, target string) {
	u, err := url.Parse(target)
	must(t, err)
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		hold := resp.Request.Method == http.MethodGet && p.held != nil && p.held(resp.Request)
		answered, release := p.answered, p.release
		if hold {
			p.held = nil
		}
		p.mu.Unlock()
		if !hold {
			return nil
		}
		// The server has answered, with its state as it was then; the
		// answer reaches the browser once released.
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		close(answered)
		<-release
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	p.mu.Lock()
	p.proxy = proxy
	p.mu.Unlock()
}

// holdAnswer holds back the answer to the next GET that matches, once the
// server gave it, until the function it returns is called (once or more).
// waitAnswered waits until the server has answered it.
func (p *answerProxy) holdAnswer(matches func(*http.Request) bool) (release func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held, p.answered, p.release = matches, make(chan struct{}), make(chan struct{})
	return sync.OnceFunc(func() { close(p.release) })
}

func (p *answerProxy) waitAnswered(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	answered := p.answered
	p.mu.Unlock()
	select {
	case <-answered:
	case <-time.After(10 * time.Second):
		t.Fatal("the read whose answer is held back was not asked for")
	}
}

// failReads answers the GETs that match with status, until called again
// with nil.
func (p *answerProxy) failReads(matches func(*http.Request) bool, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failing, p.fail = matches, status
}

// readOfEveryMessage picks a read of every message a page shows, from the
// first on (after=0, no limit), as a page makes on a rename and as it
// catches up.
func readOfEveryMessage(r *http.Request) bool {
	q := r.URL.Query()
	return strings.HasSuffix(r.URL.Path, "/messages") && q.Get("after") == "0" && !q.Has("limit")
}

// A read's answer that comes after a later one does not undo what the
// later one showed: when Alice takes a new name, Bob's page reads every
// message it shows again; when she deletes a message, or edits it, while
// that read is on its way, the deletion or the edit shows, and stays once
// the older answer comes (with her new name, which it shows).
func TestMessenger_Browser_ALateAnswerDoesNotUndoANewerChange(t *testing.T) {
	for name, change := range map[string]struct {
		do    func(t *testing.T, alice *client.Client, id string)
		shown string
	}{
		"Deletion": {func(t *testing.T, alice *client.Client, id string) {
			must(t, alice.DeleteMessage(context.Background(), id))
		}, "Message deleted"},
		"Edit": {func(t *testing.T, alice *client.Client, id string) {
			_, err := alice.EditMessage(context.Background(), id, "sent to the right chat")
			must(t, err)
		}, "sent to the right chat"},
	} {
		t.Run(name, func(t *testing.T) {
			p := newAnswerProxy(t)
			env := apptest.Start(t, publicAt(p.URL))
			p.forwardTo(t, env.URL)
			alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
			apptest.MustFriends(t, alice, bob)
			th := apptest.MustThread(t, alice, "bob").ID
			apptest.MustSend(t, alice, th, "see you at eight")
			m := apptest.MustSend(t, alice, th, "my secret, sent by mistake")
			b := liveThread(t, p.URL, th, "bob")

			release := p.holdAnswer(readOfEveryMessage)
			defer release()
			_, err := alice.SetDisplayName(context.Background(), "Alice A.")
			must(t, err)
			p.waitAnswered(t)
			change.do(t, alice, m.ID)
			waitFor(t, b, `document.querySelector("#m2 .bubble").textContent === `+jsString(change.shown))
			release()
			// The late answer is in once the first message bears the new name.
			waitFor(t, b, `document.querySelector("#m1 .who").textContent === "Alice A."`)
			if got := text(t, b, `#m2 .bubble`); got != change.shown {
				t.Errorf("once the read from before the change is answered, the message reads %q, want %q", got, change.shown)
			}
		})
	}
}

// A catch-up that fails is tried again, and meanwhile the page does not
// call itself live: Bob's page, cut off while Alice deletes a message and
// says another, reconnects to a server that answers its reads 503 (a node
// draining, a gateway): it says it is catching up, and once the server
// answers again, it shows both changes, and only then is live.
func TestMessenger_Browser_AFailedCatchUpIsTriedAgain(t *testing.T) {
	p, cut := newAnswerProxy(t), newCutProxy(t)
	env := apptest.Start(t, publicAt(cut.URL))
	p.forwardTo(t, env.URL)
	cut.forwardTo(strings.TrimPrefix(p.URL, "http://"))
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	m := apptest.MustSend(t, alice, th, "my secret, sent by mistake")
	b := liveThread(t, cut.URL, th, "bob")

	cut.down()
	t.Cleanup(cut.up)
	waitFor(t, b, `document.body.dataset.live === "closed"`)
	must(t, alice.DeleteMessage(context.Background(), m.ID))
	apptest.MustSend(t, alice, th, "said while you were away")
	p.failReads(func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/messages") }, http.StatusServiceUnavailable)
	cut.up()
	waitFor(t, b, `["open", "catching-up"].includes(document.body.dataset.live)`)
	if live := evaluate[string](t, b, `document.body.dataset.live`); live != "catching-up" {
		t.Fatalf("the page whose catch-up failed is %q, showing seqs %v, its status line %q", live, seqsShown(t, b), text(t, b, `#live`))
	}
	if got, want := text(t, b, `#live`), "Catching up on what you missed…"; got != want {
		t.Errorf("while its catch-up fails, the page says %q, want %q", got, want)
	}
	apptest.Screenshot(t, b, "catching-up")

	p.failReads(nil, 0)
	waitFor(t, b, `document.body.dataset.live === "open"`)
	if n := count(t, b, "said while you were away"); n != 1 {
		t.Errorf("once caught up, the message said while the page was cut off shows %d times, want once", n)
	}
	if n := count(t, b, "my secret, sent by mistake"); n != 0 {
		t.Errorf("once caught up, the message deleted while the page was cut off still shows")
	}
	if got := text(t, b, `#live`); got != "" {
		t.Errorf("once caught up, the status line says %q", got)
	}
}
