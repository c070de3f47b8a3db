package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Authorization requests are pruned by two rules: one never answered with
// a code goes once its life is over, one answered stays a day, and longer
// while a token it issued is in force.
func TestDeleteAuthRequestsBefore_UnansweredGoFirst(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := mustUsers(t, db, "alice")[0]
		now := parley.Now()
		app, grant := filmsGrant(alice, now)
		request := func(age time.Duration, answered bool) *parley.AuthRequest {
			r := &parley.AuthRequest{ID: parley.NewID(), ClientID: app.ClientID, RedirectURI: app.RedirectURIs[0],
				Scopes: grant.Scopes, ResponseMode: "query", CodeChallenge: "challenge", CreatedAt: now.Add(-age)}
			if answered {
				r.UserID, r.GrantID, r.CodeHash = alice, grant.ID, hashOf(r.ID)
			}
			return r
		}
		open := request(time.Minute, false)
		openTooLong := request(time.Hour, false)
		answered := request(time.Hour, true)
		answeredLongAgo := request(48*time.Hour, true)
		inForce := request(48*time.Hour, true) // its refresh token is in force
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateApp(ctx, app, hashOf("secret")); err != nil {
				return err
			}
			if err := tx.CreateGrant(ctx, grant); err != nil {
				return err
			}
			for _, r := range []*parley.AuthRequest{open, openTooLong, answered, answeredLongAgo, inForce} {
				code := r.CodeHash
				r.UserID, r.GrantID, r.CodeHash = "", "", nil
				if err := tx.CreateAuthRequest(ctx, r); err != nil {
					return err
				}
				if code != nil {
					r.UserID, r.GrantID, r.CodeHash = alice, grant.ID, code
					if err := tx.UpdateAuthRequest(ctx, r); err != nil {
						return err
					}
				}
			}
			return tx.CreateToken(ctx, &parley.OAuthToken{Hash: hashOf("refresh"), Kind: parley.TokenRefresh, FamilyID: inForce.ID,
				GrantID: grant.ID, ClientID: app.ClientID, UserID: alice, Scopes: grant.Scopes, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.DeleteAuthRequestsBefore(ctx, now.Add(-24*time.Hour), now.Add(-parley.AuthRequestTTL))
		})
		err := db.Read(ctx, func(tx parley.Tx) error {
			for _, want := range []struct {
				name string
				r    *parley.AuthRequest
				kept bool
			}{{"open", open, true}, {"open too long", openTooLong, false}, {"answered", answered, true},
				{"answered long ago", answeredLongAgo, false}, {"answered long ago, a token in force", inForce, true}} {
				_, err := tx.FindAuthRequest(ctx, want.r.ID)
				if found := err == nil; found != want.kept {
					t.Errorf("%s: found %v (%v), want %v", want.name, found, err, want.kept)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Tokens expired before the time given go, used, revoked or not; the
// others stay.
func TestDeleteTokensExpiredBefore(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		alice := mustUsers(t, db, "alice")[0]
		now := parley.Now()
		app, grant := filmsGrant(alice, now)
		expiring := map[string]time.Duration{"long expired": -48 * time.Hour, "just expired": -time.Minute, "in force": time.Hour}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateApp(ctx, app, hashOf("secret")); err != nil {
				return err
			}
			if err := tx.CreateGrant(ctx, grant); err != nil {
				return err
			}
			for name, in := range expiring {
				err := tx.CreateToken(ctx, &parley.OAuthToken{Hash: hashOf(name), Kind: parley.TokenRefresh, FamilyID: "family",
					GrantID: grant.ID, ClientID: app.ClientID, UserID: alice, Scopes: grant.Scopes, CreatedAt: now.Add(-72 * time.Hour),
					ExpiresAt: now.Add(in)})
				if err != nil {
					return err
				}
			}
			_, err := tx.UseToken(ctx, hashOf("long expired"), now.Add(-60*time.Hour))
			return err
		})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteTokensExpiredBefore(ctx, now.Add(-24*time.Hour)) })
		err := db.Read(ctx, func(tx parley.Tx) error {
			for name := range expiring {
				_, err := tx.FindTokenGrant(ctx, hashOf(name))
				if found, want := err == nil, name != "long expired"; found != want {
					t.Errorf("%s: found %v (%v), want %v", name, found, err, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// filmsGrant returns an app, Films, and the grant of openid member gave it
// at now, to store.
func filmsGrant(member string, now time.Time) (*parley.App, *parley.Grant) {
	app := &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: member, RedirectURIs: []string{"https://films.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
	grant := &parley.Grant{ID: parley.NewID(), UserID: member, ClientID: app.ClientID, Scopes: parley.ParseScopes("openid"),
		ThreadScope: parley.ThreadScopeApp, CreatedAt: now, UpdatedAt: now}
	return app, grant
}
