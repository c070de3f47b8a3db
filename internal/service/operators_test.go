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

// An operator is a member with the operator flag signed in with their own
// session, or the console; an app acting for an operator is not one, nor
// is any other caller, and to them operator calls are ENOTFOUND.
func TestOperator_WhoCounts(t *testing.T) {
	olga := parley.UserRef{ID: "u1", Username: "olga"}
	with := func(c *parley.Caller) context.Context { return parley.NewContextWithCaller(context.Background(), c) }
	for name, c := range map[string]struct {
		ctx   context.Context
		actor string
	}{
		"the console":                   {ConsoleContext(context.Background()), parley.OperatorConsole},
		"an operator's session":         {with(&parley.Caller{User: olga, Operator: true}), "olga"},
		"no one signed in":              {context.Background(), ""},
		"a member":                      {with(&parley.Caller{User: olga}), ""},
		"an app acting for an operator": {with(&parley.Caller{User: olga, Operator: true, App: &parley.AppAccess{}}), ""},
		"an app's own token":            {with(&parley.Caller{Client: &parley.ClientAccess{}}), ""},
	} {
		t.Run(name, func(t *testing.T) {
			actor, err := operator(c.ctx)
			if c.actor == "" {
				if parley.ErrorCode(err) != parley.ENOTFOUND {
					t.Fatalf("operator: %v, want ENOTFOUND", err)
				}
				return
			}
			if err != nil || actor.Actor != c.actor {
				t.Fatalf("operator: %+v, %v; want actor %q", actor, err, c.actor)
			}
		})
	}
}

// TestOperator_CallsForOperatorsRefuseOthers: every call whose contract
// says it is for operators answers anyone else ENOTFOUND, as the other
// operator calls do, whatever its callers today: the list of every
// member (Users) and the verification of another member's access log
// (VerifyAccessLogOf) among them.
func TestOperator_CallsForOperatorsRefuseOthers(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{})
		mustLoggedMember(t, db, "olga", 3)
		member, _ := mustLoggedMember(t, db, "bob", 0)
		if users, err := s.Users(member); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("a member's Users = %d members, %v; want ENOTFOUND", len(users), err)
		}
		if v, err := s.VerifyAccessLogOf(member, "olga"); parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Errorf("a member's VerifyAccessLogOf(olga) = %+v, %v; want ENOTFOUND", v, err)
		}
	})
}
