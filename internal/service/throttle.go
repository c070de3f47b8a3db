package service

import (
	"cmp"
	"context"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// Throttles slow down guessing passwords and making accounts in bulk. An
// attempt counts as a failure from the moment it begins, so that
// concurrent guesses count too; a sign-in that succeeds clears its
// account's failures and takes its attempt back from its address. The
// records live in the store: every node counts the same attempts.
var (
	// signInAccountRule throttles sign-ins to one username.
	signInAccountRule = parley.ThrottleRule{Free: 5, Base: time.Second, Max: 15 * time.Minute}
	// signInAddressRule throttles sign-ins from one client address, to any
	// username. Many people may share an address, so it allows more.
	signInAddressRule = parley.ThrottleRule{Free: 20, Base: time.Second, Max: 15 * time.Minute}
)

// signInsPerAccount holds the password checks of one account from one
// client address, whether they succeed or not, to a rate: 30 at once, then
// 10 a minute. The throttles above slow guessers down; this keeps a member
// who knows their own password from taking the server's password hashing,
// which runs one hash at a time, from everyone else, and from opening
// sessions without end. Counted per address too, so that no one can spend
// a member's allowance and keep them out: a guesser's attempts are the
// throttles' business. It is a rate limit (Options.Limiter), shared by the
// nodes as the API's are, not a throttle: successes count too, and nothing
// is cleared.
var signInsPerAccount = ratelimit.Policy{Name: "sign-ins", Rate: 10.0 / 60, Burst: 30}

// rateLimited logs a request that policy p refused under key, as
// Limiter.LogRefusal lets it, and counts it (Options.RateLimited), and
// returns its ETHROTTLED error: too many of what, and when to try again.
func (s *Service) rateLimited(ctx context.Context, p ratelimit.Policy, key string, wait time.Duration, what string) error {
	if n, ok := s.opts.Limiter.LogRefusal(key); ok {
		s.log.WarnContext(ctx, "throttled", "what", p.Name, "keys", []string{s.loggedKey(ctx, key)}, "client", clientAddr(ctx), "wait", wait,
			"refusals", n)
	}
	if s.opts.RateLimited != nil {
		s.opts.RateLimited(p.Name)
	}
	return parley.ThrottledError(what, wait)
}

// countFailures runs fn, unless the client address of ctx has spent its
// allowance of p, and counts against that allowance a failure of fn that
// is EUNAUTHORIZED: p holds the failed attempts of one address, under keys
// that start with name, and once they are spent every request of the
// address is refused before fn looks anything up. Each attempt takes its
// share of the allowance before fn runs, and gives it back unless it
// failed so, so that attempts at once cannot all begin before any of them
// counts: an address has at most the allowance's burst of attempts under
// way at once, successful or not. An address is all that is counted, not
// what the attempt named, so that no one can spend another's allowance by
// naming it.
func (s *Service) countFailures(ctx context.Context, p ratelimit.Policy, name string, fn func() error) error {
	addr := parley.ClientAddrFromContext(ctx)
	if addr == "" || s.opts.Limiter == nil {
		return fn()
	}
	key := name + ":address:" + addressKey(addr)
	if d := s.opts.Limiter.Allow(key, p); !d.Allowed {
		return s.rateLimited(ctx, p, key, d.RetryAfter, p.Name+" from this address")
	}
	err := fn()
	if parley.ErrorCode(err) != parley.EUNAUTHORIZED {
		s.opts.Limiter.Refund(key, p)
	}
	return err
}

// signUpAddressRule throttles account creation from one client address.
func signUpAddressRule(free int) parley.ThrottleRule {
	return parley.ThrottleRule{Free: free, Base: time.Minute, Max: time.Hour}
}

// addressKey is the part of a throttle's key that names a client
// address: the address, or its /64 for IPv6, where one host commonly
// holds a whole /64.
func addressKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is6() || a.Is4In6() {
		return addr
	}
	prefix, _ := a.WithZone("").Prefix(64)
	return prefix.String()
}

// signInAccountKey starts the throttle and rate-limit keys of the sign-ins
// to one username; signInFrom follows the username in the rate limit's
// key, before the client's address.
const (
	signInAccountKey = "sign-in:account:"
	signInFrom       = " from "
	// signInSessionKey starts the throttle key of the password checks of
	// one signed-in session, by the first 8 bytes of its token's hash.
	signInSessionKey = "sign-in:session:"
)

// sessionThrottleKey is the throttle key of the password checks of the
// caller's session (checkPassword), or "" for a caller without one.
func sessionThrottleKey(c *parley.Caller) string {
	if len(c.SessionTokenHash) < 8 {
		return ""
	}
	return signInSessionKey + hex.EncodeToString(c.SessionTokenHash[:8])
}

