package httpapi_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/httpapi"
)

func TestEvents_DeliveredToEveryParticipant(t *testing.T) {
	t.Parallel()
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

	want := []string{client.EventThreadUpdated, client.EventMessageCreated, client.EventReadUpdated, client.EventMessageDeleted}
	for name, s := range map[string]*client.EventStream{"bob's phone": bobPhone, "bob's laptop": bobLaptop, "alice": aliceStream} {
		for _, typ := range want {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if ev.Type != typ || ev.ThreadID != th.ID {
				t.Fatalf("%s got %s for %s, want %s", name, ev.Type, ev.ThreadID, typ)
			}
			if typ == client.EventMessageCreated {
				var got client.Message
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
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	eventsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/v1/events"
	t.Run("ErrTokenInURL", func(t *testing.T) {
		// A token in a URL ends up in proxies' logs: it is not taken.
		_, resp, err := websocket.Dial(ctx, eventsURL+"?access_token="+alice.Token(), &websocket.DialOptions{HTTPClient: env.HTTP})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with ?access_token=: %v, %v; want 401", resp, err)
		}
	})
	t.Run("Ticket", func(t *testing.T) {
		tk, err := alice.EventTicket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Until(tk.ExpiresAt); d <= 25*time.Second || d > 30*time.Second {
			t.Errorf("the ticket lasts %v, want 30s", d)
		}
		s, err := env.Client.EventsWithTicket(ctx, tk.Ticket)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		// Single use.
		if _, err := env.Client.EventsWithTicket(ctx, tk.Ticket); client.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("a ticket used twice: %v, want 401", err)
		}
	})
	t.Run("ErrTicketExpired", func(t *testing.T) {
		tk, err := alice.EventTicket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(parley.EventTicketTTL + time.Second)
		if _, err := env.Client.EventsWithTicket(ctx, tk.Ticket); client.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("an expired ticket: %v, want 401", err)
		}
	})
	t.Run("ErrTicketOfSignedOutSession", func(t *testing.T) {
		bob := env.MustMember(t, "bob")
		tk, err := bob.EventTicket(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := bob.SignOut(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.EventsWithTicket(ctx, tk.Ticket); client.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("the ticket of a signed-out session: %v, want 401", err)
		}
	})
	t.Run("ErrNotAnUpgrade", func(t *testing.T) {
		_, err := alice.Do(ctx, "GET", "/api/v1/events", nil, nil)
		wantProblem(t, err, http.StatusUpgradeRequired, "upgrade_required")
		// Upgrade without Connection: Upgrade is no upgrade either, and
		// the answer is a problem all the same.
		_, err = alice.Do(ctx, "GET", "/api/v1/events", nil, nil, "Upgrade", "websocket")
		wantProblem(t, err, http.StatusUpgradeRequired, "upgrade_required")
	})
	t.Run("ErrBadHandshake", func(t *testing.T) {
		_, err := alice.Do(ctx, "GET", "/api/v1/events", nil, nil,
			"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "short")
		wantProblem(t, err, http.StatusBadRequest, "invalid")
	})
	t.Run("SessionCookieFromOwnPages", func(t *testing.T) {
		// The messenger's pages open the stream with the session cookie,
		// which the browser sends whatever page connects: it is taken only
		// with the Origin of the server's own pages.
		dial := func(origin string) (*http.Response, error) {
			h := http.Header{"Cookie": {httpapi.SessionCookie + "=" + alice.Token()}}
			if origin != "" {
				h.Set("Origin", origin)
			}
			conn, resp, err := websocket.Dial(ctx, eventsURL, &websocket.DialOptions{HTTPClient: env.HTTP, HTTPHeader: h})
			if err == nil {
				conn.CloseNow()
			}
			return resp, err
		}
		if _, err := dial(env.URL); err != nil {
			t.Fatalf("the cookie from the server's own origin: %v", err)
		}
		for _, origin := range []string{"", "https://evil.example", "http://localhost.evil.example", env.URL + ".evil.example", strings.Replace(env.URL, "http:", "https:", 1)} {
			if resp, err := dial(origin); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Errorf("the cookie with Origin %q: %v, %v; want 403", origin, resp, err)
			}
		}
		h := http.Header{"Cookie": {httpapi.SessionCookie + "=not-a-session"}, "Origin": {env.URL}}
		if _, resp, err := websocket.Dial(ctx, eventsURL, &websocket.DialOptions{HTTPClient: env.HTTP, HTTPHeader: h}); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("a made-up session cookie: %v, %v; want 401", resp, err)
		}
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := env.Client.Events(ctx)
		if client.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("err = %v, want 401", err)
		}
	})
}

