package httpapi

import (
	"net/http"
	"strconv"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// Limits are the rate limits on authenticated /api/v1 calls: an app's
// tokens count together under its client ID, whichever member they act
// for; a member's own sessions count together under the member. A policy
// that is not On limits nothing.
type Limits struct {
	Limiter     *ratelimit.Limiter
	App, Member ratelimit.Policy
}

// admit applies the caller's rate limit to a request. Every response to an
// authenticated call carries the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-10; admit returns the error of a
// refused request, to be answered 429 with Retry-After.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, c *parley.Caller) error {
	key, policy, whose := "member:"+c.User.ID, s.limits.Member, "requests from your account"
	switch {
	case c.App != nil:
		key, policy, whose = "app:"+c.App.App.ClientID, s.limits.App, "requests from this app"
	case c.Client != nil: // the app's own token, for its reports
		key, policy, whose = "app:"+c.Client.App.ClientID, s.limits.App, "requests from this app"
	}
	if !policy.On() {
		return nil
	}
	d := s.limits.Limiter.Allow(key, policy)
	h := w.Header()
	h.Set("RateLimit-Policy", `"`+policy.Name+`";q=`+strconv.Itoa(policy.Burst)+";w="+strconv.FormatInt(policy.Window(), 10))
	h.Set("RateLimit", `"`+policy.Name+`";r=`+strconv.Itoa(d.Remaining)+";t="+RetryAfter(d.Reset))
	if d.Allowed {
		return nil
	}
	s.metrics.RateLimited(policy.Name)
	s.log.WarnContext(r.Context(), "rate limited", "limit", policy.Name, "key", key, "user", c.User.Username, "user_id", c.User.ID,
		"client", parley.ClientAddrFromContext(r.Context()), "route", r.Pattern)
	return parley.ThrottledError(whose, d.RetryAfter)
}
