package oauth_test

import (
	"context"
	"testing"

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
