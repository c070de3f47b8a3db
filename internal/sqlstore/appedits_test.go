package sqlstore_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// An owner's edits of an app and a member's narrowing of a grant: redirect
// URIs are replaced; a confidential client's secret hash is rotated (see
// TestAppSecretRotation) and a public client, which has none, is ENOTFOUND; a thread taken out of a
// grant is no longer listed nor reached, and taking out one the grant does
// not list is ENOTFOUND. An unknown app is ENOTFOUND.
func TestAppEditsAndGrantThreads(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		alice := newUser("alice")
		app := &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: alice.ID, RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
		public := &parley.App{ClientID: parley.NewID(), Name: "Pocket", OwnerID: alice.ID, RedirectURIs: []string{"https://pocket.example/cb"},
			ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
		th1 := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: alice.ID, LastActivityAt: now, CreatedAt: now}
		th2 := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: alice.ID, LastActivityAt: now, CreatedAt: now.Add(1)}
		g := &parley.Grant{ID: parley.NewID(), UserID: alice.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
			ThreadScope: parley.ThreadScopeSelected, CreatedAt: now, UpdatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			addGrantThread := func(gt parley.GrantThread) error {
				_, err := tx.AddGrantThread(ctx, gt)
				return err
			}
			for _, err := range []error{tx.CreateUser(ctx, alice, "h"), tx.CreateApp(ctx, app, []byte("old")), tx.CreateApp(ctx, public, nil),
				tx.CreateThread(ctx, th1), tx.CreateThread(ctx, th2), tx.CreateGrant(ctx, g),
				addGrantThread(parley.GrantThread{GrantID: g.ID, ThreadID: th1.ID}),
				addGrantThread(parley.GrantThread{GrantID: g.ID, ThreadID: th2.ID, VisibleFromSeq: 4})} {
				if err != nil {
					return err
				}
			}
			return nil
		})

		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.UpdateAppRedirectURIs(ctx, app.ClientID, []string{"https://films.example/a", "https://films.example/b"}); err != nil {
				return err
			}
			return tx.RotateAppSecret(ctx, app.ClientID, []byte("new"), now.Add(parley.AppSecretRotation))
		})
		mustWrite(t, db, func(tx parley.Tx) error {
			got, err := tx.FindAppByClientID(ctx, app.ClientID)
			if err != nil {
				return err
			}
			if !slices.Equal(got.RedirectURIs, []string{"https://films.example/a", "https://films.example/b"}) {
				t.Errorf("redirect URIs: %q", got.RedirectURIs)
			}
			hash, _, err := tx.FindAppSecretHashes(ctx, app.ClientID)
			if err != nil || !bytes.Equal(hash, []byte("new")) {
				t.Errorf("secret hash: %q, %v", hash, err)
			}
			for name, err := range map[string]error{
				"PublicSecret":    tx.RotateAppSecret(ctx, public.ClientID, []byte("x"), now),
				"PublicOldSecret": tx.EndOldAppSecret(ctx, public.ClientID),
				"UnknownApp":      tx.UpdateAppRedirectURIs(ctx, "nope", []string{"https://x.example/cb"}),
				"UnknownAppHash":  tx.RotateAppSecret(ctx, "nope", []byte("x"), now),
				"UnknownAppEnd":   tx.EndOldAppSecret(ctx, "nope"),
				"ThreadNotListed": tx.RemoveGrantThread(ctx, g.ID, parley.NewID()),
			} {
				if parley.ErrorCode(err) != parley.ENOTFOUND {
					t.Errorf("%s: %v, want ENOTFOUND", name, err)
				}
			}
			return tx.RemoveGrantThread(ctx, g.ID, th2.ID)
		})
		mustWrite(t, db, func(tx parley.Tx) error {
			list, err := tx.FindGrantThreads(ctx, g.ID)
			if err != nil || len(list) != 1 || list[0].ThreadID != th1.ID {
				t.Errorf("grant threads after removing one: %+v, %v", list, err)
			}
			reach, err := tx.FindThreadReach(ctx, g.ID, th2.ID)
			if err != nil || reach.InGrant {
				t.Errorf("the removed thread's reach: %+v, %v", reach, err)
			}
			hash, old, err := tx.FindAppSecretHashes(ctx, public.ClientID)
			if err != nil || hash != nil || old != nil {
				t.Errorf("the public client's secret hashes: %q, %q, %v", hash, old, err)
			}
			return nil
		})
	})
}

