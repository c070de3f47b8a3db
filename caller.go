package parley

import (
	"context"
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
	// Operator is set when the member signed in holds an operator account.
	Operator bool
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
