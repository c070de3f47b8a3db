package service

import (
	"context"
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
)

// Access transparency: every call an app makes that reads or changes member
// data appends an entry to the log of each member whose data it touched,
// in the transaction of the change, or before a read's data is returned.
// A thread's data belongs to everyone in it, so a thread access is logged
// for each participant. An event that several realtime streams of one app
// deliver under one grant is one access, logged once (logDelivery).

// access is one access by an app to log: what it did, in which thread, to
// whose data, and which messages it touched.
type access struct {
	action   parley.Scope
	threadID string
	userIDs  []string
	messages []*parley.Message
}

// logAccess appends an app's access to the log of each member it touched.
// It does nothing for a member's own calls.
func (s *Service) logAccess(ctx context.Context, tx parley.Tx, c *parley.Caller, a access) error {
	return s.logAccessAs(ctx, tx, c, string(a.action), a)
}

// logAccessAs is logAccess under an action of the log's own, beyond the
// scope the access used (parley.ActionMessageEdited).
func (s *Service) logAccessAs(ctx context.Context, tx parley.Tx, c *parley.Caller, action string, a access) error {
	if c.App == nil {
		return nil
	}
	r := s.accessRecord(c, a)
	r.Entry.Action = action
	return tx.AppendAccess(ctx, []parley.AccessRecord{r})
}

// accessRecord is the record of an app's access, at the time of the call.
func (s *Service) accessRecord(c *parley.Caller, a access) parley.AccessRecord {
	e := parley.AccessEntry{
		At: s.Now(), ClientID: c.App.App.ClientID, AppName: c.App.App.Name, GrantID: c.App.Grant.ID,
		Action: string(a.action), ThreadID: a.threadID, MessageCount: len(a.messages),
	}
	for i, m := range a.messages {
		if i == 0 || m.Seq < e.FirstSeq {
			e.FirstSeq = m.Seq
		}
		e.LastSeq = max(e.LastSeq, m.Seq)
		if len(a.messages) <= parley.MaxLoggedMessageIDs {
			e.MessageIDs = append(e.MessageIDs, m.ID)
		}
	}
	members := make([]string, 0, len(a.userIDs))
	for _, uid := range a.userIDs {
		if !slices.Contains(members, uid) {
			members = append(members, uid)
		}
	}
	return parley.AccessRecord{Entry: e, UserIDs: members}
}

// logGrant appends what happened to a grant, at t, to its member's log:
// with the grant's terms after a change that made or changed it, nil
// when it ended.
func logGrant(ctx context.Context, tx parley.Tx, g *parley.Grant, appName, action string, t time.Time, terms *parley.GrantTerms) error {
	e := parley.AccessEntry{At: t, ClientID: g.ClientID, AppName: appName, GrantID: g.ID, Action: action, Grant: terms}
	return tx.AppendAccess(ctx, []parley.AccessRecord{{Entry: e, UserIDs: []string{g.UserID}}})
}

// logRead records an app's reads before their data is returned, through
// the store's journal of reads: a commit for each read would double its
// time, and the journal survives a crash of the server as a commit does.
func (s *Service) logRead(ctx context.Context, c *parley.Caller, reads ...access) error {
	if c.App == nil || len(reads) == 0 {
		return nil
	}
	records := make([]parley.AccessRecord, len(reads))
	for i, a := range reads {
		records[i] = s.accessRecord(c, a)
	}
	return s.store.LogReads(ctx, records)
}

// findAccessHead returns the head of one member's log.
func findAccessHead(ctx context.Context, tx parley.Tx, userID string) (parley.AccessHead, error) {
	heads, err := tx.FindAccessHeads(ctx, []string{userID})
	if err != nil {
		return parley.AccessHead{}, err
	}
	return heads[0], nil
}

// threadReaders returns, for an app, who a read of a thread touches: its
// participants, and its member, who may have left since the read began;
// nil for a member, who reads alone.
func threadReaders(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string) ([]string, error) {
	if c.App == nil {
		return nil, nil
	}
	ids, err := tx.FindParticipantIDs(ctx, threadID)
	return withMember(ids, c), err
}

// withMember is a read's readers, ids, with the member the caller acts
// for, who may have left the thread after the read found them in it: what
// an app read through their grant is theirs to see logged.
func withMember(ids []string, c *parley.Caller) []string {
	if slices.Contains(ids, c.User.ID) {
		return ids
	}
	return append(ids, c.User.ID)
}

