package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// Names, titles and texts as long as their limits allow, each one word
// without a space, stay within a phone's screen (375 px), as every page
// does with everyday ones (see checkAccessibility): the consent page that
// names the app, the conversation that names the sender, the app a
// message came through and the apps that can read it, and the new-chat
// page that lists friends by name and username. They wrap, rather
// than push the page sideways (on the consent page, the Approve button off
// the screen) or out of their boxes.
func TestLongWords_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), mustLongNamedBob(t, env)
	carol := env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	// A friend whose username is as long as it may be, for the new-chat page.
	apptest.MustFriends(t, alice, env.MustMember(t, strings.Repeat("w", parley.MaxUsernameLen)))
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Kind: "group", Title: longWord(parley.MaxTitleLen)})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, group.ID, longWord(3000))
	partner := env.MustPartner(t, longWord(parley.MaxAppNameLen), func(a *service.NewApp) {
		a.Purpose, a.Homepage = longWord(parley.MaxAppPurposeLen), "https://films.example/"+longWord(parley.MaxRedirectURILen-len("https://films.example/"))
	})
	films := env.Client.WithToken(env.MustToken(t, partner, "bob", []string{"openid", "shares.write"}, apptest.Answer{}).AccessToken)
	card, err := films.Share(ctx, client.NewShare{To: "alice", URL: "https://films.example/" + longWord(2000), Title: longWord(parley.MaxShareTitleLen), Note: longWord(1000)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "messages.read"}

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	for name, u := range map[string]string{
		"inbox":   env.URL + "/",
		"group":   env.URL + "/t/" + group.ID,
		"shared":  env.URL + "/t/" + card.ThreadID,
		"consent": cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
		"new":     env.URL + "/new",
	} {
		t.Run(name, func(t *testing.T) {
			must(t, chromedp.Do(b, chromedp.EmulateViewport(375, 800), chromedp.Navigate(u), chromedp.WaitReady("body")))
			wide, err := chromedp.Run(b, chromedp.Evaluate[[]string](overflowing))
			must(t, err)
			if len(wide) > 0 {
				t.Errorf("at 375 px, content runs past the right edge:\n  %s", strings.Join(wide, "\n  "))
			}
			if name == "new" {
				apptest.Screenshot(t, b, "new-long-names")
			}
		})
	}
}

// The developer console's pages, search results and friends, with an app,
// a webhook address and a member's name as long as their limits allow,
// each one word: they wrap within a phone's screen (375 px), as the pages
// TestLongWords_Browser visits do; the link back from an endpoint's
// deliveries to its app, which names the app, among them.
func TestLongWords_DeveloperPages_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), mustLongNamedBob(t, env)
	apptest.MustFriends(t, alice, bob)
	direct := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, bob, direct.ID, "look "+longWord(300)+" and https://example.com/"+longWord(400))
	app, err := alice.CreateApp(ctx, client.NewApp{Name: longWord(parley.MaxAppNameLen), RedirectURIs: []string{"https://films.example/cb/" + longWord(400)}, Homepage: "https://films.example/" + longWord(300), Purpose: longWord(parley.MaxAppPurposeLen)})
	must(t, err)
	hook, err := alice.CreateWebhook(ctx, app.ClientID, "https://127.0.0.1/"+longWord(400), []string{"message.created"})
	must(t, err)

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	for _, p := range []struct{ name, path string }{
		{"developer", "/account/developer"},
		{"devapp", "/account/developer/apps/" + app.ClientID},
		{"devhook", "/account/developer/apps/" + app.ClientID + "/webhooks/" + hook.ID},
		{"search", "/search?q=look"},
		{"friends", "/friends"},
	} {
		t.Run(p.name, func(t *testing.T) {
			must(t, chromedp.Do(b, chromedp.EmulateViewport(375, 800), chromedp.Navigate(env.URL+p.path), chromedp.WaitReady("body")))
			if wide := evaluate[[]string](t, b, overflowing); len(wide) > 0 {
				t.Errorf("at 375 px, content runs past the right edge:\n  %s", strings.Join(wide, "\n  "))
			}
			apptest.Screenshot(t, b, "long-"+p.name)
		})
	}
}

// longWord is a word of n letters, which a line may not break.
func longWord(n int) string { return strings.Repeat("W", n) }

// mustLongNamedBob makes bob, signed in, whose display name is one word as
// long as a display name may be.
func mustLongNamedBob(t *testing.T, env *apptest.Env) *client.Client {
	t.Helper()
	if _, err := env.Client.CreateAccount(context.Background(), "bob", apptest.Password("bob"), longWord(parley.MaxDisplayNameLen)); err != nil {
		t.Fatal(err)
	}
	return mustSignInClient(t, env, "bob")
}
