package main

import (
	"io"
	"net/http"
	"net/url"
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
