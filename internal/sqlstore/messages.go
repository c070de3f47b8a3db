package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// messageSQL is what reads messages on one engine (txn.messageSQL).
//
// Its columns are a message's columns but its thread's ID. A page of a
// thread leaves the thread's ID out, as the caller knows it: every column
// of every row costs the driver several calls into SQLite, each taking its
// mutex, and database/sql a conversion.
//
// For the same reason the columns most messages leave NULL or at their
// default, the kind (0, text), when the message was deleted, the app it
// came through, its share card, when it was edited and the message it
// replies to, when it was last reacted to and its reactions, come as one,
// the last: NULL for a text message that has none of them, otherwise a
// JSON array of the ten, which rareFields reads. A message's reactions,
// rows of their own, are read only for a message that has been reacted
// to. On SQLite, four columns
// fewer took about a tenth of the server's CPU off a page of 51 rows
// (bench/README.md, "History: a page's columns, and the client's
// decoding").
//
// The sender's ID and names come with each row on PostgreSQL, from a join
// to users, as a second statement would be a round trip. On SQLite, where
// it is not, a row names its sender by number and messageScanner reads the
// senders after the rows, in one statement: a page's 51 rows hold a few
// senders, and the join read each one's row again and handed its three
// text columns to the driver 51 times, a third of the server's CPU a
// history read in W1 (bench/README.md, "History: the senders read once").
// On the read pool that statement may see a later snapshot than the rows';
// it finds the same senders, as a member's row is never deleted nor
// renumbered (an erased member's keeps its number, under the name of
// parley.DeletedDisplayName).
//
// A message's row names its thread and its sender by their numbers
// (threads.no, users.no), not their IDs: a number takes a byte or a few in
// the row and each of its indexes, an ID 27.
type messageSQL struct {
	// selected are the columns alone; columns are they with the table
	// they are read from, and the join that names the sender.
	selected, columns string
	// message selects messages with their thread's ID, page without.
	message, page string
	// sendersApart is set where a row names its sender by number only,
	// for messageScanner.nameSenders to name.
	sendersApart bool
}

// messageSQLOf builds messageSQL with the engine's function that makes a
// JSON array and what turns its result into text, the columns and join
// that name the sender (the sender's number alone, without a join, where
// sendersApart), and the JSON array of a message's reactions, each an
// array of the member's ID, username and display name, the emoji and
// when it was given.
func messageSQLOf(jsonArray, asText, sender, senderJoin, reactions string, sendersApart bool) messageSQL {
	selected := `m.id, m.seq, ` + sender + `, m.body, m.created_at, m.change_offset,
		CASE WHEN m.kind = 0 AND m.deleted_at IS NULL AND m.via_client_id IS NULL AND m.via_name IS NULL
			AND m.share_url IS NULL AND m.share_title IS NULL AND m.edited_at IS NULL AND m.reply_to_seq IS NULL
			AND m.reaction_change IS NULL THEN NULL
		ELSE ` + jsonArray + `(m.kind, m.deleted_at, m.via_client_id, m.via_name, m.share_url, m.share_title, m.edited_at,
			CASE WHEN m.app_edited THEN 1 END, m.reply_to_seq, m.reaction_change, CASE WHEN m.reaction_change IS NULL THEN NULL ELSE ` + reactions + ` END)` + asText + ` END `
	columns := selected + `FROM messages m ` + senderJoin
	return messageSQL{
		selected:     selected,
		columns:      columns,
		message:      `SELECT t.id, ` + columns + `JOIN threads t ON t.no = m.thread_no `,
		page:         `SELECT ` + columns,
		sendersApart: sendersApart,
	}
}

var (
	messageSQLite = messageSQLOf(`json_array`, ``, `m.sender_no`, ``,
		`json((SELECT json_group_array(json_array(u.id, u.username, u.display_name, r.emoji, r.at))
			FROM reactions r JOIN `+shownUsers+` u ON u.no = r.user_no WHERE r.thread_no = m.thread_no AND r.seq = m.seq))`, true)
	messagePostgres = messageSQLOf(`json_build_array`, `::text`, `u.id, u.username, u.display_name`,
		`JOIN `+shownUsers+` u ON u.no = m.sender_no `,
		`(SELECT json_agg(json_build_array(ru.id, ru.username, ru.display_name, r.emoji, r.at))
			FROM reactions r JOIN `+shownUsers+` ru ON ru.no = r.user_no WHERE r.thread_no = m.thread_no AND r.seq = m.seq)`, false)
)

// messageSQL returns the engine's messageSQL.
func (t *txn) messageSQL() *messageSQL {
	if t.pg != nil {
		return &messagePostgres
	}
	return &messageSQLite
}

