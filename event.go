package parley

import (
	"context"
	"encoding/json"
	"time"
)

// Event types delivered to members' realtime connections.
const (
	EventMessageCreated = "message.created"
	EventMessageDeleted = "message.deleted"
	// EventMessageEdited carries the message with its new text, as
	// EventMessageCreated carries a new one.
	EventMessageEdited = "message.edited"
	// EventMessageReacted carries the message with its reactions as they
	// now are: a member gave one, changed theirs or took it back.
	EventMessageReacted = "message.reacted"
	EventThreadUpdated  = "thread.updated"
	EventReadUpdated    = "read.updated"
	// EventThreadAppsChanged tells a thread's participants that what apps
	// may do in it changed: a notice joined its timeline. Apps never
	// receive it.
	EventThreadAppsChanged = "thread.apps_changed"
	// EventThreadMuted tells a member's own clients that they muted or
	// unmuted a thread (ThreadMuted), or that a group they had muted is
	// unmuted as they are added back to it, so that every tab and device
	// shows it. No one else receives it, and no app.
	EventThreadMuted = "thread.muted"
	// EventThreadTyping tells a thread's other members' own clients that a
	// member is writing in it (ThreadTyping), for a few seconds: it is sent
	// again while they go on. Nothing of it is stored, and no app receives
	// it.
	EventThreadTyping = "thread.typing"
	// EventUserUpdated tells a member's own clients, the members who take
	// part in a thread with them and their friends that the member's
	// public profile changed (UserUpdated), by a rename or by the
	// account's deletion: every name shown for them is to be read again.
	// No app receives it.
	EventUserUpdated = "user.updated"

	// EventGrantsEnded is a control event, never sent to a client: the
	// grants its data names (GrantsEnded) stopped reaching something they
	// reached, and the app streams held through them end.
	EventGrantsEnded = "grants.ended"
	// EventSessionsEnded is a control event, never sent to a client: the
	// member's sessions its data names (SessionsEnded) ended, and the
	// member's streams opened with them end.
	EventSessionsEnded = "sessions.ended"
)

// SessionsEnded is the data of a sessions.ended event. It names the
// sessions by their tokens' hashes, as the store does: a hash opens
// nothing.
type SessionsEnded struct {
	TokenHashes [][]byte `json:"token_hashes"`
	// Why, when the sessions ended with their member's account, says
	// how: "account deleted" or "account disabled"; the streams opened
	// with them end saying so. Empty when the sessions alone ended.
	Why string `json:"why,omitempty"`
}

// GrantsEnded is the data of a grants.ended event.
type GrantsEnded struct {
	GrantIDs []string `json:"grant_ids"`
	// Why is said to the app as its stream ends.
	Why string `json:"why"`
	// Narrowed is set when the grants last but reach less than they did
	// (a participant closed a conversation to apps, the member narrowed
	// the grant): the app may open its stream again at once, with the
	// same token, and gets what the grant reaches now.
	Narrowed bool `json:"narrowed,omitempty"`
}

// EventTicketTTL is how long a ticket to open a realtime stream lasts.
const EventTicketTTL = 30 * time.Second

// EventTicket lets a client that cannot set headers, such as a browser,
// open a realtime stream once: it stands for the credential that made it,
// a member's session or an app's access token, named by its hash.
type EventTicket struct {
	Hash        []byte
	UserID      string
	SessionHash []byte // set when a session made the ticket
	TokenHash   []byte // set when an app's access token made it
	ExpiresAt   time.Time
}

// Event is one change a member's clients learn of in real time. Data is
// encoded once, when the event is made, and shared by every recipient.
type Event struct {
	// ID tells this event from every other, on every node: the realtime
	// streams of one app under one grant that deliver the same event log
	// it once. An event without one is logged by each stream.
	ID   string `json:"-"`
	Type string `json:"type"`
	// ThreadID is the thread the event is about; empty, and left out of
	// its JSON, for an event about a member (EventUserUpdated).
	ThreadID string          `json:"thread_id,omitempty"`
	Data     json.RawMessage `json:"data"`
	// Seq and MessageID name the message the event is about, if any: apps
	// see messages only from their grant's first one on, and each message
	// an app receives is in the access log.
	Seq       int64  `json:"-"`
	MessageID string `json:"-"`
	// Readers are, for an event about a thread, its messages or its read
	// markers, the thread's members when the change was made, as its
	// publisher found them: those an app's receiving the event is logged
	// for. They come with the event, so that the log does not depend on
	// an app's stream having heard of who joined or left before it.
	Readers []string `json:"-"`
	// ViaApp and SenderID are, for a webhook's event about a message
	// written through an app, that app's client ID and the member it
	// wrote the message for: an app is told by webhook of the deletion of
	// a message it wrote, whether or not it may read messages. A realtime
	// stream, which needs messages.read, has no use for them, and they do
	// not cross nodes.
	ViaApp   string `json:"-"`
	SenderID string `json:"-"`
}

