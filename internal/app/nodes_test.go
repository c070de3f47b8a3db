package app_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// TestNodes_RealtimeCrossesNodes runs two nodes on one database and one
// NATS server: a member connected to node B receives what is sent through
// node A, and revoking a grant on node A ends the app's stream on node B
// at once, by the grants.ended event that NATS carries (the close reason
// is the event's, not what B's own once-a-second check would say).
func TestNodes_RealtimeCrossesNodes(t *testing.T) {
	n := startTwoNodes(t)
	b, alice, bob, th, tok := n.b, n.alice, n.bob, n.thread, n.token(t, apptest.Answer{})
	ctx := context.Background()

	// Credentials made on A work on B.
	own, err := b.WithToken(alice.Token()).Events(ctx)
	if err != nil {
		t.Fatalf("alice's stream on B: %v", err)
	}
	defer own.Close()
	appStream, err := b.WithToken(tok).Events(ctx)
	if err != nil {
		t.Fatalf("the app's stream on B: %v", err)
	}
	defer appStream.Close()

	sent := apptest.MustSend(t, bob, th.ID, "hello across nodes")
	next, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		ev, err := own.Next(next)
		if err != nil {
			t.Fatalf("alice on B did not get the message sent through A: %v", err)
		}
		if ev.Type == client.EventMessageCreated {
			if ev.ThreadID != th.ID || !strings.Contains(string(ev.Data), sent.ID) {
				t.Fatalf("alice got %s about %s, want message %s", ev.Data, ev.ThreadID, sent.ID)
			}
			break
		}
	}

	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("connected apps: %v, %v", apps, err)
	}
	if err := alice.RevokeGrant(ctx, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	end, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		_, err := appStream.Next(end)
		if err == nil {
			continue
		}
		// B ends the stream on the revocation's event from A, or on its own
		// check of the app's token, whichever comes first: either way with
		// 1008 and a reason that says the access was revoked.
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !slices.Contains([]string{
			"the member revoked the app's access", "the member's grant to the app was revoked",
		}, ce.Reason) {
			t.Fatalf("the app's stream on B ended with %v; want 1008 saying the access was revoked", err)
		}
		break
	}
}

// twoNodes is two nodes, a and b, on one database and one NATS server,
// and on them alice and bob, friends with a thread of their own, and an
// app, partner.
type twoNodes struct {
	a          *apptest.Env
	b          *client.Client
	alice, bob *client.Client
	thread     *client.ThreadSummary
	partner    *apptest.Partner
}

func startTwoNodes(t *testing.T) twoNodes {
	t.Helper()
	url := apptest.NATS(t)
	n := twoNodes{a: apptest.Start(t, func(c *config.Config) { c.NATS = url })}
	n.b = startBeside(t, n.a)
	n.alice, n.bob = n.a.MustMember(t, "alice"), n.a.MustMember(t, "bob")
	apptest.MustFriends(t, n.alice, n.bob)
	n.thread = apptest.MustThread(t, n.alice, "bob")
	n.partner = n.a.MustPartner(t, "Listener")
	return n
}

// token is the app's access token to alice's messages, with her answer.
func (n twoNodes) token(t *testing.T, answer apptest.Answer) string {
	t.Helper()
	return n.a.MustToken(t, n.partner, "alice", []string{"openid", "messages.read"}, answer).AccessToken
}

// TestNodes_AppStreamsLogAnEventOnce: an app holding a stream for a member
// on each of two nodes receives a message on both, and the member's access
// log holds one entry of it, as when both streams are on one node, not one
// entry for each node.
func TestNodes_AppStreamsLogAnEventOnce(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("several nodes share a PostgreSQL database: run with PARLEY_TEST_DATABASE=postgres")
	}
	n := startTwoNodes(t)
	tok := n.token(t, apptest.Answer{ThreadScope: "selected", Threads: []string{n.thread.ID}})
	ctx := context.Background()
	var streams []*client.EventStream
	for _, node := range []*client.Client{n.a.Client, n.b} {
		s, err := node.WithToken(tok).Events(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		streams = append(streams, s)
	}

	sent := apptest.MustSend(t, n.bob, n.thread.ID, "one read on two nodes")
	for i, s := range streams {
		next, cancel := context.WithTimeout(ctx, 5*time.Second)
		for {
			ev, err := s.Next(next)
			if err != nil {
				t.Fatalf("the app's stream on node %d did not get the message: %v", i+1, err)
			}
			if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), sent.ID) {
				break
			}
		}
		cancel()
	}
	export, err := n.alice.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var logged int
	for _, e := range export.AccessLog {
		if slices.Contains(e.MessageIDs, sent.ID) {
			logged++
		}
	}
	if logged != 1 {
		t.Fatalf("alice's log holds %d entries of the message's delivery, want 1", logged)
	}
}

// TestNodes_SignOutEndsStreamsAcrossNATS: a member who signs out through
// node A has the stream they opened on node B closed at once, by the
// sessions.ended event NATS carries, before a message sent after the
// sign-out could reach it (B's own sweep would come later).
func TestNodes_SignOutEndsStreamsAcrossNATS(t *testing.T) {
	url := apptest.NATS(t)
	a := apptest.Start(t, func(c *config.Config) { c.NATS = url })
	b := startBeside(t, a)
	ctx := context.Background()
	alice, bob := a.MustMember(t, "alice"), a.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice")
	stream, err := b.WithToken(alice.Token()).Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if err := alice.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	after := apptest.MustSend(t, bob, th.ID, "after alice signed out")
	end, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		ev, err := stream.Next(end)
		if err == nil {
			if strings.Contains(string(ev.Data), after.ID) {
				t.Fatal("alice's stream on B received a message sent after she signed out")
			}
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != "session ended: sign in again" {
			t.Fatalf("alice's stream on B ended with %v; want 1008, session ended", err)
		}
		return
	}
}

// startBeside starts a second node on the data directory, or database,
// of a's server, with the same settings, telling the time by a's clock,
// which a test may move, and returns an anonymous client of it.
func startBeside(tb testing.TB, a *apptest.Env) *client.Client {
	tb.Helper()
	cfg := a.Server.Config
	cfg.Addr, cfg.PublicURL = "127.0.0.1:0", ""
	srv, err := app.OpenServerBeside(context.Background(), cfg, slog.New(slog.DiscardHandler), a.Clock)
	if err != nil {
		tb.Fatal(err)
	}
	apptest.Serve(tb, srv)
	return client.New(srv.URL())
}

// TestNodes_NoStartWithoutNATS: a node told to use NATS does not start
// while NATS does not answer, rather than serve without the other nodes'
// events, and leaves its data directory free.
func TestNodes_NoStartWithoutNATS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "nats://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := config.Default()
	cfg.Addr, cfg.DataDir, cfg.NATS = "127.0.0.1:0", t.TempDir(), deadURL
	if srv, err := app.OpenServer(context.Background(), cfg, slog.New(slog.DiscardHandler), parley.WallClock{}); err == nil {
		srv.Close()
		t.Fatal("a node started with no NATS to reach")
	} else if !strings.Contains(err.Error(), "NATS") {
		t.Fatalf("the error does not say what is wrong: %v", err)
	}
	cfg.NATS = ""
	srv, err := app.OpenServer(context.Background(), cfg, slog.New(slog.DiscardHandler), parley.WallClock{})
	if err != nil {
		t.Fatalf("the data directory is still held after the failed start: %v", err)
	}
	srv.Close()
}
