package service

import (
	"context"
	"slices"

	"github.com/parleyhq/parley"
)

// Operators review apps: they let members grant an app every thread, and
// suspend and reinstate apps. An operator is a member whose account holds
// the operator flag, signed in with a session of their own (an app acting
// for them is not an operator), or whoever runs the parley command at the
// server's console. Every decision is recorded, in the transaction that
// makes it, with who made it and when.

type consoleKey struct{}

// ConsoleContext returns a copy of ctx for the server's console: the
// parley command, run by whoever administers the server, acts as an
// operator.
func ConsoleContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, consoleKey{}, true)
}

// MaxOperatorActions is how many of the latest decisions OperatorActions lists.
const MaxOperatorActions = 100

// operator returns the decision record's actor for a call only operators
// may make, or ENOTFOUND, as for a page that does not exist, for anyone
// else.
func operator(ctx context.Context) (parley.OperatorAction, error) {
	if console, _ := ctx.Value(consoleKey{}).(bool); console {
		return parley.OperatorAction{Actor: parley.OperatorConsole}, nil
	}
	c := parley.CallerFromContext(ctx)
	if c == nil || c.App != nil || c.Client != nil || !c.Operator {
		return parley.OperatorAction{}, parley.Errorf(parley.ENOTFOUND, "not found")
	}
	return parley.OperatorAction{ActorID: c.User.ID, Actor: c.User.Username}, nil
}

// recorder stores an operator's decision about subject, in the write
// decide runs.
type recorder func(actor parley.OperatorAction, action, subject, subjectName string) error

// decide runs fn in a write whose operators' decisions fn stores with
// record. Once the write commits, each is logged with the operator, the
// subject and the client address.
func (s *Service) decide(ctx context.Context, fn func(tx parley.Tx, record recorder) error) error {
	var made []parley.OperatorAction
	err := s.store.Write(ctx, func(tx parley.Tx) error {
		made = nil
		return fn(tx, func(actor parley.OperatorAction, action, subject, subjectName string) error {
			actor.ID, actor.At, actor.Action, actor.Subject, actor.SubjectName = parley.NewID(), s.Now(), action, subject, subjectName
			if err := tx.CreateOperatorAction(ctx, &actor); err != nil {
				return err
			}
			made = append(made, actor)
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, a := range made {
		s.log.InfoContext(ctx, "operator action", "action", a.Action, "operator", a.Actor, "operator_id", a.ActorID,
			"subject", a.SubjectName, "subject_id", a.Subject, "client", clientAddr(ctx))
	}
	return nil
}

// AppReview is an app as operators review it: the registration and the
// member who owns it.
type AppReview struct {
	*parley.App
	// Owner is the owner's username; empty for an app operators registered.
	Owner string
}

// Review is what the operator pages show: apps waiting for review (active,
// and not yet let reach every thread), the other apps, and the latest
// decisions.
type Review struct {
	Waiting, Reviewed, Suspended []AppReview
	Decisions                    []*parley.OperatorAction
}

// ReviewApps returns the apps by where they are in review, with the latest
// decisions; it is for operators.
func (s *Service) ReviewApps(ctx context.Context) (*Review, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	r := &Review{}
	err := s.store.Read(ctx, func(tx parley.Tx) error {
		*r = Review{}
		apps, err := tx.FindApps(ctx, "")
		if err != nil {
			return err
		}
		owners := map[string]string{}
		for _, a := range slices.DeleteFunc(apps, deleted) {
			if _, ok := owners[a.OwnerID]; a.OwnerID != "" && !ok {
				u, err := tx.FindUserByID(ctx, a.OwnerID)
				if err != nil {
					return err
				}
				owners[a.OwnerID] = u.Username
			}
			ar := AppReview{App: a, Owner: owners[a.OwnerID]}
			switch {
			case a.State == parley.AppSuspended:
				r.Suspended = append(r.Suspended, ar)
			case a.State == parley.AppPending:
				// Approved for reach "all" or not, no member may connect
				// it yet: it waits to be let in.
				r.Waiting = append(r.Waiting, ar)
			case a.AllThreadsApproved:
				r.Reviewed = append(r.Reviewed, ar)
			default:
				r.Waiting = append(r.Waiting, ar)
			}
		}
		r.Decisions, err = tx.FindOperatorActions(ctx, MaxOperatorActions)
		return err
	})
	return r, err
}

// OperatorActions returns up to limit of the latest decisions operators
// made, the latest first; it is for operators. EINVALID for a limit below 1.
func (s *Service) OperatorActions(ctx context.Context, limit int) (actions []*parley.OperatorAction, err error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, parley.Errorf(parley.EINVALID, "the limit must be at least 1")
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		actions, err = tx.FindOperatorActions(ctx, limit)
		return err
	})
	return actions, err
}

// SetOperator makes the member named username an operator, or an ordinary
// member again; it is for operators.
func (s *Service) SetOperator(ctx context.Context, username string, op bool) (u *parley.User, err error) {
	actor, err := operator(ctx)
	if err != nil {
		return nil, err
	}
	action := parley.ActionGrantOperator
	if !op {
		action = parley.ActionRevokeOperator
	}
	err = s.decide(ctx, func(tx parley.Tx, record recorder) error {
		if u, err = findMember(ctx, tx, username); err != nil {
			return err
		}
		if err := tx.SetOperator(ctx, u.ID, op); err != nil {
			return err
		}
		u.Operator = op
		return record(actor, action, u.ID, u.Username)
	})
	return u, err
}

// RecordKeyRotation records that an operator rotated the provider's keys,
// whose new ID-token signing key is kid; it is for operators.
func (s *Service) RecordKeyRotation(ctx context.Context, kid string) error {
	actor, err := operator(ctx)
	if err != nil {
		return err
	}
	return s.decide(ctx, func(_ parley.Tx, record recorder) error {
		return record(actor, parley.ActionKeysRotate, kid, "signing and sealing keys")
	})
}

// RecordKeyMove records that an operator moved the provider's keys to
// place, said in words ("the keys file /etc/parley/keys.json"); it is
// for operators.
func (s *Service) RecordKeyMove(ctx context.Context, place string) error {
	actor, err := operator(ctx)
	if err != nil {
		return err
	}
	return s.decide(ctx, func(_ parley.Tx, record recorder) error {
		return record(actor, parley.ActionKeysMove, "keys", place)
	})
}