// threadNo and senderNo are subqueries that give the number of the thread,
// and of the member, whose ID is the parameter $n.
func threadNo(n int) string { return `(SELECT no FROM threads WHERE id = $` + strconv.Itoa(n) + `)` }
func senderNo(n int) string { return `(SELECT no FROM users WHERE id = $` + strconv.Itoa(n) + `)` }

// messageScanner scans message rows. It is made once per query and its
// column buffers and destination list reused for every row: a page of 51
// rows otherwise allocates them 51 times over.
//
// Where the rows name senders by number (messageSQL.sendersApart), scan
// returns messages without their sender: every caller calls nameSenders
// once the rows are read, before it returns any of them.
type messageScanner struct {
	body, rare      sql.NullString
	created, offset int64
	dest            []any
	// threadID, when set, is the thread of every row, which a page's
	// query leaves out; otherwise a row starts with its thread's ID.
	threadID string
	// extra are the destinations of columns the query selects before the
	// message's.
	extra []any
	// sendersApart: rows name their senders by number (messageSQL), and
	// unnamed holds the messages scanned so far, by their sender's number.
	sendersApart bool
	senderNo     int64
	unnamed      map[int64][]*parley.Message
	// idBytes: rows may hold IDs as bytes (SQLite's, messageids.go),
	// scanned through storedID; PostgreSQL's, text, are scanned as they
	// are, which pgx does without the detour through database/sql's
	// Scanner.
	idBytes bool
}

// newMessageScanner returns a scanner of the rows of t's messageSQL.
func (t *txn) newMessageScanner(threadID string, extra ...any) *messageScanner {
	return &messageScanner{threadID: threadID, extra: extra, sendersApart: t.messageSQL().sendersApart, idBytes: t.pg == nil}
}

func (s *messageScanner) scan(rows rows) (*parley.Message, error) {
	m := &parley.Message{ThreadID: s.threadID, Kind: messageKinds[0]}
	s.dest = append(s.dest[:0], s.extra...)
	if s.threadID == "" {
		s.dest = append(s.dest, &m.ThreadID)
	}
	if s.idBytes {
		s.dest = append(s.dest, (*storedID)(&m.ID), &m.Seq)
	} else {
		s.dest = append(s.dest, &m.ID, &m.Seq)
	}
	if s.sendersApart {
		s.dest = append(s.dest, &s.senderNo)
	} else {
		s.dest = append(s.dest, &m.Sender.ID, &m.Sender.Username, &m.Sender.DisplayName)
	}
	s.dest = append(s.dest, &s.body, &s.created, &s.offset, &s.rare)
	if err := rows.Scan(s.dest...); err != nil {
		return nil, err
	}
	m.Text, m.CreatedAt, m.Change = s.body.String, fromMicros(s.created), m.Seq+s.offset
	if s.rare.Valid {
		if err := rareFields(m, s.rare.String); err != nil {
			return nil, err
		}
	}
	if s.sendersApart {
		if s.unnamed == nil {
			s.unnamed = make(map[int64][]*parley.Message)
		}
		s.unnamed[s.senderNo] = append(s.unnamed[s.senderNo], m)
	}
	return m, nil
}

