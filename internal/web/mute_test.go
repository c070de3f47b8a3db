package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A member mutes a chat from its Manage menu, in a group or one to one: the
// chat says so, in its head and in the inbox, where its unread messages
// are counted in grey and left out of the tab's count; Unmute undoes it.
// The other members' pages show nothing of it.
func TestMessenger_MuteAChat(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	direct := apptest.MustThread(t, alice, "bob")
	group, err := alice.CreateThread(t.Context(), client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	const mark = `<span class="visually-hidden"> (muted)</span>`

	for _, c := range []struct{ name, th string }{{"OneToOne", direct.ID}, {"Group", group.ID}} {
		th := c.th
		t.Run(c.name, func(t *testing.T) {
			page := a.get("/t/" + th)
			if !strings.Contains(page.body, `action="/t/`+th+`/mute"`) || !strings.Contains(page.body, "Mute this chat") || strings.Contains(page.body, mark) {
				t.Fatalf("the chat's page before muting:\n%s", page.body)
			}
			muted := a.post(page, "/t/"+th+"/mute", url.Values{"muted": {"true"}})
			// The head marks it beside the chat's name, not in it: the
			// name is the tab's title too.
			if muted.url.Path != "/t/"+th || !strings.Contains(muted.body, "Unmute this chat") || !regexp.MustCompile(`<h1 dir="auto">[^<]+</h1> <svg class="muted-mark"`).MatchString(muted.body) ||
				!strings.Contains(muted.body[strings.Index(muted.body, "</h1>"):], mark) {
				t.Fatalf("muting ends at %s:\n%s", muted.url, muted.body)
			}
			apptest.MustSend(t, bob, th, "a message alice hears nothing of")
			inbox := a.get("/")
			item := inboxItem(t, inbox.body, th)
			if !strings.Contains(item, `class="muted"`) || !strings.Contains(item, mark) || !strings.Contains(item, `<span class="unread">1`) {
				t.Errorf("the inbox lists the muted chat as:\n%s", item)
			}
			if strings.Contains(inbox.body, "<title>(") {
				t.Errorf("the inbox's title counts a muted chat's unread messages:\n%s", inbox.body)
			}
			b := newScriptless(t, env.URL)
			b.signIn("bob")
			if theirs := b.get("/t/" + th); strings.Contains(theirs.body, mark) || !strings.Contains(theirs.body, "Mute this chat") {
				t.Errorf("bob's page shows alice's mute:\n%s", theirs.body)
			}
			unmuted := a.post(a.get("/t/"+th), "/t/"+th+"/mute", url.Values{"muted": {"false"}})
			if !strings.Contains(unmuted.body, "Mute this chat") || strings.Contains(unmuted.body, mark) {
				t.Errorf("after unmuting the page reads:\n%s", unmuted.body)
			}
		})
	}
	t.Run("BadInput", func(t *testing.T) {
		if p := a.post(a.get("/t/"+direct.ID), "/t/"+direct.ID+"/mute", url.Values{"muted": {"soon"}}); p.status != http.StatusBadRequest {
			t.Errorf("muted=soon: %d, want 400", p.status)
		}
		if th, err := alice.Thread(t.Context(), direct.ID); err != nil || th.Muted {
			t.Errorf("after muted=soon the chat reads %+v, %v; want it not muted", th, err)
		}
	})
}

// inboxItem returns the inbox's list item of a thread.
func inboxItem(t *testing.T, body, threadID string) string {
	t.Helper()
	at := strings.Index(body, `href="/t/`+threadID+`"`)
	if at < 0 {
		t.Fatalf("the inbox does not list %s:\n%s", threadID, body)
	}
	start := strings.LastIndex(body[:at], "<li")
	end := strings.Index(body[at:], "</li>")
	return body[start : at+end]
}
