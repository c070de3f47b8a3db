package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
	"golang.org/x/oauth2"
)

// TestTokens_DiskFullKeepsTheRefreshToken: a refresh the full disk refuses
// is server_error with 507, not invalid_grant, which would tell the app its
// member's grant is gone; once space is freed, the same refresh token
// works.
func TestTokens_DiskFullKeepsTheRefreshToken(t *testing.T) {
	t.Parallel()
	disk := sqlstoretest.SmallDisk(t, 8<<20)
	env := apptest.Start(t, func(c *config.Config) { c.Database, c.DataDir = "", disk })
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})

	free := sqlstoretest.Fill(t, disk)
	// Refreshes may go on into room the database already has; then they
	// are refused.
	var refused *oauth2.RetrieveError
	for i := 0; refused == nil; i++ {
		if i == 200 {
			t.Fatal("200 refreshes on a full disk, none refused")
		}
		fresh, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err == nil {
			tok = fresh
		} else if !errors.As(err, &refused) {
			t.Fatal(err)
		}
	}
	if refused.Response.StatusCode != http.StatusInsufficientStorage || refused.ErrorCode != "server_error" {
		t.Fatalf("a refresh on a full disk: %d %s %s", refused.Response.StatusCode, refused.ErrorCode, refused.ErrorDescription)
	}

	free()
	if _, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("the refresh token once space is freed: %v", err)
	}
}
