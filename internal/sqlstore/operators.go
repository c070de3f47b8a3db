package sqlstore

import (
	"context"

	"github.com/parleyhq/parley"
)

func (t *txn) CreateOperatorAction(ctx context.Context, a *parley.OperatorAction) error {
	_, err := t.exec(ctx, `
		INSERT INTO operator_actions (id, at, actor_id, actor, action, subject, subject_name)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		a.ID, micros(a.At), nullString(a.ActorID), a.Actor, a.Action, a.Subject, a.SubjectName)
	return mapError("create operator action", err)
}

func (t *txn) FindOperatorActions(ctx context.Context, limit int) ([]*parley.OperatorAction, error) {
	return t.findOperatorActions(ctx, "find operator actions", `
		SELECT id, at, COALESCE(actor_id, ''), actor, action, subject, subject_name
		FROM operator_actions ORDER BY at DESC, id DESC LIMIT $1`, limit)
}

func (t *txn) FindOperatorActionsAbout(ctx context.Context, subject string) ([]*parley.OperatorAction, error) {
	return t.findOperatorActions(ctx, "find operator actions about", `
		SELECT id, at, COALESCE(actor_id, ''), actor, action, subject, subject_name
		FROM operator_actions WHERE subject = $1 ORDER BY at, id`, subject)
}

// findOperatorActions runs a query of operator_actions' columns.
func (t *txn) findOperatorActions(ctx context.Context, op, query string, args ...any) ([]*parley.OperatorAction, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	actions := []*parley.OperatorAction{}
	for rows.Next() {
		var a parley.OperatorAction
		var at int64
		if err := rows.Scan(&a.ID, &at, &a.ActorID, &a.Actor, &a.Action, &a.Subject, &a.SubjectName); err != nil {
			return nil, mapError(op, err)
		}
		a.At = fromMicros(at)
		actions = append(actions, &a)
	}
	return actions, mapError(op, rows.Err())
}
