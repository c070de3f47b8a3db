package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A member blocks the other member of a conversation from its Manage menu:
// the page then has no field to write in, says why to each of them in
// their own words, and offers the blocker, alone, to unblock, there or on
// the friends page, which lists whom the member blocks.
func TestMessenger_BlockFromAConversation(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	hello := apptest.MustSend(t, bob, th.ID, "hello")
	hi := apptest.MustSend(t, alice, th.ID, "hi bob")
	for c, emoji := range map[*client.Client]string{alice: "❤️", bob: "👍"} {
		if _, err := c.React(context.Background(), hello.ID, emoji); err != nil {
			t.Fatal(err)
		}
	}
	a, b := newScriptless(t, env.URL), newScriptless(t, env.URL)
	a.signIn("alice")
	b.signIn("bob")

	open := a.get("/t/" + th.ID)
	for _, want := range []string{`<summary>Block Member bob</summary>`, `<textarea id="text"`} {
		if !strings.Contains(open.body, want) {
			t.Fatalf("alice's conversation lacks %s:\n%s", want, open.body)
		}
	}
	blocked := a.post(open, "/blocks", url.Values{"username": {"bob"}, "thread": {th.ID}})
	if blocked.status != http.StatusOK || blocked.url.Path != "/t/"+th.ID {
		t.Fatalf("blocking ends at %d %s", blocked.status, blocked.url)
	}
	for who, c := range map[string]struct {
		page      *page
		want, not []string
	}{
		"alice": {blocked, []string{`You blocked Member bob. To send messages here again, unblock them under Manage.`, `data-blocked="true"`, `>Unblock Member bob</button>`}, []string{`id="text"`, `Block Member bob`}},
		"bob":   {b.get("/t/" + th.ID), []string{`You can no longer send messages in this chat.`, `<summary>Block Member alice</summary>`}, []string{`id="text"`, `Unblock`}},
	} {
		for _, want := range c.want {
			if !strings.Contains(c.page.body, want) {
				t.Errorf("%s's conversation lacks %s", who, want)
			}
		}
		for _, not := range c.not {
			if strings.Contains(c.page.body, not) {
				t.Errorf("%s's conversation holds %s", who, not)
			}
		}
	}
	if _, err := bob.SendMessage(context.Background(), th.ID, "can I?", ""); err == nil {
		t.Error("bob sends into the conversation alice blocked")
	}

	// Under hello, each may take back their own reaction but not give the
	// other's, which the server would refuse: that chip shows, disabled,
	// on the page and in the part the script fetches alike.
	chips := regexp.MustCompile(`<button type="submit" class="chip" name="(\w+)" value="([^"]+)" aria-pressed="\w+"( disabled)? `)
	for who, c := range map[string]struct {
		s    *scriptless
		mine string
	}{"alice": {a, "❤️"}, "bob": {b, "👍"}} {
		for _, path := range []string{"/t/" + th.ID, "/t/" + th.ID + "/messages?after=0"} {
			found := chips.FindAllStringSubmatch(c.s.get(path).body, -1)
			if len(found) != 2 {
				t.Fatalf("%s's %s shows %d reaction chips, want 2", who, path, len(found))
			}
			for _, m := range found {
				mine := m[2] == c.mine
				if want := map[bool]string{true: "take_back", false: "emoji"}[mine]; m[1] != want || (m[3] != "") == mine {
					t.Errorf("%s's %s: the chip %s is %q: %q, want %s, disabled unless it is theirs", who, path, m[2], m[0], m[1], want)
				}
			}
		}
	}
	// Nor does a message's picker offer a new reaction: under hello, each
	// is offered their own alone, to take back, and under hi, to which no
	// one reacted, there is no picker. Alice may delete hi, but not edit it.
	picks := regexp.MustCompile(`<button type="submit" class="pick" name="(\w+)" value="([^"]+)"`)
	for who, c := range map[string]struct {
		s    *scriptless
		mine string
	}{"alice": {a, "❤️"}, "bob": {b, "👍"}} {
		for _, path := range []string{"/t/" + th.ID, "/t/" + th.ID + "/messages?after=0"} {
			body := c.s.get(path).body
			if found := picks.FindAllStringSubmatch(body, -1); len(found) != 1 || found[0][1] != "take_back" || found[0][2] != c.mine {
				t.Errorf("%s's %s offers the reactions %q, want their own %s alone, to take back", who, path, found, c.mine)
			}
			if who != "alice" {
				continue
			}
			if strings.Contains(body, `/messages/`+hi.ID+`/edit"`) || !strings.Contains(body, `/messages/`+hi.ID+`/delete"`) {
				t.Errorf("alice's %s: her message offers an edit, or no deletion", path)
			}
		}
	}

	// Both close it to apps: neither may reopen it while the block stands,
	// bob whom she blocks nor alice, and each page says so in place of the
	// button.
	for _, c := range []*client.Client{alice, bob} {
		if _, err := c.SetThreadAppAccess(context.Background(), th.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	const reopen, cannot = `>Let apps in again</button>`, `You cannot reopen it to apps while this chat is blocked.`
	if p := a.get("/t/" + th.ID); strings.Contains(p.body, reopen) || !strings.Contains(p.body, cannot) {
		t.Errorf("alice's conversation, closed to apps while she blocks bob, offers her to reopen it:\n%s", p.body)
	}
	if p := b.get("/t/" + th.ID + "/apps"); strings.Contains(p.body, reopen) || !strings.Contains(p.body, cannot) {
		t.Errorf("bob's apps panel, closed to apps, offers him to reopen it:\n%s", p.body)
	}

	friends := a.get("/friends")
	if !strings.Contains(friends.body, `<h2 id="blocked-title">Blocked</h2>`) || !strings.Contains(friends.body, `aria-label="Unblock Member bob"`) {
		t.Fatalf("alice's friends page does not list bob as blocked:\n%s", friends.body)
	}
	bobID := apptest.MustMe(t, bob).ID
	unblocked := a.post(friends, "/blocks/"+bobID+"/remove", url.Values{})
	if unblocked.url.Path != "/friends" || !strings.Contains(unblocked.body, "Unblocked. You are not friends again, but either of you may ask.") {
		t.Fatalf("unblocking ends at %s:\n%s", unblocked.url, unblocked.body)
	}
	if strings.Contains(unblocked.body, `id="blocked-title"`) {
		t.Error("the friends page still lists someone blocked")
	}
	if again := a.get("/t/" + th.ID); !strings.Contains(again.body, `<textarea id="text"`) {
		t.Error("the conversation has no field to write in once unblocked")
	}
}

// A member who asked to be friends can be blocked from the friends page,
// which takes their request away.
func TestMessenger_BlockARequest(t *testing.T) {
	env := apptest.Start(t)
	carol := env.MustMember(t, "carol")
	env.MustMember(t, "alice")
	if _, err := carol.AddFriend(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	friends := a.get("/friends")
	if !strings.Contains(friends.body, `aria-label="Block Member carol"`) {
		t.Fatalf("the request has no Block:\n%s", friends.body)
	}
	p := a.post(friends, "/blocks", url.Values{"username": {"carol"}})
	if p.url.Path != "/friends" || !strings.Contains(p.body, "Blocked. They can no longer send you messages or ask to be your friend.") {
		t.Fatalf("blocking ends at %s:\n%s", p.url, p.body)
	}
	if strings.Contains(p.body, `id="incoming"`) || !strings.Contains(p.body, `aria-label="Unblock Member carol"`) {
		t.Errorf("after blocking carol the page reads:\n%s", p.body)
	}
	if _, err := carol.AddFriend(context.Background(), "alice"); err == nil {
		t.Error("carol asks alice again after the block")
	} else if e, ok := err.(*client.Error); !ok || e.Status != http.StatusForbidden {
		t.Errorf("carol asks again: %v, want 403", err)
	}
}

// The inbox tells the page's script whom the member blocks among the
// people of the chats it lists (data-blocked), so that their messages
// show no notification: a member blocked who is in a group listed, not
// every member blocked (one who left the group is in none). On a page of
// older chats, the newest chats' people count too: a message makes its
// chat the newest.
func TestMessenger_InboxMarksTheBlockedItLists(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol, dave := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol"), env.MustMember(t, "dave")
	for _, c := range []*client.Client{bob, carol, dave} {
		apptest.MustFriends(t, alice, c)
	}
	me, bobID, daveID := apptest.MustMe(t, alice).ID, apptest.MustMe(t, bob).ID, apptest.MustMe(t, dave).ID
	// Older chats than the group, a page of them and one more: the
	// group is on the newest page alone.
	old := parley.Now().Add(-time.Hour)
	err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		for i := range parley.MaxThreadLimit {
			at := old.Add(time.Duration(i) * time.Second)
			th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: fmt.Sprintf("old %d", i), CreatedBy: me, LastActivityAt: at, CreatedAt: at}
			if err := tx.CreateThread(ctx, th); err != nil {
				return err
			}
			if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: me, JoinedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol", "dave"}, Title: "all of us", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dave.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bob", "dave"} {
		if _, err := alice.Block(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	// Many more blocked, in no chat of alice's.
	env.MustLinkedMembers(t, "blocked", 30, me, old, apptest.BlockedBy)

	a := newScriptless(t, env.URL)
	a.signIn("alice")
	blocked := regexp.MustCompile(`<ul id="inbox" class="threads" data-chats="([^"]*)" data-blocked="([^"]*)">`)
	older := regexp.MustCompile(`<a href="/\?chats=([^"]+)">Older chats</a>`)
	newest := a.get("/")
	m := blocked.FindStringSubmatch(newest.body)
	if m == nil || m[2] != bobID {
		t.Fatalf("the newest chats mark %q as blocked, want bob alone (%s); dave %s left", m, bobID, daveID)
	}
	next := older.FindStringSubmatch(newest.body)
	if next == nil {
		t.Fatal("the inbox has no older chats")
	}
	m = blocked.FindStringSubmatch(a.get("/?chats=" + html.UnescapeString(next[1])).body)
	if m == nil || m[1] == "" || m[2] != bobID {
		t.Errorf("a page of older chats marks %q as blocked, want bob alone (%s), of the newest chats", m, bobID)
	}
}
