package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// NewThread holds what starting a thread takes.
type NewThread struct {
	// Participants are the usernames of the others; the caller is added.
	Participants []string
	Title        string
	// Kind is direct or group; empty means direct for one other member and
	// group for more.
	Kind string
	// IdempotencyKey, if set, makes the request safe to repeat: the thread
	// the caller's key started is returned again, replayed.
	IdempotencyKey string
}

// errThreadKeyTaken is a key another request of the member recorded
// meanwhile (on another node): the write runs again and finds its thread.
var errThreadKeyTaken = errors.New("service: thread key taken")

// CreateThread starts a thread with friends of the caller. A direct thread
// between two members is unique: asking again returns the existing one with
// created false. A request with the idempotency key of one that started a
// thread returns that thread, as the caller sees it now, replayed and
// created; the key with another request (kind, title or members) is
// ErrThreadKeyReused.
func (s *Service) CreateThread(ctx context.Context, in NewThread) (summary *parley.ThreadSummary, created, replayed bool, err error) {
	c, err := caller(ctx, parley.ScopeMessagesWrite)
	if err != nil {
		return nil, false, false, err
	}
	if in.IdempotencyKey != "" {
		if err := parley.ValidateIdempotencyKey(in.IdempotencyKey); err != nil {
			return nil, false, false, err
		}
	}
	others, err := otherUsernames(in.Participants, c.User.Username)
	if err != nil {
		return nil, false, false, err
	}
	kind := in.Kind
	if kind == "" {
		kind = parley.ThreadGroup
		if len(others) == 1 {
			kind = parley.ThreadDirect
		}
	}
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case kind != parley.ThreadDirect && kind != parley.ThreadGroup:
		return nil, false, false, parley.Errorf(parley.EINVALID, "kind must be direct or group")
	case kind == parley.ThreadDirect && len(others) != 1:
		return nil, false, false, parley.Errorf(parley.EINVALID, "a direct thread is between you and one other member")
	case kind == parley.ThreadDirect && in.Title != "":
		return nil, false, false, parley.Errorf(parley.EINVALID, "a direct thread has no title")
	}
	if err := parley.ValidateTitle(in.Title); err != nil {
		return nil, false, false, err
	}

	th := s.newThread(c, kind, in.Title)
	request := threadRequestHash(kind, in.Title, others, c)
	var change parley.ThreadChange
	write := func(tx parley.Tx) error {
		created, replayed = false, false
		if in.IdempotencyKey != "" {
			k, err := tx.FindThreadKey(ctx, c.User.ID, in.IdempotencyKey)
			switch {
			case err == nil && !bytes.Equal(k.RequestHash, request):
				return parley.ErrThreadKeyReused
			case err == nil:
				if summary, err = threadSummary(ctx, tx, c, k.ThreadID, 0); err != nil {
					return err
				}
				readers, err := tx.FindParticipantIDs(ctx, k.ThreadID)
				if err != nil {
					return err
				}
				var reads []access
				summary, reads = foundThread(c, summary, in.Title, readers)
				for _, a := range reads {
					if err := s.logAccess(ctx, tx, c, a); err != nil {
						return err
					}
				}
				created, replayed = !k.Existed, true
				return nil
			case !isNotFound(err):
				return err
			}
		}
		members, err := friendsByName(ctx, tx, c, others, "start threads")
		if err != nil {
			return err
		}
		members = append([]parley.UserRef{c.User}, members...)
		if kind == parley.ThreadDirect {
			th.DirectKey = parley.DirectKey(c.User.ID, members[1].ID)
			existing, err := tx.FindThreadByDirectKey(ctx, th.DirectKey)
			if err == nil {
				// An app did not start a direct thread that already exists:
				// it gets one only if its grant reaches it already. (A share
				// of an app of thread scope "app" brings the thread in, from
				// the card on.) Otherwise it is told what it would be told of
				// a member who is no friend.
				if summary, err = threadSummary(ctx, tx, c, existing.ID, 0); isNotFound(err) {
					return outOfAppReach("start threads")
				} else if err != nil {
					return err
				}
				if err := keepThreadKey(ctx, tx, c, in.IdempotencyKey, existing.ID, request, true); err != nil {
					return err
				}
				var reads []access
				summary, reads = foundThread(c, summary, in.Title, userIDs(members))
				for _, a := range append(reads, access{parley.ScopeMessagesWrite, existing.ID, userIDs(members), nil}) {
					if err := s.logAccess(ctx, tx, c, a); err != nil {
						return err
					}
				}
				return nil
			} else if !isNotFound(err) {
				return err
			}
		}
		if err := startThread(ctx, tx, c, th, members); err != nil {
			return err
		}
		if err := keepThreadKey(ctx, tx, c, in.IdempotencyKey, th.ID, request, false); err != nil {
			return err
		}
		if err := s.logAccess(ctx, tx, c, access{parley.ScopeMessagesWrite, th.ID, userIDs(members), nil}); err != nil {
			return err
		}
		created = true
		summary = &parley.ThreadSummary{Thread: *th}
		change = parley.ThreadChange{Thread: th, Participants: members}
		return nil
	}
	err = s.store.Write(ctx, write)
	if errors.Is(err, errThreadKeyTaken) {
		err = s.store.Write(ctx, write)
	}
	if err != nil {
		return nil, false, false, err
	}
	if created && !replayed {
		s.publishThreadChange(ctx, change, nil)
	}
	return summary, created, replayed, s.linkSummary(ctx, c, summary)
}