// nameSenders sets the sender of every message scanned whose row named it
// by number, reading those senders in one statement (of SQLite's: only its
// rows name senders by number).
func (s *messageScanner) nameSenders(ctx context.Context, t *txn) error {
	if len(s.unnamed) == 0 {
		return nil
	}
	nos := make([]byte, 0, 8*len(s.unnamed))
	for no := range s.unnamed {
		nos = strconv.AppendInt(append(nos, ','), no, 10)
	}
	nos[0] = '['
	rows, err := t.query(ctx, `SELECT no, id, username, display_name FROM `+shownUsers+` u
		WHERE no IN (SELECT value FROM json_each($1))`, string(append(nos, ']')))
	if err != nil {
		return err
	}
	defer rows.Close()
	var no int64
	var sender parley.UserRef
	for rows.Next() {
		if err := rows.Scan(&no, &sender.ID, &sender.Username, &sender.DisplayName); err != nil {
			return err
		}
		for _, m := range s.unnamed[no] {
			m.Sender = sender
		}
		delete(s.unnamed, no)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// A message's sender_no refers to users (a foreign key on SQLite), and
	// no member's row is ever deleted: a sender not found is a damaged file.
	for no, msgs := range s.unnamed {
		return fmt.Errorf("no member numbered %d, the sender of message %s", no, msgs[0].ID)
	}
	return nil
}

// rareFields sets m's kind, deletion, app, share card, edit, the message
// it replies to and its reactions from the JSON array messageSQL's columns
// end with: [kind, deleted_at, via_client_id, via_name, share_url,
// share_title, edited_at, app_edited (1 or null), reply_to_seq,
// reaction_change, reactions], each null where the row's column is.
func rareFields(m *parley.Message, array string) error {
	var fields []json.RawMessage
	if err := json.Unmarshal([]byte(array), &fields); err != nil || len(fields) != 11 {
		return fmt.Errorf("message %s: columns %q", m.ID, array)
	}
	var kind int64
	var deleted, edited, appEdited, replyTo, reacted *int64
	var viaID, viaName, shareURL, shareTitle *string
	var reactions [][5]json.RawMessage
	for i, dest := range []any{&kind, &deleted, &viaID, &viaName, &shareURL, &shareTitle, &edited, &appEdited, &replyTo, &reacted, &reactions} {
		if err := json.Unmarshal(fields[i], dest); err != nil {
			return fmt.Errorf("message %s: columns %q: %w", m.ID, array, err)
		}
	}
	if kind < 0 || kind >= int64(len(messageKinds)) {
		return fmt.Errorf("message %s of kind %d", m.ID, kind)
	}
	m.Kind = messageKinds[kind]
	if deleted != nil {
		at := fromMicros(*deleted)
		m.DeletedAt = &at
	}
	if edited != nil {
		at := fromMicros(*edited)
		m.EditedAt = &at
	}
	m.EditedByApp = appEdited != nil
	if replyTo != nil {
		m.ReplyToSeq = *replyTo
	}
	if reacted != nil {
		m.ReactionChange = *reacted
	}
	if err := groupReactions(m, reactions); err != nil {
		return fmt.Errorf("message %s: reactions %q: %w", m.ID, array, err)
	}
	if viaID != nil {
		m.Via = &parley.Via{ClientID: *viaID, Name: deref(viaName)}
	}
	if shareURL != nil {
		m.Share = &parley.Share{URL: *shareURL, Title: deref(shareTitle)}
	}
	return nil
}

// groupReactions sets m's reactions from rows of [user ID, username,
// display name, emoji, when], grouped by emoji in the order each was first
// given, each emoji's members in the order they gave it.
func groupReactions(m *parley.Message, rows [][5]json.RawMessage) error {
	type given struct {
		user  parley.UserRef
		emoji string
		at    int64
	}
	all := make([]given, len(rows))
	for i, row := range rows {
		g := &all[i]
		for j, dest := range []any{&g.user.ID, &g.user.Username, &g.user.DisplayName, &g.emoji, &g.at} {
			if err := json.Unmarshal(row[j], dest); err != nil {
				return err
			}
		}
	}
	slices.SortStableFunc(all, func(a, b given) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.user.ID, b.user.ID))
	})
	for _, g := range all {
		i := slices.IndexFunc(m.Reactions, func(r parley.Reaction) bool { return r.Emoji == g.emoji })
		if i < 0 {
			i = len(m.Reactions)
			m.Reactions = append(m.Reactions, parley.Reaction{Emoji: g.emoji})
		}
		m.Reactions[i].Users = append(m.Reactions[i].Users, g.user)
		m.Reactions[i].Count++
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// messageKinds are the kinds of message by the number messages.kind
// holds for each, 0 or 1, which takes no byte of a row where the kind's
// name took 4 or 5.
var messageKinds = []string{parley.MessageKindText, parley.MessageKindShare}

// messageArgs are the values of a new message's row, in the order of
// insertMessageRow's columns, from the thread's ID on.
func (t *txn) messageArgs(m *parley.Message) ([]any, error) {
	kind := slices.Index(messageKinds, m.Kind)
	if kind < 0 {
		return nil, parley.Errorf(parley.EINVALID, "no message kind %q", m.Kind)
	}
	var viaID, viaName, shareURL, shareTitle sql.NullString
	if m.Via != nil {
		viaID, viaName = sql.NullString{String: m.Via.ClientID, Valid: true}, sql.NullString{String: m.Via.Name, Valid: true}
	}
	if m.Share != nil {
		shareURL, shareTitle = sql.NullString{String: m.Share.URL, Valid: true}, sql.NullString{String: m.Share.Title, Valid: true}
	}
	var replyTo sql.NullInt64
	if m.ReplyToSeq != 0 {
		replyTo = sql.NullInt64{Int64: m.ReplyToSeq, Valid: true}
	}
	return []any{m.ThreadID, m.Seq, t.messageID(m.ID), m.Sender.ID, kind, m.Text, micros(m.CreatedAt),
		viaID, viaName, shareURL, shareTitle, replyTo}, nil
}

// insertMessageRow stores a message's row, of messageArgs' values and its
// change_offset: the number of its change minus its seq.
var insertMessageRow = `
		INSERT INTO messages (thread_no, seq, id, sender_no, kind, body, created_at,
			via_client_id, via_name, share_url, share_title, reply_to_seq, change_offset)
		VALUES (` + threadNo(1) + `, $2, $3, ` + senderNo(4) + `, $5, $6, $7, $8, $9, $10, $11, $12, $13)`

// insertMessageKey stores a message's idempotency key. Keys are a table of
// their own, message_keys, keyed by sender and key: the row of a message
// does not hold its key, which an index would hold a second time.
var insertMessageKey = `
		INSERT INTO message_keys (sender_no, idempotency_key, thread_no, seq, request_hash)
		VALUES (` + senderNo(1) + `, $2, ` + threadNo(3) + `, $4, $5)`

// insertMessage stores m as its thread's change numbered change, and its
// idempotency key, with its request, if it has one: ECONFLICT when its
// sender used the key before.
func (t *txn) insertMessage(ctx context.Context, m *parley.Message, change int64) error {
	args, err := t.messageArgs(m)
	if err != nil {
		return err
	}
	if _, err := t.exec(ctx, insertMessageRow, append(args, change-m.Seq)...); err != nil {
		return err
	}
	if m.Change = change; m.IdempotencyKey == "" {
		return nil
	}
	_, err = t.exec(ctx, insertMessageKey, m.Sender.ID, m.IdempotencyKey, m.ThreadID, m.Seq, m.RequestHash)
	return err
}

func (t *txn) PostMessage(ctx context.Context, m *parley.Message) error {
	if t.pg != nil {
		return t.postMessagePG(ctx, m)
	}
	_, err := t.postMessage(ctx, m, "")
	return err
}

// postMessage is PostMessage on SQLite, where the thread's row is updated
// only when it meets the condition cond, if any, and reports whether it
// posted.
func (t *txn) postMessage(ctx context.Context, m *parley.Message, cond string) (bool, error) {
	// The message's number and its change's, in one statement. The update
	// holds the thread's row until the transaction ends, so numbers are
	// taken in the order their transactions commit.
	var change, at int64
	err := t.queryRow(ctx, "thread", `
		UPDATE threads SET last_seq = last_seq + 1, last_change = last_change + 1, last_activity_at = `+laterActivity("$2")+`
		WHERE id = $1`+cond+` RETURNING last_seq, last_change, last_activity_at`, []any{m.ThreadID, micros(m.CreatedAt)}, &m.Seq, &change, &at)
	if cond != "" && parley.ErrorCode(err) == parley.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, mapError("post message", err)
	}
	m.CreatedAt = fromMicros(at)
	if err := t.insertMessage(ctx, m, change); err != nil {
		return false, mapError("post message", err)
	}
	_, err = t.exec(ctx, `UPDATE participants SET last_read_seq = $3 WHERE thread_id = $1 AND user_id = $2 AND `+postMarked,
		m.ThreadID, m.Sender.ID, m.Seq, m.Via != nil)
	return err == nil, mapError("post message", err)
}