// inboxReaders returns, for an app, who a read of each summary's thread
// touches, its participants, for all of them in one query; nil for a
// member, who reads alone.
func inboxReaders(ctx context.Context, tx parley.Tx, c *parley.Caller, list []*parley.ThreadSummary) (map[string][]string, error) {
	if c.App == nil {
		return nil, nil
	}
	ids := make([]string, len(list))
	for i, t := range list {
		ids[i] = t.ID
	}
	people, err := tx.FindParticipantsOf(ctx, c.User.ID, ids)
	if err != nil {
		return nil, err
	}
	readers := make(map[string][]string, len(people))
	for id, refs := range people {
		for _, u := range refs {
			readers[id] = append(readers[id], u.ID)
		}
	}
	// A thread the member left after the list was read, which
	// FindParticipantsOf no longer finds theirs, was listed all the same.
	for _, t := range list {
		if _, ok := readers[t.ID]; ok {
			continue
		}
		if readers[t.ID], err = threadReaders(ctx, tx, c, t.ID); err != nil {
			return nil, err
		}
	}
	return readers, nil
}

// summaryReads are the reads of showing a thread summary, by the thread's
// readers: the thread itself, its title and activity, and the messages the
// summary carries, if any. An app handed a summary by a write (a thread it
// starts again) is logged as reading it, whatever its scopes.
func summaryReads(t *parley.ThreadSummary, readers []string) []access {
	reads := []access{{parley.ScopeThreadsRead, t.ID, readers, nil}}
	msgs := t.Messages
	if len(msgs) == 0 && t.LastMessage != nil {
		msgs = []*parley.Message{t.LastMessage}
	}
	if len(msgs) > 0 {
		reads = append(reads, access{parley.ScopeMessagesRead, t.ID, readers, msgs})
	}
	return reads
}

// AccessLogQuery selects a page of the caller's access log, newest first.
type AccessLogQuery struct {
	// ClientID, when set, keeps one app's entries.
	ClientID string
	// Cursor continues from an earlier page's NextCursor.
	Cursor string
	Limit  int
}

// start gives the query its default limit, checks it, and returns the
// position its page starts below: the cursor's, or the top of the log.
func (q *AccessLogQuery) start() (int64, error) {
	var err error
	if q.Limit, err = pageLimit(q.Limit, parley.DefaultMessageLimit, parley.MaxMessageLimit); err != nil {
		return 0, err
	}
	return decodeLogCursor(q.Cursor)
}

// AccessLogPage is a page of a member's access log.
type AccessLogPage struct {
	Entries []*parley.AccessEntry `json:"entries"`
	// NextCursor continues the log below this page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// AccessLog returns a page of the signed-in member's access log.
func (s *Service) AccessLog(ctx context.Context, q AccessLogQuery) (*AccessLogPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	below, err := q.start()
	if err != nil {
		return nil, err
	}
	page := &AccessLogPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		list, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: c.User.ID, ClientID: q.ClientID, From: below, Limit: q.Limit + 1})
		if err != nil {
			return err
		}
		if len(list) > q.Limit {
			list = list[:q.Limit]
			page.NextCursor = encodeLogCursor(list[q.Limit-1].Seq)
		}
		page.Entries = list
		return nil
	})
	return page, err
}

// Log cursors are the seq to read below, in base64url: opaque to clients.
func encodeLogCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

// decodeLogCursor returns the seq a cursor reads below, or one above every
// entry for no cursor.
func decodeLogCursor(cursor string) (int64, error) {
	if cursor == "" {
		return math.MaxInt64, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	seq, perr := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || perr != nil || seq < 1 {
		return 0, parley.Errorf(parley.EINVALID, "cursor is not one this server gave out")
	}
	return seq, nil
}

// Verification is the result of checking a member's access log.
type Verification struct {
	Entries int64 `json:"entries"`
	// Intact is true when every link of the chain holds.
	Intact bool `json:"intact"`
	// Break names the first entry where the chain fails.
	Break *parley.ChainBreak `json:"break,omitempty"`
}

// VerifyAccessLog checks the signed-in member's chain: the whole of it,
// or, within verifyWholeEvery of this node's last reading of the whole,
// the entries appended since the point it found intact then.
func (s *Service) VerifyAccessLog(ctx context.Context) (*Verification, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	return s.verifyOwnAccessLog(ctx, c.User.ID)
}

// AccessLogDownload begins a download of the signed-in member's whole
// access log, which reads it all: it recomputes the chain, as
// VerifyAccessLog does, for the download to carry, and counts against
// exportsPerMember, as an export does (ETHROTTLED past it). The entries
// are read with AccessLog.
func (s *Service) AccessLogDownload(ctx context.Context) (*Verification, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if err := s.allowExport(ctx, c); err != nil {
		return nil, err
	}
	return s.verifyAccessLog(ctx, c.User.ID)
}

// VerifyAccessLogOf recomputes a member's chain; it is for operators
// (ENOTFOUND for anyone else).
func (s *Service) VerifyAccessLogOf(ctx context.Context, username string) (*Verification, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	var u *parley.User
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		u, err = tx.FindUserByUsername(ctx, parley.NormalizeUsername(username))
		return err
	})
	if isNotFound(err) {
		return nil, parley.Errorf(parley.ENOTFOUND, "no member is called %q", username)
	} else if err != nil {
		return nil, err
	}
	return s.verifyAccessLog(ctx, u.ID)
}

