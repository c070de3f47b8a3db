package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	if err := t.settle(ctx, userIDs); err != nil {
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
	return t.createMissingHeads(ctx, members, heads)
}

// createMissingHeads gives the members whose head in heads is at seq 0 a
// head, and locks it, as lockAccessHeads does.
func (t *txn) createMissingHeads(ctx context.Context, members []string, heads map[string]parley.AccessHead) error {
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

// accessEntryColumns are an access log row's columns, in the order
// accessEntryRow gives their values and FindAccessEntries scans them.
const accessEntryColumns = `user_id, seq, at, client_id, app_name, grant_id, action, thread_id, by_user_id,
	message_ids, message_count, first_seq, last_seq, grant_terms, prev_hash, hash`

// accessEntryWidth is how many columns an access log row has.
const accessEntryWidth = 16

// accessEntryRow returns e's row of the access log, its values in the
// order of accessEntryColumns.
func accessEntryRow(e *parley.AccessEntry) ([]any, error) {
	terms, err := encodeGrantTerms(e.Grant)
	if err != nil {
		return nil, err
	}
	return []any{e.UserID, e.Seq, micros(e.At), e.ClientID, e.AppName, e.GrantID, e.Action, e.ThreadID,
		e.ByUserID, strings.Join(e.MessageIDs, " "), e.MessageCount, e.FirstSeq, e.LastSeq, terms, e.PrevHash, e.Hash}, nil
}

// storedGrantTerms is how the grant_terms column holds an entry's grant
// terms: JSON of a format of its own, as the journal's (journalRecord), so
// that what is stored does not change with the API's JSON of an entry.
// The column is storage alone: the entry's hash covers the terms' fields
// (AccessEntry.Canonical), not this text.
type storedGrantTerms struct {
	Scopes      string   `json:"scopes"`
	ThreadScope string   `json:"thread_scope"`
	ExpiresAt   int64    `json:"expires_at,omitempty"` // microseconds since the Unix epoch
	ThreadIDs   []string `json:"thread_ids,omitempty"`
}

// encodeGrantTerms returns the grant_terms column of an entry whose grant
// terms are g, "" for none.
func encodeGrantTerms(g *parley.GrantTerms) (string, error) {
	if g == nil {
		return "", nil
	}
	st := storedGrantTerms{Scopes: g.Scopes.String(), ThreadScope: g.ThreadScope, ThreadIDs: g.ThreadIDs}
	if g.ExpiresAt != nil {
		st.ExpiresAt = micros(*g.ExpiresAt)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("encode grant terms: %w", err)
	}
	return string(b), nil
}

// decodeGrantTerms reads the grant_terms column encodeGrantTerms wrote.
func decodeGrantTerms(s string) (*parley.GrantTerms, error) {
	if s == "" {
		return nil, nil
	}
	var st storedGrantTerms
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("decode grant terms: %w", err)
	}
	// Every scope as written, in its order, known to this version or
	// not: the entry's hash covers them so.
	g := &parley.GrantTerms{ThreadScope: st.ThreadScope, ThreadIDs: st.ThreadIDs}
	for _, name := range strings.Fields(st.Scopes) {
		g.Scopes = append(g.Scopes, parley.Scope(name))
	}
	if st.ExpiresAt != 0 {
		at := fromMicros(st.ExpiresAt)
		g.ExpiresAt = &at
	}
	return g, nil
}

func (t *txn) AppendAccess(ctx context.Context, records []parley.AccessRecord) error {
	if err := t.settle(ctx, membersOf(records)); err != nil {
		return err
	}
	return t.appendAccess(ctx, records)
}

