package sqlstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"time"
)

// lastingChunk is how many sessions one statement of FindLastingSessions
// asks about. A node asks about the sessions of all its members' realtime
// streams every couple of seconds: ten thousand streams take at most ten
// statements, each a walk of the primary key per session.
const lastingChunk = 1000

// FindLastingSessions asks about each chunk of the hashes in one
// statement whose text does not depend on the chunk's length, so that it
// is prepared once: PostgreSQL takes the chunk as one bytea[] parameter,
// SQLite as one JSON array of the hashes in hex, unhexed as it joins.
func (t *txn) FindLastingSessions(ctx context.Context, tokenHashes [][]byte, at time.Time) ([][]byte, error) {
	var lasting [][]byte
	for chunk := range slices.Chunk(tokenHashes, lastingChunk) {
		var list any = chunk
		query := `SELECT token_hash FROM sessions WHERE token_hash = ANY($1) AND expires_at > $2`
		if t.pg == nil {
			hexes := make([]string, len(chunk))
			for i, h := range chunk {
				hexes[i] = hex.EncodeToString(h)
			}
			b, err := json.Marshal(hexes)
			if err != nil {
				return nil, mapError("find lasting sessions", err)
			}
			list = string(b)
			query = `SELECT s.token_hash FROM json_each($1) AS f JOIN sessions s ON s.token_hash = unhex(f.value) WHERE s.expires_at > $2`
		}
		rows, err := t.query(ctx, query, list, micros(at))
		if err != nil {
			return nil, mapError("find lasting sessions", err)
		}
		found, err := scanBytes(rows)
		if err != nil {
			return nil, mapError("find lasting sessions", err)
		}
		lasting = append(lasting, found...)
	}
	return lasting, nil
}

// scanBytes reads rows of one bytes column, such as a session's token
// hash, to their end, and closes them.
func scanBytes(r rows) ([][]byte, error) {
	defer r.Close()
	var hashes [][]byte
	for r.Next() {
		var h []byte
		if err := r.Scan(&h); err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return hashes, r.Close()
}
