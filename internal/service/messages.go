package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/parleyhq/parley"
)

// Draft is a message to send: its text and, when it answers an earlier
// message of the thread, that message's seq (0 when it answers none).
type Draft struct {
	// Text is stored composed (parley.NormalizeText).
	Text       string
	ReplyToSeq int64
}

// SendMessage posts d into a thread the caller is in. A reply answers a
// message the caller may see there (an app, one within its grant's reach),
// or is EINVALID. With an
// idempotency key, a retry returns the message the first call made, with
// replayed true, held to the thread's reach as a first send is (replay);
// the same key for a different message is ECONFLICT. Keys are the
// member's, across every app and session they send with: a key another
// app, or a share, used is a different message.
func (s *Service) SendMessage(ctx context.Context, threadID string, d Draft, idempotencyKey string) (msg *parley.Message, replayed bool, err error) {
	c, err := caller(ctx, parley.ScopeMessagesWrite)
	if err != nil {
		return nil, false, err
	}
	if err := parley.ValidateText(d.Text); err != nil {
		return nil, false, err
	}
	d.Text = parley.NormalizeText(d.Text, parley.MaxTextLen)
	if d.ReplyToSeq < 0 {
		return nil, false, errNoMessageToAnswer
	}
	if idempotencyKey != "" {
		if err := parley.ValidateIdempotencyKey(idempotencyKey); err != nil {
			return nil, false, err
		}
	}
	// A send first assumes its key is new: the unique index on the sender's
	// keys checks that in the insert, which spares every send a lookup in
	// the writer that all sends wait on. A retry fails that insert, rolling
	// its batch back to be run again with savepoints, and is answered by a
	// second write that looks the key up first. Retries are rare.
	//
	// A member's send that no webhook endpoint may hear of is then the one
	// statement of PostParticipantMessage, which the store may commit on
	// its own (WriteOne); a sender found not in the thread with a key
	// (errNotAlone) is answered by the second write too, for its key. A
	// reply is not: it is checked against its own seq once posted, and
	// refused by rolling its write back.
	var recipients []string
	var hooked bool
	send := func(mode sendMode) func(tx parley.Tx) error {
		return func(tx parley.Tx) error {
			hooked = false
			msg, replayed, recipients, err = s.sendMessage(ctx, tx, c, threadID, d, idempotencyKey, mode)
			if err == nil && !replayed && mode != sendAlone {
				hooked, err = s.enqueueMessageWebhooks(ctx, tx, parley.WebhookMessageCreated, msg)
			}
			return err
		}
	}
	if c.App == nil && d.ReplyToSeq == 0 && !s.hooks.mayHave(parley.WebhookMessageCreated, s.Now()) {
		err = s.store.WriteOne(ctx, send(sendAlone))
	} else {
		err = s.store.Write(ctx, send(sendNewKey))
	}
	if idempotencyKey != "" && (errors.Is(err, errKeyTaken) || errors.Is(err, errNotAlone)) {
		err = s.store.Write(ctx, send(sendLookUpKey))
	}
	if err != nil {
		return nil, false, err
	}
	if hooked {
		s.WakeWebhooks()
	}
	if !replayed {
		s.publishMessage(ctx, parley.EventMessageCreated, recipients, msg)
	}
	// A retry's message may have been reacted to since.
	return msg, replayed, s.forCaller(ctx, c, msg)
}

// errBlockedThread refuses a send into a thread that takes no message
// (parley.Thread.Blocked): the only reason a participant's post is not
// posted.
var errBlockedThread = parley.Errorf(parley.EFORBIDDEN, "this conversation takes no new messages: one of its two members blocked the other")

// errKeyTaken reports that a send's insert found its idempotency key taken.
var errKeyTaken = errors.New("service: idempotency key taken")

// errNotAlone reports that a send of one statement found its sender not in
// the thread: its key is to be looked up, in a statement of its own.
var errNotAlone = errors.New("service: the send needs its key looked up")

// errNoMessageToAnswer refuses a reply to a seq that is no message of the
// thread before the reply, or none the caller may see: the two are one
// answer, so that an app learns nothing of what is before its reach, nor,
// one that may not read messages, whether anything was said since its own
// (mayAnswer).
var errNoMessageToAnswer = parley.Errorf(parley.EINVALID, "reply_to_seq is no earlier message of this thread that you can see")

// sendMode is how a send's write treats its idempotency key.
type sendMode int

