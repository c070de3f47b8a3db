package httpapi_test

import (
	"context"
	"errors"
	"net/http"
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

// Members see their connected apps, what each reaches and how much it
// did, and can disconnect one: its very next request fails, its refresh
// token is dead, and the revocation is in the log.
func TestConnectedApps_ListAndRevoke(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	films := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, films, "alice", []string{"openid", "offline_access", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
	app := w.env.Client.WithToken(tok.AccessToken)
	for range 2 {
		if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	notes := w.env.MustPartner(t, "Notes")
	w.env.MustToken(t, notes, "alice", []string{"openid", "profile"}, apptest.Answer{Expiry: "never"})

	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 2 {
		t.Fatalf("alice has %d connected apps, want 2", len(apps))
	}
	got := apps[0]
	if got.AppName != "Films" || got.ClientID != films.App.ClientID || got.ThreadScope != parley.ThreadScopeSelected ||
		!slices.Equal(got.Scopes, []string{"openid", "messages.read", "offline_access"}) || got.ExpiresAt == nil {
		t.Errorf("Films: %+v", got)
	}
	if len(got.Threads) != 1 || got.Threads[0].ThreadID != w.aliceBob || got.Threads[0].Label != "Member bob" {
		t.Errorf("Films reaches %+v, want the thread with bob", got.Threads)
	}
	if got.Calls != 2 || got.LastAccessAt == nil || time.Since(*got.LastAccessAt) > time.Minute {
		t.Errorf("Films made %d calls, the last at %v; want 2, just now", got.Calls, got.LastAccessAt)
	}
	if n := apps[1]; n.AppName != "Notes" || n.Calls != 0 || n.LastAccessAt != nil || n.ExpiresAt != nil || len(n.Threads) != 0 {
		t.Errorf("Notes: %+v", n)
	}
	if apps, err := w.bob.ConnectedApps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("bob granted nothing, yet lists %v (%v)", apps, err)
	}

	if err := w.bob.RevokeGrant(ctx, got.ID); client.StatusOf(err) != http.StatusNotFound {
		t.Fatalf("bob revoked alice's grant: %v", err)
	}
	if err := w.alice.RevokeGrant(ctx, got.ID); err != nil {
		t.Fatal(err)
	}

	_, err = app.Messages(ctx, w.aliceBob, client.MessagesQuery{})
	if client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("the very next request after revocation: %v, want 401", err)
	}
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	var re *oauth2.RetrieveError
	if _, err := films.Config.TokenSource(ctx, &expired).Token(); !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh after revocation: %v, want invalid_grant", err)
	}
	if apps, _ := w.alice.ConnectedApps(ctx); len(apps) != 1 || apps[0].AppName != "Notes" {
		t.Errorf("after revoking Films alice lists %+v", apps)
	}
	log := accessLog(t, w.alice, "?app="+films.App.ClientID)
	if got, want := actions(log), []string{parley.ActionGrantCreated, "messages.read", "messages.read", parley.ActionGrantRevoked}; !slices.Equal(got, want) {
		t.Errorf("alice's log of Films: %v, want %v", got, want)
	}

	// Revoking again changes nothing, and logs nothing.
	if err := w.alice.RevokeGrant(ctx, got.ID); err != nil {
		t.Errorf("revoking again: %v", err)
	}
	if n := len(accessLog(t, w.alice, "?app="+films.App.ClientID).Entries); n != 4 {
		t.Errorf("revoking again logged something: %d entries", n)
	}
	if err := w.alice.RevokeGrant(ctx, "no-such-grant"); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("revoking an unknown grant: %v", err)
	}
}

