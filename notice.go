package parley

import "time"

// Kinds of thread notice.
const (
	// NoticeAppAdded: an app came to reach the thread through a
	// participant's grant.
	NoticeAppAdded = "app.added"
	// NoticeAppsClosed: a participant closed the thread to apps.
	NoticeAppsClosed = "apps.closed"
	// NoticeAppsReopened: a participant withdrew their closing.
	NoticeAppsReopened = "apps.reopened"
)

// ThreadNoticeLimit is how many of a thread's latest notices its page shows.
const ThreadNoticeLimit = 3

// ThreadNotice tells a thread's participants of a change in what apps may
// do in it, kept in the thread's timeline.
type ThreadNotice struct {
	ID       string
	ThreadID string
	Kind     string
	At       time.Time
	// By is the participant whose grant let the app in (NoticeAppAdded),
	// or who closed or reopened the thread.
	By UserRef
	// ClientID, AppName and GrantID name the app and the grant it came in
	// through (NoticeAppAdded only).
	ClientID, AppName, GrantID string
	// Scopes are the grant's scopes when the notice was written
	// (NoticeAppAdded only): what the app could do then.
	Scopes Scopes
}

// NoticedScopes are the scopes of a grant that a conversation's other
// members are told of when its app comes to hold them there: what it may
// do with their words and their company. A grant widened to one of them
// is noticed again in each conversation it reaches.
var NoticedScopes = Scopes{ScopeParticipantsRead, ScopeMessagesRead, ScopeMessagesWrite, ScopeMessagesDelete, ScopeSharesWrite}

// Kinds of timeline note.
const (
	// NoteStarted: a member started the group, with its title if any.
	NoteStarted = "started"
	// NoteAdded: a member added another (Subject).
	NoteAdded = "added"
	// NoteLeft: a member left.
	NoteLeft = "left"
	// NoteRemoved: the member who started the group removed another
	// (Subject).
	NoteRemoved = "removed"
	// NoteRenamed: a member named the group Title; an empty Title took its
	// name away.
	NoteRenamed = "renamed"
)

// TimelineNote is a line of a group's timeline, among its messages, on what
// a member did to the group itself: who started it, added or removed whom,
// left it, renamed it. It sits after message AfterSeq (0: before the
// first).
type TimelineNote struct {
	ID       string    `json:"id"`
	ThreadID string    `json:"-"`
	AfterSeq int64     `json:"after_seq"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	// By is the member who did it.
	By UserRef `json:"by"`
	// Subject is who was added or removed (NoteAdded, NoteRemoved).
	Subject *UserRef `json:"subject,omitempty"`
	// Title is the group's title it was started with or given (NoteStarted,
	// NoteRenamed).
	Title string `json:"title,omitempty"`
}