const (
	// sendNewKey leaves the key to the insert, which fails with
	// errKeyTaken when it is taken.
	sendNewKey sendMode = iota
	// sendAlone is sendNewKey in one statement, PostParticipantMessage's
	// alone (WriteOne): the look-up of a non-member's key is left to
	// another write (errNotAlone).
	sendAlone
	// sendLookUpKey looks the key up before it writes.
	sendLookUpKey
)

// sendMessage is SendMessage's write, with its key as mode says. A caller
// no longer in the thread has the key looked up whatever the mode (but
// sendAlone): a member's retry is answered whether or not they are still
// in it, an app's as replay says.
func (s *Service) sendMessage(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string, d Draft, idempotencyKey string, mode sendMode) (*parley.Message, bool, []string, error) {
	from, err := visibleFrom(ctx, tx, c, threadID)
	if err != nil {
		return nil, false, nil, err
	}
	if idempotencyKey != "" && mode == sendLookUpKey {
		if prior, answered, err := s.findReplay(ctx, tx, c, threadID, d, idempotencyKey); answered {
			return prior, err == nil, nil, err
		}
	}
	msg := &parley.Message{
		ID: parley.NewID(), ThreadID: threadID, Sender: c.User, Kind: parley.MessageKindText,
		Text: d.Text, ReplyToSeq: d.ReplyToSeq, CreatedAt: s.Now(), IdempotencyKey: idempotencyKey, Via: via(c),
	}
	if idempotencyKey != "" && c.App != nil {
		msg.RequestHash = d.requestHash()
	}
	// Posting reads the participants, and posts only as one of them;
	// sending reads the thread up to one's own message.
	ids, posted, err := tx.PostParticipantMessage(ctx, msg)
	if err != nil {
		if mode != sendLookUpKey && idempotencyKey != "" && parley.ErrorCode(err) == parley.ECONFLICT {
			return nil, false, nil, errKeyTaken
		}
		return nil, false, nil, err
	}
	if !posted {
		if idempotencyKey != "" && mode == sendAlone {
			return nil, false, nil, errNotAlone
		}
		if idempotencyKey != "" && mode == sendNewKey {
			if prior, answered, err := s.findReplay(ctx, tx, c, threadID, d, idempotencyKey); answered {
				return prior, err == nil, nil, err
			}
		}
		if slices.Contains(ids, c.User.ID) {
			return nil, false, nil, errBlockedThread
		}
		return nil, false, nil, threadNotFound()
	}
	// The seqs before the reply's own are the thread's messages, whatever
	// became of them; the write is rolled back if it answers none of those.
	if d.ReplyToSeq != 0 && (d.ReplyToSeq >= msg.Seq || d.ReplyToSeq < from) {
		return nil, false, nil, errNoMessageToAnswer
	}
	if err := mayAnswer(ctx, tx, c, threadID, d.ReplyToSeq); err != nil {
		return nil, false, nil, err
	}
	if err := s.logAccess(ctx, tx, c, access{parley.ScopeMessagesWrite, threadID, ids, []*parley.Message{msg}}); err != nil {
		return nil, false, nil, err
	}
	return msg, false, ids, nil
}

// findReplay looks up the caller's idempotency key for a send. answered
// is false when the key is new: the send goes on. Otherwise the send is
// answered here, with prior, the message an earlier send with the key
// made, held to the thread's reach as replay says, or with err: ECONFLICT
// when the key was used for a different message. A key is the member's,
// whatever sends with it: the same message is a text, into the same
// thread, sent through the same app (or none), with the same text and
// answering the same message, as the send asked for them (RequestHash),
// whatever became of the message since.
func (s *Service) findReplay(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string, d Draft, key string) (prior *parley.Message, answered bool, err error) {
	prior, err = tx.FindMessageByIdempotencyKey(ctx, c.User.ID, key)
	if isNotFound(err) {
		return nil, false, nil
	} else if err != nil {
		return nil, true, err
	}
	sameDraft := sameRequest(prior, d.requestHash(), func() bool {
		return prior.ReplyToSeq == d.ReplyToSeq && (prior.EditedAt != nil || prior.Text == d.Text)
	})
	if prior.Kind != parley.MessageKindText || prior.ThreadID != threadID || !sameVia(prior.Via, via(c)) || !sameDraft {
		return nil, true, parley.ErrIdempotencyKeyReused
	}
	if err := s.replay(ctx, tx, c, prior); err != nil {
		return nil, true, err
	}
	if c.App != nil && !c.App.Scopes.Has(parley.ScopeMessagesRead) && !ownsText(c, prior) && prior.RequestHash != nil {
		// Its member's words since, which an app that only writes does
		// not read: it gets back what it wrote, as its request, found the
		// same (sameDraft), says. (A key kept without its request, before
		// schema 52, says nothing of the text once it was edited.)
		prior.Text, prior.EditedAt = d.Text, nil
	}
	return prior, true, nil
}