// TestEvents_AppTicketKeepsItsGrant: a ticket an app's token made opens the
// app's stream, held to the app's grant like the token itself.
func TestEvents_AppTicketKeepsItsGrant(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
	tk, err := w.env.Client.WithToken(tok.AccessToken).EventTicket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := w.env.Client.EventsWithTicket(ctx, tk.Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	apptest.MustSend(t, w.alice, w.aliceCarol, "not for the app")
	want := apptest.MustSend(t, w.bob, w.aliceBob, "for the app")
	ev, err := stream.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != client.EventMessageCreated || ev.ThreadID != w.aliceBob || !strings.Contains(string(ev.Data), want.ID) {
		t.Fatalf("the app got %s in %s: %s", ev.Type, ev.ThreadID, ev.Data)
	}
}

// TestEvents_AppStreamEndsWhenAccessEnds: revoking the grant, its expiry
// and closing a thread it reached each end the app's stream within a
// second or so, with no event or ping to carry the news: with 1008 when
// the grant ended, and with 4000, to be opened again, when it lasts but
// reaches less.
func TestEvents_AppStreamEndsWhenAccessEnds(t *testing.T) {
	t.Parallel()
	for name, end := range map[string]func(t *testing.T, w *grantWorld){
		"GrantRevoked": func(t *testing.T, w *grantWorld) {
			apps, err := w.alice.ConnectedApps(context.Background())
			if err != nil || len(apps) != 1 {
				t.Fatalf("connected apps: %v, %v", apps, err)
			}
			if err := w.alice.RevokeGrant(context.Background(), apps[0].ID); err != nil {
				t.Fatal(err)
			}
		},
		"GrantExpired": func(t *testing.T, w *grantWorld) {
			w.env.Clock.Advance(30*24*time.Hour + time.Second) // the grant was for 30 days
			if n, err := w.env.Server.Service.EndExpiredGrants(context.Background()); err != nil || n != 1 {
				t.Fatalf("ended %d grants, %v", n, err)
			}
		},
		"ThreadClosed": func(t *testing.T, w *grantWorld) {
			if _, err := w.bob.SetThreadAppAccess(context.Background(), w.aliceBob, false); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			w := newGrantWorld(t)
			partner := w.env.MustPartner(t, "Listener")
			tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
				apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}, Expiry: "30d"})
			stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
			member := mustEvents(t, w.alice)
			end(t, w)
			if name == "ThreadClosed" {
				mustEnd(t, stream, 2*time.Second, client.StatusOpenAgain)
			} else {
				mustEnd(t, stream, 2*time.Second, websocket.StatusPolicyViolation)
			}
			// The member's own stream goes on.
			apptest.MustSend(t, w.bob, w.aliceBob, "still here")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for {
				ev, err := member.Next(ctx)
				if err != nil {
					t.Fatalf("alice's own stream: %v", err)
				}
				if ev.Type == client.EventMessageCreated {
					break
				}
			}
		})
	}
}

