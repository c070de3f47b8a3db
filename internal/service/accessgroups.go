package service

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// The access log as a member reads it: runs of like accesses grouped into
// one line, so that an app polling a conversation once a second for an
// hour reads as one line, not 3,600.

// GroupGap is the longest pause between two like accesses of one run: an
// app polling every few seconds or minutes makes one line, an app that
// comes back after a longer pause a new one.
const GroupGap = 5 * time.Minute

// groupedActions are the accesses that group: reads, which a polling app
// repeats. A write, and anything done to a grant or a thread, is a line of
// its own.
var groupedActions = map[string]bool{
	string(parley.ScopeProfile):          true,
	string(parley.ScopeFriendsRead):      true,
	string(parley.ScopeThreadsRead):      true,
	string(parley.ScopeParticipantsRead): true,
	string(parley.ScopeMessagesRead):     true,
}

// AccessGroup is one line of a member's access log: one entry, or a run of
// consecutive like reads (same app, grant, action and thread, each within
// GroupGap of the next).
type AccessGroup struct {
	// Latest is the run's newest entry; a line of one entry is just it.
	Latest *parley.AccessEntry `json:"latest"`
	// Count is how many entries the run holds.
	Count int `json:"count"`
	// From and To are the times of its oldest and newest entries.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Messages is how many different messages the run read: a message
	// read twice counts once (but for those amid a read of scattered
	// messages, whose seqs the log does not hold: they count each time).
	Messages int `json:"messages"`
	// OldestSeq is the seq of the run's oldest entry in the member's log.
	OldestSeq int64 `json:"oldest_seq"`
	// Thread names the thread the run touched, for its member; empty when
	// it touched none.
	Thread ThreadName `json:"thread"`
	// By names the participant who closed or reopened a thread to apps.
	By *parley.UserRef `json:"by,omitempty"`
	// Grantor names the member whose grant the app acted through, when
	// it is not the member reading the log: an app that writes as one
	// member writes in the log of everyone in the thread.
	Grantor *parley.UserRef `json:"grantor,omitempty"`
	// GrantThreads name the threads of the entry's grant terms
	// (parley.GrantTerms.ThreadIDs), in their order.
	GrantThreads []ThreadName `json:"grant_threads,omitempty"`

	// spans are the seqs of the thread the run read, to count each
	// message once.
	spans spanSet
}

// ThreadName is how an access log line names a thread to its member.
type ThreadName struct {
	// Label is the thread's title, or the names of the others in it;
	// empty for a thread the member has left.
	Label string `json:"label,omitempty"`
	// Titled is set when Label is the thread's title.
	Titled bool `json:"titled,omitempty"`
}

// joins reports whether e, older than the run, continues it.
func (g *AccessGroup) joins(e *parley.AccessEntry) bool {
	l := g.Latest
	return groupedActions[e.Action] && e.Action == l.Action && e.ClientID == l.ClientID && e.GrantID == l.GrantID &&
		e.ThreadID == l.ThreadID && g.From.Sub(e.At) <= GroupGap
}

// add takes e, older than the run, into it.
func (g *AccessGroup) add(e *parley.AccessEntry) {
	g.Count++
	g.From, g.OldestSeq = e.At, e.Seq
	switch {
	case e.MessageCount == 0:
	case e.FirstSeq == 0:
		// Logged before spans were: its messages count as they are.
		g.Messages += e.MessageCount
	case int64(e.MessageCount) >= e.LastSeq-e.FirstSeq+1:
		g.Messages += g.spans.add(e.FirstSeq, e.LastSeq)
	default:
		// Scattered messages, such as a page of changes (one deleted long
		// ago, one new): the span holds messages the read did not touch,
		// which a read of them must still count. The ends are known, the
		// others count as they are.
		g.Messages += g.spans.add(e.FirstSeq, e.FirstSeq) + g.spans.add(e.LastSeq, e.LastSeq) + e.MessageCount - 2
	}
}

// newGroup starts a run at e.
func newGroup(e *parley.AccessEntry) *AccessGroup {
	g := &AccessGroup{Latest: e, To: e.At, From: e.At}
	g.add(e)
	return g
}

// appendGrouped groups entries, newest first and older than those already
// grouped, onto the lines: each entry continues the last line or starts
// the next.
func appendGrouped(groups []*AccessGroup, entries []*parley.AccessEntry) []*AccessGroup {
	for _, e := range entries {
		if n := len(groups); n > 0 && groups[n-1].joins(e) {
			groups[n-1].add(e)
			continue
		}
		groups = append(groups, newGroup(e))
	}
	return groups
}

// spanSet is a set of seqs kept as disjoint, sorted ranges.
type spanSet [][2]int64

