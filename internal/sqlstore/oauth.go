package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

const authRequestColumns = `id, client_id, redirect_uri, state, nonce, scopes, response_mode, code_challenge, prompt,
	max_age, created_at, user_id, grant_id, auth_time, approved_at, code_hash, code_used_at, hint_user_id,
	refused_at`

func (t *txn) CreateAuthRequest(ctx context.Context, r *parley.AuthRequest) error {
	_, err := t.exec(ctx, `INSERT INTO auth_requests (`+authRequestColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		r.ID, r.ClientID, r.RedirectURI, r.State, r.Nonce, r.Scopes.String(), r.ResponseMode, r.CodeChallenge,
		strings.Join(r.Prompt, " "), nullSeconds(r.MaxAge), micros(r.CreatedAt), nullString(r.UserID),
		nullString(r.GrantID), nullMicros(r.AuthTime), nullMicros(r.ApprovedAt), r.CodeHash, nullMicros(r.CodeUsedAt),
		nullString(r.HintUserID), nullMicros(r.RefusedAt))
	return mapError("create auth request", err)
}

func (t *txn) findAuthRequest(ctx context.Context, where string, arg any) (*parley.AuthRequest, error) {
	var r parley.AuthRequest
	var scopes, prompt string
	var created int64
	var userID, grantID, hint sql.NullString
	var maxAge, authTime, approved, used, refused sql.NullInt64
	err := t.queryRow(ctx, "authorization request", `SELECT `+authRequestColumns+` FROM auth_requests WHERE `+where+t.locked,
		[]any{arg}, &r.ID, &r.ClientID, &r.RedirectURI, &r.State, &r.Nonce, &scopes, &r.ResponseMode,
		&r.CodeChallenge, &prompt, &maxAge, &created, &userID, &grantID, &authTime, &approved, &r.CodeHash, &used, &hint, &refused)
	if err != nil {
		return nil, mapError("find auth request", err)
	}
	r.Scopes, r.Prompt, r.CreatedAt = parley.ParseScopes(scopes), strings.Fields(prompt), fromMicros(created)
	if maxAge.Valid {
		d := time.Duration(maxAge.Int64) * time.Second
		r.MaxAge = &d
	}
	r.UserID, r.GrantID, r.HintUserID = userID.String, grantID.String, hint.String
	r.AuthTime, r.ApprovedAt, r.CodeUsedAt = fromNullMicros(authTime), fromNullMicros(approved), fromNullMicros(used)
	r.RefusedAt = fromNullMicros(refused)
	return &r, nil
}

// nullSeconds stores a duration in whole seconds, or NULL.
func nullSeconds(d *time.Duration) sql.NullInt64 {
	if d == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*d / time.Second), Valid: true}
}

func (t *txn) FindAuthRequest(ctx context.Context, id string) (*parley.AuthRequest, error) {
	return t.findAuthRequest(ctx, `id = $1`, id)
}

func (t *txn) FindAuthRequestByCode(ctx context.Context, codeHash []byte) (*parley.AuthRequest, error) {
	return t.findAuthRequest(ctx, `code_hash = $1`, codeHash)
}

func (t *txn) UpdateAuthRequest(ctx context.Context, r *parley.AuthRequest) error {
	res, err := t.exec(ctx, `
		UPDATE auth_requests
		SET user_id = $2, grant_id = $3, auth_time = $4, approved_at = $5, code_hash = $6, code_used_at = $7, scopes = $8,
			refused_at = $9
		WHERE id = $1`,
		r.ID, nullString(r.UserID), nullString(r.GrantID), nullMicros(r.AuthTime), nullMicros(r.ApprovedAt), r.CodeHash,
		nullMicros(r.CodeUsedAt), r.Scopes.String(), nullMicros(r.RefusedAt))
	if err != nil {
		return mapError("update auth request", err)
	}
	return mustAffect(res, "authorization request")
}

func (t *txn) DeleteAuthRequestsBefore(ctx context.Context, answered, open time.Time) error {
	// Both rules delete only what is older than the later time: that bound
	// is the index's range.
	later := open
	if answered.After(open) {
		later = answered
	}
	_, err := t.exec(ctx, `
		DELETE FROM auth_requests
		WHERE created_at < $2 AND (code_hash IS NULL OR created_at < $1 AND NOT EXISTS (
			SELECT 1 FROM oauth_tokens t
			WHERE t.family_id = auth_requests.id AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $1
		))`, micros(answered), micros(later))
	return mapError("delete auth requests", err)
}

func (t *txn) DeleteTokensExpiredBefore(ctx context.Context, before time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM oauth_tokens WHERE expires_at < $1`, micros(before))
	return mapError("delete expired tokens", err)
}

const tokenColumns = `t.token_hash, t.kind, t.family_id, t.grant_id, t.client_id, t.user_id, t.scopes,
	t.created_at, t.expires_at, t.used_at, t.revoked_at`

// tokenScan scans token columns into a token; finish completes it after the scan.
type tokenScan struct {
	tok              *parley.OAuthToken
	scopes           string
	created, expires int64
	used, revoked    sql.NullInt64
}

func (s *tokenScan) dest() []any {
	return []any{&s.tok.Hash, &s.tok.Kind, &s.tok.FamilyID, &s.tok.GrantID, &s.tok.ClientID, &s.tok.UserID,
		&s.scopes, &s.created, &s.expires, &s.used, &s.revoked}
}

func (s *tokenScan) finish() {
	s.tok.Scopes = parley.ParseScopes(s.scopes)
	s.tok.CreatedAt, s.tok.ExpiresAt = fromMicros(s.created), fromMicros(s.expires)
	s.tok.UsedAt, s.tok.RevokedAt = fromNullMicros(s.used), fromNullMicros(s.revoked)
}

func (t *txn) CreateToken(ctx context.Context, tok *parley.OAuthToken) error {
	_, err := t.exec(ctx, `
		INSERT INTO oauth_tokens (token_hash, kind, family_id, grant_id, client_id, user_id, scopes, created_at, expires_at,
			used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		tok.Hash, tok.Kind, tok.FamilyID, tok.GrantID, tok.ClientID, tok.UserID, tok.Scopes.String(),
		micros(tok.CreatedAt), micros(tok.ExpiresAt), nullMicros(tok.UsedAt), nullMicros(tok.RevokedAt))
	return mapError("create token", err)
}

