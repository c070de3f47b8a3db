package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/parleyhq/parley"
)

const threadColumns = `t.id, t.kind, t.title, t.created_by, t.created_via_app, t.last_seq, t.last_activity_at, t.created_at, t.blocked, t.version`

func threadDest(th *parley.Thread, via *sql.NullString, activity, created *int64) []any {
	return []any{&th.ID, &th.Kind, &th.Title, &th.CreatedBy, via, &th.LastSeq, activity, created, &th.Blocked, &th.Version}
}

func finishThread(th *parley.Thread, via sql.NullString, activity, created int64) {
	th.CreatedViaApp = via.String
	th.LastActivityAt, th.CreatedAt = fromMicros(activity), fromMicros(created)
}

func (t *txn) CreateThread(ctx context.Context, th *parley.Thread) error {
	_, err := t.exec(ctx, `
		INSERT INTO threads (id, kind, title, created_by, created_via_app, direct_key, last_seq, last_activity_at, created_at, no)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, `+t.newNo("threads")+`)`,
		th.ID, th.Kind, th.Title, th.CreatedBy, nullString(th.CreatedViaApp), nullString(th.DirectKey),
		th.LastSeq, micros(th.LastActivityAt), micros(th.CreatedAt))
	return mapError("create thread", err)
}

func (t *txn) findThread(ctx context.Context, where string, arg any) (*parley.Thread, error) {
	var th parley.Thread
	var via sql.NullString
	var activity, created int64
	err := t.queryRow(ctx, "thread", `SELECT `+threadColumns+` FROM threads t WHERE `+where+t.locked, []any{arg},
		threadDest(&th, &via, &activity, &created)...)
	if err != nil {
		return nil, mapError("find thread", err)
	}
	finishThread(&th, via, activity, created)
	return &th, nil
}

func (t *txn) FindThreadByID(ctx context.Context, id string) (*parley.Thread, error) {
	return t.findThread(ctx, `t.id = $1`, id)
}

func (t *txn) FindThreadByDirectKey(ctx context.Context, key string) (*parley.Thread, error) {
	return t.findThread(ctx, `t.direct_key = $1`, key)
}

func (t *txn) CreateThreadKey(ctx context.Context, k *parley.ThreadKey) error {
	_, err := t.exec(ctx, `INSERT INTO thread_keys (user_id, idempotency_key, thread_id, request_hash, existed) VALUES ($1, $2, $3, $4, $5)`,
		k.UserID, k.Key, k.ThreadID, k.RequestHash, k.Existed)
	return mapError("create thread key", err)
}

func (t *txn) FindThreadKey(ctx context.Context, userID, key string) (*parley.ThreadKey, error) {
	k := &parley.ThreadKey{UserID: userID, Key: key}
	err := t.queryRow(ctx, "thread key", `SELECT thread_id, request_hash, existed FROM thread_keys WHERE user_id = $1 AND idempotency_key = $2`,
		[]any{userID, key}, &k.ThreadID, &k.RequestHash, &k.Existed)
	if err != nil {
		return nil, mapError("find thread key", err)
	}
	return k, nil
}

func (t *txn) FindThreads(ctx context.Context, f parley.ThreadFilter) ([]*parley.ThreadSummary, error) {
	// A cursor of the zero time and empty ID stands for "from the start".
	afterAt, afterID := int64(1<<62), ""
	if f.After != nil {
		afterAt, afterID = micros(f.After.LastActivityAt), f.After.ID
	}
	rows, err := t.query(ctx, `
		SELECT `+threadColumns+`, p.last_read_seq, p.joined_seq, p.muted, COALESCE(g.visible_from_seq, 0), t.apps_from_seq,
			`+deletedUnread+`
		FROM participants p JOIN threads t ON t.id = p.thread_id
			LEFT JOIN grant_threads g ON g.grant_id = $5 AND g.thread_id = t.id
		WHERE p.user_id = $1 AND p.left_at IS NULL
		  AND (t.last_activity_at < $2 OR (t.last_activity_at = $2 AND t.id < $3))
		  AND ($5 = '' OR g.thread_id IS NOT NULL)
		  AND (NOT $6 OR NOT EXISTS (SELECT 1 FROM thread_app_closures c WHERE c.thread_id = t.id))
		ORDER BY t.last_activity_at DESC, t.id DESC
		LIMIT $4`, f.UserID, afterAt, afterID, max(0, f.Limit), f.GrantID, f.OpenToApps)
	if err != nil {
		return nil, mapError("find threads", err)
	}
	defer rows.Close()
	list := []*parley.ThreadSummary{}
	for rows.Next() {
		var s parley.ThreadSummary
		var via sql.NullString
		var activity, created, appsFrom int64
		if err := rows.Scan(append(threadDest(&s.Thread, &via, &activity, &created), &s.LastReadSeq, &s.JoinedSeq, &s.Muted, &s.VisibleFromSeq, &appsFrom, &s.DeletedUnread)...); err != nil {
			return nil, mapError("find threads", err)
		}
		if f.OpenToApps {
			s.VisibleFromSeq = max(s.VisibleFromSeq, appsFrom) // ThreadReach.From
		}
		finishThread(&s.Thread, via, activity, created)
		s.CountUnread()
		list = append(list, &s)
	}
	return list, mapError("find threads", rows.Err())
}

