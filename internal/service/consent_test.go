package service

import (
	"context"
	"log/slog"
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
