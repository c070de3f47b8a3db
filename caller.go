package parley

import (
	"context"
	"sync/atomic"
	"time"
)

// Caller is who makes a request: a member acting through one of their own
// sessions, an app acting for a member through the member's grant, or an
// app acting for itself (Client).
type Caller struct {
	User UserRef
	// SessionTokenHash identifies the session the call came through; nil
	// for an app.
	SessionTokenHash []byte
	// SignedInAt is when the member entered their password for the
	// session; zero for an app.
	SignedInAt time.Time
	// SessionExpiresAt is when the session ends unless it is ended
	// sooner; zero for an app.
	SessionExpiresAt time.Time
	// Operator is set when the member signed in holds an operator account.
	Operator bool
	// SessionCheck is set when the member's session was taken from a
	// node's cache of sessions rather than looked up: the store confirms
	// it still lasts with the request's first statement (Store).
	SessionCheck *SessionCheck
	// App is set when an app makes the call: what its token allows.
	App *AppAccess
	// Client is set when an app calls for itself, with a token of the
	// client-credentials grant: then User is empty and App nil, and the
	// call may only read the app's own reports.
	Client *ClientAccess
}

// ClientAccess is what an app's own token allows it.
type ClientAccess struct {
	App    *App
	Scopes Scopes
}

type callerKey struct{}

// NewContextWithCaller returns a copy of ctx that carries c.
func NewContextWithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller ctx carries, or nil.
func CallerFromContext(ctx context.Context) *Caller {
	c, _ := ctx.Value(callerKey{}).(*Caller)
	return c
}

// SessionCheck is a member's session that a request has not yet confirmed
// with the store. A node caches what a session token stands for (who the
// member is never changes for a token), but not that it still lasts: the
// session may have been revoked or have expired since, on any node. So the
// store confirms it before the first statement of the request takes effect,
// in the same round trip where it can, and fails that statement and every
// later one with ErrInvalidToken if it does not last.
type SessionCheck struct {
	// TokenHash identifies the session.
	TokenHash []byte
	// At is the request's time: the session must expire after it.
	At        time.Time
	confirmed atomic.Bool
}

// Confirmed reports whether the store has confirmed the session.
func (c *SessionCheck) Confirmed() bool { return c.confirmed.Load() }

// Confirm records that the store has confirmed the session: later
// statements of the request need not again.
func (c *SessionCheck) Confirm() { c.confirmed.Store(true) }

// PendingSession returns the session check of ctx's caller while it is not
// confirmed, and nil otherwise.
func PendingSession(ctx context.Context) *SessionCheck {
	c := CallerFromContext(ctx)
	if c == nil || c.SessionCheck == nil || c.SessionCheck.Confirmed() {
		return nil
	}
	return c.SessionCheck
}

// ErrInvalidToken is the failure of a request whose bearer token is
// unknown, malformed, expired or revoked, whenever that is found: when the
// token is looked up, or, for a session taken from a node's cache, by the
// store (SessionCheck).
var ErrInvalidToken = Errorf(EUNAUTHORIZED, "the token is unknown or malformed")
