package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// In two real browsers: Alice connects MovieClub through its consent page,
// unticking a scope and ticking her conversation with Bob; the token the
// app gets holds what stayed ticked and nothing more. Bob, with the
// conversation open, sees the notice that MovieClub can now read it
// through Alice's connection appear without a reload, and closes it to
// apps; Alice sees it close, live, and so does the app, refused. Bob
// reopens it. The app's stated purpose, markup included, shows as text.
// With PARLEY_SCREENSHOTS set, the consent page and the thread with its
// notices are saved at 1280 and 375 px.
func TestThreadApps_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	aliceAPI, bobAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, aliceAPI, bobAPI)
	th := apptest.MustThread(t, aliceAPI, "bob").ID
	apptest.MustSend(t, aliceAPI, th, "Shall we pick a film for Friday?")
	apptest.MustSend(t, bobAPI, th, "Yes! Something funny.")
	// Alice is in many more conversations, which the consent page lists
	// for her to tick.
	for i := range 24 {
		if _, err := aliceAPI.CreateThread(context.Background(), client.NewThread{Participants: []string{"bob"}, Kind: "group", Title: fmt.Sprintf("Film night %d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>MovieClub</title><h1 id="back">Back at MovieClub</h1>`)
	}))
	t.Cleanup(back.Close)
	purpose := "Suggest films to watch with friends " + xssScript
	movieClub := env.MustPartner(t, "MovieClub", func(a *service.NewApp) {
		a.RedirectURIs, a.Purpose, a.Homepage = []string{back.URL + "/callback"}, purpose, "https://movieclub.example/"
	})
	alice, bob := apptest.Chromium(t), apptest.Chromium(t)
	signInBrowser(t, alice, env.URL, "alice")
	signInBrowser(t, bob, env.URL, "bob")
	openThread := func(ctx context.Context) {
		t.Helper()
		must(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/t/"+th), chromedp.WaitVisible(chromedp.CSS(`#thread-apps`))))
		waitFor(t, ctx, `document.body.dataset.live === "open"`)
	}
	openThread(bob)
	if got := text(t, bob, `#thread-apps`); !strings.Contains(got, "No app can read this chat.") {
		t.Errorf("before any app, bob's thread says %q", got)
	}
	var token *oauth2.Token

	t.Run("ConsentUntickingAScope", func(t *testing.T) {
		cfg := *movieClub.Config
		cfg.Scopes = []string{"openid", "profile", "threads.read", "messages.read", "messages.write"}
		verifier := oauth2.GenerateVerifier()
		must(t, chromedp.Do(alice, chromedp.Navigate(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))),
			chromedp.WaitVisible(chromedp.CSS(`#scopes`))))
		if got := text(t, alice, `.purpose`); got != purpose {
			t.Errorf("the purpose reads %q, want %q as text", got, purpose)
		}
		if got := text(t, alice, `#scopes`); !strings.Contains(got, "Send messages as you") || !strings.Contains(got, "Read messages in your conversations") {
			t.Errorf("the permissions read:\n%s", got)
		}
		// Her conversations are listed once she chooses to tick some.
		must(t, chromedp.Do(alice, chromedp.Click(chromedp.CSS(`input[name=thread_scope][value=selected]`))))
		if got := text(t, alice, `#reach`); !strings.Contains(got, "Member bob · last active") {
			t.Errorf("the conversations to tick read:\n%s", got)
		}
		// The 25 conversations scroll in their list, and what follows it
		// stays in sight.
		const listFits = `(() => { const l = document.querySelector("#reach .choices");
			return l.scrollHeight > l.clientHeight && l.getBoundingClientRect().height <= innerHeight * 0.4 + 1 })()`
		if fits, err := chromedp.Run(alice, chromedp.Evaluate[bool](listFits)); err != nil || !fits {
			t.Errorf("the list of 25 conversations to tick: scrolls within 40%% of the window %v, %v", fits, err)
		}
		apptest.Screenshot(t, alice, "consent")
		checkAccessibility(t, alice, "consent with unticking")
		must(t, chromedp.Do(alice,
			chromedp.Click(chromedp.CSS(`input[name=scope][value="messages.write"]`)),
			chromedp.Click(chromedp.CSS(`input[name=threads][value="`+th+`"]`)),
			chromedp.Click(chromedp.CSS(`button[value=approve]`)),
			chromedp.WaitVisible(chromedp.CSS(`#back`)),
		))
		var err error
		token, err = cfg.Exchange(context.Background(), location(t, alice).Query().Get("code"), oauth2.VerifierOption(verifier))
		must(t, err)
		if got := token.Extra("scope"); got != "openid profile threads.read messages.read" {
			t.Errorf("the token response's scope = %q, want what stayed ticked", got)
		}
		app := env.Client.WithToken(token.AccessToken)
		if _, err := app.SendMessage(context.Background(), th, "as alice", ""); client.StatusOf(err) != http.StatusForbidden {
			t.Errorf("sending without messages.write: %v, want 403", err)
		}
		if _, err := app.Messages(context.Background(), th, client.MessagesQuery{}); err != nil {
			t.Errorf("the app cannot do what stayed ticked: %v", err)
		}
	})

	t.Run("NoticeLive", func(t *testing.T) {
		waitFor(t, bob, `(document.querySelector("#notices") || {}).textContent?.includes("\u2068MovieClub\u2069 can now read this chat through \u2068Member alice\u2069's connection.")`)
		if got := text(t, bob, `#thread-apps .reach`); !strings.Contains(got, "MovieClub (reads messages), through Member alice's connection") {
			t.Errorf("bob's list of apps reads %q", got)
		}
		apptest.Screenshot(t, bob, "thread-notice")
		checkAccessibility(t, bob, "thread with an app notice")
	})

	t.Run("CloseAndReopenLive", func(t *testing.T) {
		openThread(alice)
		if got := text(t, alice, `#notices`); !strings.Contains(got, "MovieClub can now read this chat through your connection.") {
			t.Errorf("alice's notices read %q", got)
		}
		must(t, chromedp.Do(bob, chromedp.Click(chromedp.CSS(`#apps-switch`))))
		waitFor(t, bob, `document.querySelector("#thread-apps").textContent.includes("You closed this chat to apps.")`)
		waitFor(t, alice, `document.querySelector("#thread-apps.closed")?.textContent.includes("\u2068Member bob\u2069 closed this chat to apps.")`)
		if got := text(t, alice, `#thread-apps .reach`); !strings.Contains(got, "Closed to apps by Member bob") {
			t.Errorf("alice's page says %q", got)
		}
		if _, err := env.Client.WithToken(token.AccessToken).Messages(context.Background(), th, client.MessagesQuery{}); err == nil {
			t.Error("the app still reads the conversation bob closed")
		}
		apptest.Screenshot(t, alice, "thread-closed")
		checkAccessibility(t, alice, "thread closed to apps")
		// Bob's switch kept the focus, now to reopen.
		if got := text(t, bob, `#apps-switch`); got != "Let apps in again" {
			t.Errorf("bob's switch reads %q", got)
		}
		must(t, chromedp.Do(bob, chromedp.Click(chromedp.CSS(`#apps-switch`))))
		waitFor(t, alice, `!document.querySelector("#thread-apps.closed") && document.querySelector("#notices").textContent.includes("\u2068Member bob\u2069 stopped keeping this chat closed to apps.")`)
	})
}

// signInBrowser signs a member in through the messenger's sign-in page.
// It waits for the inbox by script, not by a node: the messenger may swap
// the inbox for a fresh one as it opens, and a node found a moment before
// is then gone ("Could not find node with given id").
func signInBrowser(t *testing.T, ctx context.Context, base, username string) {
	t.Helper()
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
		chromedp.SetValue(chromedp.CSS(`input[name=username]`), username),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), apptest.Password(username)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
	))
	waitFor(t, ctx, `!!document.querySelector(".welcome")`)
	if u := location(t, ctx); u.Path != "/" {
		t.Fatalf("signing in as %s ends at %s", username, u)
	}
}
