package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

func (t *txn) CreateEventTicket(ctx context.Context, et *parley.EventTicket, now time.Time) error {
	if _, err := t.exec(ctx, `DELETE FROM event_tickets WHERE expires_at < $1`, micros(now)); err != nil {
		return mapError("create event ticket", err)
	}
	_, err := t.exec(ctx, `
		INSERT INTO event_tickets (ticket_hash, user_id, session_hash, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		et.Hash, et.UserID, et.SessionHash, et.TokenHash, micros(et.ExpiresAt))
	return mapError("create event ticket", err)
}

func (t *txn) TakeEventTicket(ctx context.Context, hash []byte) (*parley.EventTicket, error) {
	et := parley.EventTicket{Hash: hash}
	var expires int64
	err := t.queryRow(ctx, "event ticket", `
		DELETE FROM event_tickets WHERE ticket_hash = $1 RETURNING user_id, session_hash, token_hash, expires_at`,
		[]any{hash}, &et.UserID, &et.SessionHash, &et.TokenHash, &expires)
	if err != nil {
		return nil, mapError("take event ticket", err)
	}
	et.ExpiresAt = fromMicros(expires)
	return &et, nil
}

func (t *txn) FindAccessVersion(ctx context.Context) (int64, error) {
	var v int64
	err := t.queryRow(ctx, "access version", `SELECT version FROM access_version WHERE id = 1`, nil, &v)
	return v, mapError("find access version", err)
}
