package parley

import (
	"context"
	"time"
)

// Store keeps Parley's data. Every method of Tx runs inside the transaction
// it belongs to; transactions are passed explicitly, never through a context.
//
// Errors: a missing row is an *Error with ENOTFOUND, a unique violation one
// with ECONFLICT; anything else is an internal error.
//
// A request whose caller carries a pending CallerCheck (a caller a node
// took from its cache) has it confirmed by the first Read or Write of the
// request: before any statement of fn takes effect, the store finds that a
// member's session still lasts at the check's time, or that an app's
// token, its grant and its app are still what they were found to be when
// the token was looked up (CallerCheck.Grant). If not, the
// Read or Write fails with ErrInvalidToken (the session) or
// ErrAccessChanged (the app's token) and none of fn's statements takes
// effect (a store may not call fn, or fail each of its statements with
// that error). A store may send the confirmation together with fn's first
// statement.
type Store interface {
	// Read runs fn with read-only access. Each query sees every write
	// committed before it; fn's queries need not share one snapshot.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction. Write returns nil only
	// once fn's changes are committed and durable, and visible to every
	// later Read on any server of the store; when fn fails none of its
	// changes are kept and its error is returned. Writes are serializable
	// where it matters: a row fn changes (a thread's next seq, a member's
	// access log) or reads to change (an authorization request, a grant, a
	// throttle) is not changed by another write between fn's read and its
	// commit. fn may run more than once before Write returns, so it must
	// assign, not accumulate, what it hands out of the transaction. Once
	// fn has started, cancelling ctx does not interrupt it.
	Write(ctx context.Context, fn func(Tx) error) error
	// WriteOne runs fn as Write does, where fn calls PostParticipantMessage
	// and no other method of Tx: a store may then commit that one
	// statement together with those of concurrent WriteOne writes, each
	// kept or failed on its own (on PostgreSQL, one transaction and one
	// round trip for many sends).
	WriteOne(ctx context.Context, fn func(Tx) error) error
	// WriteLazily runs fn as Write does, except that it may return before
	// fn's changes are durable: they survive a crash of the server, though
	// not necessarily of the machine until the next Write returns. It is
	// for changes whose loss costs only work done again, such as a queue's
	// leases and the records of attempts.
	WriteLazily(ctx context.Context, fn func(Tx) error) error
	// LogReads appends the records of an app's reads to the access log,
	// chained in the order given after every entry already appended for
	// the same members. When it returns, the records survive a crash of
	// the server, though not necessarily of the machine until the next
	// Write; every later Read of the access log, and every later Write,
	// finds them there. A read must be logged before its data is
	// returned, so LogReads is cheaper than a Write. A record whose Key
	// the store keeps from a record appended before it, by this process or
	// any other, is dropped (AccessRecord.Key), as is one that names no
	// member, being in no one's log. LogReads need not confirm
	// a pending CallerCheck: a request logs what it read, after the Read
	// that confirmed it.
	LogReads(ctx context.Context, records []AccessRecord) error
	Close() error
}

// Tx is one transaction's view of the store, made of one part per kind of
// thing kept. What a Tx changes is kept only if its Write succeeds; a Tx
// given to Read may only find.
//
// Common to every part: a Find of one thing returns ENOTFOUND when there is
// none, and a list is empty, never an error, when nothing matches. An
// Update or Delete of one named thing returns ENOTFOUND when it is absent,
// unless its doc says otherwise. Times are stored to the microsecond.
type Tx interface {
	UserStore
	SessionStore
	FriendStore
	BlockStore
	ThreadStore
	ParticipantStore
	MessageStore
	AppStore
	GrantStore
	OAuthStore
	AccessLogStore
	RealtimeStore
	ThrottleStore
	RateLimitStore
	KeyStore
	ShareStore
	ClientTokenStore
	WebhookStore
	OperatorStore
	FlagStore
}

// UserStore keeps members' accounts.
type UserStore interface {
	// CreateUser stores a new member with their password's hash;
	// ECONFLICT when the username is taken.
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	FindUserByID(ctx context.Context, id string) (*User, error)
	// FindUserForUpdate is FindUserByID that, in a write, holds the
	// member's row until the write ends: of two writes about one account
	// at once, on one server or several, such as a sign-in and the
	// account's disabling, the later waits for the earlier and sees what
	// it did.
	FindUserForUpdate(ctx context.Context, id string) (*User, error)
	// FindUserByUsername looks up a normalized username.
	FindUserByUsername(ctx context.Context, username string) (*User, error)
	// FindPasswordHash returns the hash CreateUser stored for the member.
	FindPasswordHash(ctx context.Context, userID string) (string, error)
	// FindUsers returns every member ordered by username.
	FindUsers(ctx context.Context) ([]*User, error)
	// SetOperator makes the member an operator or an ordinary member.
	SetOperator(ctx context.Context, userID string, operator bool) error
	// SetDisabled disables the member's account, or enables it again.
	SetDisabled(ctx context.Context, userID string, disabled bool) error
	// SetPasswordHash replaces the hash of the member's password.
	SetPasswordHash(ctx context.Context, userID, passwordHash string) error
	// SetDisplayName replaces the member's display name; ENOTFOUND when
	// their account is deleted.
	SetDisplayName(ctx context.Context, userID, displayName string) error
	// EraseUser deletes the member's account at t: it forgets their
	// display name (DeletedDisplayName from then on), password hash and
	// operator flag, their friendships, friend requests and blocks either
	// way, and the idempotency keys of the threads they started and of the
	// messages they sent. Their ID and username stay: no one else may take the name, and
	// what names the member (messages, access logs) stays intact. From
	// then on the member is Deleted and Disabled. ENOTFOUND when the
	// member is absent or deleted already.
	EraseUser(ctx context.Context, userID string, t time.Time) error
}

