package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// One member's own sessions hold at most service.MaxStreams realtime
// streams open on a server: the next is refused 429 with a problem, before
// it upgrades, and a stream closed makes room again. An app's streams for
// the member, and other members' streams, are counted apart.
func TestEvents_StreamsPerMemberBounded(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	eventsURL := "ws" + env.URL[len("http"):] + "/api/v1/events"
	// dial opens a stream with token, and returns the refusal's status and
	// problem type when there is one.
	dial := func(token string) (*websocket.Conn, int, string) {
		h := http.Header{"Authorization": {"Bearer " + token}}
		conn, resp, err := websocket.Dial(ctx, eventsURL, &websocket.DialOptions{HTTPClient: env.HTTP, HTTPHeader: h})
		if err == nil {
			t.Cleanup(func() { conn.CloseNow() })
			return conn, http.StatusSwitchingProtocols, ""
		}
		if resp == nil {
			t.Fatal(err)
		}
		var p struct{ Type string }
		json.NewDecoder(resp.Body).Decode(&p)
		return nil, resp.StatusCode, p.Type
	}

	// Two sessions of alice's share her allowance.
	tokens := []string{alice.Token(), signInToken(t, env, "alice")}
	var open []*websocket.Conn
	for i := range service.MaxStreams {
		token := tokens[i%2]
		conn, status, _ := dial(token)
		if conn == nil {
			t.Fatalf("alice's stream %d: %d", i+1, status)
		}
		open = append(open, conn)
	}
	if _, status, typ := dial(tokens[1]); status != http.StatusTooManyRequests || typ != "urn:parley:problem:throttled" {
		t.Fatalf("alice's stream %d: %d %q; want 429 throttled", service.MaxStreams+1, status, typ)
	}
	if conn, status, _ := dial(bob.Token()); conn == nil {
		t.Errorf("bob's first stream: %d", status)
	}
	partner := env.MustPartner(t, "Listener")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	if conn, status, _ := dial(tok.AccessToken); conn == nil {
		t.Errorf("an app's stream for alice: %d", status)
	}

	// A stream closed makes room, once the server has seen it close.
	open[0].Close(websocket.StatusNormalClosure, "")
	for {
		conn, status, _ := dial(alice.Token())
		if conn != nil {
			break
		}
		if status != http.StatusTooManyRequests || ctx.Err() != nil {
			t.Fatalf("alice's stream after closing one: %d", status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// All apps together hold at most service.MaxAppStreams streams for one
// member, whatever the number of apps: a member cannot multiply their
// allowance by connecting apps of their own making. The member's own
// allowance is apart.
func TestEvents_AppStreamsPerMemberBounded(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := env.MustMember(t, "alice")
	eventsURL := "ws" + env.URL[len("http"):] + "/api/v1/events"
	dial := func(token string) int {
		h := http.Header{"Authorization": {"Bearer " + token}}
		conn, resp, err := websocket.Dial(ctx, eventsURL, &websocket.DialOptions{HTTPClient: env.HTTP, HTTPHeader: h})
		if err == nil {
			t.Cleanup(func() { conn.CloseNow() })
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var tokens []string
	for _, name := range []string{"Films", "Music", "Books"} {
		partner := env.MustPartnerOf(t, name, "alice")
		tokens = append(tokens, env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{}).AccessToken)
	}
	for i := range service.MaxAppStreams {
		if status := dial(tokens[i%2]); status != http.StatusSwitchingProtocols {
			t.Fatalf("app stream %d for alice: %d", i+1, status)
		}
	}
	if status := dial(tokens[2]); status != http.StatusTooManyRequests {
		t.Errorf("a third app's first stream, with %d open for alice by two others: %d, want 429", service.MaxAppStreams, status)
	}
	if status := dial(alice.Token()); status != http.StatusSwitchingProtocols {
		t.Errorf("alice's own stream: %d", status)
	}
}

// signInToken signs the member in once more and returns the new session's
// token.
func signInToken(t *testing.T, env *apptest.Env, username string) string {
	t.Helper()
	s, err := env.Client.SignIn(context.Background(), username, apptest.Password(username))
	if err != nil {
		t.Fatal(err)
	}
	return s.Token
}
