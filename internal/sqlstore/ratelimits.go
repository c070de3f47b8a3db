package sqlstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// rateChunk is how many keys one statement of AddRateUses adds to.
// Statements are prepared once per key count, so the chunk bounds how many
// there are; a server's flush of its rate limits rarely holds more keys.
const rateChunk = 64

// AddRateUses upserts each key's time in one statement per rateChunk keys,
// in the order of their keys, so that two servers adding to the same keys
// at once take their rows' locks in the same order and never deadlock.
func (t *txn) AddRateUses(ctx context.Context, uses []parley.RateUse, now time.Time) ([]time.Time, error) {
	const op = "add rate uses"
	order := make([]int, len(uses))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(uses[a].Key, uses[b].Key) })
	at := make(map[string]int64, len(uses))
	nowUS := micros(now)
	for chunk := range slices.Chunk(order, rateChunk) {
		args := make([]any, 1, 1+2*len(chunk))
		args[0] = nowUS
		rows := make([]string, len(chunk))
		for i, u := range chunk {
			rows[i] = "(" + placeholders(2+2*i, 2) + ")"
			args = append(args, uses[u].Key, nowUS+uses[u].Cost.Microseconds())
		}
		// A new key's time is now plus its cost; a known one's, the later
		// of its time and now, plus the cost (excluded.tat less now).
		r, err := t.query(ctx, `
			INSERT INTO rate_limits (key, tat) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (key) DO UPDATE
			SET tat = CASE WHEN rate_limits.tat > $1 THEN rate_limits.tat ELSE $1 END + excluded.tat - $1
			RETURNING key, tat`, args...)
		if err != nil {
			return nil, mapError(op, err)
		}
		for r.Next() {
			var key string
			var tat int64
			if err := r.Scan(&key, &tat); err != nil {
				r.Close()
				return nil, mapError(op, err)
			}
			at[key] = tat
		}
		if err := errors.Join(r.Err(), r.Close()); err != nil {
			return nil, mapError(op, err)
		}
	}
	times := make([]time.Time, len(uses))
	for i, u := range uses {
		times[i] = fromMicros(at[u.Key])
	}
	return times, nil
}

func (t *txn) DeleteRateUsesBefore(ctx context.Context, before time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM rate_limits WHERE tat < $1`, micros(before))
	return mapError("delete rate uses", err)
}
