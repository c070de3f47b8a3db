package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestEventTickets_SingleUse: a ticket is taken once; taking it again is
// not found, and making a ticket clears those that expired.
func TestEventTickets_SingleUse(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testEventTickets_SingleUse)
}

func testEventTickets_SingleUse(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	u := newUser("alice")
	now := parley.Now()
	fresh := &parley.EventTicket{Hash: parley.HashToken("fresh"), UserID: u.ID, SessionHash: parley.HashToken("s"), ExpiresAt: now.Add(parley.EventTicketTTL)}
	stale := &parley.EventTicket{Hash: parley.HashToken("stale"), UserID: u.ID, SessionHash: parley.HashToken("s"), ExpiresAt: now.Add(-time.Second)}
	mustWrite(t, db, func(tx parley.Tx) error {
		if err := tx.CreateUser(ctx, u, "hash"); err != nil {
			return err
		}
		if err := tx.CreateEventTicket(ctx, stale, now.Add(-time.Minute)); err != nil {
			return err
		}
		return tx.CreateEventTicket(ctx, fresh, now)
	})
	take := func(hash []byte) (*parley.EventTicket, error) {
		var et *parley.EventTicket
		err := db.Write(ctx, func(tx parley.Tx) (err error) {
			et, err = tx.TakeEventTicket(ctx, hash)
			return err
		})
		return et, err
	}
	et, err := take(fresh.Hash)
	if err != nil || et.UserID != u.ID || string(et.SessionHash) != string(fresh.SessionHash) || et.TokenHash != nil || !et.ExpiresAt.Equal(fresh.ExpiresAt) {
		t.Fatalf("took %+v, %v", et, err)
	}
	if _, err := take(fresh.Hash); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("taken twice: %v, want ENOTFOUND", err)
	}
	if _, err := take(stale.Hash); parley.ErrorCode(err) != parley.ENOTFOUND {
		t.Fatalf("an expired ticket outlived the next one made: %v", err)
	}
}

// TestAccessVersion_MovesWhenAccessMayEnd: the version moves when a grant
// ends, an app's state changes, a token is revoked or a thread closed to
// apps, and not for changes that end no access.
func TestAccessVersion_MovesWhenAccessMayEnd(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, testAccessVersion_MovesWhenAccessMayEnd)
}

func testAccessVersion_MovesWhenAccessMayEnd(t *testing.T, db *sqlstore.DB) {
	ctx := context.Background()
	now := parley.Now()
	u := newUser("alice")
	app := &parley.App{ClientID: "pc_x", Name: "X", RedirectURIs: []string{"https://x.example/cb"}, ClientType: parley.ClientPublic, State: parley.AppActive, CreatedAt: now}
	g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeMessagesRead}, ThreadScope: parley.ThreadScopeApp, CreatedAt: now, UpdatedAt: now}
	tok := &parley.OAuthToken{Hash: parley.HashToken("t"), Kind: parley.TokenAccess, FamilyID: "f", GrantID: g.ID, ClientID: app.ClientID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	th := &parley.Thread{ID: parley.NewID(), Kind: parley.ThreadGroup, Title: "t", CreatedBy: u.ID, LastActivityAt: now, CreatedAt: now}
	mustWrite(t, db, func(tx parley.Tx) error {
		for _, err := range []error{tx.CreateUser(ctx, u, "hash"), tx.CreateApp(ctx, app, nil), tx.CreateGrant(ctx, g), tx.CreateToken(ctx, tok), tx.CreateThread(ctx, th)} {
			if err != nil {
				return err
			}
		}
		return nil
	})
	version := func() int64 {
		var v int64
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { v, err = tx.FindAccessVersion(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, step := range []struct {
		name  string
		moves bool
		write func(tx parley.Tx) error
	}{
		{"GrantTouched", false, func(tx parley.Tx) error {
			g.UpdatedAt = now.Add(time.Second)
			return tx.UpdateGrant(ctx, g)
		}},
		{"ThreadAdded", false, func(tx parley.Tx) error {
			_, err := tx.AddGrantThread(ctx, parley.GrantThread{GrantID: g.ID, ThreadID: th.ID, VisibleFromSeq: 1})
			return err
		}},
		{"AppApproved", false, func(tx parley.Tx) error { return tx.UpdateAppReview(ctx, app.ClientID, parley.AppActive, true) }},
		{"GrantScopesChanged", true, func(tx parley.Tx) error {
			g.Scopes = parley.Scopes{parley.ScopeMessagesRead, parley.ScopeThreadsRead}
			return tx.UpdateGrant(ctx, g)
		}},
		{"GrantThreadsChanged", true, func(tx parley.Tx) error {
			g.ThreadScope = parley.ThreadScopeSelected
			return tx.UpdateGrant(ctx, g)
		}},
		{"ThreadRemoved", true, func(tx parley.Tx) error { return tx.RemoveGrantThread(ctx, g.ID, th.ID) }},
		{"ThreadClosed", true, func(tx parley.Tx) error { _, err := tx.CloseThreadToApps(ctx, th.ID, u.ID, now); return err }},
		{"TokenRevoked", true, func(tx parley.Tx) error { return tx.RevokeToken(ctx, tok.Hash, now) }},
		{"AppSuspended", true, func(tx parley.Tx) error { return tx.UpdateAppReview(ctx, app.ClientID, parley.AppSuspended, true) }},
		{"GrantRevoked", true, func(tx parley.Tx) error {
			g.RevokedAt = &now
			return tx.UpdateGrant(ctx, g)
		}},
	} {
		before := version()
		mustWrite(t, db, step.write)
		if moved := version() != before; moved != step.moves {
			t.Errorf("%s: version moved %v, want %v", step.name, moved, step.moves)
		}
	}
}

func mustWrite(t *testing.T, db *sqlstore.DB, fn func(tx parley.Tx) error) {
	t.Helper()
	if err := db.Write(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}