// A grant that runs out is ended and its expiry logged, at the moment it
// expired.
func TestConnectedApps_ExpiryLogged(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Brief")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{Expiry: "30d"})
	app := w.env.Client.WithToken(tok.AccessToken)
	if _, err := app.Me(ctx); err != nil {
		t.Fatal(err)
	}
	apps, err := w.alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 || apps[0].ExpiresAt == nil {
		t.Fatalf("connected apps: %+v, %v", apps, err)
	}
	expiry := *apps[0].ExpiresAt
	w.env.Clock.Advance(30*24*time.Hour + time.Hour)

	if _, err := app.Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("an expired grant still works: %v", err)
	}
	svc := w.env.Server.Service
	if n, err := svc.EndExpiredGrants(ctx); err != nil || n != 1 {
		t.Fatalf("ended %d expired grants (%v), want 1", n, err)
	}
	if n, err := svc.EndExpiredGrants(ctx); err != nil || n != 0 {
		t.Errorf("a second run ended %d (%v), want 0", n, err)
	}
	log := accessLog(t, w.alice, "")
	if got, want := actions(log), []string{parley.ActionGrantCreated, "profile", parley.ActionGrantExpired}; !slices.Equal(got, want) {
		t.Fatalf("alice's log: %v, want %v", got, want)
	}
	if at := log.Entries[0].At; !at.Equal(expiry) {
		t.Errorf("expiry logged at %v, want %v", at, expiry)
	}
	if v := verifyLog(t, w.alice); !v.Intact {
		t.Errorf("verify: %+v", v)
	}
	if apps, _ := w.alice.ConnectedApps(ctx); len(apps) != 0 {
		t.Errorf("an expired grant is still listed: %+v", apps)
	}
}