// requestHash is what a keyed send of the draft asked for, kept with its
// key (parley.Message.RequestHash).
func (d Draft) requestHash() []byte {
	return requestHash(parley.MessageKindText, d.Text, strconv.FormatInt(d.ReplyToSeq, 10))
}

// sameRequest reports whether a keyed send that made prior asked for what
// a retry with the key asks for, whose request hashes to request: for a
// send through an app, whatever became of prior since, so that the answer
// to a key reused for other words is the same before and after a
// deletion or an edit, and tells no app of either. Of a key kept without
// its request (a member's own send, or one from before requests were
// kept), it is asKept, which tells from the message as it is now,
// replaying a deleted message whatever is asked, as a retry of a send
// answered late must find its message.
func sameRequest(prior *parley.Message, request []byte, asKept func() bool) bool {
	if len(prior.RequestHash) > 0 {
		return bytes.Equal(prior.RequestHash, request)
	}
	return prior.DeletedAt != nil || asKept()
}

// replay holds a retried write of an app's, to be answered with the
// message its first attempt made, prior, to what a first attempt is held
// to: the grant must still reach prior's thread (no participant closed it
// to apps, it is in the grant, the member is in it), else ENOTFOUND as
// for a thread that does not exist; and prior must be among the messages
// the grant reaches there, else ECONFLICT, as for a key used for another
// message. A retry is no way around the member's closing, unticking or
// leaving a thread. A member's own retry is answered whether or not they
// are still in the thread; of a thread they left, without its reactions,
// as their export gives it: who reacted since is no longer theirs to read.
//
// An app's replay that is answered is logged for everyone in the thread
// as the read it is, of prior (messages.read, whatever the app's scopes):
// the app receives the message as it stands now, a tombstone once deleted,
// which the write's entry does not tell, while logging the write again
// would tell of a message sent twice. The entry is committed with the
// write that answers the retry, which commits anyway: the journal of
// reads would spare no commit.
func (s *Service) replay(ctx context.Context, tx parley.Tx, c *parley.Caller, prior *parley.Message) error {
	if c.App == nil {
		p, err := tx.FindParticipant(ctx, prior.ThreadID, c.User.ID)
		if isNotFound(err) || err == nil && p.LeftAt != nil {
			// Its change too would count reactions given since.
			prior.Reactions, prior.Change = nil, 0
			return nil
		}
		return err
	}
	if _, _, from, err := visibleThread(ctx, tx, c, prior.ThreadID); err != nil {
		return err
	} else if prior.Seq < from {
		return parley.ErrIdempotencyKeyReused
	}
	return s.logAnswered(ctx, tx, c, prior)
}

// logAnswered logs an app's write that changed nothing and is answered with
// m as it now is (a retried send, an edit to the text m has) for everyone
// in m's thread, as the read it is: messages.read, whatever the app's
// scopes.
func (s *Service) logAnswered(ctx context.Context, tx parley.Tx, c *parley.Caller, m *parley.Message) error {
	readers, err := threadReaders(ctx, tx, c, m.ThreadID)
	if err != nil {
		return err
	}
	return s.logAccess(ctx, tx, c, access{parley.ScopeMessagesRead, m.ThreadID, readers, []*parley.Message{m}})
}

// sameVia reports whether two messages were sent through the same app, or
// both through none.
func sameVia(a, b *parley.Via) bool {
	return (a == nil) == (b == nil) && (a == nil || a.ClientID == b.ClientID)
}

// publishMessage tells the thread's participants of a message, new
// (EventMessageCreated) or edited (EventMessageEdited), as it now is.
func (s *Service) publishMessage(ctx context.Context, typ string, recipients []string, msg *parley.Message) {
	ev := parley.NewEvent(typ, msg.ThreadID, msg)
	ev.Seq, ev.MessageID, ev.Readers = msg.Seq, msg.ID, recipients
	s.publish(ctx, recipients, ev)
}

// MessageQuery selects a page of messages: before a seq (older; with
// neither, the newest), or after a seq (newer; after 0 reads from the
// start). Limit 0 means the default.
type MessageQuery struct {
	Before, After *int64
	Limit         int
	// Notes asks for the group's timeline notes among the page's messages
	// too (parley.MessagePage.Notes), the latest parley.MaxPageNotes of
	// them: members only.
	Notes bool
}

