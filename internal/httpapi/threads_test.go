package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

func TestThreads_Create(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	env.MustMember(t, "stranger")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)

	t.Run("DirectIsUnique", func(t *testing.T) {
		first := apptest.MustThread(t, alice, "bob")
		if first.Kind != client.ThreadDirect {
			t.Fatalf("kind = %q", first.Kind)
		}
		again, err := bob.CreateThread(ctx, client.NewThread{Participants: []string{"ALICE"}})
		if err != nil || again.ID != first.ID {
			t.Fatalf("second create = %+v, %v; want thread %s", again, err, first.ID)
		}
	})
	t.Run("Group", func(t *testing.T) {
		g, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol", "alice"}, Title: "Trip"})
		if err != nil || g.Kind != client.ThreadGroup || g.Title != "Trip" {
			t.Fatalf("group = %+v, %v", g, err)
		}
		ps, _ := carol.Participants(ctx, g.ID)
		if len(ps) != 3 {
			t.Fatalf("participants = %+v", ps)
		}
	})
	t.Run("ErrNotFriends", func(t *testing.T) {
		_, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"stranger"}})
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		_, err = bob.CreateThread(ctx, client.NewThread{Participants: []string{"carol"}})
		wantProblem(t, err, http.StatusForbidden, "forbidden")
	})
	for name, in := range map[string]client.NewThread{
		"ErrNoParticipants":  {},
		"ErrOnlySelf":        {Participants: []string{"alice"}},
		"ErrBadUsername":     {Participants: []string{"b-o-b"}},
		"ErrDirectWithTwo":   {Participants: []string{"bob", "carol"}, Kind: "direct"},
		"ErrDirectWithTitle": {Participants: []string{"bob"}, Title: "hi"},
		"ErrUnknownKind":     {Participants: []string{"bob"}, Kind: "channel"},
		"ErrTitleTooLong":    {Participants: []string{"bob", "carol"}, Title: string(make([]byte, 129))},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.CreateThread(ctx, in)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("ErrUnknownMember", func(t *testing.T) {
		_, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"nobody"}})
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	// A thread holds 256 members: the starter and 255 others, however
	// often the list names each.
	names := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("member%03d", i), fmt.Sprintf("member%03d", i), "alice")
		}
		return out
	}
	t.Run("ErrMoreThanAThreadHolds", func(t *testing.T) {
		_, err := alice.CreateThread(ctx, client.NewThread{Participants: names(256)})
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	})
	t.Run("AsManyAsAThreadHolds", func(t *testing.T) {
		// Not an error of size: these members do not exist.
		_, err := alice.CreateThread(ctx, client.NewThread{Participants: names(255)})
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	t.Run("RepeatedNames", func(t *testing.T) {
		many := slices.Repeat([]string{"bob", "BOB", "alice"}, 3000)
		th, err := alice.CreateThread(ctx, client.NewThread{Participants: many})
		if err != nil || th.Kind != client.ThreadDirect {
			t.Fatalf("a list naming bob 6,000 times: %+v, %v; want the direct thread with bob", th, err)
		}
	})
}

// A thread started with an Idempotency-Key is started once: a retry, the
// members named in another order or case, returns it (201, replayed), on
// either engine and from many requests at once; the key with another
// request is a conflict, and another member's same key is theirs.
func TestThreads_CreateWithIdempotencyKey(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	apptest.MustFriends(t, bob, carol)
	trip := client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"}
	first, resp, err := startWithKey(alice, "k1", trip)
	if err != nil || resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %v %v", resp, err)
	}
	again, resp, err := startWithKey(alice, "k1", client.NewThread{Participants: []string{"CAROL", "bob", "alice"}, Title: "Trip"})
	if err != nil || again.ID != first.ID || resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry: %+v, %v, %v; want thread %s, 201, replayed", again, resp, err, first.ID)
	}
	_, _, err = startWithKey(alice, "k1", client.NewThread{Participants: []string{"bob", "carol"}, Title: "Another trip"})
	wantProblem(t, err, http.StatusConflict, "conflict")
	if !strings.Contains(err.Error(), "to start a different conversation") {
		t.Errorf("the key with another request: %v", err)
	}
	if theirs, _, err := startWithKey(bob, "k1", client.NewThread{Participants: []string{"alice", "carol"}, Title: "Trip"}); err != nil || theirs.ID == first.ID {
		t.Errorf("bob's k1: %+v, %v; want a thread of his own", theirs, err)
	}
	ids := make(chan string, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			th, _, err := startWithKey(carol, "k2", client.NewThread{Participants: []string{"alice", "bob"}, Title: "Race"})
			if err != nil {
				t.Error(err)
			}
			ids <- th.ID
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("8 requests with one key started %d threads, want 1", len(seen))
	}
}

