package httpapi_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

func TestEvents_DeliveredToEveryParticipant(t *testing.T) {
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, bob, eve := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "eve")
	apptest.MustFriends(t, alice, bob)

	bobPhone, bobLaptop, aliceStream, eveStream := mustEvents(t, bob), mustEvents(t, bob), mustEvents(t, alice), mustEvents(t, eve)

	th := apptest.MustThread(t, alice, "bob")
	m := apptest.MustSend(t, alice, th.ID, "hi bob")
	if err := bob.MarkRead(ctx, th.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteMessage(ctx, m.ID); err != nil {
		t.Fatal(err)
	}

	want := []string{parley.EventThreadUpdated, parley.EventMessageCreated, parley.EventReadUpdated, parley.EventMessageDeleted}
	for name, s := range map[string]*client.EventStream{"bob's phone": bobPhone, "bob's laptop": bobLaptop, "alice": aliceStream} {
		for _, typ := range want {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if ev.Type != typ || ev.ThreadID != th.ID {
				t.Fatalf("%s got %s for %s, want %s", name, ev.Type, ev.ThreadID, typ)
			}
			if typ == parley.EventMessageCreated {
				var got parley.Message
				json.Unmarshal(ev.Data, &got)
				if got.ID != m.ID || got.Text != "hi bob" || got.Sender.Username != "alice" {
					t.Fatalf("%s got message %+v", name, got)
				}
			}
		}
	}
	// Eve is in no thread and hears nothing.
	quiet, stop := context.WithTimeout(ctx, 200*time.Millisecond)
	defer stop()
	if ev, err := eveStream.Next(quiet); err == nil {
		t.Fatalf("eve got %+v", ev)
	}
}

func TestEvents_Auth(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	t.Run("QueryToken", func(t *testing.T) {
		url := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/v1/events?access_token=" + alice.Token()
		conn, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		conn.CloseNow()
	})
	t.Run("ErrNotAnUpgrade", func(t *testing.T) {
		_, err := alice.Do(ctx, "GET", "/api/v1/events", nil, nil)
		wantProblem(t, err, http.StatusUpgradeRequired, "upgrade_required")
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := env.Client.Events(ctx)
		if client.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401", err)
		}
	})
}

// TestEvents_SlowClientDisconnected has a client that never reads; the
// server must cut it off rather than hold its events.
func TestEvents_SlowClientDisconnected(t *testing.T) {
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	stalled := mustEvents(t, bob)

	// Each event carries a 15,000-character message that does not compress:
	// enough of them fill the socket buffers, then the subscription's queue.
	noise := make([]byte, 11250)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("2,000 large events sent and the stalled client is still connected")
		}
		rand.Read(noise)
		apptest.MustSend(t, alice, th.ID, base64.StdEncoding.EncodeToString(noise))
		if i%50 == 49 && metricValue(t, env, "parley_realtime_slow_disconnects_total") >= 1 {
			break
		}
	}
	// The stalled client finds its connection closed once it reads what had
	// reached it.
	var err error
	for err == nil {
		_, err = stalled.Next(ctx)
	}
	if status := websocket.CloseStatus(err); status != websocket.StatusTryAgainLater && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("stalled client ended with %v, want close status %d", err, websocket.StatusTryAgainLater)
	}
	// Others are unaffected.
	fresh := mustEvents(t, bob)
	apptest.MustSend(t, alice, th.ID, "still here")
	if ev, err := fresh.Next(ctx); err != nil || ev.Type != parley.EventMessageCreated {
		t.Fatalf("fresh connection got %+v, %v", ev, err)
	}
}

func mustEvents(t *testing.T, c *client.Client) *client.EventStream {
	t.Helper()
	s, err := c.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
