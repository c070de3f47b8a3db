package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// A client built on an oauth2.TokenSource sends the source's access token,
// and once that has run out it refreshes it at the provider before the
// request, so an app keeps working past its first hour.
func TestClient_TokenSourceRefreshesTheAccessToken(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	tok := env.MustToken(t, partner, "alice", []string{client.ScopeProfile, client.ScopeMessagesRead, client.ScopeOfflineAccess}, apptest.Answer{})

	// An hour later the access token is dead at the server, and the app's
	// copy of it says it has expired.
	env.Clock.Advance(time.Hour + time.Minute)
	if _, err := env.Client.WithToken(tok.AccessToken).Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("the access token after its hour: %v, want 401", err)
	}
	held := *tok
	held.Expiry = time.Now().Add(-time.Minute)
	source := partner.Config.TokenSource(ctx, &held)
	app := env.Client.WithTokenSource(source)

	me, err := app.Me(ctx)
	if err != nil || me.Username != "alice" {
		t.Fatalf("Me through the token source = %+v, %v", me, err)
	}
	fresh, err := source.Token()
	if err != nil || fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("the source holds %+v, %v; want tokens the refresh rotated", fresh, err)
	}

	t.Run("KeepsAValidToken", func(t *testing.T) {
		if _, err := app.Friends(ctx); client.StatusOf(err) != http.StatusForbidden {
			// Without friends.read: the server saw the token, and said no.
			t.Fatalf("Friends without friends.read: %v, want 403", err)
		}
		if now, err := source.Token(); err != nil || now.AccessToken != fresh.AccessToken {
			t.Errorf("the client refreshed a token still valid: %v", err)
		}
	})
	t.Run("Events", func(t *testing.T) {
		stream, err := app.Events(ctx)
		if err != nil {
			t.Fatalf("Events through the token source: %v", err)
		}
		stream.Close()
	})
	t.Run("RefreshRefused", func(t *testing.T) {
		apps, err := alice.ConnectedApps(ctx)
		if err != nil || len(apps) != 1 {
			t.Fatalf("connected apps %+v, %v", apps, err)
		}
		if err := alice.RevokeGrant(ctx, apps[0].ID); err != nil {
			t.Fatal(err)
		}
		stale := *fresh
		stale.Expiry = time.Now().Add(-time.Minute)
		_, err = env.Client.WithTokenSource(partner.Config.TokenSource(ctx, &stale)).Me(ctx)
		// A 401, as the API's answer to a token whose grant ended, that
		// the member must sign in again: no API call was made.
		var re *oauth2.RetrieveError
		e, isProblem := errors.AsType[*client.Error](err)
		if !isProblem || e.Status != http.StatusUnauthorized || !strings.Contains(e.Detail, "could not be refreshed") ||
			!errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("a request whose refresh is refused: %v, want a 401 that holds the provider's invalid_grant", err)
		}
	})
}

// A refresh the token endpoint throttles comes to the Go client's caller
// as a 429 with its wait, not the 401 of a grant that ended; the same
// refresh token works once the allowance grows back.
func TestClient_TokenSourceThrottledRefreshIsA429(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile", "offline_access"}
	tok := exchange(t, &cfg, apptest.NewBrowser(), "alice", "s")
	for i := 2; i <= 300; i++ { // spend the app's burst of token requests
		if a := basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {tok.AccessToken}}); a.Status != http.StatusOK {
			t.Fatalf("introspection %d: %d", i, a.Status)
		}
	}
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	_, err := env.Client.WithTokenSource(cfg.TokenSource(context.Background(), &stale)).Me(context.Background())
	e, ok := errors.AsType[*client.Error](err)
	if !ok || e.Status != http.StatusTooManyRequests || e.RetryAfter != time.Second {
		t.Errorf("a throttled refresh: %v (status %d), want a 429 *client.Error with RetryAfter 1s", err, client.StatusOf(err))
	}
	// The grant and the refresh token are fine: once the allowance grows
	// back, the same refresh token works.
	env.Clock.Advance(time.Second)
	if _, err := env.Client.WithTokenSource(cfg.TokenSource(context.Background(), &stale)).Me(context.Background()); err != nil {
		t.Fatalf("the refresh after the wait: %v", err)
	}
}

// A refresh the token endpoint refuses for the app's own credentials (its
// secret ended after a rotation: invalid_client) is not the 401 that
// tells an app its member must sign in again: the grant and the refresh
// token are good, and work once the app sends its new secret.
func TestClient_TokenSourceRefusedForTheAppsSecretIsNoEndedGrant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	partner := env.MustPartnerOf(t, "Tunes", "alice")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile", "offline_access"}, apptest.Answer{})
	owner, err := env.Server.Service.Authenticate(ctx, alice.Token())
	if err != nil {
		t.Fatal(err)
	}
	asOwner := parley.NewContextWithCaller(ctx, owner) // on the developer console
	rotated, err := env.Server.Service.RotateAppSecret(asOwner, partner.App.ClientID, nil)
	if err != nil {
		t.Fatal(err)
	}
	apptest.Secret(rotated.ClientSecret)
	if _, err := env.Server.Service.EndOldAppSecret(asOwner, partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	_, err = env.Client.WithTokenSource(partner.Config.TokenSource(ctx, &stale)).Me(ctx)
	var re *oauth2.RetrieveError
	if status := client.StatusOf(err); status != 0 || !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Errorf("a refresh with the app's ended secret: %v (status %d), want an error that holds the provider's invalid_client and no status of the API's", err, status)
	}
	renewed := *partner.Config
	renewed.ClientSecret = rotated.ClientSecret
	if _, err := env.Client.WithTokenSource(renewed.TokenSource(ctx, &stale)).Me(ctx); err != nil {
		t.Fatalf("the same refresh token with the app's new secret: %v", err)
	}
}