// OperatorStore keeps the record of operators' decisions.
type OperatorStore interface {
	// CreateOperatorAction records a decision.
	CreateOperatorAction(ctx context.Context, a *OperatorAction) error
	// FindOperatorActions returns up to limit decisions, the latest first.
	FindOperatorActions(ctx context.Context, limit int) ([]*OperatorAction, error)
	// FindOperatorActionsAbout returns every decision whose subject is
	// subject (a member's ID, an app's client ID), the oldest first.
	FindOperatorActionsAbout(ctx context.Context, subject string) ([]*OperatorAction, error)
}

// SessionStore keeps members' sign-ins, by their token's hash.
type SessionStore interface {
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session with the token hash, expired or not,
	// and its member.
	FindSession(ctx context.Context, tokenHash []byte) (*Session, *User, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteSessionsExpiredBefore deletes every session, of any member,
	// that expired before t.
	DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) error
	// FindUserSessions returns the member's sessions, expired or not, the
	// newest first.
	FindUserSessions(ctx context.Context, userID string) ([]*Session, error)
	// DeleteUserSessions ends the member's sessions live at liveAt, those
	// that expire after it (at the zero time: every one, expired or not),
	// but the one with the token hash keep (nil: every one), and returns
	// the token hashes of those it ended. Those that expired stay listed,
	// for operators, until DeleteSessionsExpiredBefore.
	DeleteUserSessions(ctx context.Context, userID string, keep []byte, liveAt time.Time) ([][]byte, error)
	// DeleteSessionsBeyond ends the member's sessions live at liveAt but
	// the newest keep of them, and returns the token hashes of those it
	// ended.
	DeleteSessionsBeyond(ctx context.Context, userID string, keep int, liveAt time.Time) ([][]byte, error)
	// FindLastingSessions returns which of the sessions with the token
	// hashes last past t: those that exist and expire after it, in no
	// particular order. It takes any number of hashes at once, and those
	// of sessions that never existed are simply not returned.
	FindLastingSessions(ctx context.Context, tokenHashes [][]byte, t time.Time) ([][]byte, error)
}

// FriendStore keeps friendships, pending and accepted, each from the
// member who asked to the one asked.
type FriendStore interface {
	// FindFriendship returns the friendship between a and b in either direction.
	FindFriendship(ctx context.Context, a, b string) (*Friendship, error)
	// CreateFriendship stores a request; ECONFLICT when the requester
	// already asked the addressee, ENOTFOUND when either account is
	// deleted, also by a transaction that commits while this one runs.
	CreateFriendship(ctx context.Context, f *Friendship) error
	// AcceptFriendship makes the pending request from requesterID to
	// addresseeID a friendship; ENOTFOUND when there is none, as when it
	// was declined since it was read.
	AcceptFriendship(ctx context.Context, requesterID, addresseeID string) error
	// DeclineFriendship marks the pending request from requesterID to
	// addresseeID declined at at; ENOTFOUND when there is none.
	DeclineFriendship(ctx context.Context, requesterID, addresseeID string, at time.Time) error
	// DeleteFriendship removes the friendship between a and b in either direction.
	DeleteFriendship(ctx context.Context, a, b string) error
	// FindFriends returns every accepted friend of the member's, ordered
	// by username: for the member's export, which holds all they have.
	// Lists read FindFriendPage a page at a time.
	FindFriends(ctx context.Context, userID string) ([]Friend, error)
	// FindFriendPage returns at most f.Limit of f.UserID's accepted
	// friends, newest first (the latest Since, then the greatest friend's
	// ID), after f.Before if set: a friend made or lost between two pages
	// moves no other friend from one page to another.
	FindFriendPage(ctx context.Context, f FriendFilter) ([]Friend, error)
	// FindContactIDs returns the IDs of the members who now take part in a
	// thread with the member or are their friends, each once, in no
	// order, without the member: those who see the member's name.
	FindContactIDs(ctx context.Context, userID string) ([]string, error)
	// CountSentFriendRequests returns how many requests the member sent
	// are pending: neither accepted, declined nor withdrawn.
	CountSentFriendRequests(ctx context.Context, userID string) (int, error)
	// FindFriendRequests returns every pending request of the member's,
	// those they sent and those they received, whose number others
	// choose: for the member's export, which holds all they have. Lists
	// read FindReceivedFriendRequests a page at a time.
	FindFriendRequests(ctx context.Context, userID string) (*FriendRequests, error)
	// FindReceivedFriendRequests returns at most f.Limit of the pending
	// requests f.AddresseeID received, newest first (the latest Since,
	// then the greatest asker's ID), after f.Before if set.
	FindReceivedFriendRequests(ctx context.Context, f FriendRequestFilter) ([]Friend, error)
	// FindSentFriendRequests returns the member's pending requests they
	// sent, ordered by the username of the member asked.
	FindSentFriendRequests(ctx context.Context, userID string) ([]Friend, error)
	// FindDeclinedFriendRequests returns the declined requests the member
	// is part of: Incoming those they declined, Outgoing theirs that were
	// declined, each Since it was declined.
	FindDeclinedFriendRequests(ctx context.Context, userID string) (*FriendRequests, error)
}