// An expiry logged after another app's later entry takes that entry's
// time: a member's log reads in time as it reads in seq.
func TestConnectedApps_ExpiryLoggedLateKeepsTheLogInTimeOrder(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	brief := w.env.MustPartner(t, "Brief")
	w.env.MustToken(t, brief, "alice", []string{"openid", "profile"}, apptest.Answer{Expiry: "30d"})
	w.env.Clock.Advance(30*24*time.Hour + 10*time.Minute) // Brief's grant expired 10 minutes ago; no sweep yet
	lasting := w.env.MustPartner(t, "Lasting")
	tok := w.env.MustToken(t, lasting, "alice", []string{"openid", "profile"}, apptest.Answer{})
	if _, err := w.env.Client.WithToken(tok.AccessToken).Me(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := w.env.Server.Service.EndExpiredGrants(ctx); err != nil || n != 1 {
		t.Fatalf("ended %d expired grants (%v), want 1", n, err)
	}
	log := accessLog(t, w.alice, "")
	if got, want := actions(log), []string{parley.ActionGrantCreated, parley.ActionGrantCreated, "profile", parley.ActionGrantExpired}; !slices.Equal(got, want) {
		t.Fatalf("alice's log: %v, want %v", got, want)
	}
	for i := 1; i < len(log.Entries); i++ {
		if newer, older := log.Entries[i-1], log.Entries[i]; newer.At.Before(older.At) {
			t.Errorf("seq %d (%s) at %v is before seq %d (%s) at %v", newer.Seq, newer.Action, newer.At, older.Seq, older.Action, older.At)
		}
	}
	if expired, read := log.Entries[0], log.Entries[1]; !expired.At.Equal(read.At) {
		t.Errorf("the expiry is logged at %v, want the time of the read before it, %v", expired.At, read.At)
	}
	if v := verifyLog(t, w.alice); !v.Intact {
		t.Errorf("verify: %+v", v)
	}
}

// Every participant sees which apps reach a thread through whose grant, and
// any of them can close it to all apps at once; only those who closed it
// can open it again.
func TestThreadAppAccess(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	films := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, films, "alice", []string{"openid", "messages.read", "threads.read", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol}})
	app := w.env.Client.WithToken(tok.AccessToken)
	notes := w.env.MustPartner(t, "Notes")
	w.env.MustToken(t, notes, "bob", []string{"openid", "messages.write"}, apptest.Answer{})
	diary := w.env.MustPartner(t, "Diary")
	w.env.MustToken(t, diary, "bob", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})

	seen, err := w.bob.ThreadApps(ctx, w.aliceBob)
	if err != nil {
		t.Fatal(err)
	}
	if !seen.Allowed || len(seen.ClosedBy) != 0 || !slices.Equal(appsOf(seen), []string{"Films via alice", "Diary via bob"}) {
		t.Errorf("bob sees %+v, want Films through alice's grant and Diary through his own", seen)
	}
	if _, err := w.carol.ThreadApps(ctx, w.aliceBob); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("carol, not in the thread, sees its apps: %v", err)
	}

	stream, err := app.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()

	closed, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, false)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Allowed || len(closed.ClosedBy) != 1 || closed.ClosedBy[0].Username != "bob" {
		t.Errorf("after bob closed it: %+v", closed)
	}

	t.Run("AppsSeeNothing", func(t *testing.T) {
		if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("history: %v, want 404", err)
		}
		if _, err := app.Thread(ctx, w.aliceBob); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("thread: %v, want 404", err)
		}
		page, err := app.Threads(ctx, client.ThreadsQuery{})
		if err != nil || len(page.Threads) != 1 || page.Threads[0].ID != w.aliceCarol {
			t.Errorf("the app's thread list: %+v (%v), want only the thread with carol", page, err)
		}
		_, err = app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"})
		if client.StatusOf(err) != http.StatusForbidden {
			t.Errorf("share into the closed thread: %v, want 403", err)
		}
		// The stream open when the thread closed ends; on a new one, bob's
		// message never reaches the app, carol's next one does.
		mustEnd(t, stream, 2*time.Second, client.StatusOpenAgain)
		stream := mustEvents(t, app)
		apptest.MustSend(t, w.bob, w.aliceBob, "not for any app")
		want := apptest.MustSend(t, w.carol, w.aliceCarol, "for the app")
		ev, err := stream.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ThreadID != w.aliceCarol || !strings.Contains(string(ev.Data), want.ID) {
			t.Errorf("the app got %s in %s: %s", ev.Type, ev.ThreadID, ev.Data)
		}
	})

	t.Run("LoggedForEveryParticipant", func(t *testing.T) {
		bobID := apptest.MustMe(t, w.bob).ID
		for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob} {
			i := slices.IndexFunc(accessLog(t, c, "").Entries, func(e *parley.AccessEntry) bool {
				return e.Action == parley.ActionThreadClosed && e.ThreadID == w.aliceBob && e.ByUserID == bobID && e.ClientID == ""
			})
			if i < 0 {
				t.Errorf("%s's log does not say bob closed the thread to apps", name)
			}
		}
		for _, e := range accessLog(t, w.carol, "").Entries {
			if e.ThreadID == w.aliceBob {
				t.Errorf("carol's log holds the closing of a thread she is not in: %+v", e)
			}
		}
	})

	t.Run("OnlyWhoClosedItReopens", func(t *testing.T) {
		_, err := w.alice.SetThreadAppAccess(ctx, w.aliceBob, true)
		if client.StatusOf(err) != http.StatusForbidden || !strings.Contains(err.Error(), "bob") {
			t.Errorf("alice reopened bob's closing: %v", err)
		}
		if a, err := w.alice.SetThreadAppAccess(ctx, w.aliceBob, false); err != nil || len(a.ClosedBy) != 2 {
			t.Fatalf("alice closes it too: %+v (%v)", a, err)
		}
		if a, err := w.bob.SetThreadAppAccess(ctx, w.aliceBob, true); err != nil || a.Allowed {
			t.Errorf("bob's reopening alone opened it: %+v (%v)", a, err)
		}
		if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("history while alice keeps it closed: %v, want 404", err)
		}
		if a, err := w.alice.SetThreadAppAccess(ctx, w.aliceBob, true); err != nil || !a.Allowed || len(a.ClosedBy) != 0 {
			t.Errorf("alice reopens: %+v (%v)", a, err)
		}
		if _, err := app.Messages(ctx, w.aliceBob, client.MessagesQuery{}); err != nil {
			t.Errorf("history after reopening: %v", err)
		}
		want := []string{parley.ActionThreadClosed, parley.ActionThreadClosed, parley.ActionThreadReopened, parley.ActionThreadReopened}
		var got []string
		for _, a := range actions(accessLog(t, w.bob, "")) {
			if strings.HasPrefix(a, "thread.") {
				got = append(got, a)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("bob's log of the thread's access: %v, want %v", got, want)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		for _, body := range []any{map[string]any{}, map[string]any{"allowed": "no"}, map[string]any{"allowed": nil}} {
			_, err := w.alice.Do(ctx, "PUT", "/api/v1/threads/"+w.aliceBob+"/app-access", body, nil)
			if client.StatusOf(err) != http.StatusBadRequest {
				t.Errorf("PUT %v: %v, want 400", body, err)
			}
		}
		if _, err := w.alice.SetThreadAppAccess(ctx, w.bobCarol, false); client.StatusOf(err) != http.StatusNotFound {
			t.Errorf("alice closed a thread she is not in: %v", err)
		}
	})
}

// appsOf names the grants that reach a thread as "App via member".
func appsOf(a *client.ThreadAppAccess) []string {
	var out []string
	for _, g := range a.Apps {
		out = append(out, g.AppName+" via "+g.Member.Username)
	}
	return out
}

