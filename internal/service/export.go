package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// A member's data is theirs: Export gives them everything Parley keeps of
// theirs as one JSON document. It is for the member's own session; an app
// can never ask for it, whatever its scopes.
//
// The export is not written to the member's access log: the log records
// what apps did with the member's data, and the member's own calls with a
// session are not logged otherwise either; the export also carries the
// log itself, which an entry for the export would leave one short.

// ExportFormat names the export document's layout and its version.
const ExportFormat = "parley-export/1"

// exportPage is how many messages, access log entries or share links an
// export reads, and writes out, at a time: a large account's export is
// streamed, never held whole in memory.
const exportPage = 500

// Export is a member's export, everything read but their messages and
// their access log's entries, which WriteTo streams after the rest.
type Export struct {
	svc    *Service
	userID string
	head   exportHead
}

// exportHead is the document's part held in memory.
type exportHead struct {
	Format         string                 `json:"format"`
	ExportedAt     time.Time              `json:"exported_at"`
	Profile        *parley.User           `json:"profile"`
	Friends        []parley.Friend        `json:"friends"`
	FriendRequests *parley.FriendRequests `json:"friend_requests"`
	// DeclinedFriendRequests are kept, out of every list, until either
	// member asks the other again (parley.DeclinedRequestWait).
	DeclinedFriendRequests *parley.FriendRequests `json:"declined_friend_requests"`
	// Blocked are the members the member blocks.
	Blocked []parley.BlockedMember `json:"blocked"`
	Threads []ExportedThread       `json:"threads"`
	// ThreadsLeft are the threads the member left, which hold messages
	// of theirs (Messages) but are no longer theirs to read.
	ThreadsLeft []parley.LeftThread `json:"threads_left"`
	// OperatorActions are the operators' decisions about the member's
	// account, the oldest first.
	OperatorActions []ExportedDecision `json:"operator_actions"`
	Grants          []ExportedGrant    `json:"grants"`
	Apps            []ExportedApp      `json:"apps"`
	Sessions        []ExportedSession  `json:"sessions"`
	AccessLogHead   ExportedLogHead    `json:"access_log_head"`
}

// ExportedThread is a thread the member is in, with who is in it and how
// far the member read it.
type ExportedThread struct {
	parley.Thread
	// Participants are who is in it, the member among them, by when they
	// joined, each with when that was.
	Participants []parley.ParticipantRef `json:"participants"`
	// LastReadSeq is the last message the member read (0: none).
	LastReadSeq int64 `json:"last_read_seq"`
	// Muted says the member muted the thread.
	Muted bool `json:"muted,omitempty"`
	// ClosedToAppsAt is when the member closed the thread to apps, if they
	// keep it closed.
	ClosedToAppsAt *time.Time `json:"closed_to_apps_at,omitempty"`
}

// ExportedDecision is a decision operators made about the member's
// account (parley.OperatorAction with the member as its subject): what
// and when; not which operator made it, which the operators' own record
// keeps.
type ExportedDecision struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// ExportedGrant is a grant the member gave an app, in force or ended.
type ExportedGrant struct {
	parley.Grant
	AppName string `json:"app_name"`
	// Status is "active", "expired" or "revoked".
	Status string `json:"status"`
	// Threads are the threads the grant lists.
	Threads []parley.GrantThread `json:"threads"`
}

// ExportedApp is an app the member registered, with its webhook
// endpoints; neither's secret, which Parley keeps only as a hash.
type ExportedApp struct {
	parley.App
	WebhookEndpoints []*parley.WebhookEndpoint `json:"webhook_endpoints"`
}