// BlockStore keeps the members each member blocked.
type BlockStore interface {
	// CreateBlock records that blockerID blocks blockedID from at on;
	// ECONFLICT when they already do, ENOTFOUND when either account is
	// deleted, also by a transaction that commits while this one runs.
	CreateBlock(ctx context.Context, blockerID, blockedID string, at time.Time) error
	// DeleteBlock lifts blockerID's block of blockedID.
	DeleteBlock(ctx context.Context, blockerID, blockedID string) error
	// FindBlocksBetween reports whether a blocks b and whether b blocks a.
	FindBlocksBetween(ctx context.Context, a, b string) (aBlocksB, bBlocksA bool, err error)
	// FindBlock returns blockerID's block of blockedID; ENOTFOUND when
	// there is none.
	FindBlock(ctx context.Context, blockerID, blockedID string) (*BlockedMember, error)
	// FindBlockedMembers returns every member blockerID blocks, ordered by
	// username: for the member's export, which holds all they have. Lists
	// read FindBlockPage a page at a time.
	FindBlockedMembers(ctx context.Context, blockerID string) ([]BlockedMember, error)
	// FindBlockPage returns at most f.Limit of the members f.BlockerID
	// blocks, newest block first (the latest Since, then the greatest
	// blocked member's ID), after f.Before if set.
	FindBlockPage(ctx context.Context, f BlockFilter) ([]BlockedMember, error)
	// FindBlockedIn returns the IDs of the members blockerID blocks who
	// now take part in any of the threads named, each once, in no order:
	// in one query, whatever the number of blocks.
	FindBlockedIn(ctx context.Context, blockerID string, threadIDs []string) ([]string, error)
}

// ThreadStore keeps threads, their numbering of messages, and who closed
// them to apps.
type ThreadStore interface {
	// CreateThread stores a thread; ECONFLICT when its direct key exists.
	CreateThread(ctx context.Context, t *Thread) error
	// FindThreadByID returns the thread. In a write, the thread is the
	// write's until it ends: a concurrent write that finds the same thread
	// waits, so what one write counted of it (its members, say) still
	// holds when it changes it.
	FindThreadByID(ctx context.Context, id string) (*Thread, error)
	// CreateThreadKey records the member's idempotency key and how its
	// request was answered; ECONFLICT when the member used the key
	// already.
	CreateThreadKey(ctx context.Context, k *ThreadKey) error
	// FindThreadKey returns the member's idempotency key of a request to
	// start a thread; ENOTFOUND when the member has not used it.
	FindThreadKey(ctx context.Context, userID, key string) (*ThreadKey, error)
	// FindThreadByDirectKey returns the direct thread of the two members
	// the key names, held as FindThreadByID holds it.
	FindThreadByDirectKey(ctx context.Context, key string) (*Thread, error)
	// FindThreads returns the member's current threads, newest activity
	// first, each with the member's read marker, where they joined it and
	// its unread count (ThreadSummary.CountUnread), which leaves out the
	// messages deleted after UnreadAfter (DeletedUnread), and, for a
	// filter's GrantID, after the message before VisibleFromSeq.
	FindThreads(ctx context.Context, f ThreadFilter) ([]*ThreadSummary, error)
	// CountDeletedAfter returns how many of the thread's messages after
	// message seq are deleted (ThreadSummary.DeletedUnread).
	CountDeletedAfter(ctx context.Context, threadID string, seq int64) (int64, error)
	// TouchThread records activity at t. Recording activity, here and in
	// RenameThread and PostMessage, never moves a thread's last activity
	// back: of two writes at once, the one with the earlier time may
	// commit last.
	TouchThread(ctx context.Context, threadID string, t time.Time) error
	// RenameThread sets the thread's title and records activity at t. It
	// counts one change of the thread (Thread.Version), as SetThreadBlocked,
	// JoinThread and LeaveThread each do.
	RenameThread(ctx context.Context, threadID, title string, t time.Time) error
	// SetThreadBlocked sets whether the thread takes no message from its
	// participants (Thread.Blocked).
	SetThreadBlocked(ctx context.Context, threadID string, blocked bool) error
	// CloseThreadToApps records that the member closes the thread to apps;
	// it reports false when they already had.
	CloseThreadToApps(ctx context.Context, threadID, userID string, t time.Time) (bool, error)
	// ReopenThreadToApps withdraws the member's closing; it reports false
	// when there was none. When it was the thread's last, apps see the
	// thread from its next message on (ThreadReach.AppsFromSeq).
	ReopenThreadToApps(ctx context.Context, threadID, userID string) (bool, error)
	// FindThreadClosers returns who keeps the thread closed to apps, in the
	// order they closed it.
	FindThreadClosers(ctx context.Context, threadID string) ([]UserRef, error)
	// FindThreadsClosedBy returns the threads the member keeps closed to
	// apps, each with when they closed it.
	FindThreadsClosedBy(ctx context.Context, userID string) (map[string]time.Time, error)
	// AddThreadNotice stores a notice in a thread's timeline.
	AddThreadNotice(ctx context.Context, n *ThreadNotice) error
	// FindThreadNotices returns a thread's latest limit notices, oldest
	// first, with the names of their members and apps as they are now.
	FindThreadNotices(ctx context.Context, threadID string, limit int) ([]ThreadNotice, error)
	// AddTimelineNote stores a note in a group's timeline. A NoteRenamed
	// that would come right after the same member's NoteRenamed, after the
	// same message with no other note between, is one with it instead:
	// that note keeps its ID (n takes it) and place, and takes n's title
	// and time. So a run of renamings is one note, and the group's last
	// name.
	AddTimelineNote(ctx context.Context, n *TimelineNote) error
	// FindTimelineNotes returns the latest limit notes of a thread the
	// member userID is in that sit after messages from to to (both
	// included), in the order they were made, with the names of their
	// members as they are now; none when the member is not in the thread.
	FindTimelineNotes(ctx context.Context, userID, threadID string, from, to int64, limit int) ([]TimelineNote, error)
}

