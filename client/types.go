package client

import (
	"encoding/json"
	"time"
)

// The types here are what /api/v1 sends and receives, field for field as
// its OpenAPI document (GET /api/v1/openapi.json) describes them. Times are
// RFC 3339 with nanoseconds, in UTC. The server may add fields; these types
// ignore the ones they do not know.

// Friendship states, as FriendStatus.State reports them.
const (
	FriendPending  = "pending"
	FriendAccepted = "accepted"
)

// Thread kinds, as Thread.Kind and NewThread.Kind name them.
const (
	ThreadDirect = "direct"
	ThreadGroup  = "group"
)

// Message kinds, as Message.Kind names them.
const (
	MessageKindText  = "text"
	MessageKindShare = "share"
)

// Event types, as Event.Type names them. Ignore types you do not know.
const (
	// EventMessageCreated carries a Message. It moves its sender's read
	// marker too, with no EventReadUpdated: see ReadUpdated.
	EventMessageCreated = "message.created"
	// EventMessageEdited carries the Message with its new text.
	EventMessageEdited = "message.edited"
	// EventMessageReacted carries the Message with its reactions as they
	// now are (React, TakeBackReaction).
	EventMessageReacted = "message.reacted"
	// EventMessageDeleted carries a MessageDeleted.
	EventMessageDeleted = "message.deleted"
	// EventThreadUpdated carries a ThreadChange; a member who just left a
	// thread receives it too.
	EventThreadUpdated = "thread.updated"
	// EventReadUpdated carries a ReadUpdated.
	EventReadUpdated = "read.updated"
	// EventThreadAppsChanged carries a ThreadAppsChanged: what apps may do
	// in the thread changed (an app came to reach it, or a participant
	// closed it to apps or reopened it). Members only; apps never get it.
	EventThreadAppsChanged = "thread.apps_changed"
	// EventThreadMuted carries a ThreadMuted: the member muted or unmuted
	// the thread, from this client or another, or, added back to a group
	// they had muted, came back unmuted. Only the member's own clients get
	// it; apps never do.
	EventThreadMuted = "thread.muted"
	// EventThreadTyping carries a ThreadTyping: another member is writing
	// in the thread (Client.Typing). It comes again every few seconds
	// while they go on: show it until about 6 seconds after the last, or
	// until their message comes. Apps never get it.
	EventThreadTyping = "thread.typing"
	// EventUserUpdated carries a UserUpdated: a member's display name
	// changed, theirs or that of someone who takes part in a thread with
	// them or is their friend. It has no ThreadID. Apps never get it.
	EventUserUpdated = "user.updated"
)

// ThreadMuted is the data of a thread.muted event.
type ThreadMuted struct {
	ThreadID string `json:"thread_id"`
	Muted    bool   `json:"muted"`
}

// ThreadTyping is the data of a thread.typing event.
type ThreadTyping struct {
	ThreadID string  `json:"thread_id"`
	User     UserRef `json:"user"`
}

// UserUpdated is the data of a user.updated event: the member as they
// now are.
type UserUpdated struct {
	User UserRef `json:"user"`
}

// ThreadAppsChanged is the data of a thread.apps_changed event; the
// thread's apps and notices are read again with GET
// /api/v1/threads/{id}/apps.
type ThreadAppsChanged struct {
	ThreadID string `json:"thread_id"`
}

// OAuth 2.0 scopes an app may ask a member for, as oauth2.Config.Scopes
// lists them and grants report them.
const (
	ScopeOpenID           = "openid"
	ScopeProfile          = "profile"
	ScopeFriendsRead      = "friends.read"
	ScopeThreadsRead      = "threads.read"
	ScopeParticipantsRead = "participants.read"
	ScopeMessagesRead     = "messages.read"
	ScopeMessagesWrite    = "messages.write"
	ScopeMessagesDelete   = "messages.delete"
	ScopeSharesWrite      = "shares.write"
	// ScopeOfflineAccess asks for a refresh token.
	ScopeOfflineAccess = "offline_access"
	// ScopeReportsRead lets an app read its own share reports, with a
	// token of the client-credentials grant
	// (golang.org/x/oauth2/clientcredentials); it reaches nothing else,
	// and no member's grant holds it.
	ScopeReportsRead = "reports.read"
)

