package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// TestBlocks: a member who blocks another ends their friendship, and
// neither can write in their direct thread, through a session or an app,
// nor ask the other to be friends, until the block is lifted; both still
// read the thread, are told at once, and keep every group they share.
func TestBlocks(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bobID := apptest.MustMe(t, w.bob).ID
	before, err := w.bob.SendMessage(ctx, w.aliceBob, "sent before the block", "key-before")
	if err != nil {
		t.Fatal(err)
	}
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "All three", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	partner := w.env.MustPartner(t, "Notes")
	bobsApp := w.env.Client.WithToken(w.env.MustToken(t, partner, "bob", []string{"openid", "messages.write", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}).AccessToken)
	bobsStream := mustEvents(t, w.bob)

	blocked, err := w.alice.Block(ctx, " Bob ")
	if err != nil {
		t.Fatal(err)
	}
	if blocked.User.ID != bobID || blocked.User.Username != "bob" || blocked.Since.IsZero() {
		t.Fatalf("Block = %+v", blocked)
	}

	t.Run("TheOtherIsToldAtOnce", func(t *testing.T) {
		if change := nextData[client.ThreadChange](t, ctx, bobsStream, client.EventThreadUpdated); change.Thread.ID != w.aliceBob || !change.Thread.Blocked {
			t.Fatalf("bob's thread.updated: %+v, want the direct thread blocked", change)
		}
	})
	t.Run("NoLongerFriends", func(t *testing.T) {
		for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
			friends, err := c.Friends(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range friends {
				if f.User.Username == "alice" || f.User.Username == "bob" {
					t.Errorf("%s's friends still list %s", name, f.User.Username)
				}
			}
		}
	})
	t.Run("TheDirectThreadTakesNoMessage", func(t *testing.T) {
		for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob, "bob's app": bobsApp} {
			_, err := c.SendMessage(ctx, w.aliceBob, "still there?", "")
			wantProblem(t, err, http.StatusForbidden, "forbidden")
			th, err := w.alice.Thread(ctx, w.aliceBob)
			if err != nil || !th.Blocked || th.LastSeq != before.Seq {
				t.Fatalf("after %s's send the thread reads %+v, %v; want blocked, its last message bob's of before", name, th, err)
			}
		}
	})
	t.Run("ARetryOfASendBeforeTheBlockIsAnswered", func(t *testing.T) {
		m, err := w.bob.SendMessage(ctx, w.aliceBob, "sent before the block", "key-before")
		if err != nil || m.ID != before.ID {
			t.Fatalf("retry = %+v, %v; want the first send's message", m, err)
		}
	})
	t.Run("BothStillReadAndDeleteTheirOwn", func(t *testing.T) {
		for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
			th, err := c.Thread(ctx, w.aliceBob)
			if err != nil || !th.Blocked {
				t.Fatalf("%s reads the thread %+v, %v", name, th, err)
			}
			if page, err := c.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil || len(page.Messages) != 2 {
				t.Fatalf("%s reads %+v, %v; want both messages", name, page, err)
			}
		}
		if err := w.bob.DeleteMessage(ctx, before.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("GroupsStayAsTheyAre", func(t *testing.T) {
		apptest.MustSend(t, w.bob, group.ID, "still here")
		apptest.MustSend(t, w.alice, group.ID, "so am I")
	})
	t.Run("NeitherMayAskTheOther", func(t *testing.T) {
		_, err := w.bob.AddFriend(ctx, "alice")
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		_, err = w.alice.AddFriend(ctx, "bob")
		wantProblem(t, err, http.StatusConflict, "conflict")
		if reqs, err := w.alice.FriendRequests(ctx); err != nil || len(reqs.Incoming)+len(reqs.Outgoing) != 0 {
			t.Fatalf("alice's requests = %+v, %v; want none", reqs, err)
		}
	})
	t.Run("BlockingAgainChangesNothing", func(t *testing.T) {
		again, err := w.alice.Block(ctx, "bob")
		if err != nil || again.User.ID != bobID || !again.Since.Equal(blocked.Since) {
			t.Fatalf("Block again = %+v, %v; want %+v", again, err, blocked)
		}
	})
	t.Run("OnlyTheBlockerListsIt", func(t *testing.T) {
		list, err := w.alice.BlockedMembers(ctx)
		if err != nil || len(list) != 1 || list[0].User.ID != bobID {
			t.Fatalf("alice's blocked = %+v, %v", list, err)
		}
		if list, err := w.bob.BlockedMembers(ctx); err != nil || list == nil || len(list) != 0 {
			t.Fatalf("bob's blocked = %#v, %v; want an empty list", list, err)
		}
		export, err := w.alice.Export(ctx)
		if err != nil || len(export.Blocked) != 1 || export.Blocked[0].User.ID != bobID {
			t.Fatalf("alice's export lists blocked %+v, %v", export.Blocked, err)
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		_, err := w.alice.Block(ctx, "alice")
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		_, err = w.alice.Block(ctx, "nobody")
		wantProblem(t, err, http.StatusNotFound, "not_found")
		_, err = w.alice.Block(ctx, "no such name!")
		wantProblem(t, err, http.StatusBadRequest, "invalid")
		err = w.alice.Unblock(ctx, w.carolID)
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	t.Run("TheMemberBlockedGivesTheConversationToNoApp", func(t *testing.T) {
		// An app's name, and the notice that it reads the conversation,
		// would put bob's words in front of alice.
		cfg := *w.env.MustPartnerOf(t, "Alice please answer", "bob").Config
		cfg.Scopes = []string{"openid", "messages.read"}
		b := apptest.NewBrowser()
		login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		consent := b.Submit(t, login, url.Values{"username": {"bob"}, "password": {apptest.Password("bob")}})
		if strings.Contains(consent.Body, w.aliceBob) {
			t.Error("bob's consent page offers the conversation alice blocked him in")
		}
		refused := b.Submit(t, consent, url.Values{"action": {"approve"}, "thread_scope": {parley.ThreadScopeSelected}, "threads": {w.aliceBob}})
		if refused.Status != http.StatusBadRequest || !strings.Contains(refused.Body, "A blocked conversation cannot be given to an app") {
			t.Errorf("ticking it anyway: %d\n%s", refused.Status, refused.Body)
		}
		apps, err := w.alice.ThreadApps(ctx, w.aliceBob)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps.Apps {
			if a.AppName == "Alice please answer" {
				t.Errorf("alice's conversation is read by %+v", a)
			}
		}
	})
	t.Run("TheMemberBlockedPutsNoAppsNameInItThroughAllConversations", func(t *testing.T) {
		// A grant of all conversations, of an app an operator approved,
		// tells every other conversation of bob's that it reads it, not
		// the one alice blocked him in.
		partner := w.env.MustPartnerOf(t, "Alice please answer too", "bob")
		if _, err := w.env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
			t.Fatal(err)
		}
		w.env.MustToken(t, partner, "bob", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
		noticed := func(c *client.Client, threadID string) bool {
			t.Helper()
			caller, err := w.env.Server.Service.Authenticate(ctx, c.Token())
			if err != nil {
				t.Fatal(err)
			}
			notices, err := w.env.Server.Service.ThreadNotices(parley.NewContextWithCaller(ctx, caller), threadID)
			if err != nil {
				t.Fatal(err)
			}
			return slices.ContainsFunc(notices, func(n parley.ThreadNotice) bool { return n.ClientID == partner.App.ClientID })
		}
		if noticed(w.alice, w.aliceBob) {
			t.Error("bob's app's notice is in the conversation alice blocked him in")
		}
		if !noticed(w.carol, w.bobCarol) {
			t.Error("bob's conversation with carol has no notice of the app that now reads it")
		}
	})
	t.Run("TheMemberBlockedClosesItToAppsButDoesNotReopenIt", func(t *testing.T) {
		if _, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
			t.Fatal(err)
		}
		_, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, true)
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		if a, err := w.alice.ThreadApps(ctx, w.aliceBob); err != nil || a.Allowed || len(a.ClosedBy) != 1 || a.ClosedBy[0].ID != bobID {
			t.Fatalf("alice's conversation: %+v, %v; want it closed by bob", a, err)
		}
	})
	t.Run("TheMemberWhoBlocksLearnsNotWhetherTheyAreBlockedBack", func(t *testing.T) {
		// alice blocks bob: whether bob blocks her too, she may neither
		// reopen the conversation to apps nor tick it for one, and is told
		// so in the same words.
		cfg := *w.env.MustPartner(t, "Alice's own").Config
		cfg.Scopes = []string{"openid", "messages.read"}
		refusals := func() string {
			t.Helper()
			if _, err := w.alice.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil {
				t.Fatal(err)
			}
			_, reopened := w.alice.SetThreadAppAccess(ctx, w.aliceBob, true)
			b := apptest.NewBrowser()
			login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
			ticked := b.Submit(t, consent, url.Values{"action": {"approve"}, "thread_scope": {parley.ThreadScopeSelected}, "threads": {w.aliceBob}})
			return fmt.Sprintf("reopening: %v; offered for an app: %v; ticked: %d %s", reopened, strings.Contains(consent.Body, w.aliceBob),
				ticked.Status, regexp.MustCompile(`(?i)a blocked conversation[^<]*`).FindString(ticked.Body))
		}
		alone := refusals()
		if _, err := w.bob.Block(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		both := refusals()
		if err := w.bob.Unblock(ctx, w.aliceID); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(alone, "403") || !strings.Contains(alone, "ticked: 400 A blocked conversation") || alone != both {
			t.Errorf("alice's refusals while she blocks bob:\n%s\nand while each blocks the other:\n%s\nwant both refused, alike", alone, both)
		}
	})
	t.Run("ADeclinedRequestStillKeepsItsAskerWaiting", func(t *testing.T) {
		dave, erin := w.env.MustMember(t, "dave"), w.env.MustMember(t, "erin")
		if _, err := dave.AddFriend(ctx, "erin"); err != nil {
			t.Fatal(err)
		}
		if err := erin.RemoveFriend(ctx, apptest.MustMe(t, dave).ID); err != nil {
			t.Fatal(err)
		}
		if _, err := dave.Block(ctx, "erin"); err != nil {
			t.Fatal(err)
		}
		if err := dave.Unblock(ctx, apptest.MustMe(t, erin).ID); err != nil {
			t.Fatal(err)
		}
		_, err := dave.AddFriend(ctx, "erin")
		wantProblem(t, err, http.StatusConflict, "conflict")
		if reqs, err := erin.FriendRequests(ctx); err != nil || len(reqs.Incoming) != 0 {
			t.Fatalf("erin's requests = %+v, %v; want none", reqs, err)
		}
	})
	t.Run("TheThreadOpensWhenNoBlockIsLeft", func(t *testing.T) {
		if _, err := w.bob.Block(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := w.alice.Unblock(ctx, bobID); err != nil {
			t.Fatal(err)
		}
		_, err := w.alice.SendMessage(ctx, w.aliceBob, "and now?", "")
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		if err := w.bob.Unblock(ctx, w.aliceID); err != nil {
			t.Fatal(err)
		}
		if th, err := w.alice.Thread(ctx, w.aliceBob); err != nil || th.Blocked {
			t.Fatalf("after both lifted theirs the thread reads %+v, %v", th, err)
		}
		apptest.MustSend(t, w.alice, w.aliceBob, "we can talk again")
		if s, err := w.bob.AddFriend(ctx, "alice"); err != nil || s.State != client.FriendPending {
			t.Fatalf("bob asks alice again: %+v, %v; want a pending request", s, err)
		}
	})
}

// A block ends with the account of either member, the one who blocked or
// the one blocked: the other's direct thread with the deleted member is no
// longer blocked, and may be reopened to apps.
func TestBlocks_EndWithTheAccount(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	for _, blocker := range []string{"the deleted member", "the other"} {
		t.Run(blocker, func(t *testing.T) {
			names := map[string]string{"alice": "alice_" + blocker[4:7], "bob": "bob_" + blocker[4:7]}
			alice, bob := env.MustMember(t, names["alice"]), env.MustMember(t, names["bob"])
			apptest.MustFriends(t, alice, bob)
			direct := apptest.MustThread(t, bob, names["alice"])
			if _, err := bob.SetThreadAppAccess(ctx, direct.ID, false); err != nil {
				t.Fatal(err)
			}
			by, of := alice, names["bob"]
			if blocker == "the other" {
				by, of = bob, names["alice"]
			}
			if _, err := by.Block(ctx, of); err != nil {
				t.Fatal(err)
			}
			if err := alice.DeleteAccount(ctx, apptest.Password(names["alice"])); err != nil {
				t.Fatal(err)
			}
			if th, err := bob.Thread(ctx, direct.ID); err != nil || th.Blocked {
				t.Errorf("bob's direct thread with the deleted alice, blocked by %s: %+v, %v; want it no longer blocked", blocker, th, err)
			}
			if _, err := bob.SetThreadAppAccess(ctx, direct.ID, true); err != nil {
				t.Errorf("bob reopening his conversation to apps, no block left: %v", err)
			}
		})
	}
}

// A blocked conversation carries no live signal between the two: as bob,
// whom alice blocked, is not told of her typing, his stream is not told
// when she reads it (to look at what he wrote, to report it).
func TestBlocks_NoReadMarkerCrossesTheBlock(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice")
	apptest.MustSend(t, bob, th.ID, "you there?")
	last := apptest.MustSend(t, bob, th.ID, "answer me")
	if _, err := alice.Block(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	aliceID := apptest.MustMe(t, alice).ID
	stream := mustEvents(t, bob)
	if err := alice.MarkRead(ctx, th.ID, last.Seq); err != nil {
		t.Fatal(err)
	}
	// bob's own change, to know his stream has had what came before it.
	muted := true
	if _, err := bob.UpdateThread(ctx, th.ID, client.ThreadUpdate{Muted: &muted}); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := stream.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == client.EventThreadMuted {
			return
		}
		if ev.Type == client.EventReadUpdated {
			var read client.ReadUpdated
			if err := json.Unmarshal(ev.Data, &read); err != nil {
				t.Fatal(err)
			}
			if read.UserID == aliceID {
				t.Fatalf("bob, whom alice blocked, is told she read their conversation to %d", read.Seq)
			}
		}
	}
}

// The members a member blocks come a page at a time, newest block first,
// each once, in pages of any limit from 1 to 200; Client.BlockedMembers
// reads them all.
func TestBlocks_BlocksArePaged(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	const n = 120
	aliceID := apptest.MustMe(t, alice).ID
	newestFirst := reversed(env.MustLinkedMembers(t, "blocked", n, aliceID, parley.Now().Add(-time.Hour), apptest.BlockedBy))
	read := func(cursor string, limit int) ([]string, string, error) {
		p, err := alice.BlockedMembersPage(ctx, client.BlocksQuery{Cursor: cursor, Limit: limit})
		if err != nil {
			return nil, "", err
		}
		var names []string
		for _, b := range p.Blocked {
			names = append(names, b.User.Username)
		}
		return names, p.NextCursor, nil
	}
	friends, err := alice.FriendsPage(ctx, client.FriendsQuery{Limit: 1})
	if err != nil || len(friends.Friends) != 1 {
		t.Fatalf("alice's friends: %+v, %v", friends, err)
	}
	// A cursor of the friends' list, which holds one: made up of its one
	// member, as the server would give for a longer list.
	f := friends.Friends[0]
	other := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("f%d.%s", f.Since.UnixMicro(), f.User.ID)))
	testMemberPages(t, alice, "/api/v1/blocks", "b", read, newestFirst, other)

	t.Run("ClientReadsAll", func(t *testing.T) {
		blocked, err := alice.BlockedMembers(ctx)
		if err != nil || len(blocked) != n || blocked[0].User.Username != newestFirst[0] {
			t.Fatalf("BlockedMembers = %d, %v; want %d, newest first", len(blocked), err, n)
		}
	})
}
