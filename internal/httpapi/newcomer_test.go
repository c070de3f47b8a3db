package httpapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestThreads_ANewcomerHasNoHistoryUnread: a member added to a group
// finds none of the messages before them unread, in their list of threads
// and in the thread itself, and their read marker stays at 0: nothing says
// they read them. Those in the group from its start count every message
// they did not read, as before. The next message from someone else is one
// unread, after the last message before they came (last_seq less
// unread_count, where the web app puts its unread mark). Added back after
// leaving, they have nothing unread of what came while they were away,
// and their marker is where they read before they left.
func TestThreads_ANewcomerHasNoHistoryUnread(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob, carol, dave := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol"), env.MustMember(t, "dave")
	for _, c := range []*client.Client{bob, carol, dave} {
		apptest.MustFriends(t, alice, c)
	}
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		apptest.MustSend(t, alice, group.ID, fmt.Sprintf("before dave %d", i+1))
	}
	add := func() {
		t.Helper()
		if _, err := alice.AddParticipant(ctx, group.ID, "dave"); err != nil {
			t.Fatal(err)
		}
	}
	// state is the group as c's list of threads and c's read of it show
	// it, which must agree.
	state := func(c *client.Client, who string) string {
		t.Helper()
		th, err := c.Thread(ctx, group.ID)
		if err != nil {
			t.Fatalf("%s reads the group: %v", who, err)
		}
		page, err := c.Threads(ctx, client.ThreadsQuery{})
		if err != nil {
			t.Fatalf("%s lists threads: %v", who, err)
		}
		var listed *client.ThreadSummary
		for _, s := range page.Threads {
			if s.ID == group.ID {
				listed = s
			}
		}
		if listed == nil {
			t.Fatalf("%s's list of threads does not hold the group", who)
		}
		if listed.UnreadCount != th.UnreadCount || listed.LastReadSeq != th.LastReadSeq || listed.LastSeq != th.LastSeq {
			t.Errorf("%s's list says unread %d, read %d, last %d; the thread says %d, %d, %d", who,
				listed.UnreadCount, listed.LastReadSeq, listed.LastSeq, th.UnreadCount, th.LastReadSeq, th.LastSeq)
		}
		return fmt.Sprintf("unread %d, read %d, last %d", th.UnreadCount, th.LastReadSeq, th.LastSeq)
	}
	want := func(c *client.Client, who, when, wanted string) {
		t.Helper()
		if got := state(c, who); got != wanted {
			t.Errorf("%s, %s: %s; want %s", who, when, got, wanted)
		}
	}

	add()
	want(dave, "dave", "added after 5 messages", "unread 0, read 0, last 5")
	want(bob, "bob", "in the group from its start", "unread 5, read 0, last 5")
	want(alice, "alice", "who sent the 5", "unread 0, read 5, last 5")

	apptest.MustSend(t, carol, group.ID, "welcome, dave")
	want(dave, "dave", "after carol's welcome", "unread 1, read 0, last 6")
	want(bob, "bob", "after carol's welcome", "unread 6, read 0, last 6")

	apptest.MustSend(t, dave, group.ID, "thanks")
	want(dave, "dave", "after his own message", "unread 0, read 7, last 7")

	apptest.MustSend(t, bob, group.ID, "before dave leaves")
	if err := dave.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, alice, group.ID, "while dave is away")
	add()
	want(dave, "dave", "added back", "unread 0, read 7, last 9")
	apptest.MustSend(t, carol, group.ID, "welcome back")
	want(dave, "dave", "added back, after carol's welcome", "unread 1, read 7, last 10")
	if err := dave.MarkRead(ctx, group.ID, 10); err != nil {
		t.Fatal(err)
	}
	want(dave, "dave", "who read it all", "unread 0, read 10, last 10")
}