// deletedUnread is, in FindThreads, the thread's messages deleted after
// the member's UnreadAfter (seq above their read marker and where they
// joined) and from the first message the grant reaches, if any, and, for
// an app's list ($6), apps may see (apps_from_seq): counted
// only when the thread has unread messages at all, through the index of
// deleted messages alone (messages_deleted), so that a thread none of
// whose messages were deleted costs the count one empty look.
const deletedUnread = `CASE WHEN t.last_seq > p.last_read_seq AND t.last_seq > p.joined_seq
			THEN (SELECT count(*) FROM messages m WHERE m.thread_no = t.no AND m.deleted_at IS NOT NULL
				AND m.seq > p.last_read_seq AND m.seq > p.joined_seq AND m.seq >= COALESCE(g.visible_from_seq, 0)
				AND (NOT $6 OR m.seq >= t.apps_from_seq))
			ELSE 0 END`

func (t *txn) CountDeletedAfter(ctx context.Context, threadID string, seq int64) (int64, error) {
	var n int64
	err := t.queryRow(ctx, "deleted messages", `
		SELECT count(*) FROM messages WHERE thread_no = `+threadNo(1)+` AND deleted_at IS NOT NULL AND seq > $2`,
		[]any{threadID, seq}, &n)
	return n, mapError("count deleted after", err)
}

// later is, in SQL, the later (the greater) of a and b, on both engines:
// SQLite's max of two and PostgreSQL's greatest are not one function, and
// greatest passes over a NULL.
func later(a, b string) string {
	return `CASE WHEN ` + a + ` > ` + b + ` THEN ` + a + ` ELSE ` + b + ` END`
}

// laterActivity is, in SQL, the later of a thread's last activity and the
// time param, for an update that records activity: the last activity never
// goes back (ThreadStore.TouchThread).
func laterActivity(param string) string {
	return later("last_activity_at", param)
}

func (t *txn) TouchThread(ctx context.Context, threadID string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE threads SET last_activity_at = `+laterActivity("$2")+` WHERE id = $1`, threadID, micros(at))
	if err != nil {
		return mapError("touch thread", err)
	}
	return mustAffect(res, "thread")
}

func (t *txn) RenameThread(ctx context.Context, threadID, title string, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE threads SET title = $2, last_activity_at = `+laterActivity("$3")+`, version = version + 1 WHERE id = $1`, threadID, title, micros(at))
	if err != nil {
		return mapError("rename thread", err)
	}
	return mustAffect(res, "thread")
}

func (t *txn) SetThreadBlocked(ctx context.Context, threadID string, blocked bool) error {
	res, err := t.exec(ctx, `UPDATE threads SET blocked = $2, version = version + 1 WHERE id = $1`, threadID, blocked)
	if err != nil {
		return mapError("set thread blocked", err)
	}
	return mustAffect(res, "thread")
}

func (t *txn) FindParticipant(ctx context.Context, threadID, userID string) (*parley.Participant, error) {
	return t.findParticipant(ctx, threadID, userID, "")
}

func (t *txn) FindParticipantForUpdate(ctx context.Context, threadID, userID string) (*parley.Participant, error) {
	return t.findParticipant(ctx, threadID, userID, t.locked)
}

func (t *txn) findParticipant(ctx context.Context, threadID, userID, locked string) (*parley.Participant, error) {
	p := parley.Participant{ThreadID: threadID, UserID: userID}
	var joined int64
	var left sql.NullInt64
	err := t.queryRow(ctx, "participant", `
		SELECT joined_at, left_at, last_read_seq, joined_seq, muted FROM participants WHERE thread_id = $1 AND user_id = $2`+locked,
		[]any{threadID, userID}, &joined, &left, &p.LastReadSeq, &p.JoinedSeq, &p.Muted)
	if err != nil {
		return nil, mapError("find participant", err)
	}
	p.JoinedAt, p.LeftAt = fromMicros(joined), fromNullMicros(left)
	return &p, nil
}

