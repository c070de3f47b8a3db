package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestThreadUpdate: a member renames a group for everyone in it, and mutes
// a thread for themselves alone: a muted thread's messages still come and
// count, no one else learns of it, and no app either.
func TestThreadUpdate(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "All three", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	title := func(s string) *string { return &s }

	t.Run("ARenameIsEveryones", func(t *testing.T) {
		bobsStream := mustEvents(t, w.bob)
		got, err := w.alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: title("  Plans  ")})
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != group.ID || got.Title != "Plans" || got.Muted {
			t.Fatalf("UpdateThread = %+v, want the group titled Plans, not muted", got)
		}
		change := nextData[client.ThreadChange](t, ctx, bobsStream, client.EventThreadUpdated)
		if change.Thread.ID != group.ID || change.Thread.Title != "Plans" || len(change.Participants) != 3 {
			t.Fatalf("bob's thread.updated = %+v, want the group titled Plans with its three members", change)
		}
		if th, err := w.carol.Thread(ctx, group.ID); err != nil || th.Title != "Plans" {
			t.Fatalf("carol reads %+v, %v; want the new title", th, err)
		}
	})
	t.Run("AnEmptyTitleNamesTheGroupByItsMembers", func(t *testing.T) {
		got, err := w.bob.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: title("")})
		if err != nil || got.Title != "" {
			t.Fatalf("UpdateThread = %+v, %v; want no title", got, err)
		}
	})
	t.Run("TheTitleItHasTellsNoOne", func(t *testing.T) {
		// A client may send its whole state with each mute: the title the
		// group has changes nothing, and the others learn nothing.
		before, err := w.bob.Thread(ctx, group.ID)
		if err != nil {
			t.Fatal(err)
		}
		bobsStream := mustEvents(t, w.bob)
		if got, err := w.alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: title(before.Title), Muted: &on}); err != nil || !got.Muted {
			t.Fatalf("UpdateThread = %+v, %v; want the group muted", got, err)
		}
		m := apptest.MustSend(t, w.bob, group.ID, "anyone?")
		if ev, err := bobsStream.Next(ctx); err != nil || !isMessageCreated(ev, m.ID) {
			t.Fatalf("bob's next event = %+v, %v; want his message, nothing of alice's update", ev, err)
		}
		if _, err := w.alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Muted: &off}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AMuteIsTheMembersOwn", func(t *testing.T) {
		bobsStream, alicesStream := mustEvents(t, w.bob), mustEvents(t, w.alice)
		got, err := w.alice.UpdateThread(ctx, w.aliceBob, client.ThreadUpdate{Muted: &on})
		if err != nil || !got.Muted || got.ID != w.aliceBob {
			t.Fatalf("UpdateThread = %+v, %v; want the thread muted", got, err)
		}
		// Her other clients hear of it, and learn it again from nothing
		// that changes nothing.
		if ev := nextData[client.ThreadMuted](t, ctx, alicesStream, client.EventThreadMuted); ev.ThreadID != w.aliceBob || !ev.Muted {
			t.Fatalf("alice's other client is told %+v, want the thread muted", ev)
		}
		if _, err := w.alice.UpdateThread(ctx, w.aliceBob, client.ThreadUpdate{Muted: &on}); err != nil {
			t.Fatal(err)
		}
		sent := apptest.MustSend(t, w.alice, w.aliceBob, "muted, still talking")
		for {
			ev, err := alicesStream.Next(ctx)
			if err != nil || ev.Type == client.EventThreadMuted {
				t.Fatalf("alice's stream: %+v, %v; want her message, nothing of a mute that changed nothing", ev, err)
			}
			if isMessageCreated(ev, sent.ID) {
				break
			}
		}
		if th, err := w.alice.Thread(ctx, w.aliceBob); err != nil || !th.Muted {
			t.Fatalf("alice reads %+v, %v; want it muted", th, err)
		}
		if !listedMuted(t, ctx, w.alice, w.aliceBob) {
			t.Error("alice's list shows the thread not muted")
		}
		if th, err := w.bob.Thread(ctx, w.aliceBob); err != nil || th.Muted {
			t.Fatalf("bob reads %+v, %v; want it not muted: the mute is alice's", th, err)
		}
		if listedMuted(t, ctx, w.bob, w.aliceBob) {
			t.Error("bob's list shows alice's mute")
		}
		// Bob hears nothing of the mute: the next event he gets is alice's
		// message's.
		ev, err := bobsStream.Next(ctx)
		if err != nil || !isMessageCreated(ev, sent.ID) {
			t.Fatalf("bob's next event = %+v, %v; want alice's message, nothing of the mute", ev, err)
		}
	})
	t.Run("AMutedThreadStillTakesAndCountsMessages", func(t *testing.T) {
		alicesStream := mustEvents(t, w.alice)
		before, err := w.alice.Thread(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		m := apptest.MustSend(t, w.bob, w.aliceBob, "still coming")
		for {
			ev, err := alicesStream.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if isMessageCreated(ev, m.ID) {
				break
			}
		}
		th, err := w.alice.Thread(ctx, w.aliceBob)
		if err != nil || !th.Muted || th.UnreadCount != before.UnreadCount+1 || th.LastMessage.ID != m.ID {
			t.Fatalf("alice reads %+v, %v; want it muted with one more unread, bob's message last", th, err)
		}
	})
	t.Run("NoAppSeesIt", func(t *testing.T) {
		partner := w.env.MustPartner(t, "Diary")
		app := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", []string{"openid", "threads.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		var one map[string]any
		if _, err := app.Do(ctx, "GET", "/api/v1/threads/"+w.aliceBob, nil, &one); err != nil {
			t.Fatal(err)
		}
		if _, ok := one["muted"]; ok {
			t.Errorf("the app reads the thread as %v: it shows the member's mute", one)
		}
		var list struct{ Threads []map[string]any }
		if _, err := app.Do(ctx, "GET", "/api/v1/threads", nil, &list); err != nil || len(list.Threads) != 1 {
			t.Fatalf("the app's list = %+v, %v; want the one thread", list, err)
		}
		if _, ok := list.Threads[0]["muted"]; ok {
			t.Errorf("the app's list shows the member's mute: %v", list.Threads[0])
		}
		_, err := app.UpdateThread(ctx, w.aliceBob, client.ThreadUpdate{Muted: &off})
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")

		// Nor does an app's stream of alice's events carry her mute.
		reader := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Reader"), "alice", []string{"openid", "threads.read", "messages.read"},
			apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
		stream := mustEvents(t, reader)
		for _, muted := range []*bool{&off, &on} {
			if _, err := w.alice.UpdateThread(ctx, w.aliceBob, client.ThreadUpdate{Muted: muted}); err != nil {
				t.Fatal(err)
			}
		}
		m := apptest.MustSend(t, w.bob, w.aliceBob, "for the app to read")
		if ev, err := stream.Next(ctx); err != nil || !isMessageCreated(ev, m.ID) {
			t.Fatalf("the app's next event = %+v, %v; want bob's message, nothing of alice's mute", ev, err)
		}
	})
	t.Run("AllOfItOrNothing", func(t *testing.T) {
		_, err := w.alice.UpdateThread(ctx, w.aliceBob, client.ThreadUpdate{Title: title("Us two"), Muted: &off})
		wantProblem(t, err, http.StatusConflict, "conflict")
		_, err = w.alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: title(strings.Repeat("x", parley.MaxTitleLen+1)), Muted: &on})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		_, err = w.alice.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: title("bell\a"), Muted: &on})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		if th, err := w.alice.Thread(ctx, w.aliceBob); err != nil || !th.Muted || th.Title != "" {
			t.Fatalf("after the refused update the direct thread reads %+v, %v; want it as it was", th, err)
		}
		if th, err := w.alice.Thread(ctx, group.ID); err != nil || th.Muted || th.Title != "" {
			t.Fatalf("after the refused updates the group reads %+v, %v; want it as it was", th, err)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, body := range []string{`{}`, `{"muted": null}`, `{"muted": "yes"}`, `{"title": 7}`, `{"muted": true, "pinned": true}`} {
			var raw json.RawMessage = []byte(body)
			_, err := w.alice.Do(ctx, "PATCH", "/api/v1/threads/"+group.ID, raw, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		}
		if th, err := w.alice.Thread(ctx, group.ID); err != nil || th.Muted {
			t.Fatalf("after bad input the group reads %+v, %v; want it not muted", th, err)
		}
	})
	t.Run("OnlyItsMembers", func(t *testing.T) {
		_, err := w.alice.UpdateThread(ctx, w.bobCarol, client.ThreadUpdate{Muted: &on})
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = w.alice.UpdateThread(ctx, w.bobCarol, client.ThreadUpdate{Title: title("Mine now")})
		wantProblem(t, err, http.StatusNotFound, "not_found")
		if th, err := w.bob.Thread(ctx, w.bobCarol); err != nil || th.Muted || th.Title != "" {
			t.Fatalf("bob reads %+v, %v; want it as it was", th, err)
		}
	})
	// A member added back to a group they had muted comes back unmuted,
	// and their own clients, told of the mute, are told it is gone; no one
	// else hears of it. One added back who had not muted it hears nothing
	// of mutes.
	t.Run("AddedBackUnmutedAndTold", func(t *testing.T) {
		// mutes returns the thread.muted events each stream carries before the
		// message.created of alice's next message into the group.
		mutes := func(streams ...*client.EventStream) [][]client.ThreadMuted {
			t.Helper()
			m := apptest.MustSend(t, w.alice, group.ID, "welcome back")
			told := make([][]client.ThreadMuted, len(streams))
			for i, s := range streams {
				for {
					ev, err := s.Next(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if isMessageCreated(ev, m.ID) {
						break
					}
					if ev.Type == client.EventThreadMuted {
						var data client.ThreadMuted
						if err := json.Unmarshal(ev.Data, &data); err != nil {
							t.Fatal(err)
						}
						told[i] = append(told[i], data)
					}
				}
			}
			return told
		}
		if _, err := w.carol.UpdateThread(ctx, group.ID, client.ThreadUpdate{Muted: &on}); err != nil {
			t.Fatal(err)
		}
		if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		_, err := w.carol.UpdateThread(ctx, group.ID, client.ThreadUpdate{Muted: &off})
		wantProblem(t, err, http.StatusNotFound, "not_found")
		carols, bobs := mustEvents(t, w.carol), mustEvents(t, w.bob)
		if _, err := w.bob.AddParticipant(ctx, group.ID, "carol"); err != nil {
			t.Fatal(err)
		}
		if th, err := w.carol.Thread(ctx, group.ID); err != nil || th.Muted {
			t.Fatalf("carol, added back, reads %+v, %v; want it not muted", th, err)
		}
		told := mutes(carols, bobs)
		if want := []client.ThreadMuted{{ThreadID: group.ID, Muted: false}}; !slices.Equal(told[0], want) {
			t.Errorf("carol's clients, told she muted the group, are told %+v as she is added back; want %+v", told[0], want)
		}
		if len(told[1]) != 0 {
			t.Errorf("bob is told of carol's mute: %+v", told[1])
		}

		if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.bob.AddParticipant(ctx, group.ID, "carol"); err != nil {
			t.Fatal(err)
		}
		if told := mutes(carols); len(told[0]) != 0 {
			t.Errorf("carol, added back to a group she had not muted, is told %+v", told[0])
		}
	})
	t.Run("Unmuted", func(t *testing.T) {
		got, err := w.alice.UpdateThread(ctx, w.aliceBob, client.ThreadUpdate{Muted: &off})
		if err != nil || got.Muted {
			t.Fatalf("UpdateThread = %+v, %v; want it unmuted", got, err)
		}
	})
}

