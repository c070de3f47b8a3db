package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// Limits are the rate limits on a member's or an app's authenticated
// requests. A member's own sessions count together under the member,
// whether they call /api/v1 or post the pages' forms (web). A confidential
// app's tokens count together under its client ID, whichever member they
// act for: its tokens live on its own servers, and its allowance is its
// developer's to spend. A public app's tokens live on its members'
// devices, and its client ID is no secret: anyone may connect it to an
// account of their own and loop with the token, so its tokens count under
// the app and the member they act for, and no one spends the allowance of
// the app's other members. An app's own token (client credentials) counts
// under its client ID. A policy that is not On limits nothing.
type Limits struct {
	Limiter     *ratelimit.Limiter
	App, Member ratelimit.Policy
	// Refused, if set, is told of each request refused, by its policy's
	// name: the metrics count them.
	Refused func(policy string)
}

// Admit applies the caller's rate limit to a request, whatever it came
// through. It sets on h the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-10, and returns the error of a
// refused request, to be answered 429 with Retry-After, after logging it.
func (l Limits) Admit(r *http.Request, h http.Header, c *parley.Caller, log *slog.Logger) error {
	key, policy, whose := "member:"+c.User.ID, l.Member, "requests from your account"
	switch {
	case c.App != nil && c.App.App.ClientType == parley.ClientPublic:
		key, policy, whose = "app:"+c.App.App.ClientID+" for "+c.User.ID, l.App, "requests from this app for your account"
	case c.App != nil:
		key, policy, whose = "app:"+c.App.App.ClientID, l.App, "requests from this app"
	case c.Client != nil: // the app's own token, for its reports
		key, policy, whose = "app:"+c.Client.App.ClientID, l.App, "requests from this app"
	}
	if !policy.On() {
		return nil
	}
	d := l.Limiter.Allow(key, policy)
	h.Set("RateLimit-Policy", `"`+policy.Name+`";q=`+strconv.Itoa(policy.Burst)+";w="+strconv.FormatInt(policy.Window(), 10))
	h.Set("RateLimit", `"`+policy.Name+`";r=`+strconv.Itoa(d.Remaining)+";t="+RetryAfter(d.Reset))
	if d.Allowed {
		return nil
	}
	if l.Refused != nil {
		l.Refused(policy.Name)
	}
	log.WarnContext(r.Context(), "rate limited", "limit", policy.Name, "key", key, "user", c.User.Username, "user_id", c.User.ID,
		"client", parley.ClientAddrFromContext(r.Context()), "route", r.Pattern)
	return parley.ThrottledError(whose, d.RetryAfter)
}
