package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

func TestMessages_Send(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")

	t.Run("OK", func(t *testing.T) {
		m, err := alice.SendMessage(ctx, th.ID, "hello bob", "")
		if err != nil {
			t.Fatal(err)
		}
		if m.ID == "" || m.ThreadID != th.ID || m.Seq != 1 || m.Sender.Username != "alice" || m.Text != "hello bob" || m.CreatedAt.IsZero() {
			t.Fatalf("message = %+v", m)
		}
	})
	t.Run("LongestText", func(t *testing.T) {
		if _, err := alice.SendMessage(ctx, th.ID, strings.Repeat("é", 16000), ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Idempotent", func(t *testing.T) {
		first, err := alice.SendMessage(ctx, th.ID, "only once", "key-1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := alice.SendMessage(ctx, th.ID, "only once", "key-1")
		if err != nil || again.ID != first.ID || again.Seq != first.Seq {
			t.Fatalf("retry = %+v, %v; want message %s", again, err, first.ID)
		}
		// Another member's key is their own.
		bobs, err := bob.SendMessage(ctx, th.ID, "only once", "key-1")
		if err != nil || bobs.ID == first.ID {
			t.Fatalf("bob's send with alice's key = %+v, %v", bobs, err)
		}
		page, _ := alice.Messages(ctx, th.ID, client.MessagesQuery{})
		n := 0
		for _, m := range page.Messages {
			if m.Text == "only once" {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d copies stored, want alice's one and bob's one", n)
		}
	})
	t.Run("IdempotentAfterDelete", func(t *testing.T) {
		m, _ := alice.SendMessage(ctx, th.ID, "soon gone", "key-2")
		if err := alice.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		again, err := alice.SendMessage(ctx, th.ID, "soon gone", "key-2")
		if err != nil || again.ID != m.ID || again.DeletedAt == nil {
			t.Fatalf("retry after delete = %+v, %v; want the tombstone of %s", again, err, m.ID)
		}
	})
	t.Run("IdempotentConcurrentRetries", func(t *testing.T) {
		// Retries racing the first send, and other sends beside them, share
		// batches: each retry answers with the one stored message, and the
		// other sends are stored as well.
		before, _ := alice.Thread(ctx, th.ID)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[string]int{}
		for i := range 8 {
			wg.Go(func() {
				m, err := alice.SendMessage(ctx, th.ID, "raced", "key-3")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[m.ID]++
				mu.Unlock()
			})
			wg.Go(func() {
				if _, err := bob.SendMessage(ctx, th.ID, fmt.Sprintf("beside %d", i), fmt.Sprintf("bob-key-%d", i)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Fatalf("retries answered with %d different messages, want 1: %v", len(ids), ids)
		}
		if after, _ := alice.Thread(ctx, th.ID); after.LastSeq != before.LastSeq+9 {
			t.Fatalf("last_seq %d -> %d, want 9 more: alice's one and bob's 8", before.LastSeq, after.LastSeq)
		}
	})
	t.Run("ErrIdempotencyKeyReused", func(t *testing.T) {
		_, err := alice.SendMessage(ctx, th.ID, "something else", "key-1")
		wantProblem(t, err, http.StatusConflict, "conflict")
		wantDetail(t, err, "this Idempotency-Key was used")
	})
	for name, tc := range map[string]struct{ text, key, detail string }{
		"ErrEmpty":      {"", "", "text"},
		"ErrBlank":      {" \n\t", "", "text"},
		"ErrTooLong":    {strings.Repeat("a", 16001), "", "text"},
		"ErrKeyTooLong": {"hi", strings.Repeat("k", 256), "the Idempotency-Key header must be 1 to 255"},
		"ErrKeyControl": {"hi", "a b", "the Idempotency-Key header must be 1 to 255 visible ASCII characters (0x21 to 0x7E: no spaces)"},
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := alice.Thread(ctx, th.ID)
			_, err := alice.SendMessage(ctx, th.ID, tc.text, tc.key)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
			wantDetail(t, err, tc.detail)
			if after, _ := alice.Thread(ctx, th.ID); after.LastSeq != before.LastSeq {
				t.Fatalf("a refused send changed the thread: last_seq %d -> %d", before.LastSeq, after.LastSeq)
			}
		})
	}
}

// An Idempotency-Key is the member's, whichever app sends with it: it
// replays a message only for the same app, as the same kind of message. A
// key another app, or a share, used is a 409, and nothing is sent; never
// the other message, as if it were the caller's own.
// The longest text a message may hold is sent whole however its JSON
// spells it: many encoders escape all but ASCII by default (Python's), six
// bytes a character and twelve for one beyond the BMP, and Go's escapes
// '<' as six.
func TestMessages_LongestTextFitsHoweverItIsEscaped(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for name, escaped := range map[string]string{
		"InTheBMP":     `\u65e5`,
		"BeyondTheBMP": `\ud83d\ude00`,
		"AsGoEscapes":  `\u003c`,
	} {
		t.Run(name, func(t *testing.T) {
			body := `{"text": "` + strings.Repeat(escaped, parley.MaxTextLen) + `"}`
			req, _ := http.NewRequestWithContext(ctx, "POST", env.URL+"/api/v1/threads/"+th.ID+"/messages", strings.NewReader(body))
			req.Header = http.Header{"Authorization": {"Bearer " + alice.Token()}, "Content-Type": {"application/json"}}
			resp, err := env.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("%d characters in %d bytes: %s; want 201", parley.MaxTextLen, len(body), resp.Status)
			}
		})
	}
}

func TestMessages_IdempotencyKeyIsTheMembers(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	scopes := []string{"openid", "messages.read", "messages.write", "shares.write"}
	answer := apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}}
	films := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Films"), "alice", scopes, answer).AccessToken)
	tunes := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Tunes"), "alice", scopes, answer).AccessToken)
	first, err := films.SendMessage(ctx, w.aliceBob, "see you at 8", "k-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := films.ShareOnce(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film", Note: "see you at 9"}, "k-2"); err != nil {
		t.Fatal(err)
	}
	for name, send := range map[string]func() (*client.Message, error){
		"AnotherApp":      func() (*client.Message, error) { return tunes.SendMessage(ctx, w.aliceBob, "see you at 8", "k-1") },
		"TheMemberItself": func() (*client.Message, error) { return w.alice.SendMessage(ctx, w.aliceBob, "see you at 8", "k-1") },
		"AShareKey":       func() (*client.Message, error) { return films.SendMessage(ctx, w.aliceBob, "see you at 9", "k-2") },
	} {
		t.Run(name, func(t *testing.T) {
			m, err := send()
			if client.StatusOf(err) != http.StatusConflict {
				t.Fatalf("got %+v, %v; want 409", m, err)
			}
		})
	}
	t.Run("NothingSent", func(t *testing.T) {
		page, err := w.bob.Messages(ctx, w.aliceBob, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		last := page.Messages[len(page.Messages)-1]
		if n := len(page.Messages); n != 3 || page.Messages[1].ID != first.ID || last.Kind != "share" {
			t.Fatalf("bob's thread holds %d messages, the last %+v; want: before any app, Films's message, Films's card", n, last)
		}
	})
	t.Run("SameAppReplays", func(t *testing.T) {
		again, err := films.SendMessage(ctx, w.aliceBob, "see you at 8", "k-1")
		if err != nil || again.ID != first.ID {
			t.Fatalf("Films's retry: %+v, %v; want its first message %s", again, err, first.ID)
		}
	})
}

// TestMessages_SeqDenseUnderConcurrency has many members send into one group
// at once; every message must get its own seq, with no gap.
func TestMessages_SeqDenseUnderConcurrency(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	owner := env.MustMember(t, "owner")
	senders := []*client.Client{owner}
	var names []string
	for i := range 7 {
		name := fmt.Sprintf("sender%d", i)
		c := env.MustMember(t, name)
		apptest.MustFriends(t, owner, c)
		senders = append(senders, c)
		names = append(names, name)
	}
	g := apptest.MustThread(t, owner, names...)

	const perSender = 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	var seqs []int64
	for i, c := range senders {
		wg.Go(func() {
			for j := range perSender {
				m, err := c.SendMessage(ctx, g.ID, fmt.Sprintf("%d-%d", i, j), fmt.Sprintf("k-%d", j))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seqs = append(seqs, m.Seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs not dense: position %d holds %d (%v…)", i, s, seqs[max(0, i-3):min(len(seqs), i+3)])
		}
	}
	if want := len(senders) * perSender; len(seqs) != want {
		t.Fatalf("%d acknowledged, want %d", len(seqs), want)
	}
	// Reading back in pages yields the same numbers.
	var stored []int64
	for after := int64(0); ; {
		page, err := owner.Messages(ctx, g.ID, client.MessagesQuery{After: client.Seq(after), Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			stored = append(stored, m.Seq)
		}
		if !page.HasMore {
			break
		}
		after = stored[len(stored)-1]
	}
	if !slices.Equal(stored, seqs) {
		t.Fatalf("stored seqs differ from acknowledged ones")
	}
}

func TestMessages_History(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := 1; i <= 120; i++ {
		apptest.MustSend(t, alice, th.ID, fmt.Sprintf("m%d", i))
	}
	seqsOf := func(p *client.MessagesQuery) ([]int64, bool) {
		t.Helper()
		page, err := bob.Messages(ctx, th.ID, *p)
		if err != nil {
			t.Fatal(err)
		}
		var s []int64
		for _, m := range page.Messages {
			s = append(s, m.Seq)
		}
		return s, page.HasMore
	}
	for name, tc := range map[string]struct {
		q           client.MessagesQuery
		first, last int64
		count       int
		wantHasMore bool
	}{
		"NewestByDefault": {client.MessagesQuery{}, 71, 120, 50, true},
		"Before":          {client.MessagesQuery{Before: client.Seq(21), Limit: 10}, 11, 20, 10, true},
		"BeforeToStart":   {client.MessagesQuery{Before: client.Seq(6), Limit: 10}, 1, 5, 5, false},
		"After":           {client.MessagesQuery{After: client.Seq(100), Limit: 10}, 101, 110, 10, true},
		"AfterToEnd":      {client.MessagesQuery{After: client.Seq(115)}, 116, 120, 5, false},
		"MaxLimit":        {client.MessagesQuery{Limit: 200}, 1, 120, 120, false},
		"FromStart":       {client.MessagesQuery{After: client.Seq(0), Limit: 3}, 1, 3, 3, true},
	} {
		t.Run(name, func(t *testing.T) {
			s, more := seqsOf(&tc.q)
			if len(s) != tc.count || s[0] != tc.first || s[len(s)-1] != tc.last || more != tc.wantHasMore || !slices.IsSorted(s) {
				t.Fatalf("seqs %v (has_more %v); want %d from %d to %d ascending, has_more %v", s, more, tc.count, tc.first, tc.last, tc.wantHasMore)
			}
		})
	}
	for name, query := range map[string]string{
		"ErrLimitHigh":       "limit=201",
		"ErrLimitZero":       "limit=0",
		"ErrLimitText":       "limit=x",
		"ErrBeforeAndAfter":  "before=5&after=2",
		"ErrBeforeNegative":  "before=-3",
		"ErrBeforeZero":      "before=0",
		"ErrAfterNotANumber": "after=1e3",
		// Numbers are digits only: a sign or a space is not read past.
		"ErrLimitSigned":  "limit=%2B5",
		"ErrLimitEmpty":   "limit=",
		"ErrLimitSpaced":  "limit=%205",
		"ErrAfterSigned":  "after=%2B2",
		"ErrBeforeMinus0": "before=-0",
		// An include given empty is not notes, as a limit given empty is
		// not a number.
		"ErrIncludeEmpty": "include=",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := bob.Do(ctx, "GET", "/api/v1/threads/"+th.ID+"/messages?"+query, nil, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
}

func TestMessages_Delete(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	m := apptest.MustSend(t, alice, th.ID, "regrettable")
	apptest.MustSend(t, bob, th.ID, "what?")

	t.Run("ErrNotSender", func(t *testing.T) {
		wantProblem(t, bob.DeleteMessage(ctx, m.ID), http.StatusForbidden, "forbidden")
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		wantProblem(t, alice.DeleteMessage(ctx, "nonexistent"), http.StatusNotFound, "not_found")
	})
	t.Run("LeavesTombstoneForEveryone", func(t *testing.T) {
		if err := alice.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client.Client{alice, bob} {
			page, _ := c.Messages(ctx, th.ID, client.MessagesQuery{})
			got := page.Messages[0]
			if got.ID != m.ID || got.Seq != 1 || got.Text != "" || got.DeletedAt == nil {
				t.Fatalf("deleted message reads %+v; want a tombstone at seq 1", got)
			}
			if page.Messages[1].Text != "what?" {
				t.Fatalf("other message changed: %+v", page.Messages[1])
			}
		}
		// Deleting again is harmless.
		if err := alice.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SeqStaysDense", func(t *testing.T) {
		if next := apptest.MustSend(t, alice, th.ID, "again"); next.Seq != 3 {
			t.Fatalf("next seq = %d, want 3", next.Seq)
		}
	})
}

// TestMessages_DeletedBeforeReadIsNotUnread: a message deleted before the
// member read it is not counted unread, in the list of threads as in the
// thread itself; one deleted after they read it changes nothing of their
// count. An app that reaches the thread from a message on counts only
// what it may see, the messages deleted among them.
func TestMessages_DeletedBeforeReadIsNotUnread(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	// unread returns the thread's unread count as c reads it, from the
	// list of threads (which must agree) and from the thread alone.
	unread := func(t *testing.T, c *client.Client) int64 {
		t.Helper()
		th, err := c.Thread(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		page, err := c.Threads(ctx, client.ThreadsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, listed := range page.Threads {
			if listed.ID == w.aliceBob && listed.UnreadCount != th.UnreadCount {
				t.Errorf("the list counts %d unread, the thread %d", listed.UnreadCount, th.UnreadCount)
			}
		}
		return th.UnreadCount
	}
	send := func(c *client.Client, text string) *client.Message { return apptest.MustSend(t, c, w.aliceBob, text) }
	deleteMessage := func(c *client.Client, m *client.Message) {
		t.Helper()
		if err := c.DeleteMessage(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Member", func(t *testing.T) {
		if err := w.bob.MarkRead(ctx, w.aliceBob, 1); err != nil {
			t.Fatal(err)
		}
		oops := send(w.alice, "oops, wrong chat")
		deleteMessage(w.alice, oops)
		if n := unread(t, w.bob); n != 0 {
			t.Errorf("bob counts %d unread where the one message after his marker was deleted; want 0", n)
		}
		hello := send(w.alice, "hello")
		deleteMessage(w.alice, send(w.alice, "oops again"))
		if n := unread(t, w.bob); n != 1 {
			t.Errorf("bob counts %d unread, one message of three after his marker left; want 1", n)
		}
		if err := w.bob.MarkRead(ctx, w.aliceBob, hello.Seq+1); err != nil {
			t.Fatal(err)
		}
		send(w.alice, "are you there?")
		deleteMessage(w.alice, hello)
		if n := unread(t, w.bob); n != 1 {
			t.Errorf("bob counts %d unread, after a message he had read was deleted; want 1", n)
		}
	})
	t.Run("LateApp", func(t *testing.T) {
		// Alice has read everything (her own message last); bob writes
		// twice and takes the second back, before an app's share.
		send(w.bob, "before the app")
		deleteMessage(w.bob, send(w.bob, "taken back before the app"))
		tok := w.env.MustToken(t, w.env.MustPartner(t, "Films"), "alice", []string{"openid", "shares.write", "threads.read"}, apptest.Answer{})
		app := w.env.Client.WithToken(tok.AccessToken)
		if _, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"}); err != nil {
			t.Fatal(err)
		}
		send(w.bob, "thanks")
		deleteMessage(w.bob, send(w.bob, "taken back after the app"))
		// Alice: bob's first, the card and bob's thanks; the app: the card
		// and the thanks, nothing deleted before its share taken from them.
		if n := unread(t, w.alice); n != 3 {
			t.Errorf("alice counts %d unread; want 3", n)
		}
		if n := unread(t, app); n != 2 {
			t.Errorf("the app counts %d unread; want 2", n)
		}
	})
}

// A member who left a group, or was taken out of it, still deletes what
// they wrote there, which those in it read until then; they delete no one
// else's, and learn nothing of the group by trying: another's message is
// not found, as in any thread they are not in.
func TestMessages_DeletedAfterLeaving(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, bob, alice)
	apptest.MustFriends(t, bob, carol)
	group, err := bob.CreateThread(ctx, client.NewThread{Participants: []string{"alice", "carol"}, Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	alices := apptest.MustSend(t, alice, group.ID, "something alice takes back")
	carols := apptest.MustSend(t, carol, group.ID, "carol's")
	for name, out := range map[string]func() error{
		"Left":    func() error { return alice.LeaveThread(ctx, group.ID) },
		"Removed": func() error { return bob.RemoveParticipant(ctx, group.ID, apptest.MustMe(t, carol).ID) },
	} {
		if err := out(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	wantProblem(t, alice.DeleteMessage(ctx, carols.ID), http.StatusNotFound, "not_found")
	for _, c := range []*client.Client{alice, carol} {
		mine := map[*client.Client]*client.Message{alice: alices, carol: carols}[c]
		if err := c.DeleteMessage(ctx, mine.ID); err != nil {
			t.Fatalf("deleting one's own message out of the group: %v", err)
		}
	}
	page, err := bob.Messages(ctx, group.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		if (m.ID == alices.ID || m.ID == carols.ID) && (m.DeletedAt == nil || m.Text != "") {
			t.Errorf("bob reads %q, which its writer deleted after leaving", m.Text)
		}
	}
}

// TestMessages_KeyOfAMessageBeforeTheAppsReachIsNotReplayed: an app's
// retry is answered with the message its key made only while the app may
// see that message. Reconnected under a new grant that reaches the thread
// from a later share on, the app sending again with a key it used before
// gets a conflict, not the old message.
func TestMessages_KeyOfAMessageBeforeTheAppsReachIsNotReplayed(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Films")
	scopes := []string{"openid", "shares.write", "messages.write"}
	first := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", scopes, apptest.Answer{}).AccessToken)
	if _, err := first.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "One"}); err != nil {
		t.Fatal(err)
	}
	old, err := first.SendMessage(ctx, w.aliceBob, "watched it?", "key-1")
	if err != nil {
		t.Fatal(err)
	}
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if err := w.alice.RevokeGrant(ctx, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	again := w.env.Client.WithToken(w.env.MustToken(t, partner, "alice", scopes, apptest.Answer{}).AccessToken)
	if _, err := again.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/2", Title: "Two"}); err != nil {
		t.Fatal(err)
	}
	m, err := again.SendMessage(ctx, w.aliceBob, "watched it?", "key-1")
	if err == nil && m.ID == old.ID {
		t.Fatalf("the app under its new grant was given message %d, from before the grant's reach", m.Seq)
	}
	wantProblem(t, err, http.StatusConflict, "conflict")
}

// TestMessages_AKeyReusedForOtherWordsTellsNothingOfItsMessage: an
// Idempotency-Key used again for other words is refused, and a retry of
// the same send answered, alike before and after the member deleted or
// edited the message: the answer depends on what each send asked for,
// never on what became of the message, so that an app that may only
// write learns nothing of either by reusing its keys.
func TestMessages_AKeyReusedForOtherWordsTellsNothingOfItsMessage(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	answer := apptest.Answer{ThreadScope: "selected", Threads: []string{w.aliceBob}}
	app := w.env.Client.WithToken(w.env.MustToken(t, w.env.MustPartner(t, "Films"), "alice",
		[]string{"openid", "messages.write", "shares.write"}, answer).AccessToken)
	card := client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film", Note: "watch it"}
	send := func(key, text string) func() (*client.Message, error) {
		return func() (*client.Message, error) { return app.SendMessage(ctx, w.aliceBob, text, key) }
	}
	sends := map[string]func() (*client.Message, error){
		"text-deleted": send("text-deleted", "see you at 8"),
		"text-edited":  send("text-edited", "see you at 8"),
		"card-deleted": func() (*client.Message, error) { m, _, err := app.ShareOnce(ctx, card, "card-deleted"); return m, err },
	}
	sent := map[string]string{}
	for key, send := range sends {
		m, err := send()
		if err != nil {
			t.Fatal(err)
		}
		sent[key] = m.ID
	}
	answers := func(when string) {
		t.Helper()
		for key, other := range map[string]func() error{
			"text-deleted": func() error { _, err := app.SendMessage(ctx, w.aliceBob, "see you at 9", "text-deleted"); return err },
			"text-edited":  func() error { _, err := app.SendMessage(ctx, w.aliceBob, "see you at 9", "text-edited"); return err },
			"card-deleted": func() error {
				_, _, err := app.ShareOnce(ctx, client.NewShare{To: "bob", URL: "https://films.example/2", Title: "A film", Note: "watch it"}, "card-deleted")
				return err
			},
		} {
			if err := other(); client.StatusOf(err) != http.StatusConflict {
				t.Errorf("%s, the key %s used for other words: %v; want 409", when, key, err)
			}
		}
		for key, again := range sends {
			if m, err := again(); err != nil || m.ID != sent[key] {
				t.Errorf("%s, a retry of the send keyed %s: %+v, %v; want its message", when, key, m, err)
			}
		}
	}
	answers("while the messages stand")
	for _, id := range []string{sent["text-deleted"], sent["card-deleted"]} {
		if err := w.alice.DeleteMessage(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.alice.EditMessage(ctx, sent["text-edited"], "see you at 10"); err != nil {
		t.Fatal(err)
	}
	answers("once alice deleted or edited them")
}

// TestMessages_AMembersOwnKeyIsToldByItsMessage: a member's own keyed
// send keeps no more than its key (what became of their message is theirs
// to know, and a message is 37 bytes smaller): a retry is compared with
// the message as it is, and once deleted, the key replays it whatever the
// retry's text.
func TestMessages_AMembersOwnKeyIsToldByItsMessage(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	first, err := w.alice.SendMessage(ctx, w.aliceBob, "see you at 8", "mine-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.alice.SendMessage(ctx, w.aliceBob, "see you at 9", "mine-1"); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("the key used for other words while the message stands: %v; want 409", err)
	}
	if err := w.alice.DeleteMessage(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	if m, err := w.alice.SendMessage(ctx, w.aliceBob, "see you at 9", "mine-1"); err != nil || m.ID != first.ID || m.DeletedAt == nil {
		t.Errorf("the key once the message was deleted: %+v, %v; want its tombstone", m, err)
	}
}
