package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// In a real browser, a member signs in, sees the app connected to the
// account and what it did, sees the log verified, revokes the app, and
// sees the log reported broken once a row is changed behind Parley's back.
func TestAccountPages_Browser(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, bob, thread, "hello")
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{thread}})
	app := env.Client.WithToken(tok.AccessToken)
	for range 2 {
		if _, err := app.Messages(context.Background(), thread, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
	}

	ctx := apptest.Chromium(t)
	// Signing in is asked for first.
	err := chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/account/apps"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apptest.Password("alice")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.app`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	apps := text(t, ctx, `section.app`)
	for _, want := range []string{"Films", "Read messages in your conversations", "Member bob", "2 calls"} {
		if !strings.Contains(apps, want) {
			t.Errorf("connected apps page lacks %q:\n%s", want, apps)
		}
	}

	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`section.app a`)),
		chromedp.WaitVisible(chromedp.CSS(`#verification`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	verified, rows := text(t, ctx, `#verification`), text(t, ctx, `tbody`)
	if !strings.Contains(verified, "Verified: all 3 entries") {
		t.Errorf("verification status: %q", verified)
	}
	if strings.Count(rows, "Read messages in a conversation") != 2 || !strings.Contains(rows, "You connected it") {
		t.Errorf("Films' log:\n%s", rows)
	}

	err = chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/account/apps"),
		chromedp.Click(chromedp.CSS(`section.app button`)),
		chromedp.WaitVisible(chromedp.CSS(`#no-apps`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Messages(context.Background(), thread, client.MessagesQuery{}); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("Films after revoking it in the browser: %v, want 401", err)
	}

	aliceID := apptest.MustMe(t, alice).ID
	if err := sqlstore.TamperAccessEntry(context.Background(), env.Server.Store, aliceID, 2, func(e *parley.AccessEntry) { e.MessageCount = 0 }); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Navigate(env.URL+"/account/access-log"),
		chromedp.WaitVisible(chromedp.CSS(`#verification`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	if verified := text(t, ctx, `#verification`); !strings.Contains(verified, "tampered with: entry 2 fails") {
		t.Errorf("verification status after tampering: %q", verified)
	}
}

// text returns the visible text of the first element the CSS selector matches.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		t.Fatalf("text of %s: %v", css, err)
	}
	return s
}