// postMarked is the condition on a sender's row of participants ($3 the
// message's seq, $4 whether an app wrote it) under which a post moves the
// sender's read marker to the message. A member's own post marks the
// thread read for them up to it: they wrote after whatever came before.
// An app's post for them moves the marker only when nothing before it
// was unread for them (their marker, or where they joined, at the message
// before: ThreadSummary.UnreadAfter): so their own message is not counted
// unread, and no message they have not seen is counted read by an app,
// whose post says nothing of what the member read.
var postMarked = `last_read_seq < $3 AND (NOT $4 OR ` + unreadAfter + ` = $3 - 1)`

// unreadAfter is, in SQL, the last message of the thread before the
// first a participant's row counts unread (ThreadSummary.UnreadAfter, but
// the thread's last): the later of their read marker and where they
// joined.
var unreadAfter = later("last_read_seq", "joined_seq")

// PostParticipantMessage checks that the thread is not blocked in the
// update of its row that numbers the message, which a send makes anyway.
func (t *txn) PostParticipantMessage(ctx context.Context, m *parley.Message) ([]string, bool, error) {
	if t.pg != nil {
		return t.postParticipantMessagePG(ctx, m)
	}
	ids, err := t.FindParticipantIDs(ctx, m.ThreadID)
	if err != nil || !slices.Contains(ids, m.Sender.ID) {
		return ids, false, err
	}
	posted, err := t.postMessage(ctx, m, ` AND NOT blocked`)
	return ids, posted, err
}

