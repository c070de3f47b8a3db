package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// A share link goes straight on only for the member it was made for,
// signed in to Parley in the browser, following it from Parley's pages or
// by hand, as the browser says. Anyone else, the card's sender and other
// members included, and the member sent there by another site or by a
// browser that does not say, is shown where it leads and goes
// on by a click of their own, so that no link on Parley's address takes a
// visitor elsewhere unawares (an open redirect), nor tells the site it
// leads to who is signed in. The page tells nothing of the card, its
// thread or who sent it.
func TestShareLinks_OnlyTheRecipientGoesStraightOn(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	partner := env.MustPartner(t, "Films")
	tok := env.MustToken(t, partner, "alice", []string{"shares.write"}, apptest.Answer{})
	const target = "https://films.example/w/1?t=1&u=2"
	card, err := env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: "bob", URL: target, Title: "Secret title", Note: "a private note"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := bob.Messages(ctx, card.ThreadID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	bobs := msgs.Messages[len(msgs.Messages)-1].Share.Link

	visitor := func(username string) *scriptless {
		b := newScriptless(t, env.URL)
		if username != "" {
			b.signIn(username)
		}
		b.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return b
	}
	follow := func(b *scriptless, site string) *page { return b.navigate(strings.TrimPrefix(bobs, env.URL), site) }
	for _, site := range []string{"same-origin", "none"} {
		got := follow(visitor("bob"), site)
		if got.status != http.StatusSeeOther || got.header.Get("Location") != target || got.header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("bob, signed in, following his link (Sec-Fetch-Site %s): %d to %q, Referrer-Policy %q; want 303 to the card's URL",
				site, got.status, got.header.Get("Location"), got.header.Get("Referrer-Policy"))
		}
	}
	// Another site's page sending bob's browser to his link, the app's
	// among them, learns nothing of who is signed in there; nor does it
	// when bob's browser does not say where the navigation came from.
	visits := map[string]*page{
		"":                         follow(visitor(""), "none"),
		"alice":                    follow(visitor("alice"), "same-origin"),
		"carol":                    follow(visitor("carol"), "none"),
		"bob, from another site":   follow(visitor("bob"), "cross-site"),
		"carol, from another site": follow(visitor("carol"), "cross-site"),
		"bob, not saying whence":   follow(visitor("bob"), ""),
	}
	for who, got := range visits {
		if got.status != http.StatusOK || got.header.Get("Location") != "" || got.header.Get("Referrer-Policy") != "no-referrer" ||
			!strings.Contains(got.header.Get("Cache-Control"), "no-store") {
			t.Fatalf("%q following bob's link: %d, Location %q, headers %v; want the page saying where it leads", who, got.status, got.header.Get("Location"), got.header)
		}
		for _, want := range []string{
			`<h1>Leaving Parley</h1>`,
			`<p class="leaving-host">films.example</p>`,
			`<a class="button" rel="noreferrer noopener" href="https://films.example/w/1?t=1&amp;u=2">Go on to films.example</a>`,
		} {
			if !strings.Contains(got.body, want) {
				t.Errorf("%q: the page lacks %s:\n%s", who, want, got.body)
			}
		}
		for _, secret := range []string{"Secret title", "a private note", "alice", "Films"} {
			if strings.Contains(got.body, secret) {
				t.Errorf("%q: the page tells %q of the card", who, secret)
			}
		}
	}
}