// foundThread is what CreateThread answers of a thread that was there
// before the call (a replay's, or the direct thread asked for again), and
// the reads that answer logs. A member, or an app that reads threads
// (threads.read), gets the thread as it is now, read as Thread reads it.
// Any other app gets the thread as it was started, with the request's
// title: the same answer as a call that started it, and nothing of how it
// has gone since (last_seq 0, last_activity_at its creation, no read
// marker or unread count, not whether it is blocked), which is threads.read's
// to learn; that answer reads nothing of the thread, and no read is
// logged for it.
func foundThread(c *parley.Caller, sum *parley.ThreadSummary, title string, readers []string) (*parley.ThreadSummary, []access) {
	if c.App == nil || c.App.Scopes.Has(parley.ScopeThreadsRead) {
		return sum, summaryReads(sum, readers)
	}
	th := sum.Thread
	th.Title, th.LastSeq, th.LastActivityAt, th.Blocked = title, 0, th.CreatedAt, false
	return &parley.ThreadSummary{Thread: th}, nil
}

// threadRequestHash is what a thread's idempotency key keeps of the
// request that started it: its kind, title and other members, in any
// order, and the app that sent it, if any (a key is the member's, and one
// used through an app is another request through another app or none),
// so that a repeat is told from another request. A member's own request
// hashes as it did before apps were part of it.
func threadRequestHash(kind, title string, others []string, c *parley.Caller) []byte {
	parts := append([]string{kind, title}, slices.Sorted(slices.Values(others))...)
	if c.App != nil {
		// No username holds a colon.
		parts = append(parts, "via:"+c.App.App.ClientID)
	}
	return requestHash(parts...)
}

// requestHash hashes the parts of a request kept with its idempotency
// key, each ended by a NUL, which none of them holds (texts, titles and
// URLs are refused with one).
func requestHash(parts ...string) []byte {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

// keepThreadKey records the caller's idempotency key, if any, with the
// thread its request was answered with, which existed already or not;
// errThreadKeyTaken when a concurrent request with the key recorded it
// first, whose answer the write, run again, gives.
func keepThreadKey(ctx context.Context, tx parley.Tx, c *parley.Caller, key, threadID string, request []byte, existed bool) error {
	if key == "" {
		return nil
	}
	err := tx.CreateThreadKey(ctx, &parley.ThreadKey{UserID: c.User.ID, Key: key, ThreadID: threadID, RequestHash: request, Existed: existed})
	if parley.ErrorCode(err) == parley.ECONFLICT {
		return errThreadKeyTaken
	}
	return err
}

// friendsByName finds the friends of the caller's member named for what
// the caller is doing (for the error): ENOTFOUND for a name no member
// has, then EFORBIDDEN if any of them is not a friend. Every name is
// looked up before any friendship is checked, and an app that named
// several is not told which of them is no friend: without friends.read,
// what it named cannot tell it who the member's friends are. An app that
// named one is told outOfAppReach, as it is when what it asked fails for
// a friend, and leaves no trace. One member named, as a direct thread or
// a share names them, is held with the caller's member (holdPair) before
// their friendship is read, which a block at the same time ends.
func friendsByName(ctx context.Context, tx parley.Tx, c *parley.Caller, names []string, doing string) ([]parley.UserRef, error) {
	users := make([]parley.UserRef, len(names))
	for i, name := range names {
		u, err := tx.FindUserByUsername(ctx, name)
		if isNotFound(err) {
			return nil, parley.Errorf(parley.ENOTFOUND, "no member is called %q", name)
		} else if err != nil {
			return nil, err
		}
		users[i] = u.Ref()
	}
	if len(users) == 1 {
		if err := holdPair(ctx, tx, c.User.ID, users[0].ID); err != nil {
			return nil, err
		}
	}
	for _, u := range users {
		if ok, err := areFriends(ctx, tx, c.User.ID, u.ID); err != nil {
			return nil, err
		} else if !ok && c.App != nil && len(users) > 1 {
			return nil, parley.Errorf(parley.EFORBIDDEN, "you can %s only with friends, and not everyone named is one yet", doing)
		} else if !ok && c.App != nil {
			return nil, outOfAppReach(doing)
		} else if !ok {
			return nil, parley.Errorf(parley.EFORBIDDEN, "you can %s only with friends, and %q is not one yet", doing, u.Username)
		}
	}
	return users, nil
}

// outOfAppReach is what an app that named one member is told when it may
// not do what it asked with them: they are no friend of the member's, or
// their conversation is outside the app's reach (it exists outside the
// grant, for a new direct thread; it is closed to apps, for a share).
// Which, it is not told: the failure leaves no trace, and without
// friends.read the app may not learn who the member's friends are.
func outOfAppReach(doing string) error {
	return parley.Errorf(parley.EFORBIDDEN, "this app cannot %s with the member named: they are not a friend yet, or their conversation is outside this app's access or closed to apps", doing)
}

// startThread stores a new thread with its members and, when an app starts
// it, brings it into the app's grant from its first message.
func startThread(ctx context.Context, tx parley.Tx, c *parley.Caller, th *parley.Thread, members []parley.UserRef) error {
	if err := tx.CreateThread(ctx, th); err != nil {
		return err
	}
	for _, m := range members {
		if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: th.ID, UserID: m.ID, JoinedAt: th.CreatedAt}); err != nil {
			return err
		}
		th.Version++ // each joining is a change of the thread
	}
	if th.Kind == parley.ThreadGroup {
		if err := noteInGroup(ctx, tx, th, parley.NoteStarted, c.User.ID, "", th.Title, th.CreatedAt); err != nil {
			return err
		}
	}
	// A new thread's members learn of it, and load its notices, whole:
	// no thread.apps_changed is needed. Its members' grants that reach
	// all conversations are noticed before the app's grant lists it,
	// which bringIntoGrant notices.
	if _, err := noticeReach(ctx, tx, th.ID, userIDs(members), th.CreatedAt); err != nil {
		return err
	}
	_, err := bringIntoGrant(ctx, tx, c, th.ID, 1, th.CreatedAt)
	return err
}

