package parley

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Thread kinds.
const (
	ThreadDirect = "direct"
	ThreadGroup  = "group"
)

// Limits on threads.
const (
	MaxTitleLen        = 128
	MaxGroupSize       = 256
	MaxInboxMessages   = 50
	DefaultThreadLimit = 50
	MaxThreadLimit     = 200
	// MaxInboxPageMessages bounds the messages of a page of thread
	// summaries in all (its limit times the messages each includes): a
	// page of MaxThreadLimit threads with MaxInboxMessages each would be
	// 10,000 messages, hundreds of megabytes for the longest, built in
	// one answer.
	MaxInboxPageMessages = 1000
)

// Errors of threads.
var (
	// ErrInboxMessages asks for more messages per thread summary than
	// MaxInboxMessages, or fewer than none.
	ErrInboxMessages = Errorf(EINVALID, "a thread summary can include 0 to %d messages", MaxInboxMessages)
	// ErrInboxPageMessages asks for more than MaxInboxPageMessages
	// messages in a page of thread summaries.
	ErrInboxPageMessages = Errorf(EINVALID, "a page of threads can include at most %d messages in all: ask for fewer threads or fewer messages of each", MaxInboxPageMessages)
)

// Thread is a conversation. Seq numbers its messages densely from 1.
type Thread struct {
	ID             string    `json:"id"`
	Kind           string    `json:"kind"`
	Title          string    `json:"title,omitempty"`
	CreatedBy      string    `json:"created_by,omitempty"`
	CreatedViaApp  string    `json:"created_via_app,omitempty"`
	LastSeq        int64     `json:"last_seq"`
	LastActivityAt time.Time `json:"last_activity_at"`
	CreatedAt      time.Time `json:"created_at"`
	// Blocked marks a direct thread whose one member blocked the other:
	// it takes no message from either until the block is lifted.
	Blocked bool `json:"blocked,omitempty"`
	// Version counts the changes thread.updated tells of (a member added
	// or gone, a new title, a block made or lifted): of two copies of a
	// thread, the one with the higher version is the newer.
	Version int64 `json:"version"`

	// DirectKey makes a direct thread unique per pair of members.
	DirectKey string `json:"-"`
}

// Keeper returns the ID of the member who may take others out of the
// group th, given its current participants by join time (as
// FindParticipants lists them): its starter while they are in it, else
// the member in it longest, so that a group whose starter left it or
// deleted their account still has someone to keep it. A direct thread, or
// a group no one is in, has none: "".
func (th *Thread) Keeper(participants []UserRef) string {
	if th.Kind != ThreadGroup || len(participants) == 0 {
		return ""
	}
	for _, p := range participants {
		if p.ID == th.CreatedBy {
			return p.ID
		}
	}
	return participants[0].ID
}

// DirectKey returns the key that makes the direct thread between two members unique.
func DirectKey(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + ":" + b
}

// ValidateTitle checks a thread title, trimmed: no control, no character
// that shows nothing (hiddenIn), and, when not empty, one that shows
// something (showsInName), so that no title looks empty in others' lists
// (a lone joiner or combining mark would).
func ValidateTitle(s string) error {
	switch {
	case utf8.RuneCountInString(s) > MaxTitleLen || !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) || hiddenIn(s, true):
		return Errorf(EINVALID, "title must be at most %d printable characters", MaxTitleLen)
	case s != "" && !strings.ContainsFunc(s, showsInName):
		return Errorf(EINVALID, "title must hold a letter, digit, symbol or punctuation mark that shows")
	}
	return nil
}

// Participant is a member's place in a thread. A member who left keeps the
// row with LeftAt set and no longer sees the thread.
type Participant struct {
	ThreadID string
	UserID   string
	JoinedAt time.Time
	LeftAt   *time.Time
	// LastReadSeq is the member's read marker: the last message they read,
	// or sent. It is what the others are told of their reading ("seen").
	LastReadSeq int64
	// JoinedSeq is the thread's last seq when the member was added to it,
	// or added back after leaving; 0 for those in it from its start. What
	// came before it is the thread's history to them, never unread; it
	// says nothing of what they read, which LastReadSeq alone says.
	JoinedSeq int64
	// Muted is the member's choice to hear of the thread's new messages
	// without being told of each (ThreadSummary.Muted).
	Muted bool
}

// ParticipantRef is one of a thread's current participants as the others
// in it know them: who they are, and when they joined, which a group's
// note of their adding shows. Their read marker and muting are theirs.
type ParticipantRef struct {
	UserRef
	// JoinedAt is when they joined the thread: when it began, for those in
	// it from its start, or when they were added, or added back after
	// leaving (Participant.JoinedAt).
	JoinedAt time.Time `json:"joined_at"`
	// JoinedSeq is the thread's last seq when they joined: the messages
	// after it came while they were in it; 0 for those in it from its
	// start (Participant.JoinedSeq).
	JoinedSeq int64 `json:"joined_seq"`
}

