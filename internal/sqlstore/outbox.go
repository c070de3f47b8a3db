package sqlstore

import (
	"context"
	"slices"

	"github.com/parleyhq/parley"
)

func (t *txn) AddOutboxEvent(ctx context.Context, data []byte) error {
	_, err := t.exec(ctx, `INSERT INTO event_outbox (event) VALUES ($1)`, data)
	return mapError("add outbox event", err)
}

func (t *txn) FindOutboxEventIDs(ctx context.Context) ([]int64, error) {
	rows, err := t.query(ctx, `SELECT id FROM event_outbox ORDER BY id`)
	if err != nil {
		return nil, mapError("find outbox events", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, mapError("find outbox events", err)
		}
		ids = append(ids, id)
	}
	return ids, mapError("find outbox events", rows.Err())
}

func (t *txn) FindOutboxEvents(ctx context.Context, ids []int64) ([]parley.OutboxEvent, error) {
	var events []parley.OutboxEvent
	for chunk := range slices.Chunk(ids, outboxIDsAtOnce) {
		rows, err := t.query(ctx, `SELECT id, event FROM event_outbox WHERE id IN (`+placeholders(1, len(chunk))+`) ORDER BY id`,
			idArgs(chunk)...)
		if err != nil {
			return nil, mapError("find outbox events", err)
		}
		for rows.Next() {
			var e parley.OutboxEvent
			if err := rows.Scan(&e.ID, &e.Data); err != nil {
				rows.Close()
				return nil, mapError("find outbox events", err)
			}
			events = append(events, e)
		}
		if err := rows.Close(); err != nil {
			return nil, mapError("find outbox events", err)
		}
	}
	return events, nil
}

// outboxIDsAtOnce bounds the IDs of one statement of FindOutboxEvents and
// DeleteOutboxEvents.
const outboxIDsAtOnce = 500

func (t *txn) DeleteOutboxEvents(ctx context.Context, ids []int64) error {
	for chunk := range slices.Chunk(ids, outboxIDsAtOnce) {
		if _, err := t.exec(ctx, `DELETE FROM event_outbox WHERE id IN (`+placeholders(1, len(chunk))+`)`, idArgs(chunk)...); err != nil {
			return mapError("delete outbox events", err)
		}
	}
	return nil
}

// idArgs are ids as a statement's arguments.
func idArgs(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