// newThread returns a thread the caller starts now, not yet stored.
func (s *Service) newThread(c *parley.Caller, kind, title string) *parley.Thread {
	now := s.Now()
	th := &parley.Thread{
		ID: parley.NewID(), Kind: kind, Title: title, CreatedBy: c.User.ID, LastActivityAt: now, CreatedAt: now,
	}
	if v := via(c); v != nil {
		th.CreatedViaApp = v.ClientID
	}
	return th
}

// parseUsername normalizes the username a caller names a member by in
// field, and refuses, as EINVALID, one no member can have: it is bad input,
// not a member to look for.
func parseUsername(field, name string) (string, error) {
	n := parley.NormalizeUsername(name)
	if err := parley.ValidateUsername(n); err != nil {
		return "", parley.Errorf(parley.EINVALID, "%s: %q is not a username", field, n)
	}
	return n, nil
}

// otherUsernames normalizes and de-duplicates usernames, leaving out self.
// More than a thread holds is EINVALID, found as soon as the list names
// that many: a body of the largest size holds thousands of names, and
// each costs a look among those before it.
func otherUsernames(names []string, self string) ([]string, error) {
	var others []string
	seen := map[string]bool{self: true}
	for _, n := range names {
		n, err := parseUsername("participants", n)
		if err != nil {
			return nil, err
		}
		if seen[n] {
			continue
		}
		if len(others)+1 >= parley.MaxGroupSize {
			return nil, parley.Errorf(parley.EINVALID, "a thread holds at most %d members", parley.MaxGroupSize)
		}
		seen[n] = true
		others = append(others, n)
	}
	if len(others) == 0 {
		return nil, parley.Errorf(parley.EINVALID, "participants must name at least one other member")
	}
	return others, nil
}

// Threads returns a page of the caller's threads, newest activity first,
// each with its last message and, when withMessages > 0, its newest
// withMessages messages. Each thread listed is read as Thread reads it,
// and logged as Thread logs it, for everyone in it: an entry names one
// thread, so a read of several is an entry for each, as the messages of
// several are. A page that lists none read only the member's list (that
// it holds no thread the caller may see, past the cursor if any), and is
// logged in their log alone, naming no thread, so that every call leaves
// a trace.
func (s *Service) Threads(ctx context.Context, cursor string, limit, withMessages int) (*parley.ThreadPage, error) {
	c, err := caller(ctx, parley.ScopeThreadsRead)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, parley.DefaultThreadLimit, parley.MaxThreadLimit); err != nil {
		return nil, err
	}
	if withMessages < 0 || withMessages > parley.MaxInboxMessages {
		return nil, parley.ErrInboxMessages
	}
	if limit*withMessages > parley.MaxInboxPageMessages {
		return nil, parley.ErrInboxPageMessages
	}
	after, err := decodeThreadCursor(cursor)
	if err != nil {
		return nil, err
	}
	page := &parley.ThreadPage{Threads: []*parley.ThreadSummary{}}
	var reads []access
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		f := parley.ThreadFilter{UserID: c.User.ID, After: after, Limit: limit + 1, OpenToApps: c.App != nil}
		if !reachesAll(c) {
			f.GrantID = c.App.Grant.ID
		}
		list, err := tx.FindThreads(ctx, f)
		if err != nil {
			return err
		}
		if len(list) > limit {
			list = list[:limit]
			last := list[limit-1]
			page.NextCursor = encodeThreadCursor(last.LastActivityAt, last.ID)
		}
		for _, t := range list {
			// The filter kept only threads open to the app and, unless its
			// grant reaches all, listed by the grant: what is left is
			// visible from the seq the grant lists (0 for a member).
			countFrom(t, t.VisibleFromSeq)
			hideFromApp(c, t)
		}
		if err := hideStarts(ctx, tx, c, list); err != nil {
			return err
		}
		if err := addMessages(ctx, tx, c, list, withMessages); err != nil {
			return err
		}
		readers, err := inboxReaders(ctx, tx, c, list)
		if err != nil {
			return err
		}
		for _, t := range list {
			reads = append(reads, summaryReads(t, readers[t.ID])...)
		}
		if len(list) == 0 {
			reads = append(reads, access{parley.ScopeThreadsRead, "", []string{c.User.ID}, nil})
		}
		page.Threads = list
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.linkSummary(ctx, c, page.Threads...); err != nil {
		return nil, err
	}
	return page, s.logRead(ctx, c, reads...)
}

