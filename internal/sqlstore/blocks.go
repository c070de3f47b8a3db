package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// CreateBlock reads both members' rows as it inserts the block, and on
// PostgreSQL locks them as CreateFriendship does: a block made while
// either account is being deleted is refused, not left behind the
// deletion's erasing of blocks.
func (t *txn) CreateBlock(ctx context.Context, blockerID, blockedID string, at time.Time) error {
	res, err := t.exec(ctx, `
		INSERT INTO blocks (blocker_id, blocked_id, created_at)
		SELECT r.id, d.id, $3 FROM users r JOIN users d ON d.id = $2
		WHERE r.id = $1 AND r.deleted_at IS NULL AND d.deleted_at IS NULL`+t.keyShared(),
		blockerID, blockedID, micros(at))
	if err != nil {
		return mapError("create block", err)
	}
	return mustAffect(res, "member")
}

func (t *txn) DeleteBlock(ctx context.Context, blockerID, blockedID string) error {
	res, err := t.exec(ctx, `DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2`, blockerID, blockedID)
	if err != nil {
		return mapError("delete block", err)
	}
	return mustAffect(res, "block")
}

func (t *txn) FindBlocksBetween(ctx context.Context, a, b string) (aBlocksB, bBlocksA bool, err error) {
	rows, err := t.query(ctx, `
		SELECT blocker_id FROM blocks
		WHERE (blocker_id = $1 AND blocked_id = $2) OR (blocker_id = $2 AND blocked_id = $1)`, a, b)
	if err != nil {
		return false, false, mapError("find blocks", err)
	}
	defer rows.Close()
	for rows.Next() {
		var blocker string
		if err := rows.Scan(&blocker); err != nil {
			return false, false, mapError("find blocks", err)
		}
		aBlocksB = aBlocksB || blocker == a
		bBlocksA = bBlocksA || blocker == b
	}
	return aBlocksB, bBlocksA, mapError("find blocks", rows.Err())
}

// FindBlock reads the block's row by its primary key.
func (t *txn) FindBlock(ctx context.Context, blockerID, blockedID string) (*parley.BlockedMember, error) {
	var m parley.BlockedMember
	var since int64
	err := t.queryRow(ctx, "block", `
		SELECT u.id, u.username, u.display_name, b.created_at
		FROM blocks b JOIN users u ON u.id = b.blocked_id
		WHERE b.blocker_id = $1 AND b.blocked_id = $2`,
		[]any{blockerID, blockedID}, &m.User.ID, &m.User.Username, &m.User.DisplayName, &since)
	if err != nil {
		return nil, mapError("find block", err)
	}
	m.Since = fromMicros(since)
	return &m, nil
}

// FindBlockPage reads the blocker's rows of the index blocks_made,
// (blocker_id, created_at, blocked_id), backwards from the cursor, and
// each member's row by its primary key: a page costs its own rows,
// however many members the blocker blocks.
func (t *txn) FindBlockPage(ctx context.Context, f parley.BlockFilter) ([]parley.BlockedMember, error) {
	rows, err := t.query(ctx, blockPageQuery, blockPageArgs(f)...)
	if err != nil {
		return nil, mapError("find block page", err)
	}
	return scanBlocked(rows, "find block page")
}

// blockPageQuery is FindBlockPage's statement, of blockPageArgs.
const blockPageQuery = `
	SELECT u.id, u.username, u.display_name, b.created_at
	FROM blocks b JOIN users u ON u.id = b.blocked_id
	WHERE b.blocker_id = $1 AND (b.created_at, b.blocked_id) < ($2, $3)
	ORDER BY b.created_at DESC, b.blocked_id DESC
	LIMIT $4`

func blockPageArgs(f parley.BlockFilter) []any {
	beforeAt, beforeID := beforeArgs(f.Before)
	return []any{f.BlockerID, beforeAt, beforeID, max(0, f.Limit)}
}

// FindBlockedIn reads the threads' current participants by the
// participants' primary key, and for each the blocker's row of blocks by
// its primary key: it costs the threads' participants, whatever the number
// of blocks. Only threads the blocker is or was in count.
func (t *txn) FindBlockedIn(ctx context.Context, blockerID string, threadIDs []string) ([]string, error) {
	if len(threadIDs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(threadIDs)+1)
	args = append(args, blockerID)
	for _, id := range threadIDs {
		args = append(args, id)
	}
	rows, err := t.query(ctx, `
		SELECT DISTINCT p.user_id FROM participants p
		JOIN blocks b ON b.blocker_id = $1 AND b.blocked_id = p.user_id
		WHERE p.left_at IS NULL AND p.thread_id IN (
			SELECT thread_id FROM participants
			WHERE user_id = $1 AND thread_id IN (`+placeholders(2, len(threadIDs))+`))`, args...)
	if err != nil {
		return nil, mapError("find blocked in threads", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapError("find blocked in threads", err)
		}
		ids = append(ids, id)
	}
	return ids, mapError("find blocked in threads", rows.Err())
}

func (t *txn) FindBlockedMembers(ctx context.Context, blockerID string) ([]parley.BlockedMember, error) {
	rows, err := t.query(ctx, `
		SELECT u.id, u.username, u.display_name, b.created_at
		FROM blocks b JOIN users u ON u.id = b.blocked_id
		WHERE b.blocker_id = $1
		ORDER BY u.username`, blockerID)
	if err != nil {
		return nil, mapError("find blocked members", err)
	}
	return scanBlocked(rows, "find blocked members")
}

// scanBlocked reads rows of a member's id, username, display name and the
// block's created_at, and closes them.
func scanBlocked(rs rows, what string) ([]parley.BlockedMember, error) {
	defer rs.Close()
	list := []parley.BlockedMember{}
	for rs.Next() {
		var m parley.BlockedMember
		var since int64
		if err := rs.Scan(&m.User.ID, &m.User.Username, &m.User.DisplayName, &since); err != nil {
			return nil, mapError(what, err)
		}
		m.Since = fromMicros(since)
		list = append(list, m)
	}
	return list, mapError(what, rs.Err())
}
