package main

import (
	"context"
	"fmt"
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
// connected it again while the delivery was retried stays signed in when
// the late delivery arrives. The thread movieclub shared into under the
// old grant is not the new grant's (a grant of thread scope "app" reaches
// the threads the app started under it): movieclub's sign-in finds its
// read refused, and forgets it.
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
	home := c.home(t, r.b)
	if strings.Contains(home, "Sign in with Parley") || !strings.Contains(home, `action="/recommend"`) {
		t.Errorf("the late revocation of alice's old grant signed her out of her new one:\n%s", home)
	}
	if strings.Contains(home, "Metropolis (1927)") {
		t.Errorf("movieclub shows what it read under the revoked grant:\n%s", home)
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
	c.tokensRunOut(ctx)

	p := b.Submit(t, home, url.Values{"film": {"metropolis"}, "friend": {"bob"}})
	if strings.Contains(p.Body, "could not be reached") || p.URL.String() != c.url+"/" || !strings.Contains(p.Body, `action="/recommend"`) {
		t.Fatalf("recommending with a token that ran out: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if p = b.Submit(t, p, url.Values{"film": {"metropolis"}, "friend": {"bob"}}); p.Status != http.StatusOK || !strings.Contains(p.Body, "Metropolis (1927)") {
		t.Errorf("recommending after signing in again: %d\n%s", p.Status, p.Body)
	}
}

// tokensRunOut makes every member's access token at movieclub one that ran
// out a minute ago, as an hour after their sign-in; Parley's clock is left
// as it is.
func (c *club) tokensRunOut(ctx context.Context) {
	mc := c.app
	mc.mem.mu.Lock()
	defer mc.mem.mu.Unlock()
	for _, m := range mc.mem.members {
		m.api = client.New(c.parley.URL).WithTokenSource(mc.oauth.TokenSource(ctx, &oauth2.Token{
			AccessToken: m.accessToken, TokenType: "Bearer", Expiry: time.Now().Add(-time.Minute)}))
		m.expiry = time.Now().Add(-time.Minute)
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
// apps again does not make movieclub forget a thread its grant reaches;
// nor when it comes after the member's token ran out, so that movieclub
// cannot read on: it reads on at the member's next sign-in. It reads the
// thread from its opening on, as Parley gives it to every app: the card
// sent before the closing is no longer movieclub's to show.
func TestMovieClub_LateClosingKeepsAReopenedThread(t *testing.T) {
	for _, tokenRanOut := range []bool{false, true} {
		t.Run(fmt.Sprintf("tokenRanOut=%v", tokenRanOut), func(t *testing.T) {
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
			if tokenRanOut {
				c.tokensRunOut(ctx)
			}
			c.retried(t, "thread.closed_to_apps")
			if tokenRanOut {
				c.signIn(t, r.b, "alice")
			}
			apptest.MustSend(t, r.bob, r.threadID, "Loved the robot")
			c.waitForWebhooks(t, "bob's reply in the reopened thread on movieclub", func() bool {
				return strings.Contains(c.home(t, r.b), "Loved the robot")
			})
			if home := c.home(t, r.b); strings.Contains(home, "Metropolis (1927)") {
				t.Errorf("the card sent before the closing is still shown:\n%s", home)
			}
		})
	}
}

// A thread closed to apps while the member's token ran out keeps no copy
// of what was said there, though movieclub cannot read on to confirm, and
// is forgotten at the member's next sign-in, whose read of it Parley
// refuses.
func TestMovieClub_ClosedWhileAwayForgottenAtSignIn(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.recommend(t)
	apptest.MustSend(t, r.bob, r.threadID, "Loved the robot")
	c.waitForWebhooks(t, "bob's reply on movieclub", func() bool {
		return strings.Contains(c.home(t, r.b), "Loved the robot")
	})
	c.tokensRunOut(ctx)
	if _, err := r.bob.SetThreadAppAccess(ctx, r.threadID, false); err != nil {
		t.Fatal(err)
	}
	c.waitForWebhooks(t, "the closing's webhook handled", func() bool {
		_, handled := c.webhooks(client.WebhookThreadClosed)
		return handled > 0
	})
	if home := c.home(t, r.b); strings.Contains(home, "Loved the robot") || strings.Contains(home, "Metropolis (1927)") {
		t.Fatalf("movieclub keeps its copy of a thread it was told left the grant:\n%s", home)
	}
	if home := c.signIn(t, r.b, "alice"); strings.Contains(home.Body, "Metropolis (1927)") {
		t.Errorf("the thread closed to apps is still shown after signing in again:\n%s", home.Body)
	}
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

// A message edited while the member's token ran out, so that movieclub
// cannot read the edit, is not shown as it was: the friend may have taken
// words back. movieclub drops its copy of the thread, as for a closing it
// cannot read on, and reads the thread anew at the member's next sign-in,
// which shows the message as it now is.
func TestMovieClub_UnreadableEditDropsTheOldWords(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.recommend(t)
	reply := apptest.MustSend(t, r.bob, r.threadID, "I never liked Lang")
	c.waitForWebhooks(t, "bob's reply on movieclub", func() bool {
		return strings.Contains(c.home(t, r.b), "I never liked Lang")
	})
	c.tokensRunOut(ctx)
	if _, err := r.bob.EditMessage(ctx, reply.ID, "Lang grew on me"); err != nil {
		t.Fatal(err)
	}
	c.waitForWebhooks(t, "the edit's webhook handled", func() bool {
		_, handled := c.webhooks(client.WebhookMessageEdited)
		return handled > 0
	})
	if home := c.home(t, r.b); strings.Contains(home, "I never liked Lang") {
		t.Fatalf("movieclub, unable to read bob's edit, shows the words he took back:\n%s", home)
	}
	if home := c.signIn(t, r.b, "alice"); !strings.Contains(home.Body, "Lang grew on me") || !strings.Contains(home.Body, "Metropolis (1927)") {
		t.Errorf("after signing in again, the thread as it now is is not shown:\n%s", home.Body)
	}
}