// Thread returns one of the caller's threads.
func (s *Service) Thread(ctx context.Context, threadID string) (summary *parley.ThreadSummary, err error) {
	c, err := caller(ctx, parley.ScopeThreadsRead)
	if err != nil {
		return nil, err
	}
	var readers []string
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if summary, err = threadSummary(ctx, tx, c, threadID, 0); err != nil {
			return err
		}
		readers, err = threadReaders(ctx, tx, c, threadID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.linkSummary(ctx, c, summary); err != nil {
		return nil, err
	}
	return summary, s.logRead(ctx, c, summaryReads(summary, readers)...)
}

// threadSummary returns the thread as the caller sees it, with its last
// message and newest withMessages messages.
func threadSummary(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string, withMessages int) (*parley.ThreadSummary, error) {
	th, p, from, err := visibleThread(ctx, tx, c, threadID)
	if err != nil {
		return nil, err
	}
	sum := &parley.ThreadSummary{Thread: *th, LastReadSeq: p.LastReadSeq, JoinedSeq: p.JoinedSeq, Muted: p.Muted, VisibleFromSeq: from}
	countFrom(sum, from)
	// Messages deleted before the member read them are not unread; with
	// nothing unread, there are none to look for.
	if sum.UnreadCount > 0 {
		if sum.DeletedUnread, err = tx.CountDeletedAfter(ctx, threadID, sum.UnreadAfter()); err != nil {
			return nil, err
		}
		sum.CountUnread()
	}
	hideFromApp(c, sum)
	if err := hideStarts(ctx, tx, c, []*parley.ThreadSummary{sum}); err != nil {
		return nil, err
	}
	return sum, addMessages(ctx, tx, c, []*parley.ThreadSummary{sum}, withMessages)
}

// linkSummary makes the summaries' messages what the caller may see of
// them (forCaller), each message once: a summary's last message is the
// last of its messages when it carries any.
func (s *Service) linkSummary(ctx context.Context, c *parley.Caller, list ...*parley.ThreadSummary) error {
	var msgs []*parley.Message
	for _, t := range list {
		msgs = append(msgs, t.Messages...)
		if len(t.Messages) == 0 && t.LastMessage != nil {
			msgs = append(msgs, t.LastMessage)
		}
	}
	return s.forCaller(ctx, c, msgs...)
}

// countFrom sets a summary's read marker and unread count as seen by a
// caller who may see the thread's messages from seq from on: the marker is
// shown no earlier than just before message from, so that an app that
// arrived late is not told how much of what came before the member left
// unread, and unread_count counts only messages it may see. last_seq is
// the thread's own, as every seq is in what the caller gets, so that it
// pages and orders with the messages' seqs: from them an app that arrived
// late learns how many messages came before it, not what they said.
// Messages from before the member joined the thread are not unread either
// (ThreadSummary.CountUnread), though the marker stays where they read.
func countFrom(t *parley.ThreadSummary, from int64) {
	if from > 1 {
		t.LastReadSeq = min(max(t.LastReadSeq, from-1), t.LastSeq)
	}
	t.CountUnread()
}

// hideFromApp takes out of a summary what an app may not learn: how the
// thread was started (hideOrigin), and whether the member muted it.
func hideFromApp(c *parley.Caller, sum *parley.ThreadSummary) {
	if c.App != nil {
		hideOrigin(c, &sum.Thread)
		sum.Muted = false
	}
}

// hideOrigin takes out of a thread what an app may not learn of how it
// was started: through which app, unless the app itself (which other
// apps its member uses is not for one app to learn); and who started it,
// for an app that may not learn who takes part in it (participants.read),
// whoever it was: were its own member named, a blank would name the other
// member of a direct thread.
func hideOrigin(c *parley.Caller, th *parley.Thread) {
	if c.App == nil {
		return
	}
	if th.CreatedViaApp != c.App.App.ClientID {
		th.CreatedViaApp = ""
	}
	if !c.App.Scopes.Has(parley.ScopeParticipantsRead) {
		th.CreatedBy = ""
	}
}

// hideStart gives an app that may see a thread only from message from on
// (above 1: a grant that reaches it from the app's first post in it, or a
// thread closed to apps and opened again), as the thread's CreatedAt, when
// the first message it may see was written (first, ok), not when the
// conversation began: that is before anything the app may see, and as
// much its members' as what was said then. One that may see no message of
// it yet is given the thread's last activity, which it is shown anyway;
// its CreatedAt moves to its first message once there is one.
func hideStart(th *parley.Thread, from int64, first time.Time, ok bool) {
	switch {
	case from <= 1:
	case ok:
		th.CreatedAt = first
	default:
		th.CreatedAt = th.LastActivityAt
	}
}

// hideStarts applies hideStart to an app's summaries, with one query for
// all of those it may see only from a later message.
func hideStarts(ctx context.Context, tx parley.Tx, c *parley.Caller, list []*parley.ThreadSummary) error {
	if c.App == nil {
		return nil
	}
	var later []parley.ThreadFrom
	for _, t := range list {
		if t.VisibleFromSeq > 1 {
			later = append(later, parley.ThreadFrom{ThreadID: t.ID, FromSeq: t.VisibleFromSeq})
		}
	}
	if len(later) == 0 {
		return nil
	}
	first, err := tx.FindFirstMessageTimes(ctx, later)
	if err != nil {
		return err
	}
	for _, t := range list {
		at, ok := first[t.ID]
		hideStart(&t.Thread, t.VisibleFromSeq, at, ok)
	}
	return nil
}

// addMessages fills in the summaries' last messages and newest messages,
// those the caller may read, in one query: none for an app without
// messages.read, and none before the first message its grant reaches.
func addMessages(ctx context.Context, tx parley.Tx, c *parley.Caller, list []*parley.ThreadSummary, withMessages int) error {
	if c.App != nil && !c.App.Scopes.Has(parley.ScopeMessagesRead) {
		return nil
	}
	threads := make([]parley.ThreadFrom, 0, len(list))
	for _, t := range list {
		if t.LastSeq > 0 {
			threads = append(threads, parley.ThreadFrom{ThreadID: t.ID, FromSeq: t.VisibleFromSeq})
		}
	}
	newest, err := tx.FindNewestMessages(ctx, threads, max(withMessages, 1))
	if err != nil {
		return err
	}
	for _, t := range list {
		msgs := newest[t.ID]
		if len(msgs) > 0 {
			t.LastMessage = msgs[0]
		}
		if withMessages > 0 {
			slices.Reverse(msgs)
			t.Messages = msgs
		}
	}
	return nil
}

// Participants lists who is in one of the caller's threads.
func (s *Service) Participants(ctx context.Context, threadID string) (users []parley.UserRef, err error) {
	c, err := caller(ctx, parley.ScopeParticipantsRead)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if _, _, _, err := visibleThread(ctx, tx, c, threadID); err != nil {
			return err
		}
		users, err = tx.FindParticipants(ctx, threadID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return users, s.logRead(ctx, c, access{parley.ScopeParticipantsRead, threadID, withMember(userIDs(users), c), nil})
}

// ParticipantsOf lists who is in each of the threads given that the
// signed-in member is in, in one read, for the member's own pages; threads
// they are not in are left out, as if they did not exist. It reads no more
// than Participants of each would, and no app may call it.
func (s *Service) ParticipantsOf(ctx context.Context, threadIDs []string) (people map[string][]parley.UserRef, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if len(threadIDs) > parley.MaxThreadLimit {
		return nil, parley.Errorf(parley.EINVALID, "at most %d threads at once", parley.MaxThreadLimit)
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		people, err = tx.FindParticipantsOf(ctx, c.User.ID, threadIDs)
		return err
	})
	return people, err
}

// AddParticipant adds a friend of the caller to a group thread the caller is
// in. Adding someone already there changes nothing. The newcomer finds
// none of the group's history unread (Participant.JoinedSeq), and no one
// is told they saw it: their read marker stays where it was, at 0 for a
// member never in the group. One added back after leaving has nothing
// unread of what came while they were away, nor of what they left unread;
// one who had muted it comes back unmuted, and their own clients are told
// (EventThreadMuted), as when they unmute it.
func (s *Service) AddParticipant(ctx context.Context, threadID, username string) ([]parley.UserRef, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	name, err := parseUsername("username", username)
	if err != nil {
		return nil, err
	}
	var change parley.ThreadChange
	var newcomer string
	changed, noticed, unmuted := false, false, false
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		changed, noticed, unmuted = false, false, false
		u, err := tx.FindUserByUsername(ctx, name)
		if err != nil && !isNotFound(err) {
			return err
		}
		// A newcomer who was in the thread before: their row first. One
		// who had muted it comes back unmuted (JoinThread).
		var before *parley.Participant
		if u != nil {
			if before, err = holdMember(ctx, tx, threadID, u.ID); err != nil {
				return err
			}
		}
		th, _, err := memberThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		if th.Kind != parley.ThreadGroup {
			return parley.Errorf(parley.ECONFLICT, "members can be added to group threads only")
		}
		if u == nil {
			return parley.Errorf(parley.ENOTFOUND, "no member is called %q", name)
		}
		current, err := tx.FindParticipants(ctx, threadID)
		if err != nil {
			return err
		}
		change = parley.ThreadChange{Thread: th, Participants: current}
		if slices.ContainsFunc(current, func(p parley.UserRef) bool { return p.ID == u.ID }) {
			return nil
		}
		if len(current) >= parley.MaxGroupSize {
			return parley.Errorf(parley.ECONFLICT, "a thread holds at most %d members", parley.MaxGroupSize)
		}
		if ok, err := areFriends(ctx, tx, c.User.ID, u.ID); err != nil {
			return err
		} else if !ok {
			return parley.Errorf(parley.EFORBIDDEN, "you can add only friends, and %q is not one yet", u.Username)
		}
		// They join after the thread's last message, where the note of
		// their adding sits; their read marker stays where it was.
		now := s.Now()
		if err := tx.JoinThread(ctx, &parley.Participant{ThreadID: threadID, UserID: u.ID, JoinedAt: now, JoinedSeq: th.LastSeq}); err != nil {
			return err
		}
		if err := noteInGroup(ctx, tx, th, parley.NoteAdded, c.User.ID, u.ID, "", now); err != nil {
			return err
		}
		changed, newcomer = true, u.ID
		unmuted = before != nil && before.Muted
		change.Participants = append(change.Participants, u.Ref())
		// The newcomer's grants reaching all conversations reach this one
		// now, and so, for a member added back, do those that list it.
		if noticed, err = noticeReach(ctx, tx, threadID, []string{u.ID}, now); err != nil {
			return err
		}
		if err := tx.TouchThread(ctx, threadID, now); err != nil {
			return err
		}
		// Told as it is stored: its last activity never goes back, should
		// another write have come with a later time.
		change.Thread, err = tx.FindThreadByID(ctx, threadID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.publishThreadChange(ctx, change, nil)
	}
	if unmuted {
		// Their clients were told of the mute; they are told it is gone,
		// as when the member unmutes (UpdateThread).
		s.publish(ctx, []string{newcomer}, parley.NewEvent(parley.EventThreadMuted, threadID, parley.ThreadMuted{ThreadID: threadID}))
	}
	if noticed {
		s.publishAppsChanged(ctx, []string{threadID})
	}
	return change.Participants, nil
}

// LeaveThread takes the caller out of a group thread. Direct threads cannot
// be left. A member who kept the thread closed to apps withdraws that on
// leaving, logged as a reopening and noticed in the thread as one: no one
// left in the thread could.
func (s *Service) LeaveThread(ctx context.Context, threadID string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	return s.takeOut(ctx, c, threadID, c.User.ID)
}

// RemoveParticipant takes a member out of a group thread the caller
// keeps, as if they left it (LeaveThread), but that a closing of it to
// apps they kept stays: they are told, as everyone in it is, and a friend
// still in it may add them back. Only the group's keeper removes others
// (Thread.Keeper: its starter, or, once they left, the member in it
// longest), so that no two members take each other out in turn; anyone
// leaves on their own, and a caller removing themselves leaves.
func (s *Service) RemoveParticipant(ctx context.Context, threadID, userID string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	return s.takeOut(ctx, c, threadID, userID)
}

// takeOut takes the member userID out of a group thread the caller is in:
// the caller themselves, or another member of a group the caller keeps.
// Those left in it and the member taken out hear of it as a thread change.
func (s *Service) takeOut(ctx context.Context, c *parley.Caller, threadID, userID string) error {
	var change parley.ThreadChange
	var hooked, reopened bool
	removing := userID != c.User.ID
	err := s.store.Write(ctx, func(tx parley.Tx) error {
		hooked, reopened = false, false
		out, err := holdMember(ctx, tx, threadID, userID)
		if err != nil {
			return err
		}
		th, _, err := memberThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		if th.Kind != parley.ThreadGroup {
			return parley.Errorf(parley.ECONFLICT, "a direct thread cannot be left, and no one can be removed from it")
		}
		if removing {
			current, err := tx.FindParticipants(ctx, threadID)
			if err != nil {
				return err
			}
			if th.Keeper(current) != c.User.ID {
				return parley.Errorf(parley.EFORBIDDEN, "only the member who started this group, or, once they left it, the one in it longest, can remove people from it")
			}
			if out == nil || out.LeftAt != nil {
				return parley.Errorf(parley.ENOTFOUND, "that member is not in this group")
			}
		}
		var held *parley.Thread
		if held, hooked, reopened, err = s.leave(ctx, tx, threadID, userID, !removing); err != nil {
			return err
		}
		kind, subject := parley.NoteLeft, ""
		if removing {
			kind, subject = parley.NoteRemoved, userID
		}
		if err := noteInGroup(ctx, tx, th, kind, c.User.ID, subject, "", s.Now()); err != nil {
			return err
		}
		change.Thread = held
		change.Participants, err = tx.FindParticipants(ctx, threadID)
		return err
	})
	if err != nil {
		return err
	}
	if hooked {
		s.WakeWebhooks()
	}
	s.publishThreadChange(ctx, change, []string{userID})
	if reopened {
		s.publishAppsChanged(ctx, []string{threadID})
	}
	return nil
}

// leave takes the member out of the thread, as LeaveThread describes, and
// returns the thread as it holds it, whether a webhook delivery was
// queued and whether the member's closing was withdrawn (reopened), which
// those left in it are to hear of. It holds the thread's row
// (memberThread holds it already when takeOut calls), as the member's
// closing of it to apps does (SetThreadAppAccess): a closing on another
// connection either committed before, and is withdrawn here, or waits,
// and then finds the member gone. A member who leaves withdraws their
// closing (withdraw); one removed keeps it, theirs to withdraw, not the
// remover's: the thread stays closed to apps until they, added back,
// reopen it.
func (s *Service) leave(ctx context.Context, tx parley.Tx, threadID, userID string, withdraw bool) (th *parley.Thread, hooked, reopened bool, err error) {
	if th, err = tx.FindThreadByID(ctx, threadID); err != nil {
		return nil, false, false, err
	}
	now := s.Now()
	if hooked, err = s.enqueueLeftThread(ctx, tx, threadID, userID); err != nil {
		return nil, false, false, err
	}
	if withdraw {
		if reopened, err = withdrawClosing(ctx, tx, threadID, userID, now); err != nil {
			return nil, false, false, err
		}
	}
	if err := tx.LeaveThread(ctx, threadID, userID, now); err != nil {
		return nil, false, false, err
	}
	th.Version++ // the leaving is a change of the thread, held since it was read
	return th, hooked, reopened, nil
}

// withdrawClosing withdraws the member's closing of the thread to apps, if
// they keep it closed, at now, with its entry in the logs and its notice
// in the thread; it reports whether there was one.
func withdrawClosing(ctx context.Context, tx parley.Tx, threadID, userID string, now time.Time) (bool, error) {
	reopened, err := tx.ReopenThreadToApps(ctx, threadID, userID)
	if err != nil || !reopened {
		return false, err
	}
	return true, noteAppAccessChange(ctx, tx, threadID, parley.UserRef{ID: userID}, true, now)
}

// holdMember holds the member's row of the thread's participants, in a
// write that is to hold the thread's row too (memberThread): first, the
// order a post of theirs holds the two in (postParticipantMessagePG), so
// that on PostgreSQL a write about the member and their post at once wait
// for each other rather than deadlock. It returns the row, nil when the
// member was never in the thread.
func holdMember(ctx context.Context, tx parley.Tx, threadID, userID string) (*parley.Participant, error) {
	p, err := tx.FindParticipantForUpdate(ctx, threadID, userID)
	if isNotFound(err) {
		return nil, nil
	}
	return p, err
}

// heldThread is memberThread for a write about the member's own place in
// the thread: it holds their row first (holdMember), and takes it as the
// place memberThread would read again. A change of it on another
// connection (their leaving, say) has committed by the time the row is
// held, so the place is as that change left it.
func heldThread(ctx context.Context, tx parley.Tx, threadID, userID string) (*parley.Thread, *parley.Participant, error) {
	p, err := holdMember(ctx, tx, threadID, userID)
	if err != nil {
		return nil, nil, err
	}
	if p == nil || p.LeftAt != nil {
		return nil, nil, threadNotFound()
	}
	th, err := tx.FindThreadByID(ctx, threadID)
	if isNotFound(err) {
		return nil, nil, threadNotFound()
	} else if err != nil {
		return nil, nil, err
	}
	return th, p, nil
}

// noteInGroup writes, in a group's timeline after its last message, that
// the member byID did what kind says, to the member subjectID for
// NoteAdded and NoteRemoved, naming it title for NoteStarted and
// NoteRenamed.
func noteInGroup(ctx context.Context, tx parley.Tx, th *parley.Thread, kind, byID, subjectID, title string, at time.Time) error {
	n := &parley.TimelineNote{
		ID: parley.NewID(), ThreadID: th.ID, AfterSeq: th.LastSeq, At: at, Kind: kind, By: parley.UserRef{ID: byID}, Title: title,
	}
	if subjectID != "" {
		n.Subject = &parley.UserRef{ID: subjectID}
	}
	return tx.AddTimelineNote(ctx, n)
}

// enqueueLeftThread enqueues thread.closed_to_apps for the grants of a
// member leaving a thread that reached it, unless it is closed to apps,
// when they reach it no more already; those of a suspended app too, held
// until it is reinstated, when what it kept of the thread is to go.
func (s *Service) enqueueLeftThread(ctx context.Context, tx parley.Tx, threadID, userID string) (bool, error) {
	closers, err := tx.FindThreadClosers(ctx, threadID)
	if err != nil || len(closers) > 0 {
		return false, err
	}
	grants, err := tx.FindThreadGrants(ctx, threadID, s.Now(), true)
	if err != nil {
		return false, err
	}
	mine := slices.DeleteFunc(grants, func(g parley.ThreadGrant) bool { return g.Member.ID != userID })
	return s.enqueueThreadEnded(ctx, tx, threadID, mine, parley.ThreadEndLeft)
}

// ThreadUpdate is what a member changes of one of their threads; a nil
// field is left as it is.
type ThreadUpdate struct {
	// Title names a group thread for all its participants; an empty title
	// leaves the group to be named by its members. Direct threads have no
	// title.
	Title *string
	// Muted is the member's own choice (ThreadSummary.Muted).
	Muted *bool
}

// UpdateThread changes one of the signed-in member's threads, all of the
// update or none of it, and returns the thread as they see it now. Every
// participant hears of a new title as a thread change, and the group's
// timeline notes it; a mute is the member's alone, and only their own
// clients hear of it (EventThreadMuted), when it changes.
func (s *Service) UpdateThread(ctx context.Context, threadID string, u ThreadUpdate) (*parley.ThreadSummary, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if u.Title == nil && u.Muted == nil {
		return nil, parley.Errorf(parley.EINVALID, "give a title or muted, or both")
	}
	var title string
	if u.Title != nil {
		title = strings.TrimSpace(*u.Title)
		if err := parley.ValidateTitle(title); err != nil {
			return nil, err
		}
	}
	var summary *parley.ThreadSummary
	var change parley.ThreadChange
	var muteChanged bool
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		change, muteChanged = parley.ThreadChange{}, false
		th, p, err := heldThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		if u.Title != nil && th.Kind != parley.ThreadGroup {
			return parley.Errorf(parley.ECONFLICT, "a direct thread has no title")
		}
		// A title the group has already changes nothing, and no one hears
		// of it: a client that sends its whole state with each mute must
		// not tell the others when the member mutes.
		renamed := u.Title != nil && title != th.Title
		if renamed {
			if err := tx.RenameThread(ctx, threadID, title, s.Now()); err != nil {
				return err
			}
			if err := noteInGroup(ctx, tx, th, parley.NoteRenamed, c.User.ID, "", title, s.Now()); err != nil {
				return err
			}
		}
		if u.Muted != nil && *u.Muted != p.Muted {
			if err := tx.SetThreadMuted(ctx, threadID, c.User.ID, *u.Muted); err != nil {
				return err
			}
			muteChanged = true
		}
		if summary, err = threadSummary(ctx, tx, c, threadID, 0); err != nil {
			return err
		}
		if renamed {
			th := summary.Thread
			change.Thread = &th
			change.Participants, err = tx.FindParticipants(ctx, threadID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if change.Thread != nil {
		s.publishThreadChange(ctx, change, nil)
	}
	if muteChanged {
		s.publish(ctx, []string{c.User.ID}, parley.NewEvent(parley.EventThreadMuted, threadID, parley.ThreadMuted{ThreadID: threadID, Muted: summary.Muted}))
	}
	return summary, s.linkSummary(ctx, c, summary)
}

// publishThreadChange tells the thread's participants, and also, those who
// just left, that the thread changed. An app that receives it is logged
// for the participants the change names (its Readers), whoever is in the
// thread by the time the app's stream comes to the event.
func (s *Service) publishThreadChange(ctx context.Context, change parley.ThreadChange, alsoTo []string) {
	readers := userIDs(change.Participants)
	ev := parley.NewEvent(parley.EventThreadUpdated, change.Thread.ID, change)
	ev.Readers = readers
	s.publish(ctx, append(alsoTo, readers...), ev)
}

// Thread cursors are the activity time in microseconds and the thread's
// ID, marked as the inbox's (threadCursorMark).
func encodeThreadCursor(at time.Time, id string) string {
	return encodeCursor(threadCursorMark, at.UnixMicro(), id)
}

func decodeThreadCursor(cursor string) (*parley.ThreadCursor, error) {
	if cursor == "" {
		return nil, nil
	}
	us, id, ok := decodeCursor(threadCursorMark, cursor)
	if !ok {
		return nil, parley.Errorf(parley.EINVALID, "cursor is not one this server gave out")
	}
	return &parley.ThreadCursor{LastActivityAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// userIDs returns the members' IDs.
func userIDs(users []parley.UserRef) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}
