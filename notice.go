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
	// Scopes are the grant's scopes as they are now (NoticeAppAdded only).
	Scopes Scopes
}