// TestEvents_AppStreamEndsWhenTokenExpires: the stream of an app whose
// access token runs out ends then, with no event to notice it by.
func TestEvents_AppStreamEndsWhenTokenExpires(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	partner := w.env.MustPartner(t, "Listener")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	w.env.Clock.Advance(time.Hour - time.Second) // the token, good for an hour, has a second left
	stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
	mustEnd(t, stream, 3*time.Second, websocket.StatusPolicyViolation)
}

// mustEnd fails the test unless the server closes the stream within d,
// with code.
func mustEnd(t *testing.T, s *client.EventStream, d time.Duration, code websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		ev, err := s.Next(ctx)
		if err == nil {
			t.Logf("event before the end: %s", ev.Type)
			continue
		}
		if ctx.Err() != nil {
			t.Fatalf("the stream is still open after %v", d)
		}
		if status := websocket.CloseStatus(err); status != code {
			t.Fatalf("the stream ended with %v, want close status %d", err, code)
		}
		return
	}
}

// TestEvents_SlowClientDisconnected has a client that never reads (a
// WebSocket of its own: the Go client reads ahead, and says itself when its
// reader falls behind); the server must cut it off rather than hold its
// events.
func TestEvents_SlowClientDisconnected(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	stalled, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(env.URL, "http")+"/api/v1/events",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + bob.Token()}}})
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.CloseNow()
	stalled.SetReadLimit(1 << 20)

	// Each event carries a 15,000-character message that does not compress:
	// enough of them fill the socket buffers, then the subscription's queue.
	noise := make([]byte, 11250)
	for i := 0; ; i++ {
		if i == 2000 {
			t.Fatal("2,000 large events sent and the stalled client is still connected")
		}
		rand.Read(noise)
		apptest.MustSend(t, alice, th.ID, base64.StdEncoding.EncodeToString(noise))
		if i%50 == 49 && env.Metric(t, "parley_realtime_slow_disconnects_total") >= 1 {
			break
		}
	}
	// The stalled client finds its connection closed once it reads what had
	// reached it.
	for err == nil {
		_, _, err = stalled.Read(ctx)
	}
	if status := websocket.CloseStatus(err); status != websocket.StatusTryAgainLater && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("stalled client ended with %v, want close status %d", err, websocket.StatusTryAgainLater)
	}
	// Others are unaffected.
	fresh := mustEvents(t, bob)
	apptest.MustSend(t, alice, th.ID, "still here")
	if ev, err := fresh.Next(ctx); err != nil || ev.Type != client.EventMessageCreated {
		t.Fatalf("fresh connection got %+v, %v", ev, err)
	}
}

