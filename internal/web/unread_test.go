package web_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_UnreadMark: a conversation opened with messages the member
// has not read says how many are new, just before the first of them; once
// opened, it has read them and says nothing; a page of older messages
// never says it. The mark follows a group's timeline note made after the
// last message read, and heads the list when the first new message is
// older than the page's first.
func TestMessenger_UnreadMark(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	// open opens a page and returns the ids of its list's lines, in order,
	// and what its unread mark says, with its seq.
	ids := regexp.MustCompile(`<li id="(\w+)"`)
	marks := regexp.MustCompile(`<li id="unread" data-seq="([\d.]+)" class="unread-mark"><p>([^<]*)</p></li>`)
	open := func(path string) (lines, mark string) {
		t.Helper()
		body := a.get(path).body
		ol := body[strings.Index(body, `<ol id="messages"`):]
		ol = ol[:strings.Index(ol, "</ol>")]
		var out []string
		for _, m := range ids.FindAllStringSubmatch(ol, -1) {
			out = append(out, m[1])
		}
		if m := marks.FindStringSubmatch(ol); m != nil {
			mark = m[1] + " " + m[2]
		}
		return strings.Join(out, " "), mark
	}

	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "hi")
	for _, text := range []string{"hello", "how are you?", "see you at six"} {
		apptest.MustSend(t, bob, th.ID, text)
	}
	page := "/t/" + th.ID
	if lines, mark := open(page); lines != "m1 unread m2 m3 m4" || mark != "1.9 3 new messages" {
		t.Errorf("alice's conversation with 3 new messages lists %q, marked %q", lines, mark)
	}
	if _, mark := open(page); mark != "" {
		t.Errorf("opened again, the conversation still marks %q", mark)
	}
	apptest.MustSend(t, bob, th.ID, "are you there?")
	apptest.MustSend(t, bob, th.ID, "hello?")
	if _, mark := open(page + "?before=6"); mark != "" {
		t.Errorf("a page of older messages marks %q", mark)
	}
	if lines, mark := open(page); lines != "m1 m2 m3 m4 unread m5 m6" || mark != "4.9 2 new messages" {
		t.Errorf("two new messages, after a page of older ones, list %q, marked %q", lines, mark)
	}

	// A group renamed after alice's last read, then a message: the note
	// comes before the mark.
	carol := env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol")
	apptest.MustSend(t, alice, group.ID, "welcome")
	title := "Six o'clock"
	if _, err := bob.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &title}); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, group.ID, "renamed it")
	if lines, mark := open("/t/" + group.ID); !regexp.MustCompile(`^n\S+ m1 n\S+ unread m2$`).MatchString(lines) || mark != "1.9 1 new message" {
		t.Errorf("the group lists %q, marked %q, want its start, alice's message, the renaming, the mark and bob's message", lines, mark)
	}

	// Sixty new messages: the page's first, the seventeenth, is new too.
	for i := range 60 {
		apptest.MustSend(t, bob, th.ID, fmt.Sprintf("news %d", i))
	}
	if lines, mark := open(page); !strings.HasPrefix(lines, "unread m17 m18 ") || mark != "6.9 60 new messages" {
		t.Errorf("a conversation with 60 new messages lists %q, marked %q, want the mark first", lines, mark)
	}
}
