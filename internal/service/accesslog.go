package service

import (
	"context"
	"slices"

	"github.com/parleyhq/parley"
)

// Access transparency: every call an app makes that reads or changes member
// data appends an entry to the log of each member whose data it touched,
// in the transaction of the change, or before a read's data is returned.
// A thread's data belongs to everyone in it, so a thread access is logged
// for each participant.

// logAccess appends one entry per member in userIDs, chained onto each
// member's log. It does nothing for a member's own calls.
func logAccess(ctx context.Context, tx parley.Tx, c *parley.Caller, action parley.Scope, threadID string, userIDs []string, messages []*parley.Message) error {
	if c.App == nil {
		return nil
	}
	return appendAccess(ctx, tx, c.App.Grant, c.App.App.Name, string(action), threadID, userIDs, messages)
}

// appendAccess appends entries about a grant.
func appendAccess(ctx context.Context, tx parley.Tx, g *parley.Grant, appName, action, threadID string, userIDs []string, messages []*parley.Message) error {
	var ids []string
	if len(messages) <= parley.MaxLoggedMessageIDs {
		for _, m := range messages {
			ids = append(ids, m.ID)
		}
	}
	now := parley.Now()
	seen := make([]string, 0, len(userIDs))
	for _, uid := range userIDs {
		if slices.Contains(seen, uid) {
			continue
		}
		seen = append(seen, uid)
		seq, prev, err := tx.FindAccessHead(ctx, uid)
		if err != nil {
			return err
		}
		e := &parley.AccessEntry{
			UserID: uid, Seq: seq + 1, At: now, ClientID: g.ClientID, AppName: appName, GrantID: g.ID,
			Action: action, ThreadID: threadID, MessageIDs: ids, MessageCount: len(messages), PrevHash: prev,
		}
		e.Hash = e.ChainHash(prev)
		if err := tx.CreateAccessEntry(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// logRead records a read by an app before its data is returned.
func (s *Service) logRead(ctx context.Context, c *parley.Caller, action parley.Scope, threadID string, userIDs []string, messages []*parley.Message) error {
	if c.App == nil {
		return nil
	}
	return s.store.Write(ctx, func(tx parley.Tx) error {
		return logAccess(ctx, tx, c, action, threadID, userIDs, messages)
	})
}

// threadReaders returns who a read of a thread touches: its participants.
func threadReaders(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string) ([]string, error) {
	if c.App == nil {
		return nil, nil
	}
	return tx.FindParticipantIDs(ctx, threadID)
}

// AccessLogQuery selects a page of the caller's access log, newest first.
type AccessLogQuery struct {
	// ClientID, when set, keeps one app's entries.
	ClientID string
	// Before is the seq to read below; 0 reads from the newest.
	Before int64
	Limit  int
}

// AccessLogPage is a page of a member's access log.
type AccessLogPage struct {
	Entries []*parley.AccessEntry `json:"entries"`
	// NextBefore continues the log below this page; 0 when it is the last.
	NextBefore int64 `json:"next_before,omitempty"`
}

// AccessLog returns a page of the signed-in member's access log.
func (s *Service) AccessLog(ctx context.Context, q AccessLogQuery) (*AccessLogPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if q.Limit == 0 {
		q.Limit = parley.DefaultMessageLimit
	}
	if q.Limit < 1 || q.Limit > parley.MaxMessageLimit || q.Before < 0 {
		return nil, parley.Errorf(parley.EINVALID, "limit must be 1 to %d and before a log position", parley.MaxMessageLimit)
	}
	from := q.Before
	if from == 0 {
		from = 1 << 62
	}
	page := &AccessLogPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		list, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: c.User.ID, ClientID: q.ClientID, From: from, Limit: q.Limit + 1})
		if err != nil {
			return err
		}
		if len(list) > q.Limit {
			list = list[:q.Limit]
			page.NextBefore = list[q.Limit-1].Seq
		}
		page.Entries = list
		return nil
	})
	return page, err
}

// Verification is the result of checking a member's access log.
type Verification struct {
	Entries int64 `json:"entries"`
	// Intact is true when every link of the chain holds.
	Intact bool `json:"intact"`
	// Break names the first entry where the chain fails.
	Break *parley.ChainBreak `json:"break,omitempty"`
}

// VerifyAccessLog recomputes the signed-in member's chain.
func (s *Service) VerifyAccessLog(ctx context.Context) (*Verification, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	return s.verifyAccessLog(ctx, c.User.ID)
}

// VerifyAccessLogOf recomputes a member's chain; it is for operators.
func (s *Service) VerifyAccessLogOf(ctx context.Context, username string) (*Verification, error) {
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

// verifyPage is how many entries verification reads at a time.
const verifyPage = 1000

func (s *Service) verifyAccessLog(ctx context.Context, userID string) (*Verification, error) {
	var entries []*parley.AccessEntry
	var headSeq int64
	var headHash []byte
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		if headSeq, headHash, err = tx.FindAccessHead(ctx, userID); err != nil {
			return err
		}
		for from := int64(0); ; {
			page, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: userID, Ascending: true, From: from, Limit: verifyPage})
			if err != nil {
				return err
			}
			entries = append(entries, page...)
			if len(page) < verifyPage {
				return nil
			}
			from = page[len(page)-1].Seq
		}
	})
	if err != nil {
		return nil, err
	}
	// Entries appended after the head was read are left for the next check.
	for len(entries) > 0 && entries[len(entries)-1].Seq > headSeq {
		entries = entries[:len(entries)-1]
	}
	v := &Verification{Entries: int64(len(entries)), Break: parley.VerifyChain(entries, headSeq, headHash)}
	v.Intact = v.Break == nil
	return v, nil
}