// findMessages runs a message query; sizeHint is the number of rows it
// expects at most. With a threadID, the query reads messages of that
// thread only and selects them without the thread's ID (messageSQL.page);
// without, with it (messageSQL.message).
func (t *txn) findMessages(ctx context.Context, op, threadID string, sizeHint int, where string, args ...any) ([]*parley.Message, error) {
	query := t.messageSQL().message + where
	if threadID != "" {
		query = t.messageSQL().page + where
	}
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	list := make([]*parley.Message, 0, sizeHint)
	s := t.newMessageScanner(threadID)
	for rows.Next() {
		m, err := s.scan(rows)
		if err != nil {
			return nil, mapError(op, err)
		}
		list = append(list, m)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(op, err)
	}
	if err := s.nameSenders(ctx, t); err != nil {
		return nil, mapError(op, err)
	}
	return list, nil
}

func (t *txn) findMessage(ctx context.Context, where string, args ...any) (*parley.Message, error) {
	list, err := t.findMessages(ctx, "find message", "", 1, where, args...)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, parley.Errorf(parley.ENOTFOUND, "message not found")
	}
	return list[0], nil
}

func (t *txn) FindMessageByID(ctx context.Context, id string) (*parley.Message, error) {
	return t.findMessage(ctx, `WHERE m.id = $1`, t.messageID(id))
}

func (t *txn) FindSentMessages(ctx context.Context, senderID, afterID string, limit int) ([]*parley.Message, error) {
	// The page starts after the message afterID, in the order of the index
	// on (sender_no, thread_no, seq); for an empty afterID, which no message
	// has, after (0, 0), before every message.
	return t.findMessages(ctx, "find sent messages", "", max(0, min(limit, 1000)), `
		WHERE m.sender_no = `+senderNo(1)+`
		  AND (m.thread_no, m.seq) > (COALESCE((SELECT thread_no FROM messages WHERE id = $2), 0),
			COALESCE((SELECT seq FROM messages WHERE id = $2), 0))
		ORDER BY m.thread_no, m.seq LIMIT $3`, senderID, t.messageID(afterID), limit)
}

func (t *txn) FindMessageByIdempotencyKey(ctx context.Context, senderID, key string) (*parley.Message, error) {
	// The key's row once, then the message at its place.
	var thread, seq int64
	var request []byte
	err := t.queryRow(ctx, "find message key", `SELECT thread_no, seq, request_hash FROM message_keys
		WHERE sender_no = `+senderNo(1)+` AND idempotency_key = $2`, []any{senderID, key}, &thread, &seq, &request)
	if err != nil {
		return nil, err
	}
	m, err := t.findMessage(ctx, `WHERE m.thread_no = $1 AND m.seq = $2`, thread, seq)
	if err == nil {
		m.IdempotencyKey, m.RequestHash = key, request
	}
	return m, err
}

// FindMessages returns a page in the direction of the filter: newest first
// for Before (or no position), oldest first for After.
//
// As seqs are dense, the n messages before a seq, or after it, are the n
// seqs next to it, and a thread's newest n its last n: each page is a range
// of the index on (thread_no, seq) as long as the page, bounded at both
// ends, and no plan, however stale the statistics it is made with, reads
// more rows than it returns. (Bounded at one end only, a page planned by
// PostgreSQL with the statistics of a much smaller table read every
// message of its thread and sorted them: 4.4 ms for a page of 51 of a
// thread of 3,882 messages, where the index's range took 0.12 ms.)
func (t *txn) FindMessages(ctx context.Context, f parley.MessageFilter) ([]*parley.Message, error) {
	where, args, size := pageQuery(f)
	return t.findMessages(ctx, "find messages", f.ThreadID, size, where, args...)
}

// pageQuery returns the condition of FindMessages' statement for f, after
// its columns, and its arguments; and the page's length, bounded so that a
// wild limit cannot allocate much.
func pageQuery(f parley.MessageFilter) (where string, args []any, size int) {
	return pageQueryFrom(f, "")
}

