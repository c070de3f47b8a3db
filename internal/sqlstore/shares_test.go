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

// A share link is found by its token's hash with its card's thread and URL,
// which is gone once the card is deleted; its first click is recorded
// once; a report finds the app's links of a time range, the sender's own
// left out; a member's links are found page by page, in the order of
// their cards, with their clicks; a second link of one member to one card
// is ECONFLICT.
func TestShares_LinksClicksAndReportRows(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		alice, bob := newUser("alice"), newUser("bob")
		app := &parley.App{ClientID: parley.NewID(), Name: "Films", OwnerID: alice.ID, RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
		// The thread begins with the early card: a post's time is never
		// before its thread's last activity.
		began := now.Add(-48 * time.Hour)
		th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadDirect, CreatedBy: alice.ID, LastActivityAt: began, CreatedAt: began}
		card := func(at time.Time) *parley.Message {
			return &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: alice.Ref(), Kind: parley.MessageKindShare, CreatedAt: at,
				Via: &parley.Via{ClientID: app.ClientID, Name: app.Name}, Share: &parley.Share{URL: "https://films.example/1", Title: "A film"}}
		}
		early, late := card(began), card(now)
		links := func(m *parley.Message) []parley.ShareLink {
			var out []parley.ShareLink
			for _, u := range []*parley.User{alice, bob} {
				out = append(out, parley.ShareLink{TokenHash: parley.HashToken(m.ID + u.ID), MessageID: m.ID, ClientID: app.ClientID,
					SenderID: alice.ID, UserID: u.ID, SentAt: m.CreatedAt})
			}
			return out
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, err := range []error{tx.CreateUser(ctx, alice, "h"), tx.CreateUser(ctx, bob, "h"), tx.CreateApp(ctx, app, []byte("s")), tx.CreateThread(ctx, th)} {
				if err != nil {
					return err
				}
			}
			for _, m := range []*parley.Message{early, late} {
				if err := tx.PostMessage(ctx, m); err != nil {
					return err
				}
				if err := tx.CreateShareLinks(ctx, links(m)); err != nil {
					return err
				}
			}
			return nil
		})
		bobsLate := parley.HashToken(late.ID + bob.ID)
		if err := db.Write(ctx, func(tx parley.Tx) error {
			return tx.CreateShareLinks(ctx, []parley.ShareLink{{TokenHash: parley.HashToken("other"), MessageID: late.ID,
				ClientID: app.ClientID, SenderID: alice.ID, UserID: bob.ID, SentAt: now}})
		}); parley.ErrorCode(err) != parley.ECONFLICT {
			t.Fatalf("a second link of bob's to a card: %v, want ECONFLICT", err)
		}

		click := func(at time.Time) bool {
			var first bool
			mustWrite(t, db, func(tx parley.Tx) (err error) {
				first, err = tx.ClickShareLink(ctx, bobsLate, at)
				return err
			})
			return first
		}
		clickedAt := now.Add(time.Minute)
		if !click(clickedAt) || click(clickedAt.Add(time.Minute)) {
			t.Fatal("the first click must count, and only it")
		}
		var target *parley.ShareTarget
		var window []parley.ShareLink
		err := db.Read(ctx, func(tx parley.Tx) (err error) {
			if target, err = tx.FindShareTarget(ctx, bobsLate); err != nil {
				return err
			}
			if _, err := tx.FindShareTarget(ctx, parley.HashToken("nobody's")); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("an unknown token: %v, want ENOTFOUND", err)
			}
			window, err = tx.FindShareLinks(ctx, app.ClientID, now.Add(-time.Hour), now.Add(time.Hour))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		l := target.Link
		if target.URL != "https://films.example/1" || target.ThreadID != th.ID || l.MessageID != late.ID || l.UserID != bob.ID ||
			l.SenderID != alice.ID || l.ClientID != app.ClientID || !l.SentAt.Equal(now) || l.ClickedAt == nil || !l.ClickedAt.Equal(clickedAt) {
			t.Fatalf("target %+v, link %+v", target, l)
		}
		if len(window) != 1 || window[0].UserID != bob.ID || window[0].MessageID != late.ID || window[0].ClickedAt == nil {
			t.Fatalf("links of the last hour: %+v, want bob's link to the late card alone", window)
		}
		var bobs []parley.ShareLink
		err = db.Read(ctx, func(tx parley.Tx) error {
			for after := ""; ; {
				page, err := tx.FindReceivedShareLinks(ctx, bob.ID, after, 1)
				if err != nil || len(page) == 0 {
					return err
				}
				bobs = append(bobs, page...)
				after = page[len(page)-1].MessageID
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(bobs) != 2 || bobs[0].MessageID != early.ID || bobs[0].ClickedAt != nil || bobs[1].MessageID != late.ID ||
			bobs[1].ClickedAt == nil || !bobs[1].ClickedAt.Equal(clickedAt) || bobs[1].ClientID != app.ClientID || !bobs[1].SentAt.Equal(now) {
			t.Fatalf("bob's links page by page: %+v, want the early card's, not followed, then the late one's, followed at %v", bobs, clickedAt)
		}

		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteMessage(ctx, late.ID, now) })
		err = db.Read(ctx, func(tx parley.Tx) (err error) {
			target, err = tx.FindShareTarget(ctx, bobsLate)
			return err
		})
		if err != nil || target.URL != "" {
			t.Fatalf("a deleted card's link: %+v, %v; want it found without a URL", target, err)
		}

		// A deleted member's link counts no click.
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EraseUser(ctx, bob.ID, now) })
		bobsEarly := parley.HashToken(early.ID + bob.ID)
		mustWrite(t, db, func(tx parley.Tx) error {
			if first, err := tx.ClickShareLink(ctx, bobsEarly, now); err != nil || first {
				t.Errorf("a click on a deleted member's link: counted %v, %v; want not counted", first, err)
			}
			return nil
		})
	})
}

