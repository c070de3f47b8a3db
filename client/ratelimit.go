package client

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RateLimit is the caller's rate limit as the server told it, in the
// RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10)
// of an answer to an authenticated call.
type RateLimit struct {
	// Policy names the limit the call counted under that has the least
	// left: "member", "app" or "member-apps".
	Policy string
	// Quota is how many requests may come at once, and Window how long
	// a whole quota takes to grow back.
	Quota  int
	Window time.Duration
	// Remaining is how many requests may still come at once, and Reset
	// how long until the quota is whole again.
	Remaining int
	Reset     time.Duration
}

// RateLimit returns the caller's rate limit as the server's latest answer
// to c, or to a copy of c with the same token or token source, told it;
// false before any answer told it, as none does while the operator sets
// no limit. A client with another token (WithToken, WithTokenSource) is
// another caller, and starts with none.
func (c *Client) RateLimit() (RateLimit, bool) {
	c.limit.mu.Lock()
	defer c.limit.mu.Unlock()
	return c.limit.last, c.limit.told
}

// lastLimit is the rate limit a caller's latest answer told.
type lastLimit struct {
	mu   sync.Mutex
	last RateLimit
	told bool
}

// keep keeps the rate limit an answer's header tells, if it tells one.
func (l *lastLimit) keep(h http.Header) {
	policy, p := limitField(h.Get("RateLimit-Policy"))
	name, r := limitField(h.Get("RateLimit"))
	if policy == "" || name != policy {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = RateLimit{Policy: policy, Quota: p["q"], Window: time.Duration(p["w"]) * time.Second,
		Remaining: r["r"], Reset: time.Duration(r["t"]) * time.Second}
	l.told = true
}

// limitField reads a RateLimit or RateLimit-Policy field: a quoted name,
// then integer parameters, as in `"member";r=5;t=2`. The name is "" when
// the field is not one.
func limitField(field string) (name string, params map[string]int) {
	items := strings.Split(field, ";")
	name, opened := strings.CutPrefix(strings.TrimSpace(items[0]), `"`)
	name, closed := strings.CutSuffix(name, `"`)
	if !opened || !closed || name == "" {
		return "", nil
	}
	params = map[string]int{}
	for _, item := range items[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
		if n, err := strconv.Atoi(v); err == nil {
			params[k] = n
		}
	}
	return name, params
}
