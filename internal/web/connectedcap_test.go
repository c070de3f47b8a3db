package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// mustConnectApps registers n apps and connects each to the member's
// account, in one write of the store: what n consents would leave, without
// n sign-ins through the pages.
func mustConnectApps(t *testing.T, env *apptest.Env, username string, n int) {
	t.Helper()
	ctx := context.Background()
	now := env.Clock.Now()
	err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		u, err := tx.FindUserByUsername(ctx, username)
		if err != nil {
			return err
		}
		for i := range n {
			app := &parley.App{ClientID: parley.NewID(), Name: fmt.Sprintf("Filler %d", i), RedirectURIs: []string{apptest.RedirectURI},
				ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
			if err := tx.CreateApp(ctx, app, []byte("secret")); err != nil {
				return err
			}
			g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
				ThreadScope: parley.ThreadScopeApp, CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateGrant(ctx, g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fullNotice is what the consent page says to a member who has
// parley.MaxConnectedApps apps connected, asked to connect Tunes.
var fullNotice = fmt.Sprintf(`You have %d apps connected, the most one member may have. To connect Tunes, first disconnect one you no longer use under <a href="/account/apps"`, parley.MaxConnectedApps)

// A member with parley.MaxConnectedApps apps connected is told on the
// consent page of one more to disconnect one first, with a link to the
// page where they do, and is offered no Approve; approving anyway, from a
// page loaded while there was room, is refused with the same words, and
// grants nothing. Once they disconnect one, the page shown again approves.
func TestConsent_OneAppMoreThanMaxConnectedAppsIsRefused(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	ctx := context.Background()
	mustConnectApps(t, env, "alice", parley.MaxConnectedApps-1)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	if strings.Contains(consent.Body, `id="full"`) || !strings.Contains(consent.Body, `value="approve"`) {
		t.Fatalf("the consent page of alice's %dth app does not offer Approve:\n%s", parley.MaxConnectedApps, consent.Body)
	}
	mustConnectApps(t, env, "alice", 1) // meanwhile, in another tab

	refused := b.Submit(t, consent, url.Values{"action": {"approve"}})
	if refused.Status != http.StatusConflict || refused.Location != "" || !strings.Contains(refused.Body, fullNotice) {
		t.Fatalf("approving a %dth app: %d %q, want %d and the page saying %q:\n%s",
			parley.MaxConnectedApps+1, refused.Status, refused.Location, http.StatusConflict, fullNotice, refused.Body)
	}
	if strings.Contains(refused.Body, `value="approve"`) {
		t.Errorf("the page refusing a %dth app offers Approve:\n%s", parley.MaxConnectedApps+1, refused.Body)
	}
	apps, err := alice.ConnectedApps(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != parley.MaxConnectedApps {
		t.Errorf("alice has %d apps connected after one more was refused, want %d", len(apps), parley.MaxConnectedApps)
	}
	for _, a := range apps {
		if a.ClientID == partner.App.ClientID {
			t.Errorf("the app refused has a grant: %+v", a)
		}
	}

	again := b.Get(t, consent.URL.String())
	if again.Status != http.StatusOK || !strings.Contains(again.Body, fullNotice) || strings.Contains(again.Body, `value="approve"`) {
		t.Fatalf("the consent page reloaded at the most: %d, want the notice and no Approve:\n%s", again.Status, again.Body)
	}
	if err := alice.RevokeGrant(ctx, apps[0].ID); err != nil {
		t.Fatal(err)
	}
	room := b.Get(t, consent.URL.String())
	if strings.Contains(room.Body, `id="full"`) {
		t.Fatalf("the consent page reloaded after disconnecting one still says there is no room:\n%s", room.Body)
	}
	done := b.Submit(t, room, url.Values{"action": {"approve"}})
	if code, err := url.Parse(done.Location); err != nil || code.Query().Get("code") == "" {
		t.Fatalf("approving after disconnecting one: %d %q\n%s", done.Status, done.Location, done.Body)
	}
}

// At parley.MaxConnectedApps, an app connected already is still widened by
// a consent to more scopes, and consented to again (prompt=consent): only a
// new grant counts against the cap.
func TestConsent_AnAppConnectedAtMaxConnectedAppsIsWidened(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	mustConnectApps(t, env, "alice", parley.MaxConnectedApps-1)
	partner := env.MustPartner(t, "Tunes")
	env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})

	tok := env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	if scope, _ := tok.Extra("scope").(string); scope != "openid messages.read" {
		t.Errorf("widened at the most, the token's scope is %q, want openid messages.read", scope)
	}
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "messages.read"}
	b := apptest.NewBrowser()
	u := b.Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "consent")), "alice", apptest.Answer{})
	if u.Query().Get("code") == "" {
		t.Errorf("consenting again at the most: %s", u)
	}
	apps, err := alice.ConnectedApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != parley.MaxConnectedApps {
		t.Errorf("alice has %d apps connected, want %d", len(apps), parley.MaxConnectedApps)
	}
}
