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
// under its client ID.
//
// Every token of any app acting for a member also counts under the member,
// for all apps together, at the App policy's rate and burst ("member-apps"):
// a member who registers apps and connects them to their own account
// cannot multiply their allowance by the number of apps, as streams are
// held by MaxAppStreams. A member's use of a few apps at once stays far
// below it. A policy that is not On limits nothing.
type Limits struct {
	Limiter     *ratelimit.Limiter
	App, Member ratelimit.Policy
	// Refused, if set, is told of each request refused, by its policy's
	// name: the metrics count them.
	Refused func(policy string)
}

// memberApps is the policy of all apps together acting for one member.
func (l Limits) memberApps() ratelimit.Policy {
	p := l.App
	p.Name = "member-apps"
	return p
}

// limit is one policy a request counts under, with its key and what the
// refusal says there were too many of.
type limit struct {
	key    string
	policy ratelimit.Policy
	whose  string
}

// limitsOf returns the limits a call by c counts under, in the order they
// are taken.
func (l Limits) limitsOf(c *parley.Caller) []limit {
	switch {
	case c.App != nil:
		app := limit{"app:" + c.App.App.ClientID, l.App, "requests from this app"}
		if c.App.App.ClientType == parley.ClientPublic {
			app.key += " for " + c.User.ID
			app.whose = "requests from this app for your account"
		}
		return []limit{app, {"member-apps:" + c.User.ID, l.memberApps(), "requests from apps for this account"}}
	case c.Client != nil: // the app's own token, for its reports
		return []limit{{"app:" + c.Client.App.ClientID, l.App, "requests from this app"}}
	}
	return []limit{{"member:" + c.User.ID, l.Member, "requests from your account"}}
}

// Admit applies the caller's rate limits to a request, whatever it came
// through. It sets on h the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-10, for the policy that refused the
// request, or else the one with the least left (the first of equals), and
// returns the error of a refused request, to be answered 429 with
// Retry-After, after logging it as Limiter.LogRefusal lets it. A request
// refused under one limit counts under none.
func (l Limits) Admit(r *http.Request, h http.Header, c *parley.Caller, log *slog.Logger) error {
	var (
		shown    limit
		d        ratelimit.Decision
		admitted []limit
	)
	for _, lim := range l.limitsOf(c) {
		if !lim.policy.On() {
			continue
		}
		ld := l.Limiter.Allow(lim.key, lim.policy)
		if len(admitted) == 0 || !ld.Allowed || ld.Remaining < d.Remaining {
			shown, d = lim, ld
		}
		if !ld.Allowed {
			for _, a := range admitted {
				l.Limiter.Refund(a.key, a.policy)
			}
			break
		}
		admitted = append(admitted, lim)
	}
	if shown.key == "" {
		return nil
	}
	policy := shown.policy
	h.Set("RateLimit-Policy", `"`+policy.Name+`";q=`+strconv.Itoa(policy.Burst)+";w="+strconv.FormatInt(policy.Window(), 10))
	h.Set("RateLimit", `"`+policy.Name+`";r=`+strconv.Itoa(d.Remaining)+";t="+RetryAfter(d.Reset))
	if d.Allowed {
		return nil
	}
	if l.Refused != nil {
		l.Refused(policy.Name)
	}
	if n, ok := l.Limiter.LogRefusal(shown.key); ok {
		log.WarnContext(r.Context(), "rate limited", "limit", policy.Name, "key", shown.key, "user", c.User.Username, "user_id", c.User.ID,
			"client", parley.ClientAddrFromContext(r.Context()), "route", r.Pattern, "refusals", n)
	}
	return parley.ThrottledError(shown.whose, d.RetryAfter)
}
