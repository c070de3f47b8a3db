package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

func (t *txn) AddOutboxEvent(ctx context.Context, data []byte, at time.Time) error {
	_, err := t.exec(ctx, `INSERT INTO event_outbox (event, created_at) VALUES ($1, $2)`, data, micros(at))
	return mapError("add outbox event", err)
}

func (t *txn) FindOutboxEventsSince(ctx context.Context, since time.Time) ([]parley.OutboxEvent, error) {
	rows, err := t.query(ctx, `SELECT id, event, created_at FROM event_outbox WHERE created_at >= $1 ORDER BY id`, micros(since))
	if err != nil {
		return nil, mapError("find outbox events", err)
	}
	defer rows.Close()
	var events []parley.OutboxEvent
	for rows.Next() {
		var e parley.OutboxEvent
		var at int64
		if err := rows.Scan(&e.ID, &e.Data, &at); err != nil {
			return nil, mapError("find outbox events", err)
		}
		e.At = fromMicros(at)
		events = append(events, e)
	}
	return events, mapError("find outbox events", rows.Err())
}

func (t *txn) DeleteOutboxEventsBefore(ctx context.Context, before time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM event_outbox WHERE created_at < $1`, micros(before))
	return mapError("delete outbox events", err)
}