// pageQueryFrom is pageQuery with the page's first message from, an
// expression of the statement, in place of f.FromSeq ($3, unused then),
// when from is not empty: FindReachedMessages' page on PostgreSQL, whose
// first message is the reach's, read in the same statement. A NULL from
// selects no row.
func pageQueryFrom(f parley.MessageFilter, from string) (where string, args []any, size int) {
	n := int64(max(0, f.Limit))
	args = []any{f.ThreadID, f.MemberID, f.FromSeq, n}
	size = int(min(n, parley.MaxMessageLimit+1))
	where = readableWhere
	if from != "" {
		where = readableWhereFrom(from)
	}
	switch {
	case len(f.Seqs) > 0:
		in := make([]string, len(f.Seqs))
		for i, seq := range f.Seqs {
			in[i] = "$" + strconv.Itoa(len(args)+1)
			args = append(args, seq)
		}
		return where + `AND m.seq IN (` + strings.Join(in, ", ") + `) ORDER BY m.seq ASC LIMIT $4`, args, size
	case f.After != nil && from != "":
		// As below, in SQL: after greatest($5, from - 1), through after + n
		// or the largest seq, without overflowing.
		after := `greatest($5, ` + from + ` - 1)`
		return where + `AND m.seq > ` + after + ` AND m.seq <= least(` + after + `, 9223372036854775807 - $4) + $4
			ORDER BY m.seq ASC LIMIT $4`, append(args, *f.After), size
	case f.After != nil:
		// The page starts at the first message the reader may see.
		after := max(*f.After, f.FromSeq-1)
		last := after + n
		if after > math.MaxInt64-n {
			last = math.MaxInt64
		}
		return where + `AND m.seq > $5 AND m.seq <= $6 ORDER BY m.seq ASC LIMIT $4`, append(args, after, last), size
	case f.Before != nil:
		before, first := *f.Before, *f.Before-n
		if before < math.MinInt64+n {
			first = math.MinInt64
		}
		return where + `AND m.seq < $5 AND m.seq >= $6 ORDER BY m.seq DESC LIMIT $4`, append(args, before, first), size
	}
	return where + `AND m.seq > (SELECT last_seq FROM threads WHERE id = $1) - $4 ORDER BY m.seq DESC LIMIT $4`, args, size
}

// readableWhere selects the messages of thread $1 from seq $3 on, while
// member $2 takes part in it, for a page (FindMessages) or the changes
// feed (FindMessageChanges); an empty member ID matches every thread.
var readableWhere = readableWhereFrom("$3")

// readableWhereFrom is readableWhere from the seq from, an expression.
func readableWhereFrom(from string) string {
	return `WHERE m.thread_no = ` + threadNo(1) + ` AND m.seq >= ` + from + `
	AND ($2 = '' OR EXISTS (SELECT 1 FROM participants p WHERE p.thread_id = $1 AND p.user_id = $2 AND p.left_at IS NULL)) `
}

// FindNewestMessages reads each thread's newest messages in one statement
// (and on SQLite one more, for their senders), the same whatever the
// number of threads, which it takes as arrays (as a JSON array on
// SQLite): it is prepared once, and is cheap to plan, where a UNION ALL
// of a subquery a thread was a statement for each number of
// threads, each prepared anew (on PostgreSQL, planned anew at first: 51
// subqueries took over 10 ms to plan, more than to run).
//
// As seqs are dense, a thread's newest limit messages are its last limit
// seqs: each thread's rows are a range of the index on (thread_no, seq)
// bounded by its last_seq, and no plan, however stale the statistics it is
// made with, reads more rows than it returns. SQLite's CROSS JOIN keeps the
// threads the outer loop; PostgreSQL's LATERAL subquery does.
func (t *txn) FindFirstMessageTimes(ctx context.Context, threads []parley.ThreadFrom) (map[string]time.Time, error) {
	const op = "find first message times"
	found := make(map[string]time.Time, len(threads))
	if len(threads) == 0 {
		return found, nil
	}
	var rows rows
	var err error
	if t.pg != nil {
		ids, from := threadFromArrays(threads)
		rows, err = t.query(ctx, `SELECT t.id, m.created_at
			FROM unnest($1::text[], $2::bigint[]) AS f(thread_id, from_seq)
				JOIN threads t ON t.id = f.thread_id
				CROSS JOIN LATERAL (SELECT created_at FROM messages m
					WHERE m.thread_no = t.no AND m.seq >= f.from_seq
					ORDER BY m.seq LIMIT 1) m`, ids, from)
	} else {
		list, jsonErr := threadFromJSON(threads)
		if jsonErr != nil {
			return nil, mapError(op, jsonErr)
		}
		rows, err = t.query(ctx, `SELECT t.id, m.created_at
			FROM json_each($1) AS f CROSS JOIN threads t CROSS JOIN messages m
			WHERE t.id = f.value ->> 0 AND m.thread_no = t.no
				AND m.seq = (SELECT min(seq) FROM messages WHERE thread_no = t.no AND seq >= f.value ->> 1)`,
			list)
	}
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var created int64
		if err := rows.Scan(&id, &created); err != nil {
			return nil, mapError(op, err)
		}
		found[id] = fromMicros(created)
	}
	return found, mapError(op, rows.Err())
}

