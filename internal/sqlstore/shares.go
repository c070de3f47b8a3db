package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

func (t *txn) CreateShareLinks(ctx context.Context, links []parley.ShareLink) error {
	if len(links) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO share_links (token_hash, message_id, client_id, sender_id, user_id, sent_at, clicked_at) VALUES `)
	args := make([]any, 0, 7*len(links))
	for i, l := range links {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(")
		for j := range 7 {
			if j > 0 {
				q.WriteString(", ")
			}
			q.WriteString("$" + strconv.Itoa(7*i+j+1))
		}
		q.WriteString(")")
		args = append(args, l.TokenHash, t.messageID(l.MessageID), nullString(l.ClientID), l.SenderID, l.UserID, micros(l.SentAt), nullMicros(l.ClickedAt))
	}
	_, err := t.exec(ctx, q.String(), args...)
	return mapError("create share links", err)
}

func (t *txn) FindShareTarget(ctx context.Context, tokenHash []byte) (*parley.ShareTarget, error) {
	var st parley.ShareTarget
	var url, clientID sql.NullString
	var sent int64
	var clicked sql.NullInt64
	err := t.queryRow(ctx, "share link", `
		SELECT l.message_id, l.client_id, l.sender_id, l.user_id, l.sent_at, l.clicked_at, t.id, m.share_url
		FROM share_links l JOIN messages m ON m.id = l.message_id JOIN threads t ON t.no = m.thread_no
		WHERE l.token_hash = $1`, []any{tokenHash},
		(*storedID)(&st.Link.MessageID), &clientID, &st.Link.SenderID, &st.Link.UserID, &sent, &clicked, &st.ThreadID, &url)
	if err != nil {
		return nil, mapError("find share link", err)
	}
	st.Link.TokenHash, st.Link.ClientID, st.Link.SentAt, st.Link.ClickedAt, st.URL = tokenHash, clientID.String, fromMicros(sent), fromNullMicros(clicked), url.String
	return &st, nil
}

func (t *txn) ClickShareLink(ctx context.Context, tokenHash []byte, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `
		UPDATE share_links SET clicked_at = $2 WHERE token_hash = $1 AND clicked_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = share_links.user_id AND u.deleted_at IS NOT NULL)`,
		tokenHash, micros(at))
	if err != nil {
		return false, mapError("click share link", err)
	}
	n, err := res.RowsAffected()
	return n > 0, mapError("click share link", err)
}

func (t *txn) FindShareLinks(ctx context.Context, clientID string, from, to time.Time) ([]parley.ShareLink, error) {
	rows, err := t.query(ctx, `
		SELECT message_id, sender_id, user_id, sent_at, clicked_at FROM share_links
		WHERE client_id = $1 AND sent_at >= $2 AND sent_at < $3 AND user_id <> sender_id
		ORDER BY sent_at, message_id, user_id`, clientID, micros(from), micros(to))
	if err != nil {
		return nil, mapError("find share links", err)
	}
	defer rows.Close()
	var links []parley.ShareLink
	for rows.Next() {
		l := parley.ShareLink{ClientID: clientID}
		var sent int64
		var clicked sql.NullInt64
		if err := rows.Scan((*storedID)(&l.MessageID), &l.SenderID, &l.UserID, &sent, &clicked); err != nil {
			return nil, mapError("find share links", err)
		}
		l.SentAt, l.ClickedAt = fromMicros(sent), fromNullMicros(clicked)
		links = append(links, l)
	}
	return links, mapError("find share links", rows.Err())
}

func (t *txn) FindReceivedShareLinks(ctx context.Context, userID, afterID string, limit int) ([]parley.ShareLink, error) {
	rows, err := t.query(ctx, `
		SELECT message_id, client_id, sender_id, sent_at, clicked_at FROM share_links
		WHERE user_id = $1 AND message_id > $2
		ORDER BY message_id LIMIT $3`, userID, t.messageID(afterID), limit)
	if err != nil {
		return nil, mapError("find received share links", err)
	}
	defer rows.Close()
	links := make([]parley.ShareLink, 0, max(0, min(limit, 1000)))
	for rows.Next() {
		l := parley.ShareLink{UserID: userID}
		var client sql.NullString
		var sent int64
		var clicked sql.NullInt64
		if err := rows.Scan((*storedID)(&l.MessageID), &client, &l.SenderID, &sent, &clicked); err != nil {
			return nil, mapError("find received share links", err)
		}
		l.ClientID, l.SentAt, l.ClickedAt = client.String, fromMicros(sent), fromNullMicros(clicked)
		links = append(links, l)
	}
	return links, mapError("find received share links", rows.Err())
}

func (t *txn) CreateClientToken(ctx context.Context, ct *parley.ClientToken) error {
	if _, err := t.exec(ctx, `DELETE FROM client_tokens WHERE expires_at < $1`, micros(ct.CreatedAt)); err != nil {
		return mapError("create client token", err)
	}
	_, err := t.exec(ctx, `INSERT INTO client_tokens (token_hash, client_id, scopes, secret_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		ct.Hash, ct.ClientID, ct.Scopes.String(), ct.SecretHash, micros(ct.CreatedAt), micros(ct.ExpiresAt))
	return mapError("create client token", err)
}

func (t *txn) FindClientToken(ctx context.Context, hash []byte) (*parley.ClientToken, *parley.App, error) {
	ct := parley.ClientToken{Hash: hash}
	var scopes string
	var created, expires int64
	err := t.queryRow(ctx, "token", `SELECT client_id, scopes, secret_hash, created_at, expires_at FROM client_tokens WHERE token_hash = $1`,
		[]any{hash}, &ct.ClientID, &scopes, &ct.SecretHash, &created, &expires)
	if err != nil {
		return nil, nil, mapError("find client token", err)
	}
	app, err := t.FindAppByClientID(ctx, ct.ClientID)
	if err != nil {
		return nil, nil, err
	}
	for _, s := range strings.Fields(scopes) {
		ct.Scopes = append(ct.Scopes, parley.Scope(s))
	}
	ct.CreatedAt, ct.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &ct, app, nil
}

func (t *txn) DeleteClientToken(ctx context.Context, hash []byte) error {
	_, err := t.exec(ctx, `DELETE FROM client_tokens WHERE token_hash = $1`, hash)
	return mapError("delete client token", err)
}

func (t *txn) FindShareReportsDue(ctx context.Context, start, end time.Time) ([]string, error) {
	rows, err := t.query(ctx, `
		SELECT DISTINCT s.client_id FROM webhook_subscriptions s
		JOIN webhook_endpoints e ON e.id = s.endpoint_id
		JOIN apps a ON a.client_id = s.client_id
		WHERE s.event = $1 AND s.active_from <= $3 AND e.disabled_at IS NULL AND a.state = $4
		  AND NOT EXISTS (SELECT 1 FROM report_sends r WHERE r.client_id = s.client_id AND r.period_start = $2)
		ORDER BY s.client_id`, parley.WebhookReportShares, micros(start), micros(end), parley.AppActive)
	if err != nil {
		return nil, mapError("find share reports due", err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapError("find share reports due", err)
		}
		ids = append(ids, id)
	}
	return ids, mapError("find share reports due", rows.Err())
}

func (t *txn) MarkShareReportSent(ctx context.Context, clientID string, start, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `
		INSERT INTO report_sends (client_id, period_start, sent_at) VALUES ($1, $2, $3)
		ON CONFLICT (client_id, period_start) DO NOTHING`, clientID, micros(start), micros(at))
	if err != nil {
		return false, mapError("mark share report sent", err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapError("mark share report sent", err)
}