// ParticipantStore keeps who takes part in which thread, and how far each
// has read.
type ParticipantStore interface {
	// FindParticipant returns the member's row in the thread, also after
	// they left.
	FindParticipant(ctx context.Context, threadID, userID string) (*Participant, error)
	// FindParticipantForUpdate is FindParticipant that, in a write, holds
	// the member's row until the write ends, as LeaveThread holds it; a
	// write that holds it before the thread's row takes the two in the
	// order a post takes them, which holds its sender's row first.
	FindParticipantForUpdate(ctx context.Context, threadID, userID string) (*Participant, error)
	// FindParticipants returns the thread's current participants by join time.
	FindParticipants(ctx context.Context, threadID string) ([]UserRef, error)
	// FindReadMarkers returns how far each of the thread's current
	// participants has read, in the order of FindParticipants, in one
	// query whatever their number.
	FindReadMarkers(ctx context.Context, threadID string) ([]ReadMarker, error)
	// FindParticipantsOf returns the current participants, by join time,
	// of each of the threads the member named by userID is currently in,
	// in one query; threads the member is not in are left out.
	FindParticipantsOf(ctx context.Context, userID string, threadIDs []string) (map[string][]UserRef, error)
	// FindParticipantRefsOf is FindParticipantsOf with when each
	// participant joined.
	FindParticipantRefsOf(ctx context.Context, userID string, threadIDs []string) (map[string][]ParticipantRef, error)
	// FindLeftThreads returns the threads the member left and is not in
	// again, in the order they left them, each with its title as it was
	// when they left (LeftThread).
	FindLeftThreads(ctx context.Context, userID string) ([]LeftThread, error)
	// FindParticipantIDs returns the IDs of the thread's current
	// participants, in order.
	FindParticipantIDs(ctx context.Context, threadID string) ([]string, error)
	// JoinThread adds the member to the thread, or brings back one who left;
	// ENOTFOUND for an account that is deleted, also by a transaction that
	// commits while this one runs. A member added records p's JoinedAt,
	// JoinedSeq and LastReadSeq; one brought back, p's JoinedAt and
	// JoinedSeq, and keeps the read marker they had: what they read before
	// they left, and no more.
	JoinThread(ctx context.Context, p *Participant) error
	// LeaveThread records that the member left at t; ENOTFOUND when they
	// are not in the thread. Each of JoinThread and LeaveThread counts one
	// change of the thread (Thread.Version).
	LeaveThread(ctx context.Context, threadID, userID string, t time.Time) error
	// SetReadSeq moves the member's read marker forward to seq; it never
	// moves back. It reports whether the marker moved.
	SetReadSeq(ctx context.Context, threadID, userID string, seq int64) (bool, error)
	// SetThreadMuted records whether the member muted the thread
	// (Participant.Muted); ENOTFOUND when they are not in it. A member
	// brought back after leaving comes back unmuted.
	SetThreadMuted(ctx context.Context, threadID, userID string, muted bool) error
}