func (t *txn) FindNewestMessages(ctx context.Context, threads []parley.ThreadFrom, limit int) (map[string][]*parley.Message, error) {
	const op = "find newest messages"
	found := make(map[string][]*parley.Message, len(threads))
	if len(threads) == 0 || limit < 1 {
		return found, nil
	}
	limit = min(limit, parley.MaxMessageLimit+1)
	columns := t.messageSQL().selected
	var rows rows
	var err error
	if t.pg != nil {
		ids, from := threadFromArrays(threads)
		rows, err = t.query(ctx, `SELECT t.id, `+columns+`
			FROM unnest($1::text[], $2::bigint[]) AS f(thread_id, from_seq)
				JOIN threads t ON t.id = f.thread_id
				CROSS JOIN LATERAL (SELECT * FROM messages m
					WHERE m.thread_no = t.no AND m.seq >= f.from_seq AND m.seq > t.last_seq - $3
					ORDER BY m.seq DESC LIMIT $3) m
				JOIN `+shownUsers+` u ON u.no = m.sender_no`, ids, from, limit)
	} else {
		list, jsonErr := threadFromJSON(threads)
		if jsonErr != nil {
			return nil, mapError(op, jsonErr)
		}
		// One bound of the range, max(…), so that SQLite bounds the
		// index range by it rather than by the lower of two.
		rows, err = t.query(ctx, `SELECT t.id, `+columns+`
			FROM json_each($1) AS f CROSS JOIN threads t CROSS JOIN messages m
			WHERE t.id = f.value ->> 0 AND m.thread_no = t.no AND m.seq > max(t.last_seq - $2, (f.value ->> 1) - 1)`,
			list, limit)
	}
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	s := t.newMessageScanner("")
	for rows.Next() {
		m, err := s.scan(rows)
		if err != nil {
			return nil, mapError(op, err)
		}
		found[m.ThreadID] = append(found[m.ThreadID], m)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(op, err)
	}
	if err := s.nameSenders(ctx, t); err != nil {
		return nil, mapError(op, err)
	}
	// SQL promises no order of the rows out of a join.
	for _, msgs := range found {
		slices.SortFunc(msgs, func(a, b *parley.Message) int { return cmp.Compare(b.Seq, a.Seq) })
	}
	return found, nil
}

// FindMessageChanges reads the thread's messages by the number of their
// latest change, through the index on (thread_no, seq + change_offset).
func (t *txn) FindMessageChanges(ctx context.Context, f parley.ChangeFilter) ([]parley.MessageChange, error) {
	const op = "find message changes"
	size := max(0, min(f.Limit, parley.MaxMessageLimit+1))
	rows, err := t.query(ctx, `SELECT `+changesQuery(t.messageSQL().columns, readableWhere),
		f.ThreadID, f.MemberID, f.FromSeq, f.After, max(0, f.Limit))
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	list := make([]parley.MessageChange, 0, size)
	s := t.newMessageScanner(f.ThreadID)
	for rows.Next() {
		m, err := s.scan(rows)
		if err != nil {
			return nil, mapError(op, err)
		}
		list = append(list, messageChange(m))
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(op, err)
	}
	if err := s.nameSenders(ctx, t); err != nil {
		return nil, mapError(op, err)
	}
	return list, nil
}

func (t *txn) DeleteMessage(ctx context.Context, id string, at time.Time) error {
	const op = "delete message"
	err := t.changeMessage(ctx, op, id, `deleted_at IS NULL`,
		`body = NULL, share_url = NULL, share_title = NULL, edited_at = NULL, app_edited = NULL, reply_to_seq = NULL,
		reaction_change = NULL, deleted_at = $2`, micros(at))
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `DELETE FROM reactions WHERE (thread_no, seq) = (SELECT thread_no, seq FROM messages WHERE id = $1)`, t.messageID(id))
	return mapError(op, err)
}

func (t *txn) SetReaction(ctx context.Context, id, userID, emoji string, at time.Time) error {
	const op = "set reaction"
	// $2, changeMessage's last parameter: the change's number.
	if err := t.changeMessage(ctx, op, id, `deleted_at IS NULL`, `reaction_change = $2`); err != nil {
		return err
	}
	var err error
	if emoji == "" {
		_, err = t.exec(ctx, `DELETE FROM reactions
			WHERE (thread_no, seq) = (SELECT thread_no, seq FROM messages WHERE id = $1) AND user_no = `+senderNo(2), t.messageID(id), userID)
	} else {
		_, err = t.exec(ctx, `INSERT INTO reactions (thread_no, seq, user_no, emoji, at)
			SELECT thread_no, seq, `+senderNo(2)+`, $3, $4 FROM messages WHERE id = $1
			ON CONFLICT (thread_no, seq, user_no) DO UPDATE SET emoji = excluded.emoji, at = excluded.at`,
			t.messageID(id), userID, emoji, micros(at))
	}
	return mapError(op, err)
}