// An app's own token is found by its hash with its app; making one forgets
// those that expired; a deleted one is gone.
func TestShares_ClientTokens(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		app := &parley.App{ClientID: parley.NewID(), Name: "Films", RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
		old := &parley.ClientToken{Hash: parley.HashToken("old"), ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeReportsRead},
			CreatedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(-2 * time.Hour)}
		fresh := &parley.ClientToken{Hash: parley.HashToken("fresh"), ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeReportsRead},
			CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateApp(ctx, app, []byte("s")) })
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateClientToken(ctx, old) })
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateClientToken(ctx, fresh) })
		err := db.Read(ctx, func(tx parley.Tx) error {
			got, gotApp, err := tx.FindClientToken(ctx, fresh.Hash)
			if err != nil {
				return err
			}
			if got.ClientID != app.ClientID || !got.Scopes.Has(parley.ScopeReportsRead) || len(got.Scopes) != 1 ||
				!got.ExpiresAt.Equal(fresh.ExpiresAt) || gotApp.ClientID != app.ClientID {
				t.Errorf("token %+v of app %+v", got, gotApp)
			}
			if _, _, err := tx.FindClientToken(ctx, old.Hash); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("an expired token after a new one was made: %v, want ENOTFOUND", err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteClientToken(ctx, fresh.Hash) })
		err = db.Read(ctx, func(tx parley.Tx) error {
			_, _, err := tx.FindClientToken(ctx, fresh.Hash)
			return err
		})
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("a deleted token: %v, want ENOTFOUND", err)
		}
	})
}

// An app's own token is forgotten when the secret it was got with ends: a
// rotation ends the secret an earlier one replaced, and stopping the old
// secret ends the one the latest replaced; a token got with a secret that
// still works stays.
func TestShares_ClientTokensEndWithTheirSecret(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		app := &parley.App{ClientID: parley.NewID(), Name: "Films", RedirectURIs: []string{"https://films.example/cb"},
			ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateApp(ctx, app, hashOf("first")) })
		secretOf := map[string]string{}
		got := func(token, secret string) {
			secretOf[token] = secret
			mustWrite(t, db, func(tx parley.Tx) error {
				return tx.CreateClientToken(ctx, &parley.ClientToken{Hash: hashOf(token), ClientID: app.ClientID,
					Scopes: parley.Scopes{parley.ScopeReportsRead}, SecretHash: hashOf(secret), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
			})
		}
		want := func(when string, live ...string) {
			t.Helper()
			err := db.Read(ctx, func(tx parley.Tx) error {
				for token, secret := range secretOf {
					ct, _, err := tx.FindClientToken(ctx, hashOf(token))
					switch {
					case err == nil && !slices.Contains(live, token):
						t.Errorf("%s: token %s, got with secret %s, is still there", when, token, secret)
					case err == nil && !bytes.Equal(ct.SecretHash, hashOf(secret)):
						t.Errorf("%s: token %s has secret hash %x, want that of %s", when, token, ct.SecretHash, secret)
					case parley.ErrorCode(err) == parley.ENOTFOUND && slices.Contains(live, token):
						t.Errorf("%s: token %s, got with secret %s, is gone", when, token, secret)
					case err != nil && parley.ErrorCode(err) != parley.ENOTFOUND:
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}

		got("a", "first")
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.RotateAppSecret(ctx, app.ClientID, hashOf("second"), now.Add(parley.AppSecretRotation))
		})
		want("the first rotation", "a")
		got("b", "first")
		got("c", "second")
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.RotateAppSecret(ctx, app.ClientID, hashOf("third"), now.Add(parley.AppSecretRotation))
		})
		want("a second rotation", "c")
		got("d", "third")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EndOldAppSecret(ctx, app.ClientID) })
		want("the old secret stopped", "d")
	})
}
