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
	// LogReads appends the records of an app's reads to the access log,
	// chained in the order given after every entry already appended for
	// the same members. When it returns, the records survive a crash of
	// the server, though not necessarily of the machine until the next
	// Write; every later Read of the access log, and every later Write,
	// finds them there. A read must be logged before its data is
	// returned, so LogReads is cheaper than a Write.
	LogReads(ctx context.Context, records []AccessRecord) error
	Close() error
}

// Tx is one transaction's view of the store.
type Tx interface {
	// CreateUser stores a new member; ECONFLICT when the username is taken.
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	FindUserByID(ctx context.Context, id string) (*User, error)
	// FindUserByUsername looks up a normalized username.
	FindUserByUsername(ctx context.Context, username string) (*User, error)
	FindPasswordHash(ctx context.Context, userID string) (string, error)
	// FindUsers returns every member ordered by username.
	FindUsers(ctx context.Context) ([]*User, error)

	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns the session with the token hash, expired or not,
	// and its member.
	FindSession(ctx context.Context, tokenHash []byte) (*Session, *User, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error

	// FindFriendship returns the friendship between a and b in either direction.
	FindFriendship(ctx context.Context, a, b string) (*Friendship, error)
	CreateFriendship(ctx context.Context, f *Friendship) error
	AcceptFriendship(ctx context.Context, requesterID, addresseeID string) error
	// DeleteFriendship removes the friendship between a and b in either direction.
	DeleteFriendship(ctx context.Context, a, b string) error
	// FindFriends returns the member's accepted friends ordered by username.
	FindFriends(ctx context.Context, userID string) ([]Friend, error)
	FindFriendRequests(ctx context.Context, userID string) (*FriendRequests, error)

	// CreateThread stores a thread; ECONFLICT when its direct key exists.
	CreateThread(ctx context.Context, t *Thread) error
	FindThreadByID(ctx context.Context, id string) (*Thread, error)
	FindThreadByDirectKey(ctx context.Context, key string) (*Thread, error)
	// FindThreads returns the member's current threads, newest activity first.
	FindThreads(ctx context.Context, f ThreadFilter) ([]*ThreadSummary, error)
	// NextSeq takes the thread's next message number and records activity at t.
	NextSeq(ctx context.Context, threadID string, t time.Time) (int64, error)
	// TouchThread records activity at t without taking a number.
	TouchThread(ctx context.Context, threadID string, t time.Time) error

	// FindParticipant returns the member's row in the thread, also after
	// they left.
	FindParticipant(ctx context.Context, threadID, userID string) (*Participant, error)
	// FindParticipants returns the thread's current participants by join time.
	FindParticipants(ctx context.Context, threadID string) ([]UserRef, error)
	// FindParticipantIDs returns the IDs of the thread's current participants.
	FindParticipantIDs(ctx context.Context, threadID string) ([]string, error)
	// JoinThread adds the member to the thread, or brings back one who left.
	JoinThread(ctx context.Context, p *Participant) error
	LeaveThread(ctx context.Context, threadID, userID string, t time.Time) error
	// SetReadSeq moves the member's read marker forward to seq; it never
	// moves back. It reports whether the marker moved.
	SetReadSeq(ctx context.Context, threadID, userID string, seq int64) (bool, error)

	CreateMessage(ctx context.Context, m *Message) error
	FindMessageByID(ctx context.Context, id string) (*Message, error)
	FindMessageByIdempotencyKey(ctx context.Context, senderID, key string) (*Message, error)
	FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// DeleteMessage turns the message into a tombstone deleted at t.
	DeleteMessage(ctx context.Context, id string, t time.Time) error

	// CreateApp stores a registration with its secret's hash (nil for a
	// public client).
	CreateApp(ctx context.Context, a *App, secretHash []byte) error
	FindAppByClientID(ctx context.Context, clientID string) (*App, error)
	// FindApps returns the apps an owner registered, or every app for an
	// empty ownerID, oldest first.
	FindApps(ctx context.Context, ownerID string) ([]*App, error)
	// UpdateAppReview sets an app's state and whether it may reach all threads.
	UpdateAppReview(ctx context.Context, clientID, state string, allThreads bool) error
	// FindAppSecretHash returns a confidential client's secret hash.
	FindAppSecretHash(ctx context.Context, clientID string) ([]byte, error)

	CreateGrant(ctx context.Context, g *Grant) error
	FindGrantByID(ctx context.Context, id string) (*Grant, error)
	// FindCurrentGrant returns the member's unrevoked grant for the app,
	// which may have expired.
	FindCurrentGrant(ctx context.Context, userID, clientID string) (*Grant, error)
	// UpdateGrant stores a grant's scopes, thread scope, expiry and revocation.
	UpdateGrant(ctx context.Context, g *Grant) error
	// FindActiveGrants returns the member's grants in force at t, oldest first.
	FindActiveGrants(ctx context.Context, userID string, t time.Time) ([]*Grant, error)
	// FindExpiredGrants returns up to limit grants that expired by t but
	// are not yet marked ended.
	FindExpiredGrants(ctx context.Context, t time.Time, limit int) ([]*Grant, error)
	// AddGrantThread brings a thread into a grant; a thread already in it
	// keeps its earlier first message.
	AddGrantThread(ctx context.Context, gt GrantThread) error
	// FindGrantThreads returns the threads a grant lists, oldest first.
	FindGrantThreads(ctx context.Context, grantID string) ([]GrantThread, error)
	// FindThreadReach returns what a grant may see of a thread, in one read.
	FindThreadReach(ctx context.Context, grantID, threadID string) (*ThreadReach, error)
	// FindThreadGrants returns the grants in force at t, of the thread's
	// current participants and of active apps, that reach the thread.
	FindThreadGrants(ctx context.Context, threadID string, t time.Time) ([]ThreadGrant, error)
	// FindGrantUse counts the calls a grant's app made on its member's data,
	// from the member's access log.
	FindGrantUse(ctx context.Context, g *Grant) (*GrantUse, error)

	// CloseThreadToApps records that the member closes the thread to apps;
	// it reports false when they already had.
	CloseThreadToApps(ctx context.Context, threadID, userID string, t time.Time) (bool, error)
	// ReopenThreadToApps withdraws the member's closing; it reports false
	// when there was none.
	ReopenThreadToApps(ctx context.Context, threadID, userID string) (bool, error)
	// FindThreadClosers returns who keeps the thread closed to apps, in the
	// order they closed it.
	FindThreadClosers(ctx context.Context, threadID string) ([]UserRef, error)

	CreateAuthRequest(ctx context.Context, r *AuthRequest) error
	FindAuthRequest(ctx context.Context, id string) (*AuthRequest, error)
	FindAuthRequestByCode(ctx context.Context, codeHash []byte) (*AuthRequest, error)
	// UpdateAuthRequest stores the member, grant, sign-in and approval times,
	// code and its use.
	UpdateAuthRequest(ctx context.Context, r *AuthRequest) error
	// DeleteAuthRequestsBefore removes requests created before t, with
	// nothing left to protect: their codes have long expired.
	DeleteAuthRequestsBefore(ctx context.Context, t time.Time) error

	CreateToken(ctx context.Context, t *OAuthToken) error
	FindToken(ctx context.Context, hash []byte) (*OAuthToken, error)
	// FindTokenGrant returns an access or refresh token with its grant,
	// app and member.
	FindTokenGrant(ctx context.Context, hash []byte) (*TokenGrant, error)
	// UseToken marks a refresh token used at t; it reports false when it
	// already was.
	UseToken(ctx context.Context, hash []byte, t time.Time) (bool, error)
	RevokeToken(ctx context.Context, hash []byte, t time.Time) error
	RevokeTokenFamily(ctx context.Context, familyID string, t time.Time) error

	// FindAccessHeads returns the heads of the members' access logs, in the
	// order of userIDs: seq 0 and GenesisHash for a log with no entry yet.
	FindAccessHeads(ctx context.Context, userIDs []string) ([]AccessHead, error)
	// AppendAccess appends the records to the access log, chaining each
	// member's entries onto the last one in their log.
	AppendAccess(ctx context.Context, records []AccessRecord) error
	FindAccessEntries(ctx context.Context, f AccessFilter) ([]*AccessEntry, error)

	// CreateEventTicket stores a ticket to open a realtime stream, and
	// removes the tickets that expired before it was made.
	CreateEventTicket(ctx context.Context, t *EventTicket, now time.Time) error
	// TakeEventTicket removes the ticket with the hash and returns it,
	// expired or not; ENOTFOUND when there is none, also when it was taken
	// already.
	TakeEventTicket(ctx context.Context, hash []byte) (*EventTicket, error)
	// FindAccessVersion returns a number that grows whenever access may have
	// ended, whichever process made the change: a grant ended, an app's
	// state changed, a token was revoked or a thread closed to apps.
	FindAccessVersion(ctx context.Context) (int64, error)

	// FindThrottle returns the failures recorded under a key.
	FindThrottle(ctx context.Context, key string) (*Throttle, error)
	// PutThrottle stores a key's failures, replacing what it had.
	PutThrottle(ctx context.Context, t *Throttle) error
	// DeleteThrottle forgets a key's failures; a key with none is no error.
	DeleteThrottle(ctx context.Context, key string) error
	// DeleteThrottlesBefore forgets every key whose last failure was before t.
	DeleteThrottlesBefore(ctx context.Context, t time.Time) error

	// FindServerKey returns a key the server keeps, such as its token
	// encryption key; CreateServerKey stores one, ECONFLICT if it exists.
	FindServerKey(ctx context.Context, name string) ([]byte, error)
	CreateServerKey(ctx context.Context, name string, key []byte) error
}