// Thread scopes: which of a member's threads a grant reaches.
const (
	// ThreadScopeApp reaches only threads the app started or shared into,
	// and in those only messages from the app's first post on.
	ThreadScopeApp = "app"
	// ThreadScopeSelected reaches the threads the member ticked.
	ThreadScopeSelected = "selected"
	// ThreadScopeAll reaches every thread.
	ThreadScopeAll = "all"
)

// User is a member's account.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
}

// UserRef is how a member appears inside other objects. A deleted
// account's Username is empty and its DisplayName "Deleted account".
type UserRef struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// Session is a signed-in member's token.
type Session struct {
	// Token is the bearer token; the server shows it only once.
	Token string `json:"token"`
	User  *User  `json:"user"`
	// DeviceProof proves that this device signed in as the member: a
	// client that keeps it, as a secret, and signs in with it next time
	// (SignInWithDeviceProof) is not held up by others' failed sign-ins
	// to the username.
	DeviceProof string `json:"device_proof"`
}

// BlockedMember is a member the member blocks, and since when.
type BlockedMember struct {
	User  UserRef   `json:"user"`
	Since time.Time `json:"since"`
}

// BlockPage is a page of the members a member blocks.
type BlockPage struct {
	// Blocked are some of the members the member blocks, newest block
	// first: the latest Since, then the greatest user ID.
	Blocked []BlockedMember `json:"blocked"`
	// NextCursor reads the next page as BlocksQuery.Cursor; empty on the
	// last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// Friend is another member as seen from one side of a friendship or
// request.
type Friend struct {
	User UserRef `json:"user"`
	// Since is when the request was made; of a declined request, when it
	// was declined.
	Since time.Time `json:"since"`
}

// FriendRequests are a member's friend requests in both directions:
// pending ones, or in an export's DeclinedFriendRequests declined ones.
type FriendRequests struct {
	// Incoming are requests others sent to the member.
	Incoming []Friend `json:"incoming"`
	// Outgoing are requests the member sent.
	Outgoing []Friend `json:"outgoing"`
}

// FriendPage is a page of a member's friends.
type FriendPage struct {
	// Friends are some of the member's friends, newest first: the
	// latest Since, then the greatest user ID.
	Friends []Friend `json:"friends"`
	// NextCursor reads the next page as FriendsQuery.Cursor; empty on the
	// last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// FriendRequestPage is a page of a member's pending friend requests:
// some of those they received, newest first, and every one they sent.
type FriendRequestPage struct {
	// Incoming are requests others sent to the member, newest first, one
	// page of them.
	Incoming []Friend `json:"incoming"`
	// Outgoing are every request the member sent (at most 100), ordered
	// by username, the same on every page.
	Outgoing []Friend `json:"outgoing"`
	// NextCursor reads the next page of Incoming as
	// FriendRequestsQuery.Cursor; empty on the last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// FriendStatus is the state of a friendship after a request: FriendPending
// or FriendAccepted.
type FriendStatus struct {
	User  UserRef `json:"user"`
	State string  `json:"state"`
}

// Thread is a conversation. Seq numbers its messages densely from 1.
type Thread struct {
	ID string `json:"id"`
	// Kind is ThreadDirect or ThreadGroup.
	Kind string `json:"kind"`
	// Title is empty when the thread has none; a direct thread never has one.
	Title string `json:"title,omitempty"`
	// CreatedBy is the ID of the member who started the thread; always
	// empty for an app without participants.read.
	CreatedBy string `json:"created_by,omitempty"`
	// CreatedViaApp is the client ID of the app that started the thread, if
	// any. An app sees it only on threads it started itself.
	CreatedViaApp  string    `json:"created_via_app,omitempty"`
	LastSeq        int64     `json:"last_seq"`
	LastActivityAt time.Time `json:"last_activity_at"`
	// CreatedAt is when the thread was started; for an app whose grant
	// reaches it only from a message on, when that message was written
	// (LastActivityAt while there is none yet).
	CreatedAt time.Time `json:"created_at"`
	// Blocked marks a direct thread one of whose two members blocked the
	// other: it takes no new message from either until the block is lifted.
	Blocked bool `json:"blocked,omitempty"`
	// Version counts the changes EventThreadUpdated tells of (a member
	// added or gone, a new title, a block made or lifted): of two copies
	// of a thread, keep the one with the higher Version, since events may
	// come out of order.
	Version int64 `json:"version"`
}

// ThreadSummary is a thread as one member sees it, with the member's unread
// state.
type ThreadSummary struct {
	Thread
	// UnreadCount is how many messages follow the member's read marker,
	// or the thread's last message when they were added to it, whichever
	// is later: what came before a member joined is not unread to them.
	// Messages deleted before the member read them are not counted: one
	// deleted after the marker (a message.deleted with a greater Seq)
	// takes one off.
	UnreadCount int64 `json:"unread_count"`
	// LastReadSeq is the member's read marker.
	LastReadSeq int64 `json:"last_read_seq"`
	// Muted says the member muted the thread: a client tells them of none
	// of its messages as it comes. Always false for an app.
	Muted bool `json:"muted,omitempty"`
	// LastMessage is the newest message the member may see, or nil.
	LastMessage *Message `json:"last_message"`
	// Messages are the thread's newest messages, oldest first, when asked
	// for (ThreadsQuery.Messages).
	Messages []*Message `json:"messages,omitempty"`
}

// SearchPage is a page of a search's results, newest first; each
// message names its thread.
type SearchPage struct {
	Messages []*Message `json:"messages"`
	// NextCursor reads older results as SearchQuery.Cursor; empty on the
	// last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ThreadPage is one page of a member's threads, newest activity first.
type ThreadPage struct {
	Threads []*ThreadSummary `json:"threads"`
	// NextCursor reads the next page as ThreadsQuery.Cursor; empty on the
	// last page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// ThreadChange is the data of a thread.updated event: the thread and its
// current participants (none for an app without participants.read).
type ThreadChange struct {
	Thread       *Thread   `json:"thread"`
	Participants []UserRef `json:"participants"`
}

// Message is one entry of a thread: a text message or a share card. A
// deleted message stays as a tombstone: DeletedAt set, Text empty, Share nil,
// ReplyToSeq 0. An edited one keeps its Seq, with EditedAt set.
type Message struct {
	ID       string  `json:"id"`
	ThreadID string  `json:"thread_id"`
	Seq      int64   `json:"seq"`
	Sender   UserRef `json:"sender"`
	// Kind is MessageKindText or MessageKindShare.
	Kind      string     `json:"kind"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	// Change numbers the message's latest change (its post, an edit, a
	// reaction, its deletion) in its thread: of two copies of a message,
	// from a read, an event or the changes feed, the one with
	// the higher Change is the newer. Events may come out of that order.
	// It numbers what the message holds, not what its people are called:
	// a member's rename changes no message, and the names in a copy are
	// as they were when it was read; take names from the newest read.
	// A copy that leaves reactions out, which an app without
	// messages.read gets of what it wrote, has none (0).
	Change int64 `json:"change,omitzero"`
	// EditedAt is when its text last changed, if ever.
	EditedAt *time.Time `json:"edited_at,omitempty"`
	// ReplyToSeq is the Seq of the earlier message of the thread this one
	// answers, if any (SendReply).
	ReplyToSeq int64 `json:"reply_to_seq,omitempty"`
	// Reactions are the members' reactions, grouped by emoji in the order
	// each was first given; none once it was deleted.
	Reactions []Reaction `json:"reactions,omitempty"`
	// Via names the app the message was written through, if any: to a
	// member always, to an app only when it is the app itself.
	Via *Via `json:"via,omitempty"`
	// Share is the card of a share message; its note is the message's text.
	Share *Share `json:"share,omitempty"`
}

// GivenReaction is a reaction a member gave a message, as their export
// lists it.
type GivenReaction struct {
	MessageID string    `json:"message_id"`
	ThreadID  string    `json:"thread_id"`
	Seq       int64     `json:"seq"`
	Emoji     string    `json:"emoji"`
	At        time.Time `json:"at"`
}

// Why a member reports a message to the operators, as Flag.Reason says.
const (
	FlagSpam  = "spam"  // advertising, scams, the same thing again and again
	FlagAbuse = "abuse" // harassment, threats or hate
	FlagOther = "other" // anything else; the note says what
)

// How an operator resolved a report, as Flag.Resolution says.
const (
	FlagDismissed      = "dismissed"       // the message stays
	FlagMessageDeleted = "message_deleted" // an operator deleted it for everyone
)

// Flag is a member's report of a message to the server's operators, as
// the member who made it reads it.
type Flag struct {
	ID        string    `json:"id"`
	MessageID string    `json:"message_id"`
	ThreadID  string    `json:"thread_id"`
	Seq       int64     `json:"seq"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note"`
	At        time.Time `json:"at"`
	// Resolution is how an operator closed the report, FlagDismissed or
	// FlagMessageDeleted; empty while it waits for them.
	Resolution string     `json:"resolution,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
}

// Reaction is one emoji given to a message: how many gave it, and who, in
// the order they did.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	// Users are who gave it: every one of them, but for an app without
	// participants.read, which is told of its own member alone.
	Users []UserRef `json:"users"`
}

// Via names the app a message was written through.
type Via struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
}

// Share is the card of a share message: the shared URL, its title, and
// the viewer's own tracked link to it.
type Share struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	// Link is the viewer's own /s/{token} link, which leads to URL and
	// counts their first click; empty on cards sent before links existed,
	// and for an app reading another app's card.
	Link string `json:"link,omitempty"`
}

// MessagePage is a page of a thread's messages, oldest first.
type MessagePage struct {
	Messages []*Message `json:"messages"`
	// HasMore reports whether more messages lie beyond the page in the
	// direction it was read.
	HasMore bool `json:"has_more"`
	// Notes are the group's timeline notes among the page's messages, in
	// the order they were made, when asked for (MessagesQuery.Notes): the
	// latest 200 of them.
	Notes []TimelineNote `json:"notes,omitempty"`
	// HasMoreNotes reports whether more notes sit among the page's
	// messages than it carries: those made before its first note are left
	// out.
	HasMoreNotes bool `json:"has_more_notes,omitempty"`
}

// Kinds of timeline note.
const (
	NoteStarted = "started" // By started the group, named Title if it has one
	NoteAdded   = "added"   // By added Subject
	NoteLeft    = "left"    // By left
	NoteRemoved = "removed" // By, who started the group, removed Subject
	NoteRenamed = "renamed" // By named the group Title, or took its name away
)

// TimelineNote is a line of a group's timeline on what a member did to the
// group itself. It sits after message AfterSeq (0: before the first).
type TimelineNote struct {
	ID       string    `json:"id"`
	AfterSeq int64     `json:"after_seq"`
	At       time.Time `json:"at"`
	Kind     string    `json:"kind"`
	By       UserRef   `json:"by"`
	// Subject is who was added or removed.
	Subject *UserRef `json:"subject,omitempty"`
	// Title is the group's title it was started with or given.
	Title string `json:"title,omitempty"`
}

// Event is one change delivered on a realtime connection. Data depends on
// Type (see the Event constants); unmarshal it into the type named there.
type Event struct {
	Type     string          `json:"type"`
	ThreadID string          `json:"thread_id"`
	Data     json.RawMessage `json:"data"`
}

// MessageDeleted is the data of a message.deleted event.
type MessageDeleted struct {
	ID       string `json:"id"`
	ThreadID string `json:"thread_id"`
	Seq      int64  `json:"seq"`
}

// ReadUpdated is the data of a read.updated event: a participant's read
// marker moved, by MarkRead.
//
// A send moves its sender's marker too, with no read.updated: a client
// that keeps markers from events moves it from the message.created
// (EventMessageCreated). A Message its sender sent themselves (Via nil)
// moves their marker to its Seq; one an app sent for them (Via set) moves
// it to its Seq only when nothing before it was unread for them (the
// marker at Seq-1, or they joined the group after that message), and
// otherwise leaves it where it was: an app's message reads nothing for
// the member, so what they had not read stays unread, and so does the
// app's message. An app, which sees Via only on its own messages, cannot
// tell another app's from the member's: it reads the markers (Thread).
type ReadUpdated struct {
	ThreadID string `json:"thread_id"`
	UserID   string `json:"user_id"`
	Seq      int64  `json:"seq"`
}

// ReadMarker is how far one participant of a thread has read: up to the
// message numbered Seq.
type ReadMarker struct {
	User UserRef `json:"user"`
	Seq  int64   `json:"seq"`
}

// EventTicket is a single-use ticket that opens a realtime connection
// without the token, as browsers, which cannot set headers on a WebSocket,
// must.
type EventTicket struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ConnectedApp is a grant in force as its member's list of connected apps
// shows it: what the app may do, in which threads and until when, and how
// it used its access.
type ConnectedApp struct {
	// ID is the grant's; RevokeGrant takes it.
	ID       string `json:"id"`
	UserID   string `json:"user_id"`
	ClientID string `json:"client_id"`
	AppName  string `json:"app_name"`
	// Scopes are the Scope constants the member granted.
	Scopes []string `json:"scopes"`
	// ThreadScope is one of the ThreadScope constants.
	ThreadScope string    `json:"thread_scope"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	// ExpiresAt is nil for a grant that lasts until revoked.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// Threads are the threads the grant lists; under ThreadScopeAll it
	// reaches every thread and lists none.
	Threads []GrantedThread `json:"threads"`
	// Calls is how many calls the app made on the member's data.
	Calls        int64      `json:"calls"`
	LastAccessAt *time.Time `json:"last_access_at,omitempty"`
}

// GrantedThread is a thread a grant lists, labelled for its member.
type GrantedThread struct {
	ThreadID string `json:"thread_id"`
	// VisibleFromSeq is the first message the app may see; 0 means from
	// the thread's first.
	VisibleFromSeq int64 `json:"visible_from_seq"`
	// Label is the thread's title, or the names of the others in it.
	Label string `json:"label"`
}

// ThreadGrant is a grant in force that reaches a thread, with whose grant
// it is.
type ThreadGrant struct {
	GrantID  string `json:"grant_id"`
	ClientID string `json:"client_id"`
	AppName  string `json:"app_name"`
	// Member is the participant who gave the grant.
	Member      UserRef  `json:"member"`
	Scopes      []string `json:"scopes"`
	ThreadScope string   `json:"thread_scope"`
	// VisibleFromSeq is the first message of the thread the app may see.
	VisibleFromSeq int64 `json:"visible_from_seq"`
}

// ThreadAppAccess is what apps may do in a thread, as its participants see
// it: whether apps are let in at all, who closed it to them, and the grants
// that reach it.
type ThreadAppAccess struct {
	// Allowed is false while any participant keeps the thread closed.
	Allowed bool `json:"allowed"`
	// ClosedBy are the participants keeping it closed.
	ClosedBy []UserRef `json:"closed_by"`
	// Apps are the grants, of any participant, that reach the thread.
	Apps []ThreadGrant `json:"apps"`
}

// Export is everything the server keeps of a member's, as Export
// downloads it.
type Export struct {
	// Format names the layout and its version: "parley-export/1".
	Format         string         `json:"format"`
	ExportedAt     time.Time      `json:"exported_at"`
	Profile        User           `json:"profile"`
	Friends        []Friend       `json:"friends"`
	FriendRequests FriendRequests `json:"friend_requests"`
	// DeclinedFriendRequests are the requests the member declined
	// (Incoming) and theirs that were declined (Outgoing), each Since it
	// was declined: kept, out of every list, so that the member declined
	// waits before asking again.
	DeclinedFriendRequests FriendRequests `json:"declined_friend_requests"`
	// Blocked are the members the member blocks.
	Blocked []BlockedMember  `json:"blocked"`
	Threads []ExportedThread `json:"threads"`
	// ThreadsLeft are the threads the member left and is not in again,
	// in the order they left them: those of Messages that Threads does
	// not describe.
	ThreadsLeft []ExportedLeftThread `json:"threads_left"`
	// OperatorActions are the operators' decisions about the member's
	// account, the oldest first.
	OperatorActions []ExportedDecision `json:"operator_actions"`
	Grants          []ExportedGrant    `json:"grants"`
	// Apps are the apps the member registered as a developer.
	Apps []ExportedApp `json:"apps"`
	// Sessions are the member's sessions, newest first.
	Sessions []ExportedSession `json:"sessions"`
	// AccessLogHead is what verifying AccessLog takes beyond its entries.
	AccessLogHead AccessLogHead `json:"access_log_head"`
	// AccessLog is the member's access log, oldest first.
	AccessLog []AccessEntry `json:"access_log"`
	// Messages are every message the member sent, in the order sent.
	Messages []Message `json:"messages"`
	// Reactions are every reaction the member gave, by thread and seq.
	Reactions []GivenReaction `json:"reactions"`
	// Flags are every message the member reported to the operators,
	// oldest report first.
	Flags []Flag `json:"flags"`
	// ShareLinks are the tracked links of the share cards made for the
	// member, in the order of the cards' messages.
	ShareLinks []ExportedShareLink `json:"share_links"`
}

// ExportedLeftThread is a thread the member left: its title when they
// left it, when they last joined it and left it, and how far they had
// read it.
type ExportedLeftThread struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	JoinedAt    time.Time `json:"joined_at"`
	LeftAt      time.Time `json:"left_at"`
	LastReadSeq int64     `json:"last_read_seq"`
}

// ExportedDecision is an operators' decision about the member's account:
// its action (such as "user.rename") and when; not which operator.
type ExportedDecision struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// ExportedSession is one of the member's sessions: when it began and when
// it ends (never its token).
type ExportedSession struct {
	SignedInAt time.Time `json:"signed_in_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// ExportedShareLink is the tracked link of a share card made for the
// member, and when a browser first followed it (nil: never), as the app's
// report counts clicks.
type ExportedShareLink struct {
	MessageID string `json:"message_id"`
	// ClientID is the app the card was shared through; empty for a card a
	// member sent themself.
	ClientID  string     `json:"client_id,omitempty"`
	SentAt    time.Time  `json:"sent_at"`
	ClickedAt *time.Time `json:"clicked_at"`
}

// App is an app a member registered as a developer: an OAuth 2.0 client.
type App struct {
	ClientID           string     `json:"client_id"`
	Name               string     `json:"name"`
	OwnerID            string     `json:"owner_id,omitempty"`
	RedirectURIs       []string   `json:"redirect_uris"`
	Homepage           string     `json:"homepage,omitempty"`
	Purpose            string     `json:"purpose,omitempty"`
	ClientType         string     `json:"client_type"`
	State              string     `json:"state"`
	AllThreadsApproved bool       `json:"all_threads_approved"`
	CreatedAt          time.Time  `json:"created_at"`
	OldSecretUntil     *time.Time `json:"old_secret_until,omitempty"`
}

// ExportedApp is an app the member registered, with its webhook endpoints
// (whose Secret is never set here).
type ExportedApp struct {
	App
	WebhookEndpoints []WebhookEndpoint `json:"webhook_endpoints"`
}

// ExportedThread is a thread the member is in, with who is in it.
type ExportedThread struct {
	Thread
	// Participants are who is in the thread, the member among them, by
	// when they joined.
	Participants []ExportedParticipant `json:"participants"`
	// LastReadSeq is the last message the member read (0: none).
	LastReadSeq int64 `json:"last_read_seq"`
	// Muted says the member muted the thread.
	Muted bool `json:"muted,omitempty"`
	// ClosedToAppsAt is when the member closed the thread to apps, if they
	// keep it closed.
	ClosedToAppsAt *time.Time `json:"closed_to_apps_at,omitempty"`
}

// ExportedParticipant is one of a thread's participants in an export, with
// when they joined the thread.
type ExportedParticipant struct {
	UserRef
	// JoinedAt is when they joined: when the thread began, for those in it
	// from its start, or when they were added, or added back after leaving.
	JoinedAt time.Time `json:"joined_at"`
	// JoinedSeq is the seq of the thread's last message when they joined:
	// the messages after it came while they were in it; 0 for those in it
	// from its start.
	JoinedSeq int64 `json:"joined_seq"`
}

// ExportedGrant is a grant the member gave an app, in force or ended.
type ExportedGrant struct {
	ID          string     `json:"id"`
	UserID      string     `json:"user_id"`
	ClientID    string     `json:"client_id"`
	AppName     string     `json:"app_name"`
	Scopes      []string   `json:"scopes"`
	ThreadScope string     `json:"thread_scope"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
	// Status is "active", "expired" or "revoked".
	Status string `json:"status"`
	// Threads are the threads the grant lists.
	Threads []ExportedGrantThread `json:"threads"`
}

// ExportedGrantThread is a thread a grant lists, and the first message the
// app may see in it.
type ExportedGrantThread struct {
	ThreadID       string `json:"thread_id"`
	VisibleFromSeq int64  `json:"visible_from_seq"`
}

// AccessLogHead is the member's ID, which each access log entry's hash
// covers, and the seq and hash of the last entry exported.
type AccessLogHead struct {
	UserID string `json:"user_id"`
	Seq    int64  `json:"seq"`
	Hash   []byte `json:"hash"`
}

// AccessEntry is one entry of a member's hash-chained access log.
type AccessEntry struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	ClientID string    `json:"client_id"`
	AppName  string    `json:"app_name"`
	GrantID  string    `json:"grant_id"`
	// Action is the scope an access used, or what happened to a grant or
	// a thread.
	Action       string   `json:"action"`
	ThreadID     string   `json:"thread_id,omitempty"`
	ByUserID     string   `json:"by_user_id,omitempty"`
	MessageIDs   []string `json:"message_ids,omitempty"`
	MessageCount int      `json:"message_count"`
	FirstSeq     int64    `json:"first_seq,omitempty"`
	LastSeq      int64    `json:"last_seq,omitempty"`
	// Grant is what the member agreed to, on an entry that made or
	// changed a grant (grant.created, grant.widened, grant.narrowed).
	Grant    *GrantTerms `json:"grant,omitempty"`
	PrevHash []byte      `json:"prev_hash"`
	Hash     []byte      `json:"hash"`
}

// GrantTerms are what a grant held once a change made or changed it.
type GrantTerms struct {
	Scopes      []string `json:"scopes"`
	ThreadScope string   `json:"thread_scope"`
	// ExpiresAt is when the grant runs out; nil, never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ThreadIDs are the threads the change was about: those ticked for a
	// new grant of thread scope selected, those a narrowing took out.
	ThreadIDs []string `json:"thread_ids,omitempty"`
}