// Messages returns a page of a thread the caller is in, oldest first.
func (s *Service) Messages(ctx context.Context, threadID string, q MessageQuery) (*parley.MessagePage, error) {
	var err error
	if q.Limit, err = pageLimit(q.Limit, parley.DefaultMessageLimit, parley.MaxMessageLimit); err != nil {
		return nil, err
	}
	switch {
	case q.Before != nil && *q.Before < 1 || q.After != nil && *q.After < 0:
		return nil, parley.Errorf(parley.EINVALID, "before must be a message number, after a message number or 0")
	case q.Before != nil && q.After != nil:
		return nil, parley.Errorf(parley.EINVALID, "give before or after, not both")
	}
	if q.Notes {
		if _, err := caller(ctx, memberOnly); err != nil {
			return nil, err
		}
	}
	page := &parley.MessagePage{}
	err = s.readMessages(ctx, threadID, func(tx parley.Tx, memberID string, g *parley.Grant) (*parley.ReachedThread, []*parley.Message, error) {
		f := parley.MessageFilter{ThreadID: threadID, Before: q.Before, After: q.After, Limit: q.Limit + 1, MemberID: memberID}
		reached, list, err := findMessages(ctx, tx, g, f)
		if err != nil {
			return nil, nil, err
		}
		page.HasMore = len(list) > q.Limit
		if page.HasMore {
			list = list[:q.Limit]
		}
		if q.After == nil {
			slices.Reverse(list)
		}
		page.Messages = list
		return reached, list, nil
	})
	if err != nil || !q.Notes {
		return page, err
	}
	lo, hi := notesAmong(page, q)
	if hi < lo {
		return page, nil
	}
	err = s.store.Read(ctx, func(tx parley.Tx) (err error) {
		page.Notes, err = tx.FindTimelineNotes(ctx, parley.CallerFromContext(ctx).User.ID, threadID, lo, hi, parley.MaxPageNotes+1)
		return err
	})
	if err != nil {
		return nil, err
	}
	// The latest notes are kept, those nearest the thread as it is now.
	if page.HasMoreNotes = len(page.Notes) > parley.MaxPageNotes; page.HasMoreNotes {
		page.Notes = page.Notes[1:]
	}
	return page, nil
}

// notesAmong returns the first and last message a note may follow to sit
// among the page's messages, read as q asks: from its first message when
// older ones are left out (a note before it sits on the page before), or
// from q.After, or from the group's start; up to the message before its
// last when it was read forward and newer ones are left out (a note after
// it sits on the page after), or before q.Before, or on to the newest. So
// each note comes with one page of a thread read one way.
func notesAmong(page *parley.MessagePage, q MessageQuery) (lo, hi int64) {
	lo, hi = 0, math.MaxInt64
	msgs := page.Messages
	switch {
	case q.After != nil:
		lo = *q.After
	case page.HasMore && len(msgs) > 0:
		lo = msgs[0].Seq
	}
	switch {
	case q.Before != nil:
		hi = *q.Before - 1
	case q.After != nil && page.HasMore && len(msgs) > 0:
		hi = msgs[len(msgs)-1].Seq - 1
	}
	return lo, hi
}