// ExportedSession is one of the member's sessions, newest first: when it
// began and when it ends; never its token, which Parley keeps only as a
// hash.
type ExportedSession struct {
	SignedInAt time.Time `json:"signed_in_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ExportedShareLink is the tracked link of a share card made for the
// member: when the card was sent and when the member first followed the
// link, which an app's share report counts among all its members' clicks.
type ExportedShareLink struct {
	MessageID string `json:"message_id"`
	// ClientID is the app the card was shared through; none for a card a
	// member sent themself.
	ClientID  string     `json:"client_id,omitempty"`
	SentAt    time.Time  `json:"sent_at"`
	ClickedAt *time.Time `json:"clicked_at"`
}

// ExportedLogHead is what verifying the exported access log takes beyond
// its entries: the member's ID, which each entry's hash covers, and the
// seq and hash of the last entry exported.
type ExportedLogHead struct {
	UserID string `json:"user_id"`
	Seq    int64  `json:"seq"`
	Hash   []byte `json:"hash"`
}

// Filename is the name the export is saved under:
// parley-export-USERNAME-DATE.json, which needs no quoting in a header:
// usernames hold only a-z, 0-9, '_' and '.'.
func (e *Export) Filename() string {
	return "parley-export-" + e.head.Profile.Username + "-" + e.head.ExportedAt.Format(time.DateOnly) + ".json"
}

// exportsPerMember holds one member's downloads of everything of theirs,
// the export (Export) and their whole access log (AccessLogDownload),
// counted together, to 3 at once, then one a minute: each reads all the
// member's messages or all their log, and verifies the log's whole chain,
// which costs time in the length of their history; a member downloads
// their data now and then, not in a loop. Counted on every node alike, as
// the API's limits are.
var exportsPerMember = ratelimit.Policy{Name: "exports", Rate: 1.0 / 60, Burst: 3}

// allowExport counts a download of everything of the member c against
// exportsPerMember: ETHROTTLED past it.
func (s *Service) allowExport(ctx context.Context, c *parley.Caller) error {
	if s.opts.Limiter == nil {
		return nil
	}
	key := "export:" + c.User.ID
	if d := s.opts.Limiter.Allow(key, exportsPerMember); !d.Allowed {
		return s.rateLimited(ctx, exportsPerMember, key, d.RetryAfter, "downloads of your data")
	}
	return nil
}

// Export reads the signed-in member's data for an export. ETHROTTLED past
// exportsPerMember.
func (s *Service) Export(ctx context.Context) (*Export, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if err := s.allowExport(ctx, c); err != nil {
		return nil, err
	}
	e := &Export{svc: s, userID: c.User.ID}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		h := exportHead{Format: ExportFormat, ExportedAt: s.Now()}
		var err error
		if h.Profile, err = tx.FindUserByID(ctx, c.User.ID); err != nil {
			return err
		}
		if h.Friends, err = tx.FindFriends(ctx, c.User.ID); err != nil {
			return err
		}
		if h.FriendRequests, err = tx.FindFriendRequests(ctx, c.User.ID); err != nil {
			return err
		}
		if h.DeclinedFriendRequests, err = tx.FindDeclinedFriendRequests(ctx, c.User.ID); err != nil {
			return err
		}
		if h.Blocked, err = tx.FindBlockedMembers(ctx, c.User.ID); err != nil {
			return err
		}
		if h.Threads, err = exportThreads(ctx, tx, c.User.ID); err != nil {
			return err
		}
		if h.ThreadsLeft, err = tx.FindLeftThreads(ctx, c.User.ID); err != nil {
			return err
		}
		if h.OperatorActions, err = exportDecisions(ctx, tx, c.User.ID); err != nil {
			return err
		}
		if h.Grants, err = exportGrants(ctx, tx, c.User.ID, h.ExportedAt); err != nil {
			return err
		}
		if h.Apps, err = exportApps(ctx, tx, c.User.ID); err != nil {
			return err
		}
		if h.Sessions, err = exportSessions(ctx, tx, c.User.ID); err != nil {
			return err
		}
		head, err := findAccessHead(ctx, tx, c.User.ID)
		h.AccessLogHead = ExportedLogHead{UserID: c.User.ID, Seq: head.Seq, Hash: head.Hash}
		e.head = h
		return err
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// exportThreads returns the member's threads with their participants and
// when each joined, the member's read markers and the closings to apps
// they keep.
func exportThreads(ctx context.Context, tx parley.Tx, userID string) ([]ExportedThread, error) {
	threads, err := memberThreads(ctx, tx, userID)
	if err != nil {
		return nil, err
	}
	closed, err := tx.FindThreadsClosedBy(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]ExportedThread, 0, len(threads))
	for start := 0; start < len(threads); start += parley.MaxThreadLimit {
		batch := threads[start:min(start+parley.MaxThreadLimit, len(threads))]
		ids := make([]string, len(batch))
		for i, th := range batch {
			ids[i] = th.ID
		}
		people, err := tx.FindParticipantRefsOf(ctx, userID, ids)
		if err != nil {
			return nil, err
		}
		for _, th := range batch {
			e := ExportedThread{Thread: th.Thread, Participants: people[th.ID], LastReadSeq: th.LastReadSeq, Muted: th.Muted}
			if at, ok := closed[th.ID]; ok {
				e.ClosedToAppsAt = &at
			}
			list = append(list, e)
		}
	}
	return list, nil
}

// exportDecisions returns the operators' decisions about the member's
// account, the oldest first.
func exportDecisions(ctx context.Context, tx parley.Tx, userID string) ([]ExportedDecision, error) {
	actions, err := tx.FindOperatorActionsAbout(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]ExportedDecision, len(actions))
	for i, a := range actions {
		list[i] = ExportedDecision{Action: a.Action, At: a.At}
	}
	return list, nil
}

// exportGrants returns every grant the member gave, with its app's name
// and the threads it lists.
func exportGrants(ctx context.Context, tx parley.Tx, userID string, now time.Time) ([]ExportedGrant, error) {
	grants, err := tx.FindUserGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]ExportedGrant, 0, len(grants))
	names := map[string]string{}
	for _, g := range grants {
		if _, ok := names[g.ClientID]; !ok {
			app, err := tx.FindAppByClientID(ctx, g.ClientID)
			if err != nil {
				return nil, err
			}
			names[g.ClientID] = app.Name
		}
		threads, err := tx.FindGrantThreads(ctx, g.ID)
		if err != nil {
			return nil, err
		}
		list = append(list, ExportedGrant{Grant: *g, AppName: names[g.ClientID], Status: grantStatus(g, now), Threads: threads})
	}
	return list, nil
}

// exportApps returns the apps the member registered, with their webhook
// endpoints.
func exportApps(ctx context.Context, tx parley.Tx, userID string) ([]ExportedApp, error) {
	apps, err := tx.FindApps(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]ExportedApp, 0, len(apps))
	for _, app := range apps {
		hooks, err := tx.FindWebhookEndpoints(ctx, app.ClientID)
		if err != nil {
			return nil, err
		}
		if hooks == nil {
			hooks = []*parley.WebhookEndpoint{}
		}
		list = append(list, ExportedApp{App: *app, WebhookEndpoints: hooks})
	}
	return list, nil
}

// exportSessions returns the member's sessions, newest first.
func exportSessions(ctx context.Context, tx parley.Tx, userID string) ([]ExportedSession, error) {
	sessions, err := tx.FindUserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	list := make([]ExportedSession, len(sessions))
	for i, s := range sessions {
		list[i] = ExportedSession{SignedInAt: s.CreatedAt, ExpiresAt: s.ExpiresAt}
	}
	return list, nil
}

// grantStatus says whether a grant is in force at now, or how it ended.
func grantStatus(g *parley.Grant, now time.Time) string {
	switch {
	case g.ActiveAt(now):
		return "active"
	case g.ExpiresAt != nil && !now.Before(*g.ExpiresAt) && (g.RevokedAt == nil || !g.RevokedAt.Before(*g.ExpiresAt)):
		return "expired"
	default:
		return "revoked"
	}
}

// WriteTo writes the export to w as one JSON document: the parts Export
// read, then the access log's entries up to the head it read, oldest
// first, every message the member sent, tombstones too, in the order
// sent (with others' reactions in the threads they are still in), every
// reaction they gave, by thread, every flag they made, oldest first, and
// the share links made for them, each read a page at a time.
// An error part way leaves the document unfinished.
func (e *Export) WriteTo(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	head, err := json.Marshal(e.head)
	if err != nil {
		return err
	}
	bw.Write(bytes.TrimSuffix(head, []byte("}")))
	bw.WriteString(`,"access_log":`)
	headSeq := e.head.AccessLogHead.Seq
	err = writePages(ctx, e.svc.store, bw, func(tx parley.Tx, last *parley.AccessEntry) ([]*parley.AccessEntry, error) {
		from := int64(0)
		if last != nil {
			from = last.Seq
		}
		page, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: e.userID, Ascending: true, From: from, Limit: exportPage})
		for i, entry := range page {
			if entry.Seq > headSeq {
				return page[:i], err
			}
		}
		return page, err
	})
	if err != nil {
		return err
	}
	bw.WriteString(`,"messages":`)
	in := make(map[string]bool, len(e.head.Threads))
	for _, th := range e.head.Threads {
		in[th.ID] = true
	}
	err = writePages(ctx, e.svc.store, bw, func(tx parley.Tx, last *parley.Message) ([]*parley.Message, error) {
		after := ""
		if last != nil {
			after = last.ID
		}
		page, err := tx.FindSentMessages(ctx, e.userID, after, exportPage)
		// Of a thread the member left, they may no longer read who
		// reacted to their messages, since or before, nor count it by the
		// change.
		for _, m := range page {
			if !in[m.ThreadID] {
				m.Reactions, m.Change = nil, 0
			}
		}
		return page, err
	})
	if err != nil {
		return err
	}
	bw.WriteString(`,"reactions":`)
	err = writePages(ctx, e.svc.store, bw, func(tx parley.Tx, last *parley.GivenReaction) ([]*parley.GivenReaction, error) {
		return tx.FindGivenReactions(ctx, e.userID, last, exportPage)
	})
	if err != nil {
		return err
	}
	bw.WriteString(`,"flags":`)
	err = writePages(ctx, e.svc.store, bw, func(tx parley.Tx, last *parley.Flag) ([]*parley.Flag, error) {
		return tx.FindFlags(ctx, e.userID, last, exportPage)
	})
	if err != nil {
		return err
	}
	bw.WriteString(`,"share_links":`)
	err = writePages(ctx, e.svc.store, bw, func(tx parley.Tx, last *ExportedShareLink) ([]*ExportedShareLink, error) {
		after := ""
		if last != nil {
			after = last.MessageID
		}
		links, err := tx.FindReceivedShareLinks(ctx, e.userID, after, exportPage)
		page := make([]*ExportedShareLink, len(links))
		for i, l := range links {
			page[i] = &ExportedShareLink{MessageID: l.MessageID, ClientID: l.ClientID, SentAt: l.SentAt, ClickedAt: l.ClickedAt}
		}
		return page, err
	})
	if err != nil {
		return err
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// writePages writes a list to w as a JSON array, reading it a page at a
// time, each in a read of its own: read returns the page after last (nil
// for the first), and a page shorter than exportPage is the list's last.
func writePages[T any](ctx context.Context, store parley.Store, w *bufio.Writer, read func(tx parley.Tx, last *T) ([]*T, error)) error {
	enc := json.NewEncoder(w)
	w.WriteByte('[')
	var last *T
	for n := 0; ; {
		var page []*T
		err := store.Read(ctx, func(tx parley.Tx) (err error) {
			page, err = read(tx, last)
			return err
		})
		if err != nil {
			return err
		}
		for _, v := range page {
			if n > 0 {
				w.WriteByte(',')
			}
			if err := enc.Encode(v); err != nil {
				return err
			}
			n++
		}
		if len(page) < exportPage {
			break
		}
		last = page[len(page)-1]
	}
	return w.WriteByte(']')
}
