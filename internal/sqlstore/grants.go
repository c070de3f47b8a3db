package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleyhq/parley"
)

const grantColumns = `g.id, g.user_id, g.client_id, g.scopes, g.thread_scope, g.created_at, g.updated_at, g.expires_at, g.revoked_at`

// grantScan scans grant columns into a grant; finish completes it after the scan.
type grantScan struct {
	g                *parley.Grant
	scopes           string
	created, updated int64
	expires, revoked sql.NullInt64
}

func (s *grantScan) dest() []any {
	return []any{&s.g.ID, &s.g.UserID, &s.g.ClientID, &s.scopes, &s.g.ThreadScope, &s.created, &s.updated, &s.expires, &s.revoked}
}

func (s *grantScan) finish() {
	s.g.Scopes = parley.ParseScopes(s.scopes)
	s.g.CreatedAt, s.g.UpdatedAt = fromMicros(s.created), fromMicros(s.updated)
	s.g.ExpiresAt, s.g.RevokedAt = fromNullMicros(s.expires), fromNullMicros(s.revoked)
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}

func (t *txn) CreateGrant(ctx context.Context, g *parley.Grant) error {
	_, err := t.exec(ctx, `
		INSERT INTO grants (id, user_id, client_id, scopes, thread_scope, created_at, updated_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		g.ID, g.UserID, g.ClientID, g.Scopes.String(), g.ThreadScope, micros(g.CreatedAt), micros(g.UpdatedAt),
		nullMicros(g.ExpiresAt), nullMicros(g.RevokedAt))
	return mapError("create grant", err)
}

func (t *txn) findGrant(ctx context.Context, where string, args ...any) (*parley.Grant, error) {
	s := grantScan{g: &parley.Grant{}}
	if err := t.queryRow(ctx, "grant", `SELECT `+grantColumns+` FROM grants g WHERE `+where, args, s.dest()...); err != nil {
		return nil, mapError("find grant", err)
	}
	s.finish()
	return s.g, nil
}

func (t *txn) FindGrantByID(ctx context.Context, id string) (*parley.Grant, error) {
	return t.findGrant(ctx, `g.id = $1`, id)
}

func (t *txn) FindCurrentGrant(ctx context.Context, userID, clientID string) (*parley.Grant, error) {
	return t.findGrant(ctx, `g.user_id = $1 AND g.client_id = $2 AND g.revoked_at IS NULL`, userID, clientID)
}

func (t *txn) UpdateGrant(ctx context.Context, g *parley.Grant) error {
	res, err := t.exec(ctx, `
		UPDATE grants SET scopes = $2, thread_scope = $3, updated_at = $4, expires_at = $5, revoked_at = $6
		WHERE id = $1`,
		g.ID, g.Scopes.String(), g.ThreadScope, micros(g.UpdatedAt), nullMicros(g.ExpiresAt), nullMicros(g.RevokedAt))
	if err != nil {
		return mapError("update grant", err)
	}
	return mustAffect(res, "grant")
}

func (t *txn) AddGrantThread(ctx context.Context, gt parley.GrantThread) error {
	_, err := t.exec(ctx, `
		INSERT INTO grant_threads (grant_id, thread_id, visible_from_seq) VALUES ($1, $2, $3)
		ON CONFLICT (grant_id, thread_id) DO NOTHING`,
		gt.GrantID, gt.ThreadID, gt.VisibleFromSeq)
	return mapError("add grant thread", err)
}

func (t *txn) FindGrantThread(ctx context.Context, grantID, threadID string) (*parley.GrantThread, error) {
	gt := parley.GrantThread{GrantID: grantID, ThreadID: threadID}
	err := t.queryRow(ctx, "grant thread",
		`SELECT visible_from_seq FROM grant_threads WHERE grant_id = $1 AND thread_id = $2`,
		[]any{grantID, threadID}, &gt.VisibleFromSeq)
	if err != nil {
		return nil, mapError("find grant thread", err)
	}
	return &gt, nil
}
