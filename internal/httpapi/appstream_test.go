package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	t.Parallel()
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
	t.Parallel()
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

// eventsUntil reads the stream until an event whose data holds marker, such
// as a message's ID, and returns the events before it.
func eventsUntil(t *testing.T, s *client.EventStream, marker string) []client.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []client.Event
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %q: %v (after %d events)", marker, err, len(got))
		}
		if strings.Contains(string(ev.Data), marker) {
			return got
		}
		got = append(got, ev)
	}
}

// TestEvents_AppSeesReadMarkersAsItSeesTheThread: read.updated reaches an
// app in the thread's own seqs, as its messages carry them, and not at all
// when the marker is before the first message the app may see;
// and an app without participants.read sees only its own member's marker,
// as another's would tell it who takes part.
func TestEvents_AppSeesReadMarkersAsItSeesTheThread(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	apptest.MustSend(t, w.alice, w.aliceBob, "second, before the app")
	partner := w.env.MustPartner(t, "Sharer")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "threads.read", "shares.write"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://example.com/x", Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if card.Seq != 3 {
		t.Fatalf("the card is message %d, want 3", card.Seq)
	}
	stream := mustEvents(t, app)
	if err := w.bob.MarkRead(ctx, w.aliceBob, 1); err != nil { // before the app's first message
		t.Fatal(err)
	}
	apptest.MustSend(t, w.bob, w.aliceBob, "4")
	if err := w.alice.MarkRead(ctx, w.aliceBob, 4); err != nil { // the app's second
		t.Fatal(err)
	}
	apptest.MustSend(t, w.alice, w.aliceBob, "5")
	if err := w.bob.MarkRead(ctx, w.aliceBob, 5); err != nil { // another member's
		t.Fatal(err)
	}
	sync := apptest.MustSend(t, w.alice, w.aliceBob, "sync")
	var reads []string
	for _, ev := range eventsUntil(t, stream, sync.ID) {
		if ev.Type == client.EventReadUpdated {
			var read client.ReadUpdated
			if err := json.Unmarshal(ev.Data, &read); err != nil {
				t.Fatal(err)
			}
			reads = append(reads, fmt.Sprintf("%s read %d", read.UserID, read.Seq))
		}
	}
	if want := []string{w.aliceID + " read 4"}; !slices.Equal(reads, want) {
		t.Errorf("the app, which sees the thread from message 3 on, got %q; want %q", reads, want)
	}
}

// TestEvents_AppReadMarkersLoggedAsWhatTheyTell: an app's receiving its own
// member's read marker is logged as threads.read; another member's, which
// only participants.read lets it see, as participants.read, as the
// participants of a thread.updated are.
func TestEvents_AppReadMarkersLoggedAsWhatTheyTell(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Lister")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "threads.read", "participants.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}})
	stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
	if err := w.alice.MarkRead(ctx, w.aliceBob, apptest.MustSend(t, w.bob, w.aliceBob, "for alice").Seq); err != nil {
		t.Fatal(err)
	}
	if err := w.bob.MarkRead(ctx, w.aliceBob, apptest.MustSend(t, w.alice, w.aliceBob, "for bob").Seq); err != nil {
		t.Fatal(err)
	}
	eventsUntil(t, stream, apptest.MustSend(t, w.alice, w.aliceBob, "sync").ID)
	var markers []string // the entries of the two markers, newest first
	for _, e := range accessLog(t, w.alice, "?limit=20").Entries {
		if e.ThreadID == w.aliceBob && e.Action != "messages.read" {
			markers = append(markers, e.Action)
		}
	}
	if want := []string{"participants.read", "threads.read"}; !slices.Equal(markers, want) {
		t.Errorf("the app received alice's read marker, then bob's; alice's log has them as %q, want %q", markers, want)
	}
}

// TestEvents_AppStreamFallsSilentWhenItsMemberLeaves: once the member whose
// grant an app holds leaves a thread, the API answers 404 for it, and the
// stream carries nothing of it either: not the thread.updated of their
// leaving, nor of anyone else's, even when the member was the last to go
// and no one would be told in their log.
func TestEvents_AppStreamFallsSilentWhenItsMemberLeaves(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	group := apptest.MustThread(t, w.alice, "bob", "carol").ID
	partner := w.env.MustPartner(t, "Lister")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "threads.read", "participants.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{group}})
	app := w.env.Client.WithToken(tok.AccessToken)
	stream := mustEvents(t, app)
	for _, c := range []*client.Client{w.alice, w.bob, w.carol} {
		if err := c.LeaveThread(ctx, group); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.Thread(ctx, group); err == nil {
		t.Fatal("the API still shows the thread to the app")
	}
	sync := apptest.MustSend(t, w.alice, w.aliceBob, "sync") // a thread the grant does not reach: no event
	quiet, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	for {
		ev, err := stream.Next(quiet)
		if err != nil {
			break
		}
		if ev.ThreadID == group || strings.Contains(string(ev.Data), sync.ID) {
			t.Errorf("after alice left, her app got %s: %s", ev.Type, ev.Data)
		}
	}
}

// TestEvents_AppStreamLogsEachMessageWithItsSeq: the access-log entry of a
// message an app's stream delivered names the message's number, as a read
// of it through the API does.
func TestEvents_AppStreamLogsEachMessageWithItsSeq(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}})
	stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
	sent := apptest.MustSend(t, w.bob, w.aliceBob, "seq two")
	eventsUntil(t, stream, sent.ID)
	e := accessLog(t, w.alice, "?limit=1").Entries[0]
	if e.FirstSeq != sent.Seq || e.LastSeq != sent.Seq {
		t.Errorf("the entry of the streamed message %d: first_seq %d, last_seq %d", sent.Seq, e.FirstSeq, e.LastSeq)
	}
}

