package parley

import (
	"context"
	"errors"
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
	// Check is set when the caller was taken from a node's cache rather
	// than looked up: the store confirms it with the request's first
	// statement (Store).
	Check *CallerCheck
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

// CallerCheck is what a request has not yet confirmed with the store about
// a caller its node took from a cache. A node caches what a token stands
// for, but not that it still does: on any node, a member's session may
// have been revoked or have expired since, and an app's token, grant or
// app ended or changed. So the store confirms the caller before the first
// statement of the request takes effect, in the same round trip where it
// can, and fails that statement and every later one if the caller no
// longer holds: with ErrInvalidToken for a session that ended, and with
// ErrAccessChanged for an app's token that is no longer what it was found
// to be.
type CallerCheck struct {
	// TokenHash identifies the token: a member's session or an app's
	// access token.
	TokenHash []byte
	// At is the request's time: a session must expire after it.
	At time.Time
	// Grant is set for an app's token: its grant as the token was looked
	// up. The token still stands for what was found while it, its grant
	// and its app are in force and the grant's scopes and thread scope are
	// as they were. (When each runs out is known without the store:
	// AppAccess.Until.)
	Grant     *Grant
	confirmed atomic.Bool
}

// Confirmed reports whether the store has confirmed the caller.
func (c *CallerCheck) Confirmed() bool { return c.confirmed.Load() }

// Confirm records that the store has confirmed the caller: later
// statements of the request need not again.
func (c *CallerCheck) Confirm() { c.confirmed.Store(true) }

// PendingCheck returns the check of ctx's caller while it is not
// confirmed, and nil otherwise.
func PendingCheck(ctx context.Context) *CallerCheck {
	c := CallerFromContext(ctx)
	if c == nil || c.Check == nil || c.Check.Confirmed() {
		return nil
	}
	return c.Check
}

// ErrAccessChanged is the store's failure of a request whose app's token a
// node took from its cache, when the token, its grant or its app changed
// since the token was looked up (CallerCheck): none of the request's
// statements took effect, and it is to be made again with the token looked
// up afresh. It never reaches a client.
var ErrAccessChanged = errors.New("parley: the app's token, grant or app changed since the token was looked up")

// ErrInvalidToken is the failure of a request whose bearer token is
// unknown, malformed, expired or revoked, whenever that is found: when the
// token is looked up, or, for a session taken from a node's cache, by the
// store (CallerCheck).
var ErrInvalidToken = Errorf(EUNAUTHORIZED, "the token is unknown or malformed")
