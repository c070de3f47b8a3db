package httpapi_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestEvents_AppStreamLogsWhoIsInTheThreadNow: an app's stream holds who
// takes part in a thread between events, and each event it delivers is
// still logged for exactly those in the thread when it was sent: one who
// joined since the stream's last event is told, one who left is not.
func TestEvents_AppStreamLogsWhoIsInTheThreadNow(t *testing.T) {
	w := newGrantWorld(t)
	ctx := context.Background()
	dave := w.env.MustMember(t, "dave")
	apptest.MustFriends(t, w.alice, dave)
	group := apptest.MustThread(t, w.alice, "bob", "carol").ID
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{group}})
	stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))

	// delivered sends a message into the group and waits for the app's
	// stream to deliver it: by then it is in the access logs.
	delivered := func(text string) *client.Message {
		t.Helper()
		sent := apptest.MustSend(t, w.alice, group, text)
		next, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		for {
			ev, err := stream.Next(next)
			if err != nil {
				t.Fatalf("waiting for %q: %v", text, err)
			}
			if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), sent.ID) {
				return sent
			}
		}
	}
	// logged reports whether the newest entry of c's log is the app's
	// receiving msg.
	logged := func(c *client.Client, msg *client.Message) bool {
		t.Helper()
		page := accessLog(t, c, "?limit=1")
		return len(page.Entries) == 1 && page.Entries[0].Action == "messages.read" && slices.Equal(page.Entries[0].MessageIDs, []string{msg.ID})
	}

	first := delivered("before dave")
	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob, "carol": w.carol} {
		if !logged(c, first) {
			t.Errorf("%s's log lacks the first event the app received", name)
		}
	}
	if _, err := w.alice.AddParticipant(ctx, group, "dave"); err != nil {
		t.Fatal(err)
	}
	if err := w.carol.LeaveThread(ctx, group); err != nil {
		t.Fatal(err)
	}
	second := delivered("with dave, without carol")
	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob, "dave": dave} {
		if !logged(c, second) {
			t.Errorf("%s's log lacks the event the app received after dave joined", name)
		}
	}
	if logged(w.carol, second) {
		t.Error("carol, who left, is told of an event sent after she left")
	}
}

// TestEvents_AppStreamsOfOneGrantLogAnEventOnce: an app that holds several
// streams under one grant reads an event once, as far as the members'
// logs are concerned: 8 streams delivering one message leave one entry in
// the log of each member of the thread. Another app's streams, under its
// own grant, leave entries of their own.
func TestEvents_AppStreamsOfOneGrantLogAnEventOnce(t *testing.T) {
	const streams = 8
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	apps := map[string][]*client.EventStream{}
	for _, name := range []string{"Films", "Diary"} {
		partner := w.env.MustPartner(t, name)
		tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
			apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}})
		app := w.env.Client.WithToken(tok.AccessToken)
		for range streams {
			apps[partner.App.ClientID] = append(apps[partner.App.ClientID], mustEvents(t, app))
		}
	}
	sent := apptest.MustSend(t, w.bob, w.aliceBob, "to every stream")
	for clientID, list := range apps {
		for i, stream := range list {
			for {
				ev, err := stream.Next(ctx)
				if err != nil {
					t.Fatalf("%s's stream %d: %v", clientID, i, err)
				}
				if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), sent.ID) {
					break
				}
			}
		}
	}
	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
		logged := map[string]int{}
		for _, e := range accessLog(t, c, "?limit=100").Entries {
			if e.Action == "messages.read" && slices.Equal(e.MessageIDs, []string{sent.ID}) {
				logged[e.ClientID]++
			}
		}
		for clientID := range apps {
			if logged[clientID] != 1 {
				t.Errorf("%s's log holds %d entries of %s's %d streams receiving the message, want 1", name, logged[clientID], clientID, streams)
			}
		}
		if v := verifyLog(t, c); !v.Intact {
			t.Errorf("%s's log: %+v", name, v)
		}
	}
}