// startWithKey starts a thread as c with an Idempotency-Key.
func startWithKey(c *client.Client, key string, in client.NewThread) (*client.ThreadSummary, *http.Response, error) {
	var th client.ThreadSummary
	resp, err := c.Do(context.Background(), "POST", "/api/v1/threads", in, &th, "Idempotency-Key", key)
	return &th, resp, err
}

func TestThreads_Privacy(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, eve := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "eve")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	msg := apptest.MustSend(t, alice, th.ID, "secret plans")

	// Someone outside the thread gets the same 404 as for a thread that does
	// not exist, whatever they try.
	for name, call := range map[string]func(id string) error{
		"Get":          func(id string) error { _, err := eve.Thread(ctx, id); return err },
		"Messages":     func(id string) error { _, err := eve.Messages(ctx, id, client.MessagesQuery{}); return err },
		"Participants": func(id string) error { _, err := eve.Participants(ctx, id); return err },
		"Send":         func(id string) error { _, err := eve.SendMessage(ctx, id, "hi", ""); return err },
		"Read":         func(id string) error { return eve.MarkRead(ctx, id, 1) },
		"ReadMarkers":  func(id string) error { _, err := eve.ReadMarkers(ctx, id); return err },
		"Leave":        func(id string) error { return eve.LeaveThread(ctx, id) },
		"AddSelf":      func(id string) error { _, err := eve.AddParticipant(ctx, id, "eve"); return err },
	} {
		t.Run(name, func(t *testing.T) {
			errHidden, errAbsent := call(th.ID), call("06h0000000000000000000000")
			wantProblem(t, errHidden, http.StatusNotFound, "not_found")
			if errHidden.Error() != errAbsent.Error() {
				t.Fatalf("hidden thread answers %v, absent one %v: they must not differ", errHidden, errAbsent)
			}
		})
	}
	t.Run("DeleteOthersMessage", func(t *testing.T) {
		wantProblem(t, eve.DeleteMessage(ctx, msg.ID), http.StatusNotFound, "not_found")
	})
	t.Run("NotListed", func(t *testing.T) {
		var raw map[string]any
		if _, err := eve.Do(ctx, "GET", "/api/v1/threads", nil, &raw); err != nil {
			t.Fatal(err)
		}
		if list, ok := raw["threads"].([]any); !ok || len(list) != 0 {
			t.Fatalf("eve's threads = %v; want an empty array", raw)
		}
		page, err := eve.Threads(ctx, client.ThreadsQuery{})
		if err != nil || len(page.Threads) != 0 {
			t.Fatalf("eve's threads = %+v, %v", page, err)
		}
	})
}

