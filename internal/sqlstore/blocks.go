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

func (t *txn) FindBlockedMembers(ctx context.Context, blockerID string) ([]parley.BlockedMember, error) {
	rows, err := t.query(ctx, `
		SELECT u.id, u.username, u.display_name, b.created_at
		FROM blocks b JOIN users u ON u.id = b.blocked_id
		WHERE b.blocker_id = $1
		ORDER BY u.username`, blockerID)
	if err != nil {
		return nil, mapError("find blocked members", err)
	}
	defer rows.Close()
	list := []parley.BlockedMember{}
	for rows.Next() {
		var m parley.BlockedMember
		var since int64
		if err := rows.Scan(&m.User.ID, &m.User.Username, &m.User.DisplayName, &since); err != nil {
			return nil, mapError("find blocked members", err)
		}
		m.Since = fromMicros(since)
		list = append(list, m)
	}
	return list, mapError("find blocked members", rows.Err())
}
