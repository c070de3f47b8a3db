package sqlstore

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

func (t *txn) FindFriendship(ctx context.Context, a, b string) (*parley.Friendship, error) {
	var f parley.Friendship
	var created int64
	err := t.queryRow(ctx, "friendship", `
		SELECT requester_id, addressee_id, state, created_at FROM friendships
		WHERE (requester_id = $1 AND addressee_id = $2) OR (requester_id = $2 AND addressee_id = $1)`,
		[]any{a, b}, &f.RequesterID, &f.AddresseeID, &f.State, &created)
	if err != nil {
		return nil, mapError("find friendship", err)
	}
	f.CreatedAt = fromMicros(created)
	return &f, nil
}

// CreateFriendship reads both members' rows as it inserts the request; on
// PostgreSQL it locks them (FOR KEY SHARE), which an account's deletion,
// holding its row FOR UPDATE, makes wait until the deletion ends, when the
// rows are read again: a request made while either account is being
// deleted is refused, not left behind the deletion's erasing of requests.
func (t *txn) CreateFriendship(ctx context.Context, f *parley.Friendship) error {
	res, err := t.exec(ctx, `
		INSERT INTO friendships (requester_id, addressee_id, state, created_at)
		SELECT r.id, a.id, $3, $4 FROM users r JOIN users a ON a.id = $2
		WHERE r.id = $1 AND r.deleted_at IS NULL AND a.deleted_at IS NULL`+t.keyShared(),
		f.RequesterID, f.AddresseeID, f.State, micros(f.CreatedAt))
	if err != nil {
		return mapError("create friendship", err)
	}
	return mustAffect(res, "member")
}

func (t *txn) AcceptFriendship(ctx context.Context, requesterID, addresseeID string) error {
	res, err := t.exec(ctx, `UPDATE friendships SET state = $1 WHERE requester_id = $2 AND addressee_id = $3 AND state = $4`,
		parley.FriendAccepted, requesterID, addresseeID, parley.FriendPending)
	if err != nil {
		return mapError("accept friendship", err)
	}
	return mustAffect(res, "friend request")
}

