package sqlstore

import (
	"context"
	"strings"

	"github.com/parleyhq/parley"
)

func (t *txn) FindAccessHead(ctx context.Context, userID string) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := t.queryRow(ctx, "access log", `SELECT seq, hash FROM access_log_heads WHERE user_id = $1`,
		[]any{userID}, &seq, &hash)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return 0, parley.GenesisHash, nil
	} else if err != nil {
		return 0, nil, mapError("find access head", err)
	}
	return seq, hash, nil
}

func (t *txn) CreateAccessEntry(ctx context.Context, e *parley.AccessEntry) error {
	_, err := t.exec(ctx, `
		INSERT INTO access_log (user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id,
			message_ids, message_count, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		e.UserID, e.Seq, micros(e.At), e.ClientID, e.AppName, e.GrantID, e.Action, e.ThreadID, e.ByUserID,
		strings.Join(e.MessageIDs, " "), e.MessageCount, e.PrevHash, e.Hash)
	if err != nil {
		return mapError("create access entry", err)
	}
	_, err = t.exec(ctx, `
		INSERT INTO access_log_heads (user_id, seq, hash) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
		e.UserID, e.Seq, e.Hash)
	return mapError("move access head", err)
}

func (t *txn) FindAccessEntries(ctx context.Context, f parley.AccessFilter) ([]*parley.AccessEntry, error) {
	order, cmp := "DESC", "<"
	if f.Ascending {
		order, cmp = "ASC", ">"
	}
	rows, err := t.query(ctx, `
		SELECT user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id, message_ids,
			message_count, prev_hash, hash
		FROM access_log
		WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND seq `+cmp+` $3
		ORDER BY seq `+order+` LIMIT $4`, f.UserID, f.ClientID, f.From, f.Limit)
	if err != nil {
		return nil, mapError("find access entries", err)
	}
	defer rows.Close()
	list := []*parley.AccessEntry{}
	for rows.Next() {
		var e parley.AccessEntry
		var at int64
		var ids string
		if err := rows.Scan(&e.UserID, &e.Seq, &at, &e.ClientID, &e.AppName, &e.GrantID, &e.Action, &e.ThreadID,
			&e.ByUserID, &ids, &e.MessageCount, &e.PrevHash, &e.Hash); err != nil {
			return nil, mapError("find access entries", err)
		}
		e.At = fromMicros(at)
		if ids != "" {
			e.MessageIDs = strings.Fields(ids)
		}
		list = append(list, &e)
	}
	return list, mapError("find access entries", rows.Err())
}
