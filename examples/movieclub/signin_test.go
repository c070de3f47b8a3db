package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A member who unticks a scope movieclub needs on Parley's consent page is
// told what it needs and not signed in, rather than signed in to a page
// whose every recommendation Parley refuses; signing in again, Parley asks
// for what is missing.
func TestMovieClub_UntickedScopeIsAskedForAgain(t *testing.T) {
	c := startClub(t)
	alice, bob := c.parley.MustMember(t, "alice"), c.parley.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	b := apptest.NewBrowser()
	p := b.Get(t, c.url+"/login")
	p = b.Submit(t, p, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	p = b.Submit(t, p, url.Values{"action": {"approve"}, "scope": {client.ScopeOpenID, client.ScopeMessagesRead}})
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "leave them ticked") {
		t.Fatalf("after consent without shares.write: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if home := c.home(t, b); !strings.Contains(home, "Sign in with Parley") {
		t.Fatalf("signed in without the scope:\n%s", home)
	}
	p = b.Get(t, c.url+"/login")
	if !strings.Contains(p.Body, `value="approve"`) || !strings.Contains(p.Body, client.ScopeSharesWrite) {
		t.Fatalf("signing in again does not ask for shares.write: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	if p = b.Submit(t, p, url.Values{"action": {"approve"}}); p.URL.String() != c.url+"/" || !strings.Contains(p.Body, `action="/recommend"`) {
		t.Fatalf("signing in with every scope: %d %s\n%s", p.Status, p.URL, p.Body)
	}
}

// A session ends on movieclub's side: when the same browser signs in again
// (its old cookie, copied elsewhere, no longer signs in), and after
// sessionLife, whatever the browser keeps.
func TestMovieClub_SessionsEnd(t *testing.T) {
	c := startClub(t)
	r := c.signInAlice(t)
	cookie := func() string {
		u, _ := url.Parse(c.url)
		for _, ck := range r.b.HTTP.Jar.Cookies(u) {
			if ck.Name == sessionCookie {
				return ck.Value
			}
		}
		t.Fatal("no session cookie")
		return ""
	}
	signedInWith := func(value string) bool {
		req, _ := http.NewRequest(http.MethodGet, c.url+"/", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(body), `action="/recommend"`)
	}
	first := cookie()
	c.signIn(t, r.b, "alice")
	if second := cookie(); second == first || signedInWith(first) || !signedInWith(second) {
		t.Fatal("a sign-in in the same browser left its previous session signed in")
	}

	c.app.mem.mu.Lock()
	for _, s := range c.app.mem.sessions {
		s.expires = time.Now().Add(-time.Second)
	}
	c.app.mem.mu.Unlock()
	if signedInWith(cookie()) {
		t.Fatal("a session past its life still signs in")
	}
}

// Signing out ends what movieclub holds for the member, once their last
// session ends: it revokes their token at Parley (RFC 7009) and forgets
// it, their client and their copies, so that it acts for them only while
// they use it, as the guide promises. A friend's reply that comes after is
// read by no one. Signing out in one browser, while signed in in another,
// keeps the member.
func TestMovieClub_SigningOutRevokesTheToken(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.recommend(t)
	alice, err := r.alice.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := func() (token string, threads int) {
		c.app.mem.mu.Lock()
		defer c.app.mem.mu.Unlock()
		if m := c.app.mem.members[alice.ID]; m != nil {
			return m.accessToken, len(m.threads)
		}
		return "", 0
	}
	other := apptest.NewBrowser()
	c.signIn(t, other, "alice")
	token, _ := held()

	c.signOut(t, r.b)
	if !c.app.tokenActive(ctx, token) || !strings.Contains(c.home(t, other), "Metropolis (1927)") {
		t.Fatal("alice, signed out in one browser, is signed out in the other, or her token no longer works")
	}

	c.signOut(t, other)
	if c.app.tokenActive(ctx, token) {
		t.Error("Parley's introspection says alice's token still works after she signed out")
	}
	if token, threads := held(); token != "" || threads != 0 {
		t.Errorf("after alice signed out, movieclub holds her token %q and %d threads", token, threads)
	}
	before := c.readsIn(t, r.bob)
	_, handled := c.webhooks(client.WebhookMessageCreated)
	apptest.MustSend(t, r.bob, r.threadID, "Are you still there?")
	c.waitForWebhooks(t, "bob's reply's webhook handled", func() bool {
		_, now := c.webhooks(client.WebhookMessageCreated)
		return now > handled
	})
	// One entry: Parley's, of the delivery, which told movieclub of the
	// reply; movieclub reads it no more.
	if reads := c.readsIn(t, r.bob) - before; reads != 1 {
		t.Errorf("after alice signed out: %d new entries of movieclub's in bob's access log, want 1, the delivery's", reads)
	}
}

// signOut signs the browser out of movieclub, with the form on its home
// page.
func (c *club) signOut(t *testing.T, b *apptest.Browser) {
	t.Helper()
	csrf := regexp.MustCompile(`<form method="post" action="/logout" class="logout">\s*<input type="hidden" name="csrf" value="([^"]+)">`).FindStringSubmatch(c.home(t, b))
	if csrf == nil {
		t.Fatal("no sign-out form on the home page")
	}
	resp, err := b.HTTP.PostForm(c.url+"/logout", url.Values{"csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if home := c.home(t, b); !strings.Contains(home, "Sign in with Parley") {
		t.Fatalf("still signed in after signing out:\n%s", home)
	}
}
