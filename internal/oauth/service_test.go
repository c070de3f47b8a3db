package oauth_test

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// TestUserinfo_IsAProfileRead: the provider answers through the service, so
// userinfo is logged in the member's access log as GET /api/v1/me is.
func TestUserinfo_IsAProfileRead(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	var info map[string]any
	if err := bearerJSON(env.URL+"/oauth2/userinfo", tok.AccessToken, &info); err != nil {
		t.Fatal(err)
	}
	var page service.AccessLogPage
	if _, err := alice.Do(context.Background(), "GET", "/api/v1/me/access-log", nil, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) == 0 {
		t.Fatal("nothing logged")
	}
	e := page.Entries[0]
	if e.Action != "profile" || e.ClientID != partner.App.ClientID {
		t.Errorf("newest entry %s by %s, want the profile read by %s", e.Action, e.ClientID, partner.App.ClientID)
	}
}

// TestRefresh_AccessTokenEndsWithItsGrant: an access token issued within
// an hour of its grant's end is issued until that end, not for the hour:
// expires_in tells the app when the token stops working. (The library
// counts expires_in from the machine's clock, which the test's server
// clock runs 30 days less 10 minutes ahead of here: expires_in is then 30
// days, where a token issued for the hour would say 30 days and 50
// minutes.)
func TestRefresh_AccessTokenEndsWithItsGrant(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "messages.read", "offline_access"}, apptest.Answer{Expiry: "30d"})
	env.Clock.Advance(30*24*time.Hour - 10*time.Minute)
	refreshed, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if life, grantLeft := time.Duration(refreshed.ExpiresIn)*time.Second, 30*24*time.Hour; life > grantLeft {
		t.Fatalf("an access token issued 10 minutes before its grant ends says it lasts %v more than the grant", life-grantLeft)
	}
}
