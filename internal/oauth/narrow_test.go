package oauth_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// TestConsent_UntickedScopes: a member may untick any scope but openid on
// the consent page. The token response's scope says what was granted, the
// access token carries nothing more, and the API refuses what was left out;
// the app works with the rest.
func TestConsent_UntickedScopes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob")
	films := env.MustPartner(t, "Films")
	asked := []string{"openid", "profile", "friends.read", "threads.read", "messages.read"}

	tok := env.MustToken(t, films, "alice", asked, apptest.Answer{Untick: []string{"messages.read", "openid"}, ThreadScope: "selected", Threads: []string{thread.ID}})

	granted := strings.Fields(tokenScope(t, tok))
	want := []string{"openid", "profile", "friends.read", "threads.read"}
	if !sameSet(granted, want) {
		t.Errorf("token response scope = %q, want %q: unticked messages.read left out, openid kept", granted, want)
	}
	app := env.Client.WithToken(tok.AccessToken)
	if _, err := app.Messages(ctx, thread.ID, client.MessagesQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("reading messages without messages.read: %v, want 403", err)
	}
	if _, err := app.Friends(ctx); err != nil {
		t.Errorf("a ticked scope stops working: friends: %v", err)
	}
	if _, err := app.Threads(ctx, client.ThreadsQuery{}); err != nil {
		t.Errorf("a ticked scope stops working: threads: %v", err)
	}

	t.Run("AskingAgainShowsOnlyWhatIsMissing", func(t *testing.T) {
		cfg := *films.Config
		cfg.Scopes = asked
		p := apptest.NewBrowser()
		page := p.Get(t, cfg.AuthCodeURL("again", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		page = p.Submit(t, page, map[string][]string{"username": {"alice"}, "password": {apptest.Password("alice")}})
		if !strings.Contains(page.Body, `name="scope" value="messages.read" checked`) || strings.Contains(page.Body, `value="friends.read"`) {
			t.Errorf("the consent page for the unticked scope asked again:\n%s", page.Body)
		}
	})
}

// TestConsent_AllUntickedButOpenID: unticking everything that can be
// unticked leaves a sign-in and nothing else.
func TestConsent_AllUntickedButOpenID(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "profile", "offline_access"}, apptest.Answer{Untick: []string{"profile", "offline_access"}})
	if got := tokenScope(t, tok); got != "openid" {
		t.Errorf("token response scope = %q, want openid", got)
	}
	if tok.RefreshToken != "" {
		t.Error("offline_access was unticked but a refresh token came")
	}
}

func tokenScope(t *testing.T, tok *oauth2.Token) string {
	t.Helper()
	s, ok := tok.Extra("scope").(string)
	if !ok {
		t.Fatalf("the token response has no scope: %v", tok.Extra("scope"))
	}
	return s
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