// isMessageCreated reports whether ev is message.created of message id.
func isMessageCreated(ev client.Event, id string) bool {
	var m client.Message
	return ev.Type == client.EventMessageCreated && json.Unmarshal(ev.Data, &m) == nil && m.ID == id
}

// listedMuted reports whether the member's list of threads shows the
// thread muted.
func listedMuted(t *testing.T, ctx context.Context, c *client.Client, threadID string) bool {
	t.Helper()
	page, err := c.Threads(ctx, client.ThreadsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range page.Threads {
		if th.ID == threadID {
			return th.Muted
		}
	}
	t.Fatalf("thread %s is not in the list", threadID)
	return false
}

// Every thread.updated carries the thread's version as a read of it after
// the change gives it: when a group is started, a member added, the group
// renamed, a member leaving, and a direct thread blocked and unblocked;
// each change is a higher version than the one before.
func TestThreadUpdate_EveryEventCarriesTheVersionOfItsChange(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dave := w.env.MustMember(t, "dave")
	apptest.MustFriends(t, w.alice, dave)
	stream := mustEvents(t, w.alice)
	var group string
	last := int64(-1)
	for _, change := range []struct {
		name   string
		thread func() string
		make   func() error
	}{
		{"a group started", func() string { return group }, func() (err error) {
			group = apptest.MustThread(t, w.alice, "bob", "carol").ID
			return nil
		}},
		{"dave added", func() string { return group }, func() error { _, err := w.alice.AddParticipant(ctx, group, "dave"); return err }},
		{"renamed", func() string { return group }, func() error {
			_, err := w.alice.UpdateThread(ctx, group, client.ThreadUpdate{Title: new("Trip")})
			return err
		}},
		{"bob leaving", func() string { return group }, func() error { return w.bob.LeaveThread(ctx, group) }},
		{"blocked", func() string { return w.aliceBob }, func() error { _, err := w.bob.Block(ctx, "alice"); return err }},
		{"unblocked", func() string { return w.aliceBob }, func() error { return w.bob.Unblock(ctx, w.aliceID) }},
	} {
		if err := change.make(); err != nil {
			t.Fatalf("%s: %v", change.name, err)
		}
		told := nextData[client.ThreadChange](t, ctx, stream, client.EventThreadUpdated)
		read, err := w.alice.Thread(ctx, change.thread())
		if err != nil {
			t.Fatal(err)
		}
		if told.Thread.ID != read.ID || told.Thread.Version != read.Version {
			t.Errorf("%s: told of %s at version %d; a read of %s gives %d", change.name, told.Thread.ID, told.Thread.Version, read.ID, read.Version)
		}
		if read.ID == group {
			if read.Version <= last {
				t.Errorf("%s: version %d, not above the one before, %d", change.name, read.Version, last)
			}
			last = read.Version
		}
	}
}
