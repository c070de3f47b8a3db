package web_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_ANewcomerHasNoHistoryUnread: a member added to a group
// with 5 messages finds it unmarked in their inbox, and no one's page
// says they saw those messages. The next message from someone else is
// their one new message, marked after the note of their adding, not
// before the group's first message; once they opened the group, the
// others' pages say they saw it.
func TestMessenger_ANewcomerHasNoHistoryUnread(t *testing.T) {
	env := apptest.Start(t)
	alice, bob, dave := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "dave")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, dave)
	group, err := alice.CreateThread(t.Context(), client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		apptest.MustSend(t, alice, group.ID, fmt.Sprintf("before dave %d", i+1))
	}
	if _, err := alice.AddParticipant(t.Context(), group.ID, "dave"); err != nil {
		t.Fatal(err)
	}
	a, d := newScriptless(t, env.URL), newScriptless(t, env.URL)
	a.signIn("alice")
	d.signIn("dave")
	seenBy := regexp.MustCompile(`<p id="seen" class="seen" data-read="\d+">([^<]*)</p>`)
	seen := func() string {
		t.Helper()
		m := seenBy.FindStringSubmatch(a.get("/t/" + group.ID).body)
		if m == nil {
			t.Fatal("alice's page of the group has no place for who saw it")
		}
		return m[1]
	}

	if inbox := d.get("/").body; strings.Contains(inbox, `class="unread"`) {
		t.Errorf("dave's inbox marks the group he was just added to unread:\n%s", inbox)
	}
	if s := seen(); s != "" {
		t.Errorf("alice's page, before dave opened the group, says %q", s)
	}

	apptest.MustSend(t, bob, group.ID, "welcome, dave")
	if inbox := d.get("/").body; !strings.Contains(inbox, `<span class="unread">1<`) {
		t.Errorf("dave's inbox does not mark bob's welcome as his one unread message:\n%s", inbox)
	}
	if s := seen(); s != "" {
		t.Errorf("alice's page, after bob's welcome, says %q", s)
	}
	marks := regexp.MustCompile(`<li id="unread" data-seq="([\d.]+)" class="unread-mark"><p>([^<]*)</p></li>`)
	m := marks.FindStringSubmatch(d.get("/t/" + group.ID).body)
	if m == nil || m[1] != "5.9" || m[2] != "1 new message" {
		t.Errorf("dave's page of the group marks %q, want 5.9, 1 new message", m)
	}
	if s := seen(); s != "Seen by Member dave" {
		t.Errorf("alice's page, after dave opened the group, says %q, want Seen by Member dave", s)
	}
}