// Messages an app reads in an inbox listing are logged for everyone in
// each thread, like any other read of them.
func TestAccessLog_InboxReads(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Inbox")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "threads.read", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol}})
	app := w.env.Client.WithToken(tok.AccessToken)
	if _, err := app.Threads(ctx, client.ThreadsQuery{Messages: 5}); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		c      *client.Client
		thread string
	}{"bob": {w.bob, w.aliceBob}, "carol": {w.carol, w.aliceCarol}} {
		log := accessLog(t, tc.c, "")
		if got, want := actions(log), []string{"threads.read", "messages.read"}; !slices.Equal(got, want) {
			t.Errorf("%s's log: %v, want %v", name, got, want)
			continue
		}
		if e := log.Entries[1]; e.ThreadID != tc.thread {
			t.Errorf("%s's threads.read entry: %+v", name, e)
		}
		if e := log.Entries[0]; e.ThreadID != tc.thread || e.MessageCount != 1 || len(e.MessageIDs) != 1 {
			t.Errorf("%s's messages.read entry: %+v", name, e)
		}
	}
	got := actions(accessLog(t, w.alice, ""))
	slices.Sort(got[1:])
	if want := []string{parley.ActionGrantCreated, "messages.read", "messages.read", "threads.read", "threads.read"}; !slices.Equal(got, want) {
		t.Errorf("alice's log: %v, want %v", got, want)
	}
}

// TestAccessLog_ThreadListIsLoggedForEveryParticipant: an app's GET
// /threads reads each thread it lists, its title and activity, as GET
// /threads/{id} does, so it is logged as GET /threads/{id} is: threads.read
// of each listed thread in the log of everyone in it, messages or none. A
// page that lists no thread read the member's list alone, and is logged
// in their log alone.
func TestAccessLog_ThreadListIsLoggedForEveryParticipant(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"})
	if err != nil {
		t.Fatal(err)
	}
	partner := w.env.MustPartner(t, "Lister")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "threads.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob, w.aliceCarol, group.ID}})
	app := w.env.Client.WithToken(tok.AccessToken)
	if page, err := app.Threads(ctx, client.ThreadsQuery{}); err != nil || len(page.Threads) != 3 {
		t.Fatalf("the app's list: %+v, %v; want the 3 threads it reaches", page, err)
	}
	// listed returns the threads of the Lister's threads.read entries in a
	// member's log, sorted.
	listed := func(c *client.Client) []string {
		var ids []string
		for _, e := range accessLog(t, c, "?app="+partner.App.ClientID).Entries {
			if e.Action == "threads.read" {
				ids = append(ids, e.ThreadID)
			}
		}
		slices.Sort(ids)
		return ids
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }
	for name, tc := range map[string]struct {
		c    *client.Client
		want []string
	}{
		"alice": {w.alice, sorted(w.aliceBob, w.aliceCarol, group.ID)},
		"bob":   {w.bob, sorted(w.aliceBob, group.ID)},
		"carol": {w.carol, sorted(w.aliceCarol, group.ID)},
	} {
		if got := listed(tc.c); !slices.Equal(got, tc.want) {
			t.Errorf("%s's log has threads.read of %q, want %q", name, got, tc.want)
		}
	}

	t.Run("AnEmptyPage", func(t *testing.T) {
		// Thread scope app: the app reaches no thread until it starts one.
		other := w.env.MustPartner(t, "Nothing yet")
		tok := w.env.MustToken(t, other, "alice", []string{"openid", "threads.read"}, apptest.Answer{})
		if page, err := w.env.Client.WithToken(tok.AccessToken).Threads(ctx, client.ThreadsQuery{}); err != nil || len(page.Threads) != 0 {
			t.Fatalf("the app's list: %+v, %v; want none", page, err)
		}
		log := accessLog(t, w.alice, "?app="+other.App.ClientID)
		if got, want := actions(log), []string{parley.ActionGrantCreated, "threads.read"}; !slices.Equal(got, want) || log.Entries[0].ThreadID != "" {
			t.Errorf("alice's log of the app: %v (newest %+v), want %v, the list's read naming no thread", got, log.Entries[0], want)
		}
		for name, c := range map[string]*client.Client{"bob": w.bob, "carol": w.carol} {
			if log := accessLog(t, c, "?app="+other.App.ClientID); len(log.Entries) != 0 {
				t.Errorf("%s's log of the app: %v, want nothing", name, actions(log))
			}
		}
	})
}