// inThreadNow ends a query of those taking part in thread $1 now (p, and
// u as shown to others), in the order they joined.
const inThreadNow = `
		FROM participants p JOIN ` + shownUsers + ` u ON u.id = p.user_id
		WHERE p.thread_id = $1 AND p.left_at IS NULL
		ORDER BY p.joined_at, u.username`

func (t *txn) FindParticipants(ctx context.Context, threadID string) ([]parley.UserRef, error) {
	return t.queryUserRefs(ctx, "find participants", `SELECT u.id, u.username, u.display_name`+inThreadNow, threadID)
}

func (t *txn) FindReadMarkers(ctx context.Context, threadID string) ([]parley.ReadMarker, error) {
	rows, err := t.query(ctx, `SELECT u.id, u.username, u.display_name, p.last_read_seq`+inThreadNow, threadID)
	if err != nil {
		return nil, mapError("find read markers", err)
	}
	defer rows.Close()
	markers := []parley.ReadMarker{}
	for rows.Next() {
		var m parley.ReadMarker
		if err := rows.Scan(&m.User.ID, &m.User.Username, &m.User.DisplayName, &m.Seq); err != nil {
			return nil, mapError("find read markers", err)
		}
		markers = append(markers, m)
	}
	return markers, mapError("find read markers", rows.Err())
}

func (t *txn) FindLeftThreads(ctx context.Context, userID string) ([]parley.LeftThread, error) {
	// The title as the member knew it: the thread's as they left
	// (LeaveThread keeps it with them).
	rows, err := t.query(ctx, `
		SELECT t.id, t.kind, COALESCE(p.left_title, ''), p.joined_at, p.left_at, p.last_read_seq
		FROM participants p JOIN threads t ON t.id = p.thread_id
		WHERE p.user_id = $1 AND p.left_at IS NOT NULL
		ORDER BY p.left_at, t.id`, userID)
	if err != nil {
		return nil, mapError("find left threads", err)
	}
	defer rows.Close()
	list := []parley.LeftThread{}
	for rows.Next() {
		var th parley.LeftThread
		var joined, left int64
		if err := rows.Scan(&th.ID, &th.Kind, &th.Title, &joined, &left, &th.LastReadSeq); err != nil {
			return nil, mapError("find left threads", err)
		}
		th.JoinedAt, th.LeftAt = fromMicros(joined), fromMicros(left)
		list = append(list, th)
	}
	return list, mapError("find left threads", rows.Err())
}

func (t *txn) FindParticipantsOf(ctx context.Context, userID string, threadIDs []string) (map[string][]parley.UserRef, error) {
	refs, err := t.FindParticipantRefsOf(ctx, userID, threadIDs)
	if err != nil {
		return nil, err
	}
	people := make(map[string][]parley.UserRef, len(refs))
	for threadID, ps := range refs {
		for _, p := range ps {
			people[threadID] = append(people[threadID], p.UserRef)
		}
	}
	return people, nil
}

func (t *txn) FindParticipantRefsOf(ctx context.Context, userID string, threadIDs []string) (map[string][]parley.ParticipantRef, error) {
	people := make(map[string][]parley.ParticipantRef, len(threadIDs))
	if len(threadIDs) == 0 {
		return people, nil
	}
	args := make([]any, 0, len(threadIDs)+1)
	args = append(args, userID)
	for _, id := range threadIDs {
		args = append(args, id)
	}
	rows, err := t.query(ctx, `
		SELECT p.thread_id, u.id, u.username, u.display_name, p.joined_at, p.joined_seq
		FROM participants p JOIN `+shownUsers+` u ON u.id = p.user_id
		WHERE p.left_at IS NULL AND p.thread_id IN (
			SELECT thread_id FROM participants
			WHERE user_id = $1 AND left_at IS NULL AND thread_id IN (`+placeholders(2, len(threadIDs))+`))
		ORDER BY p.thread_id, p.joined_at, u.username`, args...)
	if err != nil {
		return nil, mapError("find participants of threads", err)
	}
	defer rows.Close()
	for rows.Next() {
		var threadID string
		var p parley.ParticipantRef
		var joined int64
		if err := rows.Scan(&threadID, &p.ID, &p.Username, &p.DisplayName, &joined, &p.JoinedSeq); err != nil {
			return nil, mapError("find participants of threads", err)
		}
		p.JoinedAt = fromMicros(joined)
		people[threadID] = append(people[threadID], p)
	}
	return people, mapError("find participants of threads", rows.Err())
}