// MessageStore keeps messages, and deleted messages as tombstones.
type MessageStore interface {
	// PostMessage stores m as its thread's next message: it takes the
	// thread's next message number into m.Seq and its next change number
	// into m.Change, records activity at m.CreatedAt, and moves the
	// sender's read marker up to m.Seq (as SetReadSeq); when an app wrote
	// m for its sender (m.Via), only if the marker was at the message
	// before, so that an app's post marks nothing read the member had not
	// read. (On PostgreSQL, an app's post committed while another post
	// into the thread commits may leave the marker where it was: an
	// unread message too many, never one too few.) Both numbers are
	// dense per thread: each transaction that commits took the one after
	// the last committed, however many write the thread at once. ECONFLICT
	// when the sender used m's (non-empty) idempotency key before;
	// ENOTFOUND when the thread does not exist. When the thread's last
	// activity is later than m.CreatedAt, as when another post took the
	// number before with a later time, m is stored at that time, into
	// m.CreatedAt: a thread's messages' times rise with their numbers.
	PostMessage(ctx context.Context, m *Message) error
	// PostParticipantMessage returns the IDs of the thread's current
	// participants, as FindParticipantIDs, and posts m, as PostMessage,
	// when its sender is one of them and the thread is not Blocked
	// (posted); otherwise it stores nothing. It is a send's whole write,
	// in one call. The sender's place in the thread holds until the post's
	// transaction ends: a transaction that takes them out of it
	// (LeaveThread) at the same time either comes after the post, and
	// finds the message, or before it, and the post finds them gone.
	PostParticipantMessage(ctx context.Context, m *Message) (participants []string, posted bool, err error)
	FindMessageByID(ctx context.Context, id string) (*Message, error)
	// FindSentMessages returns up to limit of the messages the member
	// sent, in every thread, tombstones too, thread by thread in the order
	// the threads were made and each thread's in the order they were
	// sent: those after the message afterID, from the first for an empty
	// afterID. Paging through them so lists every message the member had
	// sent when the paging began exactly once.
	FindSentMessages(ctx context.Context, senderID, afterID string, limit int) ([]*Message, error)
	// SearchMessages returns up to f.Limit of the messages f selects,
	// newest first, each naming its thread. It reads every message of the
	// member's threads that f.Before leaves: no index is kept for it, so a
	// search costs time in the number of those messages, and a send
	// nothing more.
	SearchMessages(ctx context.Context, f SearchFilter) ([]*Message, error)
	// FindMessageByIdempotencyKey returns the message the sender sent with
	// the key, with the key and the request kept with it (RequestHash).
	FindMessageByIdempotencyKey(ctx context.Context, senderID, key string) (*Message, error)
	// FindMessages returns a page of the filter's thread: newest first for
	// Before (or no position), oldest first for After.
	FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// FindNewestMessages returns the newest limit messages of each of the
	// threads, newest first and keyed by thread ID, leaving out those
	// before each thread's FromSeq: the messages of an inbox page, in one
	// query however many threads it holds. A thread without such messages
	// has no key.
	FindNewestMessages(ctx context.Context, threads []ThreadFrom, limit int) (map[string][]*Message, error)
	// FindFirstMessageTimes returns when each of the threads' first
	// message from its FromSeq on, deleted or not, was written, keyed by
	// thread ID, in one query however many threads it is given. A thread
	// without such a message has no key.
	FindFirstMessageTimes(ctx context.Context, threads []ThreadFrom) (map[string]time.Time, error)
	// FindMessageChanges returns a page of the filter's thread's changes,
	// the oldest first: each message whose latest change is numbered after
	// f.After, as it is now, with that change's number.
	FindMessageChanges(ctx context.Context, f ChangeFilter) ([]MessageChange, error)
	// FindReachedMessages is FindMessages for an app's read through grant
	// g (its ID and thread scope): it returns the grant's reach of the
	// thread (as FindThreadReach), the thread's current participants (as
	// FindParticipantIDs) and the page, held to the reach it returns:
	// empty when the thread does not exist for the grant
	// (ThreadReach.From with g's thread scope), otherwise the page of
	// FindMessages with FromSeq the first message the reach allows
	// (f.FromSeq is not used). The page is never wider than the reach
	// returned allows, whatever changes to the grant's threads or the
	// thread's closing commit meanwhile: a store reads the reach and the
	// page as one reading, or reads the page with the first message of
	// the reach it read before.
	//
	// The store takes part in an app's decision here, which is the
	// service's everywhere else, because each statement is a round trip on
	// PostgreSQL, and an app's read was four (reach, page, participants,
	// record) where a member's is one; the service still decides on the
	// reach returned, and hands out nothing it does not allow.
	FindReachedMessages(ctx context.Context, g *Grant, f MessageFilter) (*ReachedThread, []*Message, error)
	// FindReachedMessageChanges is FindMessageChanges for an app's read
	// through grant g, as FindReachedMessages is FindMessages for one.
	FindReachedMessageChanges(ctx context.Context, g *Grant, f ChangeFilter) (*ReachedThread, []MessageChange, error)
	// DeleteMessage turns the message into a tombstone deleted at t, which
	// keeps nothing of what it said, nor what it answered, as its thread's
	// next change (numbered as PostMessage's changes are);
	// ENOTFOUND when the message is absent or already deleted.
	DeleteMessage(ctx context.Context, id string, t time.Time) error
	// EditMessage replaces the text of a text message, edited at t, as
	// its thread's next change (numbered as DeleteMessage's); ENOTFOUND
	// when the message is absent, deleted or not a text message, or, for
	// byApp, when its words are its sender's (Message.EditedByApp). byApp
	// says the edit came through the app the message was written through,
	// not from its sender.
	EditMessage(ctx context.Context, id, text string, t time.Time, byApp bool) error
	// SetReaction gives the message the member's reaction emoji at t,
	// replacing theirs, or takes theirs back when emoji is "", as its
	// thread's next change (numbered as DeleteMessage's), whether or not
	// the member had one; ENOTFOUND when the message is absent or deleted.
	SetReaction(ctx context.Context, id, userID, emoji string, t time.Time) error
	// FindGivenReactions returns up to limit of the reactions the member
	// gave, by thread and seq, after the one after (from the first for
	// nil).
	FindGivenReactions(ctx context.Context, userID string, after *GivenReaction, limit int) ([]*GivenReaction, error)
}

// FlagStore keeps members' reports of messages to the operators.
type FlagStore interface {
	// CreateFlag stores the member's flag of the message f names (its
	// MessageID), with f.Evidence's Kind, Text, ShareURL and ShareTitle,
	// unless their flag of it is open or the message is absent or deleted,
	// and reports whether it did. A flag of theirs an operator resolved is
	// replaced, open again: a member may report anew a message that, after
	// a dismissal, was edited into worse.
	CreateFlag(ctx context.Context, f *Flag, reporterID string) (bool, error)
	// FindFlag returns the member's flag of a message, without evidence;
	// ENOTFOUND when they made none.
	FindFlag(ctx context.Context, reporterID, messageID string) (*Flag, error)
	// FindFlags returns up to limit of the flags the member made, without
	// evidence, oldest first, after the one after (from the first for nil).
	FindFlags(ctx context.Context, reporterID string, after *Flag, limit int) ([]*Flag, error)
	// FindOpenFlags returns up to limit of the flags no operator has
	// resolved, oldest first, each with its Evidence.
	FindOpenFlags(ctx context.Context, limit int) ([]*Flag, error)
	// ResolveFlags resolves the open flags of the message made up to the
	// flag whose ID is throughID (by At, then ID), that one too, as
	// resolution at t, erasing what each kept of the message, and returns
	// how many it resolved: none when throughID is not a flag of the
	// message. A flag made after it stays open.
	ResolveFlags(ctx context.Context, messageID, throughID, resolution string, t time.Time) (int, error)
	// DeleteFlags deletes every flag the member made.
	DeleteFlags(ctx context.Context, reporterID string) error
}