// loggedKey is a throttle's key as the log may hold it: a sign-in's
// username only when an account has it, since a name no account has may be
// a password typed into the wrong field (as SignIn logs failures); a
// session's or a device proof's key by its kind alone, since the rest is
// drawn from the member's token or proof (begin logs the member instead).
func (s *Service) loggedKey(ctx context.Context, key string) string {
	for _, secret := range []string{signInSessionKey, signInDeviceKey} {
		if strings.HasPrefix(key, secret) {
			return strings.TrimSuffix(secret, ":")
		}
	}
	name, ok := strings.CutPrefix(key, signInAccountKey)
	if !ok {
		return key
	}
	name, from, fromAddr := strings.Cut(name, signInFrom)
	err := s.store.Read(ctx, func(tx parley.Tx) error {
		_, err := tx.FindUserByUsername(ctx, name)
		return err
	})
	if err == nil {
		return key
	}
	key = signInAccountKey + "(no such account)"
	if fromAddr {
		key += signInFrom + from
	}
	return key
}

// throttleKey is a key a throttle counts attempts under, and its rule;
// member, if any, is the member whose sign-ins the key counts, whom begin
// logs by name and ID.
type throttleKey struct {
	key    string
	rule   parley.ThrottleRule
	member *parley.User
}

// attempt is an attempt begin counted as a failure: when, and the last
// failure under each key before it, for succeeded to take it back.
type attempt struct {
	at     time.Time
	before map[string]time.Time
}

// begin counts an attempt under each key as a failure, unless an earlier
// failure under one of them says to wait: then it counts nothing, logs the
// keys (loggedKey), the member they count for and the client, and returns
// ETHROTTLED with the longest wait, saying "too many " + what.
func (s *Service) begin(ctx context.Context, what string, keys ...throttleKey) (attempt, error) {
	var a attempt
	if len(keys) == 0 {
		return a, nil
	}
	var wait time.Duration
	err := s.store.Write(ctx, func(tx parley.Tx) error {
		now := s.Now()
		wait = 0
		a = attempt{at: now, before: make(map[string]time.Time, len(keys))}
		records := make([]*parley.Throttle, len(keys))
		found := make([]bool, len(keys))
		for i, k := range keys {
			th, err := tx.FindThrottle(ctx, k.key)
			if isNotFound(err) {
				th = &parley.Throttle{Key: k.key}
			} else if err != nil {
				return err
			}
			records[i], found[i] = th, err == nil
			wait = max(wait, k.rule.Wait(th, now))
		}
		if wait > 0 {
			return nil
		}
		// A key's first failure is added, not put: two attempts at once
		// on two servers, neither finding the other's, would each put one
		// failure where there are two. The later add fails, and its write
		// runs again, finding the other's.
		for i, th := range records {
			a.before[th.Key] = th.LastFailure
			th.Fail(now)
			put := tx.PutThrottle
			if !found[i] {
				put = tx.AddThrottle
			}
			if err := put(ctx, th); err != nil {
				return err
			}
		}
		return tx.DeleteThrottlesBefore(ctx, now.Add(-parley.ThrottleForget))
	})
	if err != nil {
		return attempt{}, err
	}
	if wait > 0 {
		return attempt{}, s.refuse(ctx, what, wait, keys)
	}
	return a, nil
}

// throttled returns, and logs, the ETHROTTLED error begin would return
// for an attempt under k now, without counting one or writing anything:
// nil while k's failures let an attempt begin.
func (s *Service) throttled(ctx context.Context, what string, k throttleKey) error {
	var th *parley.Throttle
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		th, err = tx.FindThrottle(ctx, k.key)
		return err
	})
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if wait := k.rule.Wait(th, s.Now()); wait > 0 {
		return s.refuse(ctx, what, wait, []throttleKey{k})
	}
	return nil
}

// refuse logs an attempt the throttles under keys refused, naming the keys
// (loggedKey), the member they count for and the client, and returns its
// ETHROTTLED error: too many what, and the wait. The line is written as
// Limiter.LogRefusal lets it, for the keys together.
func (s *Service) refuse(ctx context.Context, what string, wait time.Duration, keys []throttleKey) error {
	var key strings.Builder
	for _, k := range keys {
		key.WriteString(k.key + "\n")
	}
	refusals, ok := s.opts.Limiter.LogRefusal("throttle:" + key.String())
	if !ok {
		return parley.ThrottledError(what, wait)
	}
	names := make([]string, len(keys))
	var member *parley.User
	for i, k := range keys {
		names[i] = s.loggedKey(ctx, k.key)
		member = cmp.Or(member, k.member)
	}
	attrs := []any{"what", what, "keys", names}
	if member != nil {
		attrs = append(attrs, "user", member.Username, "user_id", member.ID)
	}
	attrs = append(attrs, "client", clientAddr(ctx), "wait", wait, "refusals", refusals)
	s.log.WarnContext(ctx, "throttled", attrs...)
	return parley.ThrottledError(what, wait)
}

// succeeded clears the failures under reset and takes attempt a, which
// begin counted, back from refund, in the transaction of what succeeded.
func succeeded(ctx context.Context, tx parley.Tx, reset, refund string, a attempt) error {
	if reset != "" {
		if err := tx.DeleteThrottle(ctx, reset); err != nil {
			return err
		}
	}
	if refund == "" {
		return nil
	}
	th, err := tx.FindThrottle(ctx, refund)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	th.Refund(a.before[refund], a.at)
	return tx.PutThrottle(ctx, th)
}
