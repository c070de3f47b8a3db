package parley

import (
	"context"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/words"
)

// ThrottleForget is how long a throttle remembers failures: a key with no
// failure for this long starts afresh, and its record may be removed.
const ThrottleForget = 24 * time.Hour

// DefaultSignUpsPerAddress is how many accounts one client address may
// create a day before each further one waits, unless the operator sets
// another number.
const DefaultSignUpsPerAddress = 20

// Throttle is the record of failed attempts under one key, such as the
// sign-ins to one account or from one client address.
type Throttle struct {
	Key         string
	Failures    int
	LastFailure time.Time
}

// ThrottleRule says how failures slow further attempts down: once there
// are Free failures, the next attempt waits Base after the last one, and
// each failure more doubles the wait, never beyond Max, so that no one is
// locked out for good by failures that are not their own.
type ThrottleRule struct {
	Free      int
	Base, Max time.Duration
}

// Wait returns how long an attempt under t must wait at now; 0 when it may
// go ahead.
func (r ThrottleRule) Wait(t *Throttle, now time.Time) time.Duration {
	if t.Failures < r.Free || now.Sub(t.LastFailure) >= ThrottleForget {
		return 0
	}
	delay := r.Base
	for n := r.Free; n < t.Failures && delay < r.Max; n++ {
		delay *= 2
	}
	return max(0, t.LastFailure.Add(min(delay, r.Max)).Sub(now))
}

// Fail records a failure at now.
func (t *Throttle) Fail(now time.Time) {
	if now.Sub(t.LastFailure) >= ThrottleForget {
		t.Failures = 0
	}
	t.Failures++
	t.LastFailure = now
}

// Refund takes back the failure an attempt counted at at, before it was
// known to succeed: one failure fewer, and the last failure before, the
// one before the attempt, unless another came since.
func (t *Throttle) Refund(before, at time.Time) {
	t.Failures = max(0, t.Failures-1)
	if t.LastFailure.Equal(at) {
		t.LastFailure = before
	}
}

// ThrottledError is the ETHROTTLED error for an attempt that must wait.
func ThrottledError(what string, wait time.Duration) *Error {
	return &Error{Code: ETHROTTLED, Message: fmt.Sprintf("too many %s; try again in %s", what, waitWords(wait)), RetryAfter: wait}
}

// waitWords says how long a wait is, rounded up to a second, a minute,
// or past an hour, an hour.
func waitWords(d time.Duration) string {
	if secs := int((d + time.Second - 1) / time.Second); secs < 60 {
		return words.Count(secs, "second", "seconds")
	}
	if mins := int((d + time.Minute - 1) / time.Minute); mins <= 60 {
		return words.Count(mins, "minute", "minutes")
	}
	return words.Count(int((d+time.Hour-1)/time.Hour), "hour", "hours")
}

type clientAddrKey struct{}

// NewContextWithClientAddr returns a copy of ctx that carries the address
// of the client a request came from, as the HTTP layer sees it.
func NewContextWithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddrFromContext returns the client address ctx carries, or "" when
// the caller is not a network client (a command an operator runs).
func ClientAddrFromContext(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddrKey{}).(string)
	return addr
}

// RateUse is the use of one key of a rate limit, such as an app's or a
// member's, in the terms of the generic cell rate algorithm (GCRA): each
// request takes the limit's interval between requests from the key's
// allowance, and the allowance is whole again once the key's theoretical
// arrival time (TAT) is past.
type RateUse struct {
	Key string
	// Cost is the allowance the requests took: their count times the
	// limit's interval between requests, less what was given back;
	// negative when more was given back than taken.
	Cost time.Duration
}
