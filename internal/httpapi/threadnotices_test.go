package httpapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// When an app comes to reach a thread, its participants' streams carry a
// thread.apps_changed event, and an app's stream never does, even an app
// that reaches the thread.
func TestThreadNotices_AppsChangedEvent(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listener := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, listener, "alice", []string{"openid", "threads.read", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
	appStream, err := w.env.Client.WithToken(tok.AccessToken).Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer appStream.Close()
	bobStream, err := w.bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobStream.Close()

	sharer := w.env.MustPartner(t, "Sharer")
	shareTok := w.env.MustToken(t, sharer, "bob", []string{"openid", "shares.write"}, apptest.Answer{})
	if _, err := w.env.Client.WithToken(shareTok.AccessToken).Share(ctx, client.NewShare{To: "alice", URL: "https://films.example/1", Title: "A film"}); err != nil {
		t.Fatal(err)
	}
	last := apptest.MustSend(t, w.bob, w.aliceBob, "the last word")

	if got := typesUntil(ctx, t, bobStream, last); !strings.Contains(strings.Join(got, " "), client.EventThreadAppsChanged) {
		t.Errorf("bob's stream: %v, want a %s when Sharer came to reach the thread", got, client.EventThreadAppsChanged)
	}
	if got := typesUntil(ctx, t, appStream, last); strings.Contains(strings.Join(got, " "), client.EventThreadAppsChanged) {
		t.Errorf("an app's stream carried %s: %v", client.EventThreadAppsChanged, got)
	}
}

// typesUntil returns the types of the events the stream carries, up to the
// creation of message last.
func typesUntil(ctx context.Context, t *testing.T, s *client.EventStream, last *client.Message) []string {
	t.Helper()
	var types []string
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, ev.Type)
		if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), last.ID) {
			return types
		}
	}
}

// A member who left a group takes their apps with them; a friend who adds
// them back brings back every app whose grant lists the thread, and the
// others are told so, as when the app first came to reach it: a notice in
// the thread and a thread.apps_changed event.
func TestThreadNotices_RejoiningMemberBringsTheirAppsBackNoticed(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	group := apptest.MustThread(t, w.alice, "bob", "carol").ID
	listener := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, listener, "alice", []string{"openid", "threads.read", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group}})
	app := w.env.Client.WithToken(tok.AccessToken)
	svc := w.env.Server.Service
	bobCaller, err := svc.Authenticate(ctx, w.bob.Token())
	if err != nil {
		t.Fatal(err)
	}
	asBob := parley.NewContextWithCaller(ctx, bobCaller)
	appAdded := func() int {
		t.Helper()
		list, err := svc.ThreadNotices(asBob, group)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, nt := range list {
			if nt.Kind == parley.NoticeAppAdded && nt.ClientID == listener.App.ClientID {
				n++
			}
		}
		return n
	}
	if n := appAdded(); n != 1 {
		t.Fatalf("%d notices of Listener after consent, want 1", n)
	}
	if err := w.alice.LeaveThread(ctx, group); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Thread(ctx, group); err == nil {
		t.Fatal("Listener reaches the thread alice left")
	}
	bobStream, err := w.bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobStream.Close()
	if _, err := w.bob.AddParticipant(ctx, group, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Thread(ctx, group); err != nil {
		t.Fatalf("Listener does not reach the thread alice is back in: %v", err)
	}
	if n := appAdded(); n != 2 {
		t.Errorf("%d notices of Listener once alice is back, want 2: the others are not told the app reads the thread again", n)
	}
	last := apptest.MustSend(t, w.bob, group, "the last word")
	types := typesUntil(ctx, t, bobStream, last)
	if !strings.Contains(strings.Join(types, " "), client.EventThreadAppsChanged) {
		t.Errorf("bob's stream: %v, want a %s when alice came back with Listener", types, client.EventThreadAppsChanged)
	}
}

// A member who kept a group closed to apps and leaves it, or deletes their
// account, withdraws the closing: the group is open to apps again, with a
// notice saying so, and those left in it hear of it by a
// thread.apps_changed, as when the member reopens it by hand.
func TestThreadNotices_LeavingReopensTheGroupAndTellsTheOthers(t *testing.T) {
	t.Parallel()
	for name, leave := range map[string]func(t *testing.T, w *grantWorld, group string){
		"Leave": func(t *testing.T, w *grantWorld, group string) {
			if err := w.bob.LeaveThread(context.Background(), group); err != nil {
				t.Fatal(err)
			}
		},
		"DeleteAccount": func(t *testing.T, w *grantWorld, group string) {
			if err := w.bob.DeleteAccount(context.Background(), apptest.Password("bob")); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newGrantWorld(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			group := apptest.MustThread(t, w.alice, "bob", "carol").ID
			if _, err := w.bob.SetThreadAppAccess(ctx, group, false); err != nil {
				t.Fatal(err)
			}
			carol := mustEvents(t, w.carol)
			leave(t, w, group)
			access, err := w.carol.ThreadApps(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			if !access.Allowed {
				t.Fatalf("the group is still closed after its only closer left: %+v", access)
			}
			last := apptest.MustSend(t, w.alice, group, "after bob left")
			var types []string
			for {
				ev, err := carol.Next(ctx)
				if err != nil {
					t.Fatalf("carol's stream: %v (got %v)", err, types)
				}
				types = append(types, ev.Type)
				if ev.Type == client.EventThreadAppsChanged && ev.ThreadID == group {
					return
				}
				if ev.Type == client.EventMessageCreated && ev.ThreadID == group {
					var m client.Message
					if err := json.Unmarshal(ev.Data, &m); err == nil && m.ID == last.ID {
						t.Fatalf("carol got %v and no %s, though the group was reopened to apps", types, client.EventThreadAppsChanged)
					}
				}
			}
		})
	}
}

// A grant widened to read a thread where it could only post is told to the
// thread's participants as it happens: their streams carry a
// thread.apps_changed event.
func TestThreadNotices_WideningTellsTheOthers(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poster := w.env.MustPartner(t, "Poster")
	reach := apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}}
	w.env.MustToken(t, poster, "alice", []string{"openid", "messages.write"}, reach)
	bobStream, err := w.bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobStream.Close()
	w.env.MustToken(t, poster, "alice", []string{"openid", "messages.write", "messages.read"}, reach)
	last := apptest.MustSend(t, w.bob, w.aliceBob, "the last word")
	types := typesUntil(ctx, t, bobStream, last)
	if !strings.Contains(strings.Join(types, " "), client.EventThreadAppsChanged) {
		t.Errorf("bob's stream: %v, want a %s when Poster came to read the thread", types, client.EventThreadAppsChanged)
	}
}
