package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A member downloads everything of theirs as one JSON document: profile,
// friends and requests (declined ones too), the threads they are in with
// who is in them, every message they sent, every reaction they gave, their grants, the apps they
// registered, their sessions, the share links made for them with their
// clicks, and their access log with what verifying its chain takes. Nothing in it is another member's private
// data, and an app's token cannot get it, whatever its scopes.
func TestExport_HoldsEverythingOfTheMembersAndNothingOfOthers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, bob, carol)
	if _, err := carol.AddFriend(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	// Alice declines dave's request, and erin declines alice's.
	dave, erin := env.MustMember(t, "dave"), env.MustMember(t, "erin")
	declinedFrom := env.Clock.Now().Truncate(time.Microsecond)
	for _, ask := range []struct{ from, to *client.Client }{{dave, alice}, {alice, erin}} {
		from, to := apptest.MustMe(t, ask.from), apptest.MustMe(t, ask.to)
		if _, err := ask.from.AddFriend(ctx, to.Username); err != nil {
			t.Fatal(err)
		}
		if err := ask.to.RemoveFriend(ctx, from.ID); err != nil {
			t.Fatal(err)
		}
	}
	declinedTo := env.Clock.Now()
	direct := apptest.MustThread(t, alice, "bob")
	first := apptest.MustSend(t, alice, direct.ID, "alice's first word")
	if _, err := alice.EditMessage(ctx, first.ID, "alice's first words"); err != nil {
		t.Fatal(err)
	}
	sent := []string{first.ID}
	reply := apptest.MustSend(t, bob, direct.ID, "bob's reply")
	for _, r := range []struct {
		by *client.Client
		m  *client.Message
	}{{bob, first}, {alice, reply}} {
		if _, err := r.by.React(ctx, r.m.ID, "😂"); err != nil {
			t.Fatal(err)
		}
	}
	reactedAt := env.Clock.Now().Truncate(time.Microsecond)
	deleted := apptest.MustSend(t, alice, direct.ID, "alice's second thoughts")
	if err := alice.DeleteMessage(ctx, deleted.ID); err != nil {
		t.Fatal(err)
	}
	sent = append(sent, deleted.ID)
	apptest.MustSend(t, bob, direct.ID, "bob's unread words")
	elsewhere := apptest.MustThread(t, bob, "carol")
	if _, err := bob.React(ctx, apptest.MustSend(t, carol, elsewhere.ID, "carol's private words").ID, "❤️"); err != nil {
		t.Fatal(err)
	}

	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "threads.read", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{direct.ID}})
	app := env.Client.WithToken(tok.AccessToken)
	if _, err := app.Messages(ctx, direct.ID, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}
	// Bob shares a film with alice through Films, and she follows her link.
	bobsFilms := env.Client.WithToken(env.MustToken(t, films, "bob", []string{"shares.write"}, apptest.Answer{}).AccessToken)
	card, err := bobsFilms.Share(ctx, client.NewShare{To: "alice", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	followedFrom := env.Clock.Now().Truncate(time.Microsecond)
	link := cardOf(t, alice, direct.ID).Share.Link
	follow(t, "GET", link, firefox)
	// And she shares a book with bob herself, through no app.
	ownCard, err := alice.Share(ctx, client.NewShare{To: "bob", URL: "https://books.example/7", Title: "Read this"})
	if err != nil {
		t.Fatal(err)
	}
	sent = append(sent, ownCard.ID)
	apptest.MustSend(t, bob, direct.ID, "bob's last words")
	// A group alice left: who reacted to her message there, before she
	// left or since, is no longer hers to read.
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Left", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	leftBehind := apptest.MustSend(t, alice, group.ID, "left behind")
	sent = append(sent, leftBehind.ID)
	if _, err := bob.React(ctx, leftBehind.ID, "😢"); err != nil {
		t.Fatal(err)
	}
	if err := alice.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.React(ctx, leftBehind.ID, "👍"); err != nil {
		t.Fatal(err)
	}

	// Alice registered an app as a developer, with a webhook endpoint;
	// bob, one of his own.
	own := mustOwnedPartner(t, env, "Alice's Films", "alice")
	hook, err := alice.CreateWebhook(ctx, own.App.ClientID, "https://hooks.example/alice", []string{"grant.revoked"})
	if err != nil {
		t.Fatal(err)
	}
	mustOwnedPartner(t, env, "Bob's Books", "bob")

	// Alice mutes their thread.
	muted := true
	if _, err := alice.UpdateThread(ctx, direct.ID, client.ThreadUpdate{Muted: &muted}); err != nil {
		t.Fatal(err)
	}
	// Bob closes their thread to apps, and a minute later alice does.
	var aliceFrom, aliceTo time.Time
	for _, closer := range []*client.Client{bob, alice} {
		aliceFrom = env.Clock.Now().Truncate(time.Microsecond)
		if _, err := closer.SetThreadAppAccess(ctx, direct.ID, false); err != nil {
			t.Fatal(err)
		}
		aliceTo = env.Clock.Now()
		env.Clock.Advance(time.Minute)
	}

	var e client.Export
	resp, err := alice.Do(ctx, "GET", "/api/v1/me/export", nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	want := `attachment; filename="parley-export-alice-` + env.Clock.Now().Format("2006-01-02") + `.json"`
	if got := resp.Header.Get("Content-Disposition"); got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	if e.Format != "parley-export/1" || e.Profile.Username != "alice" {
		t.Errorf("format %q, profile %+v", e.Format, e.Profile)
	}
	if len(e.Friends) != 1 || e.Friends[0].User.Username != "bob" {
		t.Errorf("friends %+v, want bob", e.Friends)
	}
	if len(e.FriendRequests.Incoming) != 1 || e.FriendRequests.Incoming[0].User.Username != "carol" {
		t.Errorf("friend requests %+v, want carol's", e.FriendRequests)
	}
	if d := e.DeclinedFriendRequests; len(d.Incoming) != 1 || d.Incoming[0].User.Username != "dave" ||
		len(d.Outgoing) != 1 || d.Outgoing[0].User.Username != "erin" ||
		d.Incoming[0].Since.Before(declinedFrom) || d.Outgoing[0].Since.After(declinedTo) {
		t.Errorf("declined friend requests %+v, want dave's, which alice declined, and hers to erin, declined, each since it was, between %v and %v", d, declinedFrom, declinedTo)
	}
	if len(e.Threads) != 1 || e.Threads[0].ID != direct.ID || len(e.Threads[0].Participants) != 2 || e.Threads[0].LastReadSeq != ownCard.Seq || !e.Threads[0].Muted {
		t.Errorf("threads %+v, want the direct thread with alice and bob, muted, read up to her last message, her card, not bob's after it", e.Threads)
	} else if at := e.Threads[0].ClosedToAppsAt; at == nil || at.Before(aliceFrom) || at.After(aliceTo) {
		t.Errorf("the direct thread closed to apps at %v, want when alice closed it, between %v and %v", at, aliceFrom, aliceTo)
	}
	var ids []string
	for _, m := range e.Messages {
		ids = append(ids, m.ID)
		if m.Sender.Username != "alice" {
			t.Errorf("a message of %s in alice's export", m.Sender.Username)
		}
	}
	if !slices.Equal(ids, sent) || e.Messages[0].Text != "alice's first words" || e.Messages[0].EditedAt == nil ||
		e.Messages[1].DeletedAt == nil || e.Messages[1].Text != "" {
		t.Errorf("messages %+v, want alice's four, the first edited, the second a tombstone, the third her card", e.Messages)
	}
	if len(e.Reactions) != 1 || e.Reactions[0].MessageID != reply.ID || e.Reactions[0].ThreadID != direct.ID || e.Reactions[0].Seq != reply.Seq ||
		e.Reactions[0].Emoji != "😂" || e.Reactions[0].At.After(reactedAt) || e.Reactions[0].At.Before(reply.CreatedAt) {
		t.Errorf("reactions %+v, want alice's 😂 to bob's reply alone, given after it was sent", e.Reactions)
	}
	if r := e.Messages[0].Reactions; len(r) != 1 || r[0].Emoji != "😂" || len(r[0].Users) != 1 || r[0].Users[0].Username != "bob" {
		t.Errorf("alice's first message carries reactions %+v, want bob's 😂", r)
	}
	if m := e.Messages[len(e.Messages)-1]; m.Reactions != nil || m.Change != 0 {
		// Its change too would count the reactions given since.
		t.Errorf("alice's message in the group she left carries reactions %+v and change %d, want neither", m.Reactions, m.Change)
	}
	if len(e.Grants) != 1 || e.Grants[0].AppName != "Films" || e.Grants[0].Status != "active" ||
		len(e.Grants[0].Threads) != 1 || e.Grants[0].Threads[0].ThreadID != direct.ID {
		t.Errorf("grants %+v, want Films's, active, listing the direct thread", e.Grants)
	}
	if len(e.ShareLinks) != 2 || e.ShareLinks[0].MessageID != card.ID || e.ShareLinks[0].ClientID != films.Config.ClientID ||
		e.ShareLinks[0].ClickedAt == nil || e.ShareLinks[0].ClickedAt.Before(followedFrom) ||
		e.ShareLinks[1].MessageID != ownCard.ID || e.ShareLinks[1].ClientID != "" || e.ShareLinks[1].ClickedAt != nil {
		t.Errorf("share links %+v, want alice's to bob's card through Films, followed, then hers to her own card, through no app, not followed", e.ShareLinks)
	}
	// Alice signed in twice: to Parley, and to let Films in.
	if len(e.Sessions) != 2 || e.Sessions[0].SignedInAt.Before(e.Sessions[1].SignedInAt) ||
		!e.Sessions[0].ExpiresAt.After(e.Sessions[0].SignedInAt) {
		t.Errorf("sessions %+v, want the two alice signed in with, newest first", e.Sessions)
	}
	if len(e.Apps) != 1 || e.Apps[0].ClientID != own.App.ClientID || e.Apps[0].Name != "Alice's Films" ||
		len(e.Apps[0].WebhookEndpoints) != 1 || e.Apps[0].WebhookEndpoints[0].ID != hook.ID || e.Apps[0].WebhookEndpoints[0].URL != "https://hooks.example/alice" {
		t.Errorf("apps %+v, want Alice's Films with its webhook endpoint", e.Apps)
	}
	if len(e.AccessLog) < 2 || e.AccessLogHead.UserID != e.Profile.ID || e.AccessLogHead.Seq != e.AccessLog[len(e.AccessLog)-1].Seq {
		t.Fatalf("access log %+v with head %+v", e.AccessLog, e.AccessLogHead)
	}
	check := parley.NewChainCheck(parley.AccessHead{UserID: e.AccessLogHead.UserID, Seq: e.AccessLogHead.Seq, Hash: e.AccessLogHead.Hash})
	for _, x := range chainOf(e) {
		check.Add(x)
	}
	if brk := check.End(); brk != nil {
		t.Errorf("the exported access log does not verify on its own: %+v", brk)
	}

	raw := exportBody(t, alice)
	for _, secret := range []string{"bob's reply", "bob's unread words", "bob's last words", "carol's private words", elsewhere.ID, "password", "Bob's Books",
		"Watch this", "films.example/42", link[strings.LastIndex(link, "/")+1:],
		own.App.ClientSecret, hook.Secret, "pcs_", "whsec_"} {
		if strings.Contains(raw, secret) {
			t.Errorf("alice's export holds %q", secret)
		}
	}

	t.Run("ErrAppToken", func(t *testing.T) {
		for _, scopes := range [][]string{{"openid", "profile", "friends.read"}, {"openid", "messages.read"}} {
			tok := env.MustToken(t, films, "alice", scopes, apptest.Answer{})
			app := env.Client.WithToken(tok.AccessToken)
			_, err := app.Export(ctx)
			wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
			wantProblem(t, app.DeleteAccount(ctx, apptest.Password("alice")), http.StatusForbidden, "insufficient_scope")
		}
		if u := apptest.MustMe(t, alice); u.Username != "alice" {
			t.Fatal("the app deleted the account")
		}
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := env.Client.Export(ctx)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
}

// The export holds what Parley keeps about the member beyond what they
// made: the operators' decisions about their account (what and when, not
// which operator), and the threads they left, which hold messages of
// theirs the export carries: each with its title as they knew it (not
// one given since), when they joined and left it, and how far they had
// read it.
func TestExport_HoldsOperatorDecisionsAndThreadsLeft(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Left behind", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	words := apptest.MustSend(t, alice, group.ID, "alice's words")
	apptest.MustSend(t, bob, group.ID, "bob's words")
	if err := alice.MarkRead(ctx, group.ID, words.Seq); err != nil {
		t.Fatal(err)
	}
	joined := env.Clock.Now()
	if err := alice.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	left := env.Clock.Now()
	later := "Renamed once alice left"
	if _, err := bob.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &later}); err != nil {
		t.Fatal(err)
	}
	renamedAt := env.Clock.Now()
	if _, err := env.Server.Service.RenameUser(service.ConsoleContext(ctx), "alice", "Al"); err != nil {
		t.Fatal(err)
	}
	raw := exportBody(t, alice)
	var e client.Export
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		t.Fatal(err)
	}

	t.Run("OperatorDecisions", func(t *testing.T) {
		if len(e.OperatorActions) == 0 {
			t.Fatalf("operator_actions: none; want the operator's %s of alice's account", parley.ActionUserRename)
		}
		last := e.OperatorActions[len(e.OperatorActions)-1]
		if last.Action != parley.ActionUserRename || last.At.Before(renamedAt) {
			t.Errorf("latest decision %+v; want %s after %s", last, parley.ActionUserRename, renamedAt)
		}
		if strings.Contains(raw, parley.OperatorConsole) {
			t.Errorf("the export names the operator (%q): %s", parley.OperatorConsole, raw)
		}
	})
	t.Run("ThreadsLeft", func(t *testing.T) {
		for _, th := range e.Threads {
			if th.ID == group.ID {
				t.Errorf("threads lists the group alice left")
			}
		}
		if len(e.ThreadsLeft) != 1 {
			t.Fatalf("threads_left: %+v; want the group alice left", e.ThreadsLeft)
		}
		th := e.ThreadsLeft[0]
		if th.ID != group.ID || th.Kind != client.ThreadGroup || th.Title != "Left behind" || th.LastReadSeq != words.Seq ||
			th.JoinedAt.After(joined) || th.LeftAt.Before(joined) || th.LeftAt.After(left) {
			t.Errorf("threads_left: %+v; want group %s, titled %q as alice knew it, read to %d, joined by %s, left by %s",
				th, group.ID, "Left behind", words.Seq, joined, left)
		}
		if strings.Contains(raw, later) {
			t.Errorf("the export holds the title given after alice left, %q", later)
		}
		if !slices.ContainsFunc(e.Messages, func(m client.Message) bool { return m.ThreadID == group.ID }) {
			t.Errorf("messages: none in the group alice left; want hers")
		}
	})
}

// Each participant of a thread in an export comes with when they joined
// it: those in it from its start when it began, after no message (seq 0);
// one added later when they were added, after the messages before them,
// which the group's note of their adding shows too.
func TestExport_ParticipantsSayWhenTheyJoined(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Plans", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Hour)
	apptest.MustSend(t, alice, group.ID, "before carol")
	before := apptest.MustSend(t, bob, group.ID, "still before carol")
	env.Clock.Advance(time.Hour)
	added := env.Clock.Now().Truncate(time.Microsecond)
	if _, err := alice.AddParticipant(ctx, group.ID, "carol"); err != nil {
		t.Fatal(err)
	}

	for _, member := range []*client.Client{alice, carol} {
		e, err := member.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(e.Threads) != 1 {
			t.Fatalf("threads %+v, want the group", e.Threads)
		}
		var got []string
		for _, p := range e.Threads[0].Participants {
			got = append(got, fmt.Sprintf("%s %s %d", p.Username, p.JoinedAt.UTC().Format(time.RFC3339Nano), p.JoinedSeq))
		}
		want := []string{
			fmt.Sprintf("alice %s 0", group.CreatedAt.UTC().Format(time.RFC3339Nano)),
			fmt.Sprintf("bob %s 0", group.CreatedAt.UTC().Format(time.RFC3339Nano)),
			fmt.Sprintf("carol %s %d", added.UTC().Format(time.RFC3339Nano), before.Seq),
		}
		if !slices.Equal(got, want) {
			t.Errorf("the group's participants in %s's export:\n%s\nwant:\n%s", e.Profile.Username, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// chainOf returns the export's access log as the entries its hashes cover.
func chainOf(e client.Export) []*parley.AccessEntry {
	var entries []*parley.AccessEntry
	for _, x := range e.AccessLog {
		entry := &parley.AccessEntry{
			UserID: e.AccessLogHead.UserID, Seq: x.Seq, At: x.At, ClientID: x.ClientID, AppName: x.AppName, GrantID: x.GrantID,
			Action: x.Action, ThreadID: x.ThreadID, ByUserID: x.ByUserID, MessageIDs: x.MessageIDs, MessageCount: x.MessageCount,
			FirstSeq: x.FirstSeq, LastSeq: x.LastSeq, PrevHash: x.PrevHash, Hash: x.Hash,
		}
		if g := x.Grant; g != nil {
			entry.Grant = &parley.GrantTerms{Scopes: parley.NewScopes(g.Scopes), ThreadScope: g.ThreadScope, ExpiresAt: g.ExpiresAt, ThreadIDs: g.ThreadIDs}
		}
		entries = append(entries, entry)
	}
	return entries
}

// exportBody returns the member's export as the server sent it.
func exportBody(t *testing.T, c *client.Client) string {
	t.Helper()
	var body jsonText
	if _, err := c.Do(context.Background(), "GET", "/api/v1/me/export", nil, &body); err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// jsonText keeps a JSON value's text as it came.
type jsonText []byte

// UnmarshalJSON keeps b.
func (j *jsonText) UnmarshalJSON(b []byte) error { *j = append((*j)[:0], b...); return nil }

// Deleting an account, once the member gives their password again, ends
// their sessions and their apps' tokens, turns their messages into
// tombstones that keep seq, takes them out of every thread and friendship,
// and keeps the username from anyone else; the others keep their threads
// with their own messages whole and numbered without a gap, and their
// access logs, which name the deleted member's messages, still verify.
// The deletion is recorded.
func TestDeleteAccount_LeavesOthersWhole(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol")
	direct := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, group.ID, "bob 1")
	apptest.MustSend(t, alice, group.ID, "alice 2")
	apptest.MustSend(t, carol, group.ID, "carol 3")
	apptest.MustSend(t, alice, group.ID, "alice 4")
	apptest.MustSend(t, alice, direct.ID, "alice to bob")

	films := env.MustPartner(t, "Films")
	bobsTok := env.MustToken(t, films, "bob", []string{"openid", "threads.read", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{group.ID}})
	bobsApp := env.Client.WithToken(bobsTok.AccessToken)
	if _, err := bobsApp.Messages(ctx, group.ID, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}
	alicesTok := env.MustToken(t, films, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	alicesApp := env.Client.WithToken(alicesTok.AccessToken)
	otherSession, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	aliceID, now := apptest.MustMe(t, alice).ID, parley.Now()
	if err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		return tx.CreateSession(ctx, &parley.Session{TokenHash: parley.HashToken("expired"), UserID: aliceID,
			CreatedAt: now.Add(-8 * 24 * time.Hour), ExpiresAt: now.Add(-24 * time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}

	t.Run("ErrWrongPassword", func(t *testing.T) {
		wantProblem(t, alice.DeleteAccount(ctx, "not the password"), http.StatusForbidden, "forbidden")
		apptest.MustMe(t, alice)
	})
	if err := alice.DeleteAccount(ctx, apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}

	t.Run("SignedOutEverywhere", func(t *testing.T) {
		for name, c := range map[string]*client.Client{"this session": alice, "another session": env.Client.WithToken(otherSession.Token), "an app's token": alicesApp} {
			if _, err := c.Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
				t.Errorf("%s after the deletion: %v, want 401", name, err)
			}
		}
		_, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
		// Nor is any session of hers kept, the expired one neither.
		var sessions []*parley.Session
		if err := env.Server.Store.Read(ctx, func(tx parley.Tx) (err error) { sessions, err = tx.FindUserSessions(ctx, aliceID); return err }); err != nil || len(sessions) != 0 {
			t.Errorf("the deleted account keeps %d sessions (%v), want none", len(sessions), err)
		}
	})
	t.Run("UsernameReserved", func(t *testing.T) {
		_, err := env.Client.CreateAccount(ctx, "Alice", "a new password", "")
		wantProblem(t, err, http.StatusConflict, "conflict")
	})
	t.Run("TombstonesKeepSeq", func(t *testing.T) {
		after := int64(0)
		page, err := bob.Messages(ctx, group.ID, client.MessagesQuery{After: &after})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, m := range page.Messages {
			if m.Seq != int64(i+1) {
				t.Errorf("message %d has seq %d", i, m.Seq)
			}
			if m.DeletedAt != nil {
				got = append(got, "deleted by "+m.Sender.DisplayName)
			} else {
				got = append(got, m.Text)
			}
		}
		want := []string{"bob 1", "deleted by " + parley.DeletedDisplayName, "carol 3", "deleted by " + parley.DeletedDisplayName}
		if !slices.Equal(got, want) {
			t.Errorf("the group thread as bob sees it: %q, want %q", got, want)
		}
		for _, m := range page.Messages {
			if m.DeletedAt != nil && (m.Text != "" || m.Share != nil) {
				t.Errorf("a tombstone keeps content: %+v", m)
			}
		}
	})
	t.Run("OutOfThreadsAndFriendships", func(t *testing.T) {
		for _, th := range []string{group.ID, direct.ID} {
			people, err := bob.Participants(ctx, th)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range people {
				if p.Username == "alice" {
					t.Errorf("alice is still in thread %s", th)
				}
			}
		}
		friends, err := bob.Friends(ctx)
		if err != nil || len(friends) != 0 {
			t.Errorf("bob's friends after alice's deletion: %+v, %v", friends, err)
		}
		_, err = bob.AddFriend(ctx, "alice")
		wantProblem(t, err, http.StatusNotFound, "not_found")
	})
	t.Run("OthersAccessLogsVerify", func(t *testing.T) {
		for name, c := range map[string]*client.Client{"bob": bob, "carol": carol} {
			var v service.Verification
			if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log/verify", nil, &v); err != nil || !v.Intact {
				t.Errorf("%s's access log after the deletion: %+v, %v", name, v, err)
			}
		}
		if _, err := bobsApp.Messages(ctx, group.ID, client.MessagesQuery{}); err != nil {
			t.Errorf("bob's app after alice's deletion: %v", err)
		}
	})
	t.Run("Recorded", func(t *testing.T) {
		actions, err := env.Server.Service.OperatorActions(service.ConsoleContext(ctx), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(actions) == 0 || actions[0].Action != parley.ActionUserDelete || actions[0].Actor != "alice" || actions[0].SubjectName != "alice" {
			t.Fatalf("latest decision %+v, want alice's deletion of her own account", actions[0])
		}
	})
}

// TestDeleteAccount_ToldInThreadsLeftBefore: the members of a thread the
// deleted member had left before are told, as those of the threads they
// were still in are, that the member's messages there were deleted.
func TestDeleteAccount_ToldInThreadsLeftBefore(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	words := apptest.MustSend(t, carol, group, "carol's words")
	if err := carol.LeaveThread(ctx, group); err != nil {
		t.Fatal(err)
	}
	stream := mustEvents(t, bob)
	if err := carol.DeleteAccount(ctx, apptest.Password("carol")); err != nil {
		t.Fatal(err)
	}
	after := apptest.MustSend(t, alice, group, "after carol's deletion")
	for {
		ev, err := stream.Next(ctx)
		if err != nil {
			t.Fatalf("bob's stream ended before he was told that carol's message was deleted: %v", err)
		}
		var deleted client.MessageDeleted
		if ev.Type == client.EventMessageDeleted && json.Unmarshal(ev.Data, &deleted) == nil && deleted.ID == words.ID {
			return
		}
		if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), after.ID) {
			t.Fatal("bob was not told that carol's message in the thread she had left was deleted")
		}
	}
}

// TestDeleteAccount_UsernameShownToNoOne: once a member deleted their
// account, nothing read through the API names them. The account keeps its
// username only so that no one can register it; others, and apps, see
// "Deleted account" and no username beside the tombstones, in the group's
// notes and in the thread's last message. An app bob connects only after
// zed's deletion, which never knew zed, does not learn zed's username
// from what it reads; nor do bob's own reads keep handing it out.
func TestDeleteAccount_UsernameShownToNoOne(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	zed, bob, carol := env.MustMember(t, "zorblax"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, zed, bob)
	apptest.MustFriends(t, zed, carol)
	group, err := zed.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Plans", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, zed, group.ID, "zed's words")
	apptest.MustSend(t, bob, group.ID, "bob's words")
	if err := zed.DeleteAccount(ctx, apptest.Password("zorblax")); err != nil {
		t.Fatal(err)
	}

	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "bob", []string{"openid", "threads.read", "messages.read", "participants.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{group.ID}})
	app := env.Client.WithToken(tok.AccessToken)
	after := int64(0)
	for name, c := range map[string]*client.Client{"Films, connected after the deletion": app, "bob": bob} {
		page, err := c.Messages(ctx, group.ID, client.MessagesQuery{After: &after})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) == 0 || page.Messages[0].DeletedAt == nil {
			t.Fatalf("%s reads %+v; want zed's tombstone first", name, page.Messages)
		}
		if got := page.Messages[0].Sender; got.Username != "" || got.DisplayName != parley.DeletedDisplayName {
			t.Errorf("%s reads the tombstone as sent by %+v; want %q and no username", name, got, parley.DeletedDisplayName)
		}
		paths := []string{
			"/api/v1/threads/" + group.ID + "/changes",
			"/api/v1/threads?include=messages:5",
			"/api/v1/threads/" + group.ID,
		}
		if c == bob { // a group's notes are for its members themselves
			paths = append(paths, "/api/v1/threads/"+group.ID+"/messages?after=0&include=notes")
		}
		for _, path := range paths {
			var raw jsonText
			if _, err := c.Do(ctx, "GET", path, nil, &raw); err != nil {
				t.Fatalf("%s: GET %s: %v", name, path, err)
			}
			if i := strings.Index(string(raw), "zorblax"); i >= 0 {
				t.Errorf("%s: GET %s names the deleted account: ...%s...", name, path, raw[max(0, i-120):min(len(raw), i+40)])
			}
		}
	}
}

// A deletion through one server ends the member's sessions on another at
// its very next request.
func TestNodes_DeletedAccountIsSignedOutEverywhere(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database = url }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	aliceA := a.MustMember(t, "alice")
	aliceB := b.Client.WithToken(aliceA.Token())
	apptest.MustMe(t, aliceB)
	if err := aliceA.DeleteAccount(ctx, apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceB.Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("the session on the other server after the deletion: %v, want 401", err)
	}
}

// A deleted account's grants end as revocations and its messages as
// deletions: the app's endpoint gets grant.revoked for the member's own
// grant, and message.deleted for their message, which another member's
// grant reached.
func TestWebhooks_AccountDeleted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := apptest.Start(t, allowLoopback)
	alice, bob, studio := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "studio")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob").ID
	partner := env.MustPartnerOf(t, "Movie Club", "studio")
	env.MustToken(t, partner, "bob", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{thread}})
	env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	rc := newReceiver(t)
	var ep service.CreatedWebhookEndpoint
	if _, err := studio.Do(ctx, "POST", "/api/v1/apps/"+partner.App.ClientID+"/webhooks",
		map[string]any{"url": rc.URL, "events": []string{"message.deleted", "grant.revoked"}}, &ep); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(parley.WebhookActivation)
	m := apptest.MustSend(t, alice, thread, "soon gone")
	aliceID := apptest.MustMe(t, alice).ID
	if err := alice.DeleteAccount(ctx, apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 2 {
		d := rc.next(t)
		switch d.event.Type {
		case "grant.revoked":
			got = append(got, fmt.Sprintf("grant.revoked of %v (%v)", d.event.Data["user_id"] == aliceID, d.event.Data["reason"]))
		case "message.deleted":
			got = append(got, fmt.Sprintf("message.deleted %v", d.event.Data["message_id"] == m.ID))
		default:
			t.Errorf("event %s", d.body)
		}
	}
	slices.Sort(got)
	if want := []string{"grant.revoked of true (revoked)", "message.deleted true"}; !slices.Equal(got, want) {
		t.Errorf("deliveries %q, want %q", got, want)
	}
}

// An account with more messages than the export and the deletion read at
// a time is exported whole, in the order sent, and deleted whole.
func TestExport_ManyMessagesPageByPage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob").ID
	svc := env.Server.Service
	caller, err := svc.Authenticate(ctx, alice.Token())
	if err != nil {
		t.Fatal(err)
	}
	asAlice := parley.NewContextWithCaller(ctx, caller)
	const n = 1001
	for i := range n {
		if _, _, err := svc.SendMessage(asAlice, thread, service.Draft{Text: fmt.Sprint(i)}, ""); err != nil {
			t.Fatal(err)
		}
	}
	e, err := alice.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Messages) != n {
		t.Fatalf("%d messages exported, want %d", len(e.Messages), n)
	}
	for i, m := range e.Messages {
		if m.Text != fmt.Sprint(i) || m.Seq != int64(i+1) {
			t.Fatalf("exported message %d: %q at seq %d", i, m.Text, m.Seq)
		}
	}
	if err := alice.DeleteAccount(ctx, apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}
	for _, after := range []int64{0, 400, 800, n - 1} {
		page, err := bob.Messages(ctx, thread, client.MessagesQuery{After: &after, Limit: 200})
		if err != nil || len(page.Messages) == 0 {
			t.Fatalf("bob's page after %d: %+v, %v", after, page, err)
		}
		for _, m := range page.Messages {
			if m.DeletedAt == nil {
				t.Fatalf("message %d of the deleted alice is not a tombstone", m.Seq)
			}
		}
	}
}

