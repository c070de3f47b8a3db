package parley

import "context"

// Caller is who makes a request: a member acting through one of their own
// sessions.
type Caller struct {
	User UserRef
	// SessionTokenHash identifies the session the call came through.
	SessionTokenHash []byte
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
