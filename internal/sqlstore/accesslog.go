package sqlstore

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// An app's call appends one entry to the log of each member it touched,
// and a fold of the journal of reads appends many calls' entries at once:
// heads, entries and new heads are read and written with one statement per
// accessChunk rows, not one per member.

// accessChunk is how many rows one statement reads or writes. Statements
// are prepared once per row count, so the chunk bounds how many there are;
// and SQLite finds each numbered parameter by a walk through the statement's
// list of them, so binding grows with the square of their count: chunks of
// 64 rows logged reads slower than chunks of 8.
const accessChunk = 8

func (t *txn) FindAccessHeads(ctx context.Context, userIDs []string) ([]parley.AccessHead, error) {
	if err := t.settle(ctx); err != nil {
		return nil, err
	}
	found := make(map[string]parley.AccessHead, len(userIDs))
	if err := t.findAccessHeads(ctx, userIDs, found); err != nil {
		return nil, err
	}
	heads := make([]parley.AccessHead, len(userIDs))
	for i, id := range userIDs {
		heads[i] = found[id]
	}
	return heads, nil
}

// findAccessHeads puts the heads of the members' logs into heads, a head at
// seq 0 with GenesisHash for a log with no entry yet.
func (t *txn) findAccessHeads(ctx context.Context, userIDs []string, heads map[string]parley.AccessHead) error {
	for _, id := range userIDs {
		heads[id] = parley.AccessHead{UserID: id, Hash: parley.GenesisHash}
	}
	lock := ""
	if t.locked != "" {
		lock = " ORDER BY user_id" + t.locked
	}
	for chunk := range slices.Chunk(userIDs, accessChunk) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := t.query(ctx, `SELECT user_id, seq, hash FROM access_log_heads WHERE user_id IN (`+placeholders(1, len(chunk))+`)`+lock, args...)
		if err != nil {
			return mapError("find access heads", err)
		}
		for rows.Next() {
			var h parley.AccessHead
			if err := rows.Scan(&h.UserID, &h.Seq, &h.Hash); err != nil {
				rows.Close()
				return mapError("find access heads", err)
			}
			heads[h.UserID] = h
		}
		if err := rows.Close(); err != nil {
			return mapError("find access heads", err)
		}
	}
	return nil
}