func (t *txn) FindGivenReactions(ctx context.Context, userID string, after *parley.GivenReaction, limit int) ([]*parley.GivenReaction, error) {
	const op = "find given reactions"
	var afterThread string
	var afterSeq int64
	if after != nil {
		afterThread, afterSeq = after.ThreadID, after.Seq
	}
	// Threads are numbered from 1: no thread, 0, comes before them all.
	rows, err := t.query(ctx, `SELECT m.id, t.id, r.seq, r.emoji, r.at
		FROM reactions r JOIN messages m ON m.thread_no = r.thread_no AND m.seq = r.seq JOIN threads t ON t.no = r.thread_no
		WHERE r.user_no = `+senderNo(1)+` AND (r.thread_no, r.seq) > (COALESCE(`+threadNo(2)+`, 0), $3)
		ORDER BY r.thread_no, r.seq LIMIT $4`, userID, afterThread, afterSeq, limit)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	var list []*parley.GivenReaction
	for rows.Next() {
		g := &parley.GivenReaction{}
		var at int64
		if err := rows.Scan((*storedID)(&g.MessageID), &g.ThreadID, &g.Seq, &g.Emoji, &at); err != nil {
			return nil, mapError(op, err)
		}
		g.At = fromMicros(at)
		list = append(list, g)
	}
	return list, mapError(op, rows.Err())
}

// EditMessage, for an app (byApp), edits only a message whose words are
// still the app's: one its member edited since the write read it (on
// another node) is not found, and the write runs again (changeMessage),
// to decide on the member's words.
func (t *txn) EditMessage(ctx context.Context, id, text string, at time.Time, byApp bool) error {
	where := `deleted_at IS NULL AND kind = 0`
	if byApp {
		where += ` AND (edited_at IS NULL OR app_edited)`
	}
	appEdited := sql.NullBool{Bool: true, Valid: byApp}
	return t.changeMessage(ctx, "edit message", id, where,
		`body = $3, edited_at = $2, app_edited = $4`, micros(at), text, appEdited)
}

// changeMessage makes the message whose ID is id, where it meets the
// condition where, its thread's next change, setting set: an assignment
// list whose parameters are $2 on, args, and then the change's number. The thread's row is taken first,
// as a post takes it, then the message's.
//
// Its caller read the message in this write, and decided on what it read.
// Not found, on PostgreSQL, the message was changed since by another
// write that committed first (deleted, say, on another node): the write
// is marked to run again (t.retry), so that its caller decides on the
// message as that write left it, and no change is taken for nothing.
func (t *txn) changeMessage(ctx context.Context, op, id, where, set string, args ...any) error {
	key := t.messageID(id)
	var change int64
	err := t.queryRow(ctx, "message", `
		UPDATE threads SET last_change = last_change + 1
		WHERE no = (SELECT thread_no FROM messages WHERE id = $1 AND `+where+`)
		RETURNING last_change`, []any{key}, &change)
	if err == nil {
		n := strconv.Itoa(len(args) + 2)
		var res sql.Result
		if res, err = t.exec(ctx, `UPDATE messages SET `+set+`, change_offset = $`+n+` - seq
			WHERE id = $1 AND `+where, append(append([]any{key}, args...), change)...); err == nil {
			err = mustAffect(res, "message")
		}
	}
	if parley.ErrorCode(err) == parley.ENOTFOUND && t.pg != nil {
		t.retry = true
	}
	return mapError(op, err)
}

// changesQuery is FindMessageChanges' statement after its SELECT, with
// messageSQL's columns and a condition where of readableWhere's: the
// messages whose latest change is after $4, at most $5, by that change.
func changesQuery(columns, where string) string {
	return columns + where + `AND m.seq + m.change_offset > $4 ORDER BY m.seq + m.change_offset ASC LIMIT $5`
}

// messageChange is the change that left m as it is, its latest.
func messageChange(m *parley.Message) parley.MessageChange {
	c := parley.MessageChange{Type: parley.EventMessageCreated, Message: m, Number: m.Change}
	switch {
	case m.DeletedAt != nil:
		c.Type = parley.EventMessageDeleted
	case m.ReactionChange == m.Change:
		c.Type = parley.EventMessageReacted
	case m.EditedAt != nil:
		c.Type = parley.EventMessageEdited
	}
	return c
}

// threadFromArrays returns threads as two arrays, of IDs and of seqs, for
// PostgreSQL's unnest.
func threadFromArrays(threads []parley.ThreadFrom) (ids []string, from []int64) {
	ids, from = make([]string, len(threads)), make([]int64, len(threads))
	for i, th := range threads {
		ids[i], from[i] = th.ThreadID, th.FromSeq
	}
	return ids, from
}

// threadFromJSON returns threads as a JSON array of [ID, seq] pairs, for
// SQLite's json_each.
func threadFromJSON(threads []parley.ThreadFrom) (string, error) {
	pairs := make([][2]any, len(threads))
	for i, th := range threads {
		pairs[i] = [2]any{th.ThreadID, th.FromSeq}
	}
	list, err := json.Marshal(pairs)
	return string(list), err
}