// AppStore keeps partner apps' registrations and their review.
type AppStore interface {
	// CreateApp stores a registration with its secret's hash (nil for a
	// public client).
	CreateApp(ctx context.Context, a *App, secretHash []byte) error
	FindAppByClientID(ctx context.Context, clientID string) (*App, error)
	// FindAppForUpdate is FindAppByClientID that, in a write, holds the
	// app's row until the write ends: of two decisions about one app at
	// once, on one server or several, the later waits for the earlier and
	// decides on what it left.
	FindAppForUpdate(ctx context.Context, clientID string) (*App, error)
	// FindLiveAppByName returns the oldest app, not deleted, whose name a
	// reader would take for name (AppNameKey); ENOTFOUND for none.
	FindLiveAppByName(ctx context.Context, name string) (*App, error)
	// ClaimAppName makes the app's name its own among the apps not
	// deleted: ECONFLICT when another that claimed its name has one of the
	// same AppNameKey, so that of two apps registered under one name at
	// the same moment, only one claims it. An app that claims no name
	// (an operator's) may share another's.
	ClaimAppName(ctx context.Context, clientID string) error
	// CountLiveApps returns how many apps, not deleted, the member owns.
	CountLiveApps(ctx context.Context, ownerID string) (int, error)
	// CountAppsRegisteredSince returns how many apps the member owns,
	// deleted or not, that were registered after since, and when the
	// earliest of them was (the zero time for none).
	CountAppsRegisteredSince(ctx context.Context, ownerID string, since time.Time) (n int, first time.Time, err error)
	// FindApps returns the apps an owner registered, or every app for an
	// empty ownerID, oldest first.
	FindApps(ctx context.Context, ownerID string) ([]*App, error)
	// SetAppRegistrationKey records the key an app's owner registered it
	// with; ECONFLICT when the owner registered another app with the key.
	SetAppRegistrationKey(ctx context.Context, clientID, key string) error
	// FindAppByRegistrationKey returns the app the owner registered with
	// key; ENOTFOUND for none.
	FindAppByRegistrationKey(ctx context.Context, ownerID, key string) (*App, error)
	// UpdateAppReview sets an app's state and whether it may reach all threads.
	UpdateAppReview(ctx context.Context, clientID, state string, allThreads bool) error
	// FindAppSecretHashes returns a confidential client's secret hash and
	// that of the secret a rotation replaced (nil when none did, or its
	// owner ended it); both nil for a public client. Whether the replaced
	// one still works is App.OldSecretUntil's to say.
	FindAppSecretHashes(ctx context.Context, clientID string) (hash, oldHash []byte, err error)
	// UpdateAppRedirectURIs replaces an app's redirect URIs.
	UpdateAppRedirectURIs(ctx context.Context, clientID string, uris []string) error
	// RotateAppSecret makes secretHash a confidential client's secret hash
	// and keeps the one it replaces authenticating until oldUntil, in place
	// of any that an earlier rotation replaced, whose client tokens it
	// forgets. ENOTFOUND for an unknown app or a public client.
	RotateAppSecret(ctx context.Context, clientID string, secretHash []byte, oldUntil time.Time) error
	// EndOldAppSecret stops the secret a rotation replaced from
	// authenticating a confidential client, if one still did, and forgets
	// the client tokens the app got with it. ENOTFOUND for an unknown app
	// or a public client.
	EndOldAppSecret(ctx context.Context, clientID string) error
}

// GrantStore keeps members' grants to apps and the threads they reach. A
// grant is in force at t when it is not revoked and has no expiry or one
// after t.
type GrantStore interface {
	CreateGrant(ctx context.Context, g *Grant) error
	FindGrantByID(ctx context.Context, id string) (*Grant, error)
	// FindCurrentGrant returns the member's unrevoked grant for the app,
	// which may have expired.
	FindCurrentGrant(ctx context.Context, userID, clientID string) (*Grant, error)
	// UpdateGrant stores a grant's scopes, thread scope, expiry and revocation.
	UpdateGrant(ctx context.Context, g *Grant) error
	// FindUserGrants returns every grant the member gave, in force,
	// expired or revoked, oldest first. In a write, it holds them until
	// the write ends, and reads them as a write holding one left them: of
	// two writes ending one grant, the second finds it ended.
	FindUserGrants(ctx context.Context, userID string) ([]*Grant, error)
	// FindActiveGrants returns the member's grants in force at t, oldest first.
	FindActiveGrants(ctx context.Context, userID string, t time.Time) ([]*Grant, error)
	// FindAppGrants returns the app's grants in force at t, oldest first,
	// held in a write as FindUserGrants holds them.
	FindAppGrants(ctx context.Context, clientID string, t time.Time) ([]*Grant, error)
	// FindExpiredGrants returns up to limit grants that expired by t but
	// are not yet marked ended, the earliest expiry first. In a write it
	// skips the grants another write at once holds, and holds those it
	// returns until it ends: of servers ending expired grants at once,
	// each ends others than the rest, without waiting for them.
	FindExpiredGrants(ctx context.Context, t time.Time, limit int) ([]*Grant, error)
	// AddGrantThread brings a thread into a grant; a thread already in it
	// keeps its earlier first message, and one the grant's member took out
	// of it (RemoveGrantThread) stays out: both report false.
	AddGrantThread(ctx context.Context, gt GrantThread) (bool, error)
	// FindGrantThreads returns the threads a grant lists, oldest first,
	// each from the first message the app may see (ThreadReach.From, but
	// whether it is closed to apps now).
	FindGrantThreads(ctx context.Context, grantID string) ([]GrantThread, error)
	// RemoveGrantThread takes a thread out of a grant, for the grant's
	// life: the grant remembers it (ThreadReach.TakenOut), and
	// AddGrantThread brings it back no more. ENOTFOUND when the grant does
	// not list it.
	RemoveGrantThread(ctx context.Context, grantID, threadID string) error
	// FindThreadReach returns what a grant may see of a thread, in one read.
	FindThreadReach(ctx context.Context, grantID, threadID string) (*ThreadReach, error)
	// FindThreadGrants returns the grants in force at t, of the thread's
	// current participants and of active apps, or with suspendedToo of
	// suspended apps as well, that reach the thread, each from the first
	// message its app may see, as FindGrantThreads says.
	FindThreadGrants(ctx context.Context, threadID string, t time.Time, suspendedToo bool) ([]ThreadGrant, error)
	// FindGrantUse counts the calls a grant's app made on its member's data,
	// from the member's access log, logged reads included.
	FindGrantUse(ctx context.Context, g *Grant) (*GrantUse, error)
}

