package httpapi_test

import (
	"context"
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

	seen := func(s *client.EventStream) []string {
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
	if got := seen(bobStream); !strings.Contains(strings.Join(got, " "), client.EventThreadAppsChanged) {
		t.Errorf("bob's stream: %v, want a %s when Sharer came to reach the thread", got, client.EventThreadAppsChanged)
	}
	if got := seen(appStream); strings.Contains(strings.Join(got, " "), client.EventThreadAppsChanged) {
		t.Errorf("an app's stream carried %s: %v", client.EventThreadAppsChanged, got)
	}
}
