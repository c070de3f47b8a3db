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

func (t *txn) FindOutboxEvents(ctx context.Context) ([]parley.OutboxEvent, error) {
	rows, err := t.query(ctx, `SELECT id, event FROM event_outbox ORDER BY id`)
	if err != nil {
		return nil, mapError("find outbox events", err)
	}
	defer rows.Close()
	var events []parley.OutboxEvent
	for rows.Next() {
		var e parley.OutboxEvent
		if err := rows.Scan(&e.ID, &e.Data); err != nil {
			return nil, mapError("find outbox events", err)
		}
		events = append(events, e)
	}
	return events, mapError("find outbox events", rows.Err())
}

// outboxDeletedAtOnce bounds the IDs of one statement of
// DeleteOutboxEvents.
const outboxDeletedAtOnce = 500

func (t *txn) DeleteOutboxEvents(ctx context.Context, ids []int64) error {
	for chunk := range slices.Chunk(ids, outboxDeletedAtOnce) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if _, err := t.exec(ctx, `DELETE FROM event_outbox WHERE id IN (`+placeholders(1, len(chunk))+`)`, args...); err != nil {
			return mapError("delete outbox events", err)
		}
	}
	return nil
}