// A deletion the full disk refuses answers 507, as the OpenAPI document
// says, deletes nothing, and the same call deletes the account once there
// is space again.
func TestDeleteAccount_DiskFull(t *testing.T) {
	disk := sqlstoretest.SmallDisk(t, 32<<20)
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.Database, c.DataDir, c.SignUpsPerAddress = "", disk, 100 })
	ctx := context.Background()
	bob := env.MustMember(t, "bob")
	var members []*client.Client
	for i := range 30 {
		m := env.MustMember(t, fmt.Sprintf("member%d", i))
		apptest.MustFriends(t, m, bob)
		th := apptest.MustThread(t, m, "bob")
		for range 3 {
			apptest.MustSend(t, m, th.ID, strings.Repeat("x", 4000))
		}
		members = append(members, m)
	}

	free := sqlstoretest.Fill(t, disk)
	var refused *client.Client
	for _, m := range members {
		err := m.DeleteAccount(ctx, apptest.Password(apptest.MustMe(t, m).Username))
		if err == nil {
			continue
		}
		wantProblem(t, err, http.StatusInsufficientStorage, "storage_full")
		refused = m
		break
	}
	if refused == nil {
		t.Fatal("every deletion on a full disk succeeded")
	}
	me := apptest.MustMe(t, refused)
	free()
	if err := refused.DeleteAccount(ctx, apptest.Password(me.Username)); err != nil {
		t.Fatalf("the deletion once space is freed: %v", err)
	}
}