// OAuthStore keeps authorization requests and the tokens issued from them,
// each code and token by its hash.
type OAuthStore interface {
	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	FindAuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	// FindAuthRequestByCode returns the request whose code has the hash.
	FindAuthRequestByCode(ctx context.Context, codeHash []byte) (*AuthRequest, error)
	// UpdateAuthRequest stores the member, grant, sign-in and approval times,
	// code and its use, the scopes, which approval may narrow, and the
	// refusal.
	UpdateAuthRequest(ctx context.Context, r *AuthRequest) error
	// DeleteAuthRequestsBefore removes the requests that have nothing left
	// to protect or tell: those never answered with a code, created before
	// open, and those answered, created before answered, no token of which,
	// unused and unrevoked, lasts past answered (its ID tokens need the
	// request's sign-in time).
	DeleteAuthRequestsBefore(ctx context.Context, answered, open time.Time) error

	CreateToken(ctx context.Context, t *OAuthToken) error
	// DeleteTokensExpiredBefore removes the tokens that expired before t,
	// used, revoked or not.
	DeleteTokensExpiredBefore(ctx context.Context, t time.Time) error
	// FindTokenGrant returns an access or refresh token with its grant,
	// app and member, whatever their state.
	FindTokenGrant(ctx context.Context, hash []byte) (*TokenGrant, error)
	// UseToken marks a refresh token used at t; it reports false when it
	// already was, or was revoked, so that of two uses at once exactly one
	// gets true, and none once it is revoked. Against RevokeTokenFamily
	// at once, on any server, the write that uses it either comes after
	// the revocation, and gets false, or before, and the revocation finds
	// every token the write added.
	UseToken(ctx context.Context, hash []byte, t time.Time) (bool, error)
	// RevokeToken marks the token revoked at t, unless it already was; an
	// unknown hash is no error.
	RevokeToken(ctx context.Context, hash []byte, t time.Time) error
	// RevokeTokenFamily marks every token of the family revoked at t,
	// those already revoked keeping their time; an unknown family is no
	// error.
	RevokeTokenFamily(ctx context.Context, familyID string, t time.Time) error
}

// AccessLogStore keeps each member's hash-chained access log. Its reads
// see every record given to Store.LogReads before them.
type AccessLogStore interface {
	// FindAccessHeads returns the heads of the members' access logs, in the
	// order of userIDs: seq 0 and GenesisHash for a log with no entry yet.
	FindAccessHeads(ctx context.Context, userIDs []string) ([]AccessHead, error)
	// AppendAccess appends the records to the access log, chaining each
	// member's entries onto the last one in their log: each member's log
	// stays one chain, with seq dense, however many append at once. It
	// drops records by their Key as LogReads does.
	AppendAccess(ctx context.Context, records []AccessRecord) error
	// FindAccessEntries returns a page of a member's log, in the filter's
	// order.
	FindAccessEntries(ctx context.Context, f AccessFilter) ([]*AccessEntry, error)
}

// RealtimeStore keeps what realtime streams need beyond the other parts:
// tickets to open one, and word that access may have ended.
type RealtimeStore interface {
	// CreateEventTicket stores a ticket to open a realtime stream, and
	// removes the tickets that expired before now.
	CreateEventTicket(ctx context.Context, t *EventTicket, now time.Time) error
	// TakeEventTicket removes the ticket with the hash and returns it,
	// expired or not; ENOTFOUND when there is none, also when it was taken
	// already, so that a ticket is taken at most once.
	TakeEventTicket(ctx context.Context, hash []byte) (*EventTicket, error)
	// FindAccessVersion returns a number that grows whenever access may have
	// ended or narrowed, whichever process made the change: a grant ended,
	// its scopes or thread scope changed or a thread taken out of it, an
	// app's state changed, a token was revoked or a thread closed to apps.
	FindAccessVersion(ctx context.Context) (int64, error)
	// AddOutboxEvent keeps an event, as the bus encodes it, for the
	// servers of the store to relay: a command publishes so, and a server
	// an event it could not publish through NATS.
	AddOutboxEvent(ctx context.Context, data []byte) error
	// FindOutboxEventIDs returns the IDs of the events kept, in the
	// order they were added.
	FindOutboxEventIDs(ctx context.Context) ([]int64, error)
	// FindOutboxEvents returns the events of the IDs that are still kept,
	// in the order they were added.
	FindOutboxEvents(ctx context.Context, ids []int64) ([]OutboxEvent, error)
	// DeleteOutboxEvents removes the events of the IDs, those of them that
	// are still kept.
	DeleteOutboxEvents(ctx context.Context, ids []int64) error
}

