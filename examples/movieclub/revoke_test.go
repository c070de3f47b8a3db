package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// A grant.revoked delivery about a grant that has already ended is about
// that grant, not the member: a member who disconnected movieclub and
// connected it again while the delivery was retried stays signed in, with
// what movieclub shows them, when the late delivery arrives.
func TestMovieClub_LateRevocationKeepsTheNewGrant(t *testing.T) {
	c := startClub(t)
	r := c.recommend(t)

	// Alice disconnects movieclub while its webhooks fail for a moment.
	c.down.Store(true)
	disconnect(t, r.alice)
	c.waitRefused(t, "grant.revoked")
	// She connects it again: a new grant, a new token.
	c.signIn(t, r.b, "alice")

	// Parley retries the old grant's grant.revoked.
	c.retried(t, "grant.revoked")
	if home := c.home(t, r.b); strings.Contains(home, "Sign in with Parley") || !strings.Contains(home, "Metropolis (1927)") {
		t.Errorf("the late revocation of alice's old grant signed her out of her new one:\n%s", home)
	}
}

// A member whose access token ran out (movieclub asks for no refresh
// token: an hour after signing in) is sent to sign in again, as the guide
// says, and can then recommend; they are not told that Parley could not
// be reached, again at every try.
func TestMovieClub_ExpiredTokenSignsInAgain(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.signInAlice(t)
	b, home := r.b, r.home

	// An hour on, at Parley and at movieclub.
	c.parley.Clock.Advance(time.Hour + time.Minute)
	mc := c.app
	mc.mem.mu.Lock()
	for _, m := range mc.mem.members {
		m.api = client.New(c.parley.URL).WithTokenSource(mc.oauth.TokenSource(ctx, &oauth2.Token{
			AccessToken: m.accessToken, TokenType: "Bearer", Expiry: time.Now().Add(-time.Minute)}))
		m.expiry = time.Now().Add(-time.Minute)
	}
	mc.mem.mu.Unlock()

	p := b.Submit(t, home, url.Values{"film": {"metropolis"}, "friend": {"bob"}})
	if strings.Contains(p.Body, "could not be reached") || p.URL.String() != c.url+"/" || !strings.Contains(p.Body, `action="/recommend"`) {
		t.Fatalf("recommending with a token that ran out: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if p = b.Submit(t, p, url.Values{"film": {"metropolis"}, "friend": {"bob"}}); p.Status != http.StatusOK || !strings.Contains(p.Body, "Metropolis (1927)") {
		t.Errorf("recommending after signing in again: %d\n%s", p.Status, p.Body)
	}
}

// A member whose grant ended while movieclub missed the grant.revoked
// webhook is sent back to Parley, which asks them again, rather than told
// at every try that Parley refused.
func TestMovieClub_RevokedGrantSignsInAgain(t *testing.T) {
	c := startClub(t)
	r := c.signInAlice(t)
	b, home := r.b, r.home
	c.down.Store(true)
	disconnect(t, r.alice)
	p := b.Submit(t, home, url.Values{"film": {"metropolis"}, "friend": {"bob"}})
	if !strings.HasPrefix(p.URL.String(), c.parley.URL) || !strings.Contains(p.Body, `value="approve"`) {
		t.Errorf("recommending after the grant ended: %d %s, want Parley's consent page\n%s", p.Status, p.URL, p.Body)
	}
}

// A thread.closed_to_apps delivery retried after the thread was opened to
// apps again does not make movieclub forget a thread its grant reaches.
func TestMovieClub_LateClosingKeepsAReopenedThread(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.recommend(t)

	c.down.Store(true)
	if _, err := r.bob.SetThreadAppAccess(ctx, r.threadID, false); err != nil {
		t.Fatal(err)
	}
	c.waitRefused(t, "thread.closed_to_apps")
	if _, err := r.bob.SetThreadAppAccess(ctx, r.threadID, true); err != nil {
		t.Fatal(err)
	}
	c.retried(t, "thread.closed_to_apps")
	apptest.MustSend(t, r.bob, r.threadID, "Loved the robot")
	c.waitForWebhooks(t, "bob's reply in the reopened thread on movieclub", func() bool {
		return strings.Contains(c.home(t, r.b), "Loved the robot")
	})
}

// A thread closed to apps is forgotten when the webhook says so.
func TestMovieClub_ClosingForgetsTheThread(t *testing.T) {
	c := startClub(t)
	r := c.recommend(t)
	if _, err := r.bob.SetThreadAppAccess(context.Background(), r.threadID, false); err != nil {
		t.Fatal(err)
	}
	c.waitForWebhooks(t, "the closed thread gone from movieclub", func() bool {
		return !strings.Contains(c.home(t, r.b), "Metropolis (1927)")
	})
}