// verifyChunk is how many entries verification reads at a time, and at
// most holds.
const verifyChunk = 1000

// verifyAccessLog checks a member's chain, oldest first, a chunk at a
// time: the time it takes grows with the log's length, the memory it
// holds does not. The log grows while it is read, so the chain is checked
// up to the head read first, a range of seqs at a time, and the entries
// past that head are checked apart (pastTheHead). Entries below the
// chain's first seq are looked for too: no append puts one there, and the
// member's listing, which reads the log to its end, would show it.
func (s *Service) verifyAccessLog(ctx context.Context, userID string) (*Verification, error) {
	v, _, err := s.verifyAccessLogFrom(ctx, userID, verifiedLog{})
	return v, err
}

// verifyAccessLogFrom checks a member's chain as verifyAccessLog does,
// but from prefix, a point a check found it intact, taken as checked: it
// reads the entries after it. It returns the head the chain was checked
// up to. A head behind prefix is checked from the start.
func (s *Service) verifyAccessLogFrom(ctx context.Context, userID string, prefix verifiedLog) (*Verification, parley.AccessHead, error) {
	v := &Verification{}
	var head parley.AccessHead
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		*v = Verification{}
		if head, err = findAccessHead(ctx, tx, userID); err != nil {
			return err
		}
		before, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: userID, From: 1, Limit: verifyChunk})
		if err != nil {
			return err
		}
		check, start := parley.NewChainCheck(head), int64(0)
		if prefix.head.Seq > 0 && prefix.head.Seq <= head.Seq {
			check, start = parley.NewChainCheckFrom(head, prefix.head), prefix.head.Seq
			v.Entries = prefix.entries
		}
		for from := start; from < head.Seq; from += verifyChunk {
			chunk, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: userID, Ascending: true,
				From: from, Through: min(from+verifyChunk, head.Seq), Limit: verifyChunk})
			if err != nil {
				return err
			}
			for _, e := range chunk {
				check.Add(e)
			}
			v.Entries += int64(len(chunk))
		}
		beyond, past, err := pastTheHead(ctx, tx, userID, head.Seq)
		if err != nil {
			return err
		}
		v.Break = check.End()
		if beyond != nil {
			v.Entries, v.Break = v.Entries+past, beyond
		}
		if len(before) > 0 {
			v.Entries, v.Break = v.Entries+int64(len(before)), parley.BeforeTheStart(before[len(before)-1].Seq)
		}
		return nil
	})
	if err != nil {
		return nil, parley.AccessHead{}, err
	}
	v.Intact = v.Break == nil
	return v, head, nil
}

// pastTheHead reads the member's entries past seq headSeq a chunk at a
// time, and returns how many there are and, if one of them lies beyond
// the head as read after its chunk, its break. An entry appended since
// headSeq was read lies within that later head; any other was put there
// behind the log's back.
func pastTheHead(ctx context.Context, tx parley.Tx, userID string, headSeq int64) (beyond *parley.ChainBreak, n int64, err error) {
	for from := headSeq; ; {
		chunk, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: userID, Ascending: true, From: from, Limit: verifyChunk})
		if err != nil {
			return nil, 0, err
		}
		n += int64(len(chunk))
		if beyond == nil && len(chunk) > 0 {
			later, err := findAccessHead(ctx, tx, userID)
			if err != nil {
				return nil, 0, err
			}
			if i := slices.IndexFunc(chunk, func(e *parley.AccessEntry) bool { return e.Seq > later.Seq }); i >= 0 {
				beyond = parley.BeyondTheEnd(chunk[i].Seq)
			}
		}
		if len(chunk) < verifyChunk {
			return beyond, n, nil
		}
		from = chunk[len(chunk)-1].Seq
	}
}
