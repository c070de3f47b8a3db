package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// A form to the OAuth provider is bounded as the API's bodies and the
// pages' forms are: one of 2 MB is refused as invalid_request, not
// read whole and answered as if it were an app's (net/http alone would
// read 10 MB of each), at every endpoint that reads a form.
func TestProvider_LargeFormsRefused(t *testing.T) {
	env := apptest.Start(t)
	p := env.MustPartner(t, "bulky")
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {strings.Repeat("x", 1<<20)},
		"client_id": {p.Config.ClientID}, "client_secret": {p.Config.ClientSecret},
		"redirect_uri": {p.Config.RedirectURL}, "code_verifier": {strings.Repeat("v", 43)},
		"token": {strings.Repeat("t", 1<<20)}, "response_type": {"code"}, "scope": {"openid"},
	}.Encode()
	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/oauth2/userinfo"} {
		resp, err := noRedirects.Post(env.URL+path, "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error != "invalid_request" {
			t.Errorf("%s with a form of 2 MB: %d %q; want 400 invalid_request", path, resp.StatusCode, body.Error)
		}
	}
	// The authorization endpoint shows its refusal on Parley's page: the
	// client and the redirect URI are in a form it could not read.
	resp, err := noRedirects.Post(env.URL+"/oauth2/authorize", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("/oauth2/authorize with a form of 2 MB: %d; want 400", resp.StatusCode)
	}
}

// TestServer_BodiesThatDoNotArriveAreCutOff: a request whose body stops
// arriving holds its connection no longer than the body's deadline, on
// the API, on the pages and at the provider alike: the server answers or
// closes the connection, and does not wait for the rest, whatever the
// request says of upgrading. Only a realtime connection, once open, goes
// on past it.
func TestServer_BodiesThatDoNotArriveAreCutOff(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.BodyTimeout = 200 * time.Millisecond })
	host := strings.TrimPrefix(env.URL, "http://")
	for _, path := range []string{"/api/v1/sessions", "/oauth2/login", "/oauth2/token"} {
		for _, upgrade := range []string{"", "Connection: Upgrade\r\nUpgrade: websocket\r\n"} {
			t.Run(path, func(t *testing.T) {
				conn, err := net.Dial("tcp", host)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				// Far longer than the deadline: a server that waits for
				// the body is still waiting then.
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\n%sContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=al", path, host, upgrade)
				if _, err := io.ReadAll(conn); err != nil {
					t.Fatalf("the server still waits for the body (%q): %v", upgrade, err)
				}
			})
		}
	}
	t.Run("ARealtimeConnectionLastsBeyondIt", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
		apptest.MustFriends(t, alice, bob)
		th := apptest.MustThread(t, alice, "bob")
		stream, err := bob.Events(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		time.Sleep(600 * time.Millisecond) // three deadlines
		sent := apptest.MustSend(t, alice, th.ID, "still there?")
		for {
			ev, err := stream.Next(ctx)
			if err != nil {
				t.Fatalf("bob's stream, open past the body deadline: %v", err)
			}
			if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), sent.ID) {
				return
			}
		}
	})
}

// TestServer_AnswersNotReadAreCutOff: a client that stops reading an
// answer holds its connection no longer than the answer's deadline; only
// a member's export, as long as their history, goes on while it makes
// progress.
func TestServer_AnswersNotReadAreCutOff(t *testing.T) {
	// The body's deadline shorter still: a request without a body, or whose
	// body was read, outlives it.
	env := apptest.Start(t, func(c *config.Config) {
		c.AnswerTimeout, c.BodyTimeout, c.RateLimitMember = 300*time.Millisecond, 200*time.Millisecond, 0
	})
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	// 120 messages of 64 kB: more than the kernel's buffers of the
	// server's socket and the client's hold (4 MB and the client's 8 kB).
	for i := range 120 {
		apptest.MustSend(t, alice, th.ID, fmt.Sprint(i)+strings.Repeat("🦜", 15990))
	}
	// Each answer is read only after a pause far past the deadline.
	slowRead := func(path string) ([]byte, error) {
		return apptest.ReadSlowly(t, env.URL, path, "Authorization: Bearer "+alice.Token(), 1500*time.Millisecond)
	}
	if _, err := slowRead("/api/v1/threads/" + th.ID + "/messages?limit=120"); err == nil {
		t.Error("a page of 7.7 MB not read for 1.5 s was written whole, past the answer's deadline of 0.3 s")
	}
	if export, err := slowRead("/api/v1/me/export"); err != nil || !json.Valid(export) {
		t.Errorf("an export not read for 1.5 s, then read: %d bytes, %v; want it whole, as it makes progress", len(export), err)
	}
}