// queryUserRefs runs a query that selects members' id, username and
// display name.
func (t *txn) queryUserRefs(ctx context.Context, what, query string, args ...any) ([]parley.UserRef, error) {
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapError(what, err)
	}
	defer rows.Close()
	users := []parley.UserRef{}
	for rows.Next() {
		var u parley.UserRef
		if err := rows.Scan(&u.ID, &u.Username, &u.DisplayName); err != nil {
			return nil, mapError(what, err)
		}
		users = append(users, u)
	}
	return users, mapError(what, rows.Err())
}

func (t *txn) FindParticipantIDs(ctx context.Context, threadID string) ([]string, error) {
	rows, err := t.query(ctx, `SELECT user_id FROM participants WHERE thread_id = $1 AND left_at IS NULL ORDER BY user_id`, threadID)
	if err != nil {
		return nil, mapError("find participant ids", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, mapError("find participant ids", err)
		}
		ids = append(ids, id)
	}
	return ids, mapError("find participant ids", rows.Err())
}

// JoinThread reads the member's row as it inserts theirs; on PostgreSQL it
// locks it (FOR KEY SHARE), which an account's deletion, holding it FOR
// UPDATE, makes wait until the deletion ends, when the row is read again.
// JoinThread, as LeaveThread, counts the change in the thread's row
// (changed).
func (t *txn) JoinThread(ctx context.Context, p *parley.Participant) error {
	res, err := t.exec(ctx, `
		INSERT INTO participants (thread_id, user_id, joined_at, left_at, last_read_seq, joined_seq)
		SELECT $1, id, $3, NULL, $4, $5 FROM users WHERE id = $2 AND deleted_at IS NULL`+t.keyShared()+`
		ON CONFLICT (thread_id, user_id) DO UPDATE
		SET joined_at = excluded.joined_at, joined_seq = excluded.joined_seq, left_at = NULL, left_title = NULL, muted = FALSE`,
		p.ThreadID, p.UserID, micros(p.JoinedAt), p.LastReadSeq, p.JoinedSeq)
	if err == nil {
		err = mustAffect(res, "member")
	}
	if err == nil {
		err = t.changed(ctx, p.ThreadID)
	}
	return mapError("join thread", err)
}

// LeaveThread, on PostgreSQL, locks the member's row FOR UPDATE before it
// changes it: the one lock that conflicts with a post's FOR KEY SHARE on
// its sender's row (postParticipantMessagePG), so that a post of theirs
// under way at once either commits first or finds them gone. It counts
// the change in the thread's row (changed), after the member's, in the
// order a post takes the two.
func (t *txn) LeaveThread(ctx context.Context, threadID, userID string, at time.Time) error {
	query := `UPDATE participants SET left_at = $3, left_title = (SELECT title FROM threads WHERE id = $1) WHERE thread_id = $1 AND user_id = $2 AND left_at IS NULL`
	if t.pg != nil {
		query = `
			WITH held AS (SELECT 1 FROM participants WHERE thread_id = $1 AND user_id = $2 AND left_at IS NULL FOR UPDATE)
			UPDATE participants SET left_at = $3, left_title = (SELECT title FROM threads WHERE id = $1) FROM held WHERE thread_id = $1 AND user_id = $2 AND left_at IS NULL`
	}
	res, err := t.exec(ctx, query, threadID, userID, micros(at))
	if err == nil {
		err = mustAffect(res, "participant")
	}
	if err == nil {
		err = t.changed(ctx, threadID)
	}
	return mapError("leave thread", err)
}

// changed counts a change of who is in the thread in its row
// (Thread.Version, which a rename and a block count too, in their own
// updates), which a post on PostgreSQL compares with what it read as its
// statement began (postParticipantMessagePG).
func (t *txn) changed(ctx context.Context, threadID string) error {
	_, err := t.exec(ctx, `UPDATE threads SET version = version + 1 WHERE id = $1`, threadID)
	return err
}

func (t *txn) SetReadSeq(ctx context.Context, threadID, userID string, seq int64) (bool, error) {
	res, err := t.exec(ctx, `
		UPDATE participants SET last_read_seq = $3 WHERE thread_id = $1 AND user_id = $2 AND last_read_seq < $3`,
		threadID, userID, seq)
	if err != nil {
		return false, mapError("set read seq", err)
	}
	n, err := res.RowsAffected()
	return n > 0, mapError("set read seq", err)
}

func (t *txn) SetThreadMuted(ctx context.Context, threadID, userID string, muted bool) error {
	res, err := t.exec(ctx, `UPDATE participants SET muted = $3 WHERE thread_id = $1 AND user_id = $2 AND left_at IS NULL`,
		threadID, userID, muted)
	if err != nil {
		return mapError("set thread muted", err)
	}
	return mustAffect(res, "participant")
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