func (t *txn) DeclineFriendship(ctx context.Context, requesterID, addresseeID string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE friendships SET state = $1, created_at = $2 WHERE requester_id = $3 AND addressee_id = $4 AND state = $5`,
		parley.FriendDeclined, micros(at), requesterID, addresseeID, parley.FriendPending)
	if err != nil {
		return mapError("decline friendship", err)
	}
	return mustAffect(res, "friend request")
}

func (t *txn) DeleteFriendship(ctx context.Context, a, b string) error {
	res, err := t.exec(ctx, `
		DELETE FROM friendships
		WHERE (requester_id = $1 AND addressee_id = $2) OR (requester_id = $2 AND addressee_id = $1)`, a, b)
	if err != nil {
		return mapError("delete friendship", err)
	}
	return mustAffect(res, "friend")
}

// findFriendList lists the other side of the member's friendships in a state;
// direction "in" lists requests the member received, "out" those they made,
// "both" either.
func (t *txn) findFriendList(ctx context.Context, userID, state, direction string) ([]parley.Friend, error) {
	var where string
	switch direction {
	case "in":
		where = `f.addressee_id = $1 AND u.id = f.requester_id`
	case "out":
		where = `f.requester_id = $1 AND u.id = f.addressee_id`
	default:
		where = `((f.requester_id = $1 AND u.id = f.addressee_id) OR (f.addressee_id = $1 AND u.id = f.requester_id))`
	}
	rows, err := t.query(ctx, `
		SELECT u.id, u.username, u.display_name, f.created_at
		FROM friendships f JOIN users u ON `+where+`
		WHERE f.state = $2
		ORDER BY u.username`, userID, state)
	if err != nil {
		return nil, mapError("find friends", err)
	}
	return scanFriends(rows, "find friends")
}

// scanFriends reads rows of a member's id, username, display name and
// the friendship's created_at, and closes them.
func scanFriends(rs rows, what string) ([]parley.Friend, error) {
	defer rs.Close()
	friends := []parley.Friend{}
	for rs.Next() {
		var f parley.Friend
		var since int64
		if err := rs.Scan(&f.User.ID, &f.User.Username, &f.User.DisplayName, &since); err != nil {
			return nil, mapError(what, err)
		}
		f.Since = fromMicros(since)
		friends = append(friends, f)
	}
	return friends, mapError(what, rs.Err())
}

func (t *txn) FindFriends(ctx context.Context, userID string) ([]parley.Friend, error) {
	return t.findFriendList(ctx, userID, parley.FriendAccepted, "both")
}

// FindFriendPage reads the member's accepted rows in two indexes in the
// page's order, backwards from the cursor: as requester in
// friendships_sent, (requester_id, state, created_at, addressee_id), and
// as addressee in friendships_received, (addressee_id, state, created_at,
// requester_id), at most f.Limit rows of each; it sorts those (at most
// twice the page) and reads each friend's row by its primary key. A page
// costs its own rows, however many friends the member has. A friend's
// place is Since, the friendship's created_at, and their ID: one member
// is one friend, so the two tell any two friends apart.
func (t *txn) FindFriendPage(ctx context.Context, f parley.FriendFilter) ([]parley.Friend, error) {
	rows, err := t.query(ctx, friendPageQuery, friendPageArgs(f)...)
	if err != nil {
		return nil, mapError("find friend page", err)
	}
	return scanFriends(rows, "find friend page")
}

// friendPageQuery is FindFriendPage's statement, of friendPageArgs.
const friendPageQuery = `
	SELECT u.id, u.username, u.display_name, f.since
	FROM (
		SELECT * FROM (
			SELECT addressee_id AS other, created_at AS since FROM friendships
			WHERE requester_id = $1 AND state = $2 AND (created_at, addressee_id) < ($3, $4)
			ORDER BY created_at DESC, addressee_id DESC
			LIMIT $5) sent
		UNION ALL
		SELECT * FROM (
			SELECT requester_id AS other, created_at AS since FROM friendships
			WHERE addressee_id = $1 AND state = $2 AND (created_at, requester_id) < ($3, $4)
			ORDER BY created_at DESC, requester_id DESC
			LIMIT $5) received
	) f JOIN users u ON u.id = f.other
	ORDER BY f.since DESC, f.other DESC
	LIMIT $5`

func friendPageArgs(f parley.FriendFilter) []any {
	beforeAt, beforeID := beforeArgs(f.Before)
	return []any{f.UserID, parley.FriendAccepted, beforeAt, beforeID, max(0, f.Limit)}
}

// beforeArgs are a cursor's place in a list of members newest first as a
// statement compares it: with no cursor, past every row's time.
func beforeArgs(c *parley.MemberCursor) (at int64, id string) {
	if c == nil {
		return 1 << 62, ""
	}
	return micros(c.Since), c.UserID
}

// FindContactIDs reads the member's threads by the participants' index on
// user_id, their members by its primary key, and the friendships by the
// requester's primary key and the addressee's index (friendships_received).
func (t *txn) FindContactIDs(ctx context.Context, userID string) ([]string, error) {
	rows, err := t.query(ctx, `
		SELECT other.user_id FROM participants mine
		JOIN participants other ON other.thread_id = mine.thread_id
		WHERE mine.user_id = $1 AND mine.left_at IS NULL AND other.left_at IS NULL AND other.user_id <> $1
		UNION
		SELECT addressee_id FROM friendships WHERE requester_id = $1 AND state = $2
		UNION
		SELECT requester_id FROM friendships WHERE addressee_id = $1 AND state = $2`,
		userID, parley.FriendAccepted)
	if err != nil {
		return nil, mapError("find contacts", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapError("find contacts", err)
		}
		ids = append(ids, id)
	}
	return ids, mapError("find contacts", rows.Err())
}

// CountSentFriendRequests reads the requester's rows of the friendships'
// primary key.
func (t *txn) CountSentFriendRequests(ctx context.Context, userID string) (int, error) {
	var n int
	err := t.queryRow(ctx, "friend requests", `SELECT COUNT(*) FROM friendships WHERE requester_id = $1 AND state = $2`,
		[]any{userID, parley.FriendPending}, &n)
	return n, mapError("count friend requests", err)
}

func (t *txn) FindFriendRequests(ctx context.Context, userID string) (*parley.FriendRequests, error) {
	return t.findRequests(ctx, userID, parley.FriendPending)
}

// FindReceivedFriendRequests reads the addressee's pending rows of the
// index friendships_received, (addressee_id, state, created_at,
// requester_id), backwards from the cursor: a page costs its own rows,
// however many the member received.
func (t *txn) FindReceivedFriendRequests(ctx context.Context, f parley.FriendRequestFilter) ([]parley.Friend, error) {
	rows, err := t.query(ctx, receivedRequestsQuery, receivedRequestsArgs(f)...)
	if err != nil {
		return nil, mapError("find received friend requests", err)
	}
	return scanFriends(rows, "find received friend requests")
}

// receivedRequestsQuery is FindReceivedFriendRequests' statement, of
// receivedRequestsArgs.
const receivedRequestsQuery = `
	SELECT u.id, u.username, u.display_name, f.created_at
	FROM friendships f JOIN users u ON u.id = f.requester_id
	WHERE f.addressee_id = $1 AND f.state = $2 AND (f.created_at, f.requester_id) < ($3, $4)
	ORDER BY f.created_at DESC, f.requester_id DESC
	LIMIT $5`

func receivedRequestsArgs(f parley.FriendRequestFilter) []any {
	beforeAt, beforeID := beforeArgs(f.Before)
	return []any{f.AddresseeID, parley.FriendPending, beforeAt, beforeID, max(0, f.Limit)}
}

// FindSentFriendRequests reads the requester's rows of the friendships'
// primary key.
func (t *txn) FindSentFriendRequests(ctx context.Context, userID string) ([]parley.Friend, error) {
	return t.findFriendList(ctx, userID, parley.FriendPending, "out")
}

func (t *txn) FindDeclinedFriendRequests(ctx context.Context, userID string) (*parley.FriendRequests, error) {
	return t.findRequests(ctx, userID, parley.FriendDeclined)
}

// findRequests lists the requests in a state the member received and made.
func (t *txn) findRequests(ctx context.Context, userID, state string) (*parley.FriendRequests, error) {
	in, err := t.findFriendList(ctx, userID, state, "in")
	if err != nil {
		return nil, err
	}
	out, err := t.findFriendList(ctx, userID, state, "out")
	if err != nil {
		return nil, err
	}
	return &parley.FriendRequests{Incoming: in, Outgoing: out}, nil
}