// appendAccess is AppendAccess once the journal of reads is folded.
func (t *txn) appendAccess(ctx context.Context, records []parley.AccessRecord) error {
	// Heads are locked, where writes lock what they read, in one order,
	// so that two transactions appending for the same members do not
	// chain onto the same entry. They deadlock only over members new to
	// the log, or, on PostgreSQL, where a write's fold of the journal of
	// reads locks the heads of members of the reads as well as its own
	// (PostgreSQL then ends one, and the write runs again).
	heads := map[string]parley.AccessHead{}
	records, err := t.keepFirstLockingHeads(ctx, records, membersOf(records), heads)
	if err != nil || len(records) == 0 {
		return err
	}
	members := membersOf(records)
	entries := parley.Chain(heads, records)
	if t.pg != nil {
		return t.pgInsertAccess(ctx, entries, members, heads)
	}
	for chunk := range slices.Chunk(entries, accessChunk) {
		rows := make([]string, len(chunk))
		args := make([]any, 0, len(chunk)*accessEntryWidth)
		for i, e := range chunk {
			rows[i] = "(" + placeholders(i*accessEntryWidth+1, accessEntryWidth) + ")"
			row, err := accessEntryRow(e)
			if err != nil {
				return err
			}
			args = append(args, row...)
		}
		_, err := t.exec(ctx, `INSERT INTO access_log (`+accessEntryColumns+`) VALUES `+strings.Join(rows, ", "), args...)
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

// membersOf returns the members the records name, each once, in order.
func membersOf(records []parley.AccessRecord) []string {
	var members []string
	for _, r := range records {
		members = append(members, r.UserIDs...)
	}
	slices.Sort(members)
	return slices.Compact(members)
}

// keepFirstLockingHeads puts the heads of the members' logs into heads and
// locks them, as lockAccessHeads does, and returns records without those
// whose Key is kept from a record appended before, or comes twice in
// records (the first stays). It keeps the Keys of the others, each at the
// time of its record. A Key kept from over parley.AccessKeyKept before
// the time of the first record with it is kept again, for that record;
// Keys kept from over AccessKeyKept before the earliest record's time are
// forgotten.
//
// On PostgreSQL two transactions keeping one Key at once are ordered by its
// row in access_keys: the second waits for the first to end, and drops the
// record if the first committed. The Keys are kept, and the heads locked,
// by one statement, so that Keys cost an append no round trip of its own.
func (t *txn) keepFirstLockingHeads(ctx context.Context, records []parley.AccessRecord, members []string, heads map[string]parley.AccessHead) ([]parley.AccessRecord, error) {
	var keys [][]byte
	var earliest time.Time
	firstAt := map[string]int64{}
	for _, r := range records {
		if _, ok := firstAt[string(r.Key)]; r.Key != nil && !ok {
			firstAt[string(r.Key)] = micros(r.Entry.At)
			keys = append(keys, r.Key)
			if earliest.IsZero() || r.Entry.At.Before(earliest) {
				earliest = r.Entry.At
			}
		}
	}
	if keys == nil {
		return records, t.lockAccessHeads(ctx, members, heads)
	}
	slices.SortFunc(keys, bytes.Compare)
	forgetBefore := micros(earliest.Add(-parley.AccessKeyKept))
	var kept [][]byte
	var err error
	if t.pg != nil {
		kept, err = t.pgKeepKeysLockingHeads(ctx, keys, firstAt, forgetBefore, members, heads)
	} else {
		if kept, err = t.keepKeys(ctx, keys, firstAt, forgetBefore); err == nil {
			err = t.lockAccessHeads(ctx, members, heads)
		}
	}
	if err != nil {
		return nil, err
	}
	first := make(map[string]bool, len(kept))
	for _, k := range kept {
		first[string(k)] = true
	}
	var appended []parley.AccessRecord
	for _, r := range records {
		if r.Key == nil || first[string(r.Key)] {
			appended = append(appended, r)
			delete(first, string(r.Key))
		}
	}
	return appended, nil
}

// keysForgottenAtOnce bounds the Keys one append forgets: as many expire
// between two appends as the appends keep, so a bound keeps up with them,
// and an append after a busy spell does not delete the spell's Keys all at
// once. A Key past its time and not yet forgotten is still kept again for
// a record of its own (keepKeys).
const keysForgottenAtOnce = 256

// keepKeys keeps those of keys not kept already, or kept from over
// parley.AccessKeyKept before their times in at, at those times, and
// returns them, after forgetting up to keysForgottenAtOnce keys kept from
// before forgetBefore. SQLite's writer runs one write at a time: nothing
// else keeps keys meanwhile.
func (t *txn) keepKeys(ctx context.Context, keys [][]byte, at map[string]int64, forgetBefore int64) ([][]byte, error) {
	if _, err := t.exec(ctx, `DELETE FROM access_keys WHERE key IN (
		SELECT key FROM access_keys WHERE logged_at < $1 LIMIT `+strconv.Itoa(keysForgottenAtOnce)+`)`, forgetBefore); err != nil {
		return nil, mapError("forget access keys", err)
	}
	var kept [][]byte
	for chunk := range slices.Chunk(keys, accessChunk) {
		rows := make([]string, len(chunk))
		args := make([]any, 0, 2*len(chunk))
		for i, k := range chunk {
			rows[i] = "(" + placeholders(2*i+1, 2) + ")"
			args = append(args, k, at[string(k)])
		}
		args = append(args, parley.AccessKeyKept.Microseconds())
		r, err := t.query(ctx, `INSERT INTO access_keys (key, logged_at) VALUES `+strings.Join(rows, ", ")+`
			ON CONFLICT (key) DO UPDATE SET logged_at = excluded.logged_at
			WHERE access_keys.logged_at < excluded.logged_at - $`+strconv.Itoa(len(args))+` RETURNING key`, args...)
		var chunkKept [][]byte
		if err == nil {
			chunkKept, err = scanBytes(r)
		}
		if err != nil {
			return nil, mapError("keep access keys", err)
		}
		kept = append(kept, chunkKept...)
	}
	return kept, nil
}

// pgKeepKeysLockingHeads is keepKeys, and lockAccessHeads, on PostgreSQL,
// in one statement: the keys are kept, or kept again where their row is
// from over parley.AccessKeyKept before their time, up to
// keysForgottenAtOnce other rows from before forgetBefore deleted, and the
// heads found and locked. A member without a head is given one after, as
// lockAccessHeads does. The rows deleted are those no other transaction
// holds (SKIP LOCKED): appends on several nodes, each forgetting what has
// expired, would otherwise wait for each other on the same old rows.
func (t *txn) pgKeepKeysLockingHeads(ctx context.Context, keys [][]byte, at map[string]int64, forgetBefore int64, members []string, heads map[string]parley.AccessHead) ([][]byte, error) {
	ats := make([]int64, len(keys))
	for i, k := range keys {
		ats[i] = at[string(k)]
	}
	for _, id := range members {
		heads[id] = parley.AccessHead{UserID: id, Hash: parley.GenesisHash}
	}
	rows, err := t.query(ctx, `
		WITH locked AS (
			SELECT user_id, seq, hash FROM access_log_heads WHERE user_id = ANY($4) ORDER BY user_id FOR UPDATE
		), forgotten AS (
			DELETE FROM access_keys WHERE key IN (
				SELECT key FROM access_keys WHERE logged_at < $3 AND key <> ALL($1)
				LIMIT `+strconv.Itoa(keysForgottenAtOnce)+` FOR UPDATE SKIP LOCKED)
		), kept AS (
			INSERT INTO access_keys (key, logged_at) SELECT * FROM unnest($1::bytea[], $2::bigint[])
			ON CONFLICT (key) DO UPDATE SET logged_at = excluded.logged_at
			WHERE access_keys.logged_at < excluded.logged_at - $5
			RETURNING key
		)
		SELECT user_id, seq, hash FROM locked UNION ALL SELECT NULL, 0, key FROM kept`,
		keys, ats, forgetBefore, members, parley.AccessKeyKept.Microseconds())
	if err != nil {
		return nil, mapError("keep access keys", err)
	}
	var kept [][]byte
	for rows.Next() {
		var userID *string
		var h parley.AccessHead
		if err := rows.Scan(&userID, &h.Seq, &h.Hash); err != nil {
			rows.Close()
			return nil, mapError("keep access keys", err)
		}
		if userID == nil { // a Key kept, in the third column
			kept = append(kept, h.Hash)
			continue
		}
		h.UserID = *userID
		heads[h.UserID] = h
	}
	if err := rows.Close(); err != nil {
		return nil, mapError("keep access keys", err)
	}
	return kept, t.createMissingHeads(ctx, members, heads)
}

// pgInsertAccess inserts the chained entries and moves the members' heads
// on PostgreSQL, in one statement of the same text however many rows: the
// rows passed as one array per column, and the heads moved by the same
// statement, as each statement costs a round trip. (SQLite has no arrays,
// and binds many parameters slowly: it writes in chunks of accessChunk
// rows.)
func (t *txn) pgInsertAccess(ctx context.Context, entries []*parley.AccessEntry, members []string, heads map[string]parley.AccessHead) error {
	var c struct {
		users, clients, apps, grants, actions, threads, by, ids, terms []string
		seqs, ats, counts, firsts, lasts                               []int64
		prevs, hashes                                                  [][]byte
	}
	for _, e := range entries {
		terms, err := encodeGrantTerms(e.Grant)
		if err != nil {
			return err
		}
		c.terms = append(c.terms, terms)
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
	return t.sendLater(ctx, "append access entries", `
		WITH appended AS (
			INSERT INTO access_log (`+accessEntryColumns+`)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[], $14::text[],
				$15::bytea[], $16::bytea[])
		)
		INSERT INTO access_log_heads (user_id, seq, hash)
		SELECT * FROM unnest($17::text[], $18::bigint[], $19::bytea[])
		ON CONFLICT (user_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
		c.users, c.seqs, c.ats, c.clients, c.apps, c.grants, c.actions, c.threads, c.by, c.ids, c.counts,
		c.firsts, c.lasts, c.terms, c.prevs, c.hashes, members, seqs, hashes)
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

// accessPageQuery returns FindAccessEntries' statement for f on PostgreSQL
// (pg) or SQLite, and its arguments. One app's entries are read through
// the index on (user_id, client_id, seq), so that a page of them costs
// what it holds however few of the member's entries are the app's: with
// the app an optional argument (client_id = $2 unless $2 is empty), PostgreSQL's
// generic plan and SQLite's plan read the member's log through its primary
// key, the other apps' entries too, to find them. SQLite is told to
// (INDEXED BY): without statistics it reckons the primary key's range as
// cheap as the index's.
func accessPageQuery(f parley.AccessFilter, pg bool) (string, []any) {
	order, cmp := "DESC", "<"
	if f.Ascending {
		order, cmp = "ASC", ">"
	}
	args := []any{f.UserID, f.From, max(0, f.Limit)}
	from, where := "access_log", ""
	if f.ClientID != "" {
		args = append(args, f.ClientID)
		where += " AND client_id = $" + strconv.Itoa(len(args))
		if !pg {
			from += " INDEXED BY access_log_app"
		}
	}
	if f.Ascending && f.Through > 0 {
		args = append(args, f.Through)
		where += " AND seq <= $" + strconv.Itoa(len(args))
	}
	return `SELECT ` + accessEntryColumns + `
		FROM ` + from + `
		WHERE user_id = $1 AND seq ` + cmp + ` $2` + where + `
		ORDER BY seq ` + order + ` LIMIT $3`, args
}

func (t *txn) FindAccessEntries(ctx context.Context, f parley.AccessFilter) ([]*parley.AccessEntry, error) {
	if err := t.settle(ctx, []string{f.UserID}); err != nil {
		return nil, err
	}
	query, args := accessPageQuery(f, t.pg != nil)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapError("find access entries", err)
	}
	defer rows.Close()
	list := []*parley.AccessEntry{}
	for rows.Next() {
		var e parley.AccessEntry
		var at int64
		var ids, terms string
		if err := rows.Scan(&e.UserID, &e.Seq, &at, &e.ClientID, &e.AppName, &e.GrantID, &e.Action, &e.ThreadID,
			&e.ByUserID, &ids, &e.MessageCount, &e.FirstSeq, &e.LastSeq, &terms, &e.PrevHash, &e.Hash); err != nil {
			return nil, mapError("find access entries", err)
		}
		if e.Grant, err = decodeGrantTerms(terms); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		if ids != "" {
			e.MessageIDs = strings.Fields(ids)
		}
		list = append(list, &e)
	}
	return list, mapError("find access entries", rows.Err())
}
