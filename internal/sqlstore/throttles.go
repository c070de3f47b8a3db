package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

func (t *txn) FindThrottle(ctx context.Context, key string) (*parley.Throttle, error) {
	th := parley.Throttle{Key: key}
	var last int64
	err := t.queryRow(ctx, "throttle", `SELECT failures, last_failure FROM throttles WHERE key = $1`+t.locked, []any{key}, &th.Failures, &last)
	if err != nil {
		return nil, mapError("find throttle", err)
	}
	th.LastFailure = fromMicros(last)
	return &th, nil
}

func (t *txn) AddThrottle(ctx context.Context, th *parley.Throttle) error {
	_, err := t.exec(ctx, `INSERT INTO throttles (key, failures, last_failure) VALUES ($1, $2, $3)`,
		th.Key, th.Failures, micros(th.LastFailure))
	return mapError("add throttle", err)
}

func (t *txn) PutThrottle(ctx context.Context, th *parley.Throttle) error {
	_, err := t.exec(ctx, `
		INSERT INTO throttles (key, failures, last_failure) VALUES ($1, $2, $3)
		ON CONFLICT (key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure`,
		th.Key, th.Failures, micros(th.LastFailure))
	return mapError("put throttle", err)
}

func (t *txn) DeleteThrottle(ctx context.Context, key string) error {
	_, err := t.exec(ctx, `DELETE FROM throttles WHERE key = $1`, key)
	return mapError("delete throttle", err)
}

func (t *txn) DeleteThrottlesBefore(ctx context.Context, before time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM throttles WHERE last_failure < $1`, micros(before))
	return mapError("delete throttles", err)
}