// TestExport_ThreadsLeftKeepTheTitleAsLeftWhateverTheClocks: a thread's
// title in threads_left is the one it had as the member left, kept with
// their leaving: a rename made after, on a node whose clock is a second
// behind the one that recorded the leave, or in the same microsecond, is
// not theirs to learn.
func TestExport_ThreadsLeftKeepTheTitleAsLeftWhateverTheClocks(t *testing.T) {
	for name, skew := range map[string]time.Duration{"ClockBehindASecond": -time.Second, "SameMicrosecond": 0} {
		t.Run(name, func(t *testing.T) {
			env := apptest.Start(t)
			ctx := context.Background()
			alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
			apptest.MustFriends(t, alice, bob)
			group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Left behind", Kind: client.ThreadGroup})
			if err != nil {
				t.Fatal(err)
			}
			apptest.MustSend(t, alice, group.ID, "alice's words")
			if skew == 0 {
				env.Clock.Freeze()
			}
			if err := alice.LeaveThread(ctx, group.ID); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(skew) // the rename's node, after the leave committed
			later := "Renamed once alice left"
			if _, err := bob.UpdateThread(ctx, group.ID, client.ThreadUpdate{Title: &later}); err != nil {
				t.Fatal(err)
			}
			raw := exportBody(t, alice)
			var e client.Export
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				t.Fatal(err)
			}
			if len(e.ThreadsLeft) != 1 || e.ThreadsLeft[0].Title != "Left behind" || strings.Contains(raw, later) {
				t.Errorf("threads_left %+v; want the title alice knew, %q, not %q", e.ThreadsLeft, "Left behind", later)
			}
		})
	}
}