func (t *txn) FindTokenGrant(ctx context.Context, hash []byte) (*parley.TokenGrant, error) {
	var tg parley.TokenGrant
	ts := tokenScan{tok: &tg.Token}
	gs := grantScan{g: &tg.Grant}
	dest := append(ts.dest(), gs.dest()...)
	dest = append(dest, &tg.App.Name, &tg.App.ClientType, &tg.App.State, &tg.App.AllThreadsApproved, &tg.User.ID, &tg.User.Username,
		&tg.User.DisplayName)
	err := t.queryRow(ctx, "token", `
		SELECT `+tokenColumns+`, `+grantColumns+`, a.name, a.client_type, a.state, a.all_threads_approved,
			u.id, u.username, u.display_name
		FROM oauth_tokens t
		JOIN grants g ON g.id = t.grant_id
		JOIN apps a ON a.client_id = t.client_id
		JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1`, []any{hash}, dest...)
	if err != nil {
		return nil, mapError("find token grant", err)
	}
	ts.finish()
	gs.finish()
	tg.App.ClientID = tg.Token.ClientID
	return &tg, nil
}

// UseToken and RevokeTokenFamily hold the family's authorization request
// first, on PostgreSQL, where a write's statements each see what was
// committed when it began: a revocation that found the used token locked
// by a refresh would otherwise wait for it, then miss the tokens the
// refresh added, which it cannot see. Held, the revocation's update begins
// after the refresh commits, and finds them. (SQLite runs one write at a
// time.)
func (t *txn) UseToken(ctx context.Context, hash []byte, at time.Time) (bool, error) {
	if err := t.holdTokenFamily(ctx, `(SELECT family_id FROM oauth_tokens WHERE token_hash = $1)`, hash); err != nil {
		return false, err
	}
	res, err := t.exec(ctx, `UPDATE oauth_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL`,
		hash, micros(at))
	if err != nil {
		return false, mapError("use token", err)
	}
	n, err := res.RowsAffected()
	return n == 1, mapError("use token", err)
}

func (t *txn) RevokeToken(ctx context.Context, hash []byte, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE oauth_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL`,
		hash, micros(at))
	return mapError("revoke token", err)
}

func (t *txn) RevokeTokenFamily(ctx context.Context, familyID string, at time.Time) error {
	if err := t.holdTokenFamily(ctx, `$1`, familyID); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE oauth_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL`,
		familyID, micros(at))
	return mapError("revoke token family", err)
}

// holdTokenFamily holds, in a write on PostgreSQL, the authorization
// request whose ID family, an SQL expression of arg ($1), gives: the
// family's tokens are then written by one write at a time.
func (t *txn) holdTokenFamily(ctx context.Context, family string, arg any) error {
	if t.locked == "" {
		return nil
	}
	_, err := t.exec(ctx, `SELECT 1 FROM auth_requests WHERE id = `+family+t.locked, arg)
	return mapError("hold token family", err)
}

func (t *txn) FindServerKey(ctx context.Context, name string) ([]byte, error) {
	var key []byte
	if err := t.queryRow(ctx, "server key", `SELECT value FROM server_keys WHERE name = $1`, []any{name}, &key); err != nil {
		return nil, mapError("find server key", err)
	}
	return key, nil
}

func (t *txn) FindServerKeyNames(ctx context.Context) ([]string, error) {
	rows, err := t.query(ctx, `SELECT name FROM server_keys ORDER BY name`)
	if err != nil {
		return nil, mapError("find server key names", err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, mapError("find server key names", err)
		}
		names = append(names, name)
	}
	return names, mapError("find server key names", rows.Err())
}

func (t *txn) CreateServerKey(ctx context.Context, name string, key []byte) error {
	_, err := t.exec(ctx, `INSERT INTO server_keys (name, value) VALUES ($1, $2)`, name, key)
	return mapError("create server key", err)
}

func (t *txn) ReplaceServerKey(ctx context.Context, name string, old, key []byte) error {
	res, err := t.exec(ctx, `UPDATE server_keys SET value = $3 WHERE name = $1 AND value = $2`, name, old, key)
	if err != nil {
		return mapError("replace server key", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapError("replace server key", err)
	} else if n == 1 {
		return nil
	}
	if _, err := t.FindServerKey(ctx, name); err != nil {
		return err
	}
	return &parley.Error{Code: parley.ECONFLICT, Message: "the key was replaced meanwhile"}
}

func (t *txn) DeleteServerKey(ctx context.Context, name string) error {
	_, err := t.exec(ctx, `DELETE FROM server_keys WHERE name = $1`, name)
	return mapError("delete server key", err)
}
