package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// An app's call appends one entry to the log of each member it touched: the
// entries of one call are read and written with one statement each, not
// one per member, since every read an app makes waits for them.

func (t *txn) FindAccessHeads(ctx context.Context, userIDs []string) ([]parley.AccessHead, error) {
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	rows, err := t.query(ctx, `SELECT user_id, seq, hash FROM access_log_heads WHERE user_id IN (`+placeholders(1, len(userIDs))+`)`, args...)
	if err != nil {
		return nil, mapError("find access heads", err)
	}
	defer rows.Close()
	found := make(map[string]parley.AccessHead, len(userIDs))
	for rows.Next() {
		var h parley.AccessHead
		if err := rows.Scan(&h.UserID, &h.Seq, &h.Hash); err != nil {
			return nil, mapError("find access heads", err)
		}
		found[h.UserID] = h
	}
	if err := rows.Err(); err != nil {
		return nil, mapError("find access heads", err)
	}
	heads := make([]parley.AccessHead, len(userIDs))
	for i, id := range userIDs {
		h, ok := found[id]
		if !ok {
			h = parley.AccessHead{UserID: id, Hash: parley.GenesisHash}
		}
		heads[i] = h
	}
	return heads, nil
}

// accessEntryColumns is how many columns an access log row has.
const accessEntryColumns = 13

func (t *txn) CreateAccessEntries(ctx context.Context, entries []*parley.AccessEntry) error {
	if len(entries) == 0 {
		return nil
	}
	rows := make([]string, len(entries))
	heads := make([]string, len(entries))
	args := make([]any, 0, len(entries)*accessEntryColumns)
	headArgs := make([]any, 0, len(entries)*3)
	for i, e := range entries {
		rows[i] = "(" + placeholders(i*accessEntryColumns+1, accessEntryColumns) + ")"
		args = append(args, e.UserID, e.Seq, micros(e.At), e.ClientID, e.AppName, e.GrantID, e.Action, e.ThreadID,
			e.ByUserID, strings.Join(e.MessageIDs, " "), e.MessageCount, e.PrevHash, e.Hash)
		heads[i] = "(" + placeholders(i*3+1, 3) + ")"
		headArgs = append(headArgs, e.UserID, e.Seq, e.Hash)
	}
	_, err := t.exec(ctx, `
		INSERT INTO access_log (user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id,
			message_ids, message_count, prev_hash, hash)
		VALUES `+strings.Join(rows, ", "), args...)
	if err != nil {
		return mapError("create access entries", err)
	}
	_, err = t.exec(ctx, `
		INSERT INTO access_log_heads (user_id, seq, hash) VALUES `+strings.Join(heads, ", ")+`
		ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, headArgs...)
	return mapError("move access heads", err)
}

// placeholders returns n numbered placeholders from $first on, comma-separated.
func placeholders(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
	}
	return b.String()
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