// OutboxEvent is an event kept for the servers to relay.
type OutboxEvent struct {
	ID   int64
	Data []byte
}

// ThrottleStore keeps failures counted under a key, such as a sign-in's
// username or a client address.
type ThrottleStore interface {
	// FindThrottle returns the failures recorded under a key.
	FindThrottle(ctx context.Context, key string) (*Throttle, error)
	// AddThrottle stores the failures of a key FindThrottle did not find;
	// ECONFLICT when the key has failures after all, recorded at once by
	// another write, which the write that runs again finds.
	AddThrottle(ctx context.Context, t *Throttle) error
	// PutThrottle stores a key's failures, replacing what it had.
	PutThrottle(ctx context.Context, t *Throttle) error
	// DeleteThrottle forgets a key's failures; a key with none is no error.
	DeleteThrottle(ctx context.Context, key string) error
	// DeleteThrottlesBefore forgets every key whose last failure was before t.
	DeleteThrottlesBefore(ctx context.Context, t time.Time) error
}

// RateLimitStore keeps what every server of a store used of each rate
// limit's keys, as each key's theoretical arrival time (RateUse).
type RateLimitStore interface {
	// AddRateUses adds each use's cost to its key's theoretical arrival
	// time, taken as now where it is earlier or the key is new, and returns
	// the keys' times after the additions, in the order of uses: what
	// every server added so far. Keys are distinct.
	AddRateUses(ctx context.Context, uses []RateUse, now time.Time) ([]time.Time, error)
	// DeleteRateUsesBefore forgets every key whose theoretical arrival
	// time is before t: its allowance is whole.
	DeleteRateUsesBefore(ctx context.Context, t time.Time) error
}

// KeyStore keeps the server's own keys, such as its token encryption key.
type KeyStore interface {
	// FindServerKey returns the key stored under name.
	FindServerKey(ctx context.Context, name string) ([]byte, error)
	// FindServerKeyNames returns the names keys are stored under, in order.
	FindServerKeyNames(ctx context.Context) ([]string, error)
	// CreateServerKey stores a key under name; ECONFLICT if one exists:
	// of servers creating one at once, only the first succeeds.
	CreateServerKey(ctx context.Context, name string, key []byte) error
	// ReplaceServerKey stores key under name in place of old; ECONFLICT
	// when the key stored is no longer old (another server replaced it),
	// ENOTFOUND when there is none: of servers replacing one at once, only
	// the first succeeds.
	ReplaceServerKey(ctx context.Context, name string, old, key []byte) error
	// DeleteServerKey forgets the key stored under name, if there is one.
	DeleteServerKey(ctx context.Context, name string) error
}

// ShareStore keeps share cards' tracked links, one for each member of the
// thread a card went into, and each link's first click.
type ShareStore interface {
	// CreateShareLinks stores links; ECONFLICT when a token hash is taken
	// or a member has a link to the message already.
	CreateShareLinks(ctx context.Context, links []ShareLink) error
	// FindShareTarget returns the link with the token hash, with its
	// card's thread and URL, the URL empty once the card was deleted.
	FindShareTarget(ctx context.Context, tokenHash []byte) (*ShareTarget, error)
	// ClickShareLink records the link's first click, at t; it reports false
	// when the link was clicked before, so that of two first clicks at once
	// exactly one counts, or when its member deleted their account, whose
	// links count no click.
	ClickShareLink(ctx context.Context, tokenHash []byte, t time.Time) (bool, error)
	// FindShareLinks returns the links of the app's cards sent from from
	// until before to, those of their senders left out, by time sent.
	FindShareLinks(ctx context.Context, clientID string, from, to time.Time) ([]ShareLink, error)
	// FindReceivedShareLinks returns the links made for the member, in the
	// order of their cards' messages, after the message afterID ("" from
	// the first), at most limit.
	FindReceivedShareLinks(ctx context.Context, userID, afterID string, limit int) ([]ShareLink, error)
	// FindShareReportsDue returns the client IDs of the active apps whose
	// report for the period from start until end is due by webhook: an
	// enabled endpoint of theirs subscribes to report.shares, active by
	// end, and the report was not sent yet (MarkShareReportSent).
	FindShareReportsDue(ctx context.Context, start, end time.Time) ([]string, error)
	// MarkShareReportSent records that the app's report for the period
	// from start was sent, at t; it reports false when it was sent
	// already, so that of writes marking one at once, on one server or
	// several, exactly one succeeds.
	MarkShareReportSent(ctx context.Context, clientID string, start, t time.Time) (bool, error)
}

// ClientTokenStore keeps the access tokens apps hold for themselves, each
// by its hash.
type ClientTokenStore interface {
	// CreateClientToken stores a token and forgets those that expired
	// before it was made.
	CreateClientToken(ctx context.Context, t *ClientToken) error
	// FindClientToken returns the token with the hash, expired or not,
	// and its app.
	FindClientToken(ctx context.Context, hash []byte) (*ClientToken, *App, error)
	// DeleteClientToken forgets a token; an unknown hash is no error.
	DeleteClientToken(ctx context.Context, hash []byte) error
}