// A rotation keeps the replaced secret's hash, and until when it lasts,
// beside the new one; a second rotation replaces it with the one it
// replaces, so only the latest replaced secret lasts; ending it forgets the
// hash and the time. The app's OldSecretUntil says the same.
func TestAppSecretRotation(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now().Truncate(time.Microsecond)
		alice := newUser("alice")
		app := &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: alice.ID, RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, alice, "h"); err != nil {
				return err
			}
			return tx.CreateApp(ctx, app, []byte("first"))
		})
		want := func(name, hash, old string, until *time.Time) {
			t.Helper()
			mustWrite(t, db, func(tx parley.Tx) error {
				h, o, err := tx.FindAppSecretHashes(ctx, app.ClientID)
				if err != nil || string(h) != hash || string(o) != old || (o == nil) != (old == "") {
					t.Errorf("%s: hashes %q, %q, %v; want %q, %q", name, h, o, err, hash, old)
				}
				got, err := tx.FindAppByClientID(ctx, app.ClientID)
				if err != nil {
					return err
				}
				if (got.OldSecretUntil == nil) != (until == nil) || until != nil && !got.OldSecretUntil.Equal(*until) {
					t.Errorf("%s: OldSecretUntil %v, want %v", name, got.OldSecretUntil, until)
				}
				return nil
			})
		}
		want("New", "first", "", nil)

		until := now.Add(parley.AppSecretRotation)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RotateAppSecret(ctx, app.ClientID, []byte("second"), until) })
		want("Rotated", "second", "first", &until)

		later := until.Add(time.Hour)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RotateAppSecret(ctx, app.ClientID, []byte("third"), later) })
		want("RotatedAgain", "third", "second", &later)

		mustWrite(t, db, func(tx parley.Tx) error { return tx.EndOldAppSecret(ctx, app.ClientID) })
		want("Ended", "third", "", nil)
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EndOldAppSecret(ctx, app.ClientID) })
		want("EndedAgain", "third", "", nil)
	})
}

// An app registered with a key is found by its owner's key, and by no
// other member's; the owner's key registers one app, another with it is
// ECONFLICT, while another member may use the same key. An unknown app is
// ENOTFOUND.
func TestAppRegistrationKeys(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		alice, bob := newUser("alice"), newUser("bob")
		newApp := func(owner *parley.User) *parley.App {
			return &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: owner.ID, RedirectURIs: []string{"https://films.example/cb"},
				ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
		}
		first, second, bobs := newApp(alice), newApp(alice), newApp(bob)
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, err := range []error{tx.CreateUser(ctx, alice, "h"), tx.CreateUser(ctx, bob, "h"),
				tx.CreateApp(ctx, first, nil), tx.CreateApp(ctx, second, nil), tx.CreateApp(ctx, bobs, nil),
				tx.SetAppRegistrationKey(ctx, first.ClientID, "k"), tx.SetAppRegistrationKey(ctx, bobs.ClientID, "k")} {
				if err != nil {
					return err
				}
			}
			return nil
		})
		err := db.Write(ctx, func(tx parley.Tx) error { return tx.SetAppRegistrationKey(ctx, second.ClientID, "k") })
		if parley.ErrorCode(err) != parley.ECONFLICT {
			t.Errorf("a second app with alice's key: %v, want ECONFLICT", err)
		}
		err = db.Write(ctx, func(tx parley.Tx) error { return tx.SetAppRegistrationKey(ctx, "nope", "other") })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("the key of an unknown app: %v, want ENOTFOUND", err)
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for owner, want := range map[*parley.User]string{alice: first.ClientID, bob: bobs.ClientID} {
				if got, err := tx.FindAppByRegistrationKey(ctx, owner.ID, "k"); err != nil || got.ClientID != want {
					t.Errorf("%s's key finds %+v, %v; want %s", owner.Username, got, err, want)
				}
			}
			if _, err := tx.FindAppByRegistrationKey(ctx, alice.ID, "other"); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("a key alice did not use: %v, want ENOTFOUND", err)
			}
			return nil
		})
	})
}