// MessagesAt returns the messages of a thread the caller is in numbered
// seqs, oldest first, held and logged as Messages is: those a page's
// replies quote, in one read. A seq the caller has no message so numbered
// for is left out. At most parley.MaxMessageLimit seqs, each from 1.
func (s *Service) MessagesAt(ctx context.Context, threadID string, seqs []int64) ([]*parley.Message, error) {
	if len(seqs) == 0 || len(seqs) > parley.MaxMessageLimit || slices.Min(seqs) < 1 {
		return nil, parley.Errorf(parley.EINVALID, "give 1 to %d message numbers, each from 1", parley.MaxMessageLimit)
	}
	var list []*parley.Message
	err := s.readMessages(ctx, threadID, func(tx parley.Tx, memberID string, g *parley.Grant) (reached *parley.ReachedThread, _ []*parley.Message, err error) {
		reached, list, err = findMessages(ctx, tx, g, parley.MessageFilter{ThreadID: threadID, Seqs: seqs, Limit: len(seqs), MemberID: memberID})
		return reached, list, err
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// findMessages is readMessages' read of the messages f selects: a member's
// (g nil), or an app's, held to its grant's reach with the thread's, and
// its participants.
func findMessages(ctx context.Context, tx parley.Tx, g *parley.Grant, f parley.MessageFilter) (*parley.ReachedThread, []*parley.Message, error) {
	if g == nil {
		list, err := tx.FindMessages(ctx, f)
		return nil, list, err
	}
	return tx.FindReachedMessages(ctx, g, f)
}

// ChangeQuery selects a page of a thread's changes: those after Cursor, a
// NextCursor of an earlier page (empty: from the start). Limit 0 means the
// default.
type ChangeQuery struct {
	Cursor string
	Limit  int
}

// Changes returns a page of the changes to a thread's messages the caller
// may see, in the order they were committed: messages posted, edited,
// reacted to and deleted, so that a reader that was away learns of
// deletions too. It is
// held to exactly what Messages is held to, and logged as Messages is.
func (s *Service) Changes(ctx context.Context, threadID string, q ChangeQuery) (*parley.ChangePage, error) {
	var err error
	if q.Limit, err = pageLimit(q.Limit, parley.DefaultMessageLimit, parley.MaxMessageLimit); err != nil {
		return nil, err
	}
	after, cursorFrom, err := decodeChangeCursor(q.Cursor, threadID)
	if err != nil {
		return nil, err
	}
	page := &parley.ChangePage{}
	err = s.readMessages(ctx, threadID, func(tx parley.Tx, memberID string, g *parley.Grant) (reached *parley.ReachedThread, msgs []*parley.Message, err error) {
		f := parley.ChangeFilter{ThreadID: threadID, After: after, Limit: q.Limit + 1, MemberID: memberID}
		var list []parley.MessageChange
		from := int64(0) // a member's: the thread's start
		if g == nil {
			list, err = tx.FindMessageChanges(ctx, f)
		} else if reached, list, err = tx.FindReachedMessageChanges(ctx, g, f); err == nil {
			var reaches bool
			if from, reaches = reached.Reach.From(g.ThreadScope); !reaches {
				return reached, nil, nil // not found, as readMessages tells
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if cursorFrom >= 0 && cursorFrom != from {
			return nil, nil, errStaleChangeCursor
		}
		page.HasMore = len(list) > q.Limit
		if page.HasMore {
			list = list[:q.Limit]
		}
		page.Changes = list
		page.NextCursor = encodeChangeCursor(after, from, threadID)
		if len(list) > 0 {
			page.NextCursor = encodeChangeCursor(list[len(list)-1].Number, from, threadID)
		}
		msgs = make([]*parley.Message, len(list))
		for i, c := range list {
			msgs[i] = c.Message
		}
		return reached, msgs, nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// readMessages is the one way a thread's messages are read, whatever the
// order: it holds the caller to messages.read and the thread to the
// caller's reach of it, has find read the messages of the member's thread
// (memberID: none while they are not in it), tells an empty answer of a
// thread the caller is not in apart from an empty thread, and logs the
// read of the messages find returns before they are handed out.
//
// For a member, g is nil and find reads from the first message. For an
// app, g is its grant, and find has the store read the grant's reach of
// the thread and its participants with the page, held to that reach
// (FindReachedMessages): one statement on PostgreSQL, where an app's read
// was three before its record. The decision on the reach is still made
// here, on the reach the store returns, and bounds what is handed out:
// a page the reach does not allow is not found, and a message before the
// reach's first is an internal error, never an answer.
func (s *Service) readMessages(ctx context.Context, threadID string, find func(tx parley.Tx, memberID string, g *parley.Grant) (*parley.ReachedThread, []*parley.Message, error)) error {
	c, err := caller(ctx, parley.ScopeMessagesRead)
	if err != nil {
		return err
	}
	var grant *parley.Grant
	if c.App != nil {
		grant = c.App.Grant
	}
	var read []*parley.Message
	var readers []string
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		read = nil
		reached, list, err := find(tx, c.User.ID, grant)
		if err != nil {
			return err
		}
		if grant == nil {
			if len(list) == 0 {
				// An empty page: the thread may be empty, or not the caller's.
				if _, _, err := memberThread(ctx, tx, threadID, c.User.ID); err != nil {
					return err
				}
			}
			read = list
			return nil
		}
		from, err := reachFrom(c, &reached.Reach)
		if err != nil {
			return err
		}
		for _, m := range list {
			if m.Seq < from {
				return fmt.Errorf("service: the store read message %d of thread %s for a grant that reaches it from %d", m.Seq, threadID, from)
			}
		}
		// An empty page of a thread the member is not in is of no thread of
		// theirs: the page's rows hold only while they are in it.
		if len(list) == 0 && !slices.Contains(reached.Participants, c.User.ID) {
			return threadNotFound()
		}
		read, readers = list, withMember(reached.Participants, c)
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.forCaller(ctx, c, read...); err != nil {
		return err
	}
	return s.logRead(ctx, c, access{parley.ScopeMessagesRead, threadID, readers, read})
}

// DeleteMessage deletes one of the caller's own messages for everyone,
// leaving a tombstone. Deleting a deleted message again changes nothing.
// A member deletes their own message also in a group they left or were
// taken out of: what they wrote is theirs, as their export holds it, and
// those still in it are not to keep reading what its writer took back.
//
// An app deletes only its member's own messages, where its grant reaches:
// any other message, another participant's among them, is answered as no
// message at all (errNoMessageToDelete), whatever its scopes, so that a
// refusal tells the app nothing of who sent it (access.go, on refusals).
// An app's delete of its member's message that was deleted already tells
// the app whose it is, as the delete it answers did, and is logged as the
// read it is (logAnswered).
func (s *Service) DeleteMessage(ctx context.Context, messageID string) error {
	c, err := caller(ctx, parley.ScopeMessagesDelete)
	if err != nil {
		return err
	}
	var deleted *deletedMessage
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		deleted = nil
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return missing(c, err, errNoMessageToDelete)
		}
		// A member's own message is theirs wherever it is; anything else
		// is found in the thread as the caller sees it, or not at all.
		if c.App != nil || m.Sender.ID != c.User.ID {
			if _, _, from, err := visibleThread(ctx, tx, c, m.ThreadID); err != nil {
				return missing(c, err, errNoMessageToDelete)
			} else if m.Seq < from {
				return noMessage(c, errNoMessageToDelete)
			}
		}
		if m.Sender.ID != c.User.ID {
			if c.App != nil {
				return errNoMessageToDelete
			}
			return parley.Errorf(parley.EFORBIDDEN, "only the sender can delete a message")
		}
		if m.DeletedAt != nil {
			if c.App != nil {
				return s.logAnswered(ctx, tx, c, m)
			}
			return nil
		}
		if deleted, err = s.deleteForEveryone(ctx, tx, m); err != nil {
			return err
		}
		return s.logAccess(ctx, tx, c, access{parley.ScopeMessagesDelete, m.ThreadID, deleted.recipients, []*parley.Message{m}})
	})
	if err != nil {
		return err
	}
	s.tellDeleted(ctx, deleted)
	return nil
}

// errNoMessageToDelete and errNoMessageToEdit are what an app is told of
// a message it may not delete, or edit: one that does not exist, one
// outside its grant's reach, and one it may not act on in a thread it
// reaches are one answer (access.go, on refusals).
var (
	errNoMessageToDelete = parley.Errorf(parley.ENOTFOUND, "message not found: an app can delete only its member's own messages, in conversations it can reach")
	errNoMessageToEdit   = parley.Errorf(parley.ENOTFOUND, "message not found: an app can edit only the messages it wrote for its member, in conversations it can reach")
)

// errEditDeleted refuses the edit of a deleted message.
var errEditDeleted = parley.Errorf(parley.ECONFLICT, "this message was deleted")

// noMessage is the answer to a caller about a message that does not exist
// for them: an app's, forApp; a member's, plainly not found.
func noMessage(c *parley.Caller, forApp error) error {
	if c.App != nil {
		return forApp
	}
	return parley.Errorf(parley.ENOTFOUND, "message not found")
}

// missing is the answer to a caller whose look-up of a message, or of its
// thread, failed with err: noMessage when nothing was found, err itself
// otherwise.
func missing(c *parley.Caller, err, forApp error) error {
	if isNotFound(err) {
		return noMessage(c, forApp)
	}
	return err
}

// mayAnswer refuses a reply by an app that may not read messages
// (messages.read) to a message it did not write for its member: the
// messages it "can see" are its own, which it knows without reading. So it
// answers blind nothing it has not read, and a refusal tells it nothing a
// read would: without this rule, a reply to the seq after its own last
// message would be refused until someone spoke, a way to watch a thread
// that no read logs.
func mayAnswer(ctx context.Context, tx parley.Tx, c *parley.Caller, threadID string, seq int64) error {
	if seq == 0 || c.App == nil || c.App.Scopes.Has(parley.ScopeMessagesRead) {
		return nil
	}
	found, err := tx.FindMessages(ctx, parley.MessageFilter{ThreadID: threadID, Seqs: []int64{seq}, Limit: 1, MemberID: c.User.ID})
	if err != nil {
		return err
	}
	if len(found) == 0 || !wroteFor(c, found[0]) {
		return errNoMessageToAnswer
	}
	return nil
}

// wroteFor reports whether the app caller wrote m for its member: sent
// through it, as them. An app knows that of a message without reading it.
func wroteFor(c *parley.Caller, m *parley.Message) bool {
	return m.Via != nil && m.Via.ClientID == c.App.App.ClientID && m.Sender.ID == c.User.ID
}

// ownsText reports whether the app caller wrote m (wroteFor) and its text
// is still the app's: never edited, or last by the app. Once its member
// edits it, the words are theirs.
func ownsText(c *parley.Caller, m *parley.Message) bool {
	return wroteFor(c, m) && (m.EditedAt == nil || m.EditedByApp)
}

// EditMessage replaces the text of one of the caller's own text messages
// for everyone, and returns the message as it now is. The message keeps
// its place and says when it was edited; everyone in the thread is told
// (EventMessageEdited), and every app whose grant reaches it
// (WebhookMessageEdited). The text it has already changes nothing and
// tells no one. An app's edit is in the access log of everyone in the
// thread, as parley.ActionMessageEdited; one that changes nothing, as the
// read of the message it is answered with (logAnswered).
//
// An app may edit only what it wrote itself, for the member whose grant
// it holds (a receipt whose status changed, a recommendation's note), and
// only while the words are its own (ownsText): the member's own words,
// typed in Parley, through another app, or over the app's in an edit of
// theirs, are not the app's to rewrite, though messages.write lets it
// write new ones.
// Nor is a share card edited, a deleted message, or any message of a
// conversation that takes no message (a block).
//
// For an app, whether it wrote the message is decided first, and any
// other message is answered as no message at all (errNoMessageToEdit):
// the refusal tells nothing of who sent it, what became of it or what kind
// it is (access.go, on refusals). Of a message it wrote, the app knows the
// kind; that it was deleted since, which an app that only writes is not
// told otherwise, is answered with the refusal and logged as the read of
// the tombstone it is (logAnswered), as a retried send's answer is.
func (s *Service) EditMessage(ctx context.Context, messageID, text string) (*parley.Message, error) {
	c, err := caller(ctx, parley.ScopeMessagesWrite)
	if err != nil {
		return nil, err
	}
	if err := parley.ValidateText(text); err != nil {
		return nil, err
	}
	text = parley.NormalizeText(text, parley.MaxTextLen)
	var msg *parley.Message
	var recipients []string
	var edited, hooked bool
	// refused is a refusal answered after its write commits, for the
	// entry it logs.
	var refused error
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		msg, recipients, edited, hooked, refused = nil, nil, false, false, nil
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return missing(c, err, errNoMessageToEdit)
		}
		// Its sender's place held, an edit commits before their leaving or
		// removal, or finds them gone.
		from, err := visibleFrom(ctx, tx, c, m.ThreadID)
		if err != nil {
			return missing(c, err, errNoMessageToEdit)
		} else if m.Seq < from {
			return noMessage(c, errNoMessageToEdit)
		}
		th, _, err := heldThread(ctx, tx, m.ThreadID, c.User.ID)
		if err != nil {
			return missing(c, err, errNoMessageToEdit)
		}
		if c.App != nil && !ownsText(c, m) {
			return errNoMessageToEdit
		}
		switch {
		case m.Sender.ID != c.User.ID:
			return parley.Errorf(parley.EFORBIDDEN, "only the sender can edit a message")
		case m.DeletedAt != nil && c.App != nil:
			refused = errEditDeleted
			return s.logAnswered(ctx, tx, c, m)
		case m.DeletedAt != nil:
			return errEditDeleted
		case m.Kind != parley.MessageKindText:
			return parley.Errorf(parley.ECONFLICT, "a share card cannot be edited")
		case th.Blocked:
			return errBlockedThread
		}
		msg = m
		if m.Text == text {
			// Nothing changes; an app is answered with the message as it
			// now is, which is a read of it.
			if c.App != nil {
				return s.logAnswered(ctx, tx, c, m)
			}
			return nil
		}
		if err := tx.EditMessage(ctx, m.ID, text, s.Now(), c.App != nil); err != nil {
			return err
		}
		// As the edit left it, its change numbered (parley.Message.Change).
		if m, err = tx.FindMessageByID(ctx, m.ID); err != nil {
			return err
		}
		msg, edited = m, true
		if recipients, err = tx.FindParticipantIDs(ctx, m.ThreadID); err != nil {
			return err
		}
		if hooked, err = s.enqueueMessageWebhooks(ctx, tx, parley.WebhookMessageEdited, m); err != nil {
			return err
		}
		return s.logAccessAs(ctx, tx, c, parley.ActionMessageEdited, access{parley.ScopeMessagesWrite, m.ThreadID, recipients, []*parley.Message{m}})
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return nil, err
	}
	if hooked {
		s.WakeWebhooks()
	}
	if edited {
		s.publishMessage(ctx, parley.EventMessageEdited, recipients, msg)
	}
	return msg, s.forCaller(ctx, c, msg)
}

// tombstone turns a message into a tombstone, its thread's next change,
// and tells every app whose grant reached it, whoever deleted it; it
// reports whether a webhook delivery was queued. Once the write commits,
// publishDeleted tells the thread's participants.
func (s *Service) tombstone(ctx context.Context, tx parley.Tx, m *parley.Message) (hooked bool, err error) {
	if err := tx.DeleteMessage(ctx, m.ID, s.Now()); err != nil {
		return false, err
	}
	return s.enqueueMessageWebhooks(ctx, tx, parley.WebhookMessageDeleted, m)
}

// deletedMessage is a message a write turned into a tombstone, with who
// is in its thread, to be told once the write commits (tellDeleted).
type deletedMessage struct {
	m          *parley.Message
	recipients []string
	// hooked is set when a webhook delivery was queued.
	hooked bool
}

// deleteForEveryone turns a message into a tombstone (tombstone), and
// reads who is in its thread.
func (s *Service) deleteForEveryone(ctx context.Context, tx parley.Tx, m *parley.Message) (*deletedMessage, error) {
	hooked, err := s.tombstone(ctx, tx, m)
	if err != nil {
		return nil, err
	}
	recipients, err := tx.FindParticipantIDs(ctx, m.ThreadID)
	if err != nil {
		return nil, err
	}
	return &deletedMessage{m: m, recipients: recipients, hooked: hooked}, nil
}

// tellDeleted tells, once its write committed, of a message it deleted:
// the apps its webhooks reach, and everyone in its thread. It does nothing
// for nil.
func (s *Service) tellDeleted(ctx context.Context, d *deletedMessage) {
	if d == nil {
		return
	}
	if d.hooked {
		s.WakeWebhooks()
	}
	s.publishDeleted(ctx, d.recipients, d.m)
}

// publishDeleted tells the recipients that the message was deleted.
func (s *Service) publishDeleted(ctx context.Context, recipients []string, m *parley.Message) {
	ev := parley.NewEvent(parley.EventMessageDeleted, m.ThreadID, parley.MessageDeleted{ID: m.ID, ThreadID: m.ThreadID, Seq: m.Seq})
	ev.Seq, ev.MessageID, ev.Readers = m.Seq, m.ID, recipients
	s.publish(ctx, recipients, ev)
}

// MarkRead moves the caller's read marker in a thread forward to seq.
func (s *Service) MarkRead(ctx context.Context, threadID string, seq int64) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	var recipients []string
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		recipients = nil
		th, _, err := heldThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		if seq < 0 || seq > th.LastSeq {
			return parley.Errorf(parley.EINVALID, "seq must be 0 to %d, the thread's last message", th.LastSeq)
		}
		moved, err := tx.SetReadSeq(ctx, threadID, c.User.ID, seq)
		if err != nil || !moved {
			return err
		}
		if th.Blocked {
			// A blocked conversation carries no live signal between the
			// two, as it carries no typing: only the member's own
			// clients hear of their reading.
			recipients = []string{c.User.ID}
			return nil
		}
		recipients, err = tx.FindParticipantIDs(ctx, threadID)
		return err
	})
	if err != nil {
		return err
	}
	if recipients != nil {
		ev := parley.NewEvent(parley.EventReadUpdated, threadID, parley.ReadUpdated{ThreadID: threadID, UserID: c.User.ID, Seq: seq})
		ev.Readers = recipients
		s.publish(ctx, recipients, ev)
	}
	return nil
}

// ReadMarkers returns how far each current participant of one of the
// caller's threads has read, in the order they joined, read at once
// whatever their number. It is for the member's own clients: apps cannot
// ask.
func (s *Service) ReadMarkers(ctx context.Context, threadID string) (markers []parley.ReadMarker, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		th, _, err := memberThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		markers, err = tx.FindReadMarkers(ctx, threadID)
		if err != nil {
			return err
		}
		// In a blocked conversation neither learns how far the other read
		// (MarkRead).
		if th.Blocked {
			markers = slices.DeleteFunc(markers, func(m parley.ReadMarker) bool { return m.User.ID != c.User.ID })
		}
		return nil
	})
	return markers, err
}
