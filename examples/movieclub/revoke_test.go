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
	ctx := context.Background()
	c := startClub(t)
	alice := c.parley.MustMember(t, "alice")
	bob := c.parley.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	b := apptest.NewBrowser()
	if p := b.Submit(t, c.signIn(t, b, "alice"), url.Values{"film": {"metropolis"}, "friend": {"bob"}}); p.Status != http.StatusOK {
		t.Fatalf("recommend: %d\n%s", p.Status, p.Body)
	}

	// Alice disconnects movieclub while its webhooks fail for a moment.
	c.down.Store(true)
	grants, err := alice.ConnectedApps(ctx)
	if err != nil || len(grants) != 1 {
		t.Fatalf("alice's grants: %+v, %v", grants, err)
	}
	if err := alice.RevokeGrant(ctx, grants[0].ID); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); c.refused.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no grant.revoked delivery was attempted")
		}
	}
	// She connects it again: a new grant, a new token.
	c.signIn(t, b, "alice")
	c.down.Store(false)

	// Parley retries the old grant's grant.revoked.
	for len(c.hooks) > 0 {
		<-c.hooks // webhooks handled before
	}
	c.parley.Clock.Advance(time.Minute)
	select {
	case <-c.hooks:
	case <-time.After(time.Minute):
		t.Fatal("the grant.revoked delivery was not retried")
	}
	if home := c.home(t, b); strings.Contains(home, "Sign in with Parley") || !strings.Contains(home, "Metropolis (1927)") {
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
	alice := c.parley.MustMember(t, "alice")
	bob := c.parley.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	b := apptest.NewBrowser()
	home := c.signIn(t, b, "alice")

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
	ctx := context.Background()
	c := startClub(t)
	alice := c.parley.MustMember(t, "alice")
	bob := c.parley.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	b := apptest.NewBrowser()
	home := c.signIn(t, b, "alice")
	c.down.Store(true)
	grants, err := alice.ConnectedApps(ctx)
	if err != nil || len(grants) != 1 {
		t.Fatalf("alice's grants: %+v, %v", grants, err)
	}
	if err := alice.RevokeGrant(ctx, grants[0].ID); err != nil {
		t.Fatal(err)
	}
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
	alice := c.parley.MustMember(t, "alice")
	bob := c.parley.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	b := apptest.NewBrowser()
	if p := b.Submit(t, c.signIn(t, b, "alice"), url.Values{"film": {"metropolis"}, "friend": {"bob"}}); p.Status != http.StatusOK {
		t.Fatalf("recommend: %d\n%s", p.Status, p.Body)
	}
	threads, err := bob.Threads(ctx, client.ThreadsQuery{})
	if err != nil || len(threads.Threads) != 1 {
		t.Fatalf("bob's threads: %+v, %v", threads, err)
	}
	th := threads.Threads[0].ID

	c.down.Store(true)
	if _, err := bob.SetThreadAppAccess(ctx, th, false); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); c.refused.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no thread.closed_to_apps delivery was attempted")
		}
	}
	if _, err := bob.SetThreadAppAccess(ctx, th, true); err != nil {
		t.Fatal(err)
	}
	c.down.Store(false)
	for len(c.hooks) > 0 {
		<-c.hooks
	}
	c.parley.Clock.Advance(time.Minute)
	select {
	case <-c.hooks:
	case <-time.After(time.Minute):
		t.Fatal("the thread.closed_to_apps delivery was not retried")
	}
	apptest.MustSend(t, bob, th, "Loved the robot")
	c.waitForWebhooks(t, "bob's reply in the reopened thread on movieclub", func() bool {
		return strings.Contains(c.home(t, b), "Loved the robot")
	})
}

// A thread closed to apps is forgotten when the webhook says so.
func TestMovieClub_ClosingForgetsTheThread(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	alice := c.parley.MustMember(t, "alice")
	bob := c.parley.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	b := apptest.NewBrowser()
	if p := b.Submit(t, c.signIn(t, b, "alice"), url.Values{"film": {"metropolis"}, "friend": {"bob"}}); p.Status != http.StatusOK {
		t.Fatalf("recommend: %d\n%s", p.Status, p.Body)
	}
	threads, err := bob.Threads(ctx, client.ThreadsQuery{})
	if err != nil || len(threads.Threads) != 1 {
		t.Fatalf("bob's threads: %+v, %v", threads, err)
	}
	if _, err := bob.SetThreadAppAccess(ctx, threads.Threads[0].ID, false); err != nil {
		t.Fatal(err)
	}
	c.waitForWebhooks(t, "the closed thread gone from movieclub", func() bool {
		return !strings.Contains(c.home(t, b), "Metropolis (1927)")
	})
}