// A thread the member takes out of a grant stays out for the grant's
// life: the grant remembers it (ThreadReach.TakenOut) and AddGrantThread
// brings it back no more, reporting false; the grant's other threads, and
// another grant of the same member and app made after it ended, are as
// they were: a new grant starts with nothing taken out.
func TestGrantThreads_TakenOutStaysOut(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		alice := newUser("alice")
		app := &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: alice.ID, RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
		th1 := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: alice.ID, LastActivityAt: now, CreatedAt: now}
		th2 := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: alice.ID, LastActivityAt: now, CreatedAt: now.Add(1)}
		g := &parley.Grant{ID: parley.NewID(), UserID: alice.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
			ThreadScope: parley.ThreadScopeApp, CreatedAt: now, UpdatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, err := range []error{tx.CreateUser(ctx, alice, "h"), tx.CreateApp(ctx, app, []byte("s")),
				tx.CreateThread(ctx, th1), tx.CreateThread(ctx, th2), tx.CreateGrant(ctx, g)} {
				if err != nil {
					return err
				}
			}
			for _, th := range []*parley.Thread{th1, th2} {
				if _, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: th.ID, VisibleFromSeq: 1}); err != nil {
					return err
				}
			}
			return nil
		})
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RemoveGrantThread(ctx, g.ID, th2.ID) })
		mustWrite(t, db, func(tx parley.Tx) error {
			added, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: th2.ID, VisibleFromSeq: 9})
			if err != nil || added {
				t.Errorf("bringing the taken-out thread back: added %v, %v; want false", added, err)
			}
			return nil
		})
		mustWrite(t, db, func(tx parley.Tx) error {
			list, err := tx.FindGrantThreads(ctx, g.ID)
			if err != nil || len(list) != 1 || list[0].ThreadID != th1.ID {
				t.Errorf("grant threads: %+v, %v; want only the one kept", list, err)
			}
			if r, err := tx.FindThreadReach(ctx, g.ID, th2.ID); err != nil || !r.TakenOut || r.InGrant {
				t.Errorf("the taken-out thread's reach: %+v, %v; want taken out, not in the grant", r, err)
			}
			if r, err := tx.FindThreadReach(ctx, g.ID, th1.ID); err != nil || r.TakenOut || !r.InGrant {
				t.Errorf("the kept thread's reach: %+v, %v; want in the grant, not taken out", r, err)
			}
			// The grant ends; the member connects the app again.
			g.RevokedAt = &now
			return tx.UpdateGrant(ctx, g)
		})
		g2 := &parley.Grant{ID: parley.NewID(), UserID: alice.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID},
			ThreadScope: parley.ThreadScopeApp, CreatedAt: now, UpdatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateGrant(ctx, g2); err != nil {
				return err
			}
			if r, err := tx.FindThreadReach(ctx, g2.ID, th2.ID); err != nil || r.TakenOut {
				t.Errorf("a new grant's reach of the thread the old one lost: %+v, %v; want not taken out", r, err)
			}
			added, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g2.ID, ThreadID: th2.ID, VisibleFromSeq: 9})
			if err != nil || !added {
				t.Errorf("a new grant bringing the thread in: added %v, %v; want true", added, err)
			}
			return nil
		})
	})
}