// TestEvents_FramesSentWithTheHandshakeAreRead: what a client sends right
// behind its handshake, before the answer, may arrive with it; the stream
// reads it all the same. Here it is a close frame, which the server
// answers with its own.
func TestEvents_FramesSentWithTheHandshakeAreRead(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	handshake := "GET /api/v1/events HTTP/1.1\r\nHost: " + strings.TrimPrefix(env.URL, "http://") +
		"\r\nAuthorization: Bearer " + alice.Token() +
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	// A masked close frame, status 1000, in the same write.
	mask := [4]byte{1, 2, 3, 4}
	payload := []byte{0x03, 0xe8}
	frame := []byte{0x88, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
	for i, b := range payload {
		frame = append(frame, b^mask[i%4])
	}
	if _, err := conn.Write(append([]byte(handshake), frame...)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake answered %v, %v; want 101", resp, err)
	}
	header, err := r.ReadByte()
	if err != nil {
		t.Fatalf("no frame from the server after the client's close: %v", err)
	}
	if opcode := header & 0x0f; opcode != 0x8 {
		t.Fatalf("the server's first frame has opcode %#x, want a close (0x8)", opcode)
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

// nextData returns the data of the stream's next event of type typ,
// skipping events of other types.
func nextData[T any](t *testing.T, ctx context.Context, s *client.EventStream, typ string) T {
	t.Helper()
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != typ {
			continue
		}
		var data T
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		return data
	}
}

// TestEvents_ThreadUpdatedForThreadsRead: an app with threads.read learns
// that a thread changed; who is in it only with participants.read too.
func TestEvents_ThreadUpdatedForThreadsRead(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	for name, scopes := range map[string][]string{
		"WithoutParticipants": {"openid", "messages.read", "threads.read"},
		"WithParticipants":    {"openid", "messages.read", "threads.read", "participants.read"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			group, err := w.alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: name, Kind: client.ThreadGroup})
			if err != nil {
				t.Fatal(err)
			}
			partner := w.env.MustPartner(t, name)
			tok := w.env.MustToken(t, partner, "alice", scopes,
				apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group.ID}})
			stream := mustEvents(t, w.env.Client.WithToken(tok.AccessToken))
			if _, err := w.alice.AddParticipant(ctx, group.ID, "carol"); err != nil {
				t.Fatal(err)
			}
			ev, err := stream.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var change client.ThreadChange
			if err := json.Unmarshal(ev.Data, &change); err != nil || ev.Type != client.EventThreadUpdated || change.Thread.ID != group.ID {
				t.Fatalf("the app got %s: %s (%v)", ev.Type, ev.Data, err)
			}
			want, logged := 0, "threads.read"
			if slices.Contains(scopes, "participants.read") {
				want, logged = 3, "participants.read"
			}
			if change.Participants == nil || len(change.Participants) != want {
				t.Errorf("the app sees participants %+v, want %d", change.Participants, want)
			}
			// What the app learned is in the access log as what it was.
			if e := accessLog(t, w.alice, "?limit=1").Entries[0]; e.Action != logged || e.ThreadID != group.ID {
				t.Errorf("alice's newest entry: %+v, want %s of the thread", e, logged)
			}
		})
	}
}

// TestEvents_RefusalIsAProblem: a refused realtime connection is the
// server's problem, as for any other call: its type, detail and challenge,
// so that a client branches on the type as the package says.
func TestEvents_RefusalIsAProblem(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, open := range map[string]func() (*client.EventStream, error){
		"ErrBadToken":  func() (*client.EventStream, error) { return env.Client.WithToken("not-a-token").Events(ctx) },
		"ErrBadTicket": func() (*client.EventStream, error) { return env.Client.EventsWithTicket(ctx, "not-a-ticket") },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := open()
			wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
			if e := err.(*client.Error); !strings.Contains(e.WWWAuthenticate, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q", e.WWWAuthenticate)
			}
		})
	}
}

// TestEvents_FailedTicketsPerAddress: taking a ticket is a write, and a
// request that offers one carries no other credential, so the tickets of a
// client address that fail (unknown, used, expired) count against it: 60
// at once, then one a second. Past them, every ticket from the address is
// refused before it is looked for, a good one too, which stays good for
// its member elsewhere.
func TestEvents_FailedTicketsPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	eventsURL := "ws" + strings.TrimPrefix(env.URL, "http") + "/api/v1/events"
	dial := func(ticket, addr string) (*websocket.Conn, int) {
		t.Helper()
		conn, resp, err := websocket.Dial(ctx, eventsURL+"?ticket="+ticket, &websocket.DialOptions{
			HTTPClient: env.HTTP, HTTPHeader: http.Header{"X-Forwarded-For": {addr}}})
		if err == nil {
			return conn, http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return nil, resp.StatusCode
	}
	const attacker, elsewhere = "203.0.113.7", "198.51.100.2"
	for range 60 {
		if _, status := dial(parley.RandomToken(), attacker); status != http.StatusUnauthorized {
			t.Fatalf("an unknown ticket: %d, want 401", status)
		}
	}
	tk, err := alice.EventTicket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, ticket := range []string{parley.RandomToken(), tk.Ticket} {
		if _, status := dial(ticket, attacker); status != http.StatusTooManyRequests {
			t.Fatalf("a ticket past the address's failures: %d, want 429", status)
		}
	}
	conn, status := dial(tk.Ticket, elsewhere)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("alice's ticket from her own address: %d, want it to open her stream", status)
	}
	conn.CloseNow()
	if got := env.Metric(t, `parley_rate_limited_total{policy="failed event tickets"}`); got != 2 {
		t.Errorf(`parley_rate_limited_total{policy="failed event tickets"} = %v, want 2`, got)
	}
	env.Clock.Advance(time.Second) // one failure's worth
	if _, status := dial(parley.RandomToken(), attacker); status != http.StatusUnauthorized {
		t.Fatalf("an unknown ticket a second later: %d, want 401", status)
	}
}