// NewEvent returns a new event of type typ about a thread (none for
// EventUserUpdated), carrying data as JSON.
func NewEvent(typ, threadID string, data any) Event {
	b, err := json.Marshal(data)
	if err != nil {
		panic("parley: event data does not encode: " + err.Error()) // our own types always encode
	}
	return Event{ID: NewID(), Type: typ, ThreadID: threadID, Data: b}
}

// Passing reports whether e is a moment's signal, worth nothing late
// (EventThreadTyping): a bus that cannot carry it drops it, keeps nothing
// of it to deliver later and ends no subscription for its loss.
func (e Event) Passing() bool { return e.Type == EventThreadTyping }

// MessageDeleted is the data of a message.deleted event.
type MessageDeleted struct {
	ID       string `json:"id"`
	ThreadID string `json:"thread_id"`
	Seq      int64  `json:"seq"`
}

// ThreadAppsChanged is the data of a thread.apps_changed event.
type ThreadAppsChanged struct {
	ThreadID string `json:"thread_id"`
}

// ThreadMuted is the data of a thread.muted event.
type ThreadMuted struct {
	ThreadID string `json:"thread_id"`
	Muted    bool   `json:"muted"`
}

// ThreadTyping is the data of a thread.typing event: who is writing, in
// which thread.
type ThreadTyping struct {
	ThreadID string  `json:"thread_id"`
	User     UserRef `json:"user"`
}

// UserUpdated is the data of a user.updated event: the member as they now
// are.
type UserUpdated struct {
	User UserRef `json:"user"`
}

// ReadUpdated is the data of a read.updated event.
type ReadUpdated struct {
	ThreadID string `json:"thread_id"`
	UserID   string `json:"user_id"`
	Seq      int64  `json:"seq"`
}

// Bus fans events out to members' subscriptions. The in-process bus serves
// one node; the NATS bus serves many, each delivering to the subscriptions
// it holds whatever any of them published.
type Bus interface {
	// Publish delivers ev to every current subscription of each member in
	// userIDs, on every node, whole (Seq, MessageID and Readers too);
	// each member's events arrive in the order they were published.
	// Delivery may happen after Publish returns, and ctx ending does not
	// stop it: the change an event tells of is stored already. It never
	// blocks on a slow subscriber.
	Publish(ctx context.Context, userIDs []string, ev Event) error
	// Subscribe opens a subscription to the member's events. The caller
	// must Close it.
	Subscribe(ctx context.Context, userID string) (Subscription, error)
}

// Subscription is one consumer's stream of a member's events.
type Subscription interface {
	// C delivers the events. It is closed when the subscription ends,
	// whether by Close or because the consumer fell too far behind.
	C() <-chan Event
	// Done is closed when the subscription ends, so a consumer blocked
	// elsewhere (say, writing to a stalled client) can give up at once.
	Done() <-chan struct{}
	// AfterEnd arranges to call f in its own goroutine once the
	// subscription ends, as context.AfterFunc does once a context ends, so
	// that a consumer need not hold a goroutine waiting on Done; stop
	// undoes it, as AfterFunc's does.
	AfterEnd(f func()) (stop func() bool)
	// Dropped reports whether the bus ended the subscription with events
	// its consumer did not get, who must then catch up another way: it did
	// not keep up (Slow), or its node missed events itself, cut off from
	// the other nodes or from the database.
	Dropped() bool
	// Slow reports whether the bus dropped the subscription because its
	// consumer did not keep up.
	Slow() bool
	Close()
}