// add puts lo..hi into the set and returns how many seqs were new.
func (s *spanSet) add(lo, hi int64) int {
	if hi < lo {
		lo, hi = hi, lo
	}
	fresh := hi - lo + 1
	var out spanSet
	for _, r := range *s {
		if r[1] < lo-1 || r[0] > hi+1 {
			out = append(out, r)
			continue
		}
		// Overlapping or touching: merge, and count the overlap as seen.
		if ov := min(r[1], hi) - max(r[0], lo) + 1; ov > 0 {
			fresh -= ov
		}
		lo, hi = min(lo, r[0]), max(hi, r[1])
	}
	out = append(out, [2]int64{lo, hi})
	for i := len(out) - 1; i > 0 && out[i][0] < out[i-1][0]; i-- {
		out[i], out[i-1] = out[i-1], out[i]
	}
	*s = out
	return int(fresh)
}

// AccessGroupPage is a page of a member's access log in lines.
type AccessGroupPage struct {
	Groups []*AccessGroup `json:"groups"`
	// NextCursor continues the log below this page; empty on the last.
	// It is an AccessLog cursor: the page ends where a line ends.
	NextCursor string `json:"next_cursor,omitempty"`
}

// groupBatch is how many entries AccessLogGroups reads at a time.
const groupBatch = 500

// groupPageEntries is about the most entries AccessLogGroups reads for a
// page. A run may be as long as the log (an app that polls a conversation
// for weeks, or reads it as often as its limits let it, makes one), and a
// page that read on to its end would take time in the log's length:
// about a second at 200,000 entries, at every load of the access log page.
const groupPageEntries = 10 * groupBatch

// AccessLogGroups returns a page of the signed-in member's access log,
// newest first, as up to q.Limit lines (AccessGroup), each with its
// thread named. A page cuts no run of fewer than groupPageEntries entries
// in two: it reads on until the line after its last has begun, and the
// next page starts there, so the lines of every page are those of the
// whole log read at once. A longer run, past groupPageEntries read, ends
// the page, and the next page goes on with the rest of it.
func (s *Service) AccessLogGroups(ctx context.Context, q AccessLogQuery) (*AccessGroupPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	below, err := q.start()
	if err != nil {
		return nil, err
	}
	page := &AccessGroupPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		var groups []*AccessGroup
		for read := 0; ; {
			batch, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: c.User.ID, ClientID: q.ClientID, From: below, Limit: groupBatch})
			if err != nil {
				return err
			}
			groups, read = appendGrouped(groups, batch), read+len(batch)
			if len(groups) > q.Limit {
				groups = groups[:q.Limit]
				page.NextCursor = encodeLogCursor(groups[q.Limit-1].OldestSeq)
				break
			}
			if len(batch) < groupBatch {
				break
			}
			if read >= groupPageEntries {
				page.NextCursor = encodeLogCursor(groups[len(groups)-1].OldestSeq)
				break
			}
			below = batch[len(batch)-1].Seq
		}
		page.Groups = groups
		return nameGroups(ctx, tx, groups, c.User.ID)
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// nameGroups names the threads and participants the lines mention, each
// read once.
func nameGroups(ctx context.Context, tx parley.Tx, groups []*AccessGroup, userID string) error {
	threads := map[string]ThreadName{}
	people := map[string]*parley.UserRef{}
	person := func(id string) (*parley.UserRef, error) {
		ref, ok := people[id]
		if !ok {
			u, err := tx.FindUserByID(ctx, id)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			if u != nil {
				r := u.Ref()
				ref = &r
			}
			people[id] = ref
		}
		return ref, nil
	}
	thread := func(id string) (ThreadName, error) {
		name, ok := threads[id]
		if !ok {
			th, err := tx.FindThreadByID(ctx, id)
			if err != nil && !isNotFound(err) {
				return name, err
			}
			if th != nil {
				if name.Label, err = threadLabel(ctx, tx, th, userID); err != nil {
					return name, err
				}
				name.Titled = name.Label != "" && th.Title != ""
			}
			threads[id] = name
		}
		return name, nil
	}
	grantors := map[string]string{}
	for _, g := range groups {
		var err error
		if id := g.Latest.ThreadID; id != "" {
			if g.Thread, err = thread(id); err != nil {
				return err
			}
		}
		if terms := g.Latest.Grant; terms != nil {
			for _, id := range terms.ThreadIDs {
				name, err := thread(id)
				if err != nil {
					return err
				}
				g.GrantThreads = append(g.GrantThreads, name)
			}
		}
		if id := g.Latest.ByUserID; id != "" {
			if g.By, err = person(id); err != nil {
				return err
			}
		}
		if id := g.Latest.GrantID; id != "" {
			grantor, ok := grantors[id]
			if !ok {
				gr, err := tx.FindGrantByID(ctx, id)
				if err != nil && !isNotFound(err) {
					return err
				}
				if gr != nil {
					grantor = gr.UserID
				}
				grantors[id] = grantor
			}
			if grantor != "" && grantor != userID {
				if g.Grantor, err = person(grantor); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
