package service

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestApprove_DisabledMemberGrantsNothing: a consent that reaches the store
// after an operator disabled the member (her session read just before,
// say, on another node) grants nothing and issues no code: no app gains
// access to a disabled account, whichever of the two comes first.
func TestApprove_DisabledMemberGrantsNothing(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		ann, req := pendingConsent(t, db, now)
		s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
		if _, err := s.SetDisabled(ConsoleContext(ctx), "ann", true); err != nil {
			t.Fatal(err)
		}
		annCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: ann.Ref(), SignedInAt: now})
		approved, err := s.Approve(annCtx, req.ID, Decision{ThreadScope: parley.ThreadScopeApp})
		if parley.ErrorCode(err) != parley.EUNAUTHORIZED {
			t.Errorf("a disabled member's consent: %+v, %v; want EUNAUTHORIZED", approved, err)
		}
		var grants []*parley.Grant
		var stored *parley.AuthRequest
		err = db.Read(ctx, func(tx parley.Tx) (err error) {
			if grants, err = tx.FindActiveGrants(ctx, ann.ID, parley.Now()); err != nil {
				return err
			}
			stored, err = tx.FindAuthRequest(ctx, req.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(grants) != 0 {
			t.Errorf("a member disabled before her consent has a grant in force: %+v", grants[0])
		}
		if stored.ApprovedAt != nil {
			t.Errorf("the request of a disabled member's consent was approved at %v", stored.ApprovedAt)
		}
	})
}

// An expiry not among the consent screen's choices is refused in words
// that list them, as the table in the domain has them.
func TestApprove_ExpiryChoicesInWords(t *testing.T) {
	if got, want := expiryChoices(), "30 days, 90 days or until revoked"; got != want {
		t.Errorf("the choices read %q, want %q", got, want)
	}
}

// TestApprove_ConsentsAtOnceStopAtMaxConnectedApps: consents to several
// apps at once, each a request of its own, from a member one app short of
// parley.MaxConnectedApps (on PostgreSQL, as from several nodes) connect
// one of them: the rest are refused, ECONFLICT, and grant nothing.
func TestApprove_ConsentsAtOnceStopAtMaxConnectedApps(t *testing.T) {
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := parley.Now()
		ann := &parley.User{ID: parley.NewID(), Username: "ann", DisplayName: "Ann", CreatedAt: now}
		newApp := func(tx parley.Tx, name string) (*parley.App, error) {
			app := &parley.App{ClientID: parley.NewID(), Name: name, RedirectURIs: []string{"https://films.example/cb"},
				ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
			return app, tx.CreateApp(ctx, app, []byte("secret"))
		}
		const atOnce = 8
		var requests []*parley.AuthRequest
		err := db.Write(ctx, func(tx parley.Tx) error {
			if err := tx.CreateUser(ctx, ann, "hash"); err != nil {
				return err
			}
			for i := range parley.MaxConnectedApps - 1 {
				app, err := newApp(tx, fmt.Sprintf("Filler %d", i))
				if err != nil {
					return err
				}
				if err := tx.CreateGrant(ctx, &parley.Grant{ID: parley.NewID(), UserID: ann.ID, ClientID: app.ClientID,
					Scopes: parley.Scopes{parley.ScopeOpenID}, ThreadScope: parley.ThreadScopeApp, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			for i := range atOnce {
				app, err := newApp(tx, fmt.Sprintf("Films %d", i))
				if err != nil {
					return err
				}
				req := &parley.AuthRequest{ID: parley.NewID(), ClientID: app.ClientID, RedirectURI: app.RedirectURIs[0],
					Scopes: parley.Scopes{parley.ScopeOpenID}, CodeChallenge: "challenge", CreatedAt: now}
				if err := tx.CreateAuthRequest(ctx, req); err != nil {
					return err
				}
				requests = append(requests, req)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
		annCtx := parley.NewContextWithCaller(ctx, &parley.Caller{User: ann.Ref(), SignedInAt: now})
		var wg sync.WaitGroup
		var mu sync.Mutex
		answers := map[string]int{}
		for _, req := range requests {
			wg.Go(func() {
				_, err := s.Approve(annCtx, req.ID, Decision{ThreadScope: parley.ThreadScopeApp})
				code := "ok"
				if err != nil {
					code = parley.ErrorCode(err)
				}
				if code != "ok" && code != parley.ECONFLICT {
					t.Errorf("a consent at once: %v", err)
				}
				mu.Lock()
				answers[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if want := map[string]int{"ok": 1, parley.ECONFLICT: atOnce - 1}; !maps.Equal(answers, want) {
			t.Errorf("%d consents at once, one app short of the most, answered %v, want %v", atOnce, answers, want)
		}
		var grants []*parley.Grant
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			grants, err = tx.FindActiveGrants(ctx, ann.ID, parley.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(grants) != parley.MaxConnectedApps {
			t.Errorf("ann has %d grants in force after %d consents at once, want %d", len(grants), atOnce, parley.MaxConnectedApps)
		}
	})
}