// TestGrants_WhoStartedAThreadIsAParticipant: who started a thread names a
// participant, so an app without participants.read is never told, not even
// when its own member did (a blank would then name the other member of a
// direct thread), in summaries and in thread.updated events alike.
func TestGrants_WhoStartedAThreadIsAParticipant(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	bobs := apptest.MustThread(t, w.bob, "alice", "carol").ID
	alices := apptest.MustThread(t, w.alice, "bob", "carol").ID
	bobID := apptest.MustMe(t, w.bob).ID
	for _, scopes := range [][]string{{"threads.read"}, {"threads.read", "participants.read"}} {
		t.Run(strings.Join(scopes, "+"), func(t *testing.T) {
			partner := w.env.MustPartner(t, "Lister "+strings.Join(scopes, " "))
			tok := w.env.MustToken(t, partner, "alice", append([]string{"openid", "messages.read"}, scopes...),
				apptest.Answer{ThreadScope: "selected", Threads: []string{bobs, alices, w.aliceBob}})
			app := w.env.Client.WithToken(tok.AccessToken)
			wantBob, wantAlice := "", ""
			if slices.Contains(scopes, "participants.read") {
				wantBob, wantAlice = bobID, w.aliceID
			}
			for id, want := range map[string]string{bobs: wantBob, alices: wantAlice, w.aliceBob: wantAlice} {
				th, err := app.Thread(ctx, id)
				if err != nil {
					t.Fatal(id == bobs, err)
				}
				if th.CreatedBy != want {
					t.Errorf("a thread started by %s: created_by %q, want %q", map[string]string{bobs: "bob", alices: "alice", w.aliceBob: "alice, with bob"}[id], th.CreatedBy, want)
				}
			}
			stream := mustEvents(t, app)
			if _, err := w.bob.AddParticipant(ctx, bobs, "carol"); err != nil { // back, after the first run's leaving
				t.Fatal(err)
			}
			if err := w.carol.LeaveThread(ctx, bobs); err != nil {
				t.Fatal(err)
			}
			sync := apptest.MustSend(t, w.alice, bobs, "sync "+strings.Join(scopes, " "))
			var updated int
			for _, ev := range eventsUntil(t, stream, sync.ID) {
				if ev.Type != client.EventThreadUpdated {
					continue
				}
				change := threadUpdate(t, ev)
				if updated++; change.Thread.CreatedBy != wantBob {
					t.Errorf("thread.updated: created_by %q, want %q", change.Thread.CreatedBy, wantBob)
				}
			}
			if updated == 0 {
				t.Error("no thread.updated of carol's leaving")
			}
		})
	}
}

// TestGrants_AThreadBeginsForAnAppAtItsFirstMessage: an app whose grant
// reaches a conversation only from its own first post in it (thread scope
// app) is told, as the thread's created_at, when that post was written,
// not when the conversation began, before anything it may see: in the
// thread, in the list of threads and in thread.updated events alike.
func TestGrants_AThreadBeginsForAnAppAtItsFirstMessage(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	began, err := w.alice.Thread(ctx, w.aliceBob)
	if err != nil {
		t.Fatal(err)
	}
	partner := w.env.MustPartner(t, "Sharer")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "shares.write", "threads.read", "messages.read"}, apptest.Answer{})
	app := w.env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://movieclub.example/films/the-general", Title: "The General"})
	if err != nil {
		t.Fatal(err)
	}
	if card.ThreadID != w.aliceBob {
		t.Fatalf("card in %s, want one in alice and bob's thread", card.ThreadID)
	}
	// Bob's answer, later, is the thread's last activity, which is not
	// when the app's part of it began.
	w.env.Clock.Advance(time.Minute)
	apptest.MustSend(t, w.bob, w.aliceBob, "seen it")
	th, err := app.Thread(ctx, w.aliceBob)
	if err != nil {
		t.Fatal(err)
	}
	if !th.CreatedAt.Equal(card.CreatedAt) {
		t.Errorf("GET /threads/{id}: created_at %v, want the card's %v (the thread began %v)", th.CreatedAt, card.CreatedAt, began.CreatedAt)
	}
	page, err := app.Threads(ctx, client.ThreadsQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Threads) != 1 || !page.Threads[0].CreatedAt.Equal(card.CreatedAt) {
		t.Errorf("GET /threads: %d threads, want the one, begun at the card's %v", len(page.Threads), card.CreatedAt)
		for _, th := range page.Threads {
			t.Logf("thread %s: created_at %v", th.ID, th.CreatedAt)
		}
	}
	stream := mustEvents(t, app)
	if _, err := w.alice.Block(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	waiting, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		ev, err := stream.Next(waiting)
		if err != nil {
			t.Fatalf("no thread.updated of alice's block: %v", err)
		}
		if ev.Type != client.EventThreadUpdated {
			continue
		}
		change := threadUpdate(t, ev)
		if !change.Thread.CreatedAt.Equal(card.CreatedAt) {
			t.Errorf("thread.updated: created_at %v, want the card's %v", change.Thread.CreatedAt, card.CreatedAt)
		}
		return
	}
}

// threadUpdate reads a thread.updated event's data.
func threadUpdate(t *testing.T, ev client.Event) (change struct {
	Thread client.Thread `json:"thread"`
}) {
	t.Helper()
	if err := json.Unmarshal(ev.Data, &change); err != nil {
		t.Fatal(err)
	}
	return change
}