// lockAccessHeads puts the heads of the members' logs into heads, as
// findAccessHeads does, and, where writes lock what they read, locks them.
// A member without an access log is given a head at seq 0 first, so that
// there is a row to lock. Most members have one: the heads are looked for
// first, and only the members not found are given one and looked for
// again, which saves a round trip on PostgreSQL.
func (t *txn) lockAccessHeads(ctx context.Context, members []string, heads map[string]parley.AccessHead) error {
	if err := t.findAccessHeads(ctx, members, heads); err != nil || t.locked == "" {
		return err
	}
	var missing []string
	for _, id := range members {
		if heads[id].Seq == 0 {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := t.createAccessHeads(ctx, missing); err != nil {
		return err
	}
	return t.findAccessHeads(ctx, missing, heads)
}

// createAccessHeads gives each member without an access log a head at seq
// 0.
func (t *txn) createAccessHeads(ctx context.Context, members []string) error {
	for chunk := range slices.Chunk(members, accessChunk) {
		rows := make([]string, len(chunk))
		args := make([]any, 0, len(chunk)+1)
		args = append(args, parley.GenesisHash)
		for i, id := range chunk {
			rows[i] = "($" + strconv.Itoa(i+2) + ", 0, $1)"
			args = append(args, id)
		}
		_, err := t.exec(ctx, `INSERT INTO access_log_heads (user_id, seq, hash) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (user_id) DO NOTHING`, args...)
		if err != nil {
			return mapError("create access heads", err)
		}
	}
	return nil
}

// accessEntryColumns is how many columns an access log row has.
const accessEntryColumns = 15

func (t *txn) AppendAccess(ctx context.Context, records []parley.AccessRecord) error {
	if err := t.settle(ctx); err != nil {
		return err
	}
	return t.appendAccess(ctx, records)
}

// appendAccess is AppendAccess once the journal of reads is folded.
func (t *txn) appendAccess(ctx context.Context, records []parley.AccessRecord) error {
	var members []string
	heads := map[string]parley.AccessHead{}
	for _, r := range records {
		for _, id := range r.UserIDs {
			if _, ok := heads[id]; !ok {
				heads[id] = parley.AccessHead{}
				members = append(members, id)
			}
		}
	}
	// Heads are locked, where writes lock what they read, in one order,
	// so that two transactions appending for the same members do not
	// chain onto the same entry, and deadlock only over members new to
	// the log (PostgreSQL then ends one, and the write runs again).
	slices.Sort(members)
	if err := t.lockAccessHeads(ctx, members, heads); err != nil {
		return err
	}
	entries := parley.Chain(heads, records)
	if t.pg != nil {
		return t.pgInsertAccess(ctx, entries, members, heads)
	}
	for chunk := range slices.Chunk(entries, accessChunk) {
		rows := make([]string, len(chunk))
		args := make([]any, 0, len(chunk)*accessEntryColumns)
		for i, e := range chunk {
			rows[i] = "(" + placeholders(i*accessEntryColumns+1, accessEntryColumns) + ")"
			args = append(args, e.UserID, e.Seq, micros(e.At), e.ClientID, e.AppName, e.GrantID, e.Action, e.ThreadID,
				e.ByUserID, strings.Join(e.MessageIDs, " "), e.MessageCount, e.FirstSeq, e.LastSeq, e.PrevHash, e.Hash)
		}
		_, err := t.exec(ctx, `
			INSERT INTO access_log (user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id,
				message_ids, message_count, first_seq, last_seq, prev_hash, hash)
			VALUES `+strings.Join(rows, ", "), args...)
		if err != nil {
			return mapError("append access entries", err)
		}
	}
	for chunk := range slices.Chunk(members, accessChunk) {
		rows := make([]string, len(chunk))
		args := make([]any, 0, len(chunk)*3)
		for i, id := range chunk {
			rows[i] = "(" + placeholders(i*3+1, 3) + ")"
			args = append(args, id, heads[id].Seq, heads[id].Hash)
		}
		_, err := t.exec(ctx, `
			INSERT INTO access_log_heads (user_id, seq, hash) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, args...)
		if err != nil {
			return mapError("move access heads", err)
		}
	}
	return nil
}

// pgInsertAccess inserts the chained entries and moves the members' heads
// on PostgreSQL, in one statement of the same text however many rows: the
// rows passed as one array per column, and the heads moved by the same
// statement, as each statement costs a round trip. (SQLite has no arrays,
// and binds many parameters slowly: it writes in chunks of accessChunk
// rows.)
func (t *txn) pgInsertAccess(ctx context.Context, entries []*parley.AccessEntry, members []string, heads map[string]parley.AccessHead) error {
	var c struct {
		users, clients, apps, grants, actions, threads, by, ids []string
		seqs, ats, counts, firsts, lasts                        []int64
		prevs, hashes                                           [][]byte
	}
	for _, e := range entries {
		c.users, c.seqs, c.ats = append(c.users, e.UserID), append(c.seqs, e.Seq), append(c.ats, micros(e.At))
		c.clients, c.apps, c.grants = append(c.clients, e.ClientID), append(c.apps, e.AppName), append(c.grants, e.GrantID)
		c.actions, c.threads, c.by = append(c.actions, e.Action), append(c.threads, e.ThreadID), append(c.by, e.ByUserID)
		c.ids, c.counts = append(c.ids, strings.Join(e.MessageIDs, " ")), append(c.counts, int64(e.MessageCount))
		c.firsts, c.lasts = append(c.firsts, e.FirstSeq), append(c.lasts, e.LastSeq)
		c.prevs, c.hashes = append(c.prevs, e.PrevHash), append(c.hashes, e.Hash)
	}
	seqs, hashes := make([]int64, len(members)), make([][]byte, len(members))
	for i, id := range members {
		seqs[i], hashes[i] = heads[id].Seq, heads[id].Hash
	}
	_, err := t.exec(ctx, `
		WITH appended AS (
			INSERT INTO access_log (user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id,
				message_ids, message_count, first_seq, last_seq, prev_hash, hash)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bytea[], $15::bytea[])
		)
		INSERT INTO access_log_heads (user_id, seq, hash)
		SELECT * FROM unnest($16::text[], $17::bigint[], $18::bytea[])
		ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
		c.users, c.seqs, c.ats, c.clients, c.apps, c.grants, c.actions, c.threads, c.by, c.ids, c.counts,
		c.firsts, c.lasts, c.prevs, c.hashes, members, seqs, hashes)
	return mapError("append access entries", err)
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
	if err := t.settle(ctx); err != nil {
		return nil, err
	}
	order, cmp, through := "DESC", "<", ""
	args := []any{f.UserID, f.ClientID, f.From, f.Limit}
	if f.Ascending {
		order, cmp = "ASC", ">"
		if f.Through > 0 {
			through = ` AND seq <= $5`
			args = append(args, f.Through)
		}
	}
	rows, err := t.query(ctx, `
		SELECT user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id, message_ids,
			message_count, first_seq, last_seq, prev_hash, hash
		FROM access_log
		WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND seq `+cmp+` $3`+through+`
		ORDER BY seq `+order+` LIMIT $4`, args...)
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
			&e.ByUserID, &ids, &e.MessageCount, &e.FirstSeq, &e.LastSeq, &e.PrevHash, &e.Hash); err != nil {
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
