package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleyhq/parley"
)

const messageSelect = `
	SELECT m.id, m.thread_id, m.seq, u.id, u.username, u.display_name, m.kind, m.body, m.created_at, m.deleted_at,
		m.via_client_id, m.via_name, m.share_url, m.share_title
	FROM messages m JOIN users u ON u.id = m.sender_id `

func scanMessage(scan func(...any) error) (*parley.Message, error) {
	var m parley.Message
	var body, viaID, viaName, shareURL, shareTitle sql.NullString
	var created int64
	var deleted sql.NullInt64
	err := scan(&m.ID, &m.ThreadID, &m.Seq, &m.Sender.ID, &m.Sender.Username, &m.Sender.DisplayName,
		&m.Kind, &body, &created, &deleted, &viaID, &viaName, &shareURL, &shareTitle)
	if err != nil {
		return nil, err
	}
	m.Text, m.CreatedAt, m.DeletedAt = body.String, fromMicros(created), fromNullMicros(deleted)
	if viaID.Valid {
		m.Via = &parley.Via{ClientID: viaID.String, Name: viaName.String}
	}
	if shareURL.Valid {
		m.Share = &parley.Share{URL: shareURL.String, Title: shareTitle.String}
	}
	return &m, nil
}

func (t *txn) CreateMessage(ctx context.Context, m *parley.Message) error {
	var viaID, viaName, shareURL, shareTitle sql.NullString
	if m.Via != nil {
		viaID, viaName = sql.NullString{String: m.Via.ClientID, Valid: true}, sql.NullString{String: m.Via.Name, Valid: true}
	}
	if m.Share != nil {
		shareURL, shareTitle = sql.NullString{String: m.Share.URL, Valid: true}, sql.NullString{String: m.Share.Title, Valid: true}
	}
	_, err := t.exec(ctx, `
		INSERT INTO messages (thread_id, seq, id, sender_id, kind, body, idempotency_key, created_at,
			via_client_id, via_name, share_url, share_title)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		m.ThreadID, m.Seq, m.ID, m.Sender.ID, m.Kind, m.Text, nullString(m.IdempotencyKey), micros(m.CreatedAt),
		viaID, viaName, shareURL, shareTitle)
	return mapError("create message", err)
}

func (t *txn) findMessages(ctx context.Context, op, query string, args ...any) ([]*parley.Message, error) {
	rows, err := t.query(ctx, messageSelect+query, args...)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	list := []*parley.Message{}
	for rows.Next() {
		m, err := scanMessage(rows.Scan)
		if err != nil {
			return nil, mapError(op, err)
		}
		list = append(list, m)
	}
	return list, mapError(op, rows.Err())
}

func (t *txn) findMessage(ctx context.Context, where string, args ...any) (*parley.Message, error) {
	list, err := t.findMessages(ctx, "find message", where, args...)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, parley.Errorf(parley.ENOTFOUND, "message not found")
	}
	return list[0], nil
}

func (t *txn) FindMessageByID(ctx context.Context, id string) (*parley.Message, error) {
	return t.findMessage(ctx, `WHERE m.id = $1`, id)
}

func (t *txn) FindMessageByIdempotencyKey(ctx context.Context, senderID, key string) (*parley.Message, error) {
	return t.findMessage(ctx, `WHERE m.sender_id = $1 AND m.idempotency_key = $2`, senderID, key)
}

// FindMessages returns a page in the direction of the filter: newest first
// for Before (or no position), oldest first for After.
func (t *txn) FindMessages(ctx context.Context, f parley.MessageFilter) ([]*parley.Message, error) {
	// An empty member ID matches every thread.
	const member = ` AND m.seq >= $5 AND ($4 = '' OR EXISTS (SELECT 1 FROM participants p
		WHERE p.thread_id = $1 AND p.user_id = $4 AND p.left_at IS NULL)) `
	if f.After != nil {
		return t.findMessages(ctx, "find messages",
			`WHERE m.thread_id = $1 AND m.seq > $2`+member+`ORDER BY m.seq ASC LIMIT $3`,
			f.ThreadID, *f.After, f.Limit, f.MemberID, f.FromSeq)
	}
	before := int64(1 << 62)
	if f.Before != nil {
		before = *f.Before
	}
	return t.findMessages(ctx, "find messages",
		`WHERE m.thread_id = $1 AND m.seq < $2`+member+`ORDER BY m.seq DESC LIMIT $3`,
		f.ThreadID, before, f.Limit, f.MemberID, f.FromSeq)
}

func (t *txn) DeleteMessage(ctx context.Context, id string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE messages SET body = NULL, share_url = NULL, share_title = NULL, deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL`,
		id, micros(at))
	if err != nil {
		return mapError("delete message", err)
	}
	return mustAffect(res, "message")
}