// TestEvents_TicketKeptOutOfErrors: a ticket is a credential that still
// works when its connection failed to open, so the error, which callers
// log, does not carry it.
func TestEvents_TicketKeptOutOfErrors(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk, err := env.MustMember(t, "alice").EventTicket(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.Stop()
	_, err = env.Client.EventsWithTicket(ctx, tk.Ticket)
	if err == nil || strings.Contains(err.Error(), tk.Ticket) {
		t.Fatalf("err = %v, want one without the ticket", err)
	}
}

// eventsURL is the realtime stream's WebSocket URL on env.
func eventsURL(env *apptest.Env) string {
	return "ws" + strings.TrimPrefix(env.URL, "http") + "/api/v1/events"
}

// dialEvents opens the realtime stream on env with the bearer token, as a
// WebSocket of its own, closed when the test ends.
func dialEvents(ctx context.Context, t *testing.T, env *apptest.Env, token string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, eventsURL(env), &websocket.DialOptions{HTTPClient: env.HTTP,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// What a client sends on its stream is ignored, as the API says: a
// browser's heartbeat keeps the stream, which goes on carrying events.
func TestEvents_ClientMessagesAreIgnored(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice")
	conn := dialEvents(ctx, t, env, alice.Token())
	for range 3 {
		if err := conn.Write(ctx, websocket.MessageText, []byte("ping")); err != nil {
			t.Fatal(err)
		}
	}
	// Time for the server to read them, before anything is sent.
	time.Sleep(200 * time.Millisecond)
	m := apptest.MustSend(t, bob, th.ID, "after alice's heartbeats")
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("alice's stream ended after she sent text messages: close status %d: %v", websocket.CloseStatus(err), err)
		}
		var ev struct {
			Type string
			Data struct{ ID string }
		}
		json.Unmarshal(b, &ev)
		if ev.Type == client.EventMessageCreated && ev.Data.ID == m.ID {
			return
		}
	}
}

// A stream whose connection is gone, closed by its app or by the server
// over a message too large for it, is let go of at once: it is no longer
// counted among the connections open, and what is sent afterwards is not
// logged in the member's access log as read by the app through it.
func TestEvents_AppStreamGoneIsGoneAtOnce(t *testing.T) {
	t.Parallel()
	w := newGrantWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	partner := w.env.MustPartner(t, "Films")
	tok := w.env.MustToken(t, partner, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{w.aliceBob}})
	for name, leave := range map[string]func(conn *websocket.Conn){
		"ClosedByTheApp": func(conn *websocket.Conn) { conn.Close(websocket.StatusNormalClosure, "") },
		"ClosedOverATooLargeMessage": func(conn *websocket.Conn) {
			conn.Write(ctx, websocket.MessageText, make([]byte, 64<<10))
			if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Errorf("a message of 64 KiB: %v, want the server's close with 1009", err)
			}
			conn.CloseNow()
		},
	} {
		conn, _, err := websocket.Dial(ctx, eventsURL(w.env), &websocket.DialOptions{HTTPClient: w.env.HTTP,
			HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.AccessToken}}})
		if err != nil {
			t.Fatal(err)
		}
		leave(conn)
		for deadline := time.Now().Add(5 * time.Second); w.env.Metric(t, "parley_websockets_open") > 0; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the stream is still counted open 5 s after its connection is gone", name)
			}
		}
		sent := apptest.MustSend(t, w.bob, w.aliceBob, "after the app's stream is gone: "+name)
		time.Sleep(500 * time.Millisecond)
		for _, e := range accessLog(t, w.alice, "?limit=100").Entries {
			if e.ClientID == partner.App.ClientID && slices.Contains(e.MessageIDs, sent.ID) {
				t.Errorf("%s: alice's log says %s read %s, sent after its only stream was gone", name, partner.App.Name, sent.ID)
			}
		}
	}
}

