package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// shownUsers is the users table as members and apps see one another in
// what they read: a deleted account's username reads as empty, as the API
// says. Its row keeps the username, reserved so that no one else takes
// it, and DeletedDisplayName; nothing others read names it. Queries that
// name other members beside messages, reactions, notes and participants
// join this in place of users, as u in "JOIN `+shownUsers+` u"; both
// engines read it as the table itself, with its indexes.
const shownUsers = `(SELECT no, id, CASE WHEN deleted_at IS NULL THEN username ELSE '' END AS username, display_name FROM users)`

const userColumns = `id, username, display_name, created_at, operator, disabled, deleted_at IS NOT NULL`

func scanUser(scan func(...any) error) (*parley.User, error) {
	var u parley.User
	var created int64
	if err := scan(&u.ID, &u.Username, &u.DisplayName, &created, &u.Operator, &u.Disabled, &u.Deleted); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

func (t *txn) CreateUser(ctx context.Context, u *parley.User, passwordHash string) error {
	_, err := t.exec(ctx, `
		INSERT INTO users (id, username, display_name, password_hash, created_at, operator, no)
		VALUES ($1, $2, $3, $4, $5, $6, `+t.newNo("users")+`)`,
		u.ID, u.Username, u.DisplayName, passwordHash, micros(u.CreatedAt), u.Operator)
	return mapError("create user", err)
}

// newNo is the number a new row of table, users or threads, takes, as the
// value of its column no in an INSERT: on PostgreSQL the next of the
// column's identity, which concurrent writers take apart; on SQLite, under
// its one writer, the one after the highest.
func (t *txn) newNo(table string) string {
	if t.pg != nil {
		return "DEFAULT"
	}
	return "(SELECT COALESCE(MAX(no), 0) + 1 FROM " + table + ")"
}

func (t *txn) findUser(ctx context.Context, where string, arg any) (*parley.User, error) {
	var u parley.User
	var created int64
	err := t.queryRow(ctx, "user", `SELECT `+userColumns+` FROM users WHERE `+where, []any{arg},
		&u.ID, &u.Username, &u.DisplayName, &created, &u.Operator, &u.Disabled, &u.Deleted)
	if err != nil {
		return nil, mapError("find user", err)
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

func (t *txn) FindUserByID(ctx context.Context, id string) (*parley.User, error) {
	return t.findUser(ctx, `id = $1`, id)
}

func (t *txn) FindUserForUpdate(ctx context.Context, id string) (*parley.User, error) {
	return t.findUser(ctx, `id = $1`+t.locked, id)
}

func (t *txn) FindUserByUsername(ctx context.Context, username string) (*parley.User, error) {
	return t.findUser(ctx, `username = $1`, username)
}

func (t *txn) FindPasswordHash(ctx context.Context, userID string) (string, error) {
	var hash string
	err := t.queryRow(ctx, "user", `SELECT password_hash FROM users WHERE id = $1`, []any{userID}, &hash)
	return hash, mapError("find password hash", err)
}

func (t *txn) FindUsers(ctx context.Context) ([]*parley.User, error) {
	rows, err := t.query(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, mapError("find users", err)
	}
	defer rows.Close()
	var users []*parley.User
	for rows.Next() {
		u, err := scanUser(rows.Scan)
		if err != nil {
			return nil, mapError("find users", err)
		}
		users = append(users, u)
	}
	return users, mapError("find users", rows.Err())
}

func (t *txn) SetOperator(ctx context.Context, userID string, operator bool) error {
	res, err := t.exec(ctx, `UPDATE users SET operator = $2 WHERE id = $1`, userID, operator)
	if err != nil {
		return mapError("set operator", err)
	}
	return mustAffect(res, "user")
}

func (t *txn) EraseUser(ctx context.Context, userID string, at time.Time) error {
	res, err := t.exec(ctx, `
		UPDATE users SET display_name = $2, password_hash = '', operator = FALSE, disabled = TRUE, deleted_at = $3
		WHERE id = $1 AND deleted_at IS NULL`, userID, parley.DeletedDisplayName, micros(at))
	if err != nil {
		return mapError("erase user", err)
	}
	if err := mustAffect(res, "user"); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM friendships WHERE requester_id = $1 OR addressee_id = $1`,
		`DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1`,
		`DELETE FROM thread_keys WHERE user_id = $1`,
		// The account sends no more: its keys, which its clients chose,
		// are of no use, and say what they chose.
		`DELETE FROM message_keys WHERE sender_no = (SELECT no FROM users WHERE id = $1)`,
	} {
		if _, err := t.exec(ctx, q, userID); err != nil {
			return mapError("erase user", err)
		}
	}
	return nil
}

func (t *txn) CreateSession(ctx context.Context, s *parley.Session) error {
	_, err := t.exec(ctx, `INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.TokenHash, s.UserID, micros(s.CreatedAt), micros(s.ExpiresAt))
	return mapError("create session", err)
}

func (t *txn) DeleteSessionsExpiredBefore(ctx context.Context, before time.Time) error {
	_, err := t.exec(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(before))
	return mapError("delete expired sessions", err)
}

func (t *txn) FindSession(ctx context.Context, tokenHash []byte) (*parley.Session, *parley.User, error) {
	var s parley.Session
	var u parley.User
	var created, expires, userCreated int64
	err := t.queryRow(ctx, "session", `
		SELECT s.token_hash, s.created_at, s.expires_at, u.id, u.username, u.display_name, u.created_at, u.operator
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.token_hash = $1`, []any{tokenHash},
		&s.TokenHash, &created, &expires, &u.ID, &u.Username, &u.DisplayName, &userCreated, &u.Operator)
	if err != nil {
		return nil, nil, mapError("find session", err)
	}
	s.UserID = u.ID
	s.CreatedAt, s.ExpiresAt, u.CreatedAt = fromMicros(created), fromMicros(expires), fromMicros(userCreated)
	return &s, &u, nil
}

func (t *txn) DeleteSession(ctx context.Context, tokenHash []byte) error {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
	if err != nil {
		return mapError("delete session", err)
	}
	return mustAffect(res, "session")
}

func (t *txn) SetDisabled(ctx context.Context, userID string, disabled bool) error {
	res, err := t.exec(ctx, `UPDATE users SET disabled = $2 WHERE id = $1`, userID, disabled)
	if err != nil {
		return mapError("set disabled", err)
	}
	return mustAffect(res, "user")
}

func (t *txn) SetPasswordHash(ctx context.Context, userID, passwordHash string) error {
	res, err := t.exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, passwordHash)
	if err != nil {
		return mapError("set password hash", err)
	}
	return mustAffect(res, "user")
}

func (t *txn) SetDisplayName(ctx context.Context, userID, displayName string) error {
	res, err := t.exec(ctx, `UPDATE users SET display_name = $2 WHERE id = $1 AND deleted_at IS NULL`, userID, displayName)
	if err != nil {
		return mapError("set display name", err)
	}
	return mustAffect(res, "user")
}

func (t *txn) FindUserSessions(ctx context.Context, userID string) ([]*parley.Session, error) {
	rows, err := t.query(ctx, `SELECT token_hash, created_at, expires_at FROM sessions WHERE user_id = $1 ORDER BY created_at DESC`, userID)
	if err != nil {
		return nil, mapError("find user sessions", err)
	}
	defer rows.Close()
	var sessions []*parley.Session
	for rows.Next() {
		s := &parley.Session{UserID: userID}
		var created, expires int64
		if err := rows.Scan(&s.TokenHash, &created, &expires); err != nil {
			return nil, mapError("find user sessions", err)
		}
		s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
		sessions = append(sessions, s)
	}
	return sessions, mapError("find user sessions", rows.Err())
}

func (t *txn) DeleteSessionsBeyond(ctx context.Context, userID string, keep int, liveAt time.Time) ([][]byte, error) {
	rows, err := t.query(ctx, `DELETE FROM sessions WHERE user_id = $1 AND expires_at > $2 AND token_hash NOT IN (
		SELECT token_hash FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, token_hash LIMIT $3)
		RETURNING token_hash`, userID, micros(liveAt), keep)
	if err != nil {
		return nil, mapError("delete sessions beyond", err)
	}
	ended, err := scanBytes(rows)
	return ended, mapError("delete sessions beyond", err)
}

func (t *txn) DeleteUserSessions(ctx context.Context, userID string, keep []byte, liveAt time.Time) ([][]byte, error) {
	query, args := `DELETE FROM sessions WHERE user_id = $1 AND expires_at > $2 RETURNING token_hash`, []any{userID, micros(liveAt)}
	if keep != nil {
		query = `DELETE FROM sessions WHERE user_id = $1 AND expires_at > $2 AND token_hash <> $3 RETURNING token_hash`
		args = append(args, keep)
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapError("delete user sessions", err)
	}
	ended, err := scanBytes(rows)
	return ended, mapError("delete user sessions", err)
}
