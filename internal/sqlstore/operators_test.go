package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A member becomes an operator and back, as every way of finding them
// says; operators' decisions are listed latest first, the console's
// without an actor ID.
func TestOperators_FlagAndDecisions(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann := newUser("ann")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, "hash") })
		isOperator := func() bool {
			t.Helper()
			var byID, byName *parley.User
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				if byID, err = tx.FindUserByID(ctx, ann.ID); err != nil {
					return err
				}
				byName, err = tx.FindUserByUsername(ctx, ann.Username)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if byID.Operator != byName.Operator {
				t.Fatalf("by ID operator=%v, by username %v", byID.Operator, byName.Operator)
			}
			return byID.Operator
		}
		if isOperator() {
			t.Fatal("a new member is an operator")
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetOperator(ctx, ann.ID, true) })
		if !isOperator() {
			t.Fatal("SetOperator(true) did not make an operator")
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetOperator(ctx, ann.ID, false) })
		if isOperator() {
			t.Fatal("SetOperator(false) left an operator")
		}
		err := db.Write(ctx, func(tx parley.Tx) error { return tx.SetOperator(ctx, "nobody", true) })
		if parley.ErrorCode(err) != parley.ENOTFOUND {
			t.Fatalf("SetOperator of no one: %v, want ENOTFOUND", err)
		}

		at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		first := &parley.OperatorAction{ID: parley.NewID(), At: at, Actor: parley.OperatorConsole,
			Action: parley.ActionGrantOperator, Subject: ann.ID, SubjectName: "ann"}
		second := &parley.OperatorAction{ID: parley.NewID(), At: at.Add(time.Minute), ActorID: ann.ID, Actor: "ann",
			Action: parley.ActionAppSuspend, Subject: "pc_x", SubjectName: "MovieClub"}
		mustWrite(t, db, func(tx parley.Tx) error {
			if err := tx.CreateOperatorAction(ctx, first); err != nil {
				return err
			}
			return tx.CreateOperatorAction(ctx, second)
		})
		var got []*parley.OperatorAction
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindOperatorActions(ctx, 10)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || *got[0] != *second || *got[1] != *first {
			t.Fatalf("decisions %+v %+v, want %+v then %+v", got[0], got[len(got)-1], second, first)
		}
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			got, err = tx.FindOperatorActions(ctx, 1)
			return err
		}); err != nil || len(got) != 1 {
			t.Fatalf("limit 1: %d decisions, %v", len(got), err)
		}
	})
}

// FindOperatorActionsAbout lists the decisions about one subject, the
// oldest first, and no other subject's.
func TestOperators_FindOperatorActionsAbout(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
		actions := []*parley.OperatorAction{
			{ID: parley.NewID(), At: at.Add(2 * time.Minute), Actor: parley.OperatorConsole, Action: parley.ActionUserDisable, Subject: ann.ID, SubjectName: "ann"},
			{ID: parley.NewID(), At: at, Actor: parley.OperatorConsole, Action: parley.ActionUserRename, Subject: ann.ID, SubjectName: "ann"},
			{ID: parley.NewID(), At: at.Add(time.Minute), Actor: parley.OperatorConsole, Action: parley.ActionUserPassword, Subject: bob.ID, SubjectName: "bob"},
		}
		mustWrite(t, db, func(tx parley.Tx) error {
			for _, a := range actions {
				if err := tx.CreateOperatorAction(ctx, a); err != nil {
					return err
				}
			}
			return nil
		})
		for subject, want := range map[string][]string{ann.ID: {actions[1].ID, actions[0].ID}, bob.ID: {actions[2].ID}, "nobody": {}} {
			var got []*parley.OperatorAction
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				got, err = tx.FindOperatorActionsAbout(ctx, subject)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			ids := []string{}
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if !slices.Equal(ids, want) {
				t.Errorf("decisions about %s: %v; want %v", subject, ids, want)
			}
		}
	})
}