// TestEvents_NodeThatMissedEventsClosesWith1013: the API says that every
// client of a server that missed events itself is disconnected "with
// close code 1013 (try again later) ... with a reason that says so", to
// reconnect and catch up. Here the NATS stream the node follows is
// deleted and made anew, which the node finds out and ends its
// subscriptions as dropped; bob's client reads all the while, and must be
// told 1013 with that reason, not have its connection cut without a close
// frame (1006), which says nothing of what happened.
func TestEvents_NodeThatMissedEventsClosesWith1013(t *testing.T) {
	srv := apptest.StartNATSServer(t)
	env := apptest.Start(t, func(c *config.Config) { c.NATS = srv.URL() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	conn := dialEvents(ctx, t, env, bob.Token())
	ended := make(chan error, 1)
	go func() {
		for {
			if _, _, err := conn.Read(ctx); err != nil {
				ended <- err
				return
			}
		}
	}()

	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, bus.DefaultStream); err != nil {
		t.Fatal(err)
	}
	// The next event makes the stream again; the node finds it new.
	apptest.MustSend(t, alice, th.ID, "after the stream was lost")
	select {
	case err := <-ended:
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusTryAgainLater {
			t.Fatalf("bob's stream, on a node that missed events, ended with %v (close status %d); want 1013 with a reason saying events were missed", err, websocket.CloseStatus(err))
		}
		if !strings.Contains(ce.Reason, "missed") {
			t.Errorf("closed with 1013 %q; want a reason saying events were missed", ce.Reason)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bob's stream is still open 20 seconds after the node's stream was lost")
	}
}

// TestEvents_ShutdownClosesWithGoingAway: the API says "The server closes
// with 1001 (going away) when it shuts down". Every stream open when the
// server shuts down gracefully is told so, and none of them is told it was
// too slow (1013), which would send its client catching up and count it
// among the slow disconnects.
func TestEvents_ShutdownClosesWithGoingAway(t *testing.T) {
	t.Parallel()
	// The server's close of its streams races with the bus's end of
	// their subscriptions; a few servers show it.
	for range 5 {
		if wrong := shutDownWithStreams(t, 50); len(wrong) > 0 {
			t.Fatalf("of 50 streams open at a shutdown, these were not closed with 1001 going away: %v", wrong)
		}
	}
}

// shutDownWithStreams starts a server, opens streams streams on it, shuts
// it down, and counts how the streams that did not end with 1001 ended.
func shutDownWithStreams(t *testing.T, streams int) map[string]int {
	env := apptest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice := env.MustMember(t, "alice")
	conns := make([]*websocket.Conn, streams)
	for i := range conns {
		conns[i] = dialEvents(ctx, t, env, alice.Token())
	}
	codes := make([]websocket.StatusCode, streams)
	reasons := make([]string, streams)
	var wg sync.WaitGroup
	for i, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := conn.Read(ctx)
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				codes[i], reasons[i] = ce.Code, ce.Reason
			} else {
				codes[i], reasons[i] = -1, err.Error()
			}
		}()
	}
	env.Stop()
	wg.Wait()
	wrong := map[string]int{}
	for i, code := range codes {
		if code != websocket.StatusGoingAway {
			wrong[code.String()+" "+reasons[i]]++
		}
	}
	return wrong
}
