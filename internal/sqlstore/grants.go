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
	if err := t.queryRow(ctx, "grant", `SELECT `+grantColumns+` FROM grants g WHERE `+where+t.locked, args, s.dest()...); err != nil {
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

func (t *txn) AddGrantThread(ctx context.Context, gt parley.GrantThread) (bool, error) {
	res, err := t.exec(ctx, `
		INSERT INTO grant_threads (grant_id, thread_id, visible_from_seq)
		SELECT $1, $2, $3
		WHERE NOT EXISTS (SELECT 1 FROM grant_threads_taken_out WHERE grant_id = $1 AND thread_id = $2)
		ON CONFLICT (grant_id, thread_id) DO NOTHING`,
		gt.GrantID, gt.ThreadID, gt.VisibleFromSeq)
	if err != nil {
		return false, mapError("add grant thread", err)
	}
	n, err := res.RowsAffected()
	return n > 0, mapError("add grant thread", err)
}

func (t *txn) FindGrantThreads(ctx context.Context, grantID string) ([]parley.GrantThread, error) {
	rows, err := t.query(ctx, `
		SELECT gt.thread_id, `+later("gt.visible_from_seq", "t.apps_from_seq")+`
		FROM grant_threads gt JOIN threads t ON t.id = gt.thread_id
		WHERE gt.grant_id = $1
		ORDER BY t.created_at, t.id`, grantID)
	if err != nil {
		return nil, mapError("find grant threads", err)
	}
	defer rows.Close()
	list := []parley.GrantThread{}
	for rows.Next() {
		gt := parley.GrantThread{GrantID: grantID}
		if err := rows.Scan(&gt.ThreadID, &gt.VisibleFromSeq); err != nil {
			return nil, mapError("find grant threads", err)
		}
		list = append(list, gt)
	}
	return list, mapError("find grant threads", rows.Err())
}

func (t *txn) FindThreadReach(ctx context.Context, grantID, threadID string) (*parley.ThreadReach, error) {
	if t.locked != "" {
		// In a write on PostgreSQL, the thread is held first, as a
		// participant's closing of it to apps holds it: the closing waits
		// for the write, or, made first, is seen by the reach read after
		// the hold, in a statement of its own (one round trip all the
		// same: sendLater). Before the thread, the grant's member's place
		// in it, in the order of the member's own writes there
		// (heldThread), which would otherwise wait on the app's write
		// while it waited on them.
		if err := t.sendLater(ctx, "hold member", `SELECT 1 FROM participants WHERE thread_id = $1 AND user_id = (SELECT user_id FROM grants WHERE id = $2) FOR UPDATE`, threadID, grantID); err != nil {
			return nil, err
		}
		if err := t.sendLater(ctx, "hold thread", `SELECT 1 FROM threads WHERE id = $1 FOR NO KEY UPDATE`, threadID); err != nil {
			return nil, err
		}
	}
	var r parley.ThreadReach
	var from sql.NullInt64
	err := t.queryRow(ctx, "thread reach", `
		SELECT EXISTS (SELECT 1 FROM thread_app_closures WHERE thread_id = $2),
			(SELECT visible_from_seq FROM grant_threads WHERE grant_id = $1 AND thread_id = $2),
			COALESCE((SELECT apps_from_seq FROM threads WHERE id = $2), 0),
			EXISTS (SELECT 1 FROM grant_threads_taken_out WHERE grant_id = $1 AND thread_id = $2)`,
		[]any{grantID, threadID}, &r.ClosedToApps, &from, &r.AppsFromSeq, &r.TakenOut)
	if err != nil {
		return nil, mapError("find thread reach", err)
	}
	r.InGrant, r.VisibleFromSeq = from.Valid, from.Int64
	return &r, nil
}

func (t *txn) findGrants(ctx context.Context, what, query string, args ...any) ([]*parley.Grant, error) {
	rows, err := t.query(ctx, `SELECT `+grantColumns+` FROM grants g `+query, args...)
	if err != nil {
		return nil, mapError(what, err)
	}
	defer rows.Close()
	list := []*parley.Grant{}
	for rows.Next() {
		s := grantScan{g: &parley.Grant{}}
		if err := rows.Scan(s.dest()...); err != nil {
			return nil, mapError(what, err)
		}
		s.finish()
		list = append(list, s.g)
	}
	return list, mapError(what, rows.Err())
}

func (t *txn) FindUserGrants(ctx context.Context, userID string) ([]*parley.Grant, error) {
	// In a write on PostgreSQL, the grants are held, as FindGrantByID holds
	// one: a write that ends them (endAccess) waits for another that is
	// ending one (the expiry job, a revocation), and reads what it wrote.
	return t.findGrants(ctx, "find user grants", `WHERE g.user_id = $1 ORDER BY g.created_at, g.id`+t.locked, userID)
}

func (t *txn) FindActiveGrants(ctx context.Context, userID string, at time.Time) ([]*parley.Grant, error) {
	return t.findGrants(ctx, "find active grants", `
		WHERE g.user_id = $1 AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2)
		ORDER BY g.created_at, g.id`, userID, micros(at))
}

func (t *txn) FindExpiredGrants(ctx context.Context, at time.Time, limit int) ([]*parley.Grant, error) {
	// In a write on PostgreSQL, grants another server's write holds are
	// skipped, not waited for: that write ends them.
	lock := t.locked
	if lock != "" {
		lock += " SKIP LOCKED"
	}
	return t.findGrants(ctx, "find expired grants", `
		WHERE g.revoked_at IS NULL AND g.expires_at IS NOT NULL AND g.expires_at <= $1
		ORDER BY g.expires_at, g.id LIMIT $2`+lock, micros(at), limit)
}

func (t *txn) FindThreadGrants(ctx context.Context, threadID string, at time.Time, suspendedToo bool) ([]parley.ThreadGrant, error) {
	suspended := parley.AppActive // a state no other app is in: active ones alone
	if suspendedToo {
		suspended = parley.AppSuspended
	}
	rows, err := t.query(ctx, `
		SELECT g.id, g.client_id, a.name, u.id, u.username, u.display_name, g.scopes, g.thread_scope,
			`+later("COALESCE(gt.visible_from_seq, 0)", "(SELECT apps_from_seq FROM threads WHERE id = $1)")+`
		FROM participants p
		JOIN `+shownUsers+` u ON u.id = p.user_id
		JOIN grants g ON g.user_id = p.user_id
		JOIN apps a ON a.client_id = g.client_id
		LEFT JOIN grant_threads gt ON gt.grant_id = g.id AND gt.thread_id = p.thread_id
		WHERE p.thread_id = $1 AND p.left_at IS NULL
		  AND g.revoked_at IS NULL AND (g.expires_at IS NULL OR g.expires_at > $2) AND a.state IN ($3, $5)
		  AND (g.thread_scope = $4 OR gt.grant_id IS NOT NULL)
		ORDER BY u.username, a.name, g.id`, threadID, micros(at), parley.AppActive, parley.ThreadScopeAll, suspended)
	if err != nil {
		return nil, mapError("find thread grants", err)
	}
	defer rows.Close()
	list := []parley.ThreadGrant{}
	for rows.Next() {
		var g parley.ThreadGrant
		var scopes string
		if err := rows.Scan(&g.GrantID, &g.ClientID, &g.AppName, &g.Member.ID, &g.Member.Username, &g.Member.DisplayName,
			&scopes, &g.ThreadScope, &g.VisibleFromSeq); err != nil {
			return nil, mapError("find thread grants", err)
		}
		g.Scopes = parley.ParseScopes(scopes)
		list = append(list, g)
	}
	return list, mapError("find thread grants", rows.Err())
}

func (t *txn) FindGrantUse(ctx context.Context, g *parley.Grant) (*parley.GrantUse, error) {
	if err := t.settle(ctx, []string{g.UserID}); err != nil {
		return nil, err
	}
	var u parley.GrantUse
	var last sql.NullInt64
	// Access entries are named after scopes; the grant's own entries
	// (grant.created and the like) are not calls.
	err := t.queryRow(ctx, "grant use", `
		SELECT COUNT(*), MAX(at) FROM access_log
		WHERE user_id = $1 AND client_id = $2 AND grant_id = $3 AND action NOT LIKE 'grant.%'`,
		[]any{g.UserID, g.ClientID, g.ID}, &u.Calls, &last)
	if err != nil {
		return nil, mapError("find grant use", err)
	}
	u.LastAccessAt = fromNullMicros(last)
	return &u, nil
}

func (t *txn) CloseThreadToApps(ctx context.Context, threadID, userID string, at time.Time) (bool, error) {
	res, err := t.exec(ctx, `
		INSERT INTO thread_app_closures (thread_id, user_id, closed_at) VALUES ($1, $2, $3)
		ON CONFLICT (thread_id, user_id) DO NOTHING`, threadID, userID, micros(at))
	if err != nil {
		return false, mapError("close thread to apps", err)
	}
	n, err := res.RowsAffected()
	return n > 0, mapError("close thread to apps", err)
}

func (t *txn) ReopenThreadToApps(ctx context.Context, threadID, userID string) (bool, error) {
	const op = "reopen thread to apps"
	// The thread's row first, on PostgreSQL: two closings withdrawn at
	// once would otherwise each find the other's still there, and neither
	// set where apps see the thread from.
	if _, err := t.FindThreadByID(ctx, threadID); err != nil {
		return false, err
	}
	res, err := t.exec(ctx, `DELETE FROM thread_app_closures WHERE thread_id = $1 AND user_id = $2`, threadID, userID)
	if err != nil {
		return false, mapError(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil || n == 0 {
		return false, mapError(op, err)
	}
	// The last closing gone, apps see the thread from its next message
	// on. On PostgreSQL the update waits for a post that holds the
	// thread's row and then counts it: a message is either before the
	// opening, and no app's, or after it.
	_, err = t.exec(ctx, `
		UPDATE threads SET apps_from_seq = last_seq + 1
		WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM thread_app_closures WHERE thread_id = $1)`, threadID)
	return true, mapError(op, err)
}

func (t *txn) FindThreadClosers(ctx context.Context, threadID string) ([]parley.UserRef, error) {
	return t.queryUserRefs(ctx, "find thread closers", `
		SELECT u.id, u.username, u.display_name
		FROM thread_app_closures c JOIN `+shownUsers+` u ON u.id = c.user_id
		WHERE c.thread_id = $1
		ORDER BY c.closed_at, u.username`, threadID)
}

func (t *txn) FindThreadsClosedBy(ctx context.Context, userID string) (map[string]time.Time, error) {
	const op = "find threads closed by"
	rows, err := t.query(ctx, `SELECT thread_id, closed_at FROM thread_app_closures WHERE user_id = $1`, userID)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	closed := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, mapError(op, err)
		}
		closed[id] = fromMicros(at)
	}
	return closed, mapError(op, rows.Err())
}
