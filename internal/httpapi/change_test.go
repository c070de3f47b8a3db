package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// Every copy of a message, from a send, a read, an event or the changes
// feed, carries change, the number of its latest change in its thread: a
// post, an edit and a reaction each take the next, and every copy of one
// state carries the same.
func TestMessages_ChangeNumbersEachCopy(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	stream := mustEvents(t, bob)

	sent := apptest.MustSend(t, alice, th, "one")
	reacted, err := bob.React(ctx, sent.ID, "👍")
	if err != nil {
		t.Fatal(err)
	}
	edited, err := alice.EditMessage(ctx, sent.ID, "one, edited")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Change < 1 || reacted.Change != sent.Change+1 || edited.Change != reacted.Change+1 {
		t.Fatalf("changes of the send, the reaction and the edit: %d, %d, %d; want each the next", sent.Change, reacted.Change, edited.Change)
	}
	var told []int64
	for len(told) < 3 {
		ev, err := stream.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ThreadID == th && ev.Type != client.EventReadUpdated && ev.Type != client.EventThreadUpdated {
			var m client.Message
			if err := json.Unmarshal(ev.Data, &m); err != nil {
				t.Fatal(err)
			}
			told = append(told, m.Change)
		}
	}
	if want := []int64{sent.Change, reacted.Change, edited.Change}; fmt.Sprint(told) != fmt.Sprint(want) {
		t.Errorf("the events' changes %v, want %v", told, want)
	}
	page, err := bob.Messages(ctx, th, client.MessagesQuery{After: client.Seq(0)})
	if err != nil || len(page.Messages) != 1 || page.Messages[0].Change != edited.Change {
		t.Errorf("the history's copy: %+v, %v; want change %d", page, err, edited.Change)
	}
	feed, err := bob.Changes(ctx, th, client.ChangesQuery{})
	if err != nil || len(feed.Changes) != 1 || feed.Changes[0].Message.Change != edited.Change {
		t.Errorf("the changes feed: %+v, %v; want the edit, change %d", feed, err, edited.Change)
	}
}

// Events of one message may come out of the order of its changes, even
// on one node: eight members react at once, and a send's reaction may be
// told before an earlier one. A client that keeps, of each message, the
// copy with the higher change ends with the message as it is stored.
func TestEvents_TheHigherChangeIsTheMessageAsItIs(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := env.MustMember(t, "alice")
	var members []*client.Client
	var names []string
	for i := range 8 {
		name := fmt.Sprintf("member%d", i)
		c := env.MustMember(t, name)
		apptest.MustFriends(t, alice, c)
		members, names = append(members, c), append(names, name)
	}
	th, err := alice.CreateThread(ctx, client.NewThread{Participants: names, Kind: client.ThreadGroup, Title: "Thumbs"})
	if err != nil {
		t.Fatal(err)
	}
	stream := mustEvents(t, alice)

	const messages = 20
	var ids []string
	for i := range messages {
		m := apptest.MustSend(t, alice, th.ID, fmt.Sprint("message ", i))
		ids = append(ids, m.ID)
		var wg sync.WaitGroup
		for _, c := range members {
			wg.Go(func() {
				if _, err := c.React(ctx, m.ID, "👍"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	held := map[string]client.Message{} // the copy with the higher change
	for told := 0; told < messages*len(members); {
		ev, err := stream.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != client.EventMessageReacted {
			continue
		}
		told++
		var m client.Message
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatal(err)
		}
		if m.Change > held[m.ID].Change {
			held[m.ID] = m
		}
	}
	for _, id := range ids {
		if got := held[id].Reactions; len(got) != 1 || got[0].Count != len(members) {
			t.Errorf("message %s, as held by its highest change %d: reactions %+v; want all %d", id, held[id].Change, got, len(members))
		}
	}
}

// An app that writes but may not read messages gets back what it wrote,
// without the reactions members gave it (hideReactions), and without a
// change, which reactions move: nothing in its copies tells it that anyone
// reacted, nor how busy the thread was before its send.
func TestMessages_AWriteOnlyAppsCopyHasNoChange(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, th, "before the app")
	app := env.Client.WithToken(env.MustToken(t, env.MustPartner(t, "Writer"), "alice", []string{"openid", "messages.write"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{th}}).AccessToken)
	sent, err := app.SendMessage(ctx, th, "receipt", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.React(ctx, sent.ID, "😢"); err != nil {
		t.Fatal(err)
	}
	again, err := app.EditMessage(ctx, sent.ID, "receipt") // the same text: no edit
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*client.Message{"sent": sent, "edited to the same": again} {
		if m.Change != 0 || len(m.Reactions) != 0 {
			t.Errorf("the app's copy %s: change %d, reactions %+v; want neither", name, m.Change, m.Reactions)
		}
	}
}
