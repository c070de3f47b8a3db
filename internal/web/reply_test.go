package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_ReplyToAMessage: every message that is not deleted offers
// Reply, which, without a script, loads the page with the message shown
// above the field and named in the form; the message sent answers it, and
// shows atop its text who wrote what it answers and how it begins, as a
// link to it, on both members' pages, whether or not the page shows the
// message answered too. A message answered that was deleted says so.
func TestMessenger_ReplyToAMessage(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, th.ID, "dinner at <8>?\n\nsay yes")
	gone := apptest.MustSend(t, alice, th.ID, "soon deleted")
	if err := alice.DeleteMessage(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	base := "/t/" + th.ID

	offers := regexp.MustCompile(`<a class="reply" href="`+regexp.QuoteMeta(base)+`\?reply=(\d+)#text"`).FindAllStringSubmatch(a.get(base).body, -1)
	if len(offers) != 1 || offers[0][1] != "1" {
		t.Fatalf("the page offers replies to %q, want to message 1 only, not to the deleted one", offers)
	}
	if bar := a.get(base).body; !strings.Contains(bar, `<div id="replying" class="replying" hidden>`) {
		t.Fatalf("the page answers something unasked:\n%s", bar)
	}
	for _, seq := range []string{"2", "99", "x", "-1"} {
		if page := a.get(base + "?reply=" + seq); page.status != http.StatusOK || !strings.Contains(page.body, `<div id="replying" class="replying" hidden>`) {
			t.Errorf("?reply=%s: %d, want the page with nothing to answer:\n%s", seq, page.status, page.body)
		}
	}

	replying := a.get(base + "?reply=1")
	bar := regexp.MustCompile(`(?s)<div id="replying" class="replying">\s*<input type="hidden" name="reply_to" form="send" value="1">\s*<p class="quote" id="reply-quote">(.*?)</p>`).FindStringSubmatch(replying.body)
	if bar == nil || !strings.Contains(replying.body, `aria-describedby="reply-quote"></textarea>`) || !strings.Contains(bar[1], `<span class="qwho" dir="auto">Member bob</span>`) || !strings.Contains(bar[1], `<span class="qtext">dinner at &lt;8&gt;? say yes</span>`) {
		t.Fatalf("the page asked to answer message 1 shows:\n%s", replying.body)
	}
	sent := a.post(replying, base+"/messages", url.Values{"text": {"yes!"}, "key": {"k-1"}, "reply_to": {"1"}})
	if sent.url.Path != base || !strings.Contains(sent.body, `<div id="replying" class="replying" hidden>`) {
		t.Fatalf("after sending, the page is %s, still answering:\n%s", sent.url, sent.body)
	}
	if m := lastOf(t, bob, th.ID); m.Text != "yes!" || m.ReplyToSeq != 1 {
		t.Fatalf("bob reads %+v, want alice's reply to message 1", m)
	}
	quoted := `<a class="quote" href="` + base + `?before=12#m1" data-to="1"><span class="visually-hidden">In reply to </span><span class="qwho" dir="auto">Member bob</span>` +
		`<span class="visually-hidden">: </span><span class="qtext">dinner at &lt;8&gt;? say yes</span></a>yes!</p>`
	b := newScriptless(t, env.URL)
	b.signIn("bob")
	for who, page := range map[string]string{"alice": sent.body, "bob": b.get(base).body} {
		if !strings.Contains(page, `<li id="m3" data-seq="3" data-reply-to="1"`) || !strings.Contains(page, strings.ReplaceAll(quoted, "Member bob", map[string]string{"alice": "Member bob", "bob": "You"}[who])) {
			t.Errorf("%s's page does not show message 3 answering message 1:\n%s", who, page)
		}
	}

	t.Run("AnswersBeyondThePage", func(t *testing.T) {
		for i := range 60 {
			apptest.MustSend(t, bob, th.ID, fmt.Sprint("filler ", i))
		}
		late, err := bob.SendReply(ctx, th.ID, "about dinner", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		toGone, err := bob.SendReply(ctx, th.ID, "what did you delete?", gone.Seq, "")
		if err != nil {
			t.Fatal(err)
		}
		for where, page := range map[string]string{
			"the page":       a.get(base).body,
			"the part after": a.get(fmt.Sprintf("%s/messages?after=%d", base, late.Seq-1)).body,
		} {
			if !regexp.MustCompile(`<a class="quote" href="[^"]+#m1" data-to="1">.*?<span class="qwho" dir="auto">Member bob</span>.*?dinner at &lt;8&gt;\? say yes</span></a>about dinner</p>`).MatchString(page) {
				t.Errorf("%s does not quote message 1, out of it, in message %d:\n%s", where, late.Seq, page)
			}
			if !strings.Contains(page, `<span class="qwho" dir="auto">You</span><span class="visually-hidden">: </span><span class="qtext">Message deleted</span></a>what did you delete?`) {
				t.Errorf("%s does not quote message %d as deleted in message %d:\n%s", where, gone.Seq, toGone.Seq, page)
			}
		}
	})
	t.Run("RefusedSendsNothing", func(t *testing.T) {
		before := lastOf(t, bob, th.ID).Seq
		for _, reply := range []string{"999", "x", "-3", "1.5"} {
			page := a.post(replying, base+"/messages", url.Values{"text": {"to nothing"}, "key": {"k-" + reply}, "reply_to": {reply}})
			if page.status != http.StatusBadRequest || !strings.Contains(page.body, `class="error"`) {
				t.Errorf("reply_to %s: %d, want 400 with an error:\n%s", reply, page.status, page.body)
			}
		}
		if got := lastOf(t, bob, th.ID).Seq; got != before {
			t.Errorf("the thread's last message is %d after refused replies, want %d", got, before)
		}
	})
	t.Run("NotInABlockedConversation", func(t *testing.T) {
		if _, err := bob.Block(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		page := a.get(base + "?reply=1").body
		if strings.Contains(page, `id="replying"`) || !strings.Contains(page, `id="blocked"`) {
			t.Errorf("a blocked conversation's page offers a field to answer in:\n%s", page)
		}
	})
}

// lastOf returns the newest message of the thread as c reads it.
func lastOf(t *testing.T, c *client.Client, threadID string) *client.Message {
	t.Helper()
	page, err := c.Messages(context.Background(), threadID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages[len(page.Messages)-1]
}

// TestMessenger_QuotesInOneRead: the messages a page's replies answer that
// it does not show are read at once, whatever their number: a page of 50
// replies to 50 messages beyond it costs the reads of a page of one reply
// to a message beyond it, and 49 messages that answer none.
func TestMessenger_QuotesInOneRead(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	// Two groups of 100 messages, the 50 newest answering the 50 oldest in
	// one and one of them doing so in the other.
	var one, fifty string
	for _, id := range []*string{&one, &fifty} {
		group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Group", Kind: client.ThreadGroup})
		if err != nil {
			t.Fatal(err)
		}
		*id = group.ID
		for i := range 50 {
			apptest.MustSend(t, bob, group.ID, fmt.Sprint("asked ", i))
		}
	}
	for i := range 50 {
		for _, c := range []struct {
			thread  string
			answers bool
		}{{one, i == 49}, {fifty, true}} {
			var seq int64
			if c.answers {
				seq = int64(i + 1)
			}
			if _, err := alice.SendReply(ctx, c.thread, fmt.Sprint("answer ", i), seq, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	// reads returns the fewest reads the page cost in five tries: the
	// server's chores read now and then too.
	reads := func(path string) uint64 {
		fewest := uint64(1 << 62)
		for range 5 {
			before := env.Server.Store.Queries()
			if page := a.get(path); page.status != http.StatusOK || strings.Count(page.body, `class="quote"`) == 0 {
				t.Fatalf("%s: %d, with no quote:\n%s", path, page.status, page.body)
			}
			fewest = min(fewest, env.Server.Store.Queries()-before)
		}
		return fewest
	}
	for _, path := range []string{"/t/%s", "/t/%s/messages?after=50"} {
		if got, want := reads(fmt.Sprintf(path, fifty)), reads(fmt.Sprintf(path, one)); got != want {
			t.Errorf("%s: %d reads with 50 quotes from beyond it, %d with one", path, got, want)
		}
	}
}
