package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// An app is found by its name as parley.AppNameKey folds it, while it is
// not deleted, the oldest of a name first. Of the apps that claim their
// name, only one of a key may be live: a second claim is ECONFLICT, and a
// deleted app's name is free to claim again. An app that claims no name
// (an operator's) shares one.
func TestAppNames_FoundAndClaimedByKey(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		newApp := func(name string, at time.Duration) *parley.App {
			return &parley.App{ClientID: parley.NewID(), Name: name, RedirectURIs: []string{"https://films.example/cb"},
				ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now.Add(at)}
		}
		films, again, operators := newApp("Films", 0), newApp("ＦＩＬＭＳ", time.Second), newApp("films", 2*time.Second)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, a := range []*parley.App{films, again, operators} {
				if err := tx.CreateApp(ctx, a, nil); err != nil {
					return err
				}
			}
			return tx.ClaimAppName(ctx, films.ClientID)
		})
		found := func(name string) string {
			t.Helper()
			var app *parley.App
			err := db.Read(ctx, func(tx parley.Tx) (err error) {
				app, err = tx.FindLiveAppByName(ctx, name)
				return err
			})
			if parley.ErrorCode(err) == parley.ENOTFOUND {
				return ""
			} else if err != nil {
				t.Fatal(err)
			}
			return app.ClientID
		}
		if got := found(" fIlMs "); got != films.ClientID {
			t.Errorf("app named like \" fIlMs \": %s, want Films, the oldest, %s", got, films.ClientID)
		}
		err := db.Write(ctx, func(tx parley.Tx) error { return tx.ClaimAppName(ctx, again.ClientID) })
		if parley.ErrorCode(err) != parley.ECONFLICT {
			t.Fatalf("a second live claim of the name: %v, want ECONFLICT", err)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.UpdateAppReview(ctx, films.ClientID, parley.AppDeleted, false); err != nil {
				return err
			}
			return tx.ClaimAppName(ctx, again.ClientID)
		})
		if got := found("films"); got != again.ClientID {
			t.Errorf("with Films deleted, the app named films: %s, want the next oldest, %s", got, again.ClientID)
		}
		if got := found("Tunes"); got != "" {
			t.Errorf("an app named Tunes: %s, want none", got)
		}
	})
}

// A member's apps are counted: those not deleted, and those registered
// after a moment, deleted or not, with when the earliest of them was.
func TestAppNames_CountsAnOwnersApps(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now().Truncate(time.Microsecond)
		alice, bob := newUser("alice"), newUser("bob")
		var apps []*parley.App
		for i, owner := range []string{alice.ID, alice.ID, alice.ID, bob.ID} {
			apps = append(apps, &parley.App{ClientID: parley.NewID(), Name: "App", OwnerID: owner, RedirectURIs: []string{"https://a.example/cb"},
				ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now.Add(time.Duration(i) * time.Hour)})
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, err := range []error{tx.CreateUser(ctx, alice, "h"), tx.CreateUser(ctx, bob, "h")} {
				if err != nil {
					return err
				}
			}
			for _, a := range apps {
				if err := tx.CreateApp(ctx, a, nil); err != nil {
					return err
				}
			}
			return tx.UpdateAppReview(ctx, apps[2].ClientID, parley.AppDeleted, false)
		})
		err := db.Read(ctx, func(tx parley.Tx) error {
			if n, err := tx.CountLiveApps(ctx, alice.ID); err != nil || n != 2 {
				t.Errorf("alice's live apps: %d, %v; want 2", n, err)
			}
			if n, first, err := tx.CountAppsRegisteredSince(ctx, alice.ID, now); err != nil || n != 2 || !first.Equal(now.Add(time.Hour)) {
				t.Errorf("alice's apps registered after her first: %d, the first at %v, %v; want 2, the first at %v", n, first, err, now.Add(time.Hour))
			}
			if n, first, err := tx.CountAppsRegisteredSince(ctx, alice.ID, now.Add(2*time.Hour)); err != nil || n != 0 || !first.IsZero() {
				t.Errorf("alice's apps registered after her last: %d, the first at %v, %v; want none", n, first, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// Migration 0068 keys the names of apps stored before it, which opening
// the store fills in from Go (parley.AppNameKey), so that a registration
// finds them by their name.
func TestMigration0068_FillsAppNameKeys(t *testing.T) {
	t.Parallel()
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db, open := atVersion(t, engine, 67)
			execAll(t, db,
				`INSERT INTO apps (client_id, name, redirect_uris, client_type, state, created_at) VALUES ('pc_a', 'Ｆｉｌｍｓ', 'https://f.example/cb', 'public', 'active', 1)`,
			)
			store := open()
			defer store.Close()
			var app *parley.App
			err := store.Read(ctx, func(tx parley.Tx) (err error) {
				app, err = tx.FindLiveAppByName(ctx, "films")
				return err
			})
			if err != nil || app.ClientID != "pc_a" {
				t.Fatalf("the app stored before the migration, by its name: %v, %v; want pc_a", app, err)
			}
		})
	}
}