// A member who closed a group thread to apps and then leaves it withdraws
// the closing: no one left could, and everyone is told.
func TestThreadAppAccess_CloserLeaves(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Trip"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.carol.SetThreadAppAccess(ctx, group.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
		t.Fatal(err)
	}
	a, err := w.alice.ThreadApps(ctx, group.ID)
	if err != nil || !a.Allowed || len(a.ClosedBy) != 0 {
		t.Errorf("after carol left: %+v (%v), want the thread open to apps", a, err)
	}
	for name, c := range map[string]*client.Client{"alice": w.alice, "bob": w.bob, "carol": w.carol} {
		if got := actions(accessLog(t, c, "")); !slices.Equal(got, []string{parley.ActionThreadClosed, parley.ActionThreadReopened}) {
			t.Errorf("%s's log: %v", name, got)
		}
	}
}

// A thread closed to apps and opened again is, for every app, a thread
// from its opening on: what was said while it was closed, and before, is
// no app's to read, whoever's grant, of whatever thread scope, and whoever
// opened it, or withdrew the closing by leaving, as here. Its history, its
// changes and the app's list of threads hold to that, and a cursor of the
// changes kept from before is refused (409), as for any thread whose start
// moved; what is said after the opening, the apps read.
func TestThreadAppAccess_AReopenedThreadIsAppsFromItsOpening(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	group := apptest.MustThread(t, w.alice, "bob", "carol").ID
	scopes := []string{"openid", "messages.read", "threads.read"}
	selected := w.env.MustToken(t, w.env.MustPartner(t, "Picked"), "alice", scopes,
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group}})
	everything := w.env.MustPartner(t, "Everything")
	if _, err := w.env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), everything.App.ClientID); err != nil {
		t.Fatal(err)
	}
	all := w.env.MustToken(t, everything, "bob", scopes, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	apps := map[string]*client.Client{"selected": w.env.Client.WithToken(selected.AccessToken), "all": w.env.Client.WithToken(all.AccessToken)}

	apptest.MustSend(t, w.bob, group, "said before the closing")
	cursors := map[string]string{}
	for name, app := range apps {
		changes, err := app.Changes(ctx, group, client.ChangesQuery{})
		if err != nil || len(changes.Changes) != 1 {
			t.Fatalf("%s: changes before the closing: %+v, %v", name, changes, err)
		}
		cursors[name] = changes.NextCursor
	}
	if _, err := w.carol.SetThreadAppAccess(ctx, group, false); err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, w.bob, group, "said while closed to apps")
	if err := w.carol.LeaveThread(ctx, group); err != nil {
		t.Fatal(err)
	}
	for name, app := range apps {
		if th, err := app.Thread(ctx, group); err != nil || th.LastMessage != nil || th.UnreadCount != 0 {
			t.Errorf("%s: the thread just opened again: %+v, %v; want it with no message", name, th, err)
		}
	}
	after := apptest.MustSend(t, w.bob, group, "said after the opening")

	for name, app := range apps {
		page, err := app.Messages(ctx, group, client.MessagesQuery{})
		if err != nil || len(page.Messages) != 1 || page.Messages[0].ID != after.ID {
			t.Errorf("%s: history %+v, %v; want only what was said after the opening", name, page, err)
		}
		changes, err := app.Changes(ctx, group, client.ChangesQuery{})
		if err != nil || len(changes.Changes) != 1 || changes.Changes[0].Message.ID != after.ID {
			t.Errorf("%s: changes %+v, %v; want only what was said after the opening", name, changes, err)
		}
		if _, err := app.Changes(ctx, group, client.ChangesQuery{Cursor: cursors[name]}); client.StatusOf(err) != http.StatusConflict {
			t.Errorf("%s: changes after a cursor kept from before the closing: %v, want 409", name, err)
		}
		list, err := app.Threads(ctx, client.ThreadsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(list.Threads, func(th *client.ThreadSummary) bool { return th.ID == group })
		if i < 0 {
			t.Fatalf("%s: the thread is not in the app's list", name)
		}
		// Of alice's grant, one unread; bob's is his own.
		if th := list.Threads[i]; th.LastMessage == nil || th.LastMessage.ID != after.ID || th.UnreadCount != map[string]int64{"selected": 1, "all": 0}[name] {
			t.Errorf("%s: the thread in the app's list: %+v, last %+v; want its last message, and all it counts unread, what was said after the opening", name, th, th.LastMessage)
		}
	}
	// The members are told so: the thread's apps, and alice's connected
	// apps, say where each app sees it from.
	panel, err := w.alice.ThreadApps(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range panel.Apps {
		if g.VisibleFromSeq != after.Seq {
			t.Errorf("the thread's apps say %s sees it from %d; it does from %d", g.AppName, g.VisibleFromSeq, after.Seq)
		}
	}
	connected, err := w.alice.ConnectedApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range connected {
		for _, th := range g.Threads {
			if th.ThreadID == group && th.VisibleFromSeq != after.Seq {
				t.Errorf("alice's connected apps say %s sees the group from %d; it does from %d", g.AppName, th.VisibleFromSeq, after.Seq)
			}
		}
	}
}

// TestThreadAppAccess_ListsOnlyAppsThatReachIt: the apps a thread's
// participants see are those that can read it now. An app an operator
// suspended is not listed while it is suspended, and is again once
// reinstated; a grant that expired is not listed, nor is the grant of a
// member who left the thread.
func TestThreadAppAccess_ListsOnlyAppsThatReachIt(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	console := service.ConsoleContext(ctx)
	group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Title: "Book club"})
	if err != nil {
		t.Fatal(err)
	}
	films, diary, notes := w.env.MustPartner(t, "Films"), w.env.MustPartner(t, "Diary"), w.env.MustPartner(t, "Notes")
	reach := []string{group.ID}
	w.env.MustToken(t, films, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: reach, Expiry: "never"})
	w.env.MustToken(t, diary, "bob", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: reach, Expiry: "30d"})
	w.env.MustToken(t, notes, "carol", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: reach, Expiry: "never"})
	listed := func(t *testing.T, want ...string) {
		t.Helper()
		seen, err := w.alice.ThreadApps(ctx, group.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := appsOf(seen); !slices.Equal(got, want) {
			t.Errorf("alice sees %q, want %q", got, want)
		}
	}
	listed(t, "Films via alice", "Diary via bob", "Notes via carol")

	t.Run("AppSuspended", func(t *testing.T) {
		if _, err := w.env.Server.Service.SuspendApp(console, films.App.ClientID); err != nil {
			t.Fatal(err)
		}
		listed(t, "Diary via bob", "Notes via carol")
		if _, err := w.env.Server.Service.ReinstateApp(console, films.App.ClientID); err != nil {
			t.Fatal(err)
		}
		listed(t, "Films via alice", "Diary via bob", "Notes via carol")
	})
	t.Run("MemberLeft", func(t *testing.T) {
		if err := w.carol.LeaveThread(ctx, group.ID); err != nil {
			t.Fatal(err)
		}
		listed(t, "Films via alice", "Diary via bob")
	})
	t.Run("GrantExpired", func(t *testing.T) {
		w.env.Clock.Advance(30*24*time.Hour + time.Second) // bob granted Diary for 30 days
		listed(t, "Films via alice")
	})
}

// A grant that ran out before its member's account was deleted, and that
// no node had yet marked so, is ended in the deletion, logged as expired
// at the moment it expired: the deleted member's log stays as it was
// after that, and the expiry job finds nothing left of theirs to end.
func TestConnectedApps_ExpiryLoggedBeforeTheAccountIsDeleted(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx := context.Background()
	partner := w.env.MustPartner(t, "Brief")
	w.env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{Expiry: "30d"})
	w.env.Clock.Advance(30*24*time.Hour + time.Hour)
	if err := w.alice.DeleteAccount(ctx, apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}
	svc := w.env.Server.Service
	console := service.ConsoleContext(ctx)
	before, err := svc.VerifyAccessLogOf(console, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.EndExpiredGrants(ctx); err != nil || n != 0 {
		t.Errorf("the expiry job ended %d grants (%v) after the deletion, want 0", n, err)
	}
	after, err := svc.VerifyAccessLogOf(console, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !before.Intact || before.Entries != 2 || after.Entries != before.Entries {
		t.Errorf("alice's log: %+v at the deletion (want grant.created and grant.expired), %+v after", before, after)
	}
}
