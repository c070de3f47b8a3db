package parley

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in internal/httpapi; the service
// layer returns them and nothing else decides what a client is told.
const (
	EINVALID      = "invalid"            // the request is malformed or breaks a rule
	EUNAUTHORIZED = "unauthorized"       // no valid credentials
	EFORBIDDEN    = "forbidden"          // authenticated, but not allowed
	ESCOPE        = "insufficient_scope" // an app token lacks the scope the call needs
	ENOTFOUND     = "not_found"          // absent, or invisible to the caller
	ECONFLICT     = "conflict"           // clashes with the current state
	ETOOLARGE     = "too_large"          // the request body is over the limit
	ETHROTTLED    = "throttled"          // too many attempts: wait RetryAfter, then try again
	EFULL         = "storage_full"       // the server's disk is full: nothing was saved; try again later
	EUNAVAILABLE  = "unavailable"        // the server cannot serve it just now: try again after RetryAfter
	EINTERNAL     = "internal"           // a bug or an outage; details only in logs
)

// Error is an error a client may see: a code and a message that is safe to
// show. Errors of other types reach clients as EINTERNAL with no detail.
type Error struct {
	Code    string
	Message string
	// Scope is the scope an ESCOPE error asks for.
	Scope string
	// RetryAfter is how long an ETHROTTLED or EUNAVAILABLE caller should
	// wait before trying again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley error: code=%s message=%s", e.Code, e.Message)
}

// ErrStorageFull is a change refused because the server's disk is full.
// Nothing of it was kept; it succeeds once an operator frees space.
var ErrStorageFull = Errorf(EFULL, "the server is out of storage space, so nothing was saved: try again later")

// ErrDatabaseUnreachable is a call that failed because the server could not
// reach its database (PostgreSQL refused or dropped the connection, or did
// not answer in time). A write may or may not have taken effect: one made
// again with the same Idempotency-Key takes effect once.
var ErrDatabaseUnreachable = &Error{
	Code:       EUNAVAILABLE,
	Message:    "the server cannot reach its database just now, so what was asked may or may not have been done: try again in a few seconds",
	RetryAfter: 5 * time.Second,
}

// WorthLogging reports whether err, a failure of background work under
// ctx, is one to log: not the end of ctx, which is no failure, nor a full
// disk or an unreachable database, which the server logs once when it
// begins and when it ends (internal/health), not at every round of every
// piece of background work.
func WorthLogging(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && !errors.Is(err, ErrStorageFull) && !errors.Is(err, ErrDatabaseUnreachable)
}

// Errorf returns an *Error with the code and a formatted, client-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err.
func ErrorMessage(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Message
	}
	return "Internal error."
}