// ReadMarker is how far one of a thread's participants has read: up to
// the message Seq (Participant.LastReadSeq).
type ReadMarker struct {
	User UserRef `json:"user"`
	Seq  int64   `json:"seq"`
}

// LeftThread is a thread a member left and is not in again, as they knew
// it: its title when they left (a title given since is not theirs to
// learn), when they last joined it and when they left, and how far they
// had read it.
type LeftThread struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	JoinedAt    time.Time `json:"joined_at"`
	LeftAt      time.Time `json:"left_at"`
	LastReadSeq int64     `json:"last_read_seq"`
}

// ThreadSummary is a thread as one member sees it in a list.
type ThreadSummary struct {
	Thread
	// UnreadCount is how many messages follow UnreadAfter, but those
	// deleted (DeletedUnread).
	UnreadCount int64 `json:"unread_count"`
	// LastReadSeq is the member's read marker (Participant.LastReadSeq).
	LastReadSeq int64 `json:"last_read_seq"`
	// JoinedSeq is where the member joined the thread
	// (Participant.JoinedSeq). It is not shown: unread_count counts from it.
	JoinedSeq int64 `json:"-"`
	// Muted says the member muted the thread: their clients count and show
	// its messages, but tell them of none as it comes. It is the member's
	// own, never shown to apps or to the other participants.
	Muted       bool       `json:"muted,omitempty"`
	LastMessage *Message   `json:"last_message"`
	Messages    []*Message `json:"messages,omitempty"`
	// VisibleFromSeq is, for a summary found for an app (a ThreadFilter's
	// GrantID or OpenToApps), the first message of the thread the app may
	// see (ThreadReach.From); 0 otherwise. It is not shown.
	VisibleFromSeq int64 `json:"-"`
	// DeletedUnread is how many of the messages after UnreadAfter are
	// deleted: a message deleted before the member read it is not
	// unread. It is not shown.
	DeletedUnread int64 `json:"-"`
}

// UnreadAfter returns the seq of the last message before the member's
// unread ones: their read marker, or the thread's last message when they
// joined it, whichever is later. A member added to a group has nothing of
// its history to read, though they read none of it.
func (t *ThreadSummary) UnreadAfter() int64 {
	return min(max(t.LastReadSeq, t.JoinedSeq), t.LastSeq)
}

// CountUnread sets UnreadCount to the messages after UnreadAfter, but the
// DeletedUnread of them deleted before the member read them. The
// member's own messages are among them only when others' came after:
// sending one moves their read marker up to it. An app's message for
// them moves the marker only from the message before it, so that what
// was unread stays unread, the app's message with it.
func (t *ThreadSummary) CountUnread() {
	t.UnreadCount = max(t.LastSeq-t.UnreadAfter()-t.DeletedUnread, 0)
}

// ThreadCursor marks a position in a member's threads, newest activity first.
type ThreadCursor struct {
	LastActivityAt time.Time
	ID             string
}

// ThreadFilter selects a member's current threads.
type ThreadFilter struct {
	UserID string
	After  *ThreadCursor // threads strictly after this position
	Limit  int
	// GrantID, when set, keeps only the threads the grant reaches through
	// its grant threads.
	GrantID string
	// OpenToApps keeps only the threads no participant closed to apps, and
	// counts each from the first message apps may see of it
	// (ThreadReach.AppsFromSeq): the list is an app's.
	OpenToApps bool
}

// ThreadPage is one page of a member's threads.
type ThreadPage struct {
	Threads    []*ThreadSummary `json:"threads"`
	NextCursor string           `json:"next_cursor,omitempty"`
}

// ThreadChange is the data of a thread.updated event.
type ThreadChange struct {
	Thread       *Thread   `json:"thread"`
	Participants []UserRef `json:"participants"`
}

// ThreadKey is a member's idempotency key of a request to start a thread,
// and how that request was answered: with the thread it started, or, with
// Existed, with the direct thread it found there already. A retry is
// answered as the request was; another request with the key is refused
// (ErrThreadKeyReused).
type ThreadKey struct {
	UserID   string
	Key      string
	ThreadID string
	// RequestHash is what the key keeps of the request, to tell a retry
	// from another request: its kind, title, other members and the app
	// that sent it, if any.
	RequestHash []byte
	Existed     bool
}

// ErrThreadKeyReused is an idempotency key the member used to start a
// different thread.
var ErrThreadKeyReused = Errorf(ECONFLICT, "this idempotency key was used to start a different conversation")