// TestThreads_ReadMarkers: how far each participant of a thread has read
// can be read again, for a client that missed the read.updated that told
// it while it was away, in the order they joined; not by an app, and, in
// a conversation under a block, only the member's own.
func TestThreads_ReadMarkers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for _, text := range []string{"one", "two", "three", "four"} {
		apptest.MustSend(t, alice, th.ID, text)
	}
	if err := bob.MarkRead(ctx, th.ID, 3); err != nil {
		t.Fatal(err)
	}
	markers := func(c *client.Client) string {
		t.Helper()
		list, err := c.ReadMarkers(ctx, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range list {
			out = append(out, fmt.Sprintf("%s:%d", m.User.Username, m.Seq))
		}
		return strings.Join(out, " ")
	}
	if got := markers(alice); got != "alice:4 bob:3" {
		t.Errorf("alice reads the markers %q; want alice:4 bob:3", got)
	}
	_, err := alicesApp(t, env).ReadMarkers(ctx, th.ID)
	wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
	if _, err := alice.Block(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if got := markers(bob); got != "bob:3" {
		t.Errorf("blocked, bob reads the markers %q; want his own alone", got)
	}
}

// Adding a member tells the others the thread as it is stored: its last
// activity never goes back, so a node whose clock is behind (or a write
// whose time was taken before a post's that committed first) tells the
// thread's last activity, as GET /threads/{id} answers it, not its own
// earlier time.
func TestThreads_AddedEventCarriesStoredLastActivity(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	env.Clock.Freeze()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	th, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "g", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, alice, th.ID, "at T")
	bobs := mustEvents(t, bob)
	env.Clock.Advance(-time.Minute)
	if _, err := alice.AddParticipant(ctx, th.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	stored, err := bob.Thread(ctx, th.ID)
	if err != nil {
		t.Fatal(err)
	}
	ch := nextData[client.ThreadChange](t, ctx, bobs, client.EventThreadUpdated)
	if !ch.Thread.LastActivityAt.Equal(stored.LastActivityAt) {
		t.Fatalf("thread.updated carries last_activity_at %s; the thread's, as read, is %s", ch.Thread.LastActivityAt, stored.LastActivityAt)
	}
}

func TestThreads_Participants(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol, dave := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol"), env.MustMember(t, "dave")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	apptest.MustFriends(t, bob, dave)
	g := apptest.MustThread(t, alice, "bob", "carol")

	t.Run("AddFriend", func(t *testing.T) {
		ps, err := bob.AddParticipant(ctx, g.ID, "dave")
		if err != nil || len(ps) != 4 {
			t.Fatalf("AddParticipant = %+v, %v", ps, err)
		}
		if _, err := dave.Thread(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AddAgainChangesNothing", func(t *testing.T) {
		if ps, err := bob.AddParticipant(ctx, g.ID, "dave"); err != nil || len(ps) != 4 {
			t.Fatalf("AddParticipant = %+v, %v", ps, err)
		}
	})
	t.Run("ErrAddNonFriend", func(t *testing.T) {
		env.MustMember(t, "stranger")
		_, err := carol.AddParticipant(ctx, g.ID, "stranger")
		wantProblem(t, err, http.StatusForbidden, "forbidden")
	})
	t.Run("ErrAddToDirect", func(t *testing.T) {
		d := apptest.MustThread(t, alice, "bob")
		_, err := alice.AddParticipant(ctx, d.ID, "carol")
		wantProblem(t, err, http.StatusConflict, "conflict")
		wantProblem(t, alice.LeaveThread(ctx, d.ID), http.StatusConflict, "conflict")
	})
	t.Run("Leave", func(t *testing.T) {
		if err := carol.LeaveThread(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
		_, err := carol.Thread(ctx, g.ID)
		wantProblem(t, err, http.StatusNotFound, "not_found")
		ps, _ := alice.Participants(ctx, g.ID)
		for _, p := range ps {
			if p.Username == "carol" {
				t.Fatalf("carol still listed after leaving: %+v", ps)
			}
		}
		// A friend can bring her back.
		if _, err := alice.AddParticipant(ctx, g.ID, "carol"); err != nil {
			t.Fatal(err)
		}
		if _, err := carol.Thread(ctx, g.ID); err != nil {
			t.Fatal(err)
		}
	})
}

// A page of threads costs the database the same number of queries
// whatever the number of threads on it, for the member and for an app,
// with or without messages.read: each thread's messages, and for an app
// each thread's reach and readers, are read for the whole page at once.
func TestThreads_ListCostsTheSameQueriesForAnyNumberOfThreads(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	var ids []string
	for i := range 12 {
		th, err := alice.CreateThread(ctx, client.NewThread{Kind: "group", Title: fmt.Sprintf("t%d", i), Participants: []string{"bob"}})
		if err != nil {
			t.Fatal(err)
		}
		apptest.MustSend(t, bob, th.ID, "hello")
		ids = append(ids, th.ID)
	}
	partner := env.MustPartner(t, "Inbox")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "threads.read", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: ids})
	app := env.Client.WithToken(tok.AccessToken)
	titles := env.MustPartner(t, "Titles")
	titlesTok := env.MustToken(t, titles, "alice", []string{"openid", "threads.read"}, apptest.Answer{ThreadScope: "selected", Threads: ids})
	titlesOnly := env.Client.WithToken(titlesTok.AccessToken)

	// queries returns the fewest queries a page of limit threads cost in
	// five tries: the server's chores run their own now and then, some
	// every second, which on a machine loaded by the race detector and
	// the other tests is about how long a try takes (three tries each
	// counted one of theirs once, in a CI run of 2026-12-04).
	queries := func(reader *client.Client, limit int, messages bool) uint64 {
		fewest := uint64(1 << 62)
		for range 5 {
			before := env.Server.Store.Queries()
			page, err := reader.Threads(ctx, client.ThreadsQuery{Limit: limit, Messages: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Threads) != limit || (page.Threads[0].LastMessage != nil) != messages {
				t.Fatalf("a page of %d threads, the first with last message %v; want %d, with one: %v", len(page.Threads), page.Threads[0].LastMessage, limit, messages)
			}
			fewest = min(fewest, env.Server.Store.Queries()-before)
		}
		return fewest
	}
	for name, r := range map[string]struct {
		reader   *client.Client
		messages bool
	}{"member": {alice, true}, "app": {app, true}, "app without messages.read": {titlesOnly, false}} {
		if few, many := queries(r.reader, 2, r.messages), queries(r.reader, 12, r.messages); few != many {
			t.Errorf("%s: a page of 2 threads cost %d queries, of 12 %d; want the same", name, few, many)
		}
	}
}

func TestThreads_List(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	var ids []string
	for i := range 7 {
		f := env.MustMember(t, fmt.Sprintf("friend%d", i))
		apptest.MustFriends(t, alice, f)
		th := apptest.MustThread(t, alice, fmt.Sprintf("friend%d", i))
		for j := range 3 {
			apptest.MustSend(t, f, th.ID, fmt.Sprintf("m%d-%d", i, j))
		}
		ids = append(ids, th.ID)
	}
	// Activity in the first thread moves it to the top.
	apptest.MustSend(t, alice, ids[0], "bump")

	t.Run("NewestActivityFirstInPages", func(t *testing.T) {
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			page, err := alice.Threads(ctx, client.ThreadsQuery{Cursor: cursor, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, th := range page.Threads {
				got = append(got, th.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
		}
		want := append([]string{ids[0]}, reversed(ids[1:])...)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("threads = %v, want %v", got, want)
		}
	})
	t.Run("UnreadAndLastMessage", func(t *testing.T) {
		page, _ := alice.Threads(ctx, client.ThreadsQuery{})
		for _, th := range page.Threads {
			wantUnread := int64(3)
			if th.ID == ids[0] {
				wantUnread = 0 // sending reads the thread
			}
			if th.UnreadCount != wantUnread || th.LastMessage == nil || th.LastMessage.Seq != th.LastSeq {
				t.Errorf("thread %s: unread %d (want %d), last message %+v", th.ID, th.UnreadCount, wantUnread, th.LastMessage)
			}
			if th.Messages != nil {
				t.Errorf("messages listed without include")
			}
		}
	})
	t.Run("IncludeMessages", func(t *testing.T) {
		page, err := alice.Threads(ctx, client.ThreadsQuery{Messages: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, th := range page.Threads {
			if len(th.Messages) != 2 || th.Messages[0].Seq+1 != th.Messages[1].Seq || th.Messages[1].Seq != th.LastSeq {
				t.Fatalf("thread %s messages = %+v, want its newest two, oldest first", th.ID, th.Messages)
			}
		}
	})
	t.Run("MarkRead", func(t *testing.T) {
		if err := alice.MarkRead(ctx, ids[1], 2); err != nil {
			t.Fatal(err)
		}
		th, _ := alice.Thread(ctx, ids[1])
		if th.UnreadCount != 1 || th.LastReadSeq != 2 {
			t.Fatalf("after reading to 2: %+v", th)
		}
		// The marker never moves back.
		if err := alice.MarkRead(ctx, ids[1], 1); err != nil {
			t.Fatal(err)
		}
		if th, _ := alice.Thread(ctx, ids[1]); th.LastReadSeq != 2 {
			t.Fatalf("marker moved back to %d", th.LastReadSeq)
		}
		wantProblem(t, alice.MarkRead(ctx, ids[1], 4), http.StatusBadRequest, "invalid")
		wantProblem(t, alice.MarkRead(ctx, ids[1], -1), http.StatusBadRequest, "invalid")
	})
	t.Run("AThousandMessagesInAll", func(t *testing.T) {
		if _, err := alice.Threads(ctx, client.ThreadsQuery{Limit: 100, Messages: 10}); err != nil {
			t.Errorf("100 threads with 10 messages each: %v", err)
		}
	})
	for name, path := range map[string]string{
		"ErrBadCursor":    "/api/v1/threads?cursor=not-a-cursor",
		"ErrForgedCursor": "/api/v1/threads?cursor=bm90LWEtY3Vyc29y",
		// A cursor whose ID is not one (here "5.\x00" and "5.\xff") is
		// refused as any other forged one, on PostgreSQL too, which
		// refuses such a string even as the key of a lookup.
		"ErrCursorIDWithNUL": "/api/v1/threads?cursor=NS4A",
		"ErrCursorIDNotUTF8": "/api/v1/threads?cursor=NS7_",
		"ErrCursorIDNotAnID": "/api/v1/threads?cursor=NS5h",
		"ErrLimitZero":       "/api/v1/threads?limit=0",
		"ErrLimitHigh":       "/api/v1/threads?limit=201",
		"ErrLimitText":       "/api/v1/threads?limit=ten",
		"ErrLimitSigned":     "/api/v1/threads?limit=%2B5",
		"ErrIncludeSigned":   "/api/v1/threads?include=messages:%2B5",
		"ErrIncludeOther":    "/api/v1/threads?include=participants",
		"ErrIncludeEmpty":    "/api/v1/threads?include=",
		"ErrIncludeTooMany":  "/api/v1/threads?include=messages:51",
		"ErrIncludeNegative": "/api/v1/threads?include=messages:-1",
		// 10,000 messages in one answer, hundreds of megabytes for the
		// longest: the page is bounded as a whole.
		"ErrIncludeTooManyInAll":  "/api/v1/threads?limit=200&include=messages:50",
		"ErrIncludeOverAThousand": "/api/v1/threads?limit=101&include=messages:10",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.Do(ctx, "GET", path, nil, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
			if strings.Contains(path, "include=messages:") {
				wantDetail(t, err, "include=messages:N")
			}
		})
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// A key used through an app is held to the app, as a message's is (the
// IdempotencyKey parameter): the member's own request with it, or another
// app's, is another request (409), neither answered with the app's thread
// nor refused as if the thread were out of reach.
func TestThreads_IdempotencyKeyIsHeldToTheApp(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	scopes := []string{"openid", "messages.write"}
	answer := apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}
	films := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Films"), "alice", scopes, answer).AccessToken)
	tunes := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Tunes"), "alice", scopes, answer).AccessToken)
	night := client.NewThread{Participants: []string{"bob", "carol"}, Title: "Movie night", IdempotencyKey: "night-1"}
	if _, err := films.CreateThread(ctx, night); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*client.Client{"AnotherApp": tunes, "TheMemberItself": w.alice} {
		_, err := c.CreateThread(ctx, night)
		wantProblem(t, err, http.StatusConflict, "conflict")
		if err != nil && !strings.Contains(err.Error(), "to start a different conversation") {
			t.Errorf("%s with Films's key: %v", name, err)
		}
	}
}

// A key answered with the direct thread that was there already (200) is
// taken all the same: a retry is answered so again (200, replayed), and
// the key with another request is a conflict, not a second thread.
func TestThreads_IdempotencyKeyOfAnExistingDirectThread(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	existing := apptest.MustThread(t, alice, "bob")
	start := func(who string) (*client.ThreadSummary, *http.Response, error) {
		return startWithKey(alice, "k-200", client.NewThread{Participants: []string{who}})
	}
	if th, resp, err := start("bob"); err != nil || resp.StatusCode != http.StatusOK || th.ID != existing.ID || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the direct thread with bob again: %+v, %v, %v; want it, 200", th, resp, err)
	}
	_, _, err := start("carol")
	wantProblem(t, err, http.StatusConflict, "conflict")
	if th, resp, err := start("bob"); err != nil || resp.StatusCode != http.StatusOK || th.ID != existing.ID || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retry of the first request: %+v, %v, %v; want the thread, 200, replayed", th, resp, err)
	}
}
